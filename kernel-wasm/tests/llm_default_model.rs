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

/// The greedy story with the model's LoRA adapter `rainy` (models/README.md).
const RAINY: &str = "Once upon a time, there was a little boy named Joe. The sky was blue. Jack and Jack went to the forest. They wanted to dance. Suddenly, it started to rain. The rain was cold, and they got wet. \"Let's go home!\" said Lucy. They ran home as fast as they could. At home, her grandpa gave them warm milk and a carrot. They sat by the window and watched the rain. Lucy felt glad.";

/// The committed PEFT adapter `models/tinystories/rainy/` (made by `cargo xtask train-model
/// --lora`) loads as Hugging Face PEFT files, turns the story rainy as models/README.md says, and
/// detached, the model tells its own story again.
#[test]
fn the_rainy_adapter_turns_the_story_rainy_and_detaches() {
    use kernel_wasm::llm::load_peft;
    use std::sync::Arc;
    let mut m = Model::from_bytes(&file("model.bin")).unwrap();
    let t = Tokenizer::from_bytes(&file("tokenizer.bin"), m.config.vocab_size).unwrap();
    let lora = load_peft(
        &file("rainy/adapter_config.json"),
        &file("rainy/adapter_model.safetensors"),
        &m.config,
        "rainy",
    )
    .unwrap();
    // Rank 4 on all seven projections of the four layers.
    assert_eq!(lora.pair_count(), 28);
    m.state_mut().set_loras(vec![Arc::new(lora)]).unwrap();
    assert_eq!(
        generate(&mut m, &t, "Once upon a time", 256).unwrap(),
        RAINY
    );
    m.state_mut().set_loras(vec![]).unwrap();
    assert_eq!(generate(&mut m, &t, "Once upon a time", 256).unwrap(), ONCE);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/README.md"))
            .unwrap()
            .replace("\n> ", " ");
    assert!(
        readme.contains(RAINY),
        "models/README.md does not quote the adapter's story"
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

// ---- The default model as a signed package (what the kernel installs from its initrd) ----

mod package {
    use kernel_wasm::llm::boot::load_default;
    use kernel_wasm::llm::session::{Progress, Sampling};
    use kernel_wasm::llm::LlmLimits;
    use kernel_wasm::package::pack::{pack, sign};
    use kernel_wasm::package::{verify, InstallOptions, Manager, SecretKey, TrustStore};
    use kernel_wasm::vfs::{read_file, write_file, MemFs};
    use kernel_wasm::Runtime;

    fn key() -> SecretKey {
        SecretKey::from_seed("test", [7; 32]).unwrap()
    }

    /// A signed package `name` whose module is the `complete` command and whose assets are
    /// `assets` (name, bytes), installed into `fs` under /pkg as the boot installs it.
    fn install(fs: &MemFs, name: &str, assets: &[(&str, &[u8])]) {
        let module = wat::parse_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/llm/complete.wat"
        ))
        .unwrap();
        let manifest =
            format!("name = \"{name}\"\nversion = \"1.0.0\"\ncapabilities = [\"llm:infer\"]\n");
        let wap = sign(&pack(manifest.as_bytes(), &module, assets).unwrap(), &key()).unwrap();
        let mut trust = TrustStore::new();
        trust.add(key().public());
        let verified = verify(&wap, &trust, false).unwrap();
        Manager::new(fs, "/pkg")
            .install(&verified, &Runtime::default(), InstallOptions::default())
            .unwrap();
    }

    fn greedy(service: kernel_wasm::llm::LlmService, prompt: &str) -> String {
        let service = std::sync::Arc::new(service);
        let mut session = service.begin(prompt, 256, Sampling::default()).unwrap();
        while !matches!(session.step().unwrap(), Progress::Finished(_)) {}
        session.text()
    }

    #[test]
    fn an_installed_model_package_is_the_default_model() {
        let (model, tok) = (super::file("model.bin"), super::file("tokenizer.bin"));
        let fs = MemFs::new(64 << 20, 1 << 12);
        // Packages without both assets are not models; names are tried in order.
        install(&fs, "a-tool", &[("assets/model.bin", &model)]);
        install(
            &fs,
            "tinystories",
            &[("assets/model.bin", &model), ("assets/tokenizer.bin", &tok)],
        );
        let service = load_default(&fs, LlmLimits::default()).unwrap().unwrap();
        assert!(service
            .info_text()
            .starts_with("model=tinystories\ndim=64\n"));
        let story = greedy(service, "Once upon a time");
        assert_eq!(format!("Once upon a time{story}"), super::ONCE);
    }

    #[test]
    fn a_model_directory_overrides_the_packages() {
        let (model, tok) = (super::file("model.bin"), super::file("tokenizer.bin"));
        let fs = MemFs::new(64 << 20, 1 << 12);
        install(
            &fs,
            "tinystories",
            &[("assets/model.bin", &model), ("assets/tokenizer.bin", &tok)],
        );
        write_file(&fs, "/llm/mine/model.bin", &model).unwrap();
        write_file(&fs, "/llm/mine/tokenizer.bin", &tok).unwrap();
        let service = load_default(&fs, LlmLimits::default()).unwrap().unwrap();
        assert!(service.info_text().starts_with("model=mine\n"));
    }

    #[test]
    fn an_altered_model_asset_is_refused_by_its_signature() {
        let (model, tok) = (super::file("model.bin"), super::file("tokenizer.bin"));
        let fs = MemFs::new(64 << 20, 1 << 12);
        install(
            &fs,
            "tinystories",
            &[("assets/model.bin", &model), ("assets/tokenizer.bin", &tok)],
        );
        // One weight changed after the install: the engine would load it, the signature does not.
        let path = "/pkg/tinystories/1/assets/model.bin";
        let mut bytes = read_file(&fs, path, 1 << 24).unwrap();
        bytes[100] ^= 1;
        write_file(&fs, path, &bytes).unwrap();
        let Err(err) = load_default(&fs, LlmLimits::default()) else {
            panic!("an altered model loads");
        };
        let err = err.to_string();
        assert!(
            err.starts_with("llm: package tinystories: ") && err.contains("assets/model.bin"),
            "{err}"
        );
        // A package with a broken checkpoint (signed as it is) names the package and the files.
        let fs = MemFs::new(64 << 20, 1 << 12);
        install(
            &fs,
            "broken",
            &[
                ("assets/model.bin", b"short"),
                ("assets/tokenizer.bin", &tok),
            ],
        );
        let Err(err) = load_default(&fs, LlmLimits::default()) else {
            panic!("a broken model loads");
        };
        assert_eq!(
            err.to_string(),
            "llm: package broken: assets/model.bin, assets/tokenizer.bin: checkpoint truncated"
        );
    }
}
