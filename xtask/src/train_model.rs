//! `cargo xtask train-model [--steps N] [--out DIR]`: trains the project's default LLM with
//! `tools/train-model` (its own workspace and lockfile: candle never enters the host workspace or
//! the kernel build) and writes `models/tinystories/{model.bin,tokenizer.bin}`. With `--lora`, it
//! trains the model's LoRA adapter instead: `models/tinystories/rainy/` (a PEFT directory).
//!
//! One thread (`RAYON_NUM_THREADS=1`): every step is deterministic, so a run gives the same bytes
//! each time (`models/README.md` has the SHA-256 of the committed files, and the one known
//! difference: today's tool trains a `model.bin` other than the committed one), and on a shared
//! machine one thread trains faster than two that wait for each other.

use anyhow::{bail, Result};
use xshell::{cmd, Shell};

pub fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let mut pass: Vec<String> = Vec::new();
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--steps" | "--out" => {
                let Some(v) = rest.next() else {
                    bail!("cargo xtask train-model: {a} needs a value");
                };
                pass.push(a.clone());
                pass.push(v.clone());
            }
            "--lora" => pass.push(a.clone()),
            other => bail!(
                "cargo xtask train-model: unknown argument {other:?} (usage: cargo xtask train-model [--lora] [--steps N] [--out DIR])"
            ),
        }
    }
    crate::step(if args.iter().any(|a| a == "--lora") {
        "tools/train-model --lora: rain corpus, LoRA training, PEFT export, check with the engine"
    } else {
        "tools/train-model: corpus, tokenizer, training, export, check with the engine"
    });
    let _threads = sh.push_env("RAYON_NUM_THREADS", "1");
    cmd!(
        sh,
        "cargo run --release --manifest-path tools/train-model/Cargo.toml -- {pass...}"
    )
    .run()?;
    Ok(())
}
