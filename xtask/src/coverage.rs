//! `cargo xtask coverage`: line coverage of kernel-wasm by its host tests, with cargo-llvm-cov.
//!
//! ```text
//! cargo xtask coverage [--html] [--min PERCENT]
//! ```
//!
//! Runs the host tests of kernel-wasm and of kwasm (whose end-to-end tests drive kernel-wasm
//! through the built binary; cargo-llvm-cov instruments that binary too), reports the lines of
//! kernel-wasm's own sources only, prints cargo-llvm-cov's summary table (one row per file and a
//! TOTAL row) and fails when the total line coverage is under [`MIN_LINES`] percent (the seed's
//! success criterion). `--html` also writes the annotated sources to
//! `target/llvm-cov/html`. Installs `llvm-tools-preview` and cargo-llvm-cov when missing.
//!
//! `cargo xtask ci` runs the same measurement ([`measure`]) as its host-test step for these two
//! packages, after building the guest templates (so their tests cannot skip there).

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::{step, tools};

/// The least total line coverage of kernel-wasm CI accepts, in percent.
pub const MIN_LINES: &str = "90";

/// The cargo-llvm-cov release used (pinned: its report format is what CI reads).
const CARGO_LLVM_COV: &str = "0.9.1";

/// Sources the report leaves out: the binary and the tools (only kernel-wasm's library counts).
const NOT_KERNEL_WASM: &str = "(kwasm|xtask|integration)/";

const USAGE: &str = "usage: cargo xtask coverage [--html] [--min PERCENT]";

pub fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let mut html = false;
    let mut min = MIN_LINES.to_string();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--html" => html = true,
            "--min" => {
                min = it.next().context("--min needs a percentage")?.clone();
                if min
                    .parse::<f64>()
                    .map_or(true, |m| !(0.0..=100.0).contains(&m))
                {
                    bail!("--min {min:?} is not a percentage\n{USAGE}");
                }
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    // Tests that run the compiled WASI programs must not pass by skipping them.
    crate::wasi_programs::build(sh)?;
    step(&format!(
        "cargo llvm-cov: kernel-wasm's host tests (fails under {min}% of lines)"
    ));
    measure(sh, &min, Guests::MayBeMissing)?;
    if html {
        cmd!(
            sh,
            "cargo llvm-cov report --ignore-filename-regex {NOT_KERNEL_WASM} --html"
        )
        .run()?;
        println!("annotated sources: target/llvm-cov/html/index.html");
    }
    Ok(())
}

/// Whether the guest templates (`cargo xtask guests`) were built, so the kwasm tests that run
/// them must not skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guests {
    Built,
    MayBeMissing,
}

/// Runs every host test of kernel-wasm and kwasm once, instrumented, prints the per-file table
/// with its TOTAL line, and fails when a test fails or kernel-wasm's line coverage is under `min`
/// percent. The WASI test programs must be built (`wasi_programs::build`). `cargo xtask ci`
/// runs these tests only here: the gate costs no second run of them.
pub fn measure(sh: &Shell, min: &str, guests: Guests) -> Result<()> {
    ensure_installed(sh)?;
    let mut run = cmd!(
        sh,
        "cargo llvm-cov --package kernel-wasm --package kwasm --ignore-filename-regex {NOT_KERNEL_WASM} --summary-only --fail-under-lines {min}"
    )
    // Snapshots are reviewed and committed, never written by a test run.
    .env("INSTA_UPDATE", "no")
    .env("KWASM_REQUIRE_WASI_PROGRAMS", "1");
    if guests == Guests::Built {
        run = run.env("KWASM_REQUIRE_GUESTS", "1");
    }
    run.run()
        .with_context(|| format!("kernel-wasm line coverage is under {min}% (or a test failed)"))
}

/// `llvm-tools-preview` and cargo-llvm-cov, unless present (idempotent: a second run checks
/// the version and installs nothing).
pub fn ensure_installed(sh: &Shell) -> Result<()> {
    tools::rustup_components(sh, &["llvm-tools"])?;
    let present = cmd!(sh, "cargo llvm-cov --version")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok_and(|v| v.contains(CARGO_LLVM_COV));
    if !present {
        eprintln!("\n==> cargo install cargo-llvm-cov {CARGO_LLVM_COV}");
        tools::run_on_stderr(cmd!(
            sh,
            "cargo install cargo-llvm-cov --version {CARGO_LLVM_COV} --locked"
        ))?;
    }
    Ok(())
}
