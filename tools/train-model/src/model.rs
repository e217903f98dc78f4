//! The llama2.c transformer in candle, for training: token embedding (shared with the
//! classifier), per layer RMSNorm → attention with RoPE on consecutive pairs → residual, RMSNorm →
//! SwiGLU feed-forward → residual, then a final RMSNorm. Exactly the computation of the engine's
//! `forward`, so the exported weights mean the same thing there.

use candle_core::{DType, Device, Result, Tensor, Var, D};

use crate::rng::Rng;

#[derive(Clone, Copy, Debug)]
pub struct Cfg {
    pub dim: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub vocab: usize,
    pub seq_len: usize,
}

impl Cfg {
    pub fn head_size(&self) -> usize {
        self.dim / self.heads
    }
}

pub struct Layer {
    pub rms_att: Var,
    pub wq: Var,
    pub wk: Var,
    pub wv: Var,
    pub wo: Var,
    pub rms_ffn: Var,
    pub w1: Var,
    pub w2: Var,
    pub w3: Var,
}

pub struct Model {
    pub cfg: Cfg,
    pub emb: Var,
    pub layers: Vec<Layer>,
    pub rms_final: Var,
    cos: Tensor,
    sin: Tensor,
}

fn normal(r: &mut Rng, shape: (usize, usize), std: f64, dev: &Device) -> Result<Var> {
    let v: Vec<f32> = (0..shape.0 * shape.1)
        .map(|_| (r.normal() * std) as f32)
        .collect();
    Var::from_tensor(&Tensor::from_vec(v, shape, dev)?)
}

fn ones(n: usize, dev: &Device) -> Result<Var> {
    Var::from_tensor(&Tensor::ones(n, DType::F32, dev)?)
}

/// `x / sqrt(mean(x²) + 1e-5) * w` over the last dimension.
fn rmsnorm(x: &Tensor, w: &Var) -> Result<Tensor> {
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
    let inv = (ms + 1e-5)?.sqrt()?.recip()?;
    x.broadcast_mul(&inv)?.broadcast_mul(w.as_tensor())
}

/// `x · Wᵀ` for `x` `[b, t, in]` and `W` `[out, in]`.
fn linear(x: &Tensor, w: &Var) -> Result<Tensor> {
    x.broadcast_matmul(&w.as_tensor().t()?)
}

/// The seven projections of a layer, in the order of [`Lora::pairs`], with their Hugging Face
/// module names (`self_attn.q_proj` ...), as PEFT names its tensors.
pub const PROJECTIONS: [(&str, &str); 7] = [
    ("self_attn", "q_proj"),
    ("self_attn", "k_proj"),
    ("self_attn", "v_proj"),
    ("self_attn", "o_proj"),
    ("mlp", "gate_proj"),
    ("mlp", "down_proj"),
    ("mlp", "up_proj"),
];

/// A LoRA adapter being trained on a frozen [`Model`]: for every layer and projection (in
/// [`PROJECTIONS`] order) `A [r, in]` and `B [out, r]`, and the projection becomes
/// `W·x + scale·B·(A·x)` — what the engine computes for a loaded PEFT adapter.
pub struct Lora {
    pub rank: usize,
    pub alpha: usize,
    pub pairs: Vec<[(Var, Var); 7]>,
}

impl Lora {
    /// A from `seed` with PEFT's spread (uniform-like, std `1/sqrt(3·in)`), B zero: the adapted
    /// model starts as the base model.
    pub fn new(cfg: Cfg, rank: usize, alpha: usize, seed: u64, dev: &Device) -> Result<Lora> {
        let mut r = Rng::new(seed);
        let (d, h) = (cfg.dim, cfg.hidden);
        let mut pairs = Vec::new();
        for _ in 0..cfg.layers {
            let mut pair = |out: usize, inp: usize| -> Result<(Var, Var)> {
                let a = normal(&mut r, (rank, inp), 1.0 / ((3 * inp) as f64).sqrt(), dev)?;
                let b = Var::from_tensor(&Tensor::zeros((out, rank), DType::F32, dev)?)?;
                Ok((a, b))
            };
            pairs.push([
                pair(d, d)?,
                pair(d, d)?,
                pair(d, d)?,
                pair(d, d)?,
                pair(h, d)?,
                pair(d, h)?,
                pair(h, d)?,
            ]);
        }
        Ok(Lora { rank, alpha, pairs })
    }

    /// `lora_alpha / r`, PEFT's scaling.
    pub fn scale(&self) -> f64 {
        self.alpha as f64 / self.rank as f64
    }

    pub fn vars(&self) -> Vec<Var> {
        self.pairs
            .iter()
            .flat_map(|layer| layer.iter().flat_map(|(a, b)| [a.clone(), b.clone()]))
            .collect()
    }
}

/// `linear(x, w)`, plus the adapter's `scale·B·(A·x)` when there is one.
fn project(x: &Tensor, w: &Var, lora: Option<(&(Var, Var), f64)>) -> Result<Tensor> {
    let y = linear(x, w)?;
    match lora {
        None => Ok(y),
        Some(((a, b), scale)) => y + (linear(&linear(x, a)?, b)? * scale)?,
    }
}

impl Model {
    /// Weights drawn from `seed`: N(0, 0.02), output projections scaled down by
    /// `1/sqrt(2·layers)` as llama2.c's training does, RMSNorm weights 1.
    pub fn new(cfg: Cfg, seed: u64, dev: &Device) -> Result<Model> {
        let mut r = Rng::new(seed);
        let (d, h) = (cfg.dim, cfg.hidden);
        let small = 0.02 / ((2 * cfg.layers) as f64).sqrt();
        let emb = normal(&mut r, (cfg.vocab, d), 0.02, dev)?;
        let mut layers = Vec::new();
        for _ in 0..cfg.layers {
            layers.push(Layer {
                rms_att: ones(d, dev)?,
                wq: normal(&mut r, (d, d), 0.02, dev)?,
                wk: normal(&mut r, (d, d), 0.02, dev)?,
                wv: normal(&mut r, (d, d), 0.02, dev)?,
                wo: normal(&mut r, (d, d), small, dev)?,
                rms_ffn: ones(d, dev)?,
                w1: normal(&mut r, (h, d), 0.02, dev)?,
                w2: normal(&mut r, (d, h), small, dev)?,
                w3: normal(&mut r, (h, d), 0.02, dev)?,
            });
        }
        let (cos, sin) = rope_tables(&cfg, dev)?;
        Ok(Model {
            cfg,
            emb,
            layers,
            rms_final: ones(d, dev)?,
            cos,
            sin,
        })
    }

    pub fn vars(&self) -> Vec<Var> {
        let mut v = vec![self.emb.clone(), self.rms_final.clone()];
        for l in &self.layers {
            v.extend(
                [
                    &l.rms_att, &l.wq, &l.wk, &l.wv, &l.wo, &l.rms_ffn, &l.w1, &l.w2, &l.w3,
                ]
                .map(Clone::clone),
            );
        }
        v
    }

    /// The model of a checkpoint's weights (`export::load`).
    pub fn from_weights(
        cfg: Cfg,
        emb: Var,
        layers: Vec<Layer>,
        rms_final: Var,
        dev: &Device,
    ) -> Result<Model> {
        let (cos, sin) = rope_tables(&cfg, dev)?;
        Ok(Model {
            cfg,
            emb,
            layers,
            rms_final,
            cos,
            sin,
        })
    }

    /// Logits `[b, t, vocab]` of token ids `[b, t]`.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        self.forward_with(ids, None)
    }

    /// [`Model::forward`] with a LoRA adapter applied to every projection.
    pub fn forward_with(&self, ids: &Tensor, lora: Option<&Lora>) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let c = self.cfg;
        let (nh, hs) = (c.heads, c.head_size());
        let mut x = self
            .emb
            .as_tensor()
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, t, c.dim))?;
        let cos = self.cos.narrow(0, 0, t)?;
        let sin = self.sin.narrow(0, 0, t)?;
        let mask = causal_mask(t, x.device())?;
        let heads = |y: Tensor| -> Result<Tensor> {
            y.reshape((b, t, nh, hs))?.transpose(1, 2)?.contiguous()
        };
        for (i, l) in self.layers.iter().enumerate() {
            let p = |j: usize| lora.map(|a| (&a.pairs[i][j], a.scale()));
            let h = rmsnorm(&x, &l.rms_att)?;
            let q = rope(&heads(project(&h, &l.wq, p(0))?)?, &cos, &sin)?;
            let k = rope(&heads(project(&h, &l.wk, p(1))?)?, &cos, &sin)?;
            let v = heads(project(&h, &l.wv, p(2))?)?;
            let att = (q.matmul(&k.t()?.contiguous()?)? / (hs as f64).sqrt())?;
            let att = candle_nn::ops::softmax(&att.broadcast_add(&mask)?, D::Minus1)?;
            let y = att
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b, t, c.dim))?;
            x = (x + project(&y, &l.wo, p(3))?)?;
            let h = rmsnorm(&x, &l.rms_ffn)?;
            let g = candle_nn::ops::silu(&project(&h, &l.w1, p(4))?)?;
            let u = project(&h, &l.w3, p(6))?;
            x = (x + project(&(g * u)?, &l.w2, p(5))?)?;
        }
        let x = rmsnorm(&x, &self.rms_final)?;
        linear(&x, &self.emb)
    }
}

/// `(cos, sin)` of `pos · 10000^(-2j/hs)` for every position and pair `j`: `[seq_len, hs/2]`.
fn rope_tables(c: &Cfg, dev: &Device) -> Result<(Tensor, Tensor)> {
    let hs = c.head_size();
    let mut cos = Vec::new();
    let mut sin = Vec::new();
    for pos in 0..c.seq_len {
        for j in 0..hs / 2 {
            let freq = 1.0 / 10000f32.powf((2 * j) as f32 / hs as f32);
            let val = pos as f32 * freq;
            cos.push(val.cos());
            sin.push(val.sin());
        }
    }
    Ok((
        Tensor::from_vec(cos, (c.seq_len, hs / 2), dev)?,
        Tensor::from_vec(sin, (c.seq_len, hs / 2), dev)?,
    ))
}

/// Rotates consecutive pairs `(x[2j], x[2j+1])` of every head of `x` `[b, h, t, hs]`.
fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let (b, h, t, hs) = x.dims4()?;
    let x = x.reshape((b, h, t, hs / 2, 2))?;
    let x0 = x.narrow(4, 0, 1)?.squeeze(4)?;
    let x1 = x.narrow(4, 1, 1)?.squeeze(4)?;
    let r0 = (x0.broadcast_mul(cos)? - x1.broadcast_mul(sin)?)?;
    let r1 = (x0.broadcast_mul(sin)? + x1.broadcast_mul(cos)?)?;
    Tensor::stack(&[r0, r1], 4)?.reshape((b, h, t, hs))
}

/// 0 on and below the diagonal, a large negative number above it: `[t, t]`.
fn causal_mask(t: usize, dev: &Device) -> Result<Tensor> {
    let m: Vec<f32> = (0..t * t)
        .map(|i| if i % t > i / t { -1e9 } else { 0.0 })
        .collect();
    Tensor::from_vec(m, (t, t), dev)
}
