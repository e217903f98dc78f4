//! The llama2.c legacy checkpoint: a header of seven little-endian `i32` (dim, hidden_dim,
//! n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means a separate
//! classifier follows) and then the `f32` weights in llama2.c order.

use alloc::vec::Vec;

use super::LlmError;

/// Largest KV cache + attention scratch accepted, in bytes, beyond four times the file size
/// (see [`Config::check`]).
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

/// All weights, copied out of the file as `f32`.
pub struct Weights {
    pub token_embedding: Vec<f32>,
    pub rms_att: Vec<f32>,
    pub wq: Vec<f32>,
    pub wk: Vec<f32>,
    pub wv: Vec<f32>,
    pub wo: Vec<f32>,
    pub rms_ffn: Vec<f32>,
    pub w1: Vec<f32>,
    pub w2: Vec<f32>,
    pub w3: Vec<f32>,
    pub rms_final: Vec<f32>,
    /// `None` when shared with `token_embedding`.
    pub wcls: Option<Vec<f32>>,
}

const HEADER: usize = 7 * 4;

fn field(bytes: &[u8], i: usize) -> i32 {
    let o = i * 4;
    i32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]])
}

fn positive(v: i32, what: &'static str) -> Result<usize, LlmError> {
    if v <= 0 {
        return Err(LlmError::BadHeader(what));
    }
    Ok(v as usize)
}

fn mul(a: usize, b: usize) -> Result<usize, LlmError> {
    a.checked_mul(b).ok_or(LlmError::SizeOverflow)
}

impl Config {
    /// Parses and checks the header against the file length: the exact weight byte count must
    /// match, and the run state (KV cache `2 * n_layers * seq_len * kv_dim` floats plus attention
    /// scores `n_heads * seq_len`) must not exceed four times the file size plus
    /// [`STATE_SLACK_BYTES`], so a small hostile header cannot ask for a huge allocation.
    pub fn check(bytes: &[u8]) -> Result<(Config, usize), LlmError> {
        if bytes.len() < HEADER {
            return Err(LlmError::Truncated);
        }
        let dim = positive(field(bytes, 0), "dim")?;
        let hidden_dim = positive(field(bytes, 1), "hidden_dim")?;
        let n_layers = positive(field(bytes, 2), "n_layers")?;
        let n_heads = positive(field(bytes, 3), "n_heads")?;
        let n_kv_heads = positive(field(bytes, 4), "n_kv_heads")?;
        let raw_vocab = field(bytes, 5);
        if raw_vocab == 0 || raw_vocab == i32::MIN {
            return Err(LlmError::BadHeader("vocab_size"));
        }
        let vocab_size = raw_vocab.unsigned_abs() as usize;
        let seq_len = positive(field(bytes, 6), "seq_len")?;
        if dim % n_heads != 0 {
            return Err(LlmError::BadHeader("n_heads does not divide dim"));
        }
        if n_heads % n_kv_heads != 0 {
            return Err(LlmError::BadHeader("n_kv_heads does not divide n_heads"));
        }
        let head_size = dim / n_heads;
        if head_size % 2 != 0 {
            return Err(LlmError::BadHeader("head size is odd"));
        }
        let cfg = Config {
            dim,
            hidden_dim,
            n_layers,
            n_heads,
            n_kv_heads,
            vocab_size,
            seq_len,
            shared_classifier: raw_vocab > 0,
        };
        let kv_dim = cfg.kv_dim();
        // Float counts, in file order.
        let mut floats = mul(vocab_size, dim)?;
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
            floats = floats
                .checked_add(mul(n, n_layers)?)
                .ok_or(LlmError::SizeOverflow)?;
        }
        floats = floats.checked_add(dim).ok_or(LlmError::SizeOverflow)?;
        floats = floats
            .checked_add(mul(seq_len, head_size)?)
            .ok_or(LlmError::SizeOverflow)?;
        if !cfg.shared_classifier {
            floats = floats
                .checked_add(mul(vocab_size, dim)?)
                .ok_or(LlmError::SizeOverflow)?;
        }
        let need = mul(floats, 4)?
            .checked_add(HEADER)
            .ok_or(LlmError::SizeOverflow)?;
        if bytes.len() < need {
            return Err(LlmError::Truncated);
        }
        if bytes.len() > need {
            return Err(LlmError::TrailingBytes);
        }
        let state = mul(mul(mul(mul(n_layers, seq_len)?, kv_dim)?, 2)?, 4)?
            .checked_add(mul(mul(n_heads, seq_len)?, 4)?)
            .ok_or(LlmError::SizeOverflow)?;
        let budget = bytes
            .len()
            .saturating_mul(4)
            .saturating_add(STATE_SLACK_BYTES);
        if state > budget {
            return Err(LlmError::StateTooLarge);
        }
        Ok((cfg, need))
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Vec<f32> {
        // `Config::check` proved every take is in bounds.
        let end = self.at + n * 4;
        let v = self.bytes[self.at..end]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        self.at = end;
        v
    }
}

/// Parses a whole checkpoint.
pub fn parse(bytes: &[u8]) -> Result<(Config, Weights), LlmError> {
    let (c, _) = Config::check(bytes)?;
    let (l, d, kv, h) = (c.n_layers, c.dim, c.kv_dim(), c.hidden_dim);
    let mut r = Reader { bytes, at: HEADER };
    let token_embedding = r.take(c.vocab_size * d);
    let rms_att = r.take(l * d);
    let wq = r.take(l * d * d);
    let wk = r.take(l * d * kv);
    let wv = r.take(l * d * kv);
    let wo = r.take(l * d * d);
    let rms_ffn = r.take(l * d);
    let w1 = r.take(l * d * h);
    let w2 = r.take(l * h * d);
    let w3 = r.take(l * d * h);
    let rms_final = r.take(d);
    r.at += c.seq_len * c.head_size() * 4; // freq_cis_real + freq_cis_imag, unused
    let wcls = if c.shared_classifier {
        None
    } else {
        Some(r.take(c.vocab_size * d))
    };
    let w = Weights {
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
        wcls,
    };
    Ok((c, w))
}

#[cfg(test)]
pub(crate) fn tiny_checkpoint(hdr: [i32; 7], seed: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for v in hdr {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if let Ok((_, need)) = Config::check_len_only(hdr) {
        let mut rng = crate::test_rng::XorShift(seed);
        for _ in 0..(need - HEADER) / 4 {
            let f = (rng.next() % 2001) as f32 / 1000.0 - 1.0;
            out.extend_from_slice(&(f * 0.5).to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
impl Config {
    fn check_len_only(hdr: [i32; 7]) -> Result<(Config, usize), LlmError> {
        let mut b = Vec::new();
        for v in hdr {
            b.extend_from_slice(&v.to_le_bytes());
        }
        match Config::check(&b) {
            Err(LlmError::Truncated) => {}
            other => return other,
        }
        // Grow to the needed size by bisection-free computation: retry with a zeroed body.
        let mut len = HEADER;
        loop {
            len += 4;
            b.resize(len, 0);
            match Config::check(&b) {
                Err(LlmError::Truncated) => {}
                other => return other,
            }
            if len > 1 << 22 {
                return Err(LlmError::Truncated);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
