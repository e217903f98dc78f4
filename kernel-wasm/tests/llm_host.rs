//! The `llm` host module from a guest's side (`tests/fixtures/llm/*.wat`), run outside the agent
//! scheduler (`Instance::call`, i.e. `Execution::run_to_end`, what `wasm-run` and `kwasm run`
//! use): the completion equals the C reference, greedy output is deterministic, the short-buffer
//! protocol, error codes for hostile arguments, the capability pre-flight, credits per token, and
//! Ctrl-C and time limits stopping an inference between two tokens.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::{llm_direct, llm_service};
use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::llm::abi::{ERR_BAD_POINTER, ERR_NO_MODEL, ERR_TOO_LARGE};
use kernel_wasm::llm::{LlmLimits, LlmService};
use kernel_wasm::{
    CallOutcome, CapSet, Clock, Console, Error, Instance, InstanceConfig, LimitKind, Platform,
    Runtime, Stream, Value,
};

/// The C reference's greedy text for "Once upon a time" over 128 positions (see
/// `../shared/llm/README.md`).
const REFERENCE: &str = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. She said, \"I want to play with your ball, but I can't find";
const PROMPT: &str = "Once upon a time";

fn fixture(name: &str) -> Vec<u8> {
    wat::parse_file(format!(
        "{}/tests/fixtures/llm/{name}.wat",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture compiles")
}

/// Limits under which a guest's completion of [`PROMPT`] is exactly the reference's: run.c's 128
/// positions count the prompt's tokens (BOS included) but the last position's output.
fn reference_limits() -> LlmLimits {
    let probe = llm_service(LlmLimits::default());
    let prompt_tokens = probe
        .tokenizer()
        .encode(PROMPT, true)
        .expect("encodes")
        .len();
    LlmLimits {
        max_tokens: 129 - prompt_tokens,
        ..LlmLimits::default()
    }
}

struct Guest {
    instance: Instance,
    console: Arc<CaptureConsole>,
}

fn guest_on(
    runtime: &Runtime,
    platform: Platform,
    console: Arc<CaptureConsole>,
    caps: &str,
    tune: impl FnOnce(&mut InstanceConfig),
) -> Result<Guest, Error> {
    let module = runtime.load(&fixture("calls"), Some("calls"))?;
    let mut config = InstanceConfig::new(platform);
    config.caps = CapSet::parse(caps)?;
    tune(&mut config);
    let instance = runtime.instantiate(&module, config)?;
    Ok(Guest { instance, console })
}

fn guest(service: Option<Arc<LlmService>>) -> Guest {
    let mut runtime = Runtime::default();
    runtime.set_llm(service);
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    guest_on(&runtime, platform, console, "llm:infer", |_| {}).expect("instantiates")
}

impl Guest {
    fn call(&mut self, name: &str, args: &[Value]) -> Result<i32, Error> {
        match self.instance.call(name, args)? {
            CallOutcome::Returned(values) => match values.as_slice() {
                [Value::I32(v)] => Ok(*v),
                other => panic!("{name} returned {other:?}"),
            },
            other => panic!("{name} ended with {other:?}"),
        }
    }

    fn i32(&mut self, name: &str, args: &[Value]) -> i32 {
        self.call(name, args).expect("call succeeds")
    }

    /// What the guest's output buffer holds: its first `len` bytes, printed by the guest.
    fn output(&mut self, len: i32) -> String {
        self.console.output.lock().unwrap().clear();
        assert_eq!(self.i32("print", &[Value::I32(len)]), 0);
        self.console.text()
    }
}

#[test]
fn a_guest_gets_the_c_reference_completion_and_greedy_is_deterministic() {
    let service = llm_service(reference_limits());
    let mut g = guest(Some(service.clone()));
    let n = g.i32("once", &[Value::I32(60000)]);
    assert!(n > 0, "{n}");
    let first = g.output(n);
    assert_eq!(format!("{PROMPT}{first}"), REFERENCE);
    // Again, in the same instance and in another: the same text.
    let n2 = g.i32("once", &[Value::I32(60000)]);
    assert_eq!(n2, n);
    assert_eq!(g.output(n2), first);
    let mut other = guest(Some(service.clone()));
    let n3 = other.i32("once", &[Value::I32(60000)]);
    assert_eq!(other.output(n3), first);
    // And what a session computes directly, with nothing of a guest in between.
    assert_eq!(llm_direct(&service, PROMPT), first);
    assert_eq!(service.sessions(), (0, 0), "no session left behind");
}

#[test]
fn the_completion_command_prints_prompt_and_completion() {
    let mut runtime = Runtime::default();
    runtime.set_llm(Some(llm_service(reference_limits())));
    let console = Arc::new(CaptureConsole::default());
    let module = runtime
        .load(&fixture("complete"), Some("complete"))
        .expect("loads");
    let mut config = InstanceConfig::new(platform_with_console(console.clone()));
    config.caps = CapSet::parse("llm:infer").unwrap();
    config.args = ["complete", "Once", "upon", "a", "time"]
        .map(String::from)
        .to_vec();
    let mut instance = runtime.instantiate(&module, config).expect("instantiates");
    assert_eq!(instance.run_start(), Ok(CallOutcome::Returned(vec![])));
    assert_eq!(console.text(), format!("{REFERENCE}\n"));

    // Without a model: `infer` answers ERR_NO_MODEL, which the command makes its status.
    let bare = Runtime::default();
    let module = bare.load(&fixture("complete"), Some("complete")).unwrap();
    let mut config = InstanceConfig::new(platform_with_console(console.clone()));
    config.caps = CapSet::parse("llm:infer").unwrap();
    let mut instance = bare.instantiate(&module, config).unwrap();
    assert_eq!(instance.run_start(), Ok(CallOutcome::Exited(-ERR_NO_MODEL)));
}

#[test]
fn a_short_buffer_gets_the_size_needed_nothing_written_and_the_retry_is_free() {
    let service = llm_service(LlmLimits {
        max_tokens: 40,
        ..LlmLimits::default()
    });
    let mut runtime = Runtime::default();
    runtime.set_llm(Some(service.clone()));
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    let mut g = guest_on(&runtime, platform, console, "llm:infer", |c| {
        c.credits = Some(1_000_000);
    })
    .unwrap();
    let needed = g.i32("once", &[Value::I32(8)]);
    assert!(needed > 8, "{needed}");
    assert_eq!(
        g.i32("untouched", &[]),
        1,
        "nothing written on a short buffer"
    );
    let spent = g.instance.stats().credits_spent;
    // Asking again with a buffer still too short: the same answer, and the completion is kept.
    assert_eq!(g.i32("once", &[Value::I32(8)]), needed);
    assert_eq!(g.i32("untouched", &[]), 1);
    // The retry with the size needed gets the kept completion: no new token is paid for.
    assert_eq!(g.i32("once", &[Value::I32(needed)]), needed);
    assert_eq!(g.i32("untouched", &[]), 0);
    let paid_for_retry = g.instance.stats().credits_spent - spent;
    assert!(
        paid_for_retry <= 2,
        "the retry paid {paid_for_retry} credits"
    );
    let text = g.output(needed);
    assert_eq!(text, llm_direct(&service, PROMPT));
    // Another prompt after a short buffer starts afresh (the kept completion is not its).
    let lily = g.i32("lily", &[Value::I32(4)]);
    assert!(lily > 4);
    let full = g.i32("lily", &[Value::I32(60000)]);
    assert_eq!(full, lily);
    assert_eq!(g.output(full), llm_direct(&service, "Lily went"));
}

#[test]
fn each_token_step_costs_credits() {
    let limits = LlmLimits {
        max_tokens: 20,
        credits_per_token: 1000,
        ..LlmLimits::default()
    };
    let service = llm_service(limits);
    let prompt_tokens = service.tokenizer().encode(PROMPT, true).unwrap().len() as u64;
    let mut runtime = Runtime::default();
    runtime.set_llm(Some(service.clone()));
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    let mut g = guest_on(&runtime, platform, console, "llm:infer", |c| {
        c.credits = Some(1_000_000);
        c.fuel_per_credit = 1_000_000;
    })
    .unwrap();
    let before = g.instance.stats().credits_spent;
    let n = g.i32("once", &[Value::I32(60000)]);
    assert!(n > 0);
    let spent = g.instance.stats().credits_spent - before;
    // One forward pass per prompt token but the last, one per generated token; fuel is a few
    // credits at most (a million fuel each).
    let steps = prompt_tokens - 1 + 20;
    assert!(
        (steps * 1000..steps * 1000 + 5).contains(&spent),
        "spent {spent} for {steps} steps"
    );

    // An instance whose credits cannot pay for the inference stops with the credits limit, and
    // the model is free afterwards.
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    let mut poor = guest_on(&runtime, platform, console, "llm:infer", |c| {
        c.credits = Some(5_010);
        c.fuel_per_credit = 1_000_000;
    })
    .unwrap();
    match poor.call("once", &[Value::I32(60000)]) {
        Err(Error::LimitExceeded {
            kind: LimitKind::Credits,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(service.sessions(), (0, 0));
    assert!(poor.instance.stats().credits_spent <= 5_010);
}

#[test]
fn without_the_capability_the_module_is_refused_at_instantiation() {
    let mut runtime = Runtime::default();
    runtime.set_llm(Some(llm_service(LlmLimits::default())));
    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    let err = guest_on(&runtime, platform, console, "llm:adapter", |_| {})
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        matches!(err, Error::MissingCapabilities { .. })
            && text.contains("llm:infer (imported by llm::infer, llm::info)"),
        "{text}"
    );
}

#[test]
fn without_a_model_every_call_answers_no_model() {
    let mut g = guest(None);
    assert_eq!(g.i32("once", &[Value::I32(100)]), ERR_NO_MODEL);
    assert_eq!(g.i32("info", &[Value::I32(100)]), ERR_NO_MODEL);
    assert_eq!(g.i32("untouched", &[]), 1);
}

#[test]
fn hostile_arguments_get_error_codes_and_never_a_write() {
    let service = llm_service(LlmLimits {
        max_tokens: 8,
        ..LlmLimits::default()
    });
    let mut g = guest(Some(service.clone()));
    assert_eq!(g.i32("prompt_out_of_bounds", &[]), ERR_BAD_POINTER);
    assert_eq!(g.i32("out_out_of_bounds", &[]), ERR_BAD_POINTER);
    assert_eq!(g.i32("prompt_not_utf8", &[]), ERR_BAD_POINTER);
    assert_eq!(g.i32("prompt_huge", &[]), ERR_TOO_LARGE);
    assert_eq!(g.i32("info_out_of_bounds", &[]), ERR_BAD_POINTER);
    assert_eq!(service.sessions(), (0, 0));
    // A prompt over the service's limit, and one whose tokens do not fit the context.
    let tiny = llm_service(LlmLimits {
        max_prompt_bytes: 8,
        ..LlmLimits::default()
    });
    let mut g = guest(Some(tiny));
    assert_eq!(g.i32("once", &[Value::I32(100)]), ERR_TOO_LARGE);
    // The empty prompt is a prompt: the text starts from BOS alone.
    let mut g = guest(Some(service.clone()));
    let n = g.i32("empty_prompt", &[Value::I32(60000)]);
    assert!(n > 0);
    assert_eq!(g.output(n), llm_direct(&service, ""));
}

#[test]
fn info_describes_the_model() {
    let mut g = guest(Some(llm_service(LlmLimits::default())));
    let expected = "model=stories260K\ndim=64\nhidden_dim=172\nn_layers=5\nn_heads=8\n\
                    n_kv_heads=4\nvocab_size=512\nseq_len=512\nmax_tokens=256\nadapters=0\n";
    let needed = g.i32("info", &[Value::I32(10)]);
    assert_eq!(needed as usize, expected.len());
    assert_eq!(g.i32("untouched", &[]), 1);
    let n = g.i32("info", &[Value::I32(needed)]);
    assert_eq!(n, needed);
    assert_eq!(g.output(n), expected);
}

/// A console whose user presses Ctrl-C at the `after`-th time the host looks.
#[derive(Default)]
struct CtrlCAfter {
    looks: AtomicU64,
    after: u64,
    out: Mutex<Vec<u8>>,
}

impl Console for CtrlCAfter {
    fn write(&self, _stream: Stream, bytes: &[u8]) {
        self.out.lock().unwrap().extend_from_slice(bytes);
    }
    fn read(&self, _buf: &mut [u8]) -> usize {
        0
    }
    fn take_interrupt(&self) -> bool {
        self.looks.fetch_add(1, Ordering::SeqCst) + 1 == self.after
    }
}

#[test]
fn ctrl_c_stops_an_inference_between_two_tokens_and_the_model_stays_usable() {
    let service = llm_service(LlmLimits::default());
    let mut runtime = Runtime::default();
    runtime.set_llm(Some(service.clone()));
    let console = Arc::new(CtrlCAfter {
        after: 30,
        ..CtrlCAfter::default()
    });
    let platform = platform_with_console(console.clone());
    let module = runtime.load(&fixture("calls"), Some("calls")).unwrap();
    let mut config = InstanceConfig::new(platform);
    config.caps = CapSet::parse("llm:infer").unwrap();
    config.credits = Some(1_000_000);
    config.fuel_per_credit = 1_000_000;
    let mut instance = runtime.instantiate(&module, config).unwrap();
    let result = instance.call("once", &[Value::I32(60000)]);
    assert!(
        matches!(result, Err(Error::Interrupted { .. })),
        "{result:?}"
    );
    // Stopped mid-way: some token steps were paid for, far from all 256.
    let spent = instance.stats().credits_spent;
    assert!((10..60).contains(&spent), "{spent} credits spent");
    assert_eq!(service.sessions(), (0, 0), "the session gave its slot back");
    // The next inference runs from the start and gets the full, exact text.
    let mut g = guest(Some(service.clone()));
    let n = g.i32("once", &[Value::I32(60000)]);
    assert_eq!(g.output(n), llm_direct(&service, PROMPT));
}

/// A clock that moves one millisecond forward each time it is read.
#[derive(Default)]
struct TickingClock(AtomicU64);

impl Clock for TickingClock {
    fn monotonic_ns(&self) -> u64 {
        self.0.fetch_add(1_000_000, Ordering::SeqCst)
    }
    fn realtime_ns(&self) -> u64 {
        self.monotonic_ns()
    }
    fn resolution_ns(&self) -> u64 {
        1
    }
}

#[test]
fn a_time_limit_stops_an_inference_between_two_tokens() {
    let service = llm_service(LlmLimits::default());
    let mut runtime = Runtime::default();
    runtime.set_llm(Some(service.clone()));
    let console = Arc::new(CaptureConsole::default());
    let mut platform = platform_with_console(console.clone());
    platform.clock = Arc::new(TickingClock::default());
    let mut g = guest_on(&runtime, platform, console, "llm:infer", |c| {
        c.time_limit_ms = Some(40);
        c.credits = Some(1_000_000);
        c.fuel_per_credit = 1_000_000;
    })
    .unwrap();
    match g.call("once", &[Value::I32(60000)]) {
        Err(Error::LimitExceeded {
            kind: LimitKind::Time,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let spent = g.instance.stats().credits_spent;
    assert!((10..60).contains(&spent), "{spent} credits spent");
    assert_eq!(service.sessions(), (0, 0));
}

/// `load_lora` resolves its path in the guest's own view: through its preopens, with
/// `file:read`, never outside them; a directory of the two PEFT files or an archive of them.
/// Adapters apply to inferences that start after they are loaded, and unloading restores the
/// base model's text exactly.
#[test]
fn load_lora_resolves_paths_in_the_guests_view_and_adapters_change_later_inferences() {
    use common::{lora_files, ustar};
    use kernel_wasm::llm::abi::{
        ERR_ADAPTER_LIMIT, ERR_BAD_ADAPTER, ERR_NOT_FOUND, ERR_NO_MODEL, ERR_NO_SUCH_ADAPTER, OK,
    };
    use kernel_wasm::vfs::{mkdir_all, write_file};
    use kernel_wasm::wasi::Preopen;

    let console = Arc::new(CaptureConsole::default());
    let platform = platform_with_console(console.clone());
    let vfs = platform.vfs.clone();
    let (config, weights) = lora_files(7, 0.5);
    write_file(&*vfs, "/srv/models/lora-a/adapter_config.json", &config).unwrap();
    write_file(
        &*vfs,
        "/srv/models/lora-a/adapter_model.safetensors",
        &weights,
    )
    .unwrap();
    let (config_b, weights_b) = lora_files(11, 0.5);
    let archive = ustar(&[
        ("adapter_config.json", &config_b),
        ("adapter_model.safetensors", &weights_b),
    ]);
    write_file(&*vfs, "/srv/models/lora.tar", &archive).unwrap();
    write_file(&*vfs, "/srv/models/file.txt", b"not an adapter").unwrap();
    mkdir_all(&*vfs, "/srv/models/empty").unwrap();
    write_file(&*vfs, "/srv/secret/lora/adapter_config.json", &config).unwrap();
    let models = mkdir_all(&*vfs, "/srv/models").unwrap();

    let make = |service: Option<Arc<LlmService>>, caps: &str, mount: &str| {
        let mut runtime = Runtime::default();
        runtime.set_llm(service);
        let module = runtime
            .load(&fixture("adapters"), Some("adapters"))
            .unwrap();
        let mut config = InstanceConfig::new(platform.clone());
        config.caps = CapSet::parse(caps).unwrap();
        config.preopens = vec![Preopen::new(mount, vfs.clone(), models)];
        let instance = runtime.instantiate(&module, config).unwrap();
        Guest {
            instance,
            console: console.clone(),
        }
    };
    let load =
        |g: &mut Guest, ptr: i32, len: i32| g.i32("load", &[Value::I32(ptr), Value::I32(len)]);
    let service = llm_service(LlmLimits {
        max_tokens: 30,
        max_adapters: 2,
        ..LlmLimits::default()
    });
    let base = llm_direct(&service, PROMPT);
    let mut g = make(Some(service.clone()), "llm:adapter,file:read", "/models");

    // Not there, not a directory or archive, outside every preopen, or escaping the preopen.
    assert_eq!(load(&mut g, 32, 15), ERR_NOT_FOUND);
    assert_eq!(load(&mut g, 96, 8), ERR_NOT_FOUND);
    assert_eq!(load(&mut g, 64, 22), ERR_NOT_FOUND);
    // Found but not an adapter: a directory without its files, files that are no archive.
    assert_eq!(load(&mut g, 160, 13), ERR_BAD_ADAPTER);
    assert_eq!(load(&mut g, 128, 16), ERR_BAD_ADAPTER);
    assert_eq!(load(&mut g, 256, 34), ERR_BAD_ADAPTER);
    // Hostile pointers and sizes.
    assert_eq!(load(&mut g, 224, 1), ERR_BAD_POINTER);
    assert_eq!(load(&mut g, 65530, 100), ERR_BAD_POINTER);
    assert_eq!(load(&mut g, 0, 5000), ERR_TOO_LARGE);
    assert_eq!(g.i32("unload", &[Value::I32(1)]), ERR_NO_SUCH_ADAPTER);
    assert_eq!(service.adapters(), vec![]);

    // A session that started before the load keeps the base model to its end.
    let mut early = service
        .begin(PROMPT, 30, Default::default())
        .expect("begins");
    assert!(early.acquire().unwrap());
    // The directory, by absolute and by relative path: two adapters, ids 1 and 2.
    assert_eq!(load(&mut g, 0, 14), 1);
    assert_eq!(load(&mut g, 192, 14), 2);
    assert_eq!(load(&mut g, 320, 16), ERR_ADAPTER_LIMIT);
    assert!(
        service
            .info_text()
            .ends_with("adapters=2\nadapter=1 lora-a\nadapter=2 lora-a\n"),
        "{}",
        service.info_text()
    );
    while early.stop_reason().is_none() {
        early.step().unwrap();
    }
    assert_eq!(early.text(), base);
    let both = llm_direct(&service, PROMPT);
    assert_ne!(both, base, "two adapters on o_proj change the greedy text");
    assert_eq!(g.i32("unload", &[Value::I32(2)]), OK);
    assert_eq!(g.i32("unload", &[Value::I32(2)]), ERR_NO_SUCH_ADAPTER);
    let one = llm_direct(&service, PROMPT);
    assert!(one != base && one != both, "{one}");
    // The archive: id 3 (ids are never reused).
    assert_eq!(load(&mut g, 320, 16), 3);
    assert!(service
        .info_text()
        .ends_with("adapters=2\nadapter=1 lora-a\nadapter=3 lora.tar\n"));
    assert_eq!(g.i32("unload", &[Value::I32(1)]), OK);
    assert_eq!(g.i32("unload", &[Value::I32(3)]), OK);
    // Unloaded: the base model's text, exactly.
    assert_eq!(llm_direct(&service, PROMPT), base);

    // Without file:read on that preopen the directory is not in the guest's view.
    let mut scoped = make(
        Some(service.clone()),
        "llm:adapter,file:read=/elsewhere",
        "/models",
    );
    assert_eq!(load(&mut scoped, 0, 14), ERR_NOT_FOUND);
    let mut unread = make(Some(service.clone()), "llm:adapter", "/models");
    assert_eq!(load(&mut unread, 0, 14), ERR_NOT_FOUND);
    // Without a model.
    let mut bare = make(None, "llm:adapter,file:read", "/models");
    assert_eq!(load(&mut bare, 0, 14), ERR_NO_MODEL);
    assert_eq!(bare.i32("unload", &[Value::I32(1)]), ERR_NO_MODEL);
    assert_eq!(service.sessions(), (0, 0));
}

#[test]
fn a_zero_adapter_changes_no_token() {
    let service = llm_service(LlmLimits {
        max_tokens: 40,
        ..LlmLimits::default()
    });
    let base = llm_direct(&service, PROMPT);
    let (config, weights) = common::lora_files(3, 0.0);
    let id = service.load_adapter("zero", &config, &weights).unwrap();
    assert_eq!(llm_direct(&service, PROMPT), base);
    service.unload_adapter(id).unwrap();
}

#[test]
fn an_infer_outside_the_scheduler_while_the_model_is_busy_answers_busy() {
    use kernel_wasm::llm::abi::ERR_BUSY;
    use kernel_wasm::llm::session::Sampling;
    let service = llm_service(LlmLimits {
        max_tokens: 8,
        max_sessions: 1,
        ..LlmLimits::default()
    });
    // Another user of the model holds its only session slot (an agent paused mid-inference).
    let mut holder = service.begin("Lily", 8, Sampling::default()).unwrap();
    assert_eq!(holder.acquire(), Ok(true));
    let mut g = guest(Some(service.clone()));
    // Nothing could free the slot while this caller waits: it is told at once.
    assert_eq!(g.i32("once", &[Value::I32(60000)]), ERR_BUSY);
    assert_eq!(g.i32("untouched", &[]), 1);
    drop(holder);
    let n = g.i32("once", &[Value::I32(60000)]);
    assert_eq!(g.output(n), llm_direct(&service, PROMPT));
}

#[test]
fn a_guest_without_memory_gets_bad_pointer_from_every_function() {
    use kernel_wasm::llm::abi::error_name;
    let mut runtime = Runtime::default();
    runtime.set_llm(Some(llm_service(LlmLimits::default())));
    let wat = r#"(module
      (import "llm" "infer" (func $infer (param i32 i32 i32 i32) (result i32)))
      (import "llm" "info" (func $info (param i32 i32) (result i32)))
      (import "llm" "load_lora" (func $load (param i32 i32) (result i32)))
      (func (export "infer") (result i32)
        (call $infer (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
      (func (export "info") (result i32) (call $info (i32.const 0) (i32.const 0)))
      (func (export "load") (result i32) (call $load (i32.const 0) (i32.const 1))))"#;
    let module = runtime
        .load(&wat::parse_str(wat).unwrap(), Some("memoryless"))
        .unwrap();
    let mut config =
        InstanceConfig::new(platform_with_console(Arc::new(CaptureConsole::default())));
    config.caps = CapSet::parse("llm:infer,llm:adapter").unwrap();
    let mut instance = runtime.instantiate(&module, config).unwrap();
    for f in ["infer", "info", "load"] {
        assert_eq!(
            instance.call(f, &[]),
            Ok(CallOutcome::Returned(vec![Value::I32(ERR_BAD_POINTER)])),
            "{f}"
        );
    }
    assert_eq!(error_name(ERR_BAD_POINTER), "bad pointer");
}
