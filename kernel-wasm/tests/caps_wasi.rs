//! WASI functions guarded by a capability answer `ERRNO_NOTCAPABLE` (76) without it and write
//! nothing; with it they work. Modules importing them are never refused at instantiation.
//!
//! File capabilities (`file:read`/`file:write`/`file:create`, optionally scoped) are checked by
//! the WASI file functions through `CapSet::allows_path`; their end-to-end tests come with the WASI
//! file work, the scoping rules are unit-tested in `caps.rs`.

use std::sync::Arc;

use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::{CallOutcome, CapSet, Capability, Instance, InstanceConfig, Runtime, Value};

const NOTCAPABLE: i32 = 76;

fn instance(caps: CapSet) -> Instance {
    let rt = Runtime::default();
    let bytes = wat::parse_file(format!(
        "{}/tests/fixtures/wasi_env_clock_random.wat",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture compiles");
    let module = rt.load(&bytes, Some("wasi-caps")).expect("loads");
    let mut cfg = InstanceConfig::new(platform_with_console(Arc::new(CaptureConsole::default())));
    cfg.caps = caps;
    cfg.env = vec![("A".into(), "1".into()), ("B".into(), "2".into())];
    rt.instantiate(&module, cfg)
        .expect("WASI imports never refuse a module")
}

fn call(inst: &mut Instance, name: &str) -> Value {
    match inst.call(name, &[]).expect("runs") {
        CallOutcome::Returned(values) if values.len() == 1 => values[0],
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn env_clock_random_work_when_granted() {
    let mut inst = instance(CapSet::parse("env,clock,random").unwrap());
    assert_eq!(call(&mut inst, "env"), Value::I32(0));
    assert_eq!(call(&mut inst, "env_count"), Value::I32(2));
    assert_eq!(call(&mut inst, "clock"), Value::I32(0));
    assert!(matches!(call(&mut inst, "clock_value"), Value::I64(t) if t > 0));
    assert_eq!(call(&mut inst, "random"), Value::I32(0));
    // 16 random bytes all zero: 2^-128.
    assert_ne!(call(&mut inst, "random_or"), Value::I64(0));
}

#[test]
fn each_is_denied_without_its_capability_and_writes_nothing() {
    for (cap, func, output) in [
        (Capability::Env, "env", "env_count"),
        (Capability::Clock, "clock", "clock_value"),
        (Capability::Random, "random", "random_or"),
    ] {
        // Everything but `cap`: only that function is denied.
        let mut inst = instance(CapSet::all().without(cap));
        assert_eq!(call(&mut inst, func), Value::I32(NOTCAPABLE), "{cap}");
        let untouched = match call(&mut inst, output) {
            Value::I32(v) => i64::from(v),
            Value::I64(v) => v,
            other => panic!("{other:?}"),
        };
        assert_eq!(untouched, 0, "{cap}: {func} wrote its output");
    }
}
