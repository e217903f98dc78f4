//! Trains the project's default LLM: a tiny llama2.c-format model on stories the project writes
//! itself (`corpus.rs`), with its own BPE tokenizer (`bpe.rs`), in candle on the CPU, then
//! exports `model.bin` + `tokenizer.bin` and checks them with the engine itself
//! (`kernel_wasm::llm`): the logits must agree with candle's, and greedy completions are printed.
//!
//! `cargo xtask train-model [--steps N] [--out DIR]` runs it (release build, 2 threads);
//! everything is seeded, so a rebuild on the same thread count gives the same files.
//! `--lora` instead trains the model's LoRA adapter (`adapter.rs`) on the model in `--out`.

mod adapter;
mod bpe;
mod corpus;
mod export;
mod model;
mod peft;
mod rng;
mod schedule;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use model::{Cfg, Model};
use rng::Rng;

const SEED: u64 = 0x5eed_2026;
const STORIES: usize = 12_000;
const VOCAB: usize = 512;
const CFG: Cfg = Cfg {
    dim: 64,
    hidden: 172,
    layers: 4,
    heads: 4,
    vocab: VOCAB,
    seq_len: 256,
};
const BATCH: usize = 8;
const WINDOW: usize = 256;
const PROMPTS: [&str; 4] = [
    "Once upon a time",
    "Lily and Tom went to the park",
    "One day, a little dog",
    "The sun was",
];

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(arg(&args, "--out").unwrap_or_else(|| "models/tinystories".into()));
    if args.iter().any(|a| a == "--lora") {
        let steps: usize = arg(&args, "--steps").map_or(Ok(adapter::STEPS), |s| s.parse())?;
        return adapter::run(&out, steps);
    }
    let steps: usize = arg(&args, "--steps").map_or(Ok(400), |s| s.parse())?;
    let started = Instant::now();

    let stories = corpus::stories(SEED, STORIES);
    let chars: usize = stories.iter().map(String::len).sum();
    println!("corpus: {} stories, {chars} bytes", stories.len());
    let vocab = bpe::train(&stories, VOCAB);
    let tok_bytes = vocab.to_bytes();
    let tok = kernel_wasm::llm::Tokenizer::from_bytes(&tok_bytes, VOCAB)
        .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
    let mut data: Vec<u32> = Vec::new();
    for s in &stories {
        let ids = tok
            .encode(s, true)
            .map_err(|e| anyhow::anyhow!("encode: {e}"))?;
        data.extend(ids.iter().map(|&i| i as u32));
    }
    println!(
        "tokenizer: {VOCAB} tokens; corpus {} tokens ({:.2} bytes/token)",
        data.len(),
        chars as f64 / data.len() as f64
    );

    let dev = Device::Cpu;
    let model = Model::new(CFG, SEED, &dev)?;
    let params: usize = model
        .vars()
        .iter()
        .map(|v| v.as_tensor().elem_count())
        .sum();
    println!("model: {CFG:?}, {params} parameters");
    let mut opt = AdamW::new(
        model.vars(),
        ParamsAdamW {
            lr: 0.0,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.01,
        },
    )?;
    let mut r = Rng::new(SEED ^ 0xba7c);
    let (peak, warmup) = (4e-3, 30usize);
    let mut avg = 0.0;
    for step in 0..steps {
        let lr = schedule::learning_rate(step, steps, peak, warmup);
        opt.set_learning_rate(lr);
        let (x, y) = schedule::next_token_batch(&mut r, &data, BATCH, WINDOW, &dev)?;
        let logits = model.forward(&x)?.reshape((BATCH * WINDOW, VOCAB))?;
        let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
        opt.backward_step(&loss)?;
        let l = loss.to_scalar::<f32>()? as f64;
        avg = if step == 0 { l } else { 0.95 * avg + 0.05 * l };
        if step % 25 == 0 || step + 1 == steps {
            println!(
                "step {step:4}/{steps}  loss {l:.3} (avg {avg:.3})  lr {lr:.5}  {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }

    let ck = export::checkpoint(&model)?;
    std::fs::create_dir_all(&out).with_context(|| format!("{}", out.display()))?;
    std::fs::write(out.join("model.bin"), &ck)?;
    std::fs::write(out.join("tokenizer.bin"), &tok_bytes)?;
    println!(
        "wrote {} ({} bytes) and tokenizer.bin ({} bytes)",
        out.join("model.bin").display(),
        ck.len(),
        tok_bytes.len()
    );
    check(&model, &ck, &tok_bytes, &data)?;
    println!("done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Loads the export with the engine: its logits must be candle's, and its completions text.
fn check(model: &Model, ck: &[u8], tok_bytes: &[u8], data: &[u32]) -> Result<()> {
    use kernel_wasm::llm::{generate, Model as Engine, Tokenizer};
    let mut m = Engine::from_bytes(ck).map_err(|e| anyhow::anyhow!("engine load: {e}"))?;
    let tok = Tokenizer::from_bytes(tok_bytes, VOCAB).map_err(|e| anyhow::anyhow!("{e}"))?;
    let n = 64;
    let ids = Tensor::from_vec(data[..n].to_vec(), (1, n), &Device::Cpu)?;
    let want = model.forward(&ids)?.squeeze(0)?.to_vec2::<f32>()?;
    let mut worst = 0f32;
    for (pos, &t) in data[..n].iter().enumerate() {
        let got = m
            .forward(t as usize, pos)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for (g, w) in got.iter().zip(&want[pos]) {
            worst = worst.max((g - w).abs());
        }
    }
    println!("engine vs candle logits: max difference {worst:.2e}");
    if worst > 1e-3 {
        bail!("the engine does not compute what candle trained ({worst})");
    }
    for p in PROMPTS {
        let text = generate(&mut m, &tok, p, 256).map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("--- {p:?}\n{text}");
    }
    Ok(())
}
