//! `llm-ask`: a WASI command that runs the host's language model on its arguments (joined by
//! spaces) and prints the completion.
//!
//! Build: `cargo build --release` (→ target/wasm32-wasip1/release/llm-ask.wasm)
//! Run:   `kwasm run --manifest manifest.toml llm-ask.wasm -- Once upon a time` with a model
//!        loaded (see docs/llm.md), or `wasm-run --caps llm:infer /bin/llm-ask.wasm -- ...`.

use std::process::ExitCode;

use kernel_wasm_sdk::llm;

fn main() -> ExitCode {
    let prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    // A completion of any length: the SDK retries a short buffer at the size the host reports.
    match llm::infer(&prompt) {
        Ok(completion) => {
            println!("{completion}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("llm-ask: {e}");
            ExitCode::FAILURE
        }
    }
}
