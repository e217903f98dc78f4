//! The shared LLM service: one loaded model (checkpoint + tokenizer) that every instance of a
//! runtime reaches through the `llm` host module, the shell's `llm-*` commands, and the policy
//! that keeps it from taking the machine: bounded prompts and completions, a bounded number of
//! sessions computing at once (the rest wait in a first-come, first-served queue), and a price in
//! credits per token step.
//!
//! The service is `Arc`-shared: the runtime holds one ([`Runtime::set_llm`]) and copies it into
//! each instance's [`HostContext`](crate::HostContext) at instantiation. It never runs a forward
//! pass on its own: [`Session`]s do, one step at a time, driven by whoever can preempt them.
//!
//! Sessions and slots: the engine keeps one run state (KV cache), so one session computes at a time
//! ([`MAX_SESSIONS`] is 1); a session waiting for the slot makes no progress and costs nothing. A
//! session gives its slot back when it finishes, fails or is dropped (an agent killed mid-inference
//! frees it).
//!
//! [`Runtime::set_llm`]: crate::Runtime::set_llm

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use core::fmt;

use spin::Mutex;

use super::checkpoint::Config;
use super::model::Model;
use super::session::{Sampling, Session};
use super::tokenizer::Tokenizer;
use super::LlmError;
use crate::error::Error;
use crate::vfs::{self, Vfs};

/// Bounds of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LlmLimits {
    /// Tokens one `llm.infer` generates at most (also the shell's default for `llm-infer`).
    pub max_tokens: usize,
    /// The longest prompt accepted, in bytes (tokenizing is one uninterruptible step whose time
    /// grows with the square of the prompt's length).
    pub max_prompt_bytes: usize,
    /// Credits one token step (one forward pass: prompt tokens too) costs an instance with a
    /// pacing budget.
    pub credits_per_token: u64,
}

/// Sessions computing at once; others wait for a slot. The engine keeps one run state (KV cache)
/// per model, so one.
pub const MAX_SESSIONS: usize = 1;

/// Generated tokens of an `llm.infer` unless the service is configured otherwise.
pub const DEFAULT_MAX_TOKENS: usize = 256;
/// The longest prompt unless configured otherwise.
pub const DEFAULT_MAX_PROMPT_BYTES: usize = 2048;

impl Default for LlmLimits {
    fn default() -> Self {
        LlmLimits {
            max_tokens: DEFAULT_MAX_TOKENS,
            max_prompt_bytes: DEFAULT_MAX_PROMPT_BYTES,
            credits_per_token: 1,
        }
    }
}

/// Why an inference could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InferError {
    /// The prompt is longer than [`LlmLimits::max_prompt_bytes`].
    PromptTooLong { bytes: usize, limit: usize },
    /// The prompt's tokens (BOS included) do not fit the model's context.
    ContextFull { tokens: usize, seq_len: usize },
    /// The engine refused (tokenizing failed).
    Engine(LlmError),
}

impl fmt::Display for InferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InferError::PromptTooLong { bytes, limit } => {
                write!(f, "the prompt has {bytes} bytes, the limit is {limit}")
            }
            InferError::ContextFull { tokens, seq_len } => write!(
                f,
                "the prompt is {tokens} tokens long, the model's context holds {seq_len}"
            ),
            InferError::Engine(e) => write!(f, "{e}"),
        }
    }
}

impl From<InferError> for Error {
    fn from(e: InferError) -> Error {
        Error::Llm {
            message: e.to_string(),
        }
    }
}

/// The queue of session slots: how many are taken and who waits, by ticket.
#[derive(Debug, Default)]
struct Slots {
    active: usize,
    next_ticket: u64,
    waiting: BTreeSet<u64>,
}

/// A loaded model shared by every instance of a runtime. See the module documentation.
pub struct LlmService {
    name: String,
    config: Config,
    tokenizer: Tokenizer,
    pub(super) model: Mutex<Model>,
    limits: LlmLimits,
    slots: Mutex<Slots>,
}

impl fmt::Debug for LlmService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmService")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("limits", &self.limits)
            .finish()
    }
}

/// Adapters loaded at once.
pub const MAX_ADAPTERS: usize = 8;
/// The largest `adapter_config.json` read.
pub const MAX_ADAPTER_CONFIG_BYTES: u64 = 64 << 10;
/// The largest `adapter_model.safetensors` read.
pub const MAX_ADAPTER_WEIGHTS_BYTES: u64 = 64 << 20;

/// Why an adapter was refused or could not be unloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdapterError {
    /// This engine does not apply LoRA adapters (yet).
    Unsupported,
    /// The adapter's files are missing or malformed, or do not match the model (why).
    Bad(String),
    /// [`MAX_ADAPTERS`] are loaded.
    Limit,
    /// No adapter has this id.
    NoSuchAdapter(u32),
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdapterError::Unsupported => {
                f.write_str("this engine does not apply LoRA adapters yet")
            }
            AdapterError::Bad(why) => f.write_str(why),
            AdapterError::Limit => write!(f, "{MAX_ADAPTERS} adapters are loaded already"),
            AdapterError::NoSuchAdapter(id) => write!(f, "there is no adapter {id}"),
        }
    }
}

/// The largest checkpoint the service loads from a file system (the project's own model and
/// stories15M are far below).
pub const MAX_CHECKPOINT_BYTES: u64 = 512 << 20;
/// The largest tokenizer file.
pub const MAX_TOKENIZER_BYTES: u64 = 16 << 20;

/// A model name for listings: printable, one line, at most 64 characters.
fn clean_name(name: &str) -> String {
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .take(64)
        .collect();
    if name.is_empty() {
        String::from("model")
    } else {
        name
    }
}

impl LlmService {
    /// Loads a llama2.c checkpoint and its tokenizer (both hostile input: a clear error, never a
    /// panic); `name` names the model in `info`.
    pub fn from_bytes(
        name: &str,
        checkpoint: &[u8],
        tokenizer: &[u8],
        limits: LlmLimits,
    ) -> Result<LlmService, LlmError> {
        let model = Model::from_bytes(checkpoint)?;
        let config = model.config;
        let tokenizer = Tokenizer::from_bytes(tokenizer, config.vocab_size)?;
        Ok(LlmService {
            name: clean_name(name),
            config,
            tokenizer,
            model: Mutex::new(model),
            limits,
            slots: Mutex::new(Slots::default()),
        })
    }

    /// Loads the checkpoint and tokenizer at absolute paths of `vfs`; errors name the file.
    pub fn from_vfs(
        name: &str,
        vfs: &dyn Vfs,
        checkpoint: &str,
        tokenizer: &str,
        limits: LlmLimits,
    ) -> Result<LlmService, Error> {
        let read = |path: &str, max: u64| {
            vfs::read_file(vfs, path, max).map_err(|error| Error::Fs {
                path: path.to_string(),
                error,
            })
        };
        let model = read(checkpoint, MAX_CHECKPOINT_BYTES)?;
        let tok = read(tokenizer, MAX_TOKENIZER_BYTES)?;
        LlmService::from_bytes(name, &model, &tok, limits).map_err(|e| Error::Llm {
            message: format!("{checkpoint}, {tokenizer}: {e}"),
        })
    }

    /// The model's name (for `info`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn limits(&self) -> &LlmLimits {
        &self.limits
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Starts a generation of at most `max_tokens` tokens after `prompt`. The prompt is
    /// tokenized here (BOS first); nothing is computed until the session is stepped.
    pub fn begin(
        self: &Arc<Self>,
        prompt: &str,
        max_tokens: usize,
        sampling: Sampling,
    ) -> Result<Session, InferError> {
        if prompt.len() > self.limits.max_prompt_bytes {
            return Err(InferError::PromptTooLong {
                bytes: prompt.len(),
                limit: self.limits.max_prompt_bytes,
            });
        }
        let tokens = self
            .tokenizer
            .encode(prompt, true)
            .map_err(InferError::Engine)?;
        if tokens.len() > self.config.seq_len {
            return Err(InferError::ContextFull {
                tokens: tokens.len(),
                seq_len: self.config.seq_len,
            });
        }
        let ticket = self.enqueue();
        Ok(Session::new(
            self.clone(),
            tokens,
            max_tokens,
            sampling,
            ticket,
        ))
    }

    /// Applies the PEFT adapter of `config_json` (`adapter_config.json`) and `weights`
    /// (`adapter_model.safetensors`) to every inference from the next token step on; its id.
    pub fn load_adapter(
        &self,
        _name: &str,
        _config_json: &[u8],
        _weights: &[u8],
    ) -> Result<u32, AdapterError> {
        Err(AdapterError::Unsupported)
    }

    /// Removes adapter `id`.
    pub fn unload_adapter(&self, id: u32) -> Result<(), AdapterError> {
        Err(AdapterError::NoSuchAdapter(id))
    }

    /// Sessions computing now and sessions waiting for a slot.
    pub fn sessions(&self) -> (usize, usize) {
        let slots = self.slots.lock();
        (slots.active, slots.waiting.len())
    }

    fn enqueue(&self) -> u64 {
        let mut slots = self.slots.lock();
        let ticket = slots.next_ticket;
        slots.next_ticket += 1;
        slots.waiting.insert(ticket);
        ticket
    }

    /// Gives `ticket` a slot if one is free and no earlier ticket waits.
    pub(super) fn try_acquire(&self, ticket: u64) -> bool {
        let mut slots = self.slots.lock();
        if slots.active < MAX_SESSIONS && slots.waiting.first() == Some(&ticket) {
            slots.waiting.remove(&ticket);
            slots.active += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn release(&self) {
        let mut slots = self.slots.lock();
        slots.active = slots.active.saturating_sub(1);
    }

    pub(super) fn dequeue(&self, ticket: u64) {
        self.slots.lock().waiting.remove(&ticket);
    }

    /// The model's description, one `key=value` per line (what `llm.info` returns and
    /// `llm-info` prints): `model`, the header's dimensions, `max_tokens`, then `adapters=N`
    /// and one `adapter=ID NAME` line per loaded adapter.
    pub fn info_text(&self) -> String {
        let c = &self.config;
        format!(
            "model={}\ndim={}\nhidden_dim={}\nn_layers={}\nn_heads={}\nn_kv_heads={}\nvocab_size={}\nseq_len={}\nmax_tokens={}\nadapters=0\n",
            self.name,
            c.dim,
            c.hidden_dim,
            c.n_layers,
            c.n_heads,
            c.n_kv_heads,
            c.vocab_size,
            c.seq_len,
            self.limits.max_tokens,
        )
    }
}
