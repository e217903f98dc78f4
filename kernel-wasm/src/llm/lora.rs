//! A LoRA adapter in memory: for some (layer, projection) pairs, `A [r, in]`, `B [out, r]` and a
//! scale, applied unmerged at forward time as `W·x + scale·B·(A·x)`. Immutable once built and
//! shared (`Arc<Lora>`) by every session that applies it. Reading PEFT files is `peft.rs`'s job.

use alloc::string::String;
use alloc::vec::Vec;

use super::adapter::Target;
use super::checkpoint::Config;
use super::matmul::matmul;
use super::LlmError;

/// One adapted projection.
pub struct LoraPair {
    pub rank: usize,
    pub scale: f32,
    /// `[rank, in]`, row-major.
    pub a: Vec<f32>,
    /// `[out, rank]`, row-major.
    pub b: Vec<f32>,
}

/// A LoRA adapter for one model shape.
pub struct Lora {
    name: String,
    model: Config,
    /// `n_layers * 7` slots, indexed `layer * 7 + target`.
    pairs: Vec<Option<LoraPair>>,
    floats: usize,
}

impl core::fmt::Debug for Lora {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Lora")
            .field("name", &self.name)
            .field("pairs", &self.pair_count())
            .field("max_rank", &self.max_rank())
            .field("targets", &self.targets())
            .finish()
    }
}

fn same_shape(a: &Config, b: &Config) -> bool {
    a.dim == b.dim
        && a.hidden_dim == b.hidden_dim
        && a.n_layers == b.n_layers
        && a.kv_dim() == b.kv_dim()
}

impl Lora {
    /// An adapter with no pairs (a no-op) for models shaped like `model`.
    pub fn new(name: impl Into<String>, model: &Config) -> Lora {
        let mut pairs = Vec::new();
        pairs.resize_with(model.n_layers * Target::ALL.len(), || None);
        Lora {
            name: name.into(),
            model: *model,
            pairs,
            floats: 0,
        }
    }

    /// Adds the pair for `target` of `layer`; refuses (naming `layers.{layer}.{hf name}`) a rank
    /// of 0, matrices whose sizes do not match the model, a non-finite scale, or a duplicate.
    pub fn insert(&mut self, layer: usize, target: Target, pair: LoraPair) -> Result<(), LlmError> {
        let what = || alloc::format!("layers.{layer}.{}", target.hf_name());
        if layer >= self.model.n_layers {
            return Err(LlmError::LoraShape(alloc::format!(
                "{}: the model has {} layers",
                what(),
                self.model.n_layers
            )));
        }
        let (out, inp) = target.shape(&self.model);
        let r = pair.rank;
        if r == 0 || Some(pair.a.len()) != r.checked_mul(inp) {
            return Err(LlmError::LoraShape(alloc::format!(
                "{}.lora_A: {} floats, expected [{r}, {inp}]",
                what(),
                pair.a.len()
            )));
        }
        if Some(pair.b.len()) != r.checked_mul(out) {
            return Err(LlmError::LoraShape(alloc::format!(
                "{}.lora_B: {} floats, expected [{out}, {r}]",
                what(),
                pair.b.len()
            )));
        }
        if !pair.scale.is_finite() {
            return Err(LlmError::LoraShape(alloc::format!(
                "{}: scale is not finite",
                what()
            )));
        }
        let slot = &mut self.pairs[layer * Target::ALL.len() + target.index()];
        if slot.is_some() {
            return Err(LlmError::LoraShape(alloc::format!(
                "{}: given twice",
                what()
            )));
        }
        self.floats += pair.a.len() + pair.b.len();
        *slot = Some(pair);
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes of the adapter's matrices.
    pub fn memory_bytes(&self) -> usize {
        self.floats * 4
    }

    /// The largest rank among its pairs (0 when empty).
    pub fn max_rank(&self) -> usize {
        self.pairs
            .iter()
            .flatten()
            .map(|p| p.rank)
            .max()
            .unwrap_or(0)
    }

    /// How many (layer, projection) pairs it adapts.
    pub fn pair_count(&self) -> usize {
        self.pairs.iter().flatten().count()
    }

    /// The projections it adapts in any layer, in [`Target::ALL`] order.
    pub fn targets(&self) -> Vec<Target> {
        Target::ALL
            .into_iter()
            .filter(|t| {
                self.pairs
                    .chunks_exact(Target::ALL.len())
                    .any(|layer| layer[t.index()].is_some())
            })
            .collect()
    }

    /// Refuses a model whose shape differs from the one this adapter was built for.
    pub fn check_model(&self, model: &Config) -> Result<(), LlmError> {
        if same_shape(&self.model, model) {
            Ok(())
        } else {
            Err(LlmError::LoraShape(alloc::format!(
                "adapter {} was made for dim {}, hidden_dim {}, kv_dim {}, {} layers",
                self.name,
                self.model.dim,
                self.model.hidden_dim,
                self.model.kv_dim(),
                self.model.n_layers
            )))
        }
    }

    /// `out += scale·B·(A·x)` for `target` of `layer` when adapted; `tmp` holds at least
    /// [`Lora::max_rank`] floats and `delta` at least `out.len()`. Both products go through
    /// [`matmul`] (four rows per pass; each row's product is `dot`'s, bit for bit).
    #[inline]
    pub(crate) fn apply(
        &self,
        layer: usize,
        target: Target,
        x: &[f32],
        out: &mut [f32],
        tmp: &mut [f32],
        delta: &mut [f32],
    ) {
        let Some(Some(p)) = self.pairs.get(layer * Target::ALL.len() + target.index()) else {
            return;
        };
        let t = &mut tmp[..p.rank];
        matmul(t, x, &p.a);
        let d = &mut delta[..out.len()];
        matmul(d, t, &p.b);
        for (o, &v) in out.iter_mut().zip(d.iter()) {
            *o += p.scale * v;
        }
    }
}
