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
//! Sessions and slots: the weights are shared (`Arc<Weights>`), each computing session has a run
//! state of its own (its KV cache), and at most [`LlmLimits::max_sessions`] sessions compute at
//! once — that bounds the memory of all run states together. A session waiting for a slot holds
//! no state, makes no progress and costs nothing. A session gives its slot back when it finishes,
//! fails or is dropped (an agent killed mid-inference frees it).
//!
//! Adapters: LoRA adapters loaded into the service (`load_adapter`, `llm.load_lora`) get ids
//! from 1, never reused. A session applies the adapters loaded when it started computing, to its
//! end: loading or unloading one never changes an inference midway.
//!
//! [`Runtime::set_llm`]: crate::Runtime::set_llm

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use spin::Mutex;

use super::checkpoint::Config;
use super::lora::Lora;
use super::peft::{load_peft, load_peft_archive, CONFIG_FILE, WEIGHTS_FILE};
use super::session::{Sampling, Session};
use super::tokenizer::Tokenizer;
use super::weights::Weights;
use super::LlmError;
use crate::error::Error;
use crate::vfs::{self, NodeId, NodeKind, Vfs, VfsError};

/// Bounds of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LlmLimits {
    /// Tokens one `llm.infer` generates at most (also the shell's default for `llm-infer`).
    pub max_tokens: usize,
    /// The longest prompt accepted, in bytes (tokenizing it is one uninterruptible step).
    pub max_prompt_bytes: usize,
    /// Sessions computing at once, each with its own run state; others wait for a slot.
    pub max_sessions: usize,
    /// Credits one token step (one forward pass: prompt tokens too) costs an instance with a
    /// pacing budget.
    pub credits_per_token: u64,
    /// LoRA adapters loaded at once.
    pub max_adapters: usize,
}

/// Generated tokens of an `llm.infer` unless the service is configured otherwise.
pub const DEFAULT_MAX_TOKENS: usize = 256;
/// The longest prompt unless configured otherwise.
pub const DEFAULT_MAX_PROMPT_BYTES: usize = 2048;
/// Sessions computing at once unless configured otherwise.
pub const DEFAULT_MAX_SESSIONS: usize = 4;
/// Adapters loaded at once unless configured otherwise.
pub const DEFAULT_MAX_ADAPTERS: usize = 8;

impl Default for LlmLimits {
    fn default() -> Self {
        LlmLimits {
            max_tokens: DEFAULT_MAX_TOKENS,
            max_prompt_bytes: DEFAULT_MAX_PROMPT_BYTES,
            max_sessions: DEFAULT_MAX_SESSIONS,
            credits_per_token: 1,
            max_adapters: DEFAULT_MAX_ADAPTERS,
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
    weights: Arc<Weights>,
    tokenizer: Tokenizer,
    limits: LlmLimits,
    slots: Mutex<Slots>,
    adapters: Mutex<Adapters>,
    /// Counts adapter loads and unloads (a completion kept for a retry is only valid unchanged).
    adapter_changes: AtomicU64,
}

impl fmt::Debug for LlmService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmService")
            .field("name", &self.name)
            .field("config", self.config())
            .field("limits", &self.limits)
            .finish()
    }
}

/// The largest `adapter_config.json` read.
pub const MAX_ADAPTER_CONFIG_BYTES: u64 = 64 << 10;
/// The largest `adapter_model.safetensors` (or archive of both files) read.
pub const MAX_ADAPTER_WEIGHTS_BYTES: u64 = 64 << 20;

/// Why an adapter was refused or could not be unloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdapterError {
    /// The adapter's files are malformed or do not match the model (the engine's reason).
    Bad(LlmError),
    /// [`LlmLimits::max_adapters`] are loaded.
    Limit(usize),
    /// No adapter has this id.
    NoSuchAdapter(u32),
    /// The adapter's files cannot be read (which file, why).
    Unreadable(String),
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdapterError::Bad(why) => write!(f, "{why}"),
            AdapterError::Limit(n) => write!(f, "{n} adapters are loaded already, the limit"),
            AdapterError::NoSuchAdapter(id) => write!(f, "there is no adapter {id}"),
            AdapterError::Unreadable(why) => f.write_str(why),
        }
    }
}

impl From<AdapterError> for Error {
    fn from(e: AdapterError) -> Error {
        Error::Llm {
            message: e.to_string(),
        }
    }
}

/// The adapters loaded into a service.
#[derive(Default)]
struct Adapters {
    next_id: u32,
    loaded: Vec<(u32, Arc<Lora>)>,
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
        let weights = Arc::new(Weights::from_bytes(checkpoint)?);
        let tokenizer = Tokenizer::from_bytes(tokenizer, weights.config().vocab_size)?;
        Ok(LlmService {
            name: clean_name(name),
            weights,
            tokenizer,
            limits: LlmLimits {
                max_sessions: limits.max_sessions.max(1),
                ..limits
            },
            slots: Mutex::new(Slots::default()),
            adapters: Mutex::new(Adapters {
                next_id: 1,
                loaded: Vec::new(),
            }),
            adapter_changes: AtomicU64::new(0),
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
        self.weights.config()
    }

    /// The shared weights.
    pub fn weights(&self) -> &Arc<Weights> {
        &self.weights
    }

    pub fn limits(&self) -> &LlmLimits {
        &self.limits
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Starts a generation of at most `max_tokens` tokens after `prompt`. The prompt is
    /// tokenized here to check it fits the context (BOS first); nothing is computed, and no run
    /// state allocated, until the session is stepped and gets a slot.
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
            .map_err(InferError::Engine)?
            .len();
        let seq_len = self.config().seq_len;
        if tokens > seq_len {
            return Err(InferError::ContextFull { tokens, seq_len });
        }
        let ticket = self.enqueue();
        Ok(Session::new(
            self.clone(),
            prompt,
            tokens,
            max_tokens,
            sampling,
            ticket,
        ))
    }

    /// Loads the PEFT adapter of `config_json` (`adapter_config.json`) and `weights`
    /// (`adapter_model.safetensors`) for the inferences that start from now on; its id.
    pub fn load_adapter(
        &self,
        name: &str,
        config_json: &[u8],
        weights: &[u8],
    ) -> Result<u32, AdapterError> {
        self.check_adapter_room()?;
        let lora = load_peft(config_json, weights, self.config(), &clean_name(name))
            .map_err(AdapterError::Bad)?;
        self.add_adapter(lora)
    }

    /// [`LlmService::load_adapter`] from one ustar archive of the two files.
    pub fn load_adapter_archive(&self, name: &str, archive: &[u8]) -> Result<u32, AdapterError> {
        self.check_adapter_room()?;
        let lora = load_peft_archive(archive, self.config(), &clean_name(name))
            .map_err(AdapterError::Bad)?;
        self.add_adapter(lora)
    }

    /// Loads the adapter at `node` of `vfs`: a directory holding `adapter_config.json` and
    /// `adapter_model.safetensors`, or a file that is a ustar archive of the two (each read
    /// bounded by [`MAX_ADAPTER_CONFIG_BYTES`] / [`MAX_ADAPTER_WEIGHTS_BYTES`]).
    pub fn load_adapter_from(
        &self,
        vfs: &dyn Vfs,
        node: NodeId,
        name: &str,
    ) -> Result<u32, AdapterError> {
        self.check_adapter_room()?;
        let unreadable = |file: &str, e: VfsError| AdapterError::Unreadable(format!("{file}: {e}"));
        let kind = vfs.stat(node).map_err(|e| unreadable(name, e))?.kind;
        if kind == NodeKind::Dir {
            let config = vfs::read_file_at(vfs, node, CONFIG_FILE, MAX_ADAPTER_CONFIG_BYTES)
                .map_err(|e| unreadable(CONFIG_FILE, e))?;
            let weights = vfs::read_file_at(vfs, node, WEIGHTS_FILE, MAX_ADAPTER_WEIGHTS_BYTES)
                .map_err(|e| unreadable(WEIGHTS_FILE, e))?;
            self.load_adapter(name, &config, &weights)
        } else {
            let archive = vfs::read_node(vfs, node, MAX_ADAPTER_WEIGHTS_BYTES)
                .map_err(|e| unreadable(name, e))?;
            self.load_adapter_archive(name, &archive)
        }
    }

    fn check_adapter_room(&self) -> Result<(), AdapterError> {
        let limit = self.limits.max_adapters;
        if self.adapters.lock().loaded.len() >= limit {
            return Err(AdapterError::Limit(limit));
        }
        Ok(())
    }

    fn add_adapter(&self, lora: Lora) -> Result<u32, AdapterError> {
        let mut adapters = self.adapters.lock();
        let limit = self.limits.max_adapters;
        if adapters.loaded.len() >= limit {
            return Err(AdapterError::Limit(limit));
        }
        let id = adapters.next_id;
        adapters.next_id = id.saturating_add(1);
        adapters.loaded.push((id, Arc::new(lora)));
        self.adapter_changes.fetch_add(1, Ordering::Relaxed);
        Ok(id)
    }

    /// Removes adapter `id` for the inferences that start from now on.
    pub fn unload_adapter(&self, id: u32) -> Result<(), AdapterError> {
        let mut adapters = self.adapters.lock();
        let at = adapters
            .loaded
            .iter()
            .position(|(i, _)| *i == id)
            .ok_or(AdapterError::NoSuchAdapter(id))?;
        adapters.loaded.remove(at);
        self.adapter_changes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The adapters loaded now (what a session starting now applies), in id order.
    pub fn loras(&self) -> Vec<Arc<Lora>> {
        let adapters = self.adapters.lock();
        adapters.loaded.iter().map(|(_, l)| l.clone()).collect()
    }

    /// The ids and names of the loaded adapters, in id order.
    pub fn adapters(&self) -> Vec<(u32, String)> {
        let adapters = self.adapters.lock();
        adapters
            .loaded
            .iter()
            .map(|(id, l)| (*id, String::from(l.name())))
            .collect()
    }

    /// How many times adapters were loaded or unloaded.
    pub fn adapter_changes(&self) -> u64 {
        self.adapter_changes.load(Ordering::Relaxed)
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
        if slots.active < self.limits.max_sessions && slots.waiting.first() == Some(&ticket) {
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
        let c = self.config();
        let adapters = self.adapters();
        let mut text = format!(
            "model={}\ndim={}\nhidden_dim={}\nn_layers={}\nn_heads={}\nn_kv_heads={}\nvocab_size={}\nseq_len={}\nmax_tokens={}\nadapters={}\n",
            self.name,
            c.dim,
            c.hidden_dim,
            c.n_layers,
            c.n_heads,
            c.n_kv_heads,
            c.vocab_size,
            c.seq_len,
            self.limits.max_tokens,
            adapters.len(),
        );
        for (id, name) in adapters {
            text.push_str(&format!("adapter={id} {name}\n"));
        }
        text
    }
}
