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
    assert!(err.contains("stats: fuel 99999 "), "{err}");
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
    assert!(!s.contains("start:"), "{s}");
    let with_start =
        wat::parse_str(r#"(module (func $init) (func $other) (start $other))"#).unwrap();
    let path = std::env::temp_dir().join(format!("kwasm-start-{}.wasm", std::process::id()));
    std::fs::write(&path, with_start).unwrap();
    let out = kwasm(&["inspect", path.to_str().unwrap()]);
    std::fs::remove_file(&path).ok();
    assert!(
        text(&out.stdout).contains("start: function 1 (runs at instantiation)\n"),
        "{}",
        text(&out.stdout)
    );
    let out = kwasm(&["inspect", &fixture("unknown_import.wat")]);
    assert!(text(&out.stdout).contains("runnable: no, missing imports: env::does_not_exist"));
    assert_eq!(out.status.code(), Some(1));
}

/// A module whose imports all resolve but whose code does not validate is not runnable.
#[test]
fn inspect_validates_the_code() {
    let good = wat::parse_str(
        r#"(module (import "wasi_snapshot_preview1" "random_get" (func (param i32 i32) (result i32)))
             (func (export "f") (result i32) i32.const 7))"#,
    )
    .unwrap();
    // `i32.const 7; end` (0x41 0x07 0x0b) with 0x41 made an undefined opcode.
    let at = good
        .windows(3)
        .rposition(|w| w == [0x41, 0x07, 0x0b])
        .unwrap();
    let mut bad = good.clone();
    bad[at] = 0xff;
    let path = std::env::temp_dir().join(format!("kwasm-inspect-{}.wasm", std::process::id()));
    std::fs::write(&path, &bad).unwrap();
    let out = kwasm(&["inspect", path.to_str().unwrap()]);
    std::fs::remove_file(&path).ok();
    let s = text(&out.stdout);
    assert!(s.contains("f func () -> (i32)"), "{s}");
    assert!(
        s.contains("random (checked per call): wasi_snapshot_preview1::random_get"),
        "{s}"
    );
    assert!(s.contains("runnable: no, invalid module "), "{s}");
    assert!(!s.contains("start:"), "{s}");
    assert!(s.contains("opcode"), "{s}");
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

/// Runs kwasm and returns (status, stdout, stderr).
fn status_out_err(args: &[&str]) -> (Option<i32>, String, String) {
    let out = kwasm(args);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// Malformed flags are usage errors (2), each one line naming the flag; a well-formed flag
/// naming something that is not there is a load error (1).
#[test]
fn malformed_dir_and_env_flags() {
    let hello = fixture("hello.wat");
    let usage = |flag: &str, value: &str| -> (Option<i32>, String, String) {
        status_out_err(&["run", flag, value, &hello])
    };
    for (spec, message) in [
        ("::", "kwasm: --dir \"::\": the host directory is empty (HOST_DIR[::GUEST_DIR])\n"),
        ("", "kwasm: --dir \"\": the host directory is empty (HOST_DIR[::GUEST_DIR])\n"),
        ("::/x", "kwasm: --dir \"::/x\": the host directory is empty (HOST_DIR[::GUEST_DIR])\n"),
        (
            "/tmp::",
            "kwasm: --dir \"/tmp::\": the guest directory after :: is empty (HOST_DIR[::GUEST_DIR])\n",
        ),
    ] {
        assert_eq!(usage("--dir", spec), (Some(2), String::new(), message.into()), "{spec:?}");
    }
    assert_eq!(
        usage("--dir", "/nonexistent/kwasm-dir"),
        (
            Some(1),
            String::new(),
            "kwasm: --dir /nonexistent/kwasm-dir: no such file or directory\n".into()
        )
    );
    assert_eq!(
        usage("--dir", &hello),
        (
            Some(1),
            String::new(),
            format!("kwasm: --dir {hello}: not a directory\n")
        )
    );
    for (pair, message) in [
        (
            "=x",
            "kwasm: --env \"=x\": the variable name is empty (KEY=VALUE or KEY)\n",
        ),
        (
            "",
            "kwasm: --env \"\": the variable name is empty (KEY=VALUE or KEY)\n",
        ),
    ] {
        assert_eq!(
            usage("--env", pair),
            (Some(2), String::new(), message.into()),
            "{pair:?}"
        );
    }
    // `--env KEY` without `=`, as wasmtime: the host's value if it has one, else nothing.
    let (status, stdout, _) = usage("--env", "KWASM_SURELY_UNSET_VARIABLE");
    assert_eq!(
        (status, stdout.as_str()),
        (Some(0), "Hello from kernel-wasm!\n")
    );
}

/// Every clap error is one line on stderr with status 2; help and version are not errors.
#[test]
fn usage_errors_are_one_line_with_status_two() {
    let hello = fixture("hello.wat");
    for (args, message) in [
        (
            vec!["run"],
            "kwasm: the following required arguments were not provided: <MODULE> (see kwasm --help)\n",
        ),
        (
            vec!["frobnicate"],
            "kwasm: unrecognized subcommand 'frobnicate' (see kwasm --help)\n",
        ),
        (
            vec!["run", "--fuel", "-1", &hello],
            "kwasm: unexpected argument '-1' found (see kwasm --help)\n",
        ),
        (
            vec!["run", "--fuel", "99999999999999999999", &hello],
            "kwasm: invalid value '99999999999999999999' for '--fuel <N>': number too large to fit in target type (see kwasm --help)\n",
        ),
        (
            vec!["run", "--max-memory", "lots", &hello],
            "kwasm: invalid value 'lots' for '--max-memory <BYTES>': invalid digit found in string (see kwasm --help)\n",
        ),
        (
            vec!["run", "--time-limit-ms", "1.5", &hello],
            "kwasm: invalid value '1.5' for '--time-limit-ms <MS>': invalid digit found in string (see kwasm --help)\n",
        ),
        (
            vec!["run", "--bogus", &hello],
            "kwasm: unexpected argument '--bogus' found (see kwasm --help)\n",
        ),
        (
            vec!["shell", "extra"],
            "kwasm: unexpected argument 'extra' found (see kwasm --help)\n",
        ),
    ] {
        assert_eq!(
            status_out_err(&args),
            (Some(2), String::new(), message.into()),
            "{args:?}"
        );
    }
    let (status, stdout, stderr) = status_out_err(&["run", "--help"]);
    assert_eq!((status, stderr.as_str()), (Some(0), ""));
    assert!(stdout.contains("Usage: kwasm run"), "{stdout}");
    let (status, stdout, _) = status_out_err(&["--version"]);
    assert_eq!((status, stdout.as_str()), (Some(0), "kwasm 0.1.0\n"));
}

/// --invoke arguments parse by the export's signature; what does not fit is a call error (1).
#[test]
fn invoke_arguments_that_do_not_parse() {
    let arith = fixture("arith.wat");
    let invoke = |func: &str, args: &[&str]| {
        let mut all = vec!["run", "--invoke", func, &arith];
        all.extend_from_slice(args);
        status_out_err(&all)
    };
    let failed = |message: &str| (Some(1), String::new(), format!("kwasm: {message}\n"));
    assert_eq!(
        invoke("g", &[]),
        failed("export g of arith.wat is not a function")
    );
    assert_eq!(
        invoke("nope", &[]),
        failed("module arith.wat has no export named nope")
    );
    assert_eq!(
        invoke("add", &["4294967296", "1"]),
        failed("argument 1 of add: \"4294967296\" is not a valid i32")
    );
    assert_eq!(
        invoke("add", &["0x-5", "1"]),
        failed("argument 1 of add: \"0x-5\" is not a valid i32")
    );
    assert_eq!(
        invoke("add", &["1"]),
        failed("function add takes 2 argument(s), 1 given")
    );
    assert_eq!(
        invoke("add", &["1", "2", "3"]),
        failed("function add takes 2 argument(s), 3 given")
    );
    assert_eq!(
        invoke("mixed", &["18446744073709551616", "1", "1"]),
        failed("argument 1 of mixed: \"18446744073709551616\" is not a valid i64")
    );
    assert_eq!(
        invoke("mixed", &["1", "1", "one"]),
        failed("argument 3 of mixed: \"one\" is not a valid f64")
    );
    assert_eq!(
        invoke("takes_ref", &["1"]),
        failed("function takes_ref uses type funcref, which cannot be passed from the command line (only i32, i64, f32, f64)")
    );
    // nan and inf are floats, as for wasmtime (Rust's float syntax); results print the same way.
    assert_eq!(
        invoke("mixed", &["-2", "nan", "inf"]),
        (Some(0), "inf\n-4\nNaN\n".into(), String::new())
    );
    // A trap in the called function is 134.
    let (status, _, stderr) = invoke("div", &["1", "0"]);
    assert_eq!(
        (status, stderr.as_str()),
        (Some(134), "kwasm: trap in div: integer division by zero\n")
    );
}

/// Zero limits are accepted (as wasmtime) and stop the guest with one line: a memory the module
/// declares over --max-memory cannot be loaded (1, as wasmtime); fuel and time run out (134).
#[test]
fn zero_limits() {
    let hello = fixture("hello.wat");
    let arith = fixture("arith.wat");
    assert_eq!(
        status_out_err(&["run", "--max-memory", "0", &hello]),
        (
            Some(1),
            String::new(),
            "kwasm: limit memory_limit (0) exceeded: hello.wat asked for 65536 bytes of linear memory, the limit is 0 bytes\n".into()
        )
    );
    // No memory at all: nothing to refuse.
    assert_eq!(
        status_out_err(&[
            "run",
            "--max-memory",
            "0",
            "--invoke",
            "add",
            &arith,
            "1",
            "2"
        ]),
        (Some(0), "3\n".into(), String::new())
    );
    assert_eq!(
        status_out_err(&["run", "--fuel", "0", &hello]),
        (
            Some(134),
            String::new(),
            "kwasm: hello.wat ran out of fuel: the limit of 0 fuel units was used up\n".into()
        )
    );
    assert_eq!(
        status_out_err(&["run", "--fuel", "0", "--invoke", "add", &arith, "1", "2"]),
        (
            Some(134),
            String::new(),
            "kwasm: arith.wat ran out of fuel: the limit of 0 fuel units was used up\n".into()
        )
    );
    assert_eq!(
        status_out_err(&["run", "--time-limit-ms", "0", &hello]),
        (
            Some(134),
            String::new(),
            "kwasm: limit time_limit_ms (0) exceeded: hello.wat ran for more than 0 ms of wall time\n".into()
        )
    );
    // Growing past --max-memory while running is a limit (134).
    let (status, _, stderr) = status_out_err(&[
        "run",
        "--max-memory",
        "131072",
        "--invoke",
        "grow",
        &fixture("memory_bomb.wat"),
    ]);
    assert_eq!(status, Some(134), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// A manifest preopen whose host directory contains `::` is mounted as written (it used to be
/// split like a `--dir` value).
#[test]
fn manifest_preopen_host_paths_may_contain_double_colons() {
    let dir = std::env::temp_dir().join(format!("kwasm-colons-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("a::b")).unwrap();
    let manifest = dir.join("m.toml");
    std::fs::write(
        &manifest,
        "name = \"m\"\nversion = \"1.0.0\"\n[[preopens]]\nhost = \"a::b\"\nguest = \"/d\"\n",
    )
    .unwrap();
    let out = status_out_err(&[
        "run",
        "--manifest",
        manifest.to_str().unwrap(),
        &fixture("hello.wat"),
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(
        out,
        (Some(0), "Hello from kernel-wasm!\n".into(), String::new())
    );
}

/// Feeds `input` to `kwasm shell` and returns (status, stdout, stderr).
fn shell_session(args: &[&str], input: &[u8]) -> (Option<i32>, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kwasm"))
        .arg("shell")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// `kwasm shell` reads its input through the kernel's line editor: invalid UTF-8 is replaced
/// (it used to end the session), control bytes are dropped, an over-long line is capped, and a
/// last line without its newline still runs.
#[test]
fn shell_input_is_edited_as_on_the_kernel_uart() {
    let (status, stdout, stderr) = shell_session(
        &[],
        b"echo a\xffb\necho \x00x\x1b[2J\ty\r\nnope\x03echo after ^C\nexit 256\nexit 3",
    );
    assert_eq!(stderr, "");
    assert_eq!(status, Some(3));
    assert_eq!(
        stdout,
        "sis> echo a\u{fffd}b\na\u{fffd}b\n\
         sis> echo x y\nx y\n\
         sis> nope^C\n\
         sis> echo after ^C\nafter ^C\n\
         sis> exit 256\nerror: exit: \"256\" is not an exit status (0 to 255)\n\
         sis> exit 3\n"
    );
    // A line far over the editor's limit: capped (the echo rings the bell), never buffered whole.
    let mut long = b"echo ".to_vec();
    long.extend(std::iter::repeat_n(b'x', 100_000));
    long.extend_from_slice(b"\nexit 0\n");
    let (status, stdout, _) = shell_session(&[], &long);
    assert_eq!(status, Some(0));
    let capped = format!("echo {}", "x".repeat(4096 - 5));
    let kept = stdout.replace('\x07', "");
    assert_eq!(
        kept,
        format!("sis> {capped}\n{}\nsis> exit 0\n", &capped[5..])
    );
    // Malformed --dir: a usage error, before the session starts.
    assert_eq!(
        shell_session(&["--dir", "::/x"], b""),
        (
            Some(2),
            String::new(),
            "kwasm: --dir \"::/x\": the host directory is empty (HOST_DIR[::GUEST_DIR])\n".into()
        )
    );
}

/// A file name or flag value holding a newline or an escape sequence still gives one line.
#[test]
fn control_characters_in_names_stay_on_one_line() {
    let (status, _, stderr) = status_out_err(&["run", "/nonexistent/a\nb\x1b[2J.wasm"]);
    assert_eq!(
        (status, stderr.as_str()),
        (
            Some(1),
            "kwasm: /nonexistent/a\\nb\\u{1b}[2J.wasm: No such file or directory (os error 2)\n"
        )
    );
    let (status, _, stderr) =
        status_out_err(&["run", "--dir", "/nonexistent/x\ny", &fixture("hello.wat")]);
    assert_eq!(
        (status, stderr.as_str()),
        (
            Some(1),
            "kwasm: --dir /nonexistent/x\\ny: no such file or directory\n"
        )
    );
}

/// `kwasm shell --dir`: a host file name that is not UTF-8 is refused rather than renamed (two
/// such names could become one).
#[test]
fn shell_dir_refuses_names_that_are_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let dir = std::env::temp_dir().join(format!("kwasm-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(std::ffi::OsStr::from_bytes(b"bad\xff")), b"x").unwrap();
    let mapping = format!("{}::/d", dir.display());
    let out = shell_session(&["--dir", &mapping], b"");
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(
        out,
        (
            Some(1),
            String::new(),
            format!(
                "kwasm: {}/bad\u{fffd}: the file name is not UTF-8\n",
                dir.display()
            )
        )
    );
}

#[test]
fn a_closed_stdout_ends_quietly_with_141() {
    use std::process::Stdio;
    // The pipe's read end is closed before kwasm starts, so its first write fails with EPIPE
    // whatever the scheduling (closing it after `spawn` raced with kwasm's writes, which a full
    // pipe buffer then accepted).
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_kwasm"))
        .args(["inspect", &fixture("arith.wat")])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("kwasm runs");
    assert_eq!(
        (out.status.code(), text(&out.stderr).as_str()),
        (Some(141), "")
    );
}
