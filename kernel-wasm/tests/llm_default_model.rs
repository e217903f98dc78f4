//! The project's own default model (`models/tinystories/`, made by `cargo xtask train-model`):
//! it loads, its greedy completion is the one models/README.md quotes (so the committed files are
//! the documented ones), and it is text, not noise.

use kernel_wasm::llm::{generate, Model, Tokenizer};

fn file(name: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/tinystories/");
    std::fs::read(format!("{p}{name}")).unwrap_or_else(|e| panic!("{p}{name}: {e}"))
}

const ONCE: &str = "Once upon a time, there was a little boy named Joe. It was a windy day. Joe saw a tall tree at the farm. At the top of the tree, there was a blue teddy. Amy wanted the teddy, but the tree was too high. He felt worried. Then a frog came. \"I can help you,\" said the frog. The frog climbed up the tree and got the box for Zoe. \"Thank you!\" said Amy. She was very glad, and she gave the frog a big hug.";

#[test]
fn the_default_model_tells_its_documented_story() {
    let mut m = Model::from_bytes(&file("model.bin")).unwrap();
    assert_eq!(
        (
            m.config.dim,
            m.config.n_layers,
            m.config.vocab_size,
            m.config.seq_len
        ),
        (64, 4, 512, 256)
    );
    let t = Tokenizer::from_bytes(&file("tokenizer.bin"), m.config.vocab_size).unwrap();
    let text = generate(&mut m, &t, "Once upon a time", 256).unwrap();
    assert_eq!(text, ONCE);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/README.md"))
            .unwrap()
            .replace("\n> ", " ");
    assert!(
        readme.contains(ONCE),
        "models/README.md does not quote the model's story"
    );
}

#[test]
fn its_completions_are_words() {
    let mut m = Model::from_bytes(&file("model.bin")).unwrap();
    let t = Tokenizer::from_bytes(&file("tokenizer.bin"), m.config.vocab_size).unwrap();
    for prompt in ["Tom and Mia went to the beach", "The cat was", "One day"] {
        let text = generate(&mut m, &t, prompt, 200).unwrap();
        let words: Vec<&str> = text.split_whitespace().collect();
        assert!(words.len() > 30, "{prompt}: {text}");
        // Nearly every word is made of letters (with punctuation around it).
        let wordy = words
            .iter()
            .filter(|w| {
                w.trim_matches(|c: char| !c.is_alphabetic())
                    .chars()
                    .all(|c| c.is_alphabetic() || c == '\'')
            })
            .count();
        assert!(wordy * 100 >= words.len() * 95, "{prompt}: {text}");
    }
}
