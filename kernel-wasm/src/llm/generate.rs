//! Generation: a prompt, then one token per [`Generation::step`], under limits, exactly as
//! run.c's `generate` (BOS prepended, prompt tokens forced, stop when BOS is sampled).
//!
//! The step-wise form is what a scheduler drives (one forward pass per turn); [`Generation::run`]
//! loops it with an interrupt callback (a deadline, Ctrl-C) checked between tokens, so the engine
//! needs no clock of its own.

use alloc::string::String;
use alloc::vec::Vec;

use super::forward::forward;
use super::tokenizer::{Tokenizer, BOS};
use super::{LlmError, Model, Sampler, State, Weights};

/// Limits of one generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Tokens generated after the prompt, at most.
    pub max_new_tokens: usize,
    /// Positions (prompt tokens, BOS included, plus generated ones) at most; also bounded by the
    /// state's context. run.c's `steps`.
    pub max_positions: usize,
}

impl Limits {
    /// At most `n` new tokens, within the context.
    pub fn new_tokens(n: usize) -> Limits {
        Limits {
            max_new_tokens: n,
            max_positions: usize::MAX,
        }
    }
}

/// Why a generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The model produced BOS (the end of a text in llama2.c's training data).
    EndOfText,
    /// [`Limits::max_new_tokens`] or [`Limits::max_positions`] reached.
    MaxTokens,
    /// The state's context is full.
    ContextFull,
    /// The interrupt callback of [`Generation::run`] said stop (a deadline, Ctrl-C).
    Interrupted,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::EndOfText => "end of text",
            Stop::MaxTokens => "token limit",
            Stop::ContextFull => "context full",
            Stop::Interrupted => "interrupted",
        }
    }
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'t> {
    /// A prompt token was consumed; its text (run.c echoes the prompt).
    Prompt(&'t [u8]),
    /// A token was generated; its text. Either text is already filtered as run.c's
    /// `safe_printf` does, and may be a part of a UTF-8 sequence (byte tokens).
    Token { id: usize, text: &'t [u8] },
    /// The generation is over; every later step says the same.
    Done(Stop),
}

/// One generation in progress: the prompt's tokens, the sampler, the position.
pub struct Generation {
    prompt: Vec<usize>,
    sampler: Sampler,
    limits: Limits,
    pos: usize,
    token: usize,
    generated: usize,
    stop: Option<Stop>,
}

impl Generation {
    /// Encodes `prompt` (BOS first) for a generation in `state`. Refuses a prompt that cannot fit
    /// the state's context (checked on its length before encoding, so a huge prompt costs
    /// nothing) and a tokenizer whose vocabulary is not the model's.
    pub fn new(
        tok: &Tokenizer,
        state: &State,
        prompt: &str,
        limits: Limits,
        mut sampler: Sampler,
    ) -> Result<Generation, LlmError> {
        let ctx = state.context();
        if tok.vocab_size() != state.config().vocab_size {
            return Err(LlmError::VocabMismatch);
        }
        // Every token is at most max_token_length bytes, so a prompt longer than that many
        // bytes per position cannot fit.
        if prompt.len() / tok.max_token_length().max(1) >= ctx {
            return Err(LlmError::PromptTooLong);
        }
        let tokens = tok.encode(prompt, true)?;
        if tokens.len() > ctx {
            return Err(LlmError::PromptTooLong);
        }
        sampler.reserve(tok.vocab_size());
        Ok(Generation {
            token: tokens[0],
            prompt: tokens,
            sampler,
            limits,
            pos: 0,
            generated: 0,
            stop: None,
        })
    }

    /// Tokens of the prompt, BOS included.
    pub fn prompt_tokens(&self) -> usize {
        self.prompt.len()
    }

    /// Tokens generated so far.
    pub fn generated(&self) -> usize {
        self.generated
    }

    /// The next position to compute.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Why it ended, once it has.
    pub fn stopped(&self) -> Option<Stop> {
        self.stop
    }

    /// Ends the generation (an interrupt, a deadline, a cancelled request).
    pub fn interrupt(&mut self) {
        self.stop.get_or_insert(Stop::Interrupted);
    }

    /// Runs one forward pass (or none, when a limit is reached first) and says what it produced.
    /// Allocates nothing. An error (a failing activation hook) ends the generation; the state can
    /// serve a new one.
    pub fn step<'t>(
        &mut self,
        w: &Weights,
        s: &mut State,
        tok: &'t Tokenizer,
    ) -> Result<Step<'t>, LlmError> {
        if let Some(stop) = self.stop {
            return Ok(Step::Done(stop));
        }
        let in_prompt = self.pos + 1 < self.prompt.len();
        let stop = if self.pos >= self.limits.max_positions {
            Some(Stop::MaxTokens)
        } else if self.pos >= s.context() {
            Some(Stop::ContextFull)
        } else if !in_prompt && self.generated >= self.limits.max_new_tokens {
            Some(Stop::MaxTokens)
        } else {
            None
        };
        if let Some(stop) = stop {
            self.stop = Some(stop);
            return Ok(Step::Done(stop));
        }
        let logits = match forward(w, s, self.token, self.pos) {
            Ok(l) => l,
            Err(e) => {
                self.stop = Some(Stop::Interrupted);
                return Err(e);
            }
        };
        let prev = self.token;
        self.pos += 1;
        if in_prompt {
            self.token = self.prompt[self.pos];
            return Ok(Step::Prompt(Tokenizer::safe_piece(
                tok.decode(prev, self.token),
            )));
        }
        let next = self.sampler.sample(logits);
        if next == BOS {
            self.stop = Some(Stop::EndOfText);
            return Ok(Step::Done(Stop::EndOfText));
        }
        self.token = next;
        self.generated += 1;
        Ok(Step::Token {
            id: next,
            text: Tokenizer::safe_piece(tok.decode(prev, next)),
        })
    }

    /// Steps until the generation ends, appending text to `out` (the prompt's too when
    /// `echo_prompt`), and asking `interrupt` before every step whether to stop.
    pub fn run(
        &mut self,
        w: &Weights,
        s: &mut State,
        tok: &Tokenizer,
        out: &mut Vec<u8>,
        echo_prompt: bool,
        interrupt: &mut dyn FnMut() -> bool,
    ) -> Result<Stop, LlmError> {
        loop {
            if self.stop.is_none() && interrupt() {
                self.interrupt();
            }
            match self.step(w, s, tok)? {
                Step::Prompt(text) if echo_prompt => out.extend_from_slice(text),
                Step::Prompt(_) => {}
                Step::Token { text, .. } => out.extend_from_slice(text),
                Step::Done(stop) => return Ok(stop),
            }
        }
    }
}

/// Greedy generation as run.c `generate` with temperature 0: BOS + `prompt`, `steps` positions
/// counting the prompt's (clamped to `seq_len`), stopping at BOS; the prompt is echoed.
pub fn generate(
    model: &mut Model,
    tok: &Tokenizer,
    prompt: &str,
    steps: usize,
) -> Result<String, LlmError> {
    generate_with(model, tok, &mut Sampler::greedy(), prompt, steps)
}

/// [`generate`] with any [`Sampler`] (its random state advances).
pub fn generate_with(
    model: &mut Model,
    tok: &Tokenizer,
    sampler: &mut Sampler,
    prompt: &str,
    steps: usize,
) -> Result<String, LlmError> {
    let limits = Limits {
        max_new_tokens: usize::MAX,
        max_positions: steps,
    };
    let (weights, state) = model.parts();
    let mut g = Generation::new(tok, state, prompt, limits, sampler.clone())?;
    let mut out = Vec::new();
    let r = g.run(weights, state, tok, &mut out, true, &mut || false);
    *sampler = g.sampler;
    r?;
    Ok(Tokenizer::to_text(&out))
}
