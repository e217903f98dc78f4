//! Group `compute`: the workloads of `kernel-wasm-workloads` on kernel-wasm, raw wasmi, wasmtime and
//! natively, as the median milliseconds of one call. This is where the "kernel-wasm costs at most 5%
//! over raw wasmi" target is measured, so the raw wasmi engine is configured exactly as kernel-wasm
//! configures its own (fuel metering on) and only kernel-wasm's layer differs.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::measure::{median, wt};
use crate::{kw, Opts, Results};

/// The cases, shared with the kernel's `bench` shell command so host and kernel figures are of the
/// same work: sizes chosen so the slowest wasm engine (fuel-metered wasmi) needs roughly 0.1–0.5 s
/// per call on a current x86-64 core. Quick runs use the same sizes (fewer repetitions), so quick
/// and full figures are comparable.
pub use kernel_wasm::shell::bench_cmd::CASES;

/// Something that can run a workload export and return its checksum.
pub trait Guest {
    fn call(&mut self, export: &str, arg: Option<u32>) -> Result<u32>;
}

/// A wasmi engine configured as kernel-wasm's `Runtime::new` configures its own
/// (`kernel_wasm::runtime::engine_config`: fuel metering on, translation free of fuel, the same
/// maximum recursion depth, everything else at wasmi's defaults, lazy translation included).
pub fn wasmi_engine() -> wasmi::Engine {
    wasmi::Engine::new(&kernel_wasm::runtime::engine_config(
        &kernel_wasm::RuntimeConfig::default(),
    ))
}

/// Raw wasmi: the same engine configuration as kernel-wasm, no kernel-wasm layer.
struct Wasmi {
    store: wasmi::Store<()>,
    instance: wasmi::Instance,
}

impl Wasmi {
    fn new(bytes: &[u8]) -> Result<Self> {
        let engine = wasmi_engine();
        let module = wasmi::Module::new(&engine, bytes)?;
        let mut store = wasmi::Store::new(&engine, ());
        store.set_fuel(u64::MAX)?;
        let instance =
            wasmi::Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module)?;
        Ok(Wasmi { store, instance })
    }
}

impl Guest for Wasmi {
    fn call(&mut self, export: &str, arg: Option<u32>) -> Result<u32> {
        Ok(match arg {
            Some(a) => self
                .instance
                .get_typed_func::<u32, u32>(&self.store, export)?
                .call(&mut self.store, a)?,
            None => self
                .instance
                .get_typed_func::<(), u32>(&self.store, export)?
                .call(&mut self.store, ())?,
        })
    }
}

/// wasmtime with its default configuration (Cranelift, no fuel): the JIT reference point.
struct Wasmtime {
    store: wasmtime::Store<()>,
    instance: wasmtime::Instance,
}

impl Wasmtime {
    fn new(bytes: &[u8]) -> Result<Self> {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, bytes).map_err(wt)?;
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Linker::new(&engine)
            .instantiate(&mut store, &module)
            .map_err(wt)?;
        Ok(Wasmtime { store, instance })
    }
}

impl Guest for Wasmtime {
    fn call(&mut self, export: &str, arg: Option<u32>) -> Result<u32> {
        let s = &mut self.store;
        match arg {
            Some(a) => self
                .instance
                .get_typed_func::<u32, u32>(&mut *s, export)
                .and_then(|f| f.call(s, a)),
            None => self
                .instance
                .get_typed_func::<(), u32>(&mut *s, export)
                .and_then(|f| f.call(s, ())),
        }
        .map_err(wt)
    }
}

/// The same source compiled for the host.
struct Native;

impl Guest for Native {
    fn call(&mut self, export: &str, arg: Option<u32>) -> Result<u32> {
        use kernel_wasm_workloads as w;
        let a = black_box(arg.unwrap_or(0));
        Ok(match export {
            "coremark_like" => w::coremark_like(a),
            "sha256_1mib" => w::sha256_1mib(),
            "fib" => w::fib(a),
            "matmul128" => w::matmul128(),
            "sort" => w::sort(a),
            other => bail!("no native workload {other}"),
        })
    }
}

pub fn run(opts: &Opts, results: &mut Results) -> Result<()> {
    let path = opts.wasm_dir().join("workloads.wasm");
    let bytes = std::fs::read(&path)
        .with_context(|| format!("reading {} (built by `cargo xtask bench`)", path.display()))?;

    let mut guests: Vec<(&'static str, Box<dyn Guest>)> = Vec::new();
    match kw::ComputeGuest::new(&bytes) {
        Ok(g) => guests.push(("kernel-wasm", Box::new(g))),
        Err(reason) => results.note("compute", format!("kernel-wasm unavailable: {reason}")),
    }
    guests.push(("wasmi", Box::new(Wasmi::new(&bytes).context("raw wasmi")?)));
    guests.push((
        "wasmtime",
        Box::new(Wasmtime::new(&bytes).context("wasmtime")?),
    ));
    guests.push(("native", Box::new(Native)));

    // Runtimes take turns within each repetition, so drift in machine load (the machine is shared)
    // hits every runtime alike and the ratios stay fair.
    let mut spreads = Vec::new();
    for case in CASES {
        let mut sums: BTreeMap<u32, Vec<&'static str>> = BTreeMap::new();
        let mut expected = Vec::with_capacity(guests.len());
        for (runtime, guest) in guests.iter_mut() {
            let sum = guest
                .call(case.export, case.arg)
                .with_context(|| format!("compute/{} on {runtime}", case.name))?;
            expected.push(sum);
            sums.entry(sum).or_default().push(runtime);
        }
        let mut times = vec![Vec::with_capacity(opts.runs()); guests.len()];
        for _ in 0..opts.runs() {
            for (i, (runtime, guest)) in guests.iter_mut().enumerate() {
                let start = Instant::now();
                let sum = guest.call(case.export, case.arg)?;
                times[i].push(start.elapsed().as_secs_f64() * 1e3);
                if sum != expected[i] {
                    bail!(
                        "compute/{} on {runtime}: checksum changed between repetitions",
                        case.name
                    );
                }
            }
        }
        // The spread of kernel-wasm / wasmi within repetitions (each pair ran back to back): how much
        // of the ratio column is noise on this machine.
        let index = |name: &str| guests.iter().position(|(rt, _)| *rt == name);
        if let (Some(k), Some(w)) = (index("kernel-wasm"), index("wasmi")) {
            let mut paired: Vec<f64> = times[k].iter().zip(&times[w]).map(|(a, b)| a / b).collect();
            let mid = median(&mut paired);
            results.compute_paired.push((case.name, mid));
            spreads.push(format!(
                "{} {:.2}× [{:.2}–{:.2}]",
                case.name,
                mid,
                paired[0],
                paired[paired.len() - 1]
            ));
        }
        for (i, (runtime, _)) in guests.iter().enumerate() {
            let ms = median(&mut times[i]);
            eprintln!(
                "  compute/{:<14} {runtime:<12} {ms:>10.3} ms  checksum {:#010x}",
                case.name, expected[i]
            );
            results.row("compute", case.name, runtime, ms, "ms");
        }
        if sums.len() != 1 {
            bail!(
                "compute/{}: runtimes disagree on the checksum: {sums:x?}",
                case.name
            );
        }
        let (sum, agreed) = sums.into_iter().next().expect("one checksum");
        results
            .checksums
            .push(("compute", case.name.to_string(), sum, agreed));
    }
    if !spreads.is_empty() {
        results.note(
            "compute",
            format!(
                "kernel-wasm / wasmi per repetition (the two run back to back), median [min–max]: {}",
                spreads.join(", ")
            ),
        );
    }
    Ok(())
}
