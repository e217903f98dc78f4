//! llama2.c's `tokenizer.bin` and its BPE: `max_token_length: i32`, then per token
//! `score: f32, len: i32, bytes`. Encoding and decoding follow run.c's `encode`/`decode`.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use super::LlmError;

/// The beginning-of-sequence token.
pub const BOS: usize = 1;

/// A vocabulary with merge scores.
pub struct Tokenizer {
    vocab: Vec<Vec<u8>>,
    scores: Vec<f32>,
    lookup: BTreeMap<Vec<u8>, usize>,
    /// The longest token actually present, in bytes.
    max_token_length: usize,
}

fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

impl Tokenizer {
    /// Parses `vocab_size` tokens (the model's); every length is checked against the remaining
    /// bytes before it is used, tokens must be UTF-8 (byte tokens are ASCII `<0xXX>`), and no
    /// bytes may follow the last token.
    pub fn from_bytes(bytes: &[u8], vocab_size: usize) -> Result<Tokenizer, LlmError> {
        let mut at = 0usize;
        let word = |at: &mut usize| -> Result<[u8; 4], LlmError> {
            let w = bytes
                .get(*at..*at + 4)
                .ok_or(LlmError::TokenizerTruncated)?;
            *at += 4;
            Ok([w[0], w[1], w[2], w[3]])
        };
        let max_len = i32::from_le_bytes(word(&mut at)?);
        if max_len <= 0 {
            return Err(LlmError::TokenizerBadLength);
        }
        // Each token needs at least 8 bytes: bound the allocation by the file.
        if vocab_size > bytes.len() / 8 {
            return Err(LlmError::TokenizerTruncated);
        }
        let mut vocab = Vec::with_capacity(vocab_size);
        let mut scores = Vec::with_capacity(vocab_size);
        for _ in 0..vocab_size {
            let score = f32::from_le_bytes(word(&mut at)?);
            let len = i32::from_le_bytes(word(&mut at)?);
            if len < 0 || len > max_len {
                return Err(LlmError::TokenizerBadLength);
            }
            let end = at
                .checked_add(len as usize)
                .ok_or(LlmError::TokenizerTruncated)?;
            let s = bytes.get(at..end).ok_or(LlmError::TokenizerTruncated)?;
            if core::str::from_utf8(s).is_err() {
                return Err(LlmError::TokenizerNotUtf8);
            }
            at = end;
            vocab.push(s.to_vec());
            scores.push(score);
        }
        if at != bytes.len() {
            return Err(LlmError::TokenizerTrailingBytes);
        }
        let mut lookup = BTreeMap::new();
        for (i, v) in vocab.iter().enumerate() {
            lookup.entry(c_str(v).to_vec()).or_insert(i);
        }
        let max_token_length = vocab.iter().map(Vec::len).max().unwrap_or(0);
        Ok(Tokenizer {
            vocab,
            scores,
            lookup,
            max_token_length,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// The longest token's length in bytes (measured, not the header's claim).
    pub fn max_token_length(&self) -> usize {
        self.max_token_length
    }

    /// Token `id`'s bytes as stored (up to a NUL), or `None` beyond the vocabulary.
    pub fn piece(&self, id: usize) -> Option<&[u8]> {
        self.vocab.get(id).map(|p| c_str(p))
    }

    fn find(&self, s: &[u8]) -> Option<usize> {
        self.lookup.get(s).copied()
    }

    /// run.c `encode`: optional BOS, the `" "` dummy prefix for non-empty text, code points
    /// looked up whole or split into byte tokens (`byte + 3`), then greedy merges by best score.
    pub fn encode(&self, text: &str, bos: bool) -> Result<Vec<usize>, LlmError> {
        let mut tokens = Vec::new();
        if bos {
            tokens.push(BOS);
        }
        let b = text.as_bytes();
        if !b.is_empty() {
            tokens.push(self.find(b" ").ok_or(LlmError::TokenMissing)?);
        }
        let mut buf: Vec<u8> = Vec::new();
        for (i, &c) in b.iter().enumerate() {
            if c & 0xC0 != 0x80 {
                buf.clear();
            }
            buf.push(c);
            if b.get(i + 1).is_some_and(|&n| n & 0xC0 == 0x80) && buf.len() < 4 {
                continue;
            }
            match self.find(&buf) {
                Some(id) => tokens.push(id),
                None => {
                    for &byte in &buf {
                        let id = usize::from(byte) + 3;
                        if id >= self.vocab.len() {
                            return Err(LlmError::TokenMissing);
                        }
                        tokens.push(id);
                    }
                }
            }
            buf.clear();
        }
        let mut pair = Vec::new();
        loop {
            let mut best: Option<(f32, usize, usize)> = None;
            for i in 0..tokens.len().saturating_sub(1) {
                pair.clear();
                pair.extend_from_slice(c_str(&self.vocab[tokens[i]]));
                pair.extend_from_slice(c_str(&self.vocab[tokens[i + 1]]));
                if let Some(id) = self.find(&pair) {
                    let s = self.scores[id];
                    if s > best.map_or(-1e10, |b| b.0) {
                        best = Some((s, id, i));
                    }
                }
            }
            let Some((_, id, i)) = best else { break };
            tokens[i] = id;
            tokens.remove(i + 1);
        }
        Ok(tokens)
    }

    /// run.c `decode`: the piece for `token`, without its leading space after BOS, and a raw
    /// byte for `<0xXX>` tokens. Out-of-range ids decode to nothing.
    pub fn decode(&self, prev: usize, token: usize) -> &[u8] {
        let Some(p) = self.vocab.get(token) else {
            return &[];
        };
        let mut p = c_str(p);
        if prev == BOS && p.first() == Some(&b' ') {
            p = &p[1..];
        }
        if p.len() == 6 && p.starts_with(b"<0x") && p[5] == b'>' {
            if let (Some(h), Some(l)) = (hex(p[3]), hex(p[4])) {
                return &BYTES[usize::from(h * 16 + l)..usize::from(h * 16 + l) + 1];
            }
        }
        p
    }

    /// A decoded piece as run.c `safe_printf` prints it: a single byte that is neither printable
    /// nor whitespace becomes nothing.
    pub fn safe_piece(piece: &[u8]) -> &[u8] {
        if let [b] = piece {
            if !(b.is_ascii_graphic() || *b == b' ' || b.is_ascii_whitespace() || *b == 0x0b) {
                return &[];
            }
        }
        piece
    }

    /// Appends [`Tokenizer::safe_piece`] of `piece`.
    pub fn push_piece(out: &mut Vec<u8>, piece: &[u8]) {
        out.extend_from_slice(Tokenizer::safe_piece(piece));
    }

    /// Lossy string of decoded bytes.
    pub fn to_text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

const BYTES: [u8; 256] = {
    let mut b = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        b[i] = i as u8;
        i += 1;
    }
    b
};

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(entries: &[(f32, &[u8])]) -> Vec<u8> {
        let mut b = 16i32.to_le_bytes().to_vec();
        for (s, t) in entries {
            b.extend_from_slice(&s.to_le_bytes());
            b.extend_from_slice(&(t.len() as i32).to_le_bytes());
            b.extend_from_slice(t);
        }
        b
    }

    #[test]
    fn malformed() {
        let good = tok(&[(0.0, b"<unk>"), (0.0, b"<s>"), (0.0, b" ")]);
        assert!(Tokenizer::from_bytes(&good, 3).is_ok());
        assert_eq!(
            Tokenizer::from_bytes(&good, 4).err(),
            Some(LlmError::TokenizerTruncated)
        );
        assert_eq!(
            Tokenizer::from_bytes(&good[..good.len() - 1], 3).err(),
            Some(LlmError::TokenizerTruncated)
        );
        let mut t = good.clone();
        t.push(1);
        assert_eq!(
            Tokenizer::from_bytes(&t, 3).err(),
            Some(LlmError::TokenizerTrailingBytes)
        );
        let bad = tok(&[(0.0, b"\xff")]);
        assert_eq!(
            Tokenizer::from_bytes(&bad, 1).err(),
            Some(LlmError::TokenizerNotUtf8)
        );
        let mut neg = 16i32.to_le_bytes().to_vec();
        neg.extend_from_slice(&0f32.to_le_bytes());
        neg.extend_from_slice(&(-5i32).to_le_bytes());
        assert_eq!(
            Tokenizer::from_bytes(&neg, 1).err(),
            Some(LlmError::TokenizerBadLength)
        );
        assert!(Tokenizer::from_bytes(&[], 1).is_err());
    }

    #[test]
    fn merges_by_score() {
        let t = tok(&[
            (0.0, b"<unk>"),
            (0.0, b"<s>"),
            (0.0, b"</s>"),
            (0.0, b" "),
            (0.0, b"a"),
            (0.0, b"b"),
            (1.0, b"ab"),
            (2.0, b" a"),
        ]);
        let t = Tokenizer::from_bytes(&t, 8).unwrap();
        // " a" (score 2) wins over "ab" (score 1).
        assert_eq!(t.encode("ab", true).unwrap(), [1, 7, 5]);
        assert_eq!(t.decode(1, 7), b"a");
        assert_eq!(t.decode(5, 7), b" a");
    }
}
