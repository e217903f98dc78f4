//! One generation as a state machine: the prompt's tokens, then one token step at a time, each
//! step one forward pass, until the model ends the text, the token limit is reached or the
//! context is full. Whoever drives it (the agent scheduler, `Execution::run_to_end`, the shell's
//! `llm-infer`) calls [`Session::step`] between its own checks (interrupts, time limits, credits),
//! so no inference ever runs unstoppably: a step is the unit of preemption.
//!
//! Decoding follows llama2.c's run.c `generate`: prompt tokens are forced, the token after the last
//! one is sampled, and a sampled BOS ends the text. Unlike run.c the prompt is not echoed: the
//! output is the completion alone, so `prompt + completion` is run.c's text.
//!
//! A session holds one of the service's session slots while it computes (see
//! [`LlmService`]): it waits in the service's queue until its turn
//! ([`Progress::Queued`]) and gives the slot back as soon as it finishes, fails, or is dropped.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use super::sampler::Sampler;
use super::service::LlmService;
use super::tokenizer::{Tokenizer, BOS};
use super::LlmError;

/// Why a generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The model produced the end-of-text token (BOS, which delimits texts in llama2.c's data).
    EndOfText,
    /// The token limit was reached.
    MaxTokens,
    /// Every position of the model's context (`seq_len`) is used.
    ContextFull,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::EndOfText => "end of text",
            StopReason::MaxTokens => "token limit",
            StopReason::ContextFull => "context full",
        })
    }
}

/// What one [`Session::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing: the service's session slots are all taken and this session waits for its turn.
    Queued,
    /// One forward pass ran; there is more to do.
    Stepped,
    /// The generation is over (the step may have run a last forward pass).
    Finished(StopReason),
}

/// How to sample. The default is greedy (temperature 0): the same prompt gives the same text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// 0 is greedy (argmax); above 0 the logits are divided by it before sampling.
    pub temperature: f32,
    /// Nucleus sampling threshold (used when `temperature > 0`; 0 or 1 sample from all tokens).
    pub topp: f32,
    /// The seed of the sampler's random state.
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 0.0,
            topp: 0.9,
            seed: 1,
        }
    }
}

/// Where a session is in the service's queue of session slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lease {
    /// Waiting, with its ticket (served in ticket order).
    Queued(u64),
    /// Holds a slot.
    Held,
    /// Gave its slot back (finished or failed).
    Released,
}

/// One generation in progress. Created by [`LlmService::begin`].
pub struct Session {
    service: Arc<LlmService>,
    /// The prompt's tokens, BOS first (never empty).
    prompt: Vec<usize>,
    /// The position of `token`: the next forward pass runs `token` at `pos`.
    pos: usize,
    token: usize,
    sampler: Sampler,
    max_tokens: usize,
    /// Tokens of the completion so far (the end-of-text token not counted).
    generated: usize,
    forward_passes: usize,
    /// The completion's bytes as the tokenizer decodes them.
    out: Vec<u8>,
    /// How much of `out` [`Session::take_text`] has handed out.
    streamed: usize,
    lease: Lease,
    stop: Option<StopReason>,
    failed: Option<LlmError>,
}

impl Session {
    pub(super) fn new(
        service: Arc<LlmService>,
        prompt: Vec<usize>,
        max_tokens: usize,
        sampling: Sampling,
        ticket: u64,
    ) -> Session {
        let token = prompt.first().copied().unwrap_or(BOS);
        let out_capacity = max_tokens.min(service.config().seq_len) * 4;
        Session {
            service,
            prompt,
            pos: 0,
            token,
            sampler: Sampler::new(sampling.temperature, sampling.topp, sampling.seed),
            max_tokens,
            generated: 0,
            forward_passes: 0,
            out: Vec::with_capacity(out_capacity),
            streamed: 0,
            lease: Lease::Queued(ticket),
            stop: None,
            failed: None,
        }
    }

    pub fn service(&self) -> &Arc<LlmService> {
        &self.service
    }

    /// Tokens of the prompt, BOS included.
    pub fn prompt_tokens(&self) -> usize {
        self.prompt.len()
    }

    /// Tokens generated so far (the end-of-text token not counted).
    pub fn generated(&self) -> usize {
        self.generated
    }

    /// Forward passes run so far (prompt and generated tokens).
    pub fn forward_passes(&self) -> usize {
        self.forward_passes
    }

    /// Why the generation stopped, once it has.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop
    }

    /// Takes a session slot if this session has none and it is its turn; whether it holds one.
    /// A finished session holds none and needs none.
    pub fn acquire(&mut self) -> bool {
        match self.lease {
            Lease::Held => true,
            Lease::Released => self.stop.is_some() || self.failed.is_some(),
            Lease::Queued(ticket) => {
                if self.service.try_acquire(ticket) {
                    self.lease = Lease::Held;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Whether the next [`Session::step`] runs a forward pass (what a caller charges for).
    pub fn next_step_computes(&self) -> bool {
        self.stop.is_none()
            && self.failed.is_none()
            && self.lease == Lease::Held
            && self.max_tokens > 0
            && self.pos < self.service.config().seq_len
    }

    /// Runs one token step: one forward pass (after taking a session slot, if it is this
    /// session's turn). Errors are the engine's; the session then holds no slot and every later
    /// step returns the same error.
    pub fn step(&mut self) -> Result<Progress, LlmError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        if let Some(stop) = self.stop {
            return Ok(Progress::Finished(stop));
        }
        if self.max_tokens == 0 {
            return Ok(self.finish(StopReason::MaxTokens));
        }
        if !self.acquire() {
            return Ok(Progress::Queued);
        }
        if self.pos >= self.service.config().seq_len {
            return Ok(self.finish(StopReason::ContextFull));
        }
        let next = match self.forward() {
            Ok(next) => next,
            Err(error) => {
                self.failed = Some(error);
                self.release();
                return Err(error);
            }
        };
        self.forward_passes += 1;
        self.pos += 1;
        if self.pos < self.prompt.len() {
            // Still reading the prompt: `next` was forced.
            self.token = next;
            return Ok(Progress::Stepped);
        }
        if next == BOS {
            return Ok(self.finish(StopReason::EndOfText));
        }
        let piece = self.service.tokenizer().decode(self.token, next);
        Tokenizer::push_piece(&mut self.out, piece);
        self.generated += 1;
        self.token = next;
        if self.generated >= self.max_tokens {
            return Ok(self.finish(StopReason::MaxTokens));
        }
        Ok(Progress::Stepped)
    }

    /// The forward pass of `token` at `pos`, and the token that follows it: the prompt's next
    /// token while there is one, else the sampler's choice.
    fn forward(&mut self) -> Result<usize, LlmError> {
        let mut model = self.service.model.lock();
        let logits = model.forward(self.token, self.pos)?;
        Ok(match self.prompt.get(self.pos + 1) {
            Some(&forced) => forced,
            None => self.sampler.sample(logits),
        })
    }

    fn finish(&mut self, stop: StopReason) -> Progress {
        self.stop = Some(stop);
        self.release();
        Progress::Finished(stop)
    }

    fn release(&mut self) {
        match core::mem::replace(&mut self.lease, Lease::Released) {
            Lease::Held => self.service.release(),
            Lease::Queued(ticket) => self.service.dequeue(ticket),
            Lease::Released => {}
        }
    }

    /// Appends the completion's text produced since the last call (complete UTF-8 sequences
    /// only: a character split across tokens waits for its last byte; invalid bytes become
    /// U+FFFD), for callers that print as the text grows. After the session finished it hands out
    /// everything left.
    pub fn take_text(&mut self, into: &mut String) {
        let last = self.stop.is_some() || self.failed.is_some();
        self.streamed += decode_utf8(&self.out[self.streamed..], into, last);
    }

    /// The whole completion so far as text (invalid UTF-8 replaced by U+FFFD).
    pub fn text(&self) -> String {
        let mut text = String::with_capacity(self.out.len());
        decode_utf8(&self.out, &mut text, true);
        text
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.release();
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("pos", &self.pos)
            .field("prompt_tokens", &self.prompt.len())
            .field("generated", &self.generated)
            .field("lease", &self.lease)
            .field("stop", &self.stop)
            .finish()
    }
}

/// Appends the UTF-8 text of `bytes` to `into`, each invalid sequence as one U+FFFD (as
/// `String::from_utf8_lossy`); an incomplete sequence at the end is kept back unless `last`.
/// Returns the bytes consumed.
fn decode_utf8(bytes: &[u8], into: &mut String, last: bool) -> usize {
    let mut at = 0;
    loop {
        let rest = &bytes[at..];
        match core::str::from_utf8(rest) {
            Ok(text) => {
                into.push_str(text);
                return bytes.len();
            }
            Err(error) => {
                let good = error.valid_up_to();
                // The prefix up to `valid_up_to` is UTF-8 by definition.
                if let Ok(text) = core::str::from_utf8(&rest[..good]) {
                    into.push_str(text);
                }
                match error.error_len() {
                    Some(bad) => {
                        into.push('\u{FFFD}');
                        at += good + bad;
                    }
                    None if last => {
                        into.push('\u{FFFD}');
                        return bytes.len();
                    }
                    None => return at + good,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode_utf8;
    use alloc::string::String;

    #[test]
    fn utf8_is_streamed_whole_characters_at_a_time() {
        let bytes = "héllo €".as_bytes();
        let mut out = String::new();
        let mut used = 0;
        // Feed one byte more each time: a split character waits for its last byte.
        for end in 1..=bytes.len() {
            used += decode_utf8(&bytes[used..end], &mut out, false);
            assert!(bytes.len() >= used);
        }
        assert_eq!(out, "héllo €");
        assert_eq!(used, bytes.len());
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut out = String::new();
        assert_eq!(decode_utf8(b"a\xffb\xe2\x82", &mut out, false), 3);
        assert_eq!(out, "a\u{FFFD}b");
        let mut all = String::new();
        assert_eq!(decode_utf8(b"a\xffb\xe2\x82", &mut all, true), 5);
        assert_eq!(all, String::from_utf8_lossy(b"a\xffb\xe2\x82"));
    }
}
