//! Group `llm`: the LLM engine's tokens per second (greedy from BOS, one thread, every position
//! computed as run.c's timing loop does) for the cases of `kernel_wasm::shell::bench_llm`, on the
//! host (runtime `host`) and — read back from the kernel's `bench --llm` in this run — in the
//! kernel under QEMU TCG (runtime `qemu-tcg`); plus the cost of one LoRA adapter.
//!
//! The model files: `stories260K.bin` from `../shared/llm/` (next to the repository; never
//! committed), the default model from `models/tinystories/`; the stories15M-shaped weights are
//! generated. A case whose file is missing gets a note, not a row. The kernel must compute the
//! same greedy tokens as the host (the engine's invariant: the same bits on every target): a
//! different hash fails the run.

use std::path::PathBuf;

use anyhow::{bail, Result};
use kernel_wasm::shell::bench_llm::{
    case_state, case_weights, greedy_positions, LlmCase, ModelSource, LLM_CASES,
};

use crate::measure::median;
use crate::{Opts, Results};

/// The runtime names of the rows.
pub const HOST: &str = "host";
pub const KERNEL: &str = "qemu-tcg";

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Where the host reads a case's file: the `../shared/llm` models, or the repository's own.
fn host_path(file: &str) -> PathBuf {
    if file.starts_with("tinystories/") {
        root().join("models").join(file)
    } else {
        root().join("../shared/llm").join(file)
    }
}

fn positions(opts: &Opts, case: &LlmCase) -> usize {
    if opts.quick {
        case.quick_positions
    } else {
        case.positions
    }
}

/// Times `runs` greedy runs of `case`; returns the tok/s of each and the tokens' hash.
fn measure(opts: &Opts, case: &LlmCase) -> Result<Option<(Vec<f64>, u32)>> {
    let mut read = |f: &str| {
        std::fs::read(host_path(f)).map_err(|e| kernel_wasm::Error::State {
            message: format!("{}: {e}", host_path(f).display()),
        })
    };
    let w = match case_weights(case, &mut read) {
        Ok(w) => w,
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    };
    let mut s = case_state(case, &w).map_err(|e| anyhow::anyhow!("{}: {e}", case.name))?;
    let n = positions(opts, case).min(s.context());
    let hash = greedy_positions(&w, &mut s, n).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut rates = Vec::new();
    for _ in 0..opts.runs() {
        let t = std::time::Instant::now();
        let again = greedy_positions(&w, &mut s, n).map_err(|e| anyhow::anyhow!("{e}"))?;
        let secs = t.elapsed().as_secs_f64();
        if again != hash {
            bail!("{}: the greedy tokens changed between runs", case.name);
        }
        rates.push(n as f64 / secs);
    }
    Ok(Some((rates, hash)))
}

/// The extra time per token of `case`'s adapter, in percent: base and adapted runs alternate
/// (which goes first alternates too) and the median of the per-pair time ratios is reported, so
/// a change in machine load during the run does not land on one side.
fn lora_cost(opts: &Opts, case: &LlmCase) -> Result<f64> {
    let mut read = |f: &str| {
        std::fs::read(host_path(f)).map_err(|e| kernel_wasm::Error::State {
            message: format!("{}: {e}", host_path(f).display()),
        })
    };
    let w = case_weights(case, &mut read).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut adapted = case_state(case, &w).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut base = kernel_wasm::llm::State::new(w.config()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let n = positions(opts, case).min(base.context());
    let time = |s: &mut kernel_wasm::llm::State| -> Result<f64> {
        let t = std::time::Instant::now();
        greedy_positions(&w, s, n).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(t.elapsed().as_secs_f64())
    };
    time(&mut base)?;
    time(&mut adapted)?;
    let mut ratios = Vec::new();
    for rep in 0..3 * opts.runs() {
        let (b, a) = if rep % 2 == 0 {
            let b = time(&mut base)?;
            (b, time(&mut adapted)?)
        } else {
            let a = time(&mut adapted)?;
            (time(&mut base)?, a)
        };
        ratios.push(a / b);
    }
    Ok((median(&mut ratios) - 1.0) * 100.0)
}

pub fn run(opts: &Opts, results: &mut Results) -> Result<()> {
    let kernel = kernel_rows(opts, results);
    for case in LLM_CASES {
        let (mut rates, hash) = match measure(opts, case) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(e) => {
                results.note("llm", format!("{}: not measured: {e:#}", case.name));
                continue;
            }
        };
        if case.lora_rank.is_some() {
            match lora_cost(opts, case) {
                Ok(cost) => results.row("llm", "lora8_cost", HOST, cost, "%"),
                Err(e) => results.note("llm", format!("lora8_cost: not measured: {e:#}")),
            }
        }
        results.row("llm", case.name, HOST, median(&mut rates), "tok/s");
        let mut agreed = vec![HOST];
        if let Some((_, tok_s, k_hash)) = kernel.iter().find(|(c, _, _)| c == case.name) {
            if *k_hash != hash {
                bail!(
                    "llm {}: the kernel's greedy tokens (hash {k_hash:#010x}) differ from the host's ({hash:#010x})",
                    case.name
                );
            }
            results.row("llm", case.name, KERNEL, *tok_s, "tok/s");
            agreed.push(KERNEL);
        }
        results
            .checksums
            .push(("llm", case.name.to_string(), hash, agreed));
        let source = match case.model {
            ModelSource::File(f) => host_path(f).display().to_string(),
            ModelSource::Synthetic(_) => "generated weights".into(),
        };
        results.note(
            "llm",
            format!(
                "{}: {} — {} positions per run ({source})",
                case.name,
                case.what,
                positions(opts, case)
            ),
        );
    }
    if let Some(cost) = results.value("llm", "lora8_cost", HOST) {
        results.note(
            "llm",
            format!("lora8_cost: stories260K's time per token with the rank-8 adapter, {cost:+.1}% (unmerged: W·x + s·B·(A·x) on every projection; the median of {} alternating base/adapted pairs)", 3 * opts.runs()),
        );
    }
    results.note(
        "llm",
        "the reference: llama2.c's run.c (gcc -O3, one thread) generates about 4,500 tok/s for stories260K on these machines (../shared/llm/README); measured next to this engine under the same load it is roughly half this engine's figure",
    );
    Ok(())
}

/// The kernel's `bench --llm` rows of this run (saved by xtask in `kernel.jsonl`):
/// `(case, tok/s, tokens hash)`; missing cases and an unavailable kernel become notes.
fn kernel_rows(opts: &Opts, results: &mut Results) -> Vec<(String, f64, u32)> {
    let Ok(text) = std::fs::read_to_string(opts.out.join("kernel.jsonl")) else {
        results.note(
            "llm",
            "qemu-tcg: not measured (no kernel.jsonl: cargo xtask bench boots the kernel and writes it)",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in text.lines() {
        if crate::kernel::json_str(line, "group") != Some("llm") {
            continue;
        }
        let Some(case) = crate::kernel::json_str(line, "case") else {
            continue;
        };
        if let Some(why) = crate::kernel::json_str(line, "missing") {
            results.note("llm", format!("{case} on qemu-tcg: not measured: {why}"));
            continue;
        }
        let tok_s = crate::kernel::json_num(line, "value");
        let hash = crate::kernel::json_str(line, "tokens")
            .and_then(|h| u32::from_str_radix(h.trim_start_matches("0x"), 16).ok());
        if let (Some(v), Some(h)) = (tok_s, hash) {
            out.push((case.to_string(), v, h));
        }
    }
    out
}
