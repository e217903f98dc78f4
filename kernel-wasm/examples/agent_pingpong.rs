//! Agent ping-pong for profiling the message hot path (`cargo xtask bench` measures it properly):
//! `valgrind --tool=callgrind target/release/examples/agent_pingpong 2000`.

use std::sync::Arc;
use std::time::Instant;

use kernel_wasm::agents::{AgentState, SpawnOptions, System, SystemConfig};
use kernel_wasm::vfs::write_file;
use kernel_wasm::{CapSet, Runtime, RuntimeConfig};

const ECHO_WAT: &str = r#"(module
  (import "agent" "receive_message" (func $recv (param i32 i32 i32) (result i32)))
  (import "agent" "send_message" (func $send (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "agent_run") (result i32)
    (local $n i32)
    (loop $next
      (local.set $n (call $recv (i32.const 64) (i32.const 256) (i32.const 0)))
      (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (i32.const 1))))
      (drop (call $send (i32.load (i32.const 0)) (i32.const 64) (local.get $n)))
      (br $next))
    (i32.const 0)))
"#;

const PING_WAT: &str = r#"(module
  (import "agent" "receive_message" (func $recv (param i32 i32 i32) (result i32)))
  (import "agent" "send_message" (func $send (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "agent_run") (result i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const ROUNDS)))
        (i32.store (i32.const 64) (local.get $i))
        (if (i32.lt_s (call $send (i32.const 1) (i32.const 64) (i32.const 4)) (i32.const 0))
          (then (return (i32.const 1))))
        (if (i32.ne (call $recv (i32.const 128) (i32.const 64) (i32.const 0)) (i32.const 4))
          (then (return (i32.const 1))))
        (if (i32.ne (i32.load (i32.const 128)) (local.get $i)) (then (return (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 0)))
"#;

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().expect("rounds"));
    let platform = kernel_wasm::hosted::platform_with_console(Arc::new(
        kernel_wasm::hosted::CaptureConsole::default(),
    ));
    let echo = wat::parse_str(ECHO_WAT).unwrap();
    let ping = wat::parse_str(PING_WAT.replace("ROUNDS", &rounds.to_string())).unwrap();
    write_file(&*platform.vfs, "/echo.wasm", &echo).unwrap();
    write_file(&*platform.vfs, "/ping.wasm", &ping).unwrap();
    let rt = Runtime::new(RuntimeConfig::default());
    let config = SystemConfig {
        fuel: None,
        ..SystemConfig::default()
    };
    let mut sys = System::new(platform, config);
    let caps = CapSet::parse("agent:send,agent:receive").unwrap();
    sys.spawn(&rt, "/echo.wasm", SpawnOptions::new(caps.clone()))
        .unwrap();
    let ping_id = sys
        .spawn(&rt, "/ping.wasm", SpawnOptions::new(caps))
        .unwrap();
    let start = Instant::now();
    sys.run(&rt, u64::MAX, &mut |_| {});
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(sys.info(ping_id).unwrap().state, AgentState::Exited(0));
    println!("{:.3} us per round trip", secs * 1e6 / f64::from(rounds));
}
