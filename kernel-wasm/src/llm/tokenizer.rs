//! llama2.c's `tokenizer.bin` and its BPE: `max_token_length: i32`, then per token
//! `score: f32, len: i32, bytes`. Encoding and decoding follow run.c's `encode`/`decode`.

use alloc::string::String;
use alloc::vec::Vec;

use super::LlmError;

/// The beginning-of-sequence token.
pub const BOS: usize = 1;

/// A vocabulary with merge scores, stored compactly: every piece in one byte buffer, and ids
/// sorted by piece for lookups (run.c's `sorted_vocab` and `bsearch`). Its memory is at most
/// about three times the file's, no single allocation larger than the file.
pub struct Tokenizer {
    /// The pieces, each cut at its first NUL as run.c's C strings are.
    bytes: Vec<u8>,
    /// Piece `i` is `bytes[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
    scores: Vec<f32>,
    /// Ids ordered by piece, then id (so a duplicated piece finds its first id).
    sorted: Vec<u32>,
    /// The longest token actually present, in bytes.
    max_token_length: usize,
}

fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

fn reserve<T>(v: &mut Vec<T>, n: usize) -> Result<(), LlmError> {
    v.try_reserve_exact(n).map_err(|_| LlmError::OutOfMemory)
}

impl Tokenizer {
    /// Parses `vocab_size` tokens (the model's); every length is checked against the remaining
    /// bytes before it is used, tokens must be UTF-8 (byte tokens are ASCII `<0xXX>`), and no
    /// bytes may follow the last token. Nothing is allocated before the vocabulary size is known
    /// to fit the file (each token takes at least 8 bytes of it).
    pub fn from_bytes(bytes: &[u8], vocab_size: usize) -> Result<Tokenizer, LlmError> {
        let mut at = 0usize;
        let word = |at: &mut usize| -> Result<[u8; 4], LlmError> {
            let w = bytes
                .get(*at..at.saturating_add(4))
                .ok_or(LlmError::TokenizerTruncated)?;
            *at += 4;
            Ok([w[0], w[1], w[2], w[3]])
        };
        let max_len = i32::from_le_bytes(word(&mut at)?);
        if max_len <= 0 {
            return Err(LlmError::TokenizerBadLength);
        }
        if vocab_size == 0 || vocab_size > bytes.len() / 8 || vocab_size > u32::MAX as usize {
            return Err(LlmError::TokenizerTruncated);
        }
        let mut pieces = Vec::new();
        let mut starts = Vec::new();
        let mut scores = Vec::new();
        reserve(&mut pieces, bytes.len().saturating_sub(4 + 8 * vocab_size))?;
        reserve(&mut starts, vocab_size + 1)?;
        reserve(&mut scores, vocab_size)?;
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
            starts.push(pieces.len());
            pieces.extend_from_slice(c_str(s));
            scores.push(score);
        }
        if at != bytes.len() {
            return Err(LlmError::TokenizerTrailingBytes);
        }
        starts.push(pieces.len());
        let max_token_length = starts.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
        let mut sorted = Vec::new();
        reserve(&mut sorted, vocab_size)?;
        sorted.extend(0..vocab_size as u32);
        let piece = |id: u32| &pieces[starts[id as usize]..starts[id as usize + 1]];
        sorted.sort_unstable_by(|&a, &b| piece(a).cmp(piece(b)).then(a.cmp(&b)));
        Ok(Tokenizer {
            bytes: pieces,
            starts,
            scores,
            sorted,
            max_token_length,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.scores.len()
    }

    /// The longest token's length in bytes (measured, not the header's claim).
    pub fn max_token_length(&self) -> usize {
        self.max_token_length
    }

    /// Token `id`'s bytes as stored (up to a NUL), or `None` beyond the vocabulary.
    pub fn piece(&self, id: usize) -> Option<&[u8]> {
        let (s, e) = (*self.starts.get(id)?, *self.starts.get(id + 1)?);
        self.bytes.get(s..e)
    }

    /// Piece of an id known to be in the vocabulary.
    fn raw(&self, id: usize) -> &[u8] {
        self.piece(id).unwrap_or_default()
    }

    /// Bytes this tokenizer holds.
    pub fn memory_bytes(&self) -> usize {
        self.bytes.len() + self.starts.len() * 8 + self.scores.len() * 4 + self.sorted.len() * 4
    }

    fn find(&self, s: &[u8]) -> Option<usize> {
        let i = self.sorted.partition_point(|&id| self.raw(id as usize) < s);
        let id = *self.sorted.get(i)? as usize;
        (self.raw(id) == s).then_some(id)
    }

    /// run.c `encode`: optional BOS, the `" "` dummy prefix for non-empty text, code points
    /// looked up whole or split into byte tokens (`byte + 3`), then greedy merges by best score.
    pub fn encode(&self, text: &str, bos: bool) -> Result<Vec<usize>, LlmError> {
        let mut tokens = Vec::new();
        if bos {
            if BOS >= self.vocab_size() {
                return Err(LlmError::TokenMissing);
            }
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
                        if id >= self.vocab_size() {
                            return Err(LlmError::TokenMissing);
                        }
                        tokens.push(id);
                    }
                }
            }
            buf.clear();
        }
        Ok(self.merge(tokens))
    }

    /// The id and score of the token spelling `a` then `b`, when it may be merged (run.c only
    /// merges pairs scoring above -1e10; a NaN score never merges).
    fn pair(&self, a: usize, b: usize, buf: &mut Vec<u8>) -> Option<(usize, f32)> {
        buf.clear();
        buf.extend_from_slice(self.raw(a));
        buf.extend_from_slice(self.raw(b));
        let id = self.find(buf)?;
        let s = self.scores[id];
        // -0.0 and 0.0 tie in run.c's `>`; make them one key.
        (s > -1e10).then_some((id, if s == 0.0 { 0.0 } else { s }))
    }

    /// run.c's merge loop — repeatedly merge the adjacent pair whose merged token scores best,
    /// the leftmost on ties — in O(n log n) instead of O(n²): candidate pairs wait in a heap
    /// ordered by (score, leftmost), the sequence is a linked list, and a popped candidate is
    /// used only if both of its tokens are still what they were and still adjacent. Every
    /// adjacent pair has exactly one live candidate, so each pop is run.c's choice.
    fn merge(&self, mut tokens: Vec<usize>) -> Vec<usize> {
        use alloc::collections::BinaryHeap;
        use core::cmp::{Ordering, Reverse};

        struct Cand {
            score: f32,
            left: Reverse<usize>,
            right: usize,
            lt: usize,
            rt: usize,
            id: usize,
        }
        impl PartialEq for Cand {
            fn eq(&self, o: &Self) -> bool {
                self.cmp(o) == Ordering::Equal
            }
        }
        impl Eq for Cand {}
        impl PartialOrd for Cand {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Ord for Cand {
            fn cmp(&self, o: &Self) -> Ordering {
                self.score.total_cmp(&o.score).then(self.left.cmp(&o.left))
            }
        }

        let n = tokens.len();
        if n < 2 {
            return tokens;
        }
        const NONE: usize = usize::MAX;
        let mut next: Vec<usize> = (1..=n).map(|i| if i == n { NONE } else { i }).collect();
        let mut prev: Vec<usize> = (0..n).map(|i| i.wrapping_sub(1)).collect();
        prev[0] = NONE;
        let mut alive = alloc::vec![true; n];
        let mut heap = BinaryHeap::new();
        let mut buf = Vec::new();
        let push = |heap: &mut BinaryHeap<Cand>,
                    tokens: &[usize],
                    l: usize,
                    r: usize,
                    buf: &mut Vec<u8>| {
            if let Some((id, score)) = self.pair(tokens[l], tokens[r], buf) {
                heap.push(Cand {
                    score,
                    left: Reverse(l),
                    right: r,
                    lt: tokens[l],
                    rt: tokens[r],
                    id,
                });
            }
        };
        for i in 0..n - 1 {
            push(&mut heap, &tokens, i, i + 1, &mut buf);
        }
        while let Some(c) = heap.pop() {
            let l = c.left.0;
            let r = c.right;
            if !alive[l] || !alive[r] || next[l] != r || tokens[l] != c.lt || tokens[r] != c.rt {
                continue;
            }
            tokens[l] = c.id;
            alive[r] = false;
            next[l] = next[r];
            if next[r] != NONE {
                prev[next[r]] = l;
            }
            if prev[l] != NONE {
                push(&mut heap, &tokens, prev[l], l, &mut buf);
            }
            if next[l] != NONE {
                push(&mut heap, &tokens, l, next[l], &mut buf);
            }
        }
        tokens
            .into_iter()
            .zip(alive)
            .filter_map(|(t, a)| a.then_some(t))
            .collect()
    }

    /// run.c's merge loop as written (quadratic), the specification [`Tokenizer::merge`] is
    /// tested against.
    #[cfg(test)]
    fn merge_naive(&self, mut tokens: Vec<usize>) -> Vec<usize> {
        let mut pair = Vec::new();
        loop {
            let mut best: Option<(f32, usize, usize)> = None;
            for i in 0..tokens.len().saturating_sub(1) {
                pair.clear();
                pair.extend_from_slice(self.raw(tokens[i]));
                pair.extend_from_slice(self.raw(tokens[i + 1]));
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
        tokens
    }

    /// run.c `decode`: the piece for `token`, without its leading space after BOS, and a raw
    /// byte for `<0xXX>` tokens. Out-of-range ids decode to nothing.
    pub fn decode(&self, prev: usize, token: usize) -> &[u8] {
        let Some(mut p) = self.piece(token) else {
            return &[];
        };
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
    fn fast_merge_is_run_c_merge() {
        // Random vocabularies over a 3-letter alphabet (so merges collide and tie often) and
        // random texts: the heap-based merge must pick exactly run.c's sequence.
        let mut rng = crate::test_rng::XorShift(0x5eed);
        for round in 0..200 {
            let mut entries: Vec<(f32, Vec<u8>)> = alloc::vec![
                (0.0, b"<unk>".to_vec()),
                (0.0, b"<s>".to_vec()),
                (0.0, b"</s>".to_vec()),
                (0.0, b" ".to_vec()),
                (0.0, b"a".to_vec()),
                (0.0, b"b".to_vec()),
                (0.0, b"c".to_vec()),
            ];
            for _ in 0..20 {
                let len = 2 + rng.next() % 4;
                let t: Vec<u8> = (0..len)
                    .map(|_| b" abc"[(rng.next() % 4) as usize])
                    .collect();
                // Few distinct scores: ties are common.
                let score = match rng.next() % 6 {
                    0 => -0.0,
                    1 => f32::NAN,
                    2 => -1e10,
                    k => k as f32,
                };
                entries.push((score, t));
            }
            let refs: Vec<(f32, &[u8])> = entries.iter().map(|(s, t)| (*s, &t[..])).collect();
            let t = Tokenizer::from_bytes(&tok(&refs), refs.len()).unwrap();
            for _ in 0..5 {
                let len = (rng.next() % 40) as usize;
                let text: String = (0..len)
                    .map(|_| char::from(b" abc"[(rng.next() % 4) as usize]))
                    .collect();
                let fast = t.encode(&text, round % 2 == 0).unwrap();
                let mut initial = Vec::new();
                if round % 2 == 0 {
                    initial.push(BOS);
                }
                if !text.is_empty() {
                    initial.push(3);
                }
                initial.extend(text.bytes().map(|b| t.find(&[b]).unwrap()));
                assert_eq!(fast, t.merge_naive(initial), "{text:?}");
            }
        }
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
