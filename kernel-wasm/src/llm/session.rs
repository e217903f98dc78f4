//! One generation as a state machine: the prompt's tokens, then one token step at a time, each
//! step one forward pass, until the model ends the text, the token limit is reached or the
//! context is full. Whoever drives it (the agent scheduler, `Execution::run_to_end`, the shell's
//! `llm-infer`) calls [`Session::step`] between its own checks (interrupts, time limits, credits),
//! so no inference ever runs unstoppably: a step is the unit of preemption.
//!
//! A session wraps the engine's [`Generation`] (run.c's decoding: prompt tokens forced, the token
//! after the last one sampled, a sampled BOS ends the text) with what serving needs: a place in
//! the service's queue of session slots, its own [`State`] (KV cache sized for its prompt and
//! token limit, allocated only once it holds a slot and freed as soon as it finishes), the
//! adapters loaded when it started, and the completion's text. Unlike run.c the prompt is not
//! echoed: the output is the completion alone, so `prompt + completion` is run.c's text.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use super::generate::{Generation, Limits, Step, Stop};
use super::sampler::Sampler;
use super::service::LlmService;
use super::state::State;
use super::LlmError;

/// What one [`Session::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing: the service's session slots are all taken and this session waits for its turn.
    Queued,
    /// One forward pass ran; there is more to do.
    Stepped,
    /// The generation is over (the step may have run a last forward pass).
    Finished(Stop),
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

/// The part of a session that exists while it holds a slot.
struct Running {
    state: State,
    generation: Generation,
}

/// One generation in progress. Created by [`LlmService::begin`].
pub struct Session {
    service: Arc<LlmService>,
    prompt: String,
    prompt_tokens: usize,
    max_tokens: usize,
    sampling: Sampling,
    running: Option<Running>,
    /// Tokens of the completion (the end-of-text token not counted).
    generated: usize,
    forward_passes: usize,
    /// The completion's bytes as the tokenizer decodes them.
    out: Vec<u8>,
    /// How much of `out` [`Session::take_text`] has handed out.
    streamed: usize,
    lease: Lease,
    stop: Option<Stop>,
    failed: Option<LlmError>,
}

impl Session {
    pub(super) fn new(
        service: Arc<LlmService>,
        prompt: &str,
        prompt_tokens: usize,
        max_tokens: usize,
        sampling: Sampling,
        ticket: u64,
    ) -> Session {
        let out_capacity = max_tokens.min(service.config().seq_len) * 4;
        Session {
            service,
            prompt: String::from(prompt),
            prompt_tokens,
            max_tokens,
            sampling,
            running: None,
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
        self.prompt_tokens
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
    pub fn stop_reason(&self) -> Option<Stop> {
        self.stop
    }

    /// Takes a session slot if this session has none and it is its turn, and then allocates its
    /// state (KV cache for its prompt and token limit) with the service's adapters of this moment.
    /// Whether it can compute now (a finished session needs nothing). An error (no memory for the
    /// state) ends the session.
    pub fn acquire(&mut self) -> Result<bool, LlmError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        match self.lease {
            Lease::Held | Lease::Released => Ok(true),
            Lease::Queued(ticket) => {
                if !self.service.try_acquire(ticket) {
                    return Ok(false);
                }
                self.lease = Lease::Held;
                match self.start() {
                    Ok(running) => {
                        self.running = Some(running);
                        Ok(true)
                    }
                    Err(error) => Err(self.fail(error)),
                }
            }
        }
    }

    fn start(&self) -> Result<Running, LlmError> {
        let service = &*self.service;
        let context = self.prompt_tokens.saturating_add(self.max_tokens);
        let mut state = State::with_context(service.config(), context)?;
        state.set_loras(service.loras())?;
        let limits = Limits::new_tokens(self.max_tokens);
        let s = self.sampling;
        let sampler = Sampler::new(s.temperature, s.topp, s.seed);
        let generation =
            Generation::new(service.tokenizer(), &state, &self.prompt, limits, sampler)?;
        Ok(Running { state, generation })
    }

    /// Runs one token step: one forward pass (after taking a session slot, if it is this
    /// session's turn). Errors are the engine's; the session then holds no slot and every later
    /// step returns the same error.
    pub fn step(&mut self) -> Result<Progress, LlmError> {
        if let Some(stop) = self.stop {
            return Ok(Progress::Finished(stop));
        }
        if !self.acquire()? {
            return Ok(Progress::Queued);
        }
        let Session {
            service,
            running,
            out,
            ..
        } = self;
        let Some(Running { state, generation }) = running.as_mut() else {
            return Err(self.fail(LlmError::Adapter(String::from("session has no state"))));
        };
        let before = generation.position();
        let result = generation.step(service.weights(), state, service.tokenizer());
        let ran = generation.position().saturating_sub(before);
        self.forward_passes += ran;
        match result {
            Ok(Step::Prompt(_)) => Ok(Progress::Stepped),
            Ok(Step::Token { text, .. }) => {
                out.extend_from_slice(text);
                self.generated += 1;
                if self.generated >= self.max_tokens {
                    // The engine would say so at the next step, without a forward pass: end
                    // now, so the driver resumes its guest a turn earlier.
                    self.stop = Some(Stop::MaxTokens);
                    self.release();
                    return Ok(Progress::Finished(Stop::MaxTokens));
                }
                Ok(Progress::Stepped)
            }
            Ok(Step::Done(stop)) => {
                self.stop = Some(stop);
                self.release();
                Ok(Progress::Finished(stop))
            }
            Err(error) => Err(self.fail(error)),
        }
    }

    /// Ends the session with `error` (kept for later steps); returns it.
    fn fail(&mut self, error: LlmError) -> LlmError {
        self.failed = Some(error.clone());
        self.release();
        error
    }

    /// Gives the slot back (or leaves the queue) and frees the state.
    fn release(&mut self) {
        self.running = None;
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
            .field("prompt_tokens", &self.prompt_tokens)
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
