//! Module bytes → load → instantiate → every exported function called, with small limits: a
//! module is hostile input to the whole runtime (pre-flight, validation, translation, the
//! limiter, the fuel slice loop, every host function it imports).

use kernel_wasm::module::ExternKind;
use kernel_wasm::{CallOutcome, CapSet, Error, InstanceConfig, Runtime, RuntimeConfig, Value};

/// Fuel of one instance over its whole life (start function and every call).
pub const FUEL: u64 = 300_000;
/// Fuel per slice: small, so the slice loop and resumption run often.
pub const SLICE: u64 = 7_000;

/// The zero of each parameter (`None` when a parameter is not a number: such an export is
/// refused by `Instance::call` itself).
fn zero_args(params: &[kernel_wasm::ValKind]) -> Option<Vec<Value>> {
    params
        .iter()
        .map(|kind| match kind {
            kernel_wasm::ValKind::I32 => Some(Value::I32(0)),
            kernel_wasm::ValKind::I64 => Some(Value::I64(0)),
            kernel_wasm::ValKind::F32 => Some(Value::F32(0.0)),
            kernel_wasm::ValKind::F64 => Some(Value::F64(0.0)),
            _ => None,
        })
        .collect()
}

/// Loads, instantiates and runs `bytes`. Every outcome is fine but a panic, an allocation
/// beyond the limits, or a run beyond the fuel: the assertions check the limits held.
pub fn run(bytes: &[u8]) {
    let runtime = Runtime::new(RuntimeConfig {
        guest_memory: Some(64 << 20),
        ..RuntimeConfig::default()
    });
    let Ok(module) = runtime.load(bytes, Some("fuzz.wasm")) else {
        return;
    };
    let (platform, _console) = crate::platform_with(b"stdin of the fuzz guest\n");
    let mut config = InstanceConfig::new(platform);
    config.caps = CapSet::wasi_default();
    config.fuel = Some(FUEL);
    config.slice_fuel = SLICE;
    config.max_memory = Some(16 << 20);
    config.max_table_elements = Some(100_000);
    config.time_limit_ms = Some(200);
    config.fd_limit = Some(16);
    config.args = vec!["fuzz.wasm".into()];
    let Ok(mut instance) = runtime.instantiate(&module, config) else {
        return;
    };
    let exports: Vec<(String, Vec<kernel_wasm::ValKind>)> = module
        .info()
        .exports
        .iter()
        .filter_map(|e| match &e.kind {
            ExternKind::Func(sig) => Some((e.name.clone(), sig.params.clone())),
            _ => None,
        })
        .collect();
    for (name, params) in exports.iter().take(16) {
        let Some(args) = zero_args(params) else {
            continue;
        };
        match instance.call(name, &args) {
            Ok(CallOutcome::Exited(_)) => break,
            Ok(CallOutcome::Returned(_)) => {}
            Err(Error::OutOfFuel { .. }) => break,
            Err(_) => {}
        }
        let stats = instance.stats();
        assert!(
            stats.peak_memory_bytes <= 16 << 20,
            "memory grew past its limit: {stats:?}"
        );
        assert!(
            stats.peak_table_elements <= 100_000,
            "a table grew past its limit: {stats:?}"
        );
    }
    let used = runtime.guest_memory().map_or(0, |(used, _)| used);
    assert!(
        used <= 64 << 20,
        "the runtime's guest memory budget was overdrawn: {used}"
    );
}
