//! An agent session driven through the shell, as `kwasm shell` (and the kernel's UART) shows it:
//! the transcript is snapshotted and must be identical across runs.

mod common;

use std::sync::Arc;

use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::shell::PROMPT;
use kernel_wasm::{Console, Shell, ShellStatus, Stream};

const SCRIPT: &[&str] = &[
    "agent-list",
    "agent-spawn --fuel 2000000 /agents/busy.wasm",
    "agent-spawn /agents/ping.wasm",
    "agent-spawn /agents/pong.wasm agent:receive",
    "agent-spawn /agents/pong.wasm agent:send,agent:receive",
    "agent-run",
    "agent-send 3 ping 7",
    "agent-run",
    "agent-list",
    "agent-send 2 hello",
    "agent-kill 3",
    "agent-kill 3",
    "agent-spawn /agents/quick.wasm",
    "agent-spawn /agents/coordinator.wasm",
    "agent-run 3",
    "agent-run",
    "agent-spawn /agents/missing.wasm",
    "agent-spawn /agents/pong.wasm teleport",
    "agent-list",
    "echo still here",
];

/// Runs the script like `kwasm shell` with piped stdin: prompt, echoed line, output.
fn session() -> String {
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    common::install_fixtures(&platform);
    let mut shell = Shell::new(platform);
    for line in SCRIPT {
        console.write(Stream::Stdout, format!("{PROMPT}{line}\n").as_bytes());
        assert_eq!(shell.execute(line), ShellStatus::Continue, "{line}");
    }
    console.text()
}

/// The transcript holds no wall-clock values (fuel counts are deterministic); this redaction
/// guards against any that a later change might add (`... 123 us`, `... 4 ms`).
fn redact_timings(text: &str) -> String {
    text.lines()
        .map(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            let mut out = Vec::with_capacity(words.len());
            for (i, w) in words.iter().enumerate() {
                let unit = words.get(i + 1).copied();
                if w.parse::<u64>().is_ok() && matches!(unit, Some("us" | "ms" | "ns")) {
                    out.push("[time]");
                } else {
                    out.push(w);
                }
            }
            out.join(" ") + "\n"
        })
        .collect()
}

#[test]
fn agent_session_transcript() {
    let first = redact_timings(&session());
    let second = redact_timings(&session());
    assert_eq!(first, second, "two runs of the same session differ");
    insta::assert_snapshot!(first);
}

#[test]
fn agent_commands_check_their_arguments() {
    let console = Arc::new(CaptureConsole::default());
    let mut shell = Shell::new(platform_with_console(console.clone()));
    let mut out = |line: &str| {
        console.output.lock().unwrap().clear();
        shell.execute(line);
        console.text()
    };
    assert_eq!(
        out("agent-send 1"),
        "error: agent-send: usage: agent-send ID TEXT...\n"
    );
    assert_eq!(
        out("agent-kill one"),
        "error: agent id: \"one\" is not a number\n"
    );
    assert_eq!(
        out("agent-run 1 2"),
        "error: agent-run: usage: agent-run [--time-limit-ms MS] [MAX_SLICES]\n"
    );
    assert_eq!(
        out("agent-spawn --fuel x /a.wasm"),
        "error: --fuel: \"x\" is not a number\n"
    );
    assert_eq!(out("agent-kill 5"), "error: there is no agent 5\n");
    assert_eq!(out("agent-list"), "no agents\n");
    assert_eq!(
        out("agent-run"),
        "agent-run: idle after 0 slices (0 ready, 0 blocked, 0 done)\n"
    );
}
