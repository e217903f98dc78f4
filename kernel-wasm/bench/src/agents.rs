//! Group `agents`: the agent scheduler of kernel-wasm (`kernel_wasm::agents`), on the host.
//!
//! * `round_trip` (µs): a `ping` agent sends a 4-byte message to an `echo` agent and blocks until the
//!   answer arrives, N times; each leg parks a resumable call and the scheduler switches agents. Value
//!   = run time / N, the median over [`ROUND_TRIP_PROCESSES`] processes (see there why). Target ≤ 1 µs.
//! * `idle_agent_memory` (KiB): heap bytes per agent blocked in `receive_message`, measured with the
//!   bench's counting allocator over K spawned agents (their one-page linear memory included). Target
//!   ≤ 80 KiB.
//!
//! * `messages_per_sec` (msg/s): a producer agent streams 4-byte messages to a consumer agent in
//!   batches of [`BATCH`] (the consumer acknowledges each batch, so the producer never meets a full
//!   mailbox); value = messages / run time. The consumer reports the sum of the payloads to the host,
//!   which checks it.
//! * `ring_*`: [`RING`] agents in a ring pass a token (a hop counter) around it; `ring_spawn` is the
//!   time to spawn one agent of the ring (µs), `ring_hop` the time per hop (µs) and
//!   `ring_agent_memory` the heap per agent of the ring (KiB). The agent where the counter reaches 0
//!   reports to the host, which checks where and what.
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

/// Processes the round trip is measured in (full run; 3 with `--quick`). On the shared machines
/// here one process's figure moves by up to ±25% from one process to the next (the same binary
/// measured 0.65–0.95 µs within a minute, with address-space randomization on or off), while the
/// repetitions inside one process agree to a few percent: the machine's noise comes in bursts
/// longer than one process's measurement. So each process measures it (warm-up, then
/// repetitions, median), and the report takes the median of the processes and notes their range.
pub const ROUND_TRIP_PROCESSES: usize = 7;

/// The argument that makes the bench binary measure the round trip alone and print it (µs).
pub const ROUND_TRIP_CHILD: &str = "--agents-round-trip-child";

/// Messages per acknowledgement in `messages_per_sec` (below the default mailbox depth of 64).
pub const BATCH: u32 = 32;

/// Receives `TOTAL` messages (agent 2 is the producer), acknowledges every `BATCH`-th, and sends
/// the wrapping sum of the payloads to the host at the end.
const CONSUMER_WAT: &str = r#"(module
  (import "agent" "receive_message" (func $recv (param i32 i32 i32) (result i32)))
  (import "agent" "send_message" (func $send (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "agent_run") (result i32)
    (local $count i32) (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $count) (i32.const TOTAL)))
        (if (i32.ne (call $recv (i32.const 64) (i32.const 64) (i32.const 0)) (i32.const 4))
          (then (return (i32.const 1))))
        (local.set $sum (i32.add (local.get $sum) (i32.load (i32.const 64))))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (if (i32.eqz (i32.rem_u (local.get $count) (i32.const BATCH)))
          (then (if (i32.lt_s (call $send (i32.const 2) (i32.const 64) (i32.const 4)) (i32.const 0))
            (then (return (i32.const 2))))))
        (br $next)))
    (i32.store (i32.const 128) (local.get $sum))
    (drop (call $send (i32.const 0) (i32.const 128) (i32.const 4)))
    (i32.const 0)))
"#;

/// Sends `0..TOTAL` to agent 1, waiting for an acknowledgement after every `BATCH`.
const PRODUCER_WAT: &str = r#"(module
  (import "agent" "receive_message" (func $recv (param i32 i32 i32) (result i32)))
  (import "agent" "send_message" (func $send (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "agent_run") (result i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const TOTAL)))
        (i32.store (i32.const 64) (local.get $i))
        (if (i32.lt_s (call $send (i32.const 1) (i32.const 64) (i32.const 4)) (i32.const 0))
          (then (return (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eqz (i32.rem_u (local.get $i) (i32.const BATCH)))
          (then (if (i32.ne (call $recv (i32.const 128) (i32.const 64) (i32.const 0)) (i32.const 4))
            (then (return (i32.const 2))))))
        (br $next)))
    (i32.const 0)))
"#;

/// Agents in the ring.
pub const RING: u32 = 10_000;

/// One agent of a ring of `N` (ids 1..=N): receives the token (hops left), forwards it decremented
/// to the next id, or reports it to the host when it is 0; forever.
const RING_WAT: &str = r#"(module
  (import "agent" "receive_message" (func $recv (param i32 i32 i32) (result i32)))
  (import "agent" "send_message" (func $send (param i32 i32 i32) (result i32)))
  (import "agent" "get_self_id" (func $self_id (result i32)))
  (memory (export "memory") 1)
  (func (export "agent_run") (result i32)
    (local $next i32) (local $hops i32)
    (local.set $next (i32.add (call $self_id) (i32.const 1)))
    (if (i32.gt_u (local.get $next) (i32.const N)) (then (local.set $next (i32.const 1))))
    (loop $again
      (if (i32.ne (call $recv (i32.const 64) (i32.const 64) (i32.const 0)) (i32.const 4))
        (then (return (i32.const 1))))
      (local.set $hops (i32.load (i32.const 64)))
      (if (i32.eqz (local.get $hops))
        (then
          (drop (call $send (i32.const 0) (i32.const 64) (i32.const 4)))
          (br $again)))
      (i32.store (i32.const 64) (i32.sub (local.get $hops) (i32.const 1)))
      (if (i32.lt_s (call $send (local.get $next) (i32.const 64) (i32.const 4)) (i32.const 0))
        (then (return (i32.const 2))))
      (br $again))
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

/// One producer→consumer run of `total` messages; returns the elapsed seconds.
fn stream(rt: &Runtime, consumer: &[u8], producer: &[u8], total: u32) -> Result<f64> {
    let mut sys = system(&[("consumer", consumer), ("producer", producer)], 0)?;
    let consumer_id = sys
        .spawn(rt, "/consumer.wasm", SpawnOptions::new(caps()?))
        .map_err(|e| anyhow!("{e}"))?;
    let producer_id = sys
        .spawn(rt, "/producer.wasm", SpawnOptions::new(caps()?))
        .map_err(|e| anyhow!("{e}"))?;
    ensure!(
        (consumer_id, producer_id) == (1, 2),
        "consumer/producer got ids {consumer_id}/{producer_id}, the guests assume 1/2"
    );
    let mut reported = Vec::new();
    let start = Instant::now();
    let report = sys.run(rt, u64::MAX, &mut |event| {
        if let Event::Message(m) = event {
            reported.push((m.from, m.body.to_vec()));
        }
    });
    let secs = start.elapsed().as_secs_f64();
    ensure!(
        report.stop == StopReason::Idle && report.done == 2,
        "producer/consumer did not both end: {report}"
    );
    for id in [consumer_id, producer_id] {
        let state = sys.info(id).map(|i| i.state);
        ensure!(
            state == Some(AgentState::Exited(0)),
            "agent {id} ended badly: {state:?}"
        );
    }
    let expected = (0..total).fold(0u32, u32::wrapping_add);
    ensure!(
        reported == [(consumer_id, expected.to_le_bytes().to_vec())],
        "the consumer reported {reported:?}, expected the sum {expected}"
    );
    Ok(secs)
}

/// The ring: spawns `RING` agents, lets them all block, then sends a token of `hops` hops.
/// Returns (spawn seconds, heap bytes of the agents, hop seconds).
fn ring(rt: &Runtime, ring_wasm: &[u8], hops: u32) -> Result<(f64, usize, f64)> {
    let mut sys = system(&[("ring", ring_wasm)], RING as usize + 16)?;
    let before = crate::alloc::live_bytes();
    let start = Instant::now();
    for expected in 1..=RING {
        let id = sys
            .spawn(rt, "/ring.wasm", SpawnOptions::new(caps()?))
            .map_err(|e| anyhow!("{e}"))?;
        ensure!(
            id == expected,
            "ring agent got id {id}, expected {expected}"
        );
    }
    let report = sys.run(rt, u64::MAX, &mut |_| {});
    let spawn_secs = start.elapsed().as_secs_f64();
    let heap = crate::alloc::live_bytes().saturating_sub(before);
    ensure!(
        report.stop == StopReason::Idle && report.blocked == RING as usize,
        "the ring did not block: {report}"
    );
    sys.send(1, &hops.to_le_bytes())
        .map_err(|e| anyhow!("{e}"))?;
    let mut reported = Vec::new();
    let start = Instant::now();
    let report = sys.run(rt, u64::MAX, &mut |event| {
        if let Event::Message(m) = event {
            reported.push((m.from, m.body.to_vec()));
        }
    });
    let hop_secs = start.elapsed().as_secs_f64();
    ensure!(
        report.stop == StopReason::Idle && report.blocked == RING as usize,
        "the ring did not settle: {report}"
    );
    // Agent 1 gets `hops`, agent k gets `hops - (k - 1)`: 0 arrives at agent hops % RING + 1.
    let last = hops % RING + 1;
    ensure!(
        reported == [(last, 0u32.to_le_bytes().to_vec())],
        "the ring reported {reported:?}, expected agent {last} to report 0"
    );
    Ok((spawn_secs, heap, hop_secs))
}

fn round_trip_rounds(opts: &Opts) -> u32 {
    if opts.quick {
        20_000
    } else {
        200_000
    }
}

/// The round trip in this process (µs per exchange): a warm-up, then the median of the timed runs.
/// What a [`ROUND_TRIP_CHILD`] process prints.
pub fn round_trip_in_process(opts: &Opts) -> Result<f64> {
    let rounds = round_trip_rounds(opts);
    let echo = wat::parse_str(ECHO_WAT)?;
    let ping = wat::parse_str(PING_WAT.replace("ROUNDS", &rounds.to_string()))?;
    let rt = Runtime::new(RuntimeConfig::default());
    let mut secs = Vec::new();
    for _ in 0..=opts.runs().min(5) {
        secs.push(round_trips(&rt, &echo, &ping)?);
    }
    secs.remove(0); // warm-up
    Ok(median(&mut secs) * 1e6 / f64::from(rounds))
}

/// Runs [`round_trip_in_process`] in `processes` fresh processes of this binary; returns their
/// figures.
fn round_trip_across_processes(opts: &Opts, processes: usize) -> Result<Vec<f64>> {
    let exe = std::env::current_exe()?;
    let mut figures = Vec::with_capacity(processes);
    for _ in 0..processes {
        let mut child = std::process::Command::new(&exe);
        child.arg(ROUND_TRIP_CHILD);
        if opts.quick {
            child.arg("--quick");
        }
        let out = child.output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        ensure!(
            out.status.success(),
            "the round-trip process failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let us: f64 = text
            .trim()
            .parse()
            .map_err(|_| anyhow!("the round-trip process printed {text:?}, not a number"))?;
        figures.push(us);
    }
    Ok(figures)
}

pub fn run(opts: &Opts, results: &mut Results) -> Result<()> {
    let rounds = round_trip_rounds(opts);
    let idle_agents: usize = if opts.quick { 200 } else { 1_000 };
    let idle = wat::parse_str(IDLE_WAT)?;
    let rt = Runtime::new(RuntimeConfig::default());

    // Round trip, in fresh processes (see ROUND_TRIP_PROCESSES).
    let processes = if opts.quick { 3 } else { ROUND_TRIP_PROCESSES };
    let mut figures = round_trip_across_processes(opts, processes)?;
    let us = median(&mut figures);
    let (low, high) = (figures[0], figures[figures.len() - 1]);
    eprintln!(
        "  agents/round_trip kernel-wasm {us:>8.3} us (median of {processes} processes, {low:.3}–{high:.3})"
    );
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
            "round_trip: {rounds} ping→echo→ping exchanges of 4 bytes between two agents, per exchange, \
             the median of {processes} processes (range {low:.3}–{high:.3} µs: the machine's noise comes \
             in bursts longer than one process's measurement); \
             idle_agent_memory: heap growth over {idle_agents} agents blocked in `receive_message`, per agent \
             (each has one 64 KiB page of linear memory)"
        ),
    );
    drop(sys);

    // Messages per second.
    let total: u32 = if opts.quick { 100_000 } else { 1_000_000 };
    let patch = |wat: &str| {
        wat.replace("TOTAL", &total.to_string())
            .replace("BATCH", &BATCH.to_string())
    };
    let consumer = wat::parse_str(patch(CONSUMER_WAT))?;
    let producer = wat::parse_str(patch(PRODUCER_WAT))?;
    let mut secs = Vec::new();
    for _ in 0..=opts.runs().min(5) {
        secs.push(stream(&rt, &consumer, &producer, total)?);
    }
    secs.remove(0);
    let rate = f64::from(total) / median(&mut secs);
    eprintln!("  agents/messages_per_sec kernel-wasm {rate:>10.0} msg/s");
    results.row("agents", "messages_per_sec", "kernel-wasm", rate, "msg/s");

    // The ring (one run: 10 000 agents take a while to spawn and a lot of memory).
    let laps: u32 = if opts.quick { 2 } else { 10 };
    let hops = RING * laps;
    let ring_wasm =
        wat::parse_str(RING_WAT.replace("(i32.const N)", &format!("(i32.const {RING})")))?;
    let (spawn_secs, heap, hop_secs) = ring(&rt, &ring_wasm, hops)?;
    let spawn_us = spawn_secs * 1e6 / f64::from(RING);
    let hop_us = hop_secs * 1e6 / f64::from(hops);
    let ring_kib = heap as f64 / f64::from(RING) / 1024.0;
    eprintln!(
        "  agents/ring_spawn kernel-wasm {spawn_us:>8.2} us/agent ({spawn_secs:.2} s for {RING})"
    );
    eprintln!("  agents/ring_hop kernel-wasm {hop_us:>8.3} us");
    eprintln!("  agents/ring_agent_memory kernel-wasm {ring_kib:>8.1} KiB");
    results.row("agents", "ring_spawn", "kernel-wasm", spawn_us, "us");
    results.row("agents", "ring_hop", "kernel-wasm", hop_us, "us");
    results.row(
        "agents",
        "ring_agent_memory",
        "kernel-wasm",
        ring_kib,
        "KiB",
    );
    results.note(
        "agents",
        format!(
            "messages_per_sec: {total} messages of 4 bytes from a producer to a consumer agent, acknowledged \
             every {BATCH}; ring_*: a ring of {RING} agents, spawn (module cached after the first) until \
             all block in a receive, per agent; then a token passed {hops} hops ({laps} laps), per hop; \
             memory is the heap growth over the whole ring, per agent"
        ),
    );
    Ok(())
}
