//! The guest SDK templates of `guests/` (Rust, C, Go, AssemblyScript) through the built `kwasm`:
//! every `hello` with its manifest (arguments, environment, the file round trip in its preopen),
//! the 4 × 4 matrix of `ping` against `echo` through `kwasm shell`, and each SDK's error paths
//! (`sdk-check`: a too-small receive buffer retried, errors as values, a missing capability as
//! an error value).
//!
//! The modules are built by `cargo xtask guests` (which `cargo xtask ci` runs first) into
//! `target/guests/<lang>/`; when they are absent each test says so and skips, but under
//! `cargo xtask ci` (`KWASM_REQUIRE_GUESTS`) it fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const LANGS: [&str; 4] = ["rust", "c", "go", "assemblyscript"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn guests_dir() -> PathBuf {
    root().join("target/guests")
}

/// True when every module `names` of every language is built; otherwise says why (and fails
/// under `cargo xtask ci`, which builds them first: CI never passes by skipping).
fn built(names: &[&str]) -> bool {
    for lang in LANGS {
        for name in names {
            let path = guests_dir().join(lang).join(format!("{name}.wasm"));
            if path.is_file() {
                continue;
            }
            if std::env::var_os("KWASM_REQUIRE_GUESTS").is_some() {
                panic!("{} is not built (cargo xtask guests)", path.display());
            }
            println!(
                "SKIPPED: {} is not built; run `cargo xtask guests` first",
                path.display()
            );
            return false;
        }
    }
    true
}

/// The capabilities a shell spawn of `lang`'s agent needs besides the agent ones: Go's runtime
/// reads the environment and the clock before main (and seeds itself from random).
fn runtime_caps(lang: &str) -> &'static str {
    if lang == "go" {
        "env,clock,random,"
    } else {
        ""
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kwasm-guests-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch directory");
    dir
}

struct Output {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn kwasm(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kwasm"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting kwasm");
    let mut input = child.stdin.take().expect("piped stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).expect("writing to kwasm");
    }
    drop(input);
    let out = child.wait_with_output().expect("waiting for kwasm");
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

/// `kwasm run --manifest guests/LANG/examples/hello/manifest.toml --dir DATA::/data ...`
fn run_hello(lang: &str, data: &Path, extra: &[&str], args: &[&str]) -> Output {
    let manifest = root().join(format!("guests/{lang}/examples/hello/manifest.toml"));
    let module = guests_dir().join(lang).join("hello.wasm");
    let dir = format!("{}::/data", data.display());
    let mut argv = vec![
        "run",
        "--manifest",
        manifest.to_str().unwrap(),
        "--dir",
        &dir,
    ];
    argv.extend_from_slice(extra);
    argv.push(module.to_str().unwrap());
    argv.extend_from_slice(args);
    kwasm(&argv, None)
}

#[test]
fn every_hello_prints_args_env_and_reads_back_its_file() {
    if !built(&["hello"]) {
        return;
    }
    for lang in LANGS {
        let data = scratch(&format!("hello-{lang}"));
        let out = run_hello(
            lang,
            &data,
            &["--env", "GREETING=hi there"],
            &["one", "two words"],
        );
        assert_eq!(out.code, Some(0), "{lang}: {}", out.stderr);
        assert_eq!(
            out.stdout,
            format!(
                "hello from {lang}\narg 1: one\narg 2: two words\nGREETING=hi there\n\
                 wrote /data/hello-{lang}.txt ({} bytes)\nread back: written by {lang}\n",
                format!("written by {lang}\n").len()
            ),
            "{lang}"
        );
        assert_eq!(out.stderr, "", "{lang}");
        // The file is really in the host directory mounted at /data.
        assert_eq!(
            std::fs::read_to_string(data.join(format!("hello-{lang}.txt"))).unwrap(),
            format!("written by {lang}\n")
        );

        // Without --env the manifest's GREETING applies; no arguments, no `arg` lines.
        let out = run_hello(lang, &data, &[], &[]);
        assert_eq!(out.code, Some(0), "{lang}: {}", out.stderr);
        assert!(
            out.stdout.starts_with(&format!(
                "hello from {lang}\nGREETING=hello from the manifest\nwrote "
            )),
            "{lang}: {}",
            out.stdout
        );
        let _ = std::fs::remove_dir_all(&data);
    }
}

/// A missing file capability is an error value in every language's own library: hello reports
/// it and exits with 1; nothing traps and nothing is written.
#[test]
fn hello_without_file_create_reports_an_error() {
    if !built(&["hello"]) {
        return;
    }
    for lang in LANGS {
        let data = scratch(&format!("hello-nocap-{lang}"));
        let caps = format!("{}env,file:read=/data", runtime_caps(lang));
        let out = run_hello(lang, &data, &["--caps", &caps], &[]);
        assert_eq!(out.code, Some(1), "{lang}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr
                .starts_with(&format!("hello: cannot write /data/hello-{lang}.txt: ")),
            "{lang}: {}",
            out.stderr
        );
        assert!(!out.stdout.contains("wrote"), "{lang}: {}", out.stdout);
        assert!(!data.join(format!("hello-{lang}.txt")).exists(), "{lang}");
        let _ = std::fs::remove_dir_all(&data);
    }
}

/// Every ping (one per language) asks every echo (one per language): 16 round trips through
/// `kwasm shell`, each reply asserted. The echoes are agents 1-4, found by id; then each ping
/// also spawns an echo of the next language by its module path.
#[test]
fn ping_matrix_through_kwasm_shell() {
    if !built(&["echo", "ping"]) {
        return;
    }
    let mut script = String::new();
    let mut expected = String::new();
    let mut echo_ids = Vec::new();
    for (i, lang) in LANGS.iter().enumerate() {
        let id = i + 1;
        let caps = format!("{}agent:send,agent:receive", runtime_caps(lang));
        script.push_str(&format!("agent-spawn /agents/{lang}/echo.wasm {caps}\n"));
        expected.push_str(&format!(
            "sis> agent-spawn /agents/{lang}/echo.wasm {caps}\nspawned agent {id} (echo.wasm)\n"
        ));
        echo_ids.push(id.to_string());
    }
    // Pings get the Go runtime's capabilities too: they may spawn a Go echo, which gets at
    // most what its parent has.
    let ping_caps = "env,clock,random,agent:spawn,agent:send,agent:receive";
    let mut run_lines = Vec::new();
    let mut ping_ids = Vec::new();
    for (i, lang) in LANGS.iter().enumerate() {
        let ping = LANGS.len() + 1 + i;
        let spawned_lang = LANGS[(i + 1) % LANGS.len()];
        ping_ids.push((ping, *lang));
        script.push_str(&format!(
            "agent-spawn /agents/{lang}/ping.wasm {ping_caps}\n\
             agent-send {ping} {} /agents/{spawned_lang}/echo.wasm\n",
            echo_ids.join(" ")
        ));
        expected.push_str(&format!(
            "sis> agent-spawn /agents/{lang}/ping.wasm {ping_caps}\nspawned agent {ping} (ping.wasm)\n\
             sis> agent-send {ping} {} /agents/{spawned_lang}/echo.wasm\n",
            echo_ids.join(" ")
        ));
        let mut lines = Vec::new();
        for (j, echo_lang) in LANGS.iter().enumerate() {
            lines.push(format!(
                "{lang} ping: agent {} replied \"{echo_lang}: ping from {lang}\"",
                j + 1
            ));
        }
        // The echo it spawns gets the next free id when the ping runs; ids are given in spawn
        // order, which the scheduler's round-robin makes deterministic but not obvious: checked
        // by shape below.
        lines.push(format!(
            "{lang} ping: agent ? replied \"{spawned_lang}: ping from {lang}\""
        ));
        run_lines.push(lines);
    }
    script.push_str("agent-run\nagent-list\n");
    let agents = format!("{}::/agents", guests_dir().display());
    let out = kwasm(&["shell", "--dir", &agents], Some(&script));
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let text = out.stdout;
    assert!(text.starts_with(&expected), "{text}");
    let run = text[expected.len()..]
        .strip_prefix("sis> agent-run\n")
        .unwrap_or_else(|| panic!("{text}"));
    let (run, list) = run.split_once("sis> agent-list\n").expect("agent-list");

    // Each ping's lines, in its own order (ids of spawned echoes replaced by `?`).
    for (lines, (ping, lang)) in run_lines.iter().zip(&ping_ids) {
        let prefix = format!("{lang} ping: ");
        let got: Vec<String> = run
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .map(|l| {
                let words: Vec<&str> = l.splitn(5, ' ').collect();
                match words.as_slice() {
                    [a, b, "agent", id, rest] if id.parse::<usize>().is_ok_and(|n| n > 4) => {
                        format!("{a} {b} agent ? {rest}")
                    }
                    _ => l.to_string(),
                }
            })
            .collect();
        assert_eq!(&got, lines, "ping {ping} ({lang}):\n{run}");
        assert!(
            run.contains(&format!("agent {ping} (ping.wasm) exited with status 0\n")),
            "{run}"
        );
    }
    // Nothing else was printed but the ends of the four pings and the run's summary: the 4
    // echoes found and the 4 spawned stay blocked, waiting for more.
    let mut other: Vec<&str> = run
        .lines()
        .filter(|l| {
            !LANGS
                .iter()
                .any(|lang| l.starts_with(&format!("{lang} ping: ")))
        })
        .collect();
    let summary = other.pop().unwrap_or_default();
    assert!(
        summary.starts_with("agent-run: idle after ")
            && summary.ends_with(" slices (0 ready, 8 blocked, 4 done)"),
        "{summary}"
    );
    other.sort_unstable();
    let ended: Vec<String> = ping_ids
        .iter()
        .map(|(id, _)| format!("agent {id} (ping.wasm) exited with status 0"))
        .collect();
    assert_eq!(other, ended, "{run}");
    assert_eq!(
        list.lines().filter(|l| l.contains(" blocked ")).count(),
        8,
        "{list}"
    );
    assert_eq!(
        list.lines().filter(|l| l.ends_with(" status 0")).count(),
        4,
        "{list}"
    );
}

/// Each SDK's error paths (`guests/<lang>/sdk-check`): the same lines in every language.
#[test]
fn sdk_error_paths_are_values_in_every_language() {
    if !built(&["sdk-check", "echo"]) {
        return;
    }
    let agents = format!("{}::/agents", guests_dir().display());
    for lang in LANGS {
        let caps = format!("{}agent:spawn,agent:send,agent:receive", runtime_caps(lang));
        let script = format!(
            "agent-spawn /agents/{lang}/sdk-check.wasm {caps}\n\
             agent-send 1 /agents/c/echo.wasm\nagent-run\n"
        );
        let out = kwasm(&["shell", "--dir", &agents], Some(&script));
        assert_eq!(out.code, Some(0), "{lang}: {}{}", out.stdout, out.stderr);
        let head = format!(
            "sis> agent-spawn /agents/{lang}/sdk-check.wasm {caps}\nspawned agent 1 (sdk-check.wasm)\n\
             sis> agent-send 1 /agents/c/echo.wasm\nsis> agent-run\n"
        );
        let run = out
            .stdout
            .strip_prefix(&head)
            .unwrap_or_else(|| panic!("{lang}: {}", out.stdout));
        // The agent's own lines, then the host's: the spawn refused for the missing capability,
        // the log line and the end (their places among the agent's lines depend on buffering).
        let (host, agent): (Vec<&str>, Vec<&str>) = run
            .lines()
            .filter(|l| *l != "sis> ")
            .partition(|l| l.starts_with("agent") || l.starts_with("[agent"));
        // The number of slices is the scheduler's business.
        let host: Vec<String> = host
            .iter()
            .map(|l| match l.strip_prefix("agent-run: idle after ") {
                Some(rest) => format!(
                    "agent-run: idle after [N] {}",
                    rest.split_once(' ').map_or("", |(_, tail)| tail)
                ),
                None => l.to_string(),
            })
            .collect();
        assert_eq!(
            agent,
            [
                format!("{lang} sdk-check: agent 1").as_str(),
                "send to self: ok",
                "too small: ERR_BUFFER_TOO_SMALL (-5), needs 1000",
                "retry: 1000 bytes from agent 1, intact: true",
                "empty mailbox: ERR_NO_MESSAGE (-3)",
                "timeout: ERR_TIMEOUT (-4)",
                "no such agent: ERR_NO_SUCH_AGENT (-1)",
                "too large: ERR_TOO_LARGE (-9)",
                "bad config: ERR_BAD_CONFIG (-11)",
                "missing capability: ERR_SPAWN_FAILED (-10)",
                "log: ok",
            ],
            "{lang}:\n{run}"
        );
        assert_eq!(
            host,
            [
                "agent 1: spawn /agents/c/echo.wasm failed: module echo.wasm needs capabilities \
                 that are not granted: agent:send (imported by agent::send_message)",
                "[agent 1 info] sdk-check logs through the host",
                "agent 1 (sdk-check.wasm) exited with status 0",
                "agent-run: idle after [N] slices (0 ready, 0 blocked, 1 done)",
            ]
            .map(|l| l.to_string())
            .as_slice(),
            "{lang}:\n{run}"
        );
    }
}

/// The templates as signed packages (`cargo xtask packages`, installed as the kernel installs them
/// at boot): spawned by package name, each agent gets its manifest's capabilities (the Go ones
/// their runtime's `env`, `clock`, `random`), and the 4 × 4 matrix runs again, the shell telling
/// each ping the ids of the echoes.
#[test]
fn packaged_templates_spawn_by_name_with_their_manifests() {
    let out_dir = root().join("packages/out");
    let missing: Vec<String> = LANGS
        .iter()
        .flat_map(|lang| ["hello", "echo", "ping"].map(|ex| format!("{ex}-{lang}.wap")))
        .filter(|wap| !out_dir.join(wap).is_file())
        .collect();
    if !missing.is_empty() {
        if std::env::var_os("KWASM_REQUIRE_GUESTS").is_some() {
            panic!("not built (cargo xtask packages): {missing:?}");
        }
        println!("SKIPPED: run `cargo xtask packages` first ({missing:?} missing)");
        return;
    }
    let mut script = String::new();
    for lang in LANGS {
        script.push_str(&format!("agent-spawn echo-{lang}\n"));
    }
    for (i, lang) in LANGS.iter().enumerate() {
        script.push_str(&format!(
            "agent-spawn ping-{lang}\nagent-send {} 1 2 3 4\n",
            LANGS.len() + 1 + i
        ));
    }
    script.push_str("agent-run\n");
    let trust = root().join("packages/keys/development.pub");
    let out = kwasm(
        &[
            "shell",
            "--packages",
            out_dir.to_str().unwrap(),
            "--trust",
            trust.to_str().unwrap(),
        ],
        Some(&script),
    );
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let text = out.stdout;
    for (i, lang) in LANGS.iter().enumerate() {
        assert!(
            text.contains(&format!("spawned agent {} (echo-{lang})\n", i + 1)),
            "{text}"
        );
        let ping = LANGS.len() + 1 + i;
        let prefix = format!("{lang} ping: ");
        let got: Vec<&str> = text.lines().filter(|l| l.starts_with(&prefix)).collect();
        let want: Vec<String> = LANGS
            .iter()
            .enumerate()
            .map(|(j, echo)| {
                format!(
                    "{lang} ping: agent {} replied \"{echo}: ping from {lang}\"",
                    j + 1
                )
            })
            .collect();
        assert_eq!(got, want, "{text}");
        assert!(
            text.contains(&format!(
                "agent {ping} (ping-{lang}) exited with status 0\n"
            )),
            "{text}"
        );
    }
    assert!(
        text.contains(" slices (0 ready, 4 blocked, 4 done)\n"),
        "{text}"
    );
}

/// The project's model's greedy completion of "Once upon a time" (models/README.md's story
/// after its prompt): what every `llm-ask` prints, from the model kwasm has built in and from
/// the model package the shell installs.
const ONCE_COMPLETION: &str = ", there was a little boy named Joe. It was a windy day. Joe saw a tall tree at the farm. At the top of the tree, there was a blue teddy. Amy wanted the teddy, but the tree was too high. He felt worried. Then a frog came. \"I can help you,\" said the frog. The frog climbed up the tree and got the box for Zoe. \"Thank you!\" said Amy. She was very glad, and she gave the frog a big hug.";

/// `kwasm run --manifest guests/LANG/examples/llm-ask/manifest.toml llm-ask.wasm ARGS...`: the
/// built-in model (the project's own) completes the arguments, greedily, the same every time.
#[test]
fn every_llm_ask_prints_the_models_greedy_completion() {
    if !built(&["llm-ask"]) {
        return;
    }
    for lang in LANGS {
        let manifest = root().join(format!("guests/{lang}/examples/llm-ask/manifest.toml"));
        let module = guests_dir().join(lang).join("llm-ask.wasm");
        let run = || {
            kwasm(
                &[
                    "run",
                    "--manifest",
                    manifest.to_str().unwrap(),
                    module.to_str().unwrap(),
                    "Once",
                    "upon",
                    "a",
                    "time",
                ],
                None,
            )
        };
        let out = run();
        assert_eq!(out.code, Some(0), "{lang}: {}", out.stderr);
        assert_eq!(out.stdout, format!("{ONCE_COMPLETION}\n"), "{lang}");
        assert_eq!(run().stdout, out.stdout, "{lang}: greedy is deterministic");
    }
}

/// Without `llm:infer` an `llm-ask` is refused before it runs (the pre-flight), naming the
/// capability; Go's still gets what its runtime needs.
#[test]
fn llm_ask_without_llm_infer_is_refused() {
    if !built(&["llm-ask"]) {
        return;
    }
    for lang in LANGS {
        let module = guests_dir().join(lang).join("llm-ask.wasm");
        let caps = runtime_caps(lang).trim_end_matches(',');
        let out = kwasm(
            &["run", "--caps", caps, module.to_str().unwrap(), "Once"],
            None,
        );
        assert_eq!(out.code, Some(1), "{lang}: {}{}", out.stdout, out.stderr);
        assert!(out.stdout.is_empty(), "{lang}: {}", out.stdout);
        assert!(
            out.stderr.starts_with(
                "kwasm: module llm-ask.wasm needs capabilities that are not granted: llm:infer (imported by llm::"
            ),
            "{lang}: {}",
            out.stderr
        );
    }
}

/// The `llm-ask` packages and the model package, installed as the kernel installs them at boot:
/// the shell's default model is the package's, each `llm-ask` runs by package name with its
/// manifest's capabilities and prints the same completion, narrowed to lack `llm:infer` it is
/// refused, and the package's LoRA adapter changes the completion until it is unloaded.
#[test]
fn packaged_llm_ask_runs_by_name_on_the_model_package() {
    let out_dir = root().join("packages/out");
    let missing: Vec<String> = LANGS
        .iter()
        .map(|lang| format!("llm-ask-{lang}.wap"))
        .chain(["tinystories.wap".to_string()])
        .filter(|wap| !out_dir.join(wap).is_file())
        .collect();
    if !missing.is_empty() {
        if std::env::var_os("KWASM_REQUIRE_GUESTS").is_some() {
            panic!("not built (cargo xtask packages): {missing:?}");
        }
        println!("SKIPPED: run `cargo xtask packages` first ({missing:?} missing)");
        return;
    }
    let mut script = String::from("llm-info\n");
    for lang in LANGS {
        script.push_str(&format!("wasm-run llm-ask-{lang} -- Once upon a time\n"));
    }
    script.push_str("wasm-run --caps env,clock,random llm-ask-go -- Once upon a time\n");
    // The model package's LoRA adapter changes the completion; unloaded, the model's own again.
    script.push_str(
        "llm-load-lora /pkg/tinystories/1/assets/rainy\n\
         wasm-run llm-ask-c -- Once upon a time\n\
         llm-unload-lora 1\n\
         wasm-run llm-ask-c -- Once upon a time\n",
    );
    let trust = root().join("packages/keys/development.pub");
    let out = kwasm(
        &[
            "shell",
            "--packages",
            out_dir.to_str().unwrap(),
            "--trust",
            trust.to_str().unwrap(),
        ],
        Some(&script),
    );
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let text = out.stdout;
    assert!(
        text.contains("[boot] pkg: tinystories 1.0.0 installed (key "),
        "{text}"
    );
    assert!(
        text.contains("sis> llm-info\nmodel=tinystories\ndim=64\n"),
        "{text}"
    );
    for lang in LANGS {
        assert!(
            text.contains(&format!(
                "sis> wasm-run llm-ask-{lang} -- Once upon a time\n{ONCE_COMPLETION}\nsis> "
            )),
            "{lang}: {text}"
        );
    }
    assert!(
        text.contains(
            "sis> wasm-run --caps env,clock,random llm-ask-go -- Once upon a time\n\
             error: module llm-ask-go needs capabilities that are not granted: llm:infer (imported by llm::"
        ),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "sis> llm-load-lora /pkg/tinystories/1/assets/rainy\nloaded adapter 1 (rainy)\n\
             sis> wasm-run llm-ask-c -- Once upon a time\n{RAINY_COMPLETION}\n\
             sis> llm-unload-lora 1\nunloaded adapter 1\n\
             sis> wasm-run llm-ask-c -- Once upon a time\n{ONCE_COMPLETION}\nsis> \n"
        )),
        "{text}"
    );
}

/// The completion of "Once upon a time" with the model package's adapter `rainy` loaded
/// (models/README.md).
const RAINY_COMPLETION: &str = ", there was a little boy named Joe. The sky was blue. Jack and Jack went to the forest. They wanted to dance. Suddenly, it started to rain. The rain was cold, and they got wet. \"Let's go home!\" said Lucy. They ran home as fast as they could. At home, her grandpa gave them warm milk and a carrot. They sat by the window and watched the rain. Lucy felt glad.";
