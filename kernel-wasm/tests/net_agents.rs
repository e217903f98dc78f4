//! Agents and sockets: an agent parked on a socket (`Suspend::Io`) lets the others run, the
//! scheduler waits for the network instead of stopping while one waits, and the agent resumes
//! with what arrived. Loopback only; the test server answers one connection and stops.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::{env, Env};
use kernel_wasm::agents::{AgentState, StopReason, SystemConfig};
use kernel_wasm::CapSet;

/// Connects to `addr`, reads what comes (waiting), and sends it to the host.
fn client(addr: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
          (import "net" "connect" (func $connect (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
          (import "agent" "send_message" (func $send (param i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 100) "{addr}")
          (func (export "_start")
            (local $fd i32)
            (local.set $fd (call $connect (i32.const 100) (i32.const {len})))
            (i32.store (i32.const 0) (i32.const 200))
            (i32.store (i32.const 4) (i32.const 64))
            (drop (call $read (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
            (drop (call $send (i32.const 0) (i32.const 200) (i32.load (i32.const 8))))))"#,
        len = addr.len()
    ))
    .expect("client compiles")
}

const OTHER: &str = r#"(module
  (import "agent" "send_message" (func $send (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "the other agent ran")
  (func (export "_start") (drop (call $send (i32.const 0) (i32.const 100) (i32.const 19)))))"#;

fn messages(e: &Env) -> Vec<String> {
    e.host_texts()
}

#[test]
fn an_agent_waiting_on_a_socket_lets_the_others_run() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap().to_string();
    let answer = std::thread::spawn(move || {
        let (mut s, _) = server.accept().unwrap();
        // Long enough that the client agent parks in its read first.
        std::thread::sleep(Duration::from_millis(300));
        s.write_all(b"answer from the server").unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let mut e = env(SystemConfig::default());
    let p = e.platform.clone();
    kernel_wasm::vfs::write_file(&*p.vfs, "/agents/client.wasm", &client(&addr)).unwrap();
    kernel_wasm::vfs::write_file(
        &*p.vfs,
        "/agents/other.wasm",
        &wat::parse_str(OTHER).unwrap(),
    )
    .unwrap();
    let caps = CapSet::parse("net:connect=127.0.0.1:*,net:recv,agent:send").unwrap();
    let a = e.spawn_with("client", caps);
    let b = e.spawn_with("other", CapSet::parse("agent:send").unwrap());
    let report = e.run(100_000);
    assert_eq!(report.stop, StopReason::Idle, "{report}");
    assert_eq!(
        messages(&e),
        vec![
            "[agent 2] the other agent ran".to_string(),
            "[agent 1] answer from the server".to_string()
        ]
    );
    assert_eq!(e.state(a), AgentState::Exited(0));
    assert_eq!(e.state(b), AgentState::Exited(0));
    answer.join().unwrap();
}

#[test]
fn an_out_of_scope_connect_fails_inside_the_agent() {
    let mut e = env(SystemConfig::default());
    let p = e.platform.clone();
    kernel_wasm::vfs::write_file(&*p.vfs, "/agents/client.wasm", &client("127.0.0.1:9")).unwrap();
    // Scoped to another address: connect answers -76, the read of fd -76 fails, and the agent
    // sends an empty message (nothing was read).
    let caps = CapSet::parse("net:connect=10.0.2.2:80,net:recv,agent:send").unwrap();
    let a = e.spawn_with("client", caps);
    let report = e.run(1000);
    assert_eq!(report.stop, StopReason::Idle, "{report}");
    assert_eq!(e.state(a), AgentState::Exited(0));
    // Without net:connect the spawn itself is refused by the pre-flight.
    let refused = e.system.spawn(
        &e.runtime,
        "/agents/client.wasm",
        kernel_wasm::agents::SpawnOptions::new(CapSet::parse("agent:send").unwrap()),
    );
    assert!(refused.err().is_some_and(|err| err
        .to_string()
        .contains("net:connect (imported by net::connect)")),);
}
