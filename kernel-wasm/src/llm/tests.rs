//! Randomized mutation of a small checkpoint and tokenizer: every mutant loads or fails with an
//! `LlmError`, never panics, and loaded mutants generate without panicking.

use super::checkpoint::tiny_checkpoint;
use super::*;
use crate::test_rng::XorShift;
use alloc::sync::Arc;
use alloc::vec::Vec;

fn tiny_tokenizer(n: usize) -> Vec<u8> {
    let mut b = 8i32.to_le_bytes().to_vec();
    for i in 0..n {
        let t: Vec<u8> = match i {
            0 => b"<unk>".to_vec(),
            1 => b"<s>".to_vec(),
            2 => b" ".to_vec(),
            _ => alloc::vec![b'a' + (i % 26) as u8],
        };
        b.extend_from_slice(&(i as f32).to_le_bytes());
        b.extend_from_slice(&(t.len() as i32).to_le_bytes());
        b.extend_from_slice(&t);
    }
    b
}

#[test]
fn mutants_never_panic() {
    let ck = tiny_checkpoint([8, 16, 2, 2, 1, 10, 6], 3);
    let tk = tiny_tokenizer(10);
    let mut m = Model::from_bytes(&ck).unwrap();
    let t = Tokenizer::from_bytes(&tk, 10).unwrap();
    generate(&mut m, &t, "def", 6).unwrap();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..300 {
        let mut c = ck.clone();
        let mut k = tk.clone();
        for _ in 0..1 + rng.next() % 4 {
            let i = (rng.next() % 40) as usize % c.len();
            c[i] = rng.next() as u8;
            let j = (rng.next() as usize) % k.len();
            k[j] = rng.next() as u8;
        }
        if rng.next() % 4 == 0 {
            c.truncate((rng.next() as usize) % c.len());
            k.truncate((rng.next() as usize) % k.len());
        }
        let Ok(mut m) = Model::from_bytes(&c) else {
            continue;
        };
        if let Ok(t) = Tokenizer::from_bytes(&k, m.config.vocab_size) {
            let _ = generate(&mut m, &t, "abz", 5);
            let _ = generate_with(&mut m, &t, &mut Sampler::new(0.8, 0.9, 5), "b", 5);
        }
    }
}

fn tiny() -> (Arc<Weights>, Tokenizer) {
    let w = Weights::from_bytes(&tiny_checkpoint([8, 16, 2, 2, 1, 10, 6], 3)).unwrap();
    let t = Tokenizer::from_bytes(&tiny_tokenizer(10), 10).unwrap();
    (Arc::new(w), t)
}

fn logits(w: &Weights, s: &mut State, tokens: &[usize]) -> Vec<Vec<f32>> {
    tokens
        .iter()
        .enumerate()
        .map(|(pos, &t)| forward(w, s, t, pos).unwrap().to_vec())
        .collect()
}

#[test]
fn sessions_share_weights() {
    let (w, _) = tiny();
    let mut a = State::new(w.config()).unwrap();
    let mut b = State::with_context(w.config(), 3).unwrap();
    assert_eq!(b.context(), 3);
    assert!(b.memory_bytes() < a.memory_bytes());
    let la = logits(&w, &mut a, &[1, 4, 5]);
    let lb = logits(&w, &mut b, &[1, 4, 5]);
    assert_eq!(la, lb);
    assert_eq!(forward(&w, &mut b, 4, 3).err(), Some(LlmError::ContextFull));
    assert_eq!(
        forward(&w, &mut a, 10, 0).err(),
        Some(LlmError::TokenOutOfRange)
    );
    let other = Weights::from_bytes(&tiny_checkpoint([8, 16, 1, 2, 1, 10, 6], 3)).unwrap();
    assert_eq!(
        forward(&other, &mut a, 1, 0).err(),
        Some(LlmError::StateMismatch)
    );
}

#[test]
fn generation_limits_and_interrupts() {
    let (w, t) = tiny();
    let mut s = State::new(w.config()).unwrap();
    let mut g = Generation::new(&t, &s, "de", Limits::new_tokens(2), Sampler::greedy()).unwrap();
    let prompt = g.prompt_tokens();
    let mut out = Vec::new();
    let stop = g
        .run(&w, &mut s, &t, &mut out, false, &mut || false)
        .unwrap();
    assert!(
        matches!(stop, Stop::MaxTokens | Stop::EndOfText),
        "{stop:?}"
    );
    assert!(g.generated() <= 2);
    assert!(g.position() <= prompt - 1 + 2);
    // Interrupted before the first step: nothing computed.
    let mut g = Generation::new(&t, &s, "de", Limits::new_tokens(5), Sampler::greedy()).unwrap();
    let stop = g.run(&w, &mut s, &t, &mut out, true, &mut || true).unwrap();
    assert_eq!((stop, g.position()), (Stop::Interrupted, 0));
    // A prompt that cannot fit the context is refused before encoding.
    let long = "d".repeat(100);
    assert_eq!(
        Generation::new(&t, &s, &long, Limits::new_tokens(1), Sampler::greedy()).err(),
        Some(LlmError::PromptTooLong)
    );
}

#[test]
fn zero_lora_is_bit_identical_and_removable() {
    let (w, _) = tiny();
    let c = *w.config();
    let mut s = State::new(&c).unwrap();
    let base = logits(&w, &mut s, &[1, 4, 5, 6]);
    let mut zero = Lora::new("zero", &c);
    let mut moving = Lora::new("moving", &c);
    for l in 0..c.n_layers {
        for t in Target::ALL {
            let (o, i) = t.shape(&c);
            let pair = |b: f32| LoraPair {
                rank: 2,
                scale: 0.5,
                a: alloc::vec![0.25; 2 * i],
                b: alloc::vec![b; o * 2],
            };
            zero.insert(l, t, pair(0.0)).unwrap();
            moving.insert(l, t, pair(0.01)).unwrap();
        }
    }
    s.set_loras(alloc::vec![Arc::new(zero)]).unwrap();
    let z = logits(&w, &mut s, &[1, 4, 5, 6]);
    let bits =
        |v: &Vec<Vec<f32>>| -> Vec<u32> { v.iter().flatten().map(|f| f.to_bits()).collect() };
    assert_eq!(bits(&z), bits(&base));
    s.set_loras(alloc::vec![Arc::new(moving)]).unwrap();
    assert_ne!(logits(&w, &mut s, &[1, 4, 5, 6]), base);
    s.set_loras(Vec::new()).unwrap();
    assert_eq!(bits(&logits(&w, &mut s, &[1, 4, 5, 6])), bits(&base));
}

#[test]
fn lora_shapes_are_checked() {
    let (w, _) = tiny();
    let c = *w.config();
    let mut l = Lora::new("bad", &c);
    let e = l
        .insert(
            1,
            Target::Wk,
            LoraPair {
                rank: 2,
                scale: 1.0,
                a: alloc::vec![0.0; 2 * c.dim],
                b: alloc::vec![0.0; 3],
            },
        )
        .unwrap_err();
    assert!(
        alloc::format!("{e}").contains("layers.1.k_proj.lora_B"),
        "{e}"
    );
    let other = Config::from_header([16, 16, 2, 2, 1, 10, 6]).unwrap();
    let mut s = State::new(&other).unwrap();
    assert!(matches!(
        s.set_loras(alloc::vec![Arc::new(Lora::new("x", &c))]),
        Err(LlmError::LoraShape(_))
    ));
}

struct Recorder {
    calls: Arc<spin::Mutex<Vec<usize>>>,
    fail_at: Option<usize>,
}

impl ActivationHook for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    fn transform(&mut self, layer: usize, x: &mut [f32]) -> Result<(), LlmError> {
        self.calls.lock().push(layer);
        if self.fail_at == Some(layer) {
            return Err(LlmError::Adapter("boom".into()));
        }
        x.iter_mut().for_each(|v| *v *= 1.0);
        Ok(())
    }
}

#[test]
fn hooks_run_after_each_layer_and_failures_end_the_pass() {
    let (w, _) = tiny();
    let mut s = State::new(w.config()).unwrap();
    let base = logits(&w, &mut s, &[1, 4]);
    let calls = Arc::new(spin::Mutex::new(Vec::new()));
    s.add_hook(alloc::boxed::Box::new(Recorder {
        calls: calls.clone(),
        fail_at: None,
    }));
    assert_eq!(logits(&w, &mut s, &[1, 4]), base);
    assert_eq!(*calls.lock(), [0, 1, 0, 1]);
    s.take_hooks();
    s.add_hook(alloc::boxed::Box::new(Recorder {
        calls,
        fail_at: Some(1),
    }));
    assert_eq!(
        forward(&w, &mut s, 1, 0).err(),
        Some(LlmError::Adapter("boom".into()))
    );
    s.take_hooks();
    assert_eq!(logits(&w, &mut s, &[1, 4]), base);
}
