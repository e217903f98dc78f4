//! Trains the LoRA adapter `rainy` for the committed default model: rank 4 on all seven
//! projections of every layer, on stories that all have the rain plot (`corpus::stories_of`),
//! with the base weights frozen; then writes it as a PEFT adapter (`peft.rs`) and checks it with
//! the engine: `load_peft` of the files must compute candle's logits, and the greedy completions
//! with and without it are printed (with it, the stories turn rainy).
//!
//! `cargo xtask train-model --lora` runs it. Seeded and single-threaded like the model's
//! training, so it rebuilds the committed files byte for byte.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use crate::model::{Lora, Model};
use crate::rng::Rng;
use crate::{corpus, export, peft, schedule, CFG, PROMPTS, SEED, VOCAB};

/// The adapter's name (its directory under the model's).
pub const NAME: &str = "rainy";
/// Training steps by default.
pub const STEPS: usize = 120;
const RANK: usize = 4;
const ALPHA: usize = 8;
const STORIES: usize = 2_000;
const BATCH: usize = 4;
const WINDOW: usize = 256;

/// Trains on the model of `model_dir` for `steps` steps and writes `model_dir/NAME/`.
pub fn run(model_dir: &Path, steps: usize) -> Result<()> {
    let started = Instant::now();
    let read = |name: &str| {
        let path = model_dir.join(name);
        std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
    };
    let (ck, tok_bytes) = (read("model.bin")?, read("tokenizer.bin")?);
    let tok = kernel_wasm::llm::Tokenizer::from_bytes(&tok_bytes, VOCAB)
        .map_err(|e| anyhow!("tokenizer: {e}"))?;
    let stories = corpus::stories_of(SEED ^ 0x0a1a, STORIES, corpus::RAIN);
    let mut data: Vec<u32> = Vec::new();
    for s in &stories {
        let ids = tok.encode(s, true).map_err(|e| anyhow!("encode: {e}"))?;
        data.extend(ids.iter().map(|&i| i as u32));
    }
    println!(
        "adapter {NAME}: {} rain stories, {} tokens",
        stories.len(),
        data.len()
    );

    let dev = Device::Cpu;
    let base = export::load(&ck, CFG, &dev)?;
    let lora = Lora::new(CFG, RANK, ALPHA, SEED ^ 0x10ba, &dev)?;
    let params: usize = lora.vars().iter().map(|v| v.as_tensor().elem_count()).sum();
    println!("LoRA rank {RANK}, alpha {ALPHA}, all projections: {params} parameters");
    let mut opt = AdamW::new(
        lora.vars(),
        ParamsAdamW {
            lr: 0.0,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.0,
        },
    )?;
    let mut r = Rng::new(SEED ^ 0x5a17);
    let (peak, warmup) = (1e-2, 10usize);
    for step in 0..steps {
        let lr = schedule::learning_rate(step, steps, peak, warmup);
        opt.set_learning_rate(lr);
        let (x, y) = schedule::next_token_batch(&mut r, &data, BATCH, WINDOW, &dev)?;
        let logits = base
            .forward_with(&x, Some(&lora))?
            .reshape((BATCH * WINDOW, VOCAB))?;
        let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
        opt.backward_step(&loss)?;
        if step % 10 == 0 || step + 1 == steps {
            println!(
                "step {step:4}/{steps}  loss {:.3}  lr {lr:.5}  {:.0} s",
                loss.to_scalar::<f32>()?,
                started.elapsed().as_secs_f64()
            );
        }
    }

    let out = model_dir.join(NAME);
    std::fs::create_dir_all(&out).with_context(|| format!("{}", out.display()))?;
    let config = peft::config(&lora, "tinystories");
    let weights = peft::safetensors(&lora, CFG)?;
    std::fs::write(out.join("adapter_config.json"), &config)?;
    std::fs::write(out.join("adapter_model.safetensors"), &weights)?;
    println!(
        "wrote {} (adapter_config.json, adapter_model.safetensors: {} bytes)",
        out.display(),
        weights.len()
    );
    check(
        &base,
        &lora,
        &ck,
        &tok_bytes,
        config.as_bytes(),
        &weights,
        &data,
    )?;
    println!("done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The files through the engine's PEFT loader: its logits with the adapter must be candle's,
/// and its greedy completions are printed without and with it.
fn check(
    base: &Model,
    lora: &Lora,
    ck: &[u8],
    tok_bytes: &[u8],
    config: &[u8],
    weights: &[u8],
    data: &[u32],
) -> Result<()> {
    use kernel_wasm::llm::{generate, load_peft, Model as Engine, Tokenizer};
    let mut m = Engine::from_bytes(ck).map_err(|e| anyhow!("engine load: {e}"))?;
    let adapter = load_peft(config, weights, &m.config, NAME).map_err(|e| anyhow!("{e}"))?;
    let tok = Tokenizer::from_bytes(tok_bytes, VOCAB).map_err(|e| anyhow!("{e}"))?;
    let mut plain = Vec::new();
    for p in PROMPTS {
        plain.push(generate(&mut m, &tok, p, 256).map_err(|e| anyhow!("{e}"))?);
    }
    m.state_mut()
        .set_loras(vec![Arc::new(adapter)])
        .map_err(|e| anyhow!("{e}"))?;
    let n = 64;
    let ids = Tensor::from_vec(data[..n].to_vec(), (1, n), &Device::Cpu)?;
    let want = base
        .forward_with(&ids, Some(lora))?
        .squeeze(0)?
        .to_vec2::<f32>()?;
    let mut worst = 0f32;
    for (pos, &t) in data[..n].iter().enumerate() {
        let got = m.forward(t as usize, pos).map_err(|e| anyhow!("{e}"))?;
        for (g, w) in got.iter().zip(&want[pos]) {
            worst = worst.max((g - w).abs());
        }
    }
    println!("engine (load_peft) vs candle logits with the adapter: max difference {worst:.2e}");
    if worst > 1e-3 {
        bail!("the engine does not apply the adapter candle trained ({worst})");
    }
    for (p, without) in PROMPTS.iter().zip(plain) {
        let with = generate(&mut m, &tok, p, 256).map_err(|e| anyhow!("{e}"))?;
        println!("--- {p:?}\nwithout: {without}\nwith {NAME}: {with}");
    }
    Ok(())
}
