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
