//! Preemption: a busy-looping agent beside a ping-pong pair. The pair finishes while the loop
//! still runs (fuel slices switch agents), the loop is stopped at its fuel limit and reported, and
//! the system stays usable.

mod common;

use common::{agent_caps, env};
use kernel_wasm::agents::{AgentState, Event, SpawnOptions, StopReason, SystemConfig};

#[test]
fn busy_loop_cannot_starve_a_ping_pong_pair() {
    let mut e = env(SystemConfig::default());
    let mut busy_options = SpawnOptions::new(agent_caps());
    busy_options.fuel = Some(5_000_000);
    let busy = e
        .system
        .spawn(&e.runtime, "/agents/busy.wasm", busy_options)
        .unwrap();
    let ping = e.spawn("ping");
    let report = e.run(100_000);
    assert_eq!(report.stop, StopReason::Idle);

    // The pair finished while busy was still running: their ends come first.
    let ended: Vec<u32> = e
        .events
        .iter()
        .filter_map(|ev| match ev {
            Event::Ended { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ended, [ping, 3, busy], "ping (stops pong), pong, then busy");
    assert_eq!(e.state(ping), AgentState::Exited(0));
    assert_eq!(e.host_texts().len(), 5);

    // The loop is stopped at its fuel limit, and the reason is kept.
    let info = e.system.info(busy).unwrap();
    match &info.state {
        AgentState::Trapped(reason) => assert_eq!(
            reason,
            "agent_run ran out of fuel: the limit of 5000000 fuel units was used up"
        ),
        other => panic!("busy should have run out of fuel, is {other:?}"),
    }
    // All of it but the few units that could not pay for the loop's next block.
    assert!(
        (4_999_990..=5_000_000).contains(&info.fuel_used),
        "{info:?}"
    );

    // The system goes on.
    let again = e.spawn("coordinator");
    e.run(10_000);
    assert_eq!(e.state(again), AgentState::Exited(0));
}

#[test]
fn slice_limit_bounds_a_run_and_the_run_resumes() {
    let mut e = env(SystemConfig::default());
    let busy = e.spawn("busy");
    let report = e.run(10);
    assert_eq!(report.stop, StopReason::SliceLimit);
    assert_eq!(report.slices, 10);
    assert_eq!(report.ready, 1);
    assert_eq!(e.state(busy), AgentState::Ready);
    let used = e.system.info(busy).unwrap().fuel_used;
    // Ten slices of 10 000 fuel, each ending when the next block costs more than is left.
    assert!((99_900..=100_000).contains(&used), "{used}");
    e.system.kill(busy).unwrap();
    assert_eq!(e.state(busy), AgentState::Killed);
    assert_eq!(e.run(10).stop, StopReason::Idle);
}
