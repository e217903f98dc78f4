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
