//! The engine against the original C implementation's greedy output for stories260K, and its
//! logits against an independent naive f64 forward pass. The model files live outside the
//! repository (`../shared/llm/`); when they are missing these tests fail.

mod llm_support;

use kernel_wasm::llm::{generate, Model, Tokenizer};
use llm_support::{assert_close, file, RefModel};

const REFERENCE: &str = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. She said, \"I want to play with your ball, but I can't find";

#[test]
fn greedy_matches_c_reference() {
    let ck = file("stories260K.bin");
    let mut m = Model::from_bytes(&ck).unwrap();
    let t = Tokenizer::from_bytes(&file("tok512.bin"), m.config.vocab_size).unwrap();
    let out = generate(&mut m, &t, "Once upon a time", 128).unwrap();
    assert_eq!(out, REFERENCE);
    // Deterministic: the same again, from the same (reused) state.
    assert_eq!(
        generate(&mut m, &t, "Once upon a time", 128).unwrap(),
        REFERENCE
    );
}

#[test]
fn logits_match_naive_f64() {
    let b = file("stories260K.bin");
    let reference = RefModel::from_bytes(&b);
    let mut m = Model::from_bytes(&b).unwrap();
    let tokens = [1usize, 403, 407, 261, 378];
    let want = reference.forward_all(&tokens);
    for (pos, &tok) in tokens.iter().enumerate() {
        let got = m.forward(tok, pos).unwrap();
        assert_close(got, &want[pos], 1e-4, &format!("pos {pos}"));
    }
}
