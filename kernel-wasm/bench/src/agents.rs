//! Group `agents`: the agent scheduler of kernel-wasm (`kernel_wasm::agents`), on the host.
//!
//! * `round_trip` (µs): a `ping` agent sends a 4-byte message to an `echo` agent and blocks until the
//!   answer arrives, N times; each leg parks a resumable call and the scheduler switches agents. Value
//!   = run time / N. Target ≤ 1 µs.
//! * `idle_agent_memory` (KiB): heap bytes per agent blocked in `receive_message`, measured with the
//!   bench's counting allocator over K spawned agents (their one-page linear memory included). Target
//!   ≤ 80 KiB.
//!
//! Only kernel-wasm has agents, so there is no other runtime to compare with.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, ensure, Result};
use kernel_wasm::agents::{AgentState, Event, SpawnOptions, StopReason, System, SystemConfig};
use kernel_wasm::vfs::{NodeKind, Vfs};
use kernel_wasm::{CapSet, MemFs, Runtime, RuntimeConfig};

use crate::measure::median;
use crate::{kw, Opts, Results};

/// Answers every message with the same bytes, to its sender, forever.
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

/// Sends its round number to agent 1 and waits for the echo, `ROUNDS` times (the count is patched
/// in); exits with 0 when every echo matched, 2 on a mismatch, 1 on an error.
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

/// Blocks in a receive forever: an idle agent.
const IDLE_WAT: &str = r#"(module
  (import "agent" "receive_message" (func $recv (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "agent_run") (result i32)
    (call $recv (i32.const 64) (i32.const 256) (i32.const 0))))
"#;

fn caps() -> Result<CapSet> {
    CapSet::parse("agent:send,agent:receive").map_err(|e| anyhow!("{e}"))
}

/// A system whose VFS holds the given modules at `/<name>.wasm`.
// `Platform` takes `Arc<dyn Vfs>` and `MemFs` is not `Send`/`Sync`; the bench is single-threaded.
#[allow(clippy::arc_with_non_send_sync)]
fn system(modules: &[(&str, &[u8])], max_agents: usize) -> Result<System> {
    let fs = Arc::new(MemFs::new(64 << 20, 4096));
    for (name, bytes) in modules {
        let node = fs
            .create(fs.root(), &format!("{name}.wasm"), NodeKind::File)
            .map_err(|e| anyhow!("{e}"))?;
        fs.write_at(node, 0, bytes).map_err(|e| anyhow!("{e}"))?;
    }
    let mut platform = kw::default_platform();
    platform.vfs = fs;
    let config = SystemConfig {
        fuel: None,
        max_agents: max_agents.max(SystemConfig::default().max_agents),
        ..SystemConfig::default()
    };
    Ok(System::new(platform, config))
}

/// One ping-pong run (the round count is compiled into `ping`); returns the elapsed seconds.
fn round_trips(rt: &Runtime, echo: &[u8], ping: &[u8]) -> Result<f64> {
    let mut sys = system(&[("echo", echo), ("ping", ping)], 0)?;
    let echo_id = sys
        .spawn(rt, "/echo.wasm", SpawnOptions::new(caps()?))
        .map_err(|e| anyhow!("{e}"))?;
    ensure!(
        echo_id == 1,
        "echo got id {echo_id}, the ping guest sends to 1"
    );
    let ping_id = sys
        .spawn(rt, "/ping.wasm", SpawnOptions::new(caps()?))
        .map_err(|e| anyhow!("{e}"))?;
    let mut ended = None;
    let start = Instant::now();
    let report = sys.run(rt, u64::MAX, &mut |event| {
        if let Event::Ended { id, state, .. } = event {
            if id == ping_id {
                ended = Some(state);
            }
        }
    });
    let secs = start.elapsed().as_secs_f64();
    ensure!(
        report.stop == StopReason::Idle,
        "agents did not go idle: {report}"
    );
    let info = sys
        .info(ping_id)
        .ok_or_else(|| anyhow!("ping agent vanished"))?;
    ensure!(ended.is_some(), "ping did not end: {info:?}");
    ensure!(
        info.state == AgentState::Exited(0),
        "ping ended badly: {}",
        info.state
    );
    Ok(secs)
}

pub fn run(opts: &Opts, results: &mut Results) -> Result<()> {
    let rounds: u32 = if opts.quick { 20_000 } else { 200_000 };
    let idle_agents: usize = if opts.quick { 200 } else { 1_000 };
    let echo = wat::parse_str(ECHO_WAT)?;
    let ping = wat::parse_str(PING_WAT.replace("ROUNDS", &rounds.to_string()))?;
    let idle = wat::parse_str(IDLE_WAT)?;
    let rt = Runtime::new(RuntimeConfig::default());

    // Round trip.
    let mut secs = Vec::new();
    for _ in 0..=opts.runs().min(5) {
        secs.push(round_trips(&rt, &echo, &ping)?);
    }
    secs.remove(0); // warm-up
    let us = median(&mut secs) * 1e6 / f64::from(rounds);
    eprintln!("  agents/round_trip kernel-wasm {us:>8.3} us");
    results.row("agents", "round_trip", "kernel-wasm", us, "us");

    // Idle agents: heap growth over K agents blocked in a receive.
    let mut sys = system(&[("idle", &idle)], idle_agents + 16)?;
    // One agent first, so the module cache and the system's own tables are not counted per agent.
    sys.spawn(&rt, "/idle.wasm", SpawnOptions::new(caps()?))
        .map_err(|e| anyhow!("{e}"))?;
    sys.run(&rt, u64::MAX, &mut |_| {});
    let before = crate::alloc::live_bytes();
    for _ in 0..idle_agents {
        sys.spawn(&rt, "/idle.wasm", SpawnOptions::new(caps()?))
            .map_err(|e| anyhow!("{e}"))?;
    }
    let report = sys.run(&rt, u64::MAX, &mut |_| {});
    let after = crate::alloc::live_bytes();
    ensure!(
        report.stop == StopReason::Idle && report.blocked == idle_agents + 1,
        "idle agents did not all block: {report}"
    );
    let kib = (after.saturating_sub(before)) as f64 / idle_agents as f64 / 1024.0;
    eprintln!("  agents/idle_agent_memory kernel-wasm {kib:>8.1} KiB");
    results.row("agents", "idle_agent_memory", "kernel-wasm", kib, "KiB");
    results.note(
        "agents",
        format!(
            "round_trip: {rounds} ping→echo→ping exchanges of 4 bytes between two agents, per exchange; \
             idle_agent_memory: heap growth over {idle_agents} agents blocked in `receive_message`, per agent \
             (each has one 64 KiB page of linear memory)"
        ),
    );
    drop(sys);
    Ok(())
}
