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

/// What differs from run to run in a scenario besides the `stats` time: redacted, after its
/// shape is checked, in the snapshot and in the comparison with kwasm.
#[derive(Debug, Clone, Copy, Default)]
struct Varies {
    /// The slice count of `agent-run: idle after N slices (...)`. Go's runtime reads the clock,
    /// so the fuel a Go agent uses, and the slices the run takes, differ by a few from run to
    /// run (what the agents print, and in which order, does not).
    agent_slices: bool,
}

/// The `stats` time (`time: N us`, wall clock) becomes `time: [us] us`; a `time:` line of any
/// other shape fails the test instead of being hidden. With `varies.agent_slices`, the slice
/// count of `agent-run`'s summary becomes `[N]`.
fn redact_line(line: &str, varies: Varies) -> String {
    if let Some(rest) = line.strip_prefix("time: ") {
        let us = rest.strip_suffix(" us");
        assert!(
            us.is_some_and(is_number),
            "a stats time line of an unexpected shape: {line:?}"
        );
        return "time: [us] us".to_string();
    }
    if varies.agent_slices {
        if let Some(rest) = line.strip_prefix("agent-run: idle after ") {
            let (slices, tail) = rest
                .split_once(" slices (")
                .unwrap_or_else(|| panic!("an agent-run line of an unexpected shape: {line:?}"));
            assert!(
                is_number(slices),
                "an agent-run line of an unexpected shape: {line:?}"
            );
            return format!("agent-run: idle after [N] slices ({tail}");
        }
    }
    line.to_string()
}

/// A `pkg-list` row (`NAME VERSION KEY SIZE`, the key 16 hex digits) with its size replaced by
/// `[size]`: the modules of the guest templates are compiled by rustc, clang, Go and asc, whose
/// output changes with their versions and, for Rust, with the path of the checkout (symbol hashes
/// reorder functions), so a fresh machine would see other sizes. Both hosts still print the same
/// size: their transcripts are compared without this redaction.
fn redact_package_size(line: &str) -> Option<String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [_, _, key, size] = fields.as_slice() else {
        return None;
    };
    let is_key = key.len() == 16 && key.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_key || !is_number(size) {
        return None;
    }
    let kept = line.trim_end().strip_suffix(size)?;
    Some(format!("{kept}[size]"))
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

fn comparable(text: &str, varies: Varies) -> Vec<String> {
    text.trim_end()
        .lines()
        .map(|line| redact_line(line, varies))
        .collect()
}

/// Boots `name`, snapshots the kernel's transcript, checks kwasm prints the same; returns the
/// kernel's console lines (unredacted) for scenario-specific checks.
fn scenario(name: &str, dirs: &[&str], exit_code: i32) -> Vec<String> {
    scenario_varying(name, dirs, exit_code, Varies::default())
}

/// [`scenario`] with what `varies` names redacted.
fn scenario_varying(name: &str, dirs: &[&str], exit_code: i32, varies: Varies) -> Vec<String> {
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
        comparable(&run.body, varies),
        comparable(&hosted_text, varies),
        "kernel and kwasm shell transcripts differ"
    );
    insta::assert_yaml_snapshot!(name, run.transcript, {
        ".boot" => insta::dynamic_redaction(|value, _path| {
            let line = value.as_str().unwrap_or_default();
            assert!(is_boot_header(line), "unexpected boot header {line:?}");
            "[boot] sis-kernel: heap [MiB] MiB, boot [ms] ms"
        }),
        ".console[]" => insta::dynamic_redaction(move |value, _path| {
            let line = redact_line(value.as_str().unwrap_or_default(), varies);
            Content::from(redact_package_size(&line).unwrap_or(line))
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

/// The languages of the guest SDKs, in the order the scenarios use them.
const LANGS: [&str; 4] = ["rust", "c", "go", "assemblyscript"];

/// `target/e2e/packages/tampered.wap` (mounted at `/wap`): `cargo xtask packages`' hello.wap with
/// one byte of its module flipped, so its digest no longer matches the signed one. Rewritten on
/// every run from the built package, so both hosts see the same bytes.
fn tampered_package_dir() -> &'static str {
    prepare();
    let good = std::fs::read(root().join("packages/out/hello.wap")).expect("reading hello.wap");
    let module = good
        .windows(4)
        .position(|w| w == b"\0asm")
        .expect("hello.wap holds a module");
    let mut tampered = good;
    tampered[module + 40] ^= 0x01;
    let dir = root().join("target/e2e/packages");
    std::fs::create_dir_all(&dir).expect("creating target/e2e/packages");
    std::fs::write(dir.join("tampered.wap"), tampered).expect("writing tampered.wap");
    "target/e2e/packages::/wap"
}

/// The package verbs after the boot install: uninstall, a tampered package refused with its
/// reason (and nothing changed), the good one installed again and run by name.
#[test]
fn packages_are_listed_refused_installed_and_uninstalled() {
    let console = scenario("packages", &[tampered_package_dir()], 0);
    let key = "key 8be9222c0d745b35 development";
    let listed = |command: &str, at: usize| -> bool {
        // `pkg-list` prints a header, then one line per package; `at`: which pkg-list.
        let typed = format!("{PROMPT}{command}");
        let start = console
            .iter()
            .enumerate()
            .filter(|(_, l)| **l == typed)
            .nth(at)
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("no {typed:?} number {at}"));
        console[start + 1..]
            .iter()
            .take_while(|l| !l.starts_with(PROMPT))
            .any(|l| l.split_whitespace().next() == Some("hello"))
    };
    assert_eq!(
        console
            .iter()
            .filter(|l| l.starts_with("[boot] pkg: ") && l.ends_with(&format!("installed ({key})")))
            .count(),
        20,
        "{console:#?}"
    );
    assert!(listed("pkg-list", 0), "{console:#?}");
    assert_eq!(
        output_of(&console, "pkg-uninstall hello"),
        ["hello 1.0.0 uninstalled"]
    );
    assert!(!listed("pkg-list", 1), "{console:#?}");
    let refused = output_of(&console, "pkg-install /wap/tampered.wap");
    assert!(
        refused.len() == 1
            && refused[0].starts_with("error: package /wap/tampered.wap: module.wasm: SHA-256 "),
        "{refused:?}"
    );
    assert!(!listed("pkg-list", 2), "{console:#?}");
    assert_eq!(
        output_of(&console, "pkg-install /boot/packages/hello.wap"),
        [format!("hello 1.0.0 installed ({key})")]
    );
    assert!(listed("pkg-list", 3), "{console:#?}");
    assert_eq!(
        output_of(&console, "wasm-run hello"),
        ["Hello from kernel-wasm!"]
    );
}

/// Each language's ping against each language's echo, all spawned by package name: every reply
/// arrives and every ping exits with 0.
#[test]
fn agents_in_four_languages_talk_to_each_other() {
    let console = scenario_varying("languages", &[], 0, Varies { agent_slices: true });
    let run = output_of(&console, "agent-run");
    for (i, ping) in LANGS.iter().enumerate() {
        for (j, echo) in LANGS.iter().enumerate() {
            let reply = format!(
                "{ping} ping: agent {} replied \"{echo}: ping from {ping}\"",
                j + 1
            );
            assert!(run.contains(&reply), "missing {reply:?} in {run:#?}");
        }
        let exit = format!(
            "agent {} (ping-{ping}) exited with status 0",
            LANGS.len() + 1 + i
        );
        assert!(run.contains(&exit), "missing {exit:?} in {run:#?}");
    }
}

/// Each language's hello in the kernel's /data: its arguments, GREETING from its manifest, the
/// file it wrote and read back, and the same file read by the shell.
#[test]
fn wasi_programs_in_four_languages_write_files() {
    let console = scenario("hello", &["integration/data/files::/data"], 0);
    for lang in LANGS {
        let out = output_of(
            &console,
            &format!("wasm-run --dir /data hello-{lang} -- one two"),
        );
        let written = format!("written by {lang}");
        for line in [
            format!("hello from {lang}"),
            "arg 1: one".to_string(),
            "arg 2: two".to_string(),
            "GREETING=hello from the manifest".to_string(),
            format!("wrote /data/hello-{lang}.txt ({} bytes)", written.len() + 1),
            format!("read back: {written}"),
        ] {
            assert!(out.contains(&line), "{lang}: missing {line:?} in {out:#?}");
        }
        assert_eq!(
            output_of(&console, &format!("cat /data/hello-{lang}.txt")),
            [written]
        );
    }
}

/// Faulty agents end one by one with their reason while a healthy one lives on, and the shell
/// answers after each.
#[test]
fn faults_are_contained() {
    let console = scenario("faults", &["target/fixtures/agents::/agents"], 0);
    let ends = |command: &str, needle: &str| {
        // The `agent-run` right after `command`.
        let at = console
            .iter()
            .position(|l| *l == format!("{PROMPT}{command}"))
            .unwrap_or_else(|| panic!("{command:?} not in {console:#?}"));
        let run = output_of(&console[at + 1..], "agent-run");
        assert!(
            run.iter().any(|l| l.contains(needle)),
            "{command}: missing {needle:?} in {run:#?}"
        );
    };
    ends(
        "agent-spawn /agents/crash.wasm",
        "(crash.wasm) trapped: trap in _start: out-of-bounds memory access",
    );
    ends(
        "agent-spawn --fuel 100000 /agents/busy.wasm",
        "(busy.wasm) trapped: agent_run ran out of fuel: the limit of 100000 fuel units",
    );
    ends(
        "agent-spawn --max-memory 16777216 /agents/mem_hog.wasm",
        "(mem_hog.wasm) trapped: limit memory_limit (16777216) exceeded: mem_hog.wasm asked for 104857600 bytes",
    );
    ends(
        "agent-spawn /agents/flood.wasm",
        "(flood.wasm) exited with status 64",
    );
    ends(
        "agent-spawn /agents/bomb.wasm",
        "agent 69 (bomb.wasm) exited with status -8",
    );
    assert!(!console.iter().any(|l| l.contains("grew")), "{console:#?}");
    let last_run = console
        .iter()
        .rposition(|l| l == "sis> agent-run")
        .expect("an agent-run");
    assert_eq!(console[last_run + 1], "[agent 1] pong 2", "{console:#?}");
    assert_eq!(
        output_of(&console, "echo the kernel is still here"),
        ["the kernel is still here"]
    );
}

/// The LLM in the kernel (scenario 4): the model of the `tinystories` package installed at boot,
/// from the shell, from `llm-ask` guests run by package name (greedy, the model's exact text),
/// changed by the package's LoRA adapter and restored, refused to a guest without `llm:infer`,
/// and from an agent; the same in the kernel as in kwasm.
#[test]
fn llm_from_the_shell_a_guest_and_an_agent() {
    let console = scenario("llm", &["target/fixtures/agents::/agents"], 0);
    let info = output_of(&console, "llm-info");
    assert_eq!(
        info.first().map(String::as_str),
        Some("model=tinystories"),
        "{info:?}"
    );
    let once = ", there was a little boy named Joe. It was a windy day. Joe saw a tall tree at the farm. At the top of the tree, there was a blue teddy. Amy wanted the teddy, but the tree was too high. He felt worried. Then a frog came. \"I can help you,\" said the frog. The frog climbed up the tree and got the box for Zoe. \"Thank you!\" said Amy. She was very glad, and she gave the frog a big hug.";
    let rainy = ", there was a little boy named Joe. The sky was blue. Jack and Jack went to the forest. They wanted to dance. Suddenly, it started to rain. The rain was cold, and they got wet. \"Let's go home!\" said Lucy. They ran home as fast as they could. At home, her grandpa gave them warm milk and a carrot. They sat by the window and watched the rain. Lucy felt glad.";
    assert_eq!(
        output_of(&console, "wasm-run llm-ask-rust -- Once upon a time"),
        [once]
    );
    let refused = output_of(
        &console,
        "wasm-run --caps env,clock,random llm-ask-go -- Once upon a time",
    );
    assert_eq!(
        refused,
        ["error: module llm-ask-go needs capabilities that are not granted: llm:infer (imported by llm::infer)"]
    );
    assert_eq!(
        output_of(&console, "llm-load-lora /pkg/tinystories/1/assets/rainy"),
        ["loaded adapter 1 (rainy)"]
    );
    assert_eq!(
        output_of(&console, "wasm-run llm-ask-c -- Once upon a time"),
        [rainy]
    );
    assert_eq!(
        output_of(&console, "llm-unload-lora 1"),
        ["unloaded adapter 1"]
    );
    // Before the adapter and after it: the model's own first 20 tokens, both times.
    let infers: Vec<&[String]> = console
        .iter()
        .enumerate()
        .filter(|(_, l)| *l == "sis> llm-infer --max-tokens 20 Once upon a time")
        .map(|(i, _)| &console[i + 1..i + 3])
        .collect();
    assert_eq!(infers.len(), 2);
    assert_eq!(infers[0], infers[1]);
    assert!(
        infers[0][0].starts_with("Once upon a time, there was a little boy named Joe. It was"),
        "{infers:?}"
    );
    let run = output_of(&console, "agent-run");
    assert!(
        run.first()
            .is_some_and(|l| l.starts_with("[agent 1] ") && l.len() > 40),
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

/// The public stories260K in the kernel, mounted under /llm (overriding the model package): its
/// greedy text is the reference's (run.c's), as on the host.
#[test]
fn llm_reference_model_in_the_kernel() {
    let console = scenario("llm-reference", &[reference_model_dir()], 0);
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
}

/// The tour of `cargo xtask demo` (which ends with Ctrl-D here, status 0), with the directories
/// `xtask/src/demo.rs` mounts: the signed packages installed at boot, agents in four languages
/// talking, a WASI program's file, a guest's LLM completion, a fault contained.
#[test]
fn demo_tour() {
    let console = scenario_varying(
        "tour",
        &[
            "target/fixtures::/bin",
            "target/fixtures/agents::/agents",
            "integration/data/files::/data",
        ],
        0,
        Varies { agent_slices: true },
    );
    assert_eq!(output_of(&console, "pkg-list").len(), 21, "{console:#?}");
    let agents = &console[console
        .iter()
        .position(|l| l == "sis> agent-send 8 1")
        .expect("the agents' part")..];
    let talk = output_of(agents, "agent-run");
    for (ping, echo, id) in [
        ("rust", "c", 2),
        ("c", "go", 3),
        ("go", "assemblyscript", 4),
        ("assemblyscript", "rust", 1),
    ] {
        let reply = format!("{ping} ping: agent {id} replied \"{echo}: ping from {ping}\"");
        assert!(talk.contains(&reply), "missing {reply:?} in {talk:#?}");
    }
    assert_eq!(
        output_of(&console, "cat /data/hello-rust.txt"),
        ["written by rust"]
    );
    // llm-ask prints the completion only, after the prompt on the command line.
    let story = output_of(
        &console,
        "wasm-run llm-ask-rust -- One day, a girl named Amy",
    );
    assert!(story.len() == 1 && story[0].len() > 100, "{story:#?}");
    let fault = &console[console
        .iter()
        .position(|l| l.starts_with("sis> agent-spawn --max-memory"))
        .expect("the fault's part")..];
    assert!(
        output_of(fault, "agent-run")[0].contains("(mem_hog.wasm) trapped: limit memory_limit"),
        "{fault:#?}"
    );
    // The echo the fault did not touch still answers.
    assert_eq!(
        console.iter().rev().nth(2).map(String::as_str),
        Some("[agent 1] rust: still there?"),
        "{console:#?}"
    );
}

#[test]
fn redactions_check_what_they_hide() {
    assert!(is_boot_header(
        "[boot] sis-kernel: heap 1020 MiB, boot 20 ms"
    ));
    assert!(!is_boot_header("[boot] sis-kernel: heap ? MiB, boot 20 ms"));
    assert!(!is_boot_header("[boot] sis-kernel: heap 1 MiB, boot 20 s"));
    let fixed = Varies::default();
    assert_eq!(redact_line("time: 7636 us", fixed), "time: [us] us");
    assert_eq!(redact_line("fuel: 100000", fixed), "fuel: 100000");
    assert!(std::panic::catch_unwind(|| redact_line("time: soon", fixed)).is_err());
    let idle = "agent-run: idle after 2966 slices (0 ready, 4 blocked, 4 done)";
    assert_eq!(redact_line(idle, fixed), idle);
    let slices = Varies { agent_slices: true };
    assert_eq!(
        redact_line(idle, slices),
        "agent-run: idle after [N] slices (0 ready, 4 blocked, 4 done)"
    );
    assert!(std::panic::catch_unwind(|| {
        redact_line("agent-run: idle after many slices (0 ready)", slices)
    })
    .is_err());
    assert_eq!(
        redact_package_size("ping-c               0.1.0        8be9222c0d745b35      32967")
            .as_deref(),
        Some("ping-c               0.1.0        8be9222c0d745b35      [size]")
    );
    assert_eq!(
        redact_package_size("NAME                 VERSION      KEY                    SIZE"),
        None
    );
    assert_eq!(redact_package_size("a b 8be9222c0d745b3x 12"), None);
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
    assert!(
        text.contains("go ping: agent 4 replied \"assemblyscript: ping from go\"\n"),
        "{text}"
    );
    assert!(
        text.contains("sis> agent-run\n[agent 1] rust: still there?\n"),
        "{text}"
    );
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
    assert!(
        !text.contains("== Signed packages"),
        "the tour ran too: {text}"
    );
}
