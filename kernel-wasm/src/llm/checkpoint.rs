//! The llama2.c legacy checkpoint: a header of seven little-endian `i32` (dim, hidden_dim,
//! n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means a separate
//! classifier follows) and then the `f32` weights in llama2.c order.

#[cfg(test)]
use alloc::vec::Vec;

use super::LlmError;

/// Largest run state accepted, in bytes, beyond four times the file size (see
/// [`Config::check`]).
pub const STATE_SLACK_BYTES: usize = 16 << 20;

/// Model hyper-parameters from the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub dim: usize,
    pub hidden_dim: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub vocab_size: usize,
    pub seq_len: usize,
    /// The classifier is the token embedding (positive vocab_size in the header).
    pub shared_classifier: bool,
}

impl Config {
    pub fn head_size(&self) -> usize {
        self.dim / self.n_heads
    }
    pub fn kv_dim(&self) -> usize {
        self.dim * self.n_kv_heads / self.n_heads
    }
}

/// Bytes of the header: seven `i32`.
pub(crate) const HEADER: usize = 7 * 4;

fn positive(v: i32, what: &'static str) -> Result<usize, LlmError> {
    if v <= 0 {
        return Err(LlmError::BadHeader(what));
    }
    Ok(v as usize)
}

fn mul(a: usize, b: usize) -> Result<usize, LlmError> {
    a.checked_mul(b).ok_or(LlmError::SizeOverflow)
}

fn add(a: usize, b: usize) -> Result<usize, LlmError> {
    a.checked_add(b).ok_or(LlmError::SizeOverflow)
}

impl Config {
    /// Validates the seven header fields (dimensions positive and consistent). Says nothing about
    /// sizes: see [`Config::file_size`] and [`Config::check`].
    pub fn from_header(h: [i32; 7]) -> Result<Config, LlmError> {
        let dim = positive(h[0], "dim")?;
        let hidden_dim = positive(h[1], "hidden_dim")?;
        let n_layers = positive(h[2], "n_layers")?;
        let n_heads = positive(h[3], "n_heads")?;
        let n_kv_heads = positive(h[4], "n_kv_heads")?;
        let raw_vocab = h[5];
        if raw_vocab == 0 || raw_vocab == i32::MIN {
            return Err(LlmError::BadHeader("vocab_size"));
        }
        let vocab_size = raw_vocab.unsigned_abs() as usize;
        let seq_len = positive(h[6], "seq_len")?;
        if dim % n_heads != 0 {
            return Err(LlmError::BadHeader("n_heads does not divide dim"));
        }
        if n_heads % n_kv_heads != 0 {
            return Err(LlmError::BadHeader("n_kv_heads does not divide n_heads"));
        }
        if (dim / n_heads) % 2 != 0 {
            return Err(LlmError::BadHeader("head size is odd"));
        }
        Ok(Config {
            dim,
            hidden_dim,
            n_layers,
            n_heads,
            n_kv_heads,
            vocab_size,
            seq_len,
            shared_classifier: raw_vocab > 0,
        })
    }

    /// The header fields of this config (vocab_size negative for a separate classifier); the
    /// inverse of [`Config::from_header`] for configs it produced.
    pub fn to_header(&self) -> [i32; 7] {
        let f = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
        let vocab = if self.shared_classifier {
            f(self.vocab_size)
        } else {
            -f(self.vocab_size)
        };
        [
            f(self.dim),
            f(self.hidden_dim),
            f(self.n_layers),
            f(self.n_heads),
            f(self.n_kv_heads),
            vocab,
            f(self.seq_len),
        ]
    }

    /// The exact byte size of a checkpoint with this config: header, weights in llama2.c order,
    /// the (unused) RoPE tables, and the classifier when it is not shared.
    pub fn file_size(&self) -> Result<usize, LlmError> {
        let (dim, kv_dim, hidden_dim, n_layers) =
            (self.dim, self.kv_dim(), self.hidden_dim, self.n_layers);
        let mut floats = mul(self.vocab_size, dim)?;
        let per_layer = [
            dim,
            mul(dim, dim)?,
            mul(dim, kv_dim)?,
            mul(dim, kv_dim)?,
            mul(dim, dim)?,
            dim,
            mul(dim, hidden_dim)?,
            mul(dim, hidden_dim)?,
            mul(dim, hidden_dim)?,
        ];
        for n in per_layer {
            floats = add(floats, mul(n, n_layers)?)?;
        }
        floats = add(floats, dim)?;
        floats = add(floats, mul(self.seq_len, self.head_size())?)?;
        if !self.shared_classifier {
            floats = add(floats, mul(self.vocab_size, dim)?)?;
        }
        add(mul(floats, 4)?, HEADER)
    }

    /// Bytes of the per-session run state for a context of `ctx` positions: the KV cache
    /// (`2 * n_layers * ctx * kv_dim` floats), attention scores (`n_heads * ctx`) and the
    /// activation buffers.
    pub fn state_bytes(&self, ctx: usize) -> Result<usize, LlmError> {
        let kv = mul(mul(mul(self.n_layers, ctx)?, self.kv_dim())?, 2)?;
        let att = mul(self.n_heads, ctx)?;
        let act = add(
            mul(self.dim, 4)?,
            add(mul(self.hidden_dim, 2)?, self.vocab_size)?,
        )?;
        mul(add(add(kv, att)?, act)?, 4)
    }

    /// Parses and checks the header against the file: the file must have exactly
    /// [`Config::file_size`] bytes, and a full-context run state ([`Config::state_bytes`]) must not
    /// exceed four times the file size plus [`STATE_SLACK_BYTES`], so a small hostile header
    /// cannot ask for a huge allocation. Returns the config and the file size.
    pub fn check(bytes: &[u8]) -> Result<(Config, usize), LlmError> {
        let Some(header) = bytes.get(..HEADER) else {
            return Err(LlmError::Truncated);
        };
        let mut h = [0i32; 7];
        for (v, b) in h.iter_mut().zip(header.chunks_exact(4)) {
            *v = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        let cfg = Config::from_header(h)?;
        let need = cfg.file_size()?;
        if bytes.len() < need {
            return Err(LlmError::Truncated);
        }
        if bytes.len() > need {
            return Err(LlmError::TrailingBytes);
        }
        let budget = need.saturating_mul(4).saturating_add(STATE_SLACK_BYTES);
        if cfg.state_bytes(cfg.seq_len)? > budget {
            return Err(LlmError::StateTooLarge);
        }
        Ok((cfg, need))
    }
}

#[cfg(test)]
pub(crate) fn tiny_checkpoint(hdr: [i32; 7], seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for v in hdr {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let Ok(Ok(need)) = Config::from_header(hdr).map(|c| c.file_size()) else {
        return out;
    };
    let mut rng = crate::test_rng::XorShift(seed);
    for _ in 0..(need - HEADER) / 4 {
        let f = (rng.next() % 2001) as f32 / 1000.0 - 1.0;
        out.extend_from_slice(&(f * 0.5).to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Result<super::super::Weights, LlmError> {
        super::super::Weights::from_bytes(b)
    }

    #[test]
    fn rejects_bad_headers() {
        let good = [8, 16, 2, 2, 1, 10, 4];
        assert!(parse(&tiny_checkpoint(good, 1)).is_ok());
        let bad: [([i32; 7], &str); 6] = [
            ([0, 16, 2, 2, 1, 10, 4], "dim"),
            ([8, -1, 2, 2, 1, 10, 4], "hidden_dim"),
            ([8, 16, 2, 3, 1, 10, 4], "divide dim"),
            ([8, 16, 2, 2, 3, 10, 4], "n_kv_heads"),
            ([8, 16, 2, 2, 1, 0, 4], "vocab_size"),
            ([8, 16, 2, 2, 1, 10, -4], "seq_len"),
        ];
        for (h, what) in bad {
            let e = parse(&tiny_checkpoint(h, 1)).err().unwrap();
            assert!(alloc::format!("{e}").contains(what), "{e} / {what}");
        }
    }

    #[test]
    fn truncated_trailing_overflow() {
        let mut b = tiny_checkpoint([8, 16, 2, 2, 1, -10, 4], 2);
        assert!(parse(&b).is_ok());
        b.push(0);
        assert_eq!(parse(&b).err(), Some(LlmError::TrailingBytes));
        b.truncate(b.len() - 5);
        assert_eq!(parse(&b).err(), Some(LlmError::Truncated));
        assert_eq!(parse(&b[..10]).err(), Some(LlmError::Truncated));
        let mut h = Vec::new();
        for v in [i32::MAX, i32::MAX, i32::MAX, 1, 1, i32::MAX, i32::MAX] {
            h.extend_from_slice(&v.to_le_bytes());
        }
        assert!(parse(&h).is_err());
    }
}
