//! Inputs the fuzz targets of `fuzz/` crashed on, each replayed against kernel-wasm as it is
//! built for real (`cargo xtask fuzz`: every crash becomes a test here, with its input).

use kernel_wasm::module::ExternKind;
use kernel_wasm::{CallOutcome, Error, InstanceConfig, Runtime, ValKind, Value};

/// The fuel the differential target gives each module.
const DIFFERENTIAL_FUEL: u64 = 1_000_000;

/// What each numeric export of `wasm` comes to when called once with zero arguments, in order.
fn call_every_export(wasm: &[u8], fuel: u64) -> Vec<(String, String)> {
    let runtime = Runtime::default();
    let module = runtime
        .load(wasm, Some("fuzz.wasm"))
        .expect("the module loads");
    let mut config = InstanceConfig::new(kernel_wasm::hosted::platform());
    config.fuel = Some(fuel);
    let mut instance = runtime.instantiate(&module, config).expect("instantiates");
    let mut outcomes = Vec::new();
    for export in &module.info().exports {
        let ExternKind::Func(sig) = &export.kind else {
            continue;
        };
        let args: Vec<Value> = sig
            .params
            .iter()
            .map(|kind| match kind {
                ValKind::I32 => Value::I32(0),
                ValKind::I64 => Value::I64(0),
                ValKind::F32 => Value::F32(0.0),
                _ => Value::F64(0.0),
            })
            .collect();
        let outcome = match instance.call(&export.name, &args) {
            Ok(CallOutcome::Returned(values)) => format!("returned {values:?}"),
            Ok(CallOutcome::Exited(code)) => format!("exited {code}"),
            Err(Error::OutOfFuel { .. }) => "out of fuel".to_string(),
            Err(Error::Trap { message, .. }) => format!("trap: {message}"),
            Err(other) => format!("error: {other}"),
        };
        outcomes.push((export.name.clone(), outcome));
    }
    outcomes
}

/// differential, 2026-12-05: a wasm-smith module whose export `\0\0j` recurses without end
/// (through a few copies per call). The fuzz build (AddressSanitizer, debug assertions) used
/// wasmi's tail-call dispatch, whose handler-to-handler calls LLVM could not turn into jumps
/// there: every executed instruction took a native stack frame and the fuzzer's own stack
/// overflowed long before the guest's call stack limit. The fuzz crate now selects wasmi's
/// portable dispatch (fuzz/Cargo.toml). Here, built as kernel-wasm is, the recursion ends at
/// the guest's call stack limit, a trap, with the host stack intact, and the instance stays
/// usable for the next export.
#[test]
fn differential_deep_recursion_traps_at_the_guest_stack_limit() {
    let wasm = include_bytes!("fixtures/fuzz/differential-deep-run.wasm");
    let outcomes = call_every_export(wasm, DIFFERENTIAL_FUEL);
    let expected = [
        ("\0\0j", "trap: call stack exhausted (infinite recursion?)"),
        ("", "trap: unreachable instruction executed"),
    ];
    let outcomes: Vec<(&str, &str)> = outcomes
        .iter()
        .map(|(name, outcome)| (name.as_str(), outcome.as_str()))
        .collect();
    assert_eq!(outcomes, expected);
}

/// The instantiation error of `wasm` (named `m.wasm`), as text.
fn instantiate_error(wasm: &[u8]) -> String {
    let runtime = Runtime::default();
    let module = runtime
        .load(wasm, Some("m.wasm"))
        .expect("the module loads");
    let config = InstanceConfig::new(kernel_wasm::hosted::platform());
    match runtime.instantiate(&module, config) {
        Ok(_) => "instantiated".to_string(),
        Err(e) => e.to_string(),
    }
}

/// differential, 2026-12-05: an active element segment that does not fit its table (here no
/// elements at offset 2^32 - 1 of an empty table) makes instantiation trap with an
/// out-of-bounds table access, as wasmtime says and the spec has it; kernel-wasm reported
/// wasmi's instantiation error, a debug dump of the table handle ("out of bounds table access:
/// Table(Stored { ... }) does not fit 0 elements starting from offset 4294967295"), which no
/// trap kind matched. Data segments already trapped as out-of-bounds memory accesses.
#[test]
fn segments_that_do_not_fit_trap_as_out_of_bounds_accesses() {
    let found = include_bytes!("fixtures/fuzz/differential-element-segment-out-of-bounds.wasm");
    assert_eq!(
        instantiate_error(found),
        "cannot instantiate m.wasm: out-of-bounds table access"
    );
    let cases = [
        (
            r#"(module (table 0 funcref) (elem (i32.const -1)))"#,
            "cannot instantiate m.wasm: out-of-bounds table access",
        ),
        (
            r#"(module (table 2 funcref) (func $f) (elem (i32.const 1) $f $f))"#,
            "cannot instantiate m.wasm: out-of-bounds table access",
        ),
        (
            r#"(module (table 2 funcref) (func $f) (elem (i32.const 0) $f $f))"#,
            "instantiated",
        ),
        (
            r#"(module (memory 1) (data (i32.const 65536) ""))"#,
            "instantiated",
        ),
        (
            r#"(module (memory 1) (data (i32.const 65537) ""))"#,
            "cannot instantiate m.wasm: out-of-bounds memory access",
        ),
        (
            r#"(module (memory 1) (data (i32.const 65535) "ab"))"#,
            "cannot instantiate m.wasm: out-of-bounds memory access",
        ),
    ];
    for (wat, expected) in cases {
        let wasm = wat::parse_str(wat).unwrap();
        assert_eq!(instantiate_error(&wasm), expected, "{wat}");
    }
}
