//! AgentSys messaging: ping-pong, fan-out/fan-in, a ring of 1000 agents, and the error paths
//! (dead targets, oversized messages, missing capabilities, timeouts, spawn and mailbox limits).

mod common;

use common::{agent_caps, env};
use kernel_wasm::agents::{abi, AgentState, Event, StopReason, SystemConfig};
use kernel_wasm::CapSet;

#[test]
fn ping_pong_between_two_agents() {
    let mut e = env(SystemConfig::default());
    let ping = e.spawn("ping");
    let report = e.run(10_000);
    assert_eq!(report.stop, StopReason::Idle);
    assert_eq!(ping, 1);
    assert_eq!(e.state(1), AgentState::Exited(0));
    assert_eq!(e.state(2), AgentState::Exited(0), "pong was stopped");
    assert_eq!(e.system.info(2).unwrap().parent, 1);
    assert_eq!(
        e.host_texts(),
        (1..=5)
            .map(|i| format!("[agent 1] pong {i}"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn fan_out_and_in_among_ten_workers() {
    let mut e = env(SystemConfig::default());
    e.spawn("coordinator");
    let report = e.run(10_000);
    assert_eq!(report.stop, StopReason::Idle);
    assert_eq!(e.state(1), AgentState::Exited(0));
    for worker in 2..=11 {
        assert_eq!(e.state(worker), AgentState::Exited(0), "worker {worker}");
        assert_eq!(e.system.info(worker).unwrap().parent, 1);
    }
    assert_eq!(e.host_texts(), ["[agent 1] sum 385"]);
    assert!(e
        .console
        .text()
        .contains("[agent 1 info] fan-out to 10 workers\n"));
}

#[test]
fn token_passes_a_ring_of_1000_agents() {
    let mut e = env(SystemConfig::default());
    let ids: Vec<u32> = (0..1000).map(|_| e.spawn("ring")).collect();
    let (first, last) = (ids[0], ids[999]);
    let token: Vec<u8> = [0u32, first, last]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    e.system.send(first, &token).unwrap();
    let report = e.run(100_000);
    assert_eq!(report.stop, StopReason::Idle);
    assert_eq!(report.done, 1000);
    let messages = e.host_messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].from, last);
    assert_eq!(&messages[0].body[..4], &1000u32.to_le_bytes());
    assert!(ids.iter().all(|&id| e.state(id) == AgentState::Exited(0)));
}

#[test]
fn send_to_a_dead_agent_fails_clearly() {
    let mut e = env(SystemConfig::default());
    let quick = e.spawn("quick");
    let sender = e.spawn("sendto");
    e.run(100);
    assert_eq!(e.state(quick), AgentState::Exited(0));
    // The host gets an error naming the state...
    let err = e.system.send(quick, b"hello").unwrap_err().to_string();
    assert_eq!(err, "agent 1 is not running: exited with status 0");
    assert_eq!(
        e.system.send(99, b"x").unwrap_err().to_string(),
        "there is no agent 99"
    );
    // ...and an agent gets ERR_NO_SUCH_AGENT.
    e.system.send(sender, &quick.to_le_bytes()).unwrap();
    e.run(100);
    assert_eq!(e.state(sender), AgentState::Exited(abi::ERR_NO_SUCH_AGENT));
}

#[test]
fn oversized_message_stays_queued_and_reports_its_size() {
    let body: Vec<u8> = (0..100u8).collect();
    // Blocked receiver: the scheduler delivers -5 on wake-up; queued first: the host call does.
    for queue_first in [false, true] {
        let mut e = env(SystemConfig::default());
        let id = e.spawn("small_recv");
        if !queue_first {
            e.run(100);
            assert_eq!(e.state(id), AgentState::Blocked);
        }
        e.system.send(id, &body).unwrap();
        e.run(100);
        assert_eq!(
            e.state(id),
            AgentState::Exited(0),
            "queue_first={queue_first}"
        );
        let echoed = e.host_messages();
        assert_eq!(echoed.len(), 1);
        assert_eq!(&echoed[0].body[..], &body[..]);
    }
}

#[test]
fn capabilities_are_checked_at_run_time_and_never_grow() {
    let mut e = env(SystemConfig::default());
    let mute = e.spawn_with("sendto", CapSet::parse("agent:receive").unwrap());
    e.system.send(mute, &0u32.to_le_bytes()).unwrap();
    e.run(100);
    assert_eq!(e.state(mute), AgentState::Exited(abi::ERR_NOT_CAPABLE));

    // Without agent:spawn, ping's spawn fails and it exits 3; its would-be child never exists.
    let ping = e.spawn_with("ping", CapSet::parse("agent:send,agent:receive").unwrap());
    e.run(100);
    assert_eq!(e.state(ping), AgentState::Exited(3));
    assert!(e.system.info(ping + 1).is_none());

    // The coordinator asks for agent:send,agent:receive for its workers: they get exactly that.
    let mut e = env(SystemConfig::default());
    e.spawn_with("coordinator", agent_caps());
    e.run(10_000);
    assert_eq!(e.state(2), AgentState::Exited(0));
}

#[test]
fn receive_times_out() {
    let mut e = env(SystemConfig::default());
    let id = e.spawn("timeout");
    let report = e.run(100);
    assert_eq!(report.stop, StopReason::Idle);
    assert_eq!(e.state(id), AgentState::Exited(abi::ERR_TIMEOUT));
}

#[test]
fn spawn_bomb_stops_at_spawn_limit() {
    let mut e = env(SystemConfig {
        spawn_limit: 5,
        ..SystemConfig::default()
    });
    e.spawn("bomb");
    let report = e.run(10_000);
    assert_eq!(report.stop, StopReason::Idle);
    let agents = e.system.list();
    assert_eq!(agents.len(), 6, "the root and its 5-agent budget");
    for agent in &agents {
        assert_eq!(
            agent.state,
            AgentState::Exited(abi::ERR_SPAWN_LIMIT),
            "{agent:?}"
        );
    }
}

#[test]
fn mailbox_flood_stops_at_depth() {
    let mut e = env(SystemConfig {
        mailbox_depth: 8,
        ..SystemConfig::default()
    });
    let id = e.spawn("flood");
    e.run(100);
    assert_eq!(e.state(id), AgentState::Exited(8));
    // An ended agent's mailbox is freed.
    assert_eq!(e.system.info(id).unwrap().queue_len, 0);

    // The host sees backpressure too.
    let pong = e.spawn("pong");
    for _ in 0..8 {
        e.system.send(pong, b"ping 1").unwrap();
    }
    let err = e.system.send(pong, b"ping 1").unwrap_err().to_string();
    assert_eq!(
        err,
        "limit mailbox_depth (8) exceeded: the mailbox of agent 2 is full"
    );
    assert_eq!(e.system.info(pong).unwrap().queue_len, 8);
}

#[test]
fn spawn_of_a_missing_module_reports_why() {
    let mut e = env(SystemConfig::default());
    kernel_wasm::vfs::write_file(&*e.platform.vfs, "/agents/pong.wasm", b"not a module").unwrap();
    let ping = e.spawn("ping");
    e.run(100);
    assert_eq!(e.state(ping), AgentState::Exited(3));
    assert!(e.events.iter().any(|ev| matches!(ev,
        Event::SpawnFailed { parent: 1, path, reason }
            if path == "/agents/pong.wasm" && reason.starts_with("invalid module pong.wasm"))));
}

#[test]
fn agent_functions_outside_the_scheduler_answer_not_an_agent() {
    let runtime = kernel_wasm::Runtime::default();
    let wasm = wat::parse_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/agents/timeout.wat"
    ))
    .unwrap();
    let module = runtime.load(&wasm, Some("timeout.wasm")).unwrap();
    let platform = kernel_wasm::hosted::platform();
    let mut config = kernel_wasm::InstanceConfig::new(platform);
    config.caps = agent_caps();
    let mut instance = runtime.instantiate(&module, config).unwrap();
    assert_eq!(
        instance.call("agent_run", &[]).unwrap(),
        kernel_wasm::CallOutcome::Returned(vec![kernel_wasm::Value::I32(abi::ERR_NOT_AN_AGENT)])
    );
}

/// Reports the result of each bad call to the host as a 4-byte message.
const BAD_CALLS: &str = r#"
(module
  (import "agent" "send_message" (func $send (param i32 i32 i32) (result i32)))
  (import "agent" "try_receive_message" (func $try (param i32 i32 i32) (result i32)))
  (import "agent" "spawn" (func $spawn (param i32 i32 i32 i32) (result i32)))
  (import "agent" "log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 32) "/agents/nothing.wasm")
  (data (i32.const 64) "teleport")
  (data (i32.const 96) "/agents/busy.wasm")
  (func $report (param $code i32)
    (i32.store (i32.const 0) (local.get $code))
    (drop (call $send (i32.const 0) (i32.const 0) (i32.const 4))))
  (func (export "agent_run")
    (call $report (call $send (i32.const 0) (i32.const 65535) (i32.const 4)))
    (call $report (call $send (i32.const 0) (i32.const 0) (i32.const 65537)))
    (call $report (call $send (i32.const 7) (i32.const 0) (i32.const 4)))
    (call $report (call $try (i32.const 16) (i32.const 4) (i32.const 2)))
    (call $report (call $try (i32.const 16) (i32.const 4) (i32.const 8)))
    (call $report (call $spawn (i32.const 32) (i32.const 20) (i32.const 0) (i32.const 0)))
    (call $report (call $spawn (i32.const 96) (i32.const 17) (i32.const 64) (i32.const 8)))
    (call $report (call $spawn (i32.const 65530) (i32.const 17) (i32.const 0) (i32.const 0)))
    (call $report (call $log (i32.const 2) (i32.const 65530) (i32.const 17)))))
"#;

#[test]
fn bad_calls_get_their_documented_codes() {
    let mut e = env(SystemConfig::default());
    kernel_wasm::vfs::write_file(
        &*e.platform.vfs,
        "/agents/bad.wasm",
        &wat::parse_str(BAD_CALLS).unwrap(),
    )
    .unwrap();
    let id = e.spawn("bad");
    e.run(100);
    assert_eq!(e.state(id), AgentState::Exited(0));
    let codes: Vec<i32> = e
        .host_messages()
        .iter()
        .map(|m| i32::from_le_bytes(m.body[..4].try_into().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            abi::ERR_BAD_POINTER,
            abi::ERR_TOO_LARGE,
            abi::ERR_NO_SUCH_AGENT,
            abi::ERR_BAD_POINTER,
            abi::ERR_NO_MESSAGE,
            abi::ERR_SPAWN_FAILED,
            abi::ERR_BAD_CONFIG,
            abi::ERR_BAD_POINTER,
            abi::ERR_BAD_POINTER,
        ]
    );
    assert!(e
        .system
        .send(0, b"x")
        .unwrap_err()
        .to_string()
        .contains("host itself"));
}

#[test]
fn a_message_wakes_a_receive_with_timeout_before_it_expires() {
    let mut e = env(SystemConfig::default());
    let waiter = r#"
      (module
        (import "agent" "receive_message_timeout"
          (func $recv (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "agent_run") (result i32)
          (call $recv (i32.const 64) (i32.const 16) (i32.const 0) (i32.const 60000))))"#;
    kernel_wasm::vfs::write_file(
        &*e.platform.vfs,
        "/agents/waiter.wasm",
        &wat::parse_str(waiter).unwrap(),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let waiter = e.spawn("waiter");
    let sender = e.spawn("sendto");
    e.system.send(sender, &waiter.to_le_bytes()).unwrap();
    let report = e.run(100);
    assert_eq!(report.stop, StopReason::Idle);
    assert_eq!(e.state(sender), AgentState::Exited(0));
    assert_eq!(e.state(waiter), AgentState::Exited(2), "received \"hi\"");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}
