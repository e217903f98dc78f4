//! Loading, hashing, calling, fuel and errors through the public API.

use std::sync::Arc;

use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::{CallOutcome, Error, InstanceConfig, Runtime, Value};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.wat", env!("CARGO_MANIFEST_DIR"));
    wat::parse_file(path).expect("fixture compiles")
}

fn config() -> (InstanceConfig, Arc<CaptureConsole>) {
    let console = Arc::new(CaptureConsole::default());
    (
        InstanceConfig::new(platform_with_console(console.clone())),
        console,
    )
}

#[test]
fn load_keeps_name_hash_and_exports() {
    let rt = Runtime::default();
    let bytes = fixture("hello");
    let module = rt.load(&bytes, Some("hello")).unwrap();
    assert_eq!(module.name(), "hello");
    assert_eq!(module.size(), bytes.len());
    assert_eq!(module.hash_hex(), kernel_wasm::module::sha256_hex(&bytes));
    assert_eq!(module.hash_hex().len(), 64);
    // The hash is of the bytes: a one-byte change changes it.
    let mut other = bytes.clone();
    let last = other.len() - 1;
    other[last] ^= 1;
    assert_ne!(kernel_wasm::module::sha256_hex(&other), module.hash_hex());
    let exports: Vec<&str> = module
        .info()
        .exports
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(exports, ["memory", "_start"]);
    assert_eq!(module.info().imports[0].name, "fd_write");
}

#[test]
fn sha256_matches_known_vector() {
    assert_eq!(
        kernel_wasm::module::sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn hostile_bytes_are_invalid_modules() {
    let rt = Runtime::default();
    for (bytes, needle) in [
        (&b""[..], "end-of-file"),
        (&b"\0asm"[..], "end"),
        (&b"\0asm\x01\0\0\0\x01\x05"[..], "end-of-file"),
        (&b"not wasm at all"[..], "magic"),
    ] {
        match rt.load(bytes, Some("m")) {
            Err(Error::InvalidModule { module, reason }) => {
                assert_eq!(module, "m");
                assert!(reason.contains(needle), "{reason}");
                assert!(!reason.contains('\n'));
            }
            other => panic!("expected InvalidModule, got {other:?}"),
        }
    }
}

/// `ModuleInfo` reads imports and exports without looking at the code; only validation, which
/// `load` always runs, refuses a module whose code is bad.
#[test]
fn bad_code_is_refused_by_load_though_its_interface_reads() {
    let good = wat::parse_str(
        r#"(module (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
             (func (export "f") (result i32) i32.const 7))"#,
    )
    .unwrap();
    // The body of `f` is `i32.const 7; end` (0x41 0x07 0x0b): make 0x41 an undefined opcode.
    let at = good
        .windows(3)
        .rposition(|w| w == [0x41, 0x07, 0x0b])
        .expect("the body of f");
    let mut bad = good.clone();
    bad[at] = 0xff;
    let info = kernel_wasm::ModuleInfo::read(&bad).unwrap();
    assert_eq!(info.imports[0].name, "sched_yield");
    assert_eq!(
        info.export_signature("f").unwrap().to_string(),
        "() -> (i32)"
    );
    let rt = Runtime::default();
    assert!(rt.load(&good, None).is_ok());
    match rt.load(&bad, Some("bad")) {
        Err(Error::InvalidModule { module, reason }) => {
            assert_eq!(module, "bad");
            assert!(reason.contains("opcode"), "{reason}");
        }
        other => panic!("expected InvalidModule, got {other:?}"),
    }
}

#[test]
fn unknown_import_named_at_load_time() {
    let rt = Runtime::default();
    let err = rt
        .load(&fixture("unknown_import"), Some("bad"))
        .unwrap_err();
    assert_eq!(
        err,
        Error::UnknownImport {
            module: "bad".into(),
            import_module: "env".into(),
            field: "does_not_exist".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "module bad imports unknown function env::does_not_exist: no host module provides it"
    );
    let memory_import = wat::parse_str(r#"(module (import "env" "memory" (memory 1)))"#).unwrap();
    assert!(matches!(
        rt.load(&memory_import, None),
        Err(Error::UnsupportedImport { .. })
    ));
}

#[test]
fn typed_calls_with_every_numeric_type_and_multi_value() {
    let rt = Runtime::default();
    let module = rt.load(&fixture("arith"), Some("arith")).unwrap();
    let (cfg, _) = config();
    let mut inst = rt.instantiate(&module, cfg).unwrap();
    assert_eq!(
        inst.call("add", &[Value::I32(2), Value::I32(3)]).unwrap(),
        CallOutcome::Returned(vec![Value::I32(5)])
    );
    assert_eq!(
        inst.call_with_text("divmod", &["-7", "2"]).unwrap(),
        CallOutcome::Returned(vec![Value::I32(-3), Value::I32(-1)])
    );
    assert_eq!(
        inst.call("mixed", &[Value::I64(21), Value::F32(1.5), Value::F64(2.0)])
            .unwrap(),
        CallOutcome::Returned(vec![Value::F64(2.5), Value::I64(42), Value::F32(1.5)])
    );
    assert!(matches!(
        inst.call("add", &[Value::I64(2), Value::I32(3)]),
        Err(Error::BadArgument { index: 0, .. })
    ));
    assert!(matches!(
        inst.call("add", &[]),
        Err(Error::WrongArgCount {
            expected: 2,
            given: 0,
            ..
        })
    ));
    assert!(matches!(
        inst.call("nope", &[]),
        Err(Error::NoSuchExport { .. })
    ));
    assert!(matches!(
        inst.call("g", &[]),
        Err(Error::NotAFunction { .. })
    ));
    assert!(matches!(
        inst.call_with_text("takes_ref", &["0"]),
        Err(Error::UnsupportedType { .. })
    ));
    let err = inst.call_with_text("div", &["1", "0"]).unwrap_err();
    assert_eq!(err.to_string(), "trap in div: integer division by zero");
    // A trap is contained: the instance still answers.
    assert_eq!(
        inst.call("add", &[Value::I32(1), Value::I32(1)]).unwrap(),
        CallOutcome::Returned(vec![Value::I32(2)])
    );
    assert!(inst.stats().fuel_consumed > 0);
}

#[test]
fn wasi_hello_prints_and_proc_exit_is_an_outcome() {
    let rt = Runtime::default();
    let (cfg, console) = config();
    let mut inst = rt
        .instantiate(&rt.load(&fixture("hello"), None).unwrap(), cfg)
        .unwrap();
    assert_eq!(inst.run_start().unwrap(), CallOutcome::Returned(vec![]));
    assert_eq!(console.text(), "Hello from kernel-wasm!\n");
    assert_eq!(inst.stats().host_calls, 1);

    let (cfg, _) = config();
    let mut inst = rt
        .instantiate(&rt.load(&fixture("exit7"), None).unwrap(), cfg)
        .unwrap();
    assert_eq!(inst.run_start().unwrap(), CallOutcome::Exited(7));
    assert!(matches!(inst.run_start(), Err(Error::State { .. })));
}

#[test]
fn fuel_limit_stops_an_infinite_loop_and_is_reported() {
    let rt = Runtime::default();
    let (mut cfg, _) = config();
    cfg.fuel = Some(100_000);
    cfg.slice_fuel = 7_000;
    let mut inst = rt
        .instantiate(&rt.load(&fixture("loop"), Some("loop")).unwrap(), cfg)
        .unwrap();
    let err = inst.run_start().unwrap_err();
    assert_eq!(
        err,
        Error::OutOfFuel {
            func: "_start".into(),
            limit: 100_000
        }
    );
    assert!(err.to_string().contains("fuel"));
    // All of it but the unit that could not pay for the loop's next round (wasmi charges a
    // block up front).
    assert_eq!(inst.stats().fuel_consumed, 99_999);
}

#[test]
fn infinite_recursion_is_a_trap_not_a_crash() {
    let rt = Runtime::default();
    let (cfg, _) = config();
    let mut inst = rt
        .instantiate(&rt.load(&fixture("recurse"), None).unwrap(), cfg)
        .unwrap();
    assert!(
        matches!(inst.run_start(), Err(Error::Trap { message, .. }) if message.contains("stack"))
    );
}

#[test]
fn time_limit_stops_a_busy_guest() {
    let rt = Runtime::default();
    let (mut cfg, _) = config();
    cfg.time_limit_ms = Some(50);
    cfg.slice_fuel = 10_000;
    let mut inst = rt
        .instantiate(&rt.load(&fixture("loop"), None).unwrap(), cfg)
        .unwrap();
    let err = inst.run_start().unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                kind: kernel_wasm::LimitKind::Time,
                limit: 50,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn memory_limit_stops_the_instance() {
    let rt = Runtime::default();
    let (mut cfg, _) = config();
    cfg.max_memory = Some(4 * 65536);
    let mut inst = rt
        .instantiate(&rt.load(&fixture("memory_bomb"), None).unwrap(), cfg)
        .unwrap();
    let err = inst.call("grow", &[]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                kind: kernel_wasm::LimitKind::Memory,
                limit: 262144,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(inst.stats().peak_memory_bytes, 4 * 65536);
}

/// The runtime's guest-memory budget bounds all its instances together: past it `memory.grow`
/// fails (-1) as on a host out of memory, and an instance's memory goes back when it is dropped.
#[test]
fn instances_share_the_runtimes_guest_memory() {
    let rt = Runtime::new(kernel_wasm::RuntimeConfig {
        guest_memory: Some(4 << 20),
        ..kernel_wasm::RuntimeConfig::default()
    });
    let bomb = rt.load(&fixture("memory_bomb"), Some("bomb")).unwrap();
    let (cfg, _) = config();
    let mut first = rt.instantiate(&bomb, cfg).unwrap();
    // 4 MiB are 64 pages of 64 KiB.
    assert_eq!(
        first.call("grow", &[]).unwrap(),
        CallOutcome::Returned(vec![Value::I32(64)])
    );
    assert_eq!(rt.guest_memory(), Some((4 << 20, 4 << 20)));
    // A second instance cannot even get its one initial page while the first holds everything.
    let (cfg, _) = config();
    match rt.instantiate(&bomb, cfg) {
        Err(Error::Instantiate { module, reason }) => {
            assert_eq!(module, "bomb");
            assert_eq!(
                reason,
                "its 65536 bytes of initial memory do not fit in the guest memory left: \
                 4194304 of 4194304 bytes are in use by other instances"
            );
        }
        Err(other) => panic!("expected Instantiate, got {other:?}"),
        Ok(_) => panic!("instantiated past the budget"),
    }
    drop(first);
    assert_eq!(rt.guest_memory(), Some((0, 4 << 20)));
    let (cfg, _) = config();
    let mut second = rt.instantiate(&bomb, cfg).unwrap();
    assert_eq!(
        second.call("grow", &[]).unwrap(),
        CallOutcome::Returned(vec![Value::I32(64)])
    );
}

/// A call that runs out of its slice's fuel while wasmi lazily translates a callee must be
/// preempted and resumed like any other (wasmi 2.0 cannot resume out-of-fuel inside lazy
/// translation, wasmi-labs/wasmi#2032: the runtime must never let translation take fuel). Real
/// programs hit this at random slice boundaries: Go's hello world stopped with "ran out of fuel"
/// under unlimited fuel.
#[test]
fn lazily_translating_a_callee_at_a_slice_boundary_is_not_an_error() {
    // A callee with a long body (translation cost grows with its size), called after enough work
    // to end a small slice right at the call.
    let body = "(local.set $x (i32.add (local.get $x) (i32.const 1)))".repeat(2000);
    let bytes = wat::parse_str(std::format!(
        r#"(module
             (func $big (param $x i32) (result i32) {body} (local.get $x))
             (func (export "run") (result i32)
               (local $i i32)
               (loop $l
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br_if $l (i32.lt_u (local.get $i) (i32.const 50))))
               (call $big (local.get $i))))"#
    ))
    .unwrap();
    let rt = Runtime::default();
    let module = rt.load(&bytes, Some("lazy")).unwrap();
    for slice in [1, 7, 100, 257, 1000, 5000] {
        let (mut cfg, _) = config();
        cfg.slice_fuel = slice;
        let mut inst = rt.instantiate(&module, cfg).unwrap();
        assert_eq!(
            inst.call("run", &[]).unwrap(),
            CallOutcome::Returned(vec![Value::I32(2050)]),
            "slice {slice}"
        );
    }
}
