//! What a session applies on top of the shared weights at forward time: LoRA adapters (shared,
//! immutable, unmerged: `W·x + s·B·(A·x)`) and activation hooks (WASM adapters, one per session,
//! stateful). The weights are never modified, so removing an adapter restores the base model's
//! outputs bit for bit.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;

use super::lora::Lora;
use super::LlmError;

/// A projection of a transformer layer that a LoRA adapter can target, with the llama2.c name
/// of its matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// `q_proj`, `[dim, dim]`
    Wq,
    /// `k_proj`, `[kv_dim, dim]`
    Wk,
    /// `v_proj`, `[kv_dim, dim]`
    Wv,
    /// `o_proj`, `[dim, dim]`
    Wo,
    /// `gate_proj`, `[hidden_dim, dim]`
    W1,
    /// `down_proj`, `[dim, hidden_dim]`
    W2,
    /// `up_proj`, `[hidden_dim, dim]`
    W3,
}

impl Target {
    pub const ALL: [Target; 7] = [
        Target::Wq,
        Target::Wk,
        Target::Wv,
        Target::Wo,
        Target::W1,
        Target::W2,
        Target::W3,
    ];

    /// The Hugging Face (PEFT) module name.
    pub fn hf_name(self) -> &'static str {
        match self {
            Target::Wq => "q_proj",
            Target::Wk => "k_proj",
            Target::Wv => "v_proj",
            Target::Wo => "o_proj",
            Target::W1 => "gate_proj",
            Target::W2 => "down_proj",
            Target::W3 => "up_proj",
        }
    }

    /// The target of a Hugging Face module name.
    pub fn from_hf_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.hf_name() == name)
    }

    /// `(out, in)` of this matrix in a model with `config`.
    pub fn shape(self, c: &super::Config) -> (usize, usize) {
        match self {
            Target::Wq | Target::Wo => (c.dim, c.dim),
            Target::Wk | Target::Wv => (c.kv_dim(), c.dim),
            Target::W1 | Target::W3 => (c.hidden_dim, c.dim),
            Target::W2 => (c.dim, c.hidden_dim),
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// A transformation of the residual stream, run by the engine after each layer.
///
/// Contract: after layer `layer` (0-based) has added its feed-forward output to the residual
/// stream, and before the next layer's attention RMSNorm (or the final RMSNorm after the last
/// layer), the engine calls `transform(layer, x)` with `x` the `dim` floats of that stream, which
/// the hook may rewrite in place. A hook that acts on one layer returns at once for the others.
/// An error fails the forward pass (and so the inference) with that error; the weights and other
/// sessions are untouched, and the session's state stays usable for a new generation.
pub trait ActivationHook {
    /// A name for messages.
    fn name(&self) -> &str;
    fn transform(&mut self, layer: usize, x: &mut [f32]) -> Result<(), LlmError>;
}

/// One hook shared by several sessions (e.g. a WASM adapter loaded once for the whole model).
/// `Rc`, not `Arc`: like the platform, hooks are single-threaded (a WASM adapter's instance is not
/// `Send`). Each call borrows it for the duration of the transform.
impl<H: ActivationHook> ActivationHook for Rc<RefCell<H>> {
    fn name(&self) -> &str {
        // The name cannot be borrowed out of the cell; errors carry the real name.
        "shared adapter"
    }
    fn transform(&mut self, layer: usize, x: &mut [f32]) -> Result<(), LlmError> {
        let mut h = self
            .try_borrow_mut()
            .map_err(|_| LlmError::Adapter("shared adapter: already running".into()))?;
        h.transform(layer, x).map_err(|e| match e {
            LlmError::Adapter(_) => e,
            other => LlmError::Adapter(alloc::format!("{}: {other}", h.name())),
        })
    }
}

/// The adapters one session applies.
#[derive(Default)]
pub(crate) struct Adapters {
    pub(crate) loras: Vec<Arc<Lora>>,
    pub(crate) hooks: Vec<Box<dyn ActivationHook>>,
}

impl Adapters {
    /// Runs every hook after `layer`; the first failure names the hook.
    pub(crate) fn after_layer(&mut self, layer: usize, x: &mut [f32]) -> Result<(), LlmError> {
        for h in &mut self.hooks {
            h.transform(layer, x).map_err(|e| match e {
                LlmError::Adapter(_) => e,
                other => LlmError::Adapter(alloc::format!("{}: {other}", h.name())),
            })?;
        }
        Ok(())
    }
}

/// Convenience for hook implementations: an adapter error with a message.
pub fn adapter_error(msg: impl Into<String>) -> LlmError {
    LlmError::Adapter(msg.into())
}
