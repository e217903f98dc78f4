//! Every limit stops the instance that hits it with its own error, while the host and other
//! instances run on: after each stop a fresh instance of a well-behaved module runs normally.
//!
//! Not here: fd exhaustion (needs WASI `path_open`, with the WASI work), spawn bombs and mailbox
//! floods (with the agent host module, which enforces `spawn_limit` and `mailbox_depth`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::{CallOutcome, Error, InstanceConfig, LimitKind, Runtime, Value};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.wat", env!("CARGO_MANIFEST_DIR"));
    wat::parse_file(path).expect("fixture compiles")
}

fn config() -> InstanceConfig {
    InstanceConfig::new(platform_with_console(Arc::new(CaptureConsole::default())))
}

/// A well-behaved instance on the same runtime still works.
fn others_run_on(rt: &Runtime) {
    let module = rt.load(&fixture("arith"), Some("arith")).expect("loads");
    let mut inst = rt.instantiate(&module, config()).expect("instantiates");
    let sig = module
        .info()
        .export_signature("add")
        .expect("arith exports add");
    assert_eq!(sig.params.len(), 2);
    assert_eq!(
        inst.call_with_text("add", &["2", "3"]).expect("runs"),
        CallOutcome::Returned(vec![Value::I32(5)])
    );
}

fn limit_kind(err: &Error) -> Option<LimitKind> {
    match err {
        Error::LimitExceeded { kind, .. } => Some(*kind),
        _ => None,
    }
}

#[test]
fn memory_bomb_is_stopped_with_the_memory_limit() {
    let rt = Runtime::default();
    let module = rt
        .load(&fixture("memory_bomb"), Some("bomb"))
        .expect("loads");
    let mut cfg = config();
    cfg.max_memory = Some(16 * 65536);
    let mut inst = rt.instantiate(&module, cfg).expect("instantiates");
    let err = inst.call("grow", &[]).expect_err("stopped");
    assert_eq!(limit_kind(&err), Some(LimitKind::Memory), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("memory_limit (1048576)") && text.contains("1114112 bytes"),
        "{text}"
    );
    let stats = inst.stats();
    assert_eq!(stats.peak_memory_bytes, 16 * 65536);
    assert_eq!(stats.memory_bytes, 16 * 65536);
    others_run_on(&rt);
}

#[test]
fn initial_memory_over_the_limit_refuses_instantiation() {
    let rt = Runtime::default();
    let module = rt
        .load(&fixture("big_initial_memory"), Some("big"))
        .expect("loads");
    let mut cfg = config();
    cfg.max_memory = Some(65536);
    let err = rt.instantiate(&module, cfg).err().expect("refused");
    assert_eq!(limit_kind(&err), Some(LimitKind::Memory), "{err}");
    // Under a limit it fits, it runs and reports its memory.
    let mut cfg = config();
    cfg.max_memory = Some(64 * 65536);
    let mut inst = rt.instantiate(&module, cfg).expect("fits");
    assert_eq!(
        inst.call("ok", &[]).expect("runs"),
        CallOutcome::Returned(vec![Value::I32(1)])
    );
    assert_eq!(inst.stats().peak_memory_bytes, 64 * 65536);
    others_run_on(&rt);
}

#[test]
fn table_bomb_is_stopped_with_the_table_limit() {
    let rt = Runtime::default();
    let module = rt
        .load(&fixture("table_bomb"), Some("tables"))
        .expect("loads");
    let mut cfg = config();
    cfg.max_table_elements = Some(100);
    let mut inst = rt.instantiate(&module, cfg).expect("instantiates");
    let err = inst.call("grow", &[]).expect_err("stopped");
    assert_eq!(limit_kind(&err), Some(LimitKind::Table), "{err}");
    assert!(err.to_string().contains("table_limit (100)"), "{err}");
    assert_eq!(inst.stats().peak_table_elements, 91);
    others_run_on(&rt);
}

#[test]
fn infinite_loop_is_stopped_by_fuel() {
    let rt = Runtime::default();
    let module = rt.load(&fixture("loop"), Some("loop")).expect("loads");
    let mut cfg = config();
    cfg.fuel = Some(200_000);
    let mut inst = rt.instantiate(&module, cfg).expect("instantiates");
    let err = inst.run_start().expect_err("stopped");
    assert!(
        matches!(err, Error::OutOfFuel { limit: 200_000, .. }),
        "{err}"
    );
    assert!(inst.stats().fuel_consumed >= 190_000);
    others_run_on(&rt);
}

#[test]
fn busy_loop_is_stopped_by_the_time_limit() {
    let rt = Runtime::default();
    let module = rt.load(&fixture("busy"), Some("busy")).expect("loads");
    let mut cfg = config();
    cfg.time_limit_ms = Some(100);
    // Small slices: the time is checked between slices.
    cfg.slice_fuel = 10_000;
    let mut inst = rt.instantiate(&module, cfg).expect("instantiates");
    let started = Instant::now();
    let err = inst.call("spin", &[]).expect_err("stopped");
    let took = started.elapsed();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                kind: LimitKind::Time,
                limit: 100,
                ..
            }
        ),
        "{err}"
    );
    assert!(took >= Duration::from_millis(90), "stopped early: {took:?}");
    assert!(took < Duration::from_secs(10), "stopped late: {took:?}");
    others_run_on(&rt);
}

#[test]
fn credits_pace_an_instance_until_the_budget_is_spent() {
    let rt = Runtime::default();
    let module = rt.load(&fixture("count"), Some("count")).expect("loads");

    // Too few credits: stopped with the credit limit.
    let mut cfg = config();
    cfg.credits = Some(10);
    cfg.slice_fuel = 2_000;
    let mut inst = rt.instantiate(&module, cfg).expect("instantiates");
    let err = inst
        .call("count", &[Value::I32(1_000_000)])
        .expect_err("stopped");
    assert_eq!(limit_kind(&err), Some(LimitKind::Credits), "{err}");
    let stats = inst.stats();
    assert_eq!(stats.credits_spent, 10);
    assert!(stats.fuel_consumed <= 10 * 1000, "{stats:?}");
    assert_eq!(inst.credits_left(), Some(0));

    // Enough credits, a configurable credit size: runs to the end, spending no more than needed
    // (at most one slice's worth of credits beyond the fuel used).
    let mut cfg = config();
    cfg.credits = Some(1_000);
    cfg.fuel_per_credit = 500;
    cfg.slice_fuel = 5_000;
    let mut inst = rt.instantiate(&module, cfg).expect("instantiates");
    assert_eq!(
        inst.call("count", &[Value::I32(10_000)]).expect("runs"),
        CallOutcome::Returned(vec![Value::I32(42)])
    );
    let stats = inst.stats();
    assert!(
        stats.credits_spent * 500 >= stats.fuel_consumed,
        "{stats:?}"
    );
    assert!(
        stats.credits_spent * 500 <= stats.fuel_consumed + 5_000,
        "{stats:?}"
    );
    assert_eq!(inst.credits_left(), Some(1_000 - stats.credits_spent));

    // A scheduler tops an exhausted budget up: the next call runs.
    let mut cfg = config();
    cfg.credits = Some(1);
    let mut inst = rt.instantiate(&module, cfg).expect("instantiates");
    assert!(inst.call("count", &[Value::I32(100_000)]).is_err());
    inst.add_credits(1_000, 1000);
    assert_eq!(
        inst.call("count", &[Value::I32(100)])
            .expect("runs after top-up"),
        CallOutcome::Returned(vec![Value::I32(42)])
    );
    others_run_on(&rt);
}

#[test]
fn sleeping_past_the_time_limit_is_stopped_at_the_limit() {
    let rt = Runtime::default();
    let module = rt
        .load(&fixture("sleeper"), Some("sleeper"))
        .expect("loads");
    let mut cfg = config();
    cfg.time_limit_ms = Some(150);
    let mut inst = rt.instantiate(&module, cfg).expect("instantiates");
    let started = Instant::now();
    let err = inst.run_start().expect_err("stopped");
    let took = started.elapsed();
    assert_eq!(limit_kind(&err), Some(LimitKind::Time), "{err}");
    assert!(err.to_string().contains("slept past its 150 ms"), "{err}");
    // It waited until the limit, not the 60 s it asked for.
    assert!(
        took >= Duration::from_millis(140),
        "stopped early: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "stopped late: {took:?}");
    others_run_on(&rt);
}
