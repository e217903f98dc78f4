//! The shared, read-only half of a model: every weight of a llama2.c checkpoint in one `f32`
//! buffer, and the RoPE table derived from the header.
//!
//! Why one owned `Vec<f32>` rather than views into the caller's byte buffer (llama2.c maps the file
//! and points into it): the checkpoint arrives as bytes read from a VFS, with no alignment
//! guarantee for `f32` (let alone for SIMD loads), and reinterpreting them would need `unsafe`. A
//! single copy converted with `f32::from_le_bytes` costs exactly the file's size once, keeps the
//! loader free of `unsafe` and of endianness assumptions, and lets the caller drop the bytes after
//! loading. Tensors are then ranges into that one buffer, as llama2.c's pointers are into its
//! mapping; a [`Weights`] is immutable and meant to be shared (`Arc<Weights>`) by every inference
//! session (each with its own [`State`](super::State)).

use alloc::vec::Vec;

use super::checkpoint::{Config, HEADER};
use super::LlmError;

/// Allocates `n` zeroed floats, reporting exhaustion as an error instead of aborting.
pub(crate) fn zeroed(n: usize) -> Result<Vec<f32>, LlmError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| LlmError::OutOfMemory)?;
    v.resize(n, 0.0);
    Ok(v)
}

/// Offsets (in floats, into [`Weights`]'s buffer) of each tensor, in file order.
#[derive(Clone, Copy, Debug)]
struct Layout {
    token_embedding: usize,
    rms_att: usize,
    wq: usize,
    wk: usize,
    wv: usize,
    wo: usize,
    rms_ffn: usize,
    w1: usize,
    w2: usize,
    w3: usize,
    rms_final: usize,
    classifier: usize,
}

impl Layout {
    /// Computes the offsets; [`Config::check`] has already proved the sums fit the file.
    fn new(c: &Config) -> Layout {
        let (l, d, kv, h) = (c.n_layers, c.dim, c.kv_dim(), c.hidden_dim);
        let token_embedding = 0;
        let rms_att = token_embedding + c.vocab_size * d;
        let wq = rms_att + l * d;
        let wk = wq + l * d * d;
        let wv = wk + l * d * kv;
        let wo = wv + l * d * kv;
        let rms_ffn = wo + l * d * d;
        let w1 = rms_ffn + l * d;
        let w2 = w1 + l * d * h;
        let w3 = w2 + l * h * d;
        let rms_final = w3 + l * d * h;
        // freq_cis_real and freq_cis_imag (seq_len * head_size / 2 floats each) follow; unused.
        let after = rms_final + d + c.seq_len * c.head_size();
        let classifier = if c.shared_classifier {
            token_embedding
        } else {
            after
        };
        Layout {
            token_embedding,
            rms_att,
            wq,
            wk,
            wv,
            wo,
            rms_ffn,
            w1,
            w2,
            w3,
            rms_final,
            classifier,
        }
    }
}

/// One layer's tensors, each row-major `[out, in]` as llama2.c stores them.
#[derive(Clone, Copy)]
pub struct LayerWeights<'a> {
    pub rms_att: &'a [f32],
    /// `[dim, dim]`
    pub wq: &'a [f32],
    /// `[kv_dim, dim]`
    pub wk: &'a [f32],
    /// `[kv_dim, dim]`
    pub wv: &'a [f32],
    /// `[dim, dim]`
    pub wo: &'a [f32],
    pub rms_ffn: &'a [f32],
    /// `[hidden_dim, dim]` (gate)
    pub w1: &'a [f32],
    /// `[dim, hidden_dim]` (down)
    pub w2: &'a [f32],
    /// `[hidden_dim, dim]` (up)
    pub w3: &'a [f32],
}

/// A loaded checkpoint's weights: immutable after loading, shared by every session.
pub struct Weights {
    config: Config,
    data: Vec<f32>,
    layout: Layout,
    /// `(cos, sin)` of RoPE for every position and every pair of a head: `seq_len * head_size`
    /// floats (the size of the file's unused `freq_cis` tables, so bounded by the file).
    rope: Vec<f32>,
}

impl core::fmt::Debug for Weights {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Weights")
            .field("config", &self.config)
            .field("bytes", &self.memory_bytes())
            .finish()
    }
}

impl Weights {
    /// Parses a llama2.c legacy checkpoint. Sizes are checked against the file before anything is
    /// allocated ([`Config::check`]); the weights then take exactly the file's size once.
    pub fn from_bytes(bytes: &[u8]) -> Result<Weights, LlmError> {
        let (config, need) = Config::check(bytes)?;
        let body = bytes.get(HEADER..need).ok_or(LlmError::Truncated)?;
        let mut data = Vec::new();
        data.try_reserve_exact(body.len() / 4)
            .map_err(|_| LlmError::OutOfMemory)?;
        data.extend(
            body.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        let rope = rope_table(&config)?;
        Ok(Weights {
            layout: Layout::new(&config),
            config,
            data,
            rope,
        })
    }

    /// Weights of the shape of `config` filled from `seed` (timing only: benchmarks of a
    /// model's shape without its file, e.g. stories15M's). Uniform in ±1/√dim, RMSNorm weights 1.
    /// Refused like a file of that shape would be (sizes, KV bound), then one allocation.
    pub fn synthetic(config: &Config, seed: u64) -> Result<Weights, LlmError> {
        let c = Config::from_header(config.to_header())?;
        let need = c.file_size()?;
        let budget = need
            .saturating_mul(4)
            .saturating_add(super::checkpoint::STATE_SLACK_BYTES);
        if c.state_bytes(c.seq_len)? > budget {
            return Err(LlmError::StateTooLarge);
        }
        let mut data = zeroed((need - HEADER) / 4)?;
        let layout = Layout::new(&c);
        let scale = 1.0 / libm::sqrtf(c.dim as f32);
        let mut x = seed | 1;
        for v in data.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *v = ((x >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale;
        }
        let d = c.dim;
        for at in [layout.rms_att, layout.rms_ffn] {
            data[at..at + c.n_layers * d].fill(1.0);
        }
        data[layout.rms_final..layout.rms_final + d].fill(1.0);
        Ok(Weights {
            rope: rope_table(&c)?,
            layout,
            config: c,
            data,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Bytes held by these weights (the buffer and the RoPE table).
    pub fn memory_bytes(&self) -> usize {
        (self.data.len() + self.rope.len()) * 4
    }

    fn slice(&self, at: usize, n: usize) -> &[f32] {
        &self.data[at..at + n]
    }

    /// The `[vocab_size, dim]` token embedding table.
    pub fn token_embedding(&self) -> &[f32] {
        self.slice(
            self.layout.token_embedding,
            self.config.vocab_size * self.config.dim,
        )
    }

    /// The embedding row of `token` (which the caller has checked is in the vocabulary).
    pub fn embedding(&self, token: usize) -> &[f32] {
        let d = self.config.dim;
        self.slice(self.layout.token_embedding + token * d, d)
    }

    /// Layer `l`'s tensors (`l < n_layers`).
    pub fn layer(&self, l: usize) -> LayerWeights<'_> {
        let c = &self.config;
        let (d, kv, h) = (c.dim, c.kv_dim(), c.hidden_dim);
        let lo = &self.layout;
        LayerWeights {
            rms_att: self.slice(lo.rms_att + l * d, d),
            wq: self.slice(lo.wq + l * d * d, d * d),
            wk: self.slice(lo.wk + l * d * kv, d * kv),
            wv: self.slice(lo.wv + l * d * kv, d * kv),
            wo: self.slice(lo.wo + l * d * d, d * d),
            rms_ffn: self.slice(lo.rms_ffn + l * d, d),
            w1: self.slice(lo.w1 + l * d * h, d * h),
            w2: self.slice(lo.w2 + l * h * d, h * d),
            w3: self.slice(lo.w3 + l * d * h, d * h),
        }
    }

    pub fn rms_final(&self) -> &[f32] {
        self.slice(self.layout.rms_final, self.config.dim)
    }

    /// The `[vocab_size, dim]` classifier (the token embedding when shared).
    pub fn classifier(&self) -> &[f32] {
        self.slice(
            self.layout.classifier,
            self.config.vocab_size * self.config.dim,
        )
    }

    /// `(cos, sin)` pairs of position `pos` (`< seq_len`): `head_size` floats.
    pub(crate) fn rope(&self, pos: usize) -> &[f32] {
        let hs = self.config.head_size();
        &self.rope[pos * hs..(pos + 1) * hs]
    }
}

/// run.c computes, per position and per pair `i` of a head, `freq = 1 / powf(10000, i / hs)` and
/// `cosf`/`sinf` of `pos * freq`; the same `f32` operations done once at load give the same bits.
fn rope_table(c: &Config) -> Result<Vec<f32>, LlmError> {
    let hs = c.head_size();
    let mut t = zeroed(c.seq_len * hs)?;
    for (pos, row) in t.chunks_exact_mut(hs).enumerate() {
        for (j, cs) in row.chunks_exact_mut(2).enumerate() {
            let head_dim = 2 * j;
            let freq = 1.0 / libm::powf(10000.0, head_dim as f32 / hs as f32);
            let val = pos as f32 * freq;
            cs[0] = libm::cosf(val);
            cs[1] = libm::sinf(val);
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_weights_have_the_shape_asked_and_are_seeded() {
        // dim 16, hidden 32, 2 layers, 4 heads, 2 KV heads, a separate classifier of 20 rows.
        let c = Config::from_header([16, 32, 2, 4, 2, -20, 8]).unwrap();
        let w = Weights::synthetic(&c, 1).unwrap();
        assert_eq!(w.config(), &c);
        assert_eq!(w.config().to_header(), [16, 32, 2, 4, 2, -20, 8]);
        // The file's floats and the RoPE table (seq_len * head_size), nothing else.
        let floats = (c.file_size().unwrap() - HEADER) / 4;
        assert_eq!(w.memory_bytes(), (floats + 8 * 4) * 4);
        assert!(alloc::format!("{w:?}").contains("dim: 16"));
        // RMSNorm weights are 1, every other weight within ±1/√dim.
        assert!(w.rms_final().iter().all(|&v| v == 1.0));
        for l in 0..2 {
            let layer = w.layer(l);
            assert!(layer.rms_att.iter().chain(layer.rms_ffn).all(|&v| v == 1.0));
            assert!(layer.wq.iter().chain(layer.w2).all(|v| v.abs() <= 0.25));
        }
        assert_eq!(w.classifier().len(), 20 * 16);
        assert!(w.token_embedding().iter().any(|&v| v != 0.0));
        // The same seed, the same weights; another seed, others.
        let again = Weights::synthetic(&c, 1).unwrap();
        assert_eq!(w.token_embedding(), again.token_embedding());
        let other = Weights::synthetic(&c, 2).unwrap();
        assert_ne!(w.token_embedding(), other.token_embedding());
        // They run: finite logits for every position.
        let mut s = crate::llm::State::new(&c).unwrap();
        for pos in 0..8 {
            let logits = crate::llm::forward(&w, &mut s, 1, pos).unwrap();
            assert_eq!(logits.len(), 20);
            assert!(logits.iter().all(|v| v.is_finite()), "{pos}");
        }
    }

    #[test]
    fn synthetic_weights_are_refused_as_a_file_of_their_shape_would_be() {
        // A context so long the KV cache dwarfs the weights (4 times the file plus the slack).
        let c = Config::from_header([8, 16, 2, 2, 2, 10, 2_000_000]).unwrap();
        assert_eq!(
            Weights::synthetic(&c, 1).unwrap_err(),
            LlmError::StateTooLarge
        );
    }
}
