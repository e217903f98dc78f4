//! A llama2.c-compatible inference engine: `no_std` + `alloc`, `f32`, no external crates.
//!
//! [`Model::from_bytes`] loads a llama2.c legacy checkpoint, [`Tokenizer::from_bytes`] its
//! `tokenizer.bin`, and [`generate`] runs greedy decoding exactly as run.c's `generate`. Every
//! input is treated as hostile: sizes are checked against the file before any allocation and
//! failures are an [`LlmError`], never a panic. See `docs/llm.md`.

pub mod abi;
pub mod boot;
pub mod checkpoint;
pub mod math;
pub mod model;
pub mod sampler;
pub mod service;
pub mod session;
pub mod tokenizer;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

pub use checkpoint::Config;
pub use model::Model;
pub use sampler::Sampler;
pub use service::{LlmLimits, LlmService};
pub use session::Session;
pub use tokenizer::Tokenizer;

/// Why a checkpoint, tokenizer or request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// The position is beyond `seq_len`.
    ContextFull,
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
        }
    }
}

/// Greedy generation as run.c `generate` with temperature 0: BOS + `prompt`, `steps` positions
/// counting the prompt's (clamped to `seq_len`), stopping at BOS; prompt tokens are echoed.
pub fn generate(
    model: &mut Model,
    tok: &Tokenizer,
    prompt: &str,
    steps: usize,
) -> Result<String, LlmError> {
    generate_with(model, tok, &mut Sampler::new(0.0, 0.9, 1), prompt, steps)
}

/// [`generate`] with any [`Sampler`].
pub fn generate_with(
    model: &mut Model,
    tok: &Tokenizer,
    sampler: &mut Sampler,
    prompt: &str,
    steps: usize,
) -> Result<String, LlmError> {
    if tok.vocab_size() != model.config.vocab_size {
        return Err(LlmError::VocabMismatch);
    }
    let prompt_tokens = tok.encode(prompt, true)?;
    let steps = steps.min(model.config.seq_len);
    let mut out = Vec::new();
    let mut token = prompt_tokens[0];
    let mut pos = 0;
    while pos < steps {
        let logits = model.forward(token, pos)?;
        let next = if pos + 1 < prompt_tokens.len() {
            prompt_tokens[pos + 1]
        } else {
            sampler.sample(logits)
        };
        pos += 1;
        if next == tokenizer::BOS {
            break;
        }
        Tokenizer::push_piece(&mut out, tok.decode(token, next));
        token = next;
    }
    Ok(Tokenizer::to_text(&out))
}

#[cfg(test)]
mod tests;
