//! The transformer forward pass of llama2.c run.c `forward`: RMSNorm (eps 1e-5), RoPE,
//! grouped-query attention over a KV cache, SwiGLU feed-forward, and the classifier.

use alloc::vec;
use alloc::vec::Vec;

use super::checkpoint::{self, Config, Weights};
use super::{math, sampler, LlmError};

/// A loaded model with its run state (KV cache and scratch buffers).
pub struct Model {
    pub config: Config,
    w: Weights,
    x: Vec<f32>,
    xb: Vec<f32>,
    xb2: Vec<f32>,
    hb: Vec<f32>,
    hb2: Vec<f32>,
    q: Vec<f32>,
    att: Vec<f32>,
    logits: Vec<f32>,
    key_cache: Vec<f32>,
    value_cache: Vec<f32>,
}

fn rmsnorm(o: &mut [f32], x: &[f32], weight: &[f32]) {
    let mut ss = 0.0f32;
    for &v in x {
        ss += v * v;
    }
    ss /= x.len() as f32;
    ss += 1e-5;
    let ss = 1.0 / math::sqrt(ss);
    for ((o, &w), &x) in o.iter_mut().zip(weight).zip(x) {
        *o = w * (ss * x);
    }
}

/// `out = W x` with `W` row-major `(out.len(), x.len())`, four accumulators per row.
fn matmul(out: &mut [f32], x: &[f32], w: &[f32]) {
    let n = x.len();
    for (o, row) in out.iter_mut().zip(w.chunks_exact(n)) {
        let mut acc = [0.0f32; 4];
        let mut rc = row.chunks_exact(4);
        let mut xc = x.chunks_exact(4);
        for (r, v) in (&mut rc).zip(&mut xc) {
            acc[0] += r[0] * v[0];
            acc[1] += r[1] * v[1];
            acc[2] += r[2] * v[2];
            acc[3] += r[3] * v[3];
        }
        let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (r, v) in rc.remainder().iter().zip(xc.remainder()) {
            s += r * v;
        }
        *o = s;
    }
}

impl Model {
    /// Parses a llama2.c checkpoint (see [`checkpoint`]) and allocates its run state, whose
    /// size [`Config::check`] has bounded.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, LlmError> {
        let (c, w) = checkpoint::parse(bytes)?;
        let kv = c.n_layers * c.seq_len * c.kv_dim();
        Ok(Model {
            x: vec![0.0; c.dim],
            xb: vec![0.0; c.dim],
            xb2: vec![0.0; c.dim],
            hb: vec![0.0; c.hidden_dim],
            hb2: vec![0.0; c.hidden_dim],
            q: vec![0.0; c.dim],
            att: vec![0.0; c.n_heads * c.seq_len],
            logits: vec![0.0; c.vocab_size],
            key_cache: vec![0.0; kv],
            value_cache: vec![0.0; kv],
            config: c,
            w,
        })
    }

    /// Runs `token` at position `pos` and returns the logits. Errors (never panics) when the
    /// token or position is out of range.
    pub fn forward(&mut self, token: usize, pos: usize) -> Result<&mut [f32], LlmError> {
        let c = self.config;
        if token >= c.vocab_size {
            return Err(LlmError::TokenOutOfRange);
        }
        if pos >= c.seq_len {
            return Err(LlmError::ContextFull);
        }
        let (dim, hd, hs, kv_dim) = (c.dim, c.hidden_dim, c.head_size(), c.kv_dim());
        let kv_mul = c.n_heads / c.n_kv_heads;
        let w = &self.w;
        self.x
            .copy_from_slice(&w.token_embedding[token * dim..(token + 1) * dim]);
        for l in 0..c.n_layers {
            rmsnorm(&mut self.xb, &self.x, &w.rms_att[l * dim..(l + 1) * dim]);
            let loff = l * c.seq_len * kv_dim;
            let kr = loff + pos * kv_dim..loff + (pos + 1) * kv_dim;
            matmul(
                &mut self.q,
                &self.xb,
                &w.wq[l * dim * dim..(l + 1) * dim * dim],
            );
            let wkv = l * dim * kv_dim..(l + 1) * dim * kv_dim;
            matmul(
                &mut self.key_cache[kr.clone()],
                &self.xb,
                &w.wk[wkv.clone()],
            );
            matmul(&mut self.value_cache[kr.clone()], &self.xb, &w.wv[wkv]);
            for i in (0..dim).step_by(2) {
                let head_dim = i % hs;
                let freq = 1.0 / math::powf(10000.0, head_dim as f32 / hs as f32);
                let (fcr, fci) = math::cos_sin(pos as f32 * freq);
                let rot = |v: &mut [f32]| {
                    let (v0, v1) = (v[i], v[i + 1]);
                    v[i] = v0 * fcr - v1 * fci;
                    v[i + 1] = v0 * fci + v1 * fcr;
                };
                rot(&mut self.q);
                if i < kv_dim {
                    rot(&mut self.key_cache[kr.clone()]);
                }
            }
            let scale = math::sqrt(hs as f32);
            for h in 0..c.n_heads {
                let q = &self.q[h * hs..(h + 1) * hs];
                let att = &mut self.att[h * c.seq_len..h * c.seq_len + pos + 1];
                let ko = (h / kv_mul) * hs;
                for (t, a) in att.iter_mut().enumerate() {
                    let k = &self.key_cache[loff + t * kv_dim + ko..][..hs];
                    let mut score = 0.0f32;
                    for (qi, ki) in q.iter().zip(k) {
                        score += qi * ki;
                    }
                    *a = score / scale;
                }
                sampler::softmax(att);
                let xb = &mut self.xb[h * hs..(h + 1) * hs];
                xb.fill(0.0);
                for (t, &a) in att.iter().enumerate() {
                    let v = &self.value_cache[loff + t * kv_dim + ko..][..hs];
                    for (o, vi) in xb.iter_mut().zip(v) {
                        *o += a * vi;
                    }
                }
            }
            matmul(
                &mut self.xb2,
                &self.xb,
                &w.wo[l * dim * dim..(l + 1) * dim * dim],
            );
            for (x, d) in self.x.iter_mut().zip(&self.xb2) {
                *x += d;
            }
            rmsnorm(&mut self.xb, &self.x, &w.rms_ffn[l * dim..(l + 1) * dim]);
            let wh = l * dim * hd..(l + 1) * dim * hd;
            matmul(&mut self.hb, &self.xb, &w.w1[wh.clone()]);
            matmul(&mut self.hb2, &self.xb, &w.w3[wh.clone()]);
            for (h, &h2) in self.hb.iter_mut().zip(&self.hb2) {
                let mut val = *h;
                val *= 1.0 / (1.0 + math::exp(-val));
                val *= h2;
                *h = val;
            }
            matmul(&mut self.xb, &self.hb, &w.w2[wh]);
            for (x, d) in self.x.iter_mut().zip(&self.xb) {
                *x += d;
            }
        }
        let x = self.x.clone();
        rmsnorm(&mut self.x, &x, &w.rms_final);
        let cls = w.wcls.as_deref().unwrap_or(&w.token_embedding);
        matmul(&mut self.logits, &self.x, cls);
        Ok(&mut self.logits)
    }
}
