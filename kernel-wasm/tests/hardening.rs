//! The hardening classes of issue 21, each as a test that failed before its fix: limits that must
//! always hold (slow host calls, blocking reads, huge single instructions, tables, closed
//! output), exact validation, and compatibility with wasmtime. File-system cases run on both
//! file systems (`MemFs` and a host directory through `HostDir`). The kwasm-level cases are in
//! `kwasm/tests/hardening.rs`.

mod common;

use std::sync::Arc;

use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::{Console, Shell, ShellStatus, Stream};

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
