//! WASM adapters (WAT fixtures in `tests/fixtures/llm/`) on stories260K: they run through the
//! runtime with fuel and without capabilities, transform the layer they ask for exactly as the
//! same transformation in Rust does, and a trap, running out of fuel, a refusal or a NaN fails
//! that inference with a clear error while the engine and the adapter stay usable.

mod llm_support;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use kernel_wasm::hosted::platform;
use kernel_wasm::llm::{
    forward, ActivationHook, Generation, LayerChoice, Limits, LlmError, Sampler, State, Tokenizer,
    WasmAdapter, WasmAdapterConfig, Weights,
};
use kernel_wasm::Runtime;
use llm_support::file;

const TOKENS: [usize; 5] = [1, 403, 407, 261, 378];

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/llm/{name}.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    wat::parse_file(path).expect("fixture compiles")
}

fn weights() -> Arc<Weights> {
    Arc::new(Weights::from_bytes(&file("stories260K.bin")).unwrap())
}

fn adapter(w: &Weights, name: &str, config: WasmAdapterConfig) -> Result<WasmAdapter, LlmError> {
    WasmAdapter::new(
        &Runtime::default(),
        platform(),
        &fixture(name),
        name,
        w.config(),
        config,
    )
}

fn logits(w: &Weights, s: &mut State) -> Result<Vec<Vec<f32>>, LlmError> {
    TOKENS
        .iter()
        .enumerate()
        .map(|(pos, &t)| forward(w, s, t, pos).map(|l| l.to_vec()))
        .collect()
}

fn bits(v: &[Vec<f32>]) -> Vec<u32> {
    v.iter().flatten().map(|f| f.to_bits()).collect()
}

/// The `scale` fixture's transformation, in Rust.
struct Halve;
impl ActivationHook for Halve {
    fn name(&self) -> &str {
        "halve"
    }
    fn transform(&mut self, layer: usize, x: &mut [f32]) -> Result<(), LlmError> {
        if layer == 2 {
            x.iter_mut().for_each(|v| *v *= 0.5);
        }
        Ok(())
    }
}

#[test]
fn an_identity_adapter_changes_nothing_and_runs_after_every_layer() {
    let w = weights();
    let mut s = State::new(w.config()).unwrap();
    let base = logits(&w, &mut s).unwrap();
    let a = adapter(&w, "identity", WasmAdapterConfig::default()).unwrap();
    assert_eq!(a.layers(), LayerChoice::Every);
    s.add_hook(Box::new(a));
    assert_eq!(bits(&logits(&w, &mut s).unwrap()), bits(&base));
    // Shared between sessions: one call per layer per position.
    let shared = Rc::new(RefCell::new(
        adapter(&w, "identity", WasmAdapterConfig::default()).unwrap(),
    ));
    let mut s2 = State::new(w.config()).unwrap();
    s2.add_hook(Box::new(shared.clone()));
    logits(&w, &mut s2).unwrap();
    assert_eq!(shared.borrow().calls(), (TOKENS.len() * 5) as u64);
}

#[test]
fn a_scaling_adapter_acts_on_its_layer_as_rust_would() {
    let w = weights();
    let mut s = State::new(w.config()).unwrap();
    let base = logits(&w, &mut s).unwrap();
    s.add_hook(Box::new(Halve));
    let want = logits(&w, &mut s).unwrap();
    assert_ne!(bits(&want), bits(&base));
    s.take_hooks();
    let a = adapter(&w, "scale", WasmAdapterConfig::default()).unwrap();
    assert_eq!(a.layers(), LayerChoice::One(2));
    s.add_hook(Box::new(a));
    assert_eq!(bits(&logits(&w, &mut s).unwrap()), bits(&want));
    // The configuration overrides the module's choice of layer.
    let cfg = WasmAdapterConfig {
        layer: Some(LayerChoice::One(4)),
        ..WasmAdapterConfig::default()
    };
    let a = adapter(&w, "scale", cfg).unwrap();
    assert_eq!(a.layers(), LayerChoice::One(4));
    s.take_hooks();
    s.add_hook(Box::new(a));
    let on4 = logits(&w, &mut s).unwrap();
    assert_ne!(bits(&on4), bits(&want));
    assert_ne!(bits(&on4), bits(&base));
}

fn generate(w: &Weights, s: &mut State, tok: &Tokenizer) -> Result<String, LlmError> {
    let mut g = Generation::new(
        tok,
        s,
        "Once upon a time",
        Limits::new_tokens(30),
        Sampler::greedy(),
    )?;
    let mut out = Vec::new();
    g.run(w, s, tok, &mut out, true, &mut || false)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn failing_adapters_fail_the_inference_and_leave_everything_usable() {
    let w = weights();
    let tok = Tokenizer::from_bytes(&file("tok512.bin"), 512).unwrap();
    let mut s = State::new(w.config()).unwrap();
    let base = generate(&w, &mut s, &tok).unwrap();
    let cases = [
        ("spin", "ran out of fuel"),
        ("nan", "NaN"),
        ("refuses", "returned 7"),
        ("trap_once", "unreachable"),
    ];
    for (name, want) in cases {
        let cfg = WasmAdapterConfig {
            fuel_per_call: 100_000,
            ..WasmAdapterConfig::default()
        };
        s.add_hook(Box::new(adapter(&w, name, cfg).unwrap()));
        let e = generate(&w, &mut s, &tok).unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, LlmError::Adapter(_)), "{name}: {e}");
        assert!(text.contains(name) && text.contains(want), "{name}: {text}");
        let mut hooks = s.take_hooks();
        // The engine is usable: the same state generates the base text again.
        assert_eq!(generate(&w, &mut s, &tok).unwrap(), base, "after {name}");
        if name == "trap_once" {
            // And the adapter itself: after its trap it runs again (its later calls succeed).
            s.add_hook(hooks.pop().unwrap());
            generate(&w, &mut s, &tok).unwrap();
            s.take_hooks();
        }
    }
}

#[test]
fn malformed_adapters_are_refused_when_loaded() {
    let w = weights();
    let cases = [
        ("bad_buffer", "outside its memory"),
        ("wrong_type", "export transform has type"),
        ("needs_caps", "agent:spawn"),
    ];
    for (name, want) in cases {
        let e = adapter(&w, name, WasmAdapterConfig::default()).unwrap_err();
        assert!(e.to_string().contains(want), "{name}: {e}");
    }
    let cfg = WasmAdapterConfig {
        layer: Some(LayerChoice::One(5)),
        ..WasmAdapterConfig::default()
    };
    let e = adapter(&w, "scale", cfg).unwrap_err();
    assert!(e.to_string().contains("the model has 5 layers"), "{e}");
    let e = WasmAdapter::new(
        &Runtime::default(),
        platform(),
        b"\0asm garbage",
        "junk",
        w.config(),
        WasmAdapterConfig::default(),
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("adapter failed: junk: "), "{e}");
}
