//! Whole shell sessions, snapshotted. Each scenario is a script in `integration/scripts/`, booted
//! in QEMU through `cargo xtask qemu --script` and run through `kwasm shell` with the same `--dir`
//! trees. The kernel's transcript is snapshotted with insta (the boot header's figures and the
//! `stats` time are redacted after checking their shape), and it must equal kwasm's transcript
//! after the boot header: the kernel and the host run the same shell.
//!
//! Slow (QEMU under TCG): scenarios run one at a time, reuse one kernel build, and keep fuel
//! small. Review new snapshots with `cargo insta review`; CI never writes them (insta's default
//! when `CI` is set).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::{cargo, root, serial};

use insta::internals::Content;
use serde::Serialize;

const PROMPT: &str = "sis> ";

/// Builds what every scenario needs, once: the fixtures (target/fixtures) and kwasm.
fn prepare() -> PathBuf {
    static KWASM: OnceLock<PathBuf> = OnceLock::new();
    KWASM
        .get_or_init(|| {
            cargo(&["run", "--quiet", "-p", "xtask", "--", "fixtures"]);
            // The packages the kernel installs at boot (`xtask qemu` builds them too).
            cargo(&["run", "--quiet", "-p", "xtask", "--", "packages"]);
            cargo(&["build", "--quiet", "-p", "kwasm"]);
            root().join("target/debug/kwasm")
        })
        .clone()
}

/// `[boot] sis-kernel: heap N MiB, boot N ms` with N a number.
fn is_boot_header(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("[boot] sis-kernel: heap ") else {
        return false;
    };
    let Some((heap, rest)) = rest.split_once(" MiB, boot ") else {
        return false;
    };
    let Some(ms) = rest.strip_suffix(" ms") else {
        return false;
    };
    is_number(heap) && is_number(ms)
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The `stats` time (`time: N us`, wall clock) becomes `time: [us] us`; a `time:` line of any
/// other shape fails the test instead of being hidden.
fn redact_line(line: &str) -> String {
    match line.strip_prefix("time: ") {
        Some(rest) => {
            let us = rest.strip_suffix(" us");
            assert!(
                us.is_some_and(is_number),
                "a stats time line of an unexpected shape: {line:?}"
            );
            "time: [us] us".to_string()
        }
        None => line.to_string(),
    }
}

#[derive(Serialize)]
struct Transcript {
    script: String,
    exit_code: Option<i32>,
    boot: String,
    console: Vec<String>,
}

struct Run {
    transcript: Transcript,
    /// Everything after the boot header, as printed.
    body: String,
}

/// `cargo xtask qemu --script integration/scripts/NAME.sh --dir ...`.
fn boot(name: &str, dirs: &[&str]) -> Run {
    let script = format!("integration/scripts/{name}.sh");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(root())
        .args(["xtask", "qemu", "--timeout", "300", "--script", &script]);
    for dir in dirs {
        cmd.args(["--dir", dir]);
    }
    let out = cmd.output().expect("running cargo xtask qemu");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (boot, body) = stdout
        .split_once('\n')
        .unwrap_or_else(|| panic!("no boot header in {stdout}\nstderr: {stderr}"));
    assert!(
        boot.starts_with(integration::BOOT_HEADER),
        "the kernel printed before its boot header: {stdout}\nstderr: {stderr}"
    );
    Run {
        transcript: Transcript {
            script,
            exit_code: out.status.code(),
            boot: boot.to_string(),
            console: body.lines().map(str::to_string).collect(),
        },
        body: body.to_string(),
    }
}

/// The same script through `kwasm shell` (the lines `xtask qemu --script` types).
fn hosted(kwasm: &Path, name: &str, dirs: &[&str]) -> (Option<i32>, String) {
    use std::io::Write;
    let text = std::fs::read_to_string(root().join(format!("integration/scripts/{name}.sh")))
        .expect("reading the script");
    let mut input = integration::script_lines(text.lines()).join("\n");
    input.push('\n');
    let mut cmd = Command::new(kwasm);
    // The kernel's boot: the packages of its initrd, checked against its built-in trust root.
    cmd.current_dir(root()).args([
        "shell",
        "--packages",
        "packages/out",
        "--trust",
        "packages/keys/development.pub",
    ]);
    for dir in dirs {
        cmd.args(["--dir", dir]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running kwasm shell");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())
        .expect("writing the script to kwasm");
    let out = child.wait_with_output().expect("waiting for kwasm");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn comparable(text: &str) -> Vec<String> {
    text.trim_end().lines().map(redact_line).collect()
}

/// Boots `name`, snapshots the kernel's transcript, checks kwasm prints the same; returns the
/// kernel's console lines (unredacted) for scenario-specific checks.
fn scenario(name: &str, dirs: &[&str], exit_code: i32) -> Vec<String> {
    let kwasm = prepare();
    let _serial = serial();
    let run = boot(name, dirs);
    let (hosted_code, hosted_text) = hosted(&kwasm, name, dirs);
    let console = run.transcript.console.clone();
    assert_eq!(
        run.transcript.exit_code,
        Some(exit_code),
        "{}",
        console.join("\n")
    );
    assert_eq!(hosted_code, Some(exit_code), "kwasm shell:\n{hosted_text}");
    assert_eq!(
        comparable(&run.body),
        comparable(&hosted_text),
        "kernel and kwasm shell transcripts differ"
    );
    insta::assert_yaml_snapshot!(name, run.transcript, {
        ".boot" => insta::dynamic_redaction(|value, _path| {
            let line = value.as_str().unwrap_or_default();
            assert!(is_boot_header(line), "unexpected boot header {line:?}");
            "[boot] sis-kernel: heap [MiB] MiB, boot [ms] ms"
        }),
        ".console[]" => insta::dynamic_redaction(|value, _path| {
            Content::from(redact_line(value.as_str().unwrap_or_default()))
        }),
    });
    console
}

/// The line right after the prompt that typed `command`.
fn output_of<'a>(console: &'a [String], command: &str) -> &'a [String] {
    let typed = format!("{PROMPT}{command}");
    let at = console
        .iter()
        .position(|l| *l == typed)
        .unwrap_or_else(|| panic!("{typed:?} not in {console:#?}"));
    let end = console[at + 1..]
        .iter()
        .position(|l| l.starts_with(PROMPT))
        .map_or(console.len(), |n| at + 1 + n);
    &console[at + 1..end]
}

/// The acceptance session (`cargo xtask qemu --dir target/fixtures::/data --script ...`): every
/// output appears, each failure is one line, the shell keeps going, the status is 3.
#[test]
fn wasm_session_reports_each_failure_on_one_line_and_exits_3() {
    let console = scenario("wasm", &["target/fixtures::/data"], 3);
    assert_eq!(
        output_of(&console, "wasm-run /data/hello.wasm"),
        ["Hello from kernel-wasm!"]
    );
    for failing in [
        "wasm-run /data/trap.wasm",
        "wasm-run --fuel 100000 /data/loop.wasm",
        "frobnicate --now",
    ] {
        let out = output_of(&console, failing);
        assert!(
            out.len() == 1 && out[0].starts_with("error: "),
            "{failing}: {out:?}"
        );
    }
    assert_eq!(
        output_of(&console, "echo the shell is still here"),
        ["the shell is still here"]
    );
    assert_eq!(console.last().map(String::as_str), Some("sis> exit 3"));
}

#[test]
fn files_from_the_host_are_listed_and_read() {
    let console = scenario("files", &["integration/data/files::/data"], 0);
    assert_eq!(
        output_of(&console, "cat /data/notes/todo.txt"),
        ["- boot on QEMU", "- run wasm"]
    );
    for failing in [
        "cat /data/missing.txt",
        "ls /data/missing",
        "cat /data/notes",
    ] {
        let out = output_of(&console, failing);
        assert!(out.len() == 1 && out[0].starts_with("error: "), "{out:?}");
    }
}

#[test]
fn agents_play_ping_pong() {
    let console = scenario("agents", &["target/fixtures/agents::/agents"], 0);
    let run = output_of(&console, "agent-run 100");
    for n in 1..=5 {
        assert!(run.contains(&format!("[agent 1] pong {n}")), "{run:?}");
    }
    assert!(
        run.last().is_some_and(|l| l.starts_with("agent-run: idle")),
        "{run:?}"
    );
}

/// The reference model (`../shared/llm/`, never committed) laid out as a default model for
/// boot: `target/llm-model/stories260K/{model.bin,tokenizer.bin}`, to be mounted at `/llm`.
fn reference_model_dir() -> &'static str {
    let dir = root().join("target/llm-model/stories260K");
    std::fs::create_dir_all(&dir).expect("creating target/llm-model");
    for (from, to) in [
        ("stories260K.bin", "model.bin"),
        ("tok512.bin", "tokenizer.bin"),
    ] {
        let source = root().join("../shared/llm").join(from);
        std::fs::copy(&source, dir.join(to)).unwrap_or_else(|e| {
            panic!("{}: {e} (the reference model is missing)", source.display())
        });
    }
    "target/llm-model::/llm"
}

/// The LLM in the kernel: the model found at boot, from the shell, from a guest and from an
/// agent; each completion is computed, the same in the kernel as in kwasm.
#[test]
fn llm_from_the_shell_a_guest_and_an_agent() {
    let console = scenario(
        "llm",
        &[
            reference_model_dir(),
            "target/fixtures/llm::/bin",
            "target/fixtures/agents::/agents",
        ],
        0,
    );
    assert_eq!(
        output_of(&console, "llm-info").first().map(String::as_str),
        Some("model=stories260K")
    );
    assert_eq!(
        output_of(&console, "llm-infer --max-tokens 30 Once upon a time"),
        [
            "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day,",
            "[5 prompt tokens, 30 generated, token limit]"
        ]
    );
    let refused = output_of(&console, "wasm-run /bin/complete.wasm -- Lily went");
    assert!(
        refused.len() == 1 && refused[0].contains("llm:infer"),
        "{refused:?}"
    );
    let story = output_of(
        &console,
        "wasm-run --caps llm:infer /bin/complete.wasm -- Lily went",
    );
    assert!(
        story
            .first()
            .is_some_and(|l| l.starts_with("Lily went") && l.len() > 40),
        "{story:?}"
    );
    let run = output_of(&console, "agent-run");
    assert!(
        run.first()
            .is_some_and(|l| l.starts_with("[agent 1] ") && l.len() > 40),
        "{run:?}"
    );
}

/// The tour of `cargo xtask demo` (which ends with Ctrl-D here, status 0).
#[test]
fn demo_tour() {
    let console = scenario(
        "tour",
        &["target/fixtures::/bin", "target/fixtures/agents::/agents"],
        0,
    );
    assert_eq!(
        output_of(&console, "wasm-run /bin/arith.wasm divmod 7 2"),
        ["3", "1"]
    );
    assert!(output_of(&console, "agent-list").len() >= 3, "{console:#?}");
}

#[test]
fn redactions_check_what_they_hide() {
    assert!(is_boot_header(
        "[boot] sis-kernel: heap 1020 MiB, boot 20 ms"
    ));
    assert!(!is_boot_header("[boot] sis-kernel: heap ? MiB, boot 20 ms"));
    assert!(!is_boot_header("[boot] sis-kernel: heap 1 MiB, boot 20 s"));
    assert_eq!(redact_line("time: 7636 us"), "time: [us] us");
    assert_eq!(redact_line("fuel: 100000"), "fuel: 100000");
    assert!(std::panic::catch_unwind(|| redact_line("time: soon")).is_err());
}

/// `cargo xtask demo` without a terminal on stdin: the tour, then `exit 0`, no hang.
#[test]
fn demo_without_a_terminal_ends_after_the_tour() {
    prepare();
    let _serial = serial();
    let out = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["xtask", "demo"])
        .stdin(Stdio::null())
        .output()
        .expect("running cargo xtask demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("[agent 1] pong 5"), "{text}");
    assert!(text.contains("sis> stats\nfuel: 99999\n"), "{text}");
    assert!(text.trim_end().ends_with("sis> exit 0"), "{text}");
}

/// `cargo xtask demo --script FILE` replaces the tour and exits with the script's status.
#[test]
fn demo_script_replaces_the_tour_and_sets_the_status() {
    prepare();
    let _serial = serial();
    let script = std::env::temp_dir().join(format!("sis-demo-{}.sh", std::process::id()));
    std::fs::write(&script, "wasm-run /bin/exit7.wasm\nexit 6\n").unwrap();
    let out = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["xtask", "demo", "--script"])
        .arg(&script)
        .stdin(Stdio::null())
        .output()
        .expect("running cargo xtask demo --script");
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(
        text.contains(
            "sis> wasm-run /bin/exit7.wasm\nexit7.wasm exited with status 7\nsis> exit 6"
        ),
        "{text}"
    );
    assert!(!text.contains("[agent 1] pong"), "the tour ran too: {text}");
}
