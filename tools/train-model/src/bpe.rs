//! A byte-pair-encoding vocabulary learnt from the corpus, written as llama2.c's
//! `tokenizer.bin`: `<unk>`, `<s>` (BOS), `</s>`, the 256 byte-fallback tokens `<0x00>`…`<0xFF>`
//! (ids 3…258, as the engine's encoder expects), every character of the corpus, then the merges
//! in the order they were learnt, scored so that earlier (more frequent) merges win. Merges stay
//! inside words (a word is a run of letters with its leading space), as SentencePiece's do, so
//! run.c's greedy merge-by-score encoder reproduces them.

use std::collections::{BTreeMap, BTreeSet};

pub struct Vocab {
    /// (piece, score) by id.
    pub tokens: Vec<(Vec<u8>, f32)>,
}

/// The corpus cut into words: a leading space joins the letters after it; anything else is a
/// word of its own.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        let joins = c.is_alphabetic() || c == '\'';
        if joins
            && (cur.is_empty()
                || cur
                    .chars()
                    .last()
                    .is_some_and(|l| l.is_alphabetic() || l == ' ' || l == '\''))
        {
            cur.push(c);
            continue;
        }
        if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if c == ' ' {
            cur.push(' ');
        } else {
            out.push(c.to_string());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Learns merges until the vocabulary has `size` tokens.
pub fn train(texts: &[String], size: usize) -> Vocab {
    let mut tokens: Vec<(Vec<u8>, f32)> = vec![
        (b"<unk>".to_vec(), 0.0),
        (b"<s>".to_vec(), 0.0),
        (b"</s>".to_vec(), 0.0),
    ];
    for b in 0..=255u8 {
        tokens.push((format!("<0x{b:02X}>").into_bytes(), 0.0));
    }
    // Word frequencies over " " + text, as the encoder sees a prompt.
    let mut freq: BTreeMap<String, u64> = BTreeMap::new();
    for t in texts {
        for w in words(&format!(" {t}")) {
            *freq.entry(w).or_default() += 1;
        }
    }
    let chars: BTreeSet<char> = freq.keys().flat_map(|w| w.chars()).collect();
    let mut id_of: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for c in chars {
        let piece = c.to_string().into_bytes();
        id_of.insert(piece.clone(), tokens.len());
        tokens.push((piece, 0.0));
    }
    // Each word as a sequence of token ids.
    let mut seqs: Vec<(Vec<usize>, u64)> = freq
        .iter()
        .map(|(w, &n)| {
            let ids = w
                .chars()
                .map(|c| id_of[&c.to_string().into_bytes()])
                .collect();
            (ids, n)
        })
        .collect();
    let mut merge = 0usize;
    while tokens.len() < size {
        let mut pairs: BTreeMap<(usize, usize), u64> = BTreeMap::new();
        for (ids, n) in &seqs {
            for p in ids.windows(2) {
                *pairs.entry((p[0], p[1])).or_default() += n;
            }
        }
        // Most frequent pair; ties by smallest ids (deterministic).
        let Some((&(a, b), _)) = pairs.iter().max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0))) else {
            break;
        };
        let mut piece = tokens[a].0.clone();
        piece.extend_from_slice(&tokens[b].0);
        let id = match id_of.get(&piece) {
            Some(&id) => id,
            None => {
                let id = tokens.len();
                // Earlier merges score higher: run.c merges the best-scoring pair first.
                tokens.push((piece.clone(), -(merge as f32)));
                id_of.insert(piece, id);
                merge += 1;
                id
            }
        };
        for (ids, _) in &mut seqs {
            let mut i = 0;
            let mut out = Vec::with_capacity(ids.len());
            while i < ids.len() {
                if i + 1 < ids.len() && ids[i] == a && ids[i + 1] == b {
                    out.push(id);
                    i += 2;
                } else {
                    out.push(ids[i]);
                    i += 1;
                }
            }
            *ids = out;
        }
    }
    Vocab { tokens }
}

impl Vocab {
    /// llama2.c's `tokenizer.bin`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let max = self.tokens.iter().map(|t| t.0.len()).max().unwrap_or(1);
        let mut out = (max as i32).to_le_bytes().to_vec();
        for (piece, score) in &self.tokens {
            out.extend_from_slice(&score.to_le_bytes());
            out.extend_from_slice(&(piece.len() as i32).to_le_bytes());
            out.extend_from_slice(piece);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_keep_their_space() {
        assert_eq!(
            super::words(" Once upon a time, Lily's cat.\n\"Hi\""),
            [
                " Once", " upon", " a", " time", ",", " Lily's", " cat", ".", "\n", "\"", "Hi",
                "\""
            ]
        );
    }
}
