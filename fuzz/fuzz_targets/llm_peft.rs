//! PEFT LoRA adapters for a model of stories260K's shape: the input is either a ustar archive
//! holding `adapter_config.json` and `adapter_model.safetensors`, or (after a two-byte length)
//! those two files back to back. An adapter that loads matches the model's shape.
#![no_main]

use kernel_wasm::llm::{load_peft_archive, load_peft_as, Config, RopeLayout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let model = Config::from_header([64, 172, 5, 8, 4, 512, 512]).expect("stories260K's shape");
    if let Ok(lora) = load_peft_archive(data, &model, "fuzz") {
        assert!(lora.check_model(&model).is_ok());
    }
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let split = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (config, weights) = rest.split_at(split);
    for layout in [RopeLayout::HuggingFace, RopeLayout::Llama2c] {
        if let Ok(lora) = load_peft_as(config, weights, &model, "fuzz", layout) {
            assert!(lora.check_model(&model).is_ok());
            assert!(lora.memory_bytes() <= weights.len() * 2 + 4096);
        }
    }
});
