//! The benchmark driver behind `cargo xtask bench`.
//!
//! This binary exists so that kernel-wasm, raw wasmi, wasmtime and native code are measured side by
//! side in one process and one run, and every ratio the project reports is computed from numbers taken
//! on the same machine at the same time. xtask prepares the guest modules (the workloads compiled to
//! wasm32, the C and Go startup modules) in `<out>/wasm/` and then runs
//! `kernel-wasm-bench [--quick] --out <dir>`; this binary measures, checks that every runtime computed
//! the same checksum, prints a table, and writes `<out>/results.json` and `docs/benchmarks.md`.
//!
//! Groups and their modules: `compute`, `hostcall`, `wasi`, `startup`, `agents`, `packages`,
//! `net` (TCP echo against native, kernel-wasm and the kernel under QEMU, see [`net`]),
//! `kernel` (the compute set measured inside the kernel under QEMU by xtask in the same run, see
//! [`kernel`]), and `llm` (the LLM engine's tokens/s on the host and in the kernel, see [`llm`]).
//! Everything that touches the kernel-wasm runtime API lives in [`kw`].

mod agents;
mod alloc;
mod compute;
mod hostcall;
mod kernel;
mod kw;
mod llm;
mod measure;
mod net;
mod packages;
mod report;
mod startup;
mod wasi;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

/// One measured figure; the fields are the `results.json` contract.
#[derive(Debug, Clone)]
pub struct Row {
    pub group: &'static str,
    pub case: String,
    pub runtime: &'static str,
    pub value: f64,
    pub unit: &'static str,
}

/// Everything one run produced: rows, notes for what could not be measured, and the verified
/// checksums.
#[derive(Debug, Default)]
pub struct Results {
    pub rows: Vec<Row>,
    /// `(group, text)`: why a group or case has no rows, or how to read it.
    pub notes: Vec<(&'static str, String)>,
    /// `(group, case, checksum, runtimes that agreed)`.
    pub checksums: Vec<(&'static str, String, u32, Vec<&'static str>)>,
    /// `(case, median of the per-repetition kernel-wasm / wasmi ratios)` of group compute: the
    /// drift-resistant figure the compute target is judged on.
    pub compute_paired: Vec<(&'static str, f64)>,
}

impl Results {
    pub fn row(
        &mut self,
        group: &'static str,
        case: &str,
        runtime: &'static str,
        value: f64,
        unit: &'static str,
    ) {
        self.rows.push(Row {
            group,
            case: case.to_string(),
            runtime,
            value,
            unit,
        });
    }

    pub fn note(&mut self, group: &'static str, text: impl Into<String>) {
        self.notes.push((group, text.into()));
    }

    pub fn value(&self, group: &str, case: &str, runtime: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.group == group && r.case == case && r.runtime == runtime)
            .map(|r| r.value)
    }
}

/// Command-line options.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Fewer repetitions and smaller host-call counts: a run under about five minutes.
    pub quick: bool,
    /// Output directory: reads `wasm/`, writes `results.json`.
    pub out: PathBuf,
    /// Where the Markdown report goes.
    pub docs: PathBuf,
    /// Run only these groups (`--only GROUP`, repeatable; for development — the report then lacks
    /// the other groups, so send it elsewhere with `--docs`).
    pub only: Vec<String>,
    /// Also measure inside the kernel under QEMU where a group does so itself (`net` boots it
    /// through `cargo xtask qemu`); `cargo xtask bench` passes `--kernel` unless `--no-kernel`.
    pub kernel: bool,
}

impl Opts {
    /// Timed repetitions per figure (the median is reported).
    pub fn runs(&self) -> usize {
        if self.quick {
            3
        } else {
            11
        }
    }

    /// Whether group `group` is to run.
    pub fn wants(&self, group: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|g| g == group)
    }

    pub fn wasm_dir(&self) -> PathBuf {
        self.out.join("wasm")
    }
}

fn parse_args() -> Result<Opts> {
    let mut quick = false;
    let mut out = PathBuf::from("target/bench");
    let mut docs = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/benchmarks.md"
    ));
    let mut only = Vec::new();
    let mut kernel = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--out" => out = args.next().context("--out needs a directory")?.into(),
            "--docs" => docs = args.next().context("--docs needs a file")?.into(),
            "--only" => only.push(args.next().context("--only needs a group")?),
            "--kernel" => kernel = true,
            "-h" | "--help" => {
                println!("usage: kernel-wasm-bench [--quick] [--kernel] [--out DIR] [--docs FILE] [--only GROUP]...");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    Ok(Opts {
        quick,
        out,
        docs,
        only,
        kernel,
    })
}

fn main() -> Result<()> {
    // A child process of the agents group (see `agents::ROUND_TRIP_PROCESSES`).
    if std::env::args().any(|a| a == agents::ROUND_TRIP_CHILD) {
        let opts = Opts {
            quick: std::env::args().any(|a| a == "--quick"),
            out: PathBuf::new(),
            docs: PathBuf::new(),
            only: Vec::new(),
            kernel: false,
        };
        println!("{}", agents::round_trip_in_process(&opts)?);
        return Ok(());
    }
    let opts = parse_args()?;
    std::fs::create_dir_all(opts.wasm_dir())
        .with_context(|| format!("creating {}", opts.wasm_dir().display()))?;
    let started = std::time::Instant::now();
    let mut results = Results::default();

    if opts.wants("compute") {
        eprintln!("bench: compute ({} runs per figure)", opts.runs());
        compute::run(&opts, &mut results)?;
    }
    if opts.wants("hostcall") {
        eprintln!("bench: hostcall");
        hostcall::run(&opts, &mut results)?;
    }
    if opts.wants("wasi") {
        eprintln!("bench: wasi");
        wasi::run(&opts, &mut results)?;
    }
    if opts.wants("startup") {
        eprintln!("bench: startup");
        startup::run(&opts, &mut results)?;
    }
    if opts.wants("agents") {
        eprintln!("bench: agents");
        agents::run(&opts, &mut results)?;
    }
    if opts.wants("packages") {
        eprintln!("bench: packages");
        packages::run(&opts, &mut results)?;
    }
    if opts.wants("net") {
        eprintln!("bench: net");
        net::run(&opts, &mut results)?;
    }
    if opts.wants("kernel") {
        kernel::run(&opts, &mut results);
    }
    if opts.wants("llm") {
        eprintln!("bench: llm");
        llm::run(&opts, &mut results)?;
    }

    let elapsed = started.elapsed();
    let machine = report::Machine::detect(&opts);
    print!("{}", report::table(&results));
    report::write_json(&opts.out.join("results.json"), &results)?;
    report::write_markdown(&opts.docs, &opts, &machine, &results, elapsed)?;
    let docs = opts
        .docs
        .canonicalize()
        .unwrap_or_else(|_| opts.docs.clone());
    eprintln!(
        "bench: done in {:.0} s; wrote {} and {}",
        elapsed.as_secs_f64(),
        opts.out.join("results.json").display(),
        docs.display()
    );
    Ok(())
}
