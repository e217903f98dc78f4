//! `bench --llm [--quick] [DIR]`: the LLM engine's tokens per second, in the shell — so in the
//! kernel under QEMU as on the host — for the cases of group `llm` of `cargo xtask bench`, which
//! runs the same [`LLM_CASES`] on the host with the same [`greedy_positions`].
//!
//! DIR (default [`DEFAULT_DIR`]) holds `stories260K.bin` (from `../shared/llm/`) and
//! `tinystories/model.bin` (the project's default model); a missing file skips its cases with a
//! `missing` row. The stories15M-shaped case needs no file: its weights are generated
//! ([`Weights::synthetic`]), for timing only. Each case prints one row of `results.json` as a
//! line of JSON, with the FNV-1a hash of its greedy tokens in `tokens`, so the host can check the
//! kernel computed the same text (the engine's invariant: the same bits on every target).

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::commands::read_bounded;
use super::{Shell, ShellStatus};
use crate::error::{Error, Result};
use crate::llm::{forward, sampler, Config, LlmError, Lora, LoraPair, State, Target, Weights};

/// Where `bench --llm` looks for model files without a DIR.
pub const DEFAULT_DIR: &str = "/bench/llm";
/// The largest checkpoint `bench --llm` reads.
const MAX_MODEL_BYTES: u64 = 256 << 20;

/// Where a case's model comes from.
#[derive(Debug, Clone, Copy)]
pub enum ModelSource {
    /// A checkpoint file, relative to the model directory.
    File(&'static str),
    /// Generated weights of this header's shape (timing only).
    Synthetic([i32; 7]),
}

/// One case of group `llm`.
#[derive(Debug, Clone, Copy)]
pub struct LlmCase {
    pub name: &'static str,
    pub what: &'static str,
    pub model: ModelSource,
    /// A generated LoRA adapter of this rank on every projection of every layer.
    pub lora_rank: Option<usize>,
    /// Positions per timed run (BOS, then greedy), and in a `--quick` run.
    pub positions: usize,
    pub quick_positions: usize,
}

/// stories15M's shape: dim 288, hidden 768, 6 layers, 6 heads (6 KV heads), vocab 32000,
/// seq_len 256.
pub const STORIES15M_SHAPE: [i32; 7] = [288, 768, 6, 6, 6, 32000, 256];

/// The cases, shared with the host bench.
pub const LLM_CASES: &[LlmCase] = &[
    LlmCase {
        name: "stories260K",
        what: "stories260K (../shared/llm), greedy from BOS",
        model: ModelSource::File("stories260K.bin"),
        lora_rank: None,
        positions: 256,
        quick_positions: 64,
    },
    LlmCase {
        name: "stories260K_lora8",
        what: "the same with one rank-8 LoRA adapter on all 7 projections of every layer",
        model: ModelSource::File("stories260K.bin"),
        lora_rank: Some(8),
        positions: 256,
        quick_positions: 64,
    },
    LlmCase {
        name: "tinystories",
        what: "the project's default model (models/tinystories), greedy from BOS",
        model: ModelSource::File("tinystories/model.bin"),
        lora_rank: None,
        positions: 256,
        quick_positions: 64,
    },
    LlmCase {
        name: "stories15M_shape",
        what: "generated weights of stories15M's shape (dim 288, 6 layers, 6 heads, vocab 32000), timing only",
        model: ModelSource::Synthetic(STORIES15M_SHAPE),
        lora_rank: None,
        positions: 128,
        quick_positions: 16,
    },
];

/// Loads a case's weights: `read` fetches a file relative to the model directory.
pub fn case_weights(
    case: &LlmCase,
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>>,
) -> Result<Weights> {
    let llm = |e: LlmError| Error::State {
        message: format!("bench: {}: {e}", case.name),
    };
    match case.model {
        ModelSource::File(f) => Weights::from_bytes(&read(f)?).map_err(llm),
        ModelSource::Synthetic(h) => {
            Weights::synthetic(&Config::from_header(h).map_err(llm)?, 15).map_err(llm)
        }
    }
}

/// A state for the case (with its generated adapter, if it has one).
pub fn case_state(case: &LlmCase, w: &Weights) -> core::result::Result<State, LlmError> {
    let mut s = State::new(w.config())?;
    if let Some(r) = case.lora_rank {
        s.set_loras(alloc::vec![Arc::new(synthetic_lora(w.config(), r, 7)?)])?;
    }
    Ok(s)
}

/// A LoRA adapter of rank `r` on every projection of every layer, values from `seed`, scale 2.
pub fn synthetic_lora(c: &Config, r: usize, seed: u64) -> core::result::Result<Lora, LlmError> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.02
    };
    let mut lora = Lora::new(format!("synthetic rank {r}"), c);
    for l in 0..c.n_layers {
        for t in Target::ALL {
            let (out, inp) = t.shape(c);
            let a = (0..r * inp).map(|_| next()).collect();
            let b = (0..out * r).map(|_| next()).collect();
            lora.insert(
                l,
                t,
                LoraPair {
                    rank: r,
                    scale: 2.0,
                    a,
                    b,
                },
            )?;
        }
    }
    Ok(lora)
}

/// Greedy decoding from BOS over `positions` positions (clamped to the context), every one
/// computed as run.c's timing loop does (no stop at BOS). Returns the FNV-1a hash of the tokens.
pub fn greedy_positions(
    w: &Weights,
    s: &mut State,
    positions: usize,
) -> core::result::Result<u32, LlmError> {
    let mut token = 1;
    let mut hash = 0x811c_9dc5u32;
    for pos in 0..positions.min(s.context()) {
        token = sampler::argmax(forward(w, s, token, pos)?);
        for b in (token as u32).to_le_bytes() {
            hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
    }
    Ok(hash)
}

/// One row as a line of JSON, with the hash of the greedy tokens.
pub fn llm_row(case: &str, runtime: &str, tok_s: f64, tokens: u32) -> String {
    format!(
        "{{\"group\": \"llm\", \"case\": \"{case}\", \"runtime\": \"{runtime}\", \"value\": {tok_s}, \"unit\": \"tok/s\", \"tokens\": \"{tokens:#010x}\"}}\n"
    )
}

/// The runtime name of the rows `bench --llm` prints.
pub const RUNTIME: &str = "engine";

pub(super) fn bench_llm(shell: &mut Shell, quick: bool, dir: Option<&str>) -> Result<ShellStatus> {
    let dir = dir.unwrap_or(DEFAULT_DIR).trim_end_matches('/');
    let clock = shell.platform().clock.clone();
    for case in LLM_CASES {
        let mut read =
            |f: &str| read_bounded(shell, "bench", &format!("{dir}/{f}"), MAX_MODEL_BYTES);
        let w = match case_weights(case, &mut read) {
            Ok(w) => w,
            Err(e) => {
                let e = format!("{e}").replace('"', "'");
                shell.print(&format!(
                    "{{\"group\": \"llm\", \"case\": \"{}\", \"missing\": \"{e}\"}}\n",
                    case.name
                ));
                continue;
            }
        };
        let llm = |e: LlmError| Error::State {
            message: format!("bench: {}: {e}", case.name),
        };
        let mut s = case_state(case, &w).map_err(llm)?;
        let positions = if quick {
            case.quick_positions
        } else {
            case.positions
        };
        let start = clock.monotonic_ns();
        let tokens = greedy_positions(&w, &mut s, positions).map_err(llm)?;
        let ns = clock.monotonic_ns().saturating_sub(start).max(1);
        let done = positions.min(s.context());
        let tok_s = done as f64 / (ns as f64 / 1e9);
        shell.print(&llm_row(case.name, RUNTIME, tok_s, tokens));
    }
    Ok(ShellStatus::Continue)
}
