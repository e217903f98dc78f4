//! `tokenizer.bin` bytes (llama2.c's BPE format) for a vocabulary size taken from the input's
//! first two bytes: a tokenizer that loads encodes text (part of the input, and a fixed
//! sentence) into tokens of its vocabulary and decodes every one of them.
#![no_main]

use kernel_wasm::llm::Tokenizer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((size, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let vocab_size = usize::from(u16::from_le_bytes(*size)) % 4097;
    let Ok(tokenizer) = Tokenizer::from_bytes(rest, vocab_size) else {
        return;
    };
    assert_eq!(tokenizer.vocab_size(), vocab_size);
    let tail = String::from_utf8_lossy(&rest[rest.len().saturating_sub(64)..]).into_owned();
    for text in ["Once upon a time, a fox.", tail.as_str(), ""] {
        for bos in [false, true] {
            let Ok(tokens) = tokenizer.encode(text, bos) else {
                continue;
            };
            let mut prev = 1;
            let mut out = Vec::new();
            for &token in &tokens {
                assert!(
                    token < vocab_size,
                    "token {token} of a {vocab_size}-token vocabulary"
                );
                Tokenizer::push_piece(&mut out, tokenizer.decode(prev, token));
                prev = token;
            }
            let _ = Tokenizer::to_text(&out);
        }
    }
});
