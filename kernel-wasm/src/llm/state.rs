//! The per-session half of a model: KV cache, activation scratch and the adapters this session
//! applies. Everything is allocated when the state is made (or when adapters are attached), never
//! during a forward pass.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::adapter::{ActivationHook, Adapters};
use super::checkpoint::Config;
use super::lora::Lora;
use super::weights::zeroed;
use super::LlmError;

/// Run state for one inference session over some [`Weights`](super::Weights) with `config`.
pub struct State {
    pub(crate) config: Config,
    /// Positions this state holds (`<= seq_len`): the KV cache's length.
    pub(crate) ctx: usize,
    pub(crate) x: Vec<f32>,
    pub(crate) xb: Vec<f32>,
    pub(crate) xb2: Vec<f32>,
    pub(crate) hb: Vec<f32>,
    pub(crate) hb2: Vec<f32>,
    pub(crate) q: Vec<f32>,
    /// Attention scores, `n_heads * ctx`.
    pub(crate) att: Vec<f32>,
    pub(crate) logits: Vec<f32>,
    /// `[n_layers, ctx, kv_dim]`
    pub(crate) key_cache: Vec<f32>,
    /// `[n_layers, ctx, kv_dim]`
    pub(crate) value_cache: Vec<f32>,
    pub(crate) adapters: Adapters,
    /// `A·x` of a LoRA, as long as the largest rank attached.
    pub(crate) lora_tmp: Vec<f32>,
    /// `B·(A·x)` of a LoRA, as long as the longest projection output (empty without LoRA).
    pub(crate) lora_delta: Vec<f32>,
}

impl State {
    /// A state for the model's whole context (`seq_len` positions). Its size is
    /// [`Config::state_bytes`], which [`Config::check`] bounded by the checkpoint's size.
    pub fn new(config: &Config) -> Result<State, LlmError> {
        State::with_context(config, config.seq_len)
    }

    /// A state holding at most `ctx` positions (clamped to `1..=seq_len`): a smaller KV cache
    /// for sessions that generate little.
    pub fn with_context(config: &Config, ctx: usize) -> Result<State, LlmError> {
        let c = *config;
        let ctx = ctx.clamp(1, c.seq_len);
        let kv = c.n_layers * ctx * c.kv_dim();
        Ok(State {
            config: c,
            ctx,
            x: zeroed(c.dim)?,
            xb: zeroed(c.dim)?,
            xb2: zeroed(c.dim)?,
            hb: zeroed(c.hidden_dim)?,
            hb2: zeroed(c.hidden_dim)?,
            q: zeroed(c.dim)?,
            att: zeroed(c.n_heads * ctx)?,
            logits: zeroed(c.vocab_size)?,
            key_cache: zeroed(kv)?,
            value_cache: zeroed(kv)?,
            adapters: Adapters::default(),
            lora_tmp: Vec::new(),
            lora_delta: Vec::new(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How many positions this state holds.
    pub fn context(&self) -> usize {
        self.ctx
    }

    /// The LoRA adapters applied by this session's forward passes, in order.
    pub fn loras(&self) -> &[Arc<Lora>] {
        &self.adapters.loras
    }

    /// Replaces this session's LoRA adapters (empty: the base model). Each must have been made
    /// for this state's model dimensions. The scratch they need is allocated here, so forward
    /// passes stay allocation-free. Positions already in the KV cache keep what they were computed
    /// with; start a new generation to apply the change from the first token.
    pub fn set_loras(&mut self, loras: Vec<Arc<Lora>>) -> Result<(), LlmError> {
        let mut rank = 0;
        for l in &loras {
            l.check_model(&self.config)?;
            rank = rank.max(l.max_rank());
        }
        if self.lora_tmp.len() < rank {
            self.lora_tmp = zeroed(rank)?;
        }
        let widest = self.config.dim.max(self.config.hidden_dim);
        if !loras.is_empty() && self.lora_delta.len() < widest {
            self.lora_delta = zeroed(widest)?;
        }
        self.adapters.loras = loras;
        Ok(())
    }

    /// Adds an activation hook (a WASM adapter), called after every layer; see
    /// [`ActivationHook`].
    pub fn add_hook(&mut self, hook: Box<dyn ActivationHook>) {
        self.adapters.hooks.push(hook);
    }

    /// Removes every activation hook, returning them.
    pub fn take_hooks(&mut self) -> Vec<Box<dyn ActivationHook>> {
        core::mem::take(&mut self.adapters.hooks)
    }

    /// Bytes this state holds.
    pub fn memory_bytes(&self) -> usize {
        let floats = self.x.len()
            + self.xb.len()
            + self.xb2.len()
            + self.hb.len()
            + self.hb2.len()
            + self.q.len()
            + self.att.len()
            + self.logits.len()
            + self.key_cache.len()
            + self.value_cache.len()
            + self.lora_tmp.len()
            + self.lora_delta.len();
        floats * 4
    }
}
