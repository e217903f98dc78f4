//! `agent` ABI sequences: an interpreter agent receives a program as its first message and runs
//! it, one instruction per 17 bytes (an opcode and four `u32` arguments), each calling one
//! function of the `agent` host module with raw or well-formed arguments: spawning more
//! interpreters (which wait for a program of their own), sending them slices of its program,
//! receiving in every way, logging, exiting. The host spawns the first interpreter and sends it
//! the fuzz input, then runs the scheduler for a bounded number of slices.
//!
//! Properties: the scheduler always returns; the live agents stay within the system's limit;
//! every message reaching the host fits the message limit; no panic.

use kernel_wasm::agents::{Event, SpawnOptions, System, SystemConfig};
use kernel_wasm::{CapSet, Runtime};

/// The interpreter's path in the file system.
pub const INTERP: &str = "/agents/interp.wasm";
/// The most live agents.
pub const MAX_AGENTS: usize = 12;
/// The largest message an agent may send (the ABI's limit).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// The interpreter. Memory: 0 its own path, 64.. the capability lists a spawn may pass (a
/// table of (pointer, length) at 192), 256 the sender word, 1024.. the program (32 KiB), 40000..
/// the receive buffer.
pub const INTERP_WAT: &str = r#"(module
  (import "agent" "spawn" (func $spawn (param i32 i32 i32 i32) (result i32)))
  (import "agent" "send_message" (func $send (param i32 i32 i32) (result i32)))
  (import "agent" "receive_message" (func $recv (param i32 i32 i32) (result i32)))
  (import "agent" "try_receive_message" (func $try_recv (param i32 i32 i32) (result i32)))
  (import "agent" "receive_message_timeout" (func $recv_timeout (param i32 i32 i32 i32) (result i32)))
  (import "agent" "get_self_id" (func $self_id (result i32)))
  (import "agent" "log" (func $log (param i32 i32 i32) (result i32)))
  (import "agent" "exit" (func $exit (param i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "/agents/interp.wasm")
  (data (i32.const 64) "agent:spawn,agent:send,agent:receive")
  (data (i32.const 128) "agent:send")
  (data (i32.const 160) "agent:bogus")
  (data (i32.const 192) "\40\00\00\00\24\00\00\00\80\00\00\00\0a\00\00\00\a0\00\00\00\00\00\00\00\a0\00\00\00\0b\00\00\00")
  (func (export "agent_run") (result i32)
    (local $len i32) (local $pc i32) (local $op i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32) (local $start i32)
    (local.set $len (call $recv (i32.const 1024) (i32.const 32768) (i32.const 256)))
    (if (i32.le_s (local.get $len) (i32.const 0)) (then (return (local.get $len))))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (i32.add (local.get $pc) (i32.const 17)) (local.get $len)))
        (local.set $op (i32.load8_u offset=1024 (local.get $pc)))
        (local.set $a (i32.load offset=1025 (local.get $pc)))
        (local.set $b (i32.load offset=1029 (local.get $pc)))
        (local.set $c (i32.load offset=1033 (local.get $pc)))
        (local.set $d (i32.load offset=1037 (local.get $pc)))
        (local.set $pc (i32.add (local.get $pc) (i32.const 17)))
        ;; A slice of the program: [start, start + n) with n = c mod (len - start + 1).
        (local.set $start (i32.rem_u (local.get $b) (local.get $len)))
        (block $b11 (block $b10 (block $b9 (block $b8 (block $b7 (block $b6
        (block $b5 (block $b4 (block $b3 (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 $b3 $b4 $b5 $b6 $b7 $b8 $b9 $b10 $b11
            (i32.rem_u (local.get $op) (i32.const 12))))
          ;; 0: spawn, raw arguments
          (drop (call $spawn (local.get $a) (local.get $b) (local.get $c) (local.get $d)))
          (br $next))
          ;; 1: spawn another interpreter with one of the capability lists
          (local.set $a (i32.shl (i32.rem_u (local.get $a) (i32.const 4)) (i32.const 3)))
          (drop (call $spawn (i32.const 0) (i32.const 19)
            (i32.load offset=192 (local.get $a)) (i32.load offset=196 (local.get $a))))
          (br $next))
          ;; 2: send, raw arguments
          (drop (call $send (local.get $a) (local.get $b) (local.get $c)))
          (br $next))
          ;; 3: send a slice of the program to agent a mod 16
          (drop (call $send (i32.rem_u (local.get $a) (i32.const 16))
            (i32.add (i32.const 1024) (local.get $start))
            (i32.rem_u (local.get $c)
              (i32.add (i32.sub (local.get $len) (local.get $start)) (i32.const 1)))))
          (br $next))
          ;; 4: blocking receive, raw arguments
          (drop (call $recv (local.get $a) (local.get $b) (local.get $c)))
          (br $next))
          ;; 5: try_receive, raw arguments
          (drop (call $try_recv (local.get $a) (local.get $b) (local.get $c)))
          (br $next))
          ;; 6: receive with a timeout of d mod 50 ms into the buffer
          (drop (call $recv_timeout (i32.const 40000) (i32.rem_u (local.get $b) (i32.const 25000))
            (i32.const 256) (i32.rem_u (local.get $d) (i32.const 50))))
          (br $next))
          ;; 7: get_self_id, sent to the host
          (i32.store (i32.const 300) (call $self_id))
          (drop (call $send (i32.const 0) (i32.const 300) (i32.const 4)))
          (br $next))
          ;; 8: log a slice of the program
          (drop (call $log (local.get $a) (i32.add (i32.const 1024) (local.get $start))
            (i32.rem_u (local.get $c) (i32.const 4200))))
          (br $next))
          ;; 9: exit
          (call $exit (local.get $a))
          (br $next))
          ;; 10: log, raw arguments
          (drop (call $log (local.get $a) (local.get $b) (local.get $c)))
          (br $next))
        ;; 11: blocking receive into the buffer
        (drop (call $recv (i32.const 40000) (i32.rem_u (local.get $b) (i32.const 25000))
          (i32.const 256)))
        (br $next)))
    (i32.const 0)))"#;

thread_local! {
    /// The runtime (engine and host functions) and the interpreter's bytes, made once: each
    /// input gets a fresh file system and agent system.
    static SETUP: (Runtime, Vec<u8>) = (
        Runtime::default(),
        wat::parse_str(INTERP_WAT).expect("the interpreter compiles"),
    );
}

/// Runs the program `data` in a fresh agent system.
pub fn run(data: &[u8]) {
    SETUP.with(|(runtime, wasm)| run_with(runtime, wasm, data));
}

fn run_with(runtime: &Runtime, wasm: &[u8], data: &[u8]) {
    let (platform, _console) = crate::platform_with(&[]);
    kernel_wasm::vfs::write_file(&*platform.vfs, INTERP, wasm).expect("interpreter written");
    let mut system = System::new(
        platform,
        SystemConfig {
            fuel: Some(2_000_000),
            slice_fuel: 20_000,
            spawn_limit: 16,
            mailbox_depth: 4,
            max_agents: MAX_AGENTS,
            host_inbox_depth: 8,
            max_queued_bytes: 256 * 1024,
            max_memory: Some(64 * 1024),
        },
    );
    let caps = CapSet::parse("agent:spawn,agent:send,agent:receive").expect("caps");
    let root = system
        .spawn(runtime, INTERP, SpawnOptions::new(caps))
        .expect("the interpreter spawns");
    let program = &data[..data.len().min(32 * 1024)];
    if system.send(root, program).is_err() {
        return;
    }
    let mut events = Vec::new();
    let report = system.run(runtime, 400, &mut |e| events.push(e));
    assert!(report.slices <= 400, "{report}");
    let live = system.list().iter().filter(|a| !a.state.is_done()).count();
    assert!(live <= MAX_AGENTS, "{live} live agents");
    for event in &events {
        if let Event::Message(m) = event {
            assert!(
                m.body.len() <= MAX_MESSAGE,
                "a message of {} bytes",
                m.body.len()
            );
        }
    }
}
