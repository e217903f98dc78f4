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

/// A host directory (removed on drop) holding `depth` nested directories `d/d/…/d` with a file
/// `f` at the bottom.
struct DeepDir {
    dir: std::path::PathBuf,
    path: String,
}

impl DeepDir {
    fn new(name: &str, depth: usize) -> DeepDir {
        let dir = std::env::temp_dir().join(format!("kw-deep-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let rel = vec!["d"; depth].join("/");
        std::fs::create_dir_all(dir.join(&rel)).unwrap();
        std::fs::write(dir.join(&rel).join("f"), b"x").unwrap();
        DeepDir {
            dir,
            path: format!("{rel}/f"),
        }
    }

    fn vfs(&self) -> Arc<kernel_wasm::vfs::hostdir::HostDir> {
        Arc::new(kernel_wasm::vfs::hostdir::HostDir::new(&self.dir).unwrap())
    }
}

impl Drop for DeepDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A guest whose `stat(n)` calls `path_filestat_get` on `path` (in preopen 3) `n` times; the
/// last errno.
fn stat_loop_module(path: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $stat (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{path}")
  (func (export "stat") (param $n i32) (result i32) (local $e i32)
    (loop $again
      (local.set $e (call $stat (i32.const 3) (i32.const 1) (i32.const 1024) (i32.const {len}) (i32.const 0)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $again (i32.gt_s (local.get $n) (i32.const 0))))
    (local.get $e)))"#,
        len = path.len()
    ))
    .unwrap()
}

fn deep_instance(
    deep: &DeepDir,
    platform: kernel_wasm::Platform,
    time_limit_ms: Option<u64>,
) -> (
    kernel_wasm::Instance,
    Arc<kernel_wasm::vfs::hostdir::HostDir>,
) {
    use kernel_wasm::vfs::Vfs;
    let rt = Runtime::default();
    let module = rt
        .load(&stat_loop_module(&deep.path), Some("deep"))
        .unwrap();
    let host = deep.vfs();
    let mut cfg = InstanceConfig::new(platform);
    let vfs: Arc<dyn Vfs> = host.clone();
    cfg.preopens = vec![kernel_wasm::wasi::Preopen::root("/deep", vfs)];
    cfg.time_limit_ms = time_limit_ms;
    (rt.instantiate(&module, cfg).unwrap(), host)
}

/// Class 1: resolving a deep path in a host directory costs host work linear in its depth (a
/// few system calls per component, counted by `Vfs::work`): `path_filestat_get` of a path of
/// 2000 components (3999 bytes) took minutes, re-checking every prefix for every component.
/// The guest is charged fuel for that work.
#[test]
fn deep_host_paths_cost_linear_host_work_and_are_charged() {
    use kernel_wasm::vfs::Vfs;
    for depth in [100, 2000] {
        let deep = DeepDir::new(&format!("linear{depth}"), depth);
        let (mut inst, host) = deep_instance(&deep, config().platform, None);
        let fuel_before = inst.stats().fuel_consumed;
        let before = host.work();
        assert_eq!(call_i32(&mut inst, "stat", &["1"]), 0, "depth {depth}");
        let cold = host.work() - before;
        // Per component: open the directory (openat + fstat), look the name up, stat the node.
        assert!(
            cold <= 4 * depth as u64 + 10,
            "depth {depth}: {cold} host calls"
        );
        let charged = inst.stats().fuel_consumed - fuel_before;
        assert!(
            charged >= cold * kernel_wasm::limits::FUEL_PER_WORK,
            "depth {depth}: {charged} fuel for {cold} units of host work"
        );
        // Again, through the directories cached on the way (at most 64 of them).
        let before = host.work();
        assert_eq!(call_i32(&mut inst, "stat", &["1"]), 0);
        let warm = host.work() - before;
        assert!(warm <= cold, "depth {depth}: {warm} > {cold}");
    }
}

/// A clock whose every reading is a millisecond after the previous one: time passes only as
/// often as the runtime looks at it (between fuel slices), so a test counts checks, not time.
#[derive(Default)]
struct TickClock(std::sync::atomic::AtomicU64);

impl kernel_wasm::Clock for TickClock {
    fn monotonic_ns(&self) -> u64 {
        self.0
            .fetch_add(1_000_000, std::sync::atomic::Ordering::Relaxed)
    }
    fn realtime_ns(&self) -> u64 {
        self.monotonic_ns()
    }
    fn resolution_ns(&self) -> u64 {
        1
    }
}

/// Class 1: a host call whose cost grows with its input cannot run past the time limit: its
/// work is charged as fuel, so a call costing more than a slice ends the slice and the limit is
/// checked right after it. A guest stat-ing a 500-deep path 1000 times (one slice of guest
/// instructions in all) is stopped after about as many calls as the limit has milliseconds;
/// before, the whole loop ran in one slice without the clock ever being read.
#[test]
fn slow_host_calls_cannot_escape_the_time_limit() {
    let deep = DeepDir::new("deadline", 500);
    let mut platform = config().platform;
    platform.clock = Arc::new(TickClock::default());
    let (mut inst, host) = deep_instance(&deep, platform, Some(50));
    let before = kernel_wasm::vfs::Vfs::work(&*host);
    let err = inst.call_with_text("stat", &["1000"]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                kind: LimitKind::Time,
                limit: 50,
                ..
            }
        ),
        "{err}"
    );
    // About 50 calls of ~1000 system calls each ran, not 1000.
    let work = kernel_wasm::vfs::Vfs::work(&*host) - before;
    assert!(work < 100 * 2 * 500, "{work} units of host work");
}
