//! llama2.c checkpoint bytes: the header is checked against the file before anything is
//! allocated; a checkpoint that loads runs two forward passes (its logits are as many as its
//! vocabulary) and adapts to a LoRA of its own shape.
#![no_main]

use kernel_wasm::llm::{Config, Lora, Model};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Config::check(data);
    let Ok(mut model) = Model::from_bytes(data) else {
        return;
    };
    let config = *model.weights().config();
    assert!(
        model.weights().memory_bytes() <= data.len() * 5 + (1 << 20),
        "weights of {} bytes from a file of {}",
        model.weights().memory_bytes(),
        data.len()
    );
    for (token, pos) in [(0, 0), (config.vocab_size - 1, config.seq_len - 1)] {
        let logits = model
            .forward(token, pos)
            .expect("a valid token at a valid position");
        assert_eq!(logits.len(), config.vocab_size);
    }
    assert!(model.forward(config.vocab_size, 0).is_err());
    assert!(model.forward(0, config.seq_len).is_err());
    let lora = Lora::new("empty", &config);
    assert!(lora.check_model(&config).is_ok());
});
