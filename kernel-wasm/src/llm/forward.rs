//! The transformer forward pass of llama2.c run.c `forward`: RMSNorm (eps 1e-5), RoPE,
//! grouped-query attention over a KV cache, SwiGLU feed-forward and the classifier, plus the
//! session's adapters (LoRA deltas after each adapted projection, activation hooks after each
//! layer). Reads shared [`Weights`], writes only the session's [`State`]; allocates nothing.

use super::adapter::Target;
use super::matmul::{dot, matmul};
use super::sampler::softmax;
use super::{LlmError, State, Weights};

fn rmsnorm(o: &mut [f32], x: &[f32], weight: &[f32]) {
    let ss = 1.0 / libm::sqrtf(mean_square(x) + 1e-5);
    for ((o, &w), &x) in o.iter_mut().zip(weight).zip(x) {
        *o = w * (ss * x);
    }
}

fn rmsnorm_in_place(x: &mut [f32], weight: &[f32]) {
    let ss = 1.0 / libm::sqrtf(mean_square(x) + 1e-5);
    for (x, &w) in x.iter_mut().zip(weight) {
        *x = w * (ss * *x);
    }
}

/// run.c's sequential sum of squares divided by the length.
fn mean_square(x: &[f32]) -> f32 {
    let mut ss = 0.0f32;
    for &v in x {
        ss += v * v;
    }
    ss / x.len() as f32
}

/// Rotates consecutive pairs of every head of `v` by the position's `(cos, sin)` pairs.
fn rope(v: &mut [f32], table: &[f32]) {
    for head in v.chunks_exact_mut(table.len()) {
        for (p, cs) in head.chunks_exact_mut(2).zip(table.chunks_exact(2)) {
            let (v0, v1) = (p[0], p[1]);
            p[0] = v0 * cs[0] - v1 * cs[1];
            p[1] = v0 * cs[1] + v1 * cs[0];
        }
    }
}

/// Runs `token` at position `pos` through the model and returns the logits (in `state`).
///
/// Errors, never panics: a state made for another model shape, a token beyond the vocabulary, a
/// position beyond the state's context, or a failing activation hook. After an error the state
/// can start a new generation (positions are simply recomputed).
pub fn forward<'s>(
    w: &Weights,
    s: &'s mut State,
    token: usize,
    pos: usize,
) -> Result<&'s mut [f32], LlmError> {
    let c = *w.config();
    if s.config != c {
        return Err(LlmError::StateMismatch);
    }
    if token >= c.vocab_size {
        return Err(LlmError::TokenOutOfRange);
    }
    if pos >= s.ctx {
        return Err(LlmError::ContextFull);
    }
    let (hs, kv_dim, ctx) = (c.head_size(), c.kv_dim(), s.ctx);
    let kv_mul = c.n_heads / c.n_kv_heads;
    let scale = libm::sqrtf(hs as f32);
    let rope_cs = w.rope(pos);
    s.x.copy_from_slice(w.embedding(token));
    for l in 0..c.n_layers {
        let lw = w.layer(l);
        let loff = l * ctx * kv_dim;
        let kr = loff + pos * kv_dim..loff + (pos + 1) * kv_dim;

        // Attention: q, k, v of this position (k and v straight into the cache).
        rmsnorm(&mut s.xb, &s.x, lw.rms_att);
        matmul(&mut s.q, &s.xb, lw.wq);
        matmul(&mut s.key_cache[kr.clone()], &s.xb, lw.wk);
        matmul(&mut s.value_cache[kr.clone()], &s.xb, lw.wv);
        for a in &s.adapters.loras {
            a.apply(
                l,
                Target::Wq,
                &s.xb,
                &mut s.q,
                &mut s.lora_tmp,
                &mut s.lora_delta,
            );
            a.apply(
                l,
                Target::Wk,
                &s.xb,
                &mut s.key_cache[kr.clone()],
                &mut s.lora_tmp,
                &mut s.lora_delta,
            );
            a.apply(
                l,
                Target::Wv,
                &s.xb,
                &mut s.value_cache[kr.clone()],
                &mut s.lora_tmp,
                &mut s.lora_delta,
            );
        }
        rope(&mut s.q, rope_cs);
        rope(&mut s.key_cache[kr], rope_cs);

        for h in 0..c.n_heads {
            let q = &s.q[h * hs..(h + 1) * hs];
            let att = &mut s.att[h * ctx..h * ctx + pos + 1];
            let ko = loff + (h / kv_mul) * hs;
            for (t, a) in att.iter_mut().enumerate() {
                let k = &s.key_cache[ko + t * kv_dim..ko + t * kv_dim + hs];
                *a = dot(q, k) / scale;
            }
            softmax(att);
            let xb = &mut s.xb[h * hs..(h + 1) * hs];
            xb.fill(0.0);
            for (t, &a) in att.iter().enumerate() {
                let v = &s.value_cache[ko + t * kv_dim..ko + t * kv_dim + hs];
                for (o, &vi) in xb.iter_mut().zip(v) {
                    *o += a * vi;
                }
            }
        }
        matmul(&mut s.xb2, &s.xb, lw.wo);
        for a in &s.adapters.loras {
            a.apply(
                l,
                Target::Wo,
                &s.xb,
                &mut s.xb2,
                &mut s.lora_tmp,
                &mut s.lora_delta,
            );
        }
        for (x, &d) in s.x.iter_mut().zip(&s.xb2) {
            *x += d;
        }

        // Feed-forward: w2(silu(w1 x) * w3 x).
        rmsnorm(&mut s.xb, &s.x, lw.rms_ffn);
        matmul(&mut s.hb, &s.xb, lw.w1);
        matmul(&mut s.hb2, &s.xb, lw.w3);
        for a in &s.adapters.loras {
            a.apply(
                l,
                Target::W1,
                &s.xb,
                &mut s.hb,
                &mut s.lora_tmp,
                &mut s.lora_delta,
            );
            a.apply(
                l,
                Target::W3,
                &s.xb,
                &mut s.hb2,
                &mut s.lora_tmp,
                &mut s.lora_delta,
            );
        }
        for (h, &h2) in s.hb.iter_mut().zip(&s.hb2) {
            let mut val = *h;
            val *= 1.0 / (1.0 + libm::expf(-val));
            val *= h2;
            *h = val;
        }
        matmul(&mut s.xb, &s.hb, lw.w2);
        for a in &s.adapters.loras {
            a.apply(
                l,
                Target::W2,
                &s.hb,
                &mut s.xb,
                &mut s.lora_tmp,
                &mut s.lora_delta,
            );
        }
        for (x, &d) in s.x.iter_mut().zip(&s.xb) {
            *x += d;
        }
        if !s.adapters.hooks.is_empty() {
            s.adapters.after_layer(l, &mut s.x)?;
        }
    }
    rmsnorm_in_place(&mut s.x, w.rms_final());
    matmul(&mut s.logits, &s.x, w.classifier());
    Ok(&mut s.logits)
}
