//! kwasm's capability and limit flags: --caps, --manifest, --time-limit-ms, and `inspect`
//! listing what a module needs.

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

/// A scratch directory of this test, removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kwasm-caps-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write");
        path.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn invoke(extra: &[&str], func: &str) -> Output {
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    let module = fixture("wasi_env_clock_random.wat");
    args.extend_from_slice(&["--invoke", func, &module]);
    kwasm(&args)
}

#[test]
fn default_grants_the_wasi_set() {
    for func in ["env", "clock", "random"] {
        let out = invoke(&[], func);
        assert_eq!(text(&out.stdout), "0\n", "{func}: {}", text(&out.stderr));
    }
}

#[test]
fn caps_flag_grants_what_it_lists() {
    let out = invoke(&["--caps", "clock"], "clock");
    assert_eq!(text(&out.stdout), "0\n", "{}", text(&out.stderr));
    let out = invoke(&["--caps", "clock,random"], "random");
    assert_eq!(text(&out.stdout), "0\n", "{}", text(&out.stderr));
    // A list that does not parse is a usage error (README: status 2).
    let out = invoke(&["--caps", "teleport"], "clock");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("unknown capability \"teleport\"") && err.contains("llm:infer"),
        "{err}"
    );
}

#[test]
fn manifest_sets_limits_and_reports_errors_with_lines() {
    let dir = Scratch::new("manifest");
    let good = dir.file(
        "good.toml",
        "name = \"busy\"\nversion = \"0.1.0\"\nentry = \"spin\"\ntime_limit_ms = 100\n",
    );
    let out = kwasm(&["run", "--manifest", &good, &fixture("busy.wat")]);
    assert_eq!(out.status.code(), Some(134), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("limit time_limit_ms (100) exceeded"),
        "{}",
        text(&out.stderr)
    );

    let bad = dir.file(
        "bad.toml",
        "name = \"m\"\nversion = \"1.0.0\"\nfuel_limit = -1\n",
    );
    let out = kwasm(&["run", "--manifest", &bad, &fixture("hello.wat")]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("manifest, line 3, fuel_limit: must not be negative"),
        "{err}"
    );
    assert_eq!(text(&out.stdout), "", "nothing ran");
}

#[test]
fn time_limit_flag_stops_a_busy_loop() {
    let out = kwasm(&[
        "run",
        "--time-limit-ms",
        "50",
        "--invoke",
        "spin",
        &fixture("busy.wat"),
    ]);
    assert_eq!(out.status.code(), Some(134));
    assert!(
        text(&out.stderr).contains("time_limit_ms (50)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn inspect_lists_the_capabilities_a_module_needs() {
    let out = kwasm(&["inspect", &fixture("wasi_env_clock_random.wat")]);
    let s = text(&out.stdout);
    assert!(s.contains("capabilities: 3"), "{s}");
    assert!(
        s.contains("  env (checked per call): wasi_snapshot_preview1::environ_sizes_get"),
        "{s}"
    );
    assert!(
        s.contains("  clock (checked per call): wasi_snapshot_preview1::clock_time_get"),
        "{s}"
    );
    assert!(
        s.contains("  random (checked per call): wasi_snapshot_preview1::random_get"),
        "{s}"
    );
    let out = kwasm(&["inspect", &fixture("arith.wat")]);
    assert!(text(&out.stdout).contains("capabilities: none"));
}
