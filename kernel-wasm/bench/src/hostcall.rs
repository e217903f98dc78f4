//! Group `hostcall`: the cost of one guest→host call. A WAT guest calls a trivial host function in a
//! loop (10 M times, 1 M with `--quick`); kernel-wasm's path (dispatch, call counting, checked guest
//! memory, capability check where the function has one) is compared with a bare wasmi `func_wrap`
//! doing the same work: the "host call ≤ 1.2× raw wasmi" target. wasmtime is shown for reference.
//!
//! The function is WASI `environ_sizes_get` with an empty environment (see [`crate::kw::HOSTCALL_IMPORT`]): every
//! runtime writes two zero `u32`s into linear memory, so only the layer around it differs. (A clock
//! read would be simpler to explain but costs ~100 ns on this VM and would hide the layer.)

use anyhow::{Context, Result};

use crate::compute::wasmi_engine;
use crate::measure::{interleaved, wt, Runner};
use crate::{kw, Opts, Results};

/// Where the guest asks the host to write the argument count and size.
const COUNT_PTR: u32 = 64;
const SIZE_PTR: u32 = 68;

/// Calls the imported `environ_sizes_get(COUNT_PTR, SIZE_PTR)` `n` times; returns `n` plus the sum of the
/// errnos (so `n` when every call succeeded).
pub fn guest_wat(module: &str, name: &str) -> String {
    format!(
        r#"(module
  (import "{module}" "{name}" (func $host (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (local.set $i (local.get $n))
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $i)))
        (local.set $acc (i32.add (local.get $acc)
          (call $host (i32.const {COUNT_PTR}) (i32.const {SIZE_PTR}))))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $again)))
    (i32.add (local.get $acc) (local.get $n)))
  (func (export "_start")))
"#
    )
}

/// The raw host function's work: `0` (empty environment) as `u32` at `count` and at `size`, or errno 21
/// (`fault`) when either is out of bounds.
fn write_sizes(mem: &mut [u8], count: u32, size: u32) -> i32 {
    for at in [count, size] {
        match mem.get_mut(at as usize..at as usize + 4) {
            Some(dst) => dst.copy_from_slice(&0u32.to_le_bytes()),
            None => return 21,
        }
    }
    0
}

pub fn run(opts: &Opts, results: &mut Results) -> Result<()> {
    let calls: u32 = if opts.quick { 1_000_000 } else { 10_000_000 };
    let runs = if opts.quick { 3 } else { 5 };
    let (module, name) = kw::HOSTCALL_IMPORT;
    let bytes = wat::parse_str(guest_wat(module, name))?;
    std::fs::write(opts.wasm_dir().join("hostcall.wasm"), &bytes)?;
    let case = "trivial_call";
    results.note(
        "hostcall",
        format!(
            "{calls} calls of `{module}::{name}` per run; value = run time / calls. {}",
            kw::HOSTCALL_NOTE
        ),
    );

    // Each runner owns its instance and runs `run(calls)` once; the runtimes take turns within each
    // repetition so load drift on a shared machine hits them alike.
    let mut runners: Vec<(&'static str, Runner)> = Vec::new();

    match kw::HostcallGuest::new(&bytes) {
        Ok(mut g) => runners.push((
            "kernel-wasm",
            Box::new(move || {
                let before = g.host_calls();
                let sum = g.run(calls)?;
                // Cross-check that every call really went through kernel-wasm's host layer.
                let counted = g.host_calls() - before;
                anyhow::ensure!(
                    counted == u64::from(calls),
                    "kernel-wasm counted {counted} host calls, expected {calls}"
                );
                Ok(sum)
            }),
        )),
        Err(reason) => results.note("hostcall", format!("kernel-wasm unavailable: {reason}")),
    }

    // Raw wasmi: the same engine configuration, a bare func_wrap; the memory is kept in the store
    // data, as kernel-wasm keeps it in its context.
    {
        let engine = wasmi_engine();
        let wmod = wasmi::Module::new(&engine, &bytes)?;
        let mut store = wasmi::Store::new(&engine, None::<wasmi::Memory>);
        store.set_fuel(u64::MAX)?;
        let mut linker = wasmi::Linker::new(&engine);
        linker.func_wrap(
            module,
            name,
            |mut caller: wasmi::Caller<'_, Option<wasmi::Memory>>, count: u32, size: u32| -> i32 {
                match *caller.data() {
                    Some(memory) => write_sizes(memory.data_mut(&mut caller), count, size),
                    None => 21,
                }
            },
        )?;
        let instance = linker.instantiate_and_start(&mut store, &wmod)?;
        *store.data_mut() = instance.get_memory(&store, "memory");
        let f = instance.get_typed_func::<u32, u32>(&store, "run")?;
        runners.push(("wasmi", Box::new(move || Ok(f.call(&mut store, calls)?))));
    }

    // wasmtime, for reference.
    {
        let engine = wasmtime::Engine::default();
        let wmod = wasmtime::Module::new(&engine, &bytes).map_err(wt)?;
        let mut store = wasmtime::Store::new(&engine, None::<wasmtime::Memory>);
        let mut linker = wasmtime::Linker::new(&engine);
        linker
            .func_wrap(
                module,
                name,
                |mut caller: wasmtime::Caller<'_, Option<wasmtime::Memory>>,
                 count: u32,
                 size: u32|
                 -> i32 {
                    match *caller.data() {
                        Some(memory) => write_sizes(memory.data_mut(&mut caller), count, size),
                        None => 21,
                    }
                },
            )
            .map_err(wt)?;
        let instance = linker.instantiate(&mut store, &wmod).map_err(wt)?;
        *store.data_mut() = instance.get_memory(&mut store, "memory");
        let f = instance
            .get_typed_func::<u32, u32>(&mut store, "run")
            .map_err(wt)?;
        runners.push((
            "wasmtime",
            Box::new(move || f.call(&mut store, calls).map_err(wt)),
        ));
    }

    let mut measured: Vec<(&'static str, u32)> = Vec::new();
    let figures = interleaved(runs, &mut runners).context("hostcall")?;
    for (&(runtime, _), (ms, sum)) in runners.iter().zip(figures) {
        let ns = ms * 1e6 / f64::from(calls);
        eprintln!("  hostcall/{case} {runtime:<12} {ns:>8.2} ns/call");
        results.row("hostcall", case, runtime, ns, "ns/call");
        measured.push((runtime, sum));
    }

    if let Some((runtime, sum)) = measured.iter().find(|(_, sum)| *sum != calls) {
        anyhow::bail!(
            "hostcall: {runtime} returned checksum {sum}, expected {calls} (a call failed)"
        );
    }
    results.checksums.push((
        "hostcall",
        case.to_string(),
        calls,
        measured.iter().map(|m| m.0).collect(),
    ));
    Ok(())
}
