//! [`Model`]: shared weights and one session's state in one value, for single-session use (tests,
//! benchmarks, the simple [`generate`](super::generate()) API). Services that run several sessions
//! over one model hold an `Arc<Weights>` and a [`State`] per session instead.

use alloc::sync::Arc;

use super::forward::forward;
use super::{Config, LlmError, State, Weights};

/// Weights plus a full-context state.
pub struct Model {
    pub config: Config,
    weights: Arc<Weights>,
    state: State,
}

impl Model {
    /// Loads a llama2.c checkpoint ([`Weights::from_bytes`]) with a full-context state.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, LlmError> {
        Model::new(Arc::new(Weights::from_bytes(bytes)?))
    }

    /// A new session over shared weights.
    pub fn new(weights: Arc<Weights>) -> Result<Model, LlmError> {
        let state = State::new(weights.config())?;
        Ok(Model {
            config: *weights.config(),
            weights,
            state,
        })
    }

    /// Runs `token` at `pos` and returns the logits ([`forward`]).
    pub fn forward(&mut self, token: usize, pos: usize) -> Result<&mut [f32], LlmError> {
        forward(&self.weights, &mut self.state, token, pos)
    }

    pub fn weights(&self) -> &Arc<Weights> {
        &self.weights
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn state_mut(&mut self) -> &mut State {
        &mut self.state
    }

    /// The weights and the state, borrowed together.
    pub fn parts(&mut self) -> (&Weights, &mut State) {
        (&self.weights, &mut self.state)
    }
}
