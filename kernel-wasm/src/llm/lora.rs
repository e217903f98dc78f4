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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    /// dim 8, hidden 16, 2 layers, 2 heads, 1 KV head (kv_dim 4), vocab 10, context 6.
    fn config() -> Config {
        Config::from_header([8, 16, 2, 2, 1, 10, 6]).unwrap()
    }

    fn pair(rank: usize, a: usize, b: usize, scale: f32) -> LoraPair {
        LoraPair {
            rank,
            scale,
            a: vec![0.5; a],
            b: vec![0.25; b],
        }
    }

    fn refusal(
        lora: &mut Lora,
        layer: usize,
        target: Target,
        p: LoraPair,
    ) -> alloc::string::String {
        match lora.insert(layer, target, p) {
            Err(LlmError::LoraShape(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn insert_refuses_what_does_not_fit_naming_the_tensor() {
        let c = config();
        let mut lora = Lora::new("test", &c);
        assert_eq!(
            refusal(&mut lora, 2, Target::Wq, pair(2, 16, 16, 1.0)),
            "layers.2.q_proj: the model has 2 layers"
        );
        assert_eq!(
            refusal(&mut lora, 0, Target::Wq, pair(0, 0, 0, 1.0)),
            "layers.0.q_proj.lora_A: 0 floats, expected [0, 8]"
        );
        // k_proj is [kv_dim, dim] = [4, 8]: A is [r, 8], B [4, r].
        assert_eq!(
            refusal(&mut lora, 1, Target::Wk, pair(2, 8, 8, 1.0)),
            "layers.1.k_proj.lora_A: 8 floats, expected [2, 8]"
        );
        assert_eq!(
            refusal(&mut lora, 1, Target::Wk, pair(2, 16, 16, 1.0)),
            "layers.1.k_proj.lora_B: 16 floats, expected [4, 2]"
        );
        assert_eq!(
            refusal(&mut lora, 1, Target::W2, pair(1, 16, 8, f32::NAN)),
            "layers.1.down_proj: scale is not finite"
        );
        assert_eq!(
            refusal(&mut lora, 1, Target::W2, pair(1, 16, 8, f32::INFINITY)),
            "layers.1.down_proj: scale is not finite"
        );
        // Nothing refused was kept.
        assert_eq!(
            (lora.pair_count(), lora.max_rank(), lora.memory_bytes()),
            (0, 0, 0)
        );
        assert!(lora.targets().is_empty());
        lora.insert(1, Target::Wk, pair(2, 16, 8, 1.0)).unwrap();
        lora.insert(0, Target::W2, pair(3, 48, 24, 2.0)).unwrap();
        assert_eq!(
            refusal(&mut lora, 1, Target::Wk, pair(2, 16, 8, 1.0)),
            "layers.1.k_proj: given twice"
        );
        assert_eq!(lora.name(), "test");
        assert_eq!((lora.pair_count(), lora.max_rank()), (2, 3));
        assert_eq!(lora.memory_bytes(), (16 + 8 + 48 + 24) * 4);
        assert_eq!(lora.targets(), vec![Target::Wk, Target::W2]);
        let debug = alloc::format!("{lora:?}");
        assert!(
            debug.contains("\"test\"") && debug.contains("pairs: 2"),
            "{debug}"
        );
    }

    #[test]
    fn an_adapter_fits_only_models_of_its_shape() {
        let c = config();
        let lora = Lora::new("small", &c);
        lora.check_model(&c).unwrap();
        // The vocabulary and context do not matter; a layer's shape does.
        lora.check_model(&Config::from_header([8, 16, 2, 2, 1, 32, 12]).unwrap())
            .unwrap();
        let wider = Config::from_header([8, 32, 2, 2, 1, 10, 6]).unwrap();
        let e = lora.check_model(&wider).unwrap_err();
        assert_eq!(
            e.to_string(),
            "LoRA does not fit the model: adapter small was made for dim 8, hidden_dim 16, \
             kv_dim 4, 2 layers"
        );
        let more_kv_heads = Config::from_header([8, 16, 2, 2, 2, 10, 6]).unwrap();
        assert!(lora.check_model(&more_kv_heads).is_err());
    }

    #[test]
    fn apply_adds_the_scaled_low_rank_product_to_its_projection_only() {
        let c = config();
        let mut lora = Lora::new("one", &c);
        // Rank 1 on layer 0's q_proj: A = [1, 0, ...], B = [1, 2, ..., 8], scale 0.5.
        let mut a = vec![0.0; 8];
        a[0] = 1.0;
        let b = (1..=8).map(|v| v as f32).collect();
        lora.insert(
            0,
            Target::Wq,
            LoraPair {
                rank: 1,
                scale: 0.5,
                a,
                b,
            },
        )
        .unwrap();
        let x = [2.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0];
        let (mut tmp, mut delta) = ([0.0; 1], [0.0; 8]);
        let mut out = [1.0; 8];
        lora.apply(0, Target::Wq, &x, &mut out, &mut tmp, &mut delta);
        // out += 0.5 * B * (A·x) = 0.5 * B * 2 = B.
        assert_eq!(out, [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        // Another projection, or another layer: untouched.
        let mut out = [1.0; 8];
        lora.apply(0, Target::Wo, &x, &mut out, &mut tmp, &mut delta);
        lora.apply(1, Target::Wq, &x, &mut out, &mut tmp, &mut delta);
        assert_eq!(out, [1.0; 8]);
    }
}
