//! kwasm-level cases of issue 21's hardening classes, each a test that failed before its fix:
//! compatibility with wasmtime (exit status of a start function, deep recursion), usage errors,
//! where errors go. Library-level cases are in `kernel-wasm/tests/hardening.rs`.

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

/// Class 7: `proc_exit(7)` in the start function exits 7 (it was 1, "cannot instantiate").
#[test]
fn proc_exit_from_a_start_function_is_the_exit_status() {
    let out = kwasm(&["run", &fixture("start_exit7.wat")]);
    assert_eq!(
        (out.status.code(), text(&out.stderr).as_str()),
        (Some(7), "")
    );
}

/// Class 7: recursion is bounded by stack bytes, like wasmtime, not by 1024 frames: 10 000 deep
/// runs; unbounded recursion still ends in a trap.
#[test]
fn ten_thousand_deep_recursion_runs() {
    let out = kwasm(&[
        "run",
        "--invoke",
        "depth",
        &fixture("deep_recursion.wat"),
        "10000",
    ]);
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "10000\n"),
        "{}",
        text(&out.stderr)
    );
    let out = kwasm(&["run", &fixture("recurse.wat")]);
    assert_eq!(out.status.code(), Some(134));
    assert!(text(&out.stderr).contains("call stack exhausted"));
}

/// Class 7: a `--caps` value that does not parse is a usage error (2), one line, like every
/// other malformed flag; nothing runs.
#[test]
fn caps_that_do_not_parse_are_usage_errors() {
    for caps in [
        "teleport",
        "file:read=relative",
        "clock=/scoped",
        "file:read=/a/../b",
    ] {
        let out = kwasm(&["run", "--caps", caps, &fixture("hello.wat")]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{caps}: {err}");
        assert!(err.starts_with("kwasm: --caps: "), "{caps}: {err}");
        assert_eq!(err.lines().count(), 1, "{caps}: {err}");
        assert_eq!(text(&out.stdout), "", "{caps}");
    }
}

/// Class 7: `kwasm inspect` of a module whose code does not validate says why on stderr too
/// (it printed only its report on stdout).
#[test]
fn inspect_of_an_invalid_module_reports_on_stderr() {
    let good = wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 7))"#).unwrap();
    let at = good
        .windows(3)
        .rposition(|w| w == [0x41, 0x07, 0x0b])
        .unwrap();
    let mut bad = good.clone();
    bad[at] = 0xff;
    let path = std::env::temp_dir().join(format!("kwasm-hardening-{}.wasm", std::process::id()));
    std::fs::write(&path, &bad).unwrap();
    let out = kwasm(&["inspect", path.to_str().unwrap()]);
    std::fs::remove_file(&path).ok();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("runnable: no, invalid module"));
    assert!(
        err.starts_with("kwasm: invalid module ") && err.contains("opcode"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// Class 7: `kwasm inspect` shows a module's import and export names escaped (the fuzzers
/// generate names with NUL and escape sequences: they reached the terminal raw), one line each.
#[test]
fn inspect_escapes_the_names_a_module_chose() {
    let wasm = wat::parse_str(
        r#"(module
             (import "ev\1b[2Jil" "f\0a\0d" (func))
             (func (export "bad\1b[31m\00name") (result i32) i32.const 1))"#,
    )
    .unwrap();
    let path = std::env::temp_dir().join(format!("kwasm-names-{}.wasm", std::process::id()));
    std::fs::write(&path, &wasm).unwrap();
    let out = kwasm(&["inspect", path.to_str().unwrap()]);
    std::fs::remove_file(&path).ok();
    let report = text(&out.stdout);
    assert!(
        !report.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters in:\n{report}"
    );
    assert!(
        report.contains("  ev\\u{1b}[2Jil::f\\n\\r func () -> () [MISSING]\n"),
        "{report}"
    );
    assert!(
        report.contains("  bad\\u{1b}[31m\\u{0}name func () -> (i32)\n"),
        "{report}"
    );
    assert!(
        report.contains("runnable: no, missing imports: ev\\u{1b}[2Jil::f\\n\\r\n"),
        "{report}"
    );
}

/// Runs `command` to its end, or kills it after `secs` seconds (`None`): a test of a limit that
/// did not hold fails instead of hanging.
fn output_within(command: &mut Command, secs: u64) -> Option<Output> {
    use std::time::{Duration, Instant};
    let mut child = command.spawn().expect("kwasm starts");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(secs) {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A stdout pipe whose reader is already gone.
// `std::io::pipe` is newer than the crate's MSRV; tests only (as in cli.rs, where clippy does
// not flag it inside `#[test]` functions), on the toolchain CI installs.
#[allow(clippy::incompatible_msrv)]
fn closed_stdout() -> std::process::Stdio {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    writer.into()
}

/// Class 2: a guest blocked reading stdin (a pipe that stays open and empty) is stopped at its
/// `--time-limit-ms` (it waited as long as stdin did).
#[test]
fn blocking_stdin_read_honours_the_time_limit() {
    use std::process::Stdio;
    let (_reader_kept_open, writer) = std::io::pipe().expect("a pipe");
    let mut command = Command::new(env!("CARGO_BIN_EXE_kwasm"));
    command
        .args(["run", "--time-limit-ms", "300", &fixture("read_stdin.wat")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // stdin is a pipe we never write to nor close; `writer` only keeps the other pipe alive.
    let out = output_within(&mut command, 60).expect("stopped at its time limit");
    drop(writer);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "{err}");
    assert!(
        err.contains("limit time_limit_ms (300) exceeded") && err.contains("stdin"),
        "{err}"
    );
    // Input that comes is still read, time limit or not.
    let mut command = Command::new(env!("CARGO_BIN_EXE_kwasm"));
    command
        .args([
            "run",
            "--time-limit-ms",
            "10000",
            &fixture("read_stdin.wat"),
        ])
        .stdin(std::fs::File::open(fixture("read_stdin.wat")).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = output_within(&mut command, 60).expect("reads to the end");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Class 5: a guest writing to a closed stdout gets EIO (29), as under wasmtime, instead of
/// success for ever.
#[test]
fn a_guest_writing_to_a_closed_stdout_gets_eio() {
    use std::process::Stdio;
    let mut command = Command::new(env!("CARGO_BIN_EXE_kwasm"));
    command
        .args(["run", &fixture("write_until_error.wat")])
        .stdout(closed_stdout())
        .stderr(Stdio::piped());
    let out = output_within(&mut command, 60).expect("the guest saw an error and exited");
    assert_eq!(
        (out.status.code(), text(&out.stderr).as_str()),
        (Some(29), "")
    );
}

/// Class 5: every kwasm verb ends quietly with 141 when its own stdout is a closed pipe:
/// `run --invoke` printing results, `inspect`, and `shell` (prompt and command output).
#[test]
fn every_verb_ends_quietly_on_a_closed_stdout() {
    use std::io::Write;
    use std::process::Stdio;
    let runs: [(&[&str], &[u8]); 3] = [
        (
            &["run", "--invoke", "add", &fixture("arith.wat"), "2", "3"],
            b"",
        ),
        (&["inspect", &fixture("arith.wat")], b""),
        (&["shell"], b"echo hello\nls /\n"),
    ];
    for (args, input) in runs {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kwasm"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(closed_stdout())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kwasm starts");
        let mut stdin = child.stdin.take().expect("stdin");
        let _ = stdin.write_all(input);
        drop(stdin);
        let out = child.wait_with_output().expect("output");
        assert_eq!(
            (out.status.code(), text(&out.stderr).as_str()),
            (Some(141), ""),
            "{args:?}"
        );
    }
}

/// Class 4: `kwasm run` bounds tables by default: growing one by 200 million elements under
/// `--max-memory 16777216` stops the guest (it allocated gigabytes); `--max-table-elements`
/// sets another bound.
#[test]
fn kwasm_run_bounds_tables() {
    let out = kwasm(&[
        "run",
        "--max-memory",
        "16777216",
        "--invoke",
        "grow",
        &fixture("big_ops.wat"),
        "200000000",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "{err}");
    assert!(
        err.contains("limit table_limit (10000000) exceeded"),
        "{err}"
    );
    let out = kwasm(&[
        "run",
        "--max-table-elements",
        "1000",
        "--invoke",
        "grow",
        &fixture("big_ops.wat"),
        "1001",
    ]);
    assert!(text(&out.stderr).contains("limit table_limit (1000) exceeded"));
    let out = kwasm(&[
        "run",
        "--max-table-elements",
        "1000",
        "--invoke",
        "grow",
        &fixture("big_ops.wat"),
        "1000",
    ]);
    assert_eq!(text(&out.stdout), "1000\n");
}
