//! A llama2.c-compatible inference engine: `no_std` + `alloc`, `f32`, no runtime beyond `libm`.
//!
//! The model is split in two so that many inferences share one copy of it:
//! - [`Weights`] (immutable, shared as `Arc<Weights>`): [`Weights::from_bytes`] loads a llama2.c
//!   legacy checkpoint into one `f32` buffer;
//! - [`State`] (one per session): KV cache and scratch, allocated up front and bounded by the
//!   config, plus the session's adapters ([`State::set_loras`], [`State::add_hook`]).
//!
//! [`forward()`]`(&Weights, &mut State, token, pos)` computes one position's logits;
//! [`Tokenizer`] reads `tokenizer.bin` and encodes/decodes piece by piece; [`Sampler`] picks tokens
//! (greedy, or seeded temperature/top-p); [`Generation`] runs a prompt and then one token per
//! step under [`Limits`] (what a scheduler drives), and [`generate()`] is run.c's `generate`.
//! [`Model`] bundles one `Arc<Weights>` and one `State` for single-session use.
//!
//! Every input is treated as hostile: sizes are checked against the file before any allocation
//! and failures are an [`LlmError`], never a panic. See `docs/llm.md`.

pub mod abi;
pub mod adapter;
pub mod boot;
pub mod checkpoint;
pub mod forward;
pub mod generate;
pub mod lora;
pub mod matmul;
pub mod model;
pub mod peft;
pub mod sampler;
pub mod service;
pub mod session;
pub mod state;
pub mod tokenizer;
pub mod wasm_adapter;
pub mod weights;

use alloc::string::String;
use core::fmt;

pub use adapter::{ActivationHook, Target};
pub use checkpoint::Config;
pub use forward::forward;
pub use generate::{generate, generate_with, Generation, Limits, Step, Stop};
pub use lora::{Lora, LoraPair};
pub use model::Model;
pub use peft::{load_peft, load_peft_archive, load_peft_archive_as, load_peft_as, RopeLayout};
pub use sampler::Sampler;
pub use service::{LlmLimits, LlmService};
pub use session::Session;
pub use state::State;
pub use tokenizer::Tokenizer;
pub use wasm_adapter::{LayerChoice, WasmAdapter, WasmAdapterConfig};
pub use weights::Weights;

/// Why a checkpoint, tokenizer or request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LlmError {
    /// A header field is out of range (which one).
    BadHeader(&'static str),
    /// Sizes in the header overflow `usize`.
    SizeOverflow,
    /// The checkpoint is shorter than its header says.
    Truncated,
    /// The checkpoint is longer than its header says.
    TrailingBytes,
    /// KV cache and attention scratch would exceed the bound of [`checkpoint::Config::check`].
    StateTooLarge,
    /// The tokenizer ends early.
    TokenizerTruncated,
    /// A negative or too-long token length (or a non-positive maximum).
    TokenizerBadLength,
    /// A token is not UTF-8.
    TokenizerNotUtf8,
    /// Bytes follow the last token.
    TokenizerTrailingBytes,
    /// A token needed for encoding (`" "` or a byte token) is missing.
    TokenMissing,
    /// The tokenizer and model vocabularies differ.
    VocabMismatch,
    /// A token id beyond the vocabulary.
    TokenOutOfRange,
    /// The position is beyond the state's context.
    ContextFull,
    /// The prompt does not fit the context.
    PromptTooLong,
    /// A state used with weights of another shape.
    StateMismatch,
    /// An allocation the file asked for failed.
    OutOfMemory,
    /// An activation hook (WASM adapter) failed: which, and why.
    Adapter(String),
    /// A LoRA adapter does not fit the model: the tensor and the mismatch.
    LoraShape(String),
    /// A LoRA adapter's files are malformed: what and where.
    LoraFormat(String),
}

impl fmt::Display for LlmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LlmError::BadHeader(w) => write!(f, "checkpoint header: bad {w}"),
            LlmError::SizeOverflow => f.write_str("checkpoint header: sizes overflow"),
            LlmError::Truncated => f.write_str("checkpoint truncated"),
            LlmError::TrailingBytes => f.write_str("checkpoint has trailing bytes"),
            LlmError::StateTooLarge => f.write_str("checkpoint: KV cache exceeds the limit"),
            LlmError::TokenizerTruncated => f.write_str("tokenizer truncated"),
            LlmError::TokenizerBadLength => f.write_str("tokenizer: bad token length"),
            LlmError::TokenizerNotUtf8 => f.write_str("tokenizer: token is not UTF-8"),
            LlmError::TokenizerTrailingBytes => f.write_str("tokenizer has trailing bytes"),
            LlmError::TokenMissing => f.write_str("tokenizer lacks a token needed to encode"),
            LlmError::VocabMismatch => f.write_str("tokenizer and model vocabularies differ"),
            LlmError::TokenOutOfRange => f.write_str("token id out of range"),
            LlmError::ContextFull => f.write_str("position beyond the context length"),
            LlmError::PromptTooLong => f.write_str("prompt longer than the context"),
            LlmError::StateMismatch => f.write_str("state made for another model"),
            LlmError::OutOfMemory => f.write_str("out of memory"),
            LlmError::Adapter(m) => write!(f, "adapter failed: {m}"),
            LlmError::LoraShape(m) => write!(f, "LoRA does not fit the model: {m}"),
            LlmError::LoraFormat(m) => write!(f, "LoRA adapter malformed: {m}"),
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod error_tests {
    use super::LlmError;
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;

    /// The shell and `llm-info` print these after a colon: each is its own, lower case (but
    /// the name LoRA), and carries the detail it was given.
    #[test]
    fn every_error_says_what_failed_in_its_own_words() {
        let all = [
            LlmError::BadHeader("dim"),
            LlmError::SizeOverflow,
            LlmError::Truncated,
            LlmError::TrailingBytes,
            LlmError::StateTooLarge,
            LlmError::TokenizerTruncated,
            LlmError::TokenizerBadLength,
            LlmError::TokenizerNotUtf8,
            LlmError::TokenizerTrailingBytes,
            LlmError::TokenMissing,
            LlmError::VocabMismatch,
            LlmError::TokenOutOfRange,
            LlmError::ContextFull,
            LlmError::PromptTooLong,
            LlmError::StateMismatch,
            LlmError::OutOfMemory,
            LlmError::Adapter("hook x: NaN".into()),
            LlmError::LoraShape("layers.0.q_proj: given twice".into()),
            LlmError::LoraFormat("adapter_config.json: no r".into()),
        ];
        let texts: Vec<String> = all.iter().map(|e| e.to_string()).collect();
        for (i, text) in texts.iter().enumerate() {
            assert!(!texts[..i].contains(text), "{text}: twice");
            let lower = text.starts_with(|c: char| c.is_ascii_lowercase());
            assert!(lower || text.starts_with("LoRA "), "{text}");
        }
        assert_eq!(texts[0], "checkpoint header: bad dim");
        assert_eq!(texts[16], "adapter failed: hook x: NaN");
        assert_eq!(
            texts[17],
            "LoRA does not fit the model: layers.0.q_proj: given twice"
        );
        assert_eq!(
            texts[18],
            "LoRA adapter malformed: adapter_config.json: no r"
        );
    }
}
