//! Shell tests over a captured console and an in-memory file system.

use std::string::String;
use std::sync::Arc;
use std::vec::Vec;

use super::*;
use crate::hosted::{platform_with_console, CaptureConsole};
use crate::vfs::write_file;

fn shell_with(files: &[(&str, &[u8])]) -> (Shell, Arc<CaptureConsole>) {
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    for (path, data) in files {
        write_file(&*platform.vfs, path, data).unwrap();
    }
    (Shell::new(platform), console)
}

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap()
}

fn run(shell: &mut Shell, console: &CaptureConsole, line: &str) -> (ShellStatus, String) {
    console.output.lock().unwrap().clear();
    let status = shell.execute(line);
    (status, console.text())
}

#[test]
fn echo_help_exit_and_unknown() {
    let (mut sh, out) = shell_with(&[]);
    assert_eq!(
        run(&mut sh, &out, "echo hello   world"),
        (ShellStatus::Continue, "hello world\n".into())
    );
    let (_, help) = run(&mut sh, &out, "help");
    for c in COMMANDS {
        assert!(help.contains(c.usage), "{help}");
    }
    let (status, text) = run(&mut sh, &out, "frobnicate now");
    assert_eq!(status, ShellStatus::Continue);
    assert_eq!(
        text,
        "error: unknown command \"frobnicate\": type `help` for the list of commands\n"
    );
    assert_eq!(run(&mut sh, &out, "exit 3").0, ShellStatus::Exit(3));
    assert_eq!(run(&mut sh, &out, "exit").0, ShellStatus::Exit(0));
    assert_eq!(
        run(&mut sh, &out, "exit x").1,
        "error: exit: \"x\" is not an exit status\n"
    );
    assert_eq!(run(&mut sh, &out, "   ").0, ShellStatus::Continue);
    assert_eq!(run(&mut sh, &out, "# comment").1, "");
}

#[test]
fn ls_and_cat() {
    let (mut sh, out) = shell_with(&[("/data/a.txt", b"alpha\n"), ("/data/sub/b", b"")]);
    assert_eq!(run(&mut sh, &out, "ls /data").1, "a.txt\nsub/\n");
    assert_eq!(run(&mut sh, &out, "ls").1, "data/\n");
    assert_eq!(run(&mut sh, &out, "cat /data/a.txt").1, "alpha\n");
    assert_eq!(
        run(&mut sh, &out, "cat /data/missing").1,
        "error: /data/missing: no such file or directory\n"
    );
    assert_eq!(
        run(&mut sh, &out, "cat /data").1,
        "error: /data: is a directory\n"
    );
    assert_eq!(
        run(&mut sh, &out, "ls /../etc").1,
        "error: /../etc: path escapes its root\n"
    );
}

#[test]
fn wasm_run_start_call_trap_and_fuel() {
    let hello = wat(include_str!("../../tests/fixtures/hello.wat"));
    let arith = wat(include_str!("../../tests/fixtures/arith.wat"));
    let trap = wat(include_str!("../../tests/fixtures/trap.wat"));
    let looping = wat(include_str!("../../tests/fixtures/loop.wat"));
    let (mut sh, out) = shell_with(&[
        ("/bin/hello.wasm", &hello),
        ("/bin/arith.wasm", &arith),
        ("/bin/trap.wasm", &trap),
        ("/bin/loop.wasm", &looping),
    ]);
    assert_eq!(
        run(&mut sh, &out, "wasm-run /bin/hello.wasm").1,
        "Hello from kernel-wasm!\n"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run /bin/arith.wasm divmod 7 2").1,
        "3\n1\n"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run /bin/trap.wasm").1,
        "error: trap in _start: unreachable instruction executed\n"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run --fuel 100000 /bin/loop.wasm").1,
        "error: _start ran out of fuel: the limit of 100000 fuel units was used up\n"
    );
    let (_, stats) = run(&mut sh, &out, "stats");
    assert!(
        stats.starts_with("fuel: 100000\nhost calls: 0\ntime: "),
        "{stats}"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run /bin/nope.wasm").1,
        "error: /bin/nope.wasm: no such file or directory\n"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run --fuel lots /bin/loop.wasm").1,
        "error: --fuel: \"lots\" is not a number of fuel units\n"
    );
    assert_eq!(
        run(&mut sh, &out, "wasm-run").1,
        "error: wasm-run: usage: wasm-run [--fuel N] PATH [FUNC [ARGS...]]\n"
    );
    // The shell goes on after every failure.
    assert_eq!(run(&mut sh, &out, "echo still here").1, "still here\n");
}

#[test]
fn hostile_module_bytes_give_one_line() {
    let (mut sh, out) = shell_with(&[
        ("/junk.wasm", b"\0asm\x01\0\0\0\x01\x05"),
        ("/text.wasm", b"hello"),
    ]);
    let (_, text) = run(&mut sh, &out, "wasm-run /junk.wasm");
    assert!(
        text.starts_with("error: invalid module junk.wasm: ") && text.matches('\n').count() == 1,
        "{text}"
    );
    let (_, text) = run(&mut sh, &out, "wasm-run /text.wasm");
    assert!(
        text.starts_with("error: invalid module text.wasm: ") && text.matches('\n').count() == 1,
        "{text}"
    );
}

/// `bench` on the workloads module `cargo xtask bench` builds (skipped, with a message, when it
/// has not been built): one case, both runtimes, rows in the host bench's `results.json` format.
#[test]
fn bench_command_rows() {
    let built = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/bench/wasm/workloads.wasm"
    );
    let Ok(workloads) = std::fs::read(built) else {
        std::eprintln!(
            "skipping bench_command_rows: {built} is not built (run `cargo xtask bench --quick`)"
        );
        return;
    };
    let (mut sh, out) = shell_with(&[(bench_cmd::DEFAULT_PATH, &workloads)]);
    let (status, text) = run(&mut sh, &out, "bench --quick --case fib30");
    assert_eq!(status, ShellStatus::Continue);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, runtime) in lines.iter().zip(["kernel-wasm", "wasmi"]) {
        let prefix = std::format!(
            "{{\"group\": \"compute\", \"case\": \"fib30\", \"runtime\": \"{runtime}\", \"value\": "
        );
        let value = line
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(", \"unit\": \"ms\"}"))
            .unwrap_or_else(|| panic!("not a row: {line}"));
        let ms: f64 = value.parse().unwrap();
        assert!(ms > 0.0, "{line}");
    }
    assert_eq!(
        run(&mut sh, &out, "bench --case nope").1,
        "error: bench: unknown case \"nope\": the cases are coremark_like, sha256_1mib, fib30, matmul128, sort\n"
    );
    assert!(run(&mut sh, &out, "bench /missing.wasm")
        .1
        .starts_with("error: /missing.wasm"));
}
