//! `cargo xtask fuzz`: runs the cargo-fuzz targets of `fuzz/` (libFuzzer, nightly), each for a
//! fixed time, and reports what each did.
//!
//! ```text
//! cargo xtask fuzz [--seconds N] [TARGET]...
//! ```
//!
//! Installs what it needs when missing (the nightly toolchain, cargo-fuzz). Each target runs
//! `N` seconds (default 60) with debug assertions on (an arithmetic overflow is a crash too), on
//! a working corpus in `target/fuzz/corpus/TARGET` seeded from the checked-in
//! `fuzz/corpus/TARGET` (which the run leaves alone); crashing inputs go to
//! `target/fuzz/artifacts/TARGET/`. An input that runs longer than [`INPUT_TIMEOUT`] seconds
//! counts as a crash: no input may take unbounded time. Prints one line per target (runs,
//! seconds, runs per second, corpus size) and fails when any target crashed: every crash found
//! becomes a regression test in `kernel-wasm/tests/`, with the crashing input.

use std::process::Command;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::{step, tools};

const USAGE: &str = "usage: cargo xtask fuzz [--seconds N] [TARGET]...";

/// Seconds one input may take before libFuzzer reports it as a timeout.
const INPUT_TIMEOUT: u32 = 20;

/// The largest input libFuzzer makes (a module, a package, a program of calls).
const MAX_LEN: u32 = 16 * 1024;

/// What one target's run did.
struct Run {
    target: String,
    runs: Option<u64>,
    seconds: u64,
    corpus: usize,
    ok: bool,
}

pub fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let mut seconds: u64 = 60;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = it.next().context("--seconds needs a number")?;
                seconds = value.parse().ok().filter(|s| *s > 0).with_context(|| {
                    format!("--seconds {value:?} is not a positive number\n{USAGE}")
                })?;
            }
            other if other.starts_with('-') => bail!("unknown flag {other:?}\n{USAGE}"),
            target => targets.push(target.to_string()),
        }
    }
    ensure_installed(sh)?;
    let known = list(sh)?;
    if targets.is_empty() {
        targets = known.clone();
    }
    if let Some(unknown) = targets.iter().find(|t| !known.contains(t)) {
        bail!(
            "no fuzz target {unknown:?}; the targets: {}",
            known.join(", ")
        );
    }
    let mut runs = Vec::new();
    for target in &targets {
        runs.push(run_target(sh, target, seconds)?);
    }
    println!(
        "\n{:<16} {:>12} {:>8} {:>10} {:>8}  result",
        "target", "runs", "seconds", "runs/s", "corpus"
    );
    for r in &runs {
        let runs = r.runs.map_or("?".to_string(), |n| n.to_string());
        let rate = r
            .runs
            .map_or("?".to_string(), |n| (n / r.seconds.max(1)).to_string());
        let result = if r.ok { "ok" } else { "CRASH" };
        println!(
            "{:<16} {:>12} {:>8} {:>10} {:>8}  {result}",
            r.target, runs, r.seconds, rate, r.corpus
        );
    }
    let crashed: Vec<&str> = runs
        .iter()
        .filter(|r| !r.ok)
        .map(|r| r.target.as_str())
        .collect();
    if !crashed.is_empty() {
        bail!(
            "crashes in {} (inputs in target/fuzz/artifacts/): make each a regression test",
            crashed.join(", ")
        );
    }
    Ok(())
}

/// The nightly toolchain and cargo-fuzz, installed when missing.
fn ensure_installed(sh: &Shell) -> Result<()> {
    let toolchains = cmd!(sh, "rustup toolchain list").read()?;
    if !toolchains.lines().any(|l| l.starts_with("nightly")) {
        step("rustup toolchain install nightly --profile minimal");
        tools::run_on_stderr(cmd!(
            sh,
            "rustup toolchain install nightly --profile minimal"
        ))?;
    }
    if cmd!(sh, "cargo +nightly fuzz --version")
        .quiet()
        .ignore_stderr()
        .read()
        .is_err()
    {
        step("cargo install cargo-fuzz --locked");
        tools::run_on_stderr(cmd!(sh, "cargo install cargo-fuzz --locked"))?;
    }
    Ok(())
}

/// The targets `fuzz/Cargo.toml` declares.
fn list(sh: &Shell) -> Result<Vec<String>> {
    let _dir = sh.push_dir("fuzz");
    let out = cmd!(sh, "cargo +nightly fuzz list").read()?;
    Ok(out
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

fn run_target(sh: &Shell, target: &str, seconds: u64) -> Result<Run> {
    let root = crate::project_root();
    let corpus = root.join("target/fuzz/corpus").join(target);
    let seeds = root.join("fuzz/corpus").join(target);
    let artifacts = root.join("target/fuzz/artifacts").join(target);
    sh.create_dir(&corpus)?;
    sh.create_dir(&artifacts)?;
    step(&format!("fuzz {target} for {seconds} s"));
    let output = Command::new("cargo")
        .current_dir(root.join("fuzz"))
        .args(["+nightly", "fuzz", "run", "--debug-assertions", target])
        .arg(&corpus)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT}"))
        .arg(format!("-max_len={MAX_LEN}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1")
        .output()
        .with_context(|| format!("starting cargo fuzz run {target}"))?;
    let log = String::from_utf8_lossy(&output.stderr);
    let log_path = root.join("target/fuzz").join(format!("{target}.log"));
    std::fs::write(&log_path, log.as_bytes())?;
    // libFuzzer's final statistics: `stat::number_of_executed_units: N`, and the line
    // `Done N runs in S second(s)` when the time is up.
    let runs = log
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|n| n.trim().parse().ok());
    let elapsed = log
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("Done ")?;
            let (_, after) = rest.split_once(" runs in ")?;
            after.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(seconds);
    let corpus_size = std::fs::read_dir(&corpus).map_or(0, |d| d.count());
    if !output.status.success() {
        eprintln!(
            "{target} failed ({}); the end of its log ({}):",
            output.status,
            log_path.display()
        );
        let lines: Vec<&str> = log.lines().collect();
        for line in &lines[lines.len().saturating_sub(40)..] {
            eprintln!("  {line}");
        }
    }
    Ok(Run {
        target: target.to_string(),
        runs,
        seconds: elapsed,
        corpus: corpus_size,
        ok: output.status.success(),
    })
}
