//! Profiling target for the LLM engine: greedy generation from a llama2.c checkpoint, with the
//! tokens/s of the run (the benchmark group `llm` is the measured figure; this is for `perf`).
//!
//! `cargo run --release -p kernel-wasm --example llm_generate -- CHECKPOINT TOKENIZER [PROMPT] [STEPS] [REPEAT]`

use std::time::Instant;

use kernel_wasm::llm::{generate, Model, Tokenizer};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: llm_generate CHECKPOINT TOKENIZER [PROMPT] [STEPS] [REPEAT]");
        std::process::exit(2);
    }
    let read = |p: &str| std::fs::read(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    let mut model = Model::from_bytes(&read(&args[1])).unwrap_or_else(|e| panic!("{e}"));
    let tok = Tokenizer::from_bytes(&read(&args[2]), model.config.vocab_size)
        .unwrap_or_else(|e| panic!("{e}"));
    let prompt = args.get(3).map_or("Once upon a time", String::as_str);
    let steps: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(256);
    let repeat: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(20);
    let mut text = String::new();
    let t = Instant::now();
    for _ in 0..repeat {
        text = generate(&mut model, &tok, prompt, steps).unwrap_or_else(|e| panic!("{e}"));
    }
    let secs = t.elapsed().as_secs_f64();
    println!("{text}");
    // The forward pass alone, as the C reference's timing loop does: BOS, then greedy, every
    // position computed (no stop at BOS).
    let t = Instant::now();
    let steps = steps.min(model.config.seq_len);
    for _ in 0..repeat {
        let mut token = 1;
        for pos in 0..steps {
            let logits = model.forward(token, pos).unwrap_or_else(|e| panic!("{e}"));
            token = kernel_wasm::llm::sampler::argmax(logits);
        }
    }
    let fsecs = t.elapsed().as_secs_f64();
    eprintln!(
        "forward only: {} positions in {fsecs:.3} s: {:.0} tok/s",
        steps * repeat,
        (steps * repeat) as f64 / fsecs
    );
    let positions = steps.min(model.config.seq_len) * repeat;
    eprintln!(
        "{positions} positions in {secs:.3} s: {:.0} tok/s",
        positions as f64 / secs
    );
}
