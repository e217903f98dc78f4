//! Differential execution: a wasm-smith module (features both engines implement, NaNs
//! canonicalized so float results are deterministic, memories and tables with a declared
//! maximum so no host limit decides a growth) is instantiated and its exported functions called,
//! with the same arguments, on kernel-wasm and on wasmtime (Cranelift). Whether the module is
//! valid, whether instantiation traps, each call's results (floats bit for bit) and each trap's
//! kind must agree.
//!
//! Where the engines legitimately differ the comparison stops: running out of fuel (they meter
//! differently), exhausting the call stack (they size it differently), and any limit of
//! kernel-wasm's own.

use arbitrary::Unstructured;
use kernel_wasm::module::ExternKind;
use kernel_wasm::{CallOutcome, Error, InstanceConfig, Runtime, ValKind, Value};

/// Fuel each engine gets for the whole module.
const FUEL: u64 = 1_000_000;

/// What a call or instantiation came to, in terms both engines share.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The results, floats as their bits.
    Returned(Vec<u64>),
    Trapped(TrapKind),
    /// Out of fuel, out of stack, or a limit: not comparable, the comparison stops.
    Resource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapKind {
    Unreachable,
    MemoryOutOfBounds,
    TableOutOfBounds,
    IndirectCallToNull,
    BadSignature,
    IntegerOverflow,
    IntegerDivisionByZero,
    BadConversionToInteger,
    Other,
}

/// The wasm-smith configuration: what kernel-wasm (wasmi 2) and wasmtime both run.
pub fn config() -> wasm_smith::Config {
    wasm_smith::Config {
        max_imports: 0,
        min_funcs: 1,
        max_funcs: 8,
        max_instructions: 200,
        export_everything: true,
        canonicalize_nans: true,
        max_memories: 1,
        memory_max_size_required: true,
        max_memory32_bytes: 1 << 20,
        max_tables: 2,
        table_max_size_required: true,
        max_table_elements: 1_000,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        memory64_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        custom_descriptors_enabled: false,
        ..wasm_smith::Config::default()
    }
}

fn bits(v: &Value) -> u64 {
    match *v {
        Value::I32(v) => u64::from(v as u32),
        Value::I64(v) => v as u64,
        Value::F32(v) => u64::from(v.to_bits()),
        Value::F64(v) => v.to_bits(),
    }
}

fn kernel_outcome(result: Result<CallOutcome, Error>) -> Outcome {
    match result {
        Ok(CallOutcome::Returned(values)) => Outcome::Returned(values.iter().map(bits).collect()),
        // No imports: nothing can exit.
        Ok(CallOutcome::Exited(code)) => panic!("a module without imports exited with {code}"),
        Err(
            Error::Trap { message, .. }
            | Error::Instantiate {
                reason: message, ..
            },
        ) => trap_kind(&message),
        Err(Error::OutOfFuel { .. } | Error::LimitExceeded { .. }) => Outcome::Resource,
        Err(other) => panic!("kernel-wasm failed outside a trap: {other}"),
    }
}

/// The kind of a kernel-wasm trap from its text (`execution::trap_message`).
fn trap_kind(message: &str) -> Outcome {
    match message {
        "unreachable instruction executed" => Outcome::Trapped(TrapKind::Unreachable),
        "out-of-bounds memory access" => Outcome::Trapped(TrapKind::MemoryOutOfBounds),
        "out-of-bounds table access" => Outcome::Trapped(TrapKind::TableOutOfBounds),
        "indirect call to a null table entry" => Outcome::Trapped(TrapKind::IndirectCallToNull),
        "indirect call type mismatch" => Outcome::Trapped(TrapKind::BadSignature),
        "integer overflow" => Outcome::Trapped(TrapKind::IntegerOverflow),
        "integer division by zero" => Outcome::Trapped(TrapKind::IntegerDivisionByZero),
        "invalid conversion to integer" => Outcome::Trapped(TrapKind::BadConversionToInteger),
        "call stack exhausted (infinite recursion?)" => Outcome::Resource,
        _ => Outcome::Trapped(TrapKind::Other),
    }
}

fn wasmtime_outcome(result: wasmtime::Result<Vec<u64>>) -> Outcome {
    match result {
        Ok(values) => Outcome::Returned(values),
        Err(e) => wasmtime_error(&e),
    }
}

fn wasmtime_error(e: &wasmtime::Error) -> Outcome {
    use wasmtime::Trap;
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel | Trap::StackOverflow) => Outcome::Resource,
        Some(Trap::UnreachableCodeReached) => Outcome::Trapped(TrapKind::Unreachable),
        Some(Trap::MemoryOutOfBounds) => Outcome::Trapped(TrapKind::MemoryOutOfBounds),
        Some(Trap::TableOutOfBounds) => Outcome::Trapped(TrapKind::TableOutOfBounds),
        Some(Trap::IndirectCallToNull) => Outcome::Trapped(TrapKind::IndirectCallToNull),
        Some(Trap::BadSignature) => Outcome::Trapped(TrapKind::BadSignature),
        Some(Trap::IntegerOverflow) => Outcome::Trapped(TrapKind::IntegerOverflow),
        Some(Trap::IntegerDivisionByZero) => Outcome::Trapped(TrapKind::IntegerDivisionByZero),
        Some(Trap::BadConversionToInteger) => Outcome::Trapped(TrapKind::BadConversionToInteger),
        Some(_) => Outcome::Trapped(TrapKind::Other),
        // A growth wasmtime's own resource limiter refused, and the like.
        None => Outcome::Resource,
    }
}

fn wasmtime_val(v: &Value) -> wasmtime::Val {
    match *v {
        Value::I32(v) => wasmtime::Val::I32(v),
        Value::I64(v) => wasmtime::Val::I64(v),
        Value::F32(v) => wasmtime::Val::F32(v.to_bits()),
        Value::F64(v) => wasmtime::Val::F64(v.to_bits()),
    }
}

fn wasmtime_bits(v: &wasmtime::Val) -> u64 {
    match *v {
        wasmtime::Val::I32(v) => u64::from(v as u32),
        wasmtime::Val::I64(v) => v as u64,
        wasmtime::Val::F32(v) => u64::from(v),
        wasmtime::Val::F64(v) => v,
        // Only numeric signatures are called.
        _ => u64::MAX,
    }
}

/// Arguments for `params` drawn from the input (zeros once it runs out).
fn args(u: &mut Unstructured<'_>, params: &[ValKind]) -> Vec<Value> {
    params
        .iter()
        .map(|kind| match kind {
            ValKind::I32 => Value::I32(u.arbitrary().unwrap_or(0)),
            ValKind::I64 => Value::I64(u.arbitrary().unwrap_or(0)),
            ValKind::F32 => Value::F32(f32::from_bits(u.arbitrary().unwrap_or(0))),
            _ => Value::F64(f64::from_bits(u.arbitrary().unwrap_or(0))),
        })
        .collect()
}

/// Builds a module from `data` and compares the two engines on it.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(module) = wasm_smith::Module::new(config(), &mut u) else {
        return;
    };
    let wasm = module.to_bytes();
    // Replaying a crash (`cargo fuzz run differential FILE`) with this set writes the generated
    // module out, to become a test of kernel-wasm's own.
    if let Some(path) = std::env::var_os("KW_FUZZ_DUMP_MODULE") {
        std::fs::write(path, &wasm).expect("writing KW_FUZZ_DUMP_MODULE");
    }
    compare(&wasm, &mut u);
}

/// Compares the engines on module `wasm`, calling each numeric export once with arguments from
/// `u`.
pub fn compare(wasm: &[u8], u: &mut Unstructured<'_>) {
    ENGINES.with(|(runtime, engine)| compare_on(runtime, engine, wasm, u));
}

thread_local! {
    /// Both engines, made once (each input gets fresh stores and instances).
    static ENGINES: (Runtime, wasmtime::Engine) = {
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        (Runtime::default(), wasmtime::Engine::new(&config).expect("wasmtime's engine"))
    };
}

fn compare_on(runtime: &Runtime, engine: &wasmtime::Engine, wasm: &[u8], u: &mut Unstructured<'_>) {
    let wt_module = wasmtime::Module::new(engine, wasm);
    let kw_module = runtime.load(wasm, Some("smith.wasm"));
    match (&kw_module, &wt_module) {
        (Ok(_), Ok(_)) => {}
        (Err(_), Err(_)) => return,
        // A proposal wasmtime is built without (its GC runtime: typed references the
        // generator emits even without GC types) is not a difference in semantics.
        (Ok(_), Err(e)) if format!("{e:#}").contains("are disallowed") => return,
        (Ok(_), Err(e)) => panic!("wasmtime refuses a module kernel-wasm accepts: {e:#}"),
        (Err(e), Ok(_)) => panic!("kernel-wasm refuses a module wasmtime accepts: {e}"),
    }
    let (Ok(kw_module), Ok(wt_module)) = (kw_module, wt_module) else {
        return;
    };

    let mut store = wasmtime::Store::new(engine, ());
    store.set_fuel(FUEL).expect("fuel is on");
    let wt_instance = wasmtime::Instance::new(&mut store, &wt_module, &[]);
    let mut config = InstanceConfig::new(crate::platform());
    config.fuel = Some(FUEL);
    let kw_instance = runtime.instantiate(&kw_module, config);
    let kw_start = match &kw_instance {
        Ok(_) => Outcome::Returned(Vec::new()),
        Err(e) => kernel_outcome(Err(e.clone())),
    };
    let wt_start = match &wt_instance {
        Ok(_) => Outcome::Returned(Vec::new()),
        Err(e) => wasmtime_error(e),
    };
    if kw_start == Outcome::Resource || wt_start == Outcome::Resource {
        return;
    }
    assert_eq!(kw_start, wt_start, "instantiation");
    let (Ok(mut kw), Ok(wt)) = (kw_instance, wt_instance) else {
        return;
    };

    let exports: Vec<(String, Vec<ValKind>, Vec<ValKind>)> = kw_module
        .info()
        .exports
        .iter()
        .filter_map(|e| match &e.kind {
            ExternKind::Func(sig) => {
                Some((e.name.clone(), sig.params.clone(), sig.results.clone()))
            }
            _ => None,
        })
        .filter(|(_, params, results)| {
            params
                .iter()
                .chain(results)
                .all(|k| matches!(k, ValKind::I32 | ValKind::I64 | ValKind::F32 | ValKind::F64))
        })
        .collect();
    for (name, params, results) in exports {
        let args = args(u, &params);
        let kw_out = kernel_outcome(kw.call(&name, &args));
        let func = wt
            .get_func(&mut store, &name)
            .expect("wasmtime has the same exports");
        let wt_args: Vec<wasmtime::Val> = args.iter().map(wasmtime_val).collect();
        let mut wt_results = vec![wasmtime::Val::I32(0); results.len()];
        let wt_out = wasmtime_outcome(
            func.call(&mut store, &wt_args, &mut wt_results)
                .map(|()| wt_results.iter().map(wasmtime_bits).collect()),
        );
        if kw_out == Outcome::Resource || wt_out == Outcome::Resource {
            return;
        }
        assert_eq!(kw_out, wt_out, "{name}{args:?}");
    }
}
