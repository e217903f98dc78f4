//! `bench [--quick] [--case NAME]... [PATH]`: the compute workloads of `cargo xtask bench`, run
//! inside the shell — in the kernel that is on the bare machine (or QEMU) — through kernel-wasm and
//! through raw wasmi, so the host's and the kernel's ratios can be compared.
//!
//! PATH is the workloads module `cargo xtask bench` builds (`target/bench/wasm/workloads.wasm`;
//! default [`DEFAULT_PATH`]). Each case runs on both runtimes, which must return the same checksum.
//! The output is the rows of the host bench's `results.json`, one JSON object per line, with the
//! same group, case, runtime names and units (`ms` per call, the median of the timed repetitions),
//! timed with the platform's monotonic clock. `--quick` times one call per runtime and case (no
//! warm-up): under QEMU TCG the set then takes a minute or two. kernel-wasm makes the first
//! call of a case (whose fuel then bounds raw wasmi's calls); after it the runtime that goes
//! first alternates.
//!
//! The case sizes are the host bench's own ([`CASES`] is what it runs), so figures are comparable.
//!
//! `bench --llm [--quick] [DIR]` times the LLM engine instead: see [`super::bench_llm`].

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::commands::{read_bounded, usage};
use super::{Shell, ShellStatus};
use crate::error::{Error, Result};
use crate::instance::{CallOutcome, Instance, InstanceConfig};
use crate::runtime::{engine_config, RuntimeConfig};
use crate::values::Value;

/// Where `bench` looks for the workloads module without a PATH.
pub const DEFAULT_PATH: &str = "/bench/workloads.wasm";
/// The largest workloads module `bench` reads.
const MAX_MODULE_BYTES: u64 = 16 << 20;
/// Timed repetitions per figure without `--quick` (after one untimed warm-up call).
pub const FULL_RUNS: usize = 3;
/// Fuel for the kernel-wasm instance: metering on, a budget no workload gets near (as the host
/// bench configures it).
const HUGE_FUEL: u64 = 1 << 60;

/// One compute case: a workload export and its argument.
#[derive(Debug, Clone, Copy)]
pub struct BenchCase {
    pub name: &'static str,
    pub export: &'static str,
    pub arg: Option<u32>,
    pub what: &'static str,
}

/// The compute cases, shared with the host bench (`kernel-wasm/bench`), with sizes chosen so
/// fuel-metered wasmi needs roughly 0.1–0.5 s per call on a current x86-64 core.
pub const CASES: &[BenchCase] = &[
    BenchCase {
        name: "coremark_like",
        export: "coremark_like",
        arg: Some(2_000),
        what: "2000 iterations of list/matrix/state-machine/CRC work",
    },
    BenchCase {
        name: "sha256_1mib",
        export: "sha256_1mib",
        arg: None,
        what: "generate 1 MiB, SHA-256 it",
    },
    BenchCase {
        name: "fib30",
        export: "fib",
        arg: Some(30),
        what: "recursive fib(30)",
    },
    BenchCase {
        name: "matmul128",
        export: "matmul128",
        arg: None,
        what: "128x128 f64 matrix product",
    },
    BenchCase {
        name: "sort",
        export: "sort",
        arg: Some(200_000),
        what: "generate and sort 200k u32",
    },
];

/// A wasmi engine configured as kernel-wasm's runtime configures its own
/// ([`engine_config`]), as the host bench's raw-wasmi runner does.
fn raw_engine() -> wasmi::Engine {
    wasmi::Engine::new(&engine_config(&RuntimeConfig::default()))
}

/// The two runtimes, each with the workloads instantiated.
enum Runner {
    KernelWasm(Box<Instance>),
    Wasmi(Box<(wasmi::Store<()>, wasmi::Instance)>),
}

impl Runner {
    fn name(&self) -> &'static str {
        match self {
            Runner::KernelWasm(_) => "kernel-wasm",
            Runner::Wasmi(_) => "wasmi",
        }
    }

    /// Calls the case's export; returns its checksum and the fuel it used. Raw wasmi, which
    /// cannot be interrupted, gets `fuel` (what kernel-wasm needed for the same call).
    fn call(&mut self, case: &BenchCase, fuel: u64) -> Result<(u32, u64)> {
        let runtime = self.name();
        let failed = |message: String| Error::State {
            message: format!("bench: {} on {runtime}: {message}", case.name),
        };
        match self {
            Runner::KernelWasm(instance) => {
                let args: Vec<Value> = case.arg.map(|a| Value::I32(a as i32)).into_iter().collect();
                let before = instance.stats().fuel_consumed;
                let sum = match instance.call(case.export, &args)? {
                    CallOutcome::Returned(values) => match values.as_slice() {
                        [Value::I32(v)] => *v as u32,
                        other => {
                            return Err(failed(format!("returned {other:?}, expected one i32")))
                        }
                    },
                    CallOutcome::Exited(code) => return Err(failed(format!("exited with {code}"))),
                };
                Ok((sum, instance.stats().fuel_consumed.saturating_sub(before)))
            }
            Runner::Wasmi(raw) => {
                let (store, instance) = &mut **raw;
                store.set_fuel(fuel).map_err(|e| failed(format!("{e}")))?;
                let result = match case.arg {
                    Some(a) => instance
                        .get_typed_func::<u32, u32>(&*store, case.export)
                        .and_then(|f| f.call(&mut *store, a)),
                    None => instance
                        .get_typed_func::<(), u32>(&*store, case.export)
                        .and_then(|f| f.call(&mut *store, ())),
                };
                let left = store.get_fuel().unwrap_or(0);
                match result {
                    Ok(sum) => Ok((sum, fuel.saturating_sub(left))),
                    Err(e) if e.as_trap_code() == Some(wasmi::TrapCode::OutOfFuel) => Err(failed(
                        format!("used more than the {fuel} fuel kernel-wasm needed (same engine configuration)"),
                    )),
                    Err(e) => Err(failed(format!("{e}"))),
                }
            }
        }
    }
}

/// The median of `values` (mean of the middle two for an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// One `results.json` row as a line of JSON.
pub fn json_row(group: &str, case: &str, runtime: &str, value: f64, unit: &str) -> String {
    format!(
        "{{\"group\": \"{group}\", \"case\": \"{case}\", \"runtime\": \"{runtime}\", \"value\": {value}, \"unit\": \"{unit}\"}}\n"
    )
}

pub(super) fn bench(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let mut quick = false;
    let mut llm = false;
    let mut only: Vec<&str> = Vec::new();
    let mut path = None;
    let mut rest = args.iter();
    while let Some(&arg) = rest.next() {
        match arg {
            "--quick" => quick = true,
            "--llm" => llm = true,
            "--case" => only.push(rest.next().ok_or_else(|| usage("bench"))?),
            _ if arg.starts_with("--") => return Err(usage("bench")),
            _ if path.is_none() => path = Some(arg),
            _ => return Err(usage("bench")),
        }
    }
    if llm {
        if !only.is_empty() {
            return Err(usage("bench"));
        }
        return super::bench_llm::bench_llm(shell, quick, path);
    }
    if let Some(unknown) = only.iter().find(|n| !CASES.iter().any(|c| c.name == **n)) {
        let names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
        return Err(Error::Config {
            what: format!("bench: unknown case {unknown:?}"),
            message: format!("the cases are {}", names.join(", ")),
        });
    }
    let path = path.unwrap_or(DEFAULT_PATH);
    let bytes = read_bounded(shell, "bench", path, MAX_MODULE_BYTES)?;

    // kernel-wasm: the shell's own runtime, fuel on with a huge budget (the host bench's setup).
    let module = shell.runtime().load(&bytes, Some("workloads"))?;
    // Instantiation runs a start function in one uninterruptible call, on raw wasmi with all
    // the fuel there is: the workloads module has none, and another module must not either.
    if module.info().start.is_some() {
        return Err(Error::State {
            message: format!(
                "bench: {path} has a start function; bench runs only modules without one"
            ),
        });
    }
    let mut config = InstanceConfig::new(shell.platform().clone());
    config.fuel = Some(HUGE_FUEL);
    let instance = shell.runtime().instantiate(&module, config)?;
    // Raw wasmi: the same engine configuration, no kernel-wasm layer.
    let raw = |e: wasmi::Error| Error::State {
        message: format!("bench: raw wasmi: {e}"),
    };
    let engine = raw_engine();
    let raw_module = wasmi::Module::new(&engine, &bytes[..]).map_err(raw)?;
    let mut store = wasmi::Store::new(&engine, ());
    store.set_fuel(u64::MAX).map_err(raw)?;
    let raw_instance = wasmi::Linker::<()>::new(&engine)
        .instantiate_and_start(&mut store, &raw_module)
        .map_err(raw)?;
    let mut runners = [
        Runner::KernelWasm(Box::new(instance)),
        Runner::Wasmi(Box::new((store, raw_instance))),
    ];

    let clock = shell.platform().clock.clone();
    let runs = if quick { 1 } else { FULL_RUNS };
    for case in CASES
        .iter()
        .filter(|c| only.is_empty() || only.contains(&c.name))
    {
        // The first call checks the checksum (and, in a full run, is the untimed warm-up).
        // kernel-wasm makes it first: it can be interrupted (Ctrl-C), and the fuel it needs
        // bounds every call of raw wasmi, which cannot, so a hostile module cannot hang the
        // shell. After it the runtime that goes first alternates, so neither always pays for
        // what the first call warms (caches, TCG's translated code).
        let mut sums = [0u32; 2];
        let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut raw_fuel = 0;
        for rep in 0..runs + usize::from(!quick) {
            let order = if rep % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                let runner = &mut runners[i];
                let start = clock.monotonic_ns();
                let (sum, fuel) = runner.call(case, raw_fuel)?;
                let ns = clock.monotonic_ns().saturating_sub(start);
                if rep == 0 && i == 0 {
                    // Slices of fuel and one straight call charge the same: a little slack.
                    raw_fuel = fuel.saturating_add(fuel / 64).saturating_add(1_000_000);
                }
                if rep == 0 {
                    sums[i] = sum;
                } else if sum != sums[i] {
                    return Err(Error::State {
                        message: format!(
                            "bench: {} on {}: checksum changed between repetitions",
                            case.name,
                            runner.name()
                        ),
                    });
                }
                if quick || rep > 0 {
                    times[i].push(ns as f64 / 1e6);
                }
            }
        }
        if sums[0] != sums[1] {
            return Err(Error::State {
                message: format!(
                    "bench: {}: kernel-wasm returned checksum {:#010x}, raw wasmi {:#010x}",
                    case.name, sums[0], sums[1]
                ),
            });
        }
        let mut out = String::new();
        for (runner, t) in runners.iter().zip(times.iter_mut()) {
            out.push_str(&json_row(
                "compute",
                case.name,
                runner.name(),
                median(t),
                "ms",
            ));
        }
        shell.print(&out);
    }
    Ok(ShellStatus::Continue)
}
