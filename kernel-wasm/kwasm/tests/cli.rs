//! End-to-end tests of the kwasm binary on the WAT fixtures: output and exit status.

use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn kwasm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kwasm"))
        .args(args)
        .output()
        .expect("kwasm runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn hello_prints_and_exits_zero() {
    let out = kwasm(&["run", &fixture("hello.wat")]);
    assert_eq!(text(&out.stdout), "Hello from kernel-wasm!\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn proc_exit_from_a_nested_call_sets_the_status() {
    let out = kwasm(&["run", &fixture("exit7.wat")]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn invoke_prints_every_result() {
    let out = kwasm(&["run", "--invoke", "add", &fixture("arith.wat"), "2", "3"]);
    assert_eq!(
        (text(&out.stdout).as_str(), out.status.code()),
        ("5\n", Some(0))
    );
    let out = kwasm(&["run", "--invoke", "divmod", &fixture("arith.wat"), "7", "2"]);
    assert_eq!(text(&out.stdout), "3\n1\n");
    let out = kwasm(&[
        "run",
        "--invoke",
        "mixed",
        &fixture("arith.wat"),
        "21",
        "-1.5",
        "2",
    ]);
    assert_eq!(text(&out.stdout), "2.5\n42\n-1.5\n");
}

#[test]
fn fuel_limit_names_fuel_and_reports_stats() {
    let out = kwasm(&["run", "--fuel", "100000", "--stats", &fixture("loop.wat")]);
    assert_eq!(out.status.code(), Some(134));
    let err = text(&out.stderr);
    assert!(err.contains("stats: fuel 100000 "), "{err}");
    assert!(
        err.contains("kwasm: _start ran out of fuel: the limit of 100000 fuel units was used up"),
        "{err}"
    );
}

/// Each hostile input gives exactly one line on stderr, a non-zero status, and never a panic (101).
#[test]
fn hostile_inputs_fail_with_one_line() {
    let dir = std::env::temp_dir().join(format!("kwasm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random.wasm", random),
        ("truncated.wasm", b"\0asm\x01\0\0\0\x01\x05".to_vec()),
        ("empty.wasm", Vec::new()),
    ];
    for (name, bytes) in &cases {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let mut runs: Vec<(String, Output)> = cases
        .iter()
        .map(|(name, _)| {
            (
                name.to_string(),
                kwasm(&["run", dir.join(name).to_str().unwrap()]),
            )
        })
        .collect();
    runs.push((
        "unknown import".into(),
        kwasm(&["run", &fixture("unknown_import.wat")]),
    ));
    runs.push(("recursion".into(), kwasm(&["run", &fixture("recurse.wat")])));
    runs.push(("trap".into(), kwasm(&["run", &fixture("trap.wat")])));
    runs.push((
        "missing file".into(),
        kwasm(&["run", "/nonexistent/x.wasm"]),
    ));
    runs.push((
        "bad argument".into(),
        kwasm(&["run", "--invoke", "add", &fixture("arith.wat"), "2", "x"]),
    ));
    runs.push((
        "missing export".into(),
        kwasm(&["run", "--invoke", "nope", &fixture("arith.wat")]),
    ));
    for (what, out) in runs {
        let err = text(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{what}");
        assert_ne!(out.status.code(), Some(101), "{what} panicked: {err}");
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        assert!(err.starts_with("kwasm: "), "{what}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn inspect_lists_hash_imports_exports_and_needs() {
    let out = kwasm(&["inspect", &fixture("hello.wat")]);
    let s = text(&out.stdout);
    assert!(s.contains("sha256: "), "{s}");
    assert!(
        s.contains(
            "wasi_snapshot_preview1::fd_write func (i32, i32, i32, i32) -> (i32) [provided]"
        ),
        "{s}"
    );
    assert!(s.contains("_start func () -> ()"), "{s}");
    assert!(s.contains("runnable: yes"), "{s}");
    let out = kwasm(&["inspect", &fixture("unknown_import.wat")]);
    assert!(text(&out.stdout).contains("runnable: no, missing imports: env::does_not_exist"));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn shell_runs_a_script_from_stdin() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kwasm"))
        .arg("shell")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo hi\nnope\nexit 4\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        text(&out.stdout),
        "sis> echo hi\nhi\nsis> nope\nerror: unknown command \"nope\": type `help` for the list of commands\nsis> exit 4\n"
    );
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn shell_runs_agents_from_a_host_dir() {
    use std::io::Write;
    // The agent fixtures, compiled to .wasm in a scratch directory mapped to /agents.
    let dir = std::env::temp_dir().join(format!("kwasm-agents-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["ping", "pong"] {
        let wasm = wat::parse_file(fixture(&format!("agents/{name}.wat"))).unwrap();
        std::fs::write(dir.join(format!("{name}.wasm")), wasm).unwrap();
    }
    let mapping = format!("{}::/agents", dir.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_kwasm"))
        .args(["shell", "--dir", &mapping])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"agent-spawn /agents/ping.wasm\nagent-run\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let expected = "sis> agent-spawn /agents/ping.wasm\nspawned agent 1 (ping.wasm)\n\
        sis> agent-run\n[agent 1] pong 1\n[agent 1] pong 2\n[agent 1] pong 3\n\
        [agent 1] pong 4\n[agent 1] pong 5\nagent 1 (ping.wasm) exited with status 0\n\
        agent 2 (pong.wasm) exited with status 0\n\
        agent-run: idle after 15 slices (0 ready, 0 blocked, 2 done)\nsis> \n";
    assert_eq!(text(&out.stdout), expected);
    assert_eq!(out.status.code(), Some(0));
}

/// A WASI call with an out-of-bounds pointer, or `proc_exit(126)`, is not a wasm trap: as wasmtime,
/// kwasm reports it on one line and exits 1 (traps exit 134).
#[test]
fn host_aborts_exit_one_like_wasmtime() {
    let dir = std::env::temp_dir().join(format!("kwasm-abort-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let oob = dir.join("oob.wat");
    std::fs::write(
        &oob,
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start") (drop (call $w (i32.const 1) (i32.const 0xfffffff0) (i32.const 1) (i32.const 0)))))"#,
    )
    .unwrap();
    let exit126 = dir.join("exit126.wat");
    std::fs::write(
        &exit126,
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $e (param i32)))
             (memory (export "memory") 1)
             (func (export "_start") (call $e (i32.const 126))))"#,
    )
    .unwrap();
    for path in [&oob, &exit126] {
        let out = kwasm(&["run", path.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("ended the guest"), "{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
