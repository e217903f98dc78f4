//! The hardening classes of issue 21, each as a test that failed before its fix: limits that must
//! always hold (slow host calls, blocking reads, huge single instructions, tables, closed
//! output), exact validation, and compatibility with wasmtime. File-system cases run on both
//! file systems (`MemFs` and a host directory through `HostDir`). The kwasm-level cases are in
//! `kwasm/tests/hardening.rs`.

mod common;

use std::sync::Arc;

use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::{
    CallOutcome, Console, Error, InstanceConfig, LimitKind, Runtime, RuntimeConfig, Shell,
    ShellStatus, Stream, Value,
};

/// Runs shell `lines` over the agent fixtures; the transcript.
fn shell_session(lines: &[&str]) -> String {
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    common::install_fixtures(&platform);
    let mut shell = Shell::new(platform);
    for line in lines {
        console.write(Stream::Stdout, format!("> {line}\n").as_bytes());
        assert_eq!(shell.execute(line), ShellStatus::Continue, "{line}");
    }
    console.text()
}

/// Class 7: text a guest chose (an agent's log line, the path of a spawn it asked for, names)
/// reaches the terminal escaped, as agent messages do: one line each, no control sequences.
#[test]
fn guest_text_is_escaped_everywhere_it_is_shown() {
    let out = shell_session(&[
        "agent-spawn /agents/noisy.wasm agent:spawn",
        "agent-run",
        "agent-list",
    ]);
    assert!(
        !out.contains('\u{1b}'),
        "raw escape sequence reached the terminal:\n{out}"
    );
    assert!(
        out.contains("[agent 1 info] \\u{1b}[2J\\nagent 0 (shell) exited with status 0\n"),
        "{out}"
    );
    assert!(
        out.contains("agent 1: spawn /agents/\\u{1b}[31mred\\n.wasm failed: "),
        "{out}"
    );
    // Every line is one the shell printed: the forged "agent 0 ..." line is not on its own.
    assert!(
        !out.lines().any(|l| l.starts_with("agent 0 (shell)")),
        "{out}"
    );
}

/// Class 7: a start function that calls `proc_exit` ends the program with its status in the
/// shell too (it was "cannot instantiate ...: the start function exited").
#[test]
fn start_function_exit_is_a_program_exit_in_the_shell() {
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    let wasm = wat::parse_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/start_exit7.wat"
    ))
    .unwrap();
    kernel_wasm::vfs::write_file(&*platform.vfs, "/bin/start_exit7.wasm", &wasm).unwrap();
    let mut shell = Shell::new(platform);
    assert_eq!(
        shell.execute("wasm-run /bin/start_exit7.wasm"),
        ShellStatus::Continue
    );
    assert_eq!(console.text(), "start_exit7.wasm exited with status 7\n");
}

fn fixture(name: &str) -> Vec<u8> {
    wat::parse_file(format!(
        "{}/tests/fixtures/{name}.wat",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture compiles")
}

fn config() -> InstanceConfig {
    InstanceConfig::new(platform_with_console(Arc::new(CaptureConsole::default())))
}

fn call_i32(inst: &mut kernel_wasm::Instance, func: &str, args: &[&str]) -> i32 {
    match inst.call_with_text(func, args) {
        Ok(CallOutcome::Returned(v)) if v.len() == 1 => match v[0] {
            Value::I32(n) => n,
            other => panic!("{func}: {other:?}"),
        },
        other => panic!("{func}{args:?}: {other:?}"),
    }
}

/// Class 3: a `table.grow` that runs out of a slice's fuel resumes at itself. wasmi 2.0.0 resumed
/// at the last synced instruction (the code before it ran again: `runs` counted 2 per call) and,
/// when the growth cost more than a slice, paused again for ever. Fixed in the vendored wasmi
/// (third_party/wasmi/PATCHED.md).
#[test]
fn table_grow_out_of_fuel_resumes_exactly() {
    let rt = Runtime::default();
    let module = rt.load(&fixture("big_ops"), Some("big_ops")).unwrap();
    // 800 elements cost 50 fuel: slices of 7 and 37 pause inside the growth; 1 million elements
    // (62 500 fuel) cost many slices of 1000.
    for (slice, n) in [
        (1_000_000, "800"),
        (37, "800"),
        (7, "800"),
        (1000, "1000000"),
    ] {
        let mut cfg = config();
        cfg.slice_fuel = slice;
        let mut inst = rt.instantiate(&module, cfg).unwrap();
        for round in 1..=3 {
            let size = call_i32(&mut inst, "grow", &[n]);
            assert_eq!(size, round * n.parse::<i32>().unwrap(), "slice {slice}");
            assert_eq!(call_i32(&mut inst, "runs", &[]), round, "slice {slice}");
        }
    }
}

/// Class 3: no single instruction starves the slice loop: growing, filling and copying tables
/// of 16 million elements and 64 MiB of memory, each one instruction costing hundreds of slices
/// of fuel, finish with slices of 1000 (the growth never finished: issue 21).
#[test]
fn huge_single_instructions_finish_in_small_slices() {
    let rt = Runtime::default();
    let module = rt.load(&fixture("big_ops"), Some("big_ops")).unwrap();
    let mut cfg = config();
    cfg.slice_fuel = 1000;
    cfg.max_table_elements = Some(16_000_000);
    let mut inst = rt.instantiate(&module, cfg).unwrap();
    assert_eq!(call_i32(&mut inst, "grow", &["16000000"]), 16_000_000);
    assert_eq!(call_i32(&mut inst, "fill_table", &[]), 16_000_000);
    assert_eq!(call_i32(&mut inst, "fill_memory", &["1023"]), 7);
    assert_eq!(call_i32(&mut inst, "runs", &[]), 3);
    // Every byte and element was paid for: 16M elements x 4 bytes / 64 per fuel, three times
    // (grow, fill, copy), and 64 MiB / 64 twice (fill, copy).
    assert!(inst.stats().fuel_consumed > 3_000_000 + 2_000_000);
}

/// Class 4: tables are bounded by default (`DEFAULT_MAX_TABLE_ELEMENTS`): growing one by 20
/// million elements stops the instance with the table limit instead of allocating them.
#[test]
fn tables_are_bounded_by_default() {
    let rt = Runtime::default();
    let module = rt.load(&fixture("big_ops"), Some("big_ops")).unwrap();
    let mut inst = rt.instantiate(&module, config()).unwrap();
    let err = inst.call_with_text("grow", &["20000000"]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                kind: LimitKind::Table,
                limit: 10_000_000,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(inst.stats().peak_table_elements, 0);
}

/// Class 4: table elements draw from the runtime's guest-memory budget as linear memory does:
/// past it `table.grow` fails (-1) and the instance goes on; the bytes come back on drop.
#[test]
fn tables_draw_from_the_runtimes_guest_memory() {
    let rt = Runtime::new(RuntimeConfig {
        guest_memory: Some(4 << 20),
        ..RuntimeConfig::default()
    });
    let module = rt.load(&fixture("big_ops"), Some("big_ops")).unwrap();
    let mut inst = rt.instantiate(&module, config()).unwrap();
    // 64 KiB of memory is in use; 1 million elements need 8 MB of the 4 MiB.
    assert_eq!(call_i32(&mut inst, "grow", &["1000000"]), 0);
    assert_eq!(call_i32(&mut inst, "grow", &["100000"]), 100_000);
    let (used, _) = rt.guest_memory().unwrap();
    assert_eq!(used, 65536 + 100_000 * 8);
    drop(inst);
    assert_eq!(rt.guest_memory(), Some((0, 4 << 20)));
}

/// Class 4: agents started from the shell have a memory limit by default (64 MiB: growing to
/// 100 MiB stops the agent) and `agent-spawn --max-memory` sets another.
#[test]
fn shell_agents_have_a_memory_limit() {
    let out = shell_session(&["agent-spawn /agents/mem_hog.wasm", "agent-run"]);
    assert!(!out.contains("grew"), "{out}");
    assert!(
        out.contains("agent 1 (mem_hog.wasm) trapped: limit memory_limit (67108864) exceeded"),
        "{out}"
    );
    let out = shell_session(&[
        "agent-spawn --max-memory 134217728 /agents/mem_hog.wasm",
        "agent-run",
    ]);
    assert!(out.contains("[agent 1 info] grew"), "{out}");
    let out = shell_session(&["agent-spawn --max-memory /agents/mem_hog.wasm"]);
    assert!(out.contains("error: "), "{out}");
}
