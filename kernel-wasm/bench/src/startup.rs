//! Group `startup`: load + instantiate of real toolchain output, a small C program (clang + wasi-libc)
//! and a Go program (Go's own `wasip1` port, ~2.5 MB), on kernel-wasm, raw wasmi and wasmtime. This is
//! where the "Go module start ≤ 30 ms" target is measured.
//!
//! xtask builds the modules into `<out>/wasm/hello_c.wasm` and `hello_go.wasm`; when a toolchain could
//! not be installed it writes `<name>.unavailable` with the reason instead, and the case is reported as
//! unavailable. Nothing is run after instantiation (`_start` is not called): raw wasmi and wasmtime get
//! trapping stubs for the WASI imports, kernel-wasm links its real WASI layer.

use anyhow::{Context, Result};

use crate::compute::wasmi_engine;
use crate::measure::{median_ms, wt};
use crate::{kw, Opts, Results};

/// `(case, file stem, description)`.
const CASES: &[(&str, &str, &str)] = &[
    (
        "c_hello",
        "hello_c",
        "C (clang, wasi-libc): printf/snprintf/qsort/malloc",
    ),
    ("go_hello", "hello_go", "Go (GOOS=wasip1, stdlib fmt/os)"),
];

fn wasmi_load_instantiate(bytes: &[u8]) -> Result<u32> {
    let engine = wasmi_engine();
    let module = wasmi::Module::new(&engine, bytes)?;
    let mut store = wasmi::Store::new(&engine, ());
    store.set_fuel(u64::MAX)?;
    let mut linker = wasmi::Linker::<()>::new(&engine);
    let mut defined = std::collections::HashSet::new();
    for import in module.imports() {
        // Go imports some WASI functions more than once; define each name once.
        if !defined.insert((import.module(), import.name())) {
            continue;
        }
        if let wasmi::ExternType::Func(ty) = import.ty() {
            linker.func_new(import.module(), import.name(), ty.clone(), |_, _, _| {
                Err(wasmi::Error::new("startup bench: stub import called"))
            })?;
        }
    }
    let instance = linker.instantiate_and_start(&mut store, &module)?;
    Ok(u32::from(instance.get_export(&store, "_start").is_some()))
}

fn wasmtime_load_instantiate(engine: &wasmtime::Engine, bytes: &[u8]) -> Result<u32> {
    let module = wasmtime::Module::new(engine, bytes).map_err(wt)?;
    let mut store = wasmtime::Store::new(engine, ());
    let mut linker = wasmtime::Linker::<()>::new(engine);
    linker
        .define_unknown_imports_as_traps(&module)
        .map_err(wt)?;
    let instance = linker.instantiate(&mut store, &module).map_err(wt)?;
    Ok(u32::from(
        instance.get_export(&mut store, "_start").is_some(),
    ))
}

pub fn run(opts: &Opts, results: &mut Results) -> Result<()> {
    results.note(
        "startup",
        "load (validate, compile or translate) + instantiate, `_start` not run; wasmtime's figure includes \
         Cranelift compilation of the whole module (no cache); wasmi translates lazily",
    );
    // One engine for all wasmtime runs, as an embedder would keep it.
    let engine = wasmtime::Engine::default();
    for &(case, stem, what) in CASES {
        let dir = opts.wasm_dir();
        let path = dir.join(format!("{stem}.wasm"));
        let unavailable = dir.join(format!("{stem}.unavailable"));
        if unavailable.exists() || !path.exists() {
            let reason = std::fs::read_to_string(&unavailable)
                .unwrap_or_else(|_| format!("{} was not built", path.display()));
            results.note("startup", format!("{case} unavailable: {}", reason.trim()));
            continue;
        }
        let bytes = std::fs::read(&path)?;
        results.note("startup", format!("{case}: {what}, {} bytes", bytes.len()));

        match kw::startup_available(&bytes) {
            Ok(()) => {
                let rt = kernel_wasm::Runtime::new(kernel_wasm::RuntimeConfig::default());
                let platform = kw::default_platform();
                let (ms, _) =
                    median_ms(opts.runs(), || kw::load_instantiate(&rt, &platform, &bytes))
                        .with_context(|| format!("startup/{case} on kernel-wasm"))?;
                eprintln!("  startup/{case:<9} kernel-wasm {ms:>9.3} ms");
                results.row("startup", case, "kernel-wasm", ms, "ms");
            }
            Err(reason) => results.note(
                "startup",
                format!("{case} on kernel-wasm unavailable: {reason}"),
            ),
        }
        let (ms, has_start) = median_ms(opts.runs(), || wasmi_load_instantiate(&bytes))
            .with_context(|| format!("startup/{case} on wasmi"))?;
        eprintln!("  startup/{case:<9} wasmi       {ms:>9.3} ms");
        results.row("startup", case, "wasmi", ms, "ms");
        anyhow::ensure!(has_start == 1, "{case} has no _start export");

        let runs = if case == "go_hello" {
            opts.runs().min(5)
        } else {
            opts.runs()
        };
        let (ms, _) = median_ms(runs, || wasmtime_load_instantiate(&engine, &bytes))
            .with_context(|| format!("startup/{case} on wasmtime"))?;
        eprintln!("  startup/{case:<9} wasmtime    {ms:>9.3} ms");
        results.row("startup", case, "wasmtime", ms, "ms");
    }
    Ok(())
}
