//! Runs the WASI test programs (C with wasi-libc, Rust std for wasm32-wasip1) through the built
//! `kwasm run` binary with wasmtime's flags (`--dir HOST::GUEST`, `--env`, arguments) and checks
//! their whole output, exit status and effect on the host directory.
//!
//! The programs are built by `cargo xtask wasi-programs` (which `cargo xtask ci` runs first) into
//! `target/wasi-programs`; when they are absent each test prints why and skips (but under
//! `cargo xtask ci`, where it fails).

use std::path::{Path, PathBuf};
use std::process::Command;

fn programs_dir() -> PathBuf {
    match std::env::var_os("KWASM_WASI_PROGRAMS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/wasi-programs"),
    }
}

/// The built program, or `None` (after saying so) when it has not been built. Under `cargo
/// xtask ci`, which builds them first and sets `KWASM_REQUIRE_WASI_PROGRAMS`, a missing program
/// fails the test instead: CI never passes by skipping.
fn program(rel: &str) -> Option<PathBuf> {
    let path = programs_dir().join(rel);
    if path.is_file() {
        Some(path)
    } else if std::env::var_os("KWASM_REQUIRE_WASI_PROGRAMS").is_some() {
        panic!(
            "{} is not built (cargo xtask wasi-programs)",
            path.display()
        );
    } else {
        println!(
            "SKIPPED: {} is not built; run `cargo xtask wasi-programs` first",
            path.display()
        );
        None
    }
}

/// A fresh host directory `<tmp>/<name>/sandbox` with a file `outside` next to it.
fn scratch(name: &str) -> PathBuf {
    let base = std::env::temp_dir().join(format!("kwasm-wasi-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(base.join("sandbox")).expect("create scratch dir");
    std::fs::write(base.join("outside"), b"not for the guest").expect("write outside");
    base
}

fn run(program: &Path, sandbox: &Path, args: &[&str]) -> (String, String, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_kwasm"))
        .arg("run")
        .arg("--dir")
        .arg(format!("{}::/sandbox", sandbox.display()))
        .args(["--env", "GREETING=hi"])
        .arg(program)
        .args(args)
        .output()
        .expect("run kwasm");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

#[test]
fn c_program_files_dirs_clocks_random_poll() {
    let Some(program) = program("c/files.wasm") else {
        return;
    };
    let base = scratch("c");
    let (stdout, stderr, code) = run(&program, &base.join("sandbox"), &["/sandbox", "x", "y z"]);
    assert_eq!(
        stdout,
        "argc=4 [/sandbox] [x] [y z]\n\
         GREETING=hi\n\
         read=world tell=11 end=17\n\
         write to read-only fd: EBADF\n\
         size=17 regular=1\n\
         truncated size=5\n\
         entries: . .. b.txt moved.txt\n\
         after rmdir: ENOENT\n\
         readlink=target.txt\n\
         escape: EPERM\n\
         slept>=10ms: yes\n\
         realtime after 2020: yes\n\
         random: ok\n\
         poll stdout: ready=1 out=1\n\
         done\n",
        "stderr: {stderr}"
    );
    assert_eq!(code, Some(0), "stderr: {stderr}");
    // Everything the program created it also removed; the file outside is untouched.
    assert_eq!(std::fs::read_dir(base.join("sandbox")).unwrap().count(), 0);
    assert_eq!(
        std::fs::read(base.join("outside")).unwrap(),
        b"not for the guest"
    );
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn rust_program_files_dirs_clocks_random() {
    let Some(program) = program("rust/files.wasm") else {
        return;
    };
    let base = scratch("rust");
    let (stdout, stderr, code) = run(&program, &base.join("sandbox"), &["/sandbox", "x"]);
    assert_eq!(
        stdout,
        "args=[\"/sandbox\", \"x\"]\n\
         GREETING=Some(\"hi\")\n\
         read=world tell=11 end=17\n\
         size=17 file=true\n\
         entries=[\"moved.txt\", \"sub\"]\n\
         contents=\"hello world\\nmore\\n\"\n\
         remove non-empty dir errno: Some(55)\n\
         exists after remove: false\n\
         escape errno: Some(63)\n\
         slept>=10ms: true\n\
         realtime after 2020: true\n\
         random seeds differ: true\n\
         done\n",
        "stderr: {stderr}"
    );
    // proc_exit(3) becomes kwasm's exit status.
    assert_eq!(code, Some(3), "stderr: {stderr}");
    assert_eq!(std::fs::read_dir(base.join("sandbox")).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(base);
}

/// Go's runtime (16 WASI imports, some twice; poll_oneoff, sched_yield, a clock that must
/// advance) on real files; the output equals wasmtime 48's for the same program and flags.
#[test]
fn go_program_files_dirs_clocks_random() {
    let Some(program) = program("go/files.wasm") else {
        return;
    };
    let base = scratch("go");
    let (stdout, stderr, code) = run(&program, &base.join("sandbox"), &["/sandbox", "x", "y z"]);
    assert_eq!(
        stdout,
        "args=[\"/sandbox\" \"x\" \"y z\"]\n\
         GREETING=\"hi\"\n\
         read=world tell=11 end=17\n\
         size=17 file=true\n\
         entries=[\"moved.txt\" \"sub\"]\n\
         contents=\"hello world\\nmore\\n\"\n\
         remove non-empty dir fails: true\n\
         exists after remove: false\n\
         escape fails: true\n\
         slept>=10ms: true\n\
         realtime after 2020: true\n\
         random differs: true\n\
         done\n",
        "stderr: {stderr}"
    );
    assert_eq!(stderr, "to stderr\n");
    assert_eq!(code, Some(3));
    assert_eq!(std::fs::read_dir(base.join("sandbox")).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(base);
}

/// Go with goroutines and a sleep, with and without a fuel limit (kernel-wasm's own tests run it
/// in slices as small as the agents': `kernel-wasm/tests/go_guest.rs`).
#[test]
fn go_program_with_goroutines() {
    let Some(program) = program("go/hello.wasm") else {
        return;
    };
    let expected = "hello from Go: 2 args\nclock advances: true\nrandom: true\ngoroutines: 14\n";
    for args in [&[][..], &["--fuel", "100000000000"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_kwasm"))
            .arg("run")
            .args(args)
            .arg(&program)
            .arg("one")
            .output()
            .expect("run kwasm");
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected, "{args:?}");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
}

/// About 150 edge cases of every preview1 function, each one errno: the output equals
/// `wasmtime run` 48.0.8's but for the differences docs/wasi.md lists (see errno_probe.c).
#[test]
fn errno_probe_answers_as_wasmtime() {
    let Some(program) = program("c/errno_probe.wasm") else {
        return;
    };
    let base = scratch("probe");
    let out = Command::new(env!("CARGO_BIN_EXE_kwasm"))
        .arg("run")
        .arg("--dir")
        .arg(format!("{}::/sb", base.join("sandbox").display()))
        .arg(&program)
        .output()
        .expect("run kwasm");
    let expected = include_str!("../../tests/wasi-programs/c/errno_probe.expected");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (got, want) in stdout.lines().zip(expected.lines()) {
        assert_eq!(got, want);
    }
    assert_eq!(stdout, expected);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read(base.join("outside")).unwrap(),
        b"not for the guest"
    );
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn missing_preopen_directory_is_a_usage_error() {
    let Some(program) = program("c/files.wasm") else {
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_kwasm"))
        .args(["run", "--dir", "/definitely/not/here::/sandbox"])
        .arg(program)
        .output()
        .expect("run kwasm");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/definitely/not/here"));
}
