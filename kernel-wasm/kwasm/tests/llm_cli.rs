//! `kwasm run` and `kwasm shell` serving the `llm` host module: `--llm-model` and
//! `--llm-tokenizer`, the capability flag, and their errors. The reference model is read from the
//! repository's `../shared/llm/` (the tests fail when it is missing).

use std::io::Write;
use std::process::{Command, Output, Stdio};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/llm/");
const REFERENCE: &str = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. She said, \"I want to play with your ball, but I can't find";

/// The project's model's greedy story for "Once upon a time" (models/README.md).
const DEFAULT_STORY: &str = "Once upon a time, there was a little boy named Joe. It was a windy day. Joe saw a tall tree at the farm. At the top of the tree, there was a blue teddy. Amy wanted the teddy, but the tree was too high. He felt worried. Then a frog came. \"I can help you,\" said the frog. The frog climbed up the tree and got the box for Zoe. \"Thank you!\" said Amy. She was very glad, and she gave the frog a big hug.";

fn complete() -> String {
    format!(
        "{}/../tests/fixtures/llm/complete.wat",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn model_flags() -> Vec<String> {
    for file in ["stories260K.bin", "tok512.bin"] {
        assert!(
            std::path::Path::new(&format!("{SHARED}{file}")).is_file(),
            "{SHARED}{file} is missing"
        );
    }
    vec![
        "--llm-model".into(),
        format!("{SHARED}stories260K.bin"),
        "--llm-tokenizer".into(),
        format!("{SHARED}tok512.bin"),
    ]
}

fn kwasm(args: &[String], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kwasm"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kwasm runs");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("stdin written");
    }
    child.wait_with_output().expect("kwasm ends")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn run_serves_the_model_of_the_flags_to_a_guest() {
    let mut a = args(&["run", "--caps", "llm:infer"]);
    a.extend(model_flags());
    a.push(complete());
    a.extend(args(&["Once", "upon", "a", "time"]));
    let out = kwasm(&a, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // 256 tokens by default: the reference's 124 first, then more.
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(REFERENCE), "{stdout}");
    assert!(stdout.ends_with('\n'));
    // Greedy: the same again.
    assert_eq!(text(&kwasm(&a, "").stdout), stdout);
}

#[test]
fn run_without_the_capability_or_a_model_or_with_bad_files() {
    // Not granted: refused before it runs.
    let mut a = args(&["run", "--caps", ""]);
    a.extend(model_flags());
    a.push(complete());
    let out = kwasm(&a, "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "kwasm: module complete.wat needs capabilities that are not granted: llm:infer (imported by llm::infer)\n"
    );
    // Without the flags: the built-in model, the project's own (models/README.md's story).
    let out = kwasm(&args(&["run", "--caps", "llm:infer", &complete()]), "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{DEFAULT_STORY}\n"));
    // One flag without the other is a usage error.
    let out = kwasm(
        &args(&[
            "run",
            "--llm-model",
            &format!("{SHARED}stories260K.bin"),
            &complete(),
        ]),
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--llm-tokenizer"),
        "{}",
        text(&out.stderr)
    );
    // The tokenizer passed as the checkpoint: refused with both names, one line.
    let out = kwasm(
        &args(&[
            "run",
            "--caps",
            "llm:infer",
            "--llm-model",
            &format!("{SHARED}tok512.bin"),
            "--llm-tokenizer",
            &format!("{SHARED}tok512.bin"),
            &complete(),
        ]),
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("kwasm: llm: ") && err.contains("tok512.bin") && err.lines().count() == 1,
        "{err}"
    );
    // A missing file.
    let out = kwasm(
        &args(&[
            "run",
            "--llm-model",
            "/nonexistent/model.bin",
            "--llm-tokenizer",
            "/nonexistent/tok.bin",
            &complete(),
        ]),
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/nonexistent/model.bin"));
}

#[test]
fn the_shell_has_the_llm_commands_with_the_flags_model() {
    let mut a = args(&["shell"]);
    a.extend(model_flags());
    let out = kwasm(&a, "llm-info\nllm-infer --max-tokens 8 Once upon a time\n");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "sis> llm-info\nmodel=stories260K\ndim=64\nhidden_dim=172\nn_layers=5\nn_heads=8\n\
         n_kv_heads=4\nvocab_size=512\nseq_len=512\nmax_tokens=256\nadapters=0\n\
         sis> llm-infer --max-tokens 8 Once upon a time\n\
         Once upon a time, there was a little girl\n\
         [5 prompt tokens, 8 generated, token limit]\nsis> \n"
    );
    // Without flags and without a model in its file system: the built-in model.
    let out = kwasm(&args(&["shell"]), "llm-info\n");
    assert_eq!(
        text(&out.stdout),
        "sis> llm-info\nmodel=tinystories\ndim=64\nhidden_dim=172\nn_layers=4\nn_heads=4\n\
         n_kv_heads=4\nvocab_size=512\nseq_len=256\nmax_tokens=256\nadapters=0\nsis> \n"
    );
}

#[test]
fn the_shell_finds_the_default_model_in_its_file_system_as_the_kernel_does() {
    let dir = std::env::temp_dir().join(format!("kwasm-llm-{}", std::process::id()));
    let model = dir.join("stories260K");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::copy(format!("{SHARED}stories260K.bin"), model.join("model.bin")).unwrap();
    std::fs::copy(format!("{SHARED}tok512.bin"), model.join("tokenizer.bin")).unwrap();
    let spec = format!("{}::/llm", dir.display());
    let out = kwasm(&args(&["shell", "--dir", &spec]), "llm-info\n");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("sis> llm-info\nmodel=stories260K\ndim=64\n"),
        "{stdout}"
    );
}

#[test]
fn a_broken_default_model_is_reported_as_the_kernel_reports_it() {
    let dir = std::env::temp_dir().join(format!("kwasm-llm-broken-{}", std::process::id()));
    let model = dir.join("tiny");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::write(model.join("model.bin"), b"not a checkpoint").unwrap();
    std::fs::write(model.join("tokenizer.bin"), b"").unwrap();
    let spec = format!("{}::/llm", dir.display());
    let out = kwasm(&args(&["shell", "--dir", &spec]), "llm-info\n");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "[boot] llm: /llm/tiny/model.bin, /llm/tiny/tokenizer.bin: checkpoint truncated (no model loaded)\n\
         sis> llm-info\nerror: llm: no model loaded\nsis> \n"
    );
}
