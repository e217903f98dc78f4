//! The LLM from the shell, as `kwasm shell` and the kernel's UART show it: the `llm-*` commands,
//! a guest calling `llm.infer` through `wasm-run`, and an agent doing so under `agent-run`. The
//! transcript is snapshotted and must be identical across runs.

mod common;

use std::sync::Arc;

use common::llm_service;
use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::llm::LlmLimits;
use kernel_wasm::shell::PROMPT;
use kernel_wasm::{Console, Shell, ShellStatus, Stream};

const SCRIPT: &[&str] = &[
    "llm-info",
    "llm-infer --max-tokens 30 Once upon a time",
    "llm-infer --max-tokens 12 \"Lily and Tom\"",
    "llm-infer --max-tokens 0 Once",
    "wasm-run /llm/complete.wasm -- Once upon a time",
    "wasm-run --caps llm:infer /llm/complete.wasm -- The little dog",
    "agent-spawn /agents/storyteller.wasm agent:send,agent:receive,llm:infer",
    "agent-send 1 One day, a girl",
    "agent-run",
    "agent-list",
    "llm-load-lora /adapters/story",
    "llm-load-lora /adapters/story.tar",
    "llm-info",
    "llm-infer --max-tokens 20 Once upon a time",
    "llm-unload-lora 1",
    "llm-unload-lora 2",
    "llm-unload-lora 2",
    "llm-infer --max-tokens 20 Once upon a time",
    "llm-load-lora /adapters/missing",
    "llm-load-lora /adapters/broken",
];

fn transcript(shell: &mut Shell, console: &CaptureConsole, script: &[&str]) -> String {
    console.output.lock().unwrap().clear();
    for line in script {
        console.write(Stream::Stdout, format!("{PROMPT}{line}\n").as_bytes());
        assert_eq!(shell.execute(line), ShellStatus::Continue, "{line}");
    }
    console.text()
}

fn shell(with_model: bool) -> (Shell, Arc<CaptureConsole>) {
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    common::install_fixtures(&platform);
    let complete = wat::parse_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/llm/complete.wat"
    ))
    .expect("fixture compiles");
    kernel_wasm::vfs::write_file(&*platform.vfs, "/llm/complete.wasm", &complete).unwrap();
    let (config, weights) = common::lora_files(7, 0.2);
    let vfs = &*platform.vfs;
    kernel_wasm::vfs::write_file(vfs, "/adapters/story/adapter_config.json", &config).unwrap();
    kernel_wasm::vfs::write_file(vfs, "/adapters/story/adapter_model.safetensors", &weights)
        .unwrap();
    let archive = common::ustar(&[
        ("adapter_config.json", &config),
        ("adapter_model.safetensors", &weights),
    ]);
    kernel_wasm::vfs::write_file(vfs, "/adapters/story.tar", &archive).unwrap();
    kernel_wasm::vfs::write_file(vfs, "/adapters/broken/adapter_config.json", b"{\"r\": 2}")
        .unwrap();
    kernel_wasm::vfs::write_file(vfs, "/adapters/broken/adapter_model.safetensors", &weights)
        .unwrap();
    let mut shell = Shell::new(platform);
    if with_model {
        shell.set_llm(Some(llm_service(LlmLimits {
            max_tokens: 40,
            ..LlmLimits::default()
        })));
    }
    (shell, console)
}

#[test]
fn llm_session_transcript() {
    let (mut first_shell, console) = shell(true);
    let first = transcript(&mut first_shell, &console, SCRIPT);
    let (mut second_shell, console) = shell(true);
    let second = transcript(&mut second_shell, &console, SCRIPT);
    assert_eq!(first, second, "two runs of the same session differ");
    insta::assert_snapshot!(first);
}

#[test]
fn llm_commands_check_their_arguments_and_need_a_model() {
    let (mut shell, console) = shell(true);
    let mut out = |line: &str| transcript(&mut shell, &console, &[line]);
    assert_eq!(
        out("llm-infer"),
        "sis> llm-infer\nerror: llm-infer: usage: llm-infer [--max-tokens N] TEXT...\n"
    );
    assert_eq!(
        out("llm-infer --max-tokens many words"),
        "sis> llm-infer --max-tokens many words\nerror: --max-tokens: \"many\" is not a number of tokens\n"
    );
    assert_eq!(
        out("llm-infer --temperature 2 hi"),
        "sis> llm-infer --temperature 2 hi\nerror: llm-infer: usage: llm-infer [--max-tokens N] TEXT...\n"
    );
    assert_eq!(
        out("llm-info now"),
        "sis> llm-info now\nerror: llm-info: usage: llm-info\n"
    );
    assert_eq!(
        out("llm-load-lora"),
        "sis> llm-load-lora\nerror: llm-load-lora: usage: llm-load-lora PATH\n"
    );
    assert_eq!(
        out("llm-unload-lora x"),
        "sis> llm-unload-lora x\nerror: adapter id: \"x\" is not a number\n"
    );
    let long = format!("llm-infer {}", "a".repeat(3000));
    assert!(
        out(&long).ends_with("error: llm: the prompt has 3000 bytes, the limit is 2048\n"),
        "a prompt over the limit is refused before anything runs"
    );

    let (mut bare, console) = self::shell(false);
    let text = transcript(
        &mut bare,
        &console,
        &[
            "llm-info",
            "llm-infer hello",
            "wasm-run --caps llm:infer /llm/complete.wasm",
        ],
    );
    assert_eq!(
        text,
        "sis> llm-info\nerror: llm: no model loaded\n\
         sis> llm-infer hello\nerror: llm: no model loaded\n\
         sis> wasm-run --caps llm:infer /llm/complete.wasm\ncomplete.wasm exited with status 3\n"
    );
}

/// A console whose user presses Ctrl-C at the `after`-th time the shell looks.
struct CtrlCAfter {
    looks: std::sync::atomic::AtomicU64,
    after: u64,
    out: std::sync::Mutex<Vec<u8>>,
}

impl Console for CtrlCAfter {
    fn write(&self, _stream: Stream, bytes: &[u8]) {
        self.out.lock().unwrap().extend_from_slice(bytes);
    }
    fn read(&self, _buf: &mut [u8]) -> usize {
        0
    }
    fn take_interrupt(&self) -> bool {
        self.looks.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == self.after
    }
}

#[test]
fn ctrl_c_stops_llm_infer_between_two_tokens() {
    let console = Arc::new(CtrlCAfter {
        looks: Default::default(),
        after: 6,
        out: Default::default(),
    });
    let mut shell = Shell::new(platform_with_console(console.clone()));
    let service = llm_service(LlmLimits::default());
    shell.set_llm(Some(service.clone()));
    assert_eq!(
        shell.execute("llm-infer Once upon a time"),
        ShellStatus::Continue
    );
    let text = String::from_utf8(console.out.lock().unwrap().clone()).unwrap();
    // Five token steps ran (four prompt tokens after BOS, one generated), then the interrupt.
    assert_eq!(
        text,
        "Once upon a time,\nerror: llm-infer interrupted (Ctrl-C)\n"
    );
    assert_eq!(service.sessions(), (0, 0));
}
