//! PEFT LoRA adapters on stories260K: a zero adapter changes no bit, a known adapter moves the
//! logits as an independent f64 reference with the deltas merged into its weights predicts,
//! several adapters add up, detaching restores the base bit for bit, and malformed or mismatched
//! adapters are refused by name (randomized mutations too, never a panic).

mod common;
mod llm_support;

use std::sync::Arc;

use common::ustar;
use kernel_wasm::llm::{
    forward, load_peft, load_peft_archive, load_peft_as, LlmError, Lora, RopeLayout, State, Target,
    Weights,
};
use llm_support::{assert_close, file, RefModel};
use safetensors::tensor::{Dtype, TensorView};

const TOKENS: [usize; 6] = [1, 403, 407, 261, 378, 300];

struct Rng(u64);
impl Rng {
    fn f(&mut self, scale: f32) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 % 20001) as f32 / 10000.0 - 1.0) * scale
    }
    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.f(scale)).collect()
    }
}

/// One adapted matrix: (layer, target, A `[r, in]`, B `[out, r]`).
struct Pair {
    layer: usize,
    target: Target,
    a: Vec<f32>,
    b: Vec<f32>,
}

fn module(p: &Pair) -> String {
    let parent = match p.target {
        Target::W1 | Target::W2 | Target::W3 => "mlp",
        _ => "self_attn",
    };
    format!(
        "base_model.model.model.layers.{}.{parent}.{}",
        p.layer,
        p.target.hf_name()
    )
}

fn encode(v: &[f32], dtype: Dtype) -> Vec<u8> {
    match dtype {
        Dtype::F32 => v.iter().flat_map(|f| f.to_le_bytes()).collect(),
        Dtype::F16 => v
            .iter()
            .flat_map(|f| half::f16::from_f32(*f).to_le_bytes())
            .collect(),
        Dtype::BF16 => v
            .iter()
            .flat_map(|f| half::bf16::from_f32(*f).to_le_bytes())
            .collect(),
        _ => unreachable!(),
    }
}

/// `adapter_model.safetensors` for `pairs` with rank `r`.
fn safetensors_file(pairs: &[Pair], r: usize, dtype: Dtype) -> Vec<u8> {
    let w = Weights::from_bytes(&file("stories260K.bin")).unwrap();
    let c = *w.config();
    let mut bufs = Vec::new();
    for p in pairs {
        let (out, inp) = p.target.shape(&c);
        bufs.push((
            format!("{}.lora_A.weight", module(p)),
            vec![r, inp],
            encode(&p.a, dtype),
        ));
        bufs.push((
            format!("{}.lora_B.weight", module(p)),
            vec![out, r],
            encode(&p.b, dtype),
        ));
    }
    let views: Vec<(String, TensorView<'_>)> = bufs
        .iter()
        .map(|(n, s, d)| (n.clone(), TensorView::new(dtype, s.clone(), d).unwrap()))
        .collect();
    safetensors::serialize(views, None).unwrap()
}

fn config_json(r: usize, alpha: f32, rslora: bool) -> Vec<u8> {
    format!(
        r#"{{"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": {r}, "lora_alpha": {alpha},
            "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            "use_rslora": {rslora}, "lora_dropout": 0.05, "bias": "none", "fan_in_fan_out": false,
            "base_model_name_or_path": "stories260K", "rank_pattern": {{}}, "alpha_pattern": {{}}}}"#
    )
    .into_bytes()
}

fn weights() -> Arc<Weights> {
    Arc::new(Weights::from_bytes(&file("stories260K.bin")).unwrap())
}

fn run(w: &Weights, loras: Vec<Arc<Lora>>) -> Vec<Vec<f32>> {
    let mut s = State::new(w.config()).unwrap();
    s.set_loras(loras).unwrap();
    TOKENS
        .iter()
        .enumerate()
        .map(|(pos, &t)| forward(w, &mut s, t, pos).unwrap().to_vec())
        .collect()
}

fn bits(v: &[Vec<f32>]) -> Vec<u32> {
    v.iter().flatten().map(|f| f.to_bits()).collect()
}

/// One pair per target, spread over the layers, with random A and B.
fn known_pairs(rng: &mut Rng, r: usize, zero_b: bool) -> Vec<Pair> {
    let w = weights();
    let c = *w.config();
    Target::ALL
        .iter()
        .enumerate()
        .map(|(i, &target)| {
            let (out, inp) = target.shape(&c);
            Pair {
                layer: i % c.n_layers,
                target,
                a: rng.vec(r * inp, 0.3),
                b: if zero_b {
                    vec![0.0; out * r]
                } else {
                    rng.vec(out * r, 0.3)
                },
            }
        })
        .collect()
}

/// llama2.c export.py's `permute_reverse` of a `[heads·hs, r]` matrix: `view(heads, 2, hs/2, r)
/// .transpose(1, 2)`, i.e. row `(h, i, half)` of the result is row `(h, half, i)` of the input.
fn hf_rows_to_llama2c(b: &[f32], heads: usize, hs: usize, r: usize) -> Vec<f32> {
    assert_eq!(b.len(), heads * hs * r);
    let mut out = vec![0.0; b.len()];
    for (n, row) in out.chunks_exact_mut(r).enumerate() {
        let (h, within) = (n / hs, n % hs);
        let (i, half) = (within / 2, within % 2);
        let old = h * hs + half * (hs / 2) + i;
        row.copy_from_slice(&b[old * r..(old + 1) * r]);
    }
    out
}

fn target_index(t: Target) -> usize {
    Target::ALL.iter().position(|&x| x == t).unwrap()
}

#[test]
fn zero_adapter_leaves_logits_bit_identical() {
    let w = weights();
    let base = run(&w, Vec::new());
    let pairs = known_pairs(&mut Rng(5), 4, true);
    let lora = load_peft(
        &config_json(4, 8.0, false),
        &safetensors_file(&pairs, 4, Dtype::F32),
        w.config(),
        "zero",
    )
    .unwrap();
    assert_eq!(lora.pair_count(), 7);
    assert_eq!(bits(&run(&w, vec![Arc::new(lora)])), bits(&base));
}

#[test]
fn known_adapters_move_logits_as_the_reference_predicts() {
    let ck = file("stories260K.bin");
    let w = weights();
    let mut rng = Rng(11);
    let (r1, alpha1) = (4, 8.0f32);
    let (r2, alpha2) = (2, 3.0f32);
    let p1 = known_pairs(&mut rng, r1, false);
    let p2 = known_pairs(&mut rng, r2, false);
    // One adapter trained on llama2.c-layout weights, one (the PEFT default) on the Hugging
    // Face model, whose q_proj/k_proj rows the loader permutes as llama2.c's export.py does.
    let l1 = Arc::new(
        load_peft_as(
            &config_json(r1, alpha1, false),
            &safetensors_file(&p1, r1, Dtype::F32),
            w.config(),
            "one",
            RopeLayout::Llama2c,
        )
        .unwrap(),
    );
    // rsLoRA: alpha / sqrt(r).
    let l2 = Arc::new(
        load_peft(
            &config_json(r2, alpha2, true),
            &safetensors_file(&p2, r2, Dtype::F32),
            w.config(),
            "two",
        )
        .unwrap(),
    );
    let base_ref = RefModel::from_bytes(&ck).forward_all(&TOKENS);
    let mut merged = RefModel::from_bytes(&ck);
    for p in &p1 {
        let s = f64::from(alpha1) / r1 as f64;
        merged.merge(target_index(p.target), p.layer, r1, s, &p.a, &p.b);
    }
    let one_ref = merged.forward_all(&TOKENS);
    let c = *w.config();
    for p in &p2 {
        let s = f64::from(alpha2) / (r2 as f64).sqrt();
        let b = match p.target {
            Target::Wq => hf_rows_to_llama2c(&p.b, c.n_heads, c.head_size(), r2),
            Target::Wk => hf_rows_to_llama2c(&p.b, c.n_kv_heads, c.head_size(), r2),
            _ => p.b.clone(),
        };
        merged.merge(target_index(p.target), p.layer, r2, s, &p.a, &b);
    }
    let both_ref = merged.forward_all(&TOKENS);
    // The adapters really move the logits (far beyond the comparison's tolerance).
    let moved = one_ref
        .iter()
        .flatten()
        .zip(base_ref.iter().flatten())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(moved > 0.5, "the adapter barely moves the logits: {moved}");

    let one = run(&w, vec![l1.clone()]);
    let both = run(&w, vec![l1.clone(), l2.clone()]);
    for pos in 0..TOKENS.len() {
        assert_close(
            &one[pos],
            &one_ref[pos],
            1e-4,
            &format!("one adapter, pos {pos}"),
        );
        assert_close(
            &both[pos],
            &both_ref[pos],
            1e-4,
            &format!("two adapters, pos {pos}"),
        );
    }
    // Detaching restores the base model bit for bit, in the same state.
    let mut s = State::new(w.config()).unwrap();
    let base = run(&w, Vec::new());
    s.set_loras(vec![l1, l2]).unwrap();
    for (pos, &t) in TOKENS.iter().enumerate() {
        forward(&w, &mut s, t, pos).unwrap();
    }
    s.set_loras(Vec::new()).unwrap();
    let again: Vec<Vec<f32>> = TOKENS
        .iter()
        .enumerate()
        .map(|(pos, &t)| forward(&w, &mut s, t, pos).unwrap().to_vec())
        .collect();
    assert_eq!(bits(&again), bits(&base));
}

#[test]
fn half_precision_adapters_load_as_their_values() {
    let ck = file("stories260K.bin");
    let w = weights();
    for dtype in [Dtype::F16, Dtype::BF16] {
        let mut pairs = known_pairs(&mut Rng(21), 2, false);
        let lora = load_peft_as(
            &config_json(2, 2.0, false),
            &safetensors_file(&pairs, 2, dtype),
            w.config(),
            "half",
            RopeLayout::Llama2c,
        )
        .unwrap();
        // The reference merges the values as stored (rounded to 16 bits).
        let round = |v: &mut Vec<f32>| {
            for f in v.iter_mut() {
                *f = match dtype {
                    Dtype::F16 => half::f16::from_f32(*f).to_f32(),
                    _ => half::bf16::from_f32(*f).to_f32(),
                }
            }
        };
        let mut merged = RefModel::from_bytes(&ck);
        for p in &mut pairs {
            round(&mut p.a);
            round(&mut p.b);
            merged.merge(target_index(p.target), p.layer, 2, 1.0, &p.a, &p.b);
        }
        let want = merged.forward_all(&TOKENS);
        let got = run(&w, vec![Arc::new(lora)]);
        for pos in 0..TOKENS.len() {
            assert_close(&got[pos], &want[pos], 1e-4, &format!("{dtype:?} pos {pos}"));
        }
    }
}

#[test]
fn an_archive_holds_both_files() {
    let w = weights();
    let pairs = known_pairs(&mut Rng(3), 2, false);
    let cfg = config_json(2, 4.0, false);
    let st = safetensors_file(&pairs, 2, Dtype::F32);
    let from_files = load_peft(&cfg, &st, w.config(), "a").unwrap();
    let tar = ustar(&[
        ("my-adapter/adapter_config.json", &cfg),
        ("my-adapter/adapter_model.safetensors", &st),
    ]);
    let from_tar = load_peft_archive(&tar, w.config(), "a").unwrap();
    assert_eq!(
        bits(&run(&w, vec![Arc::new(from_files)])),
        bits(&run(&w, vec![Arc::new(from_tar)]))
    );
    let e =
        load_peft_archive(&ustar(&[("adapter_config.json", &cfg)]), w.config(), "a").unwrap_err();
    assert!(e.to_string().contains("adapter_model.safetensors"), "{e}");
    assert!(load_peft_archive(&tar[..tar.len() - 600], w.config(), "a").is_err());
    let twice = ustar(&[
        ("adapter_config.json", &cfg),
        ("x/adapter_config.json", &cfg),
        ("adapter_model.safetensors", &st),
    ]);
    let e = load_peft_archive(&twice, w.config(), "a").unwrap_err();
    assert!(e.to_string().contains("twice"), "{e}");
}

#[test]
fn mismatched_adapters_are_refused_by_name() {
    let w = weights();
    let c = *w.config();
    let cfg = config_json(2, 4.0, false);
    // q_proj's A as wide as the hidden layer instead of dim.
    let bad_a = Pair {
        layer: 1,
        target: Target::Wq,
        a: vec![0.1; 2 * c.hidden_dim],
        b: vec![0.1; c.dim * 2],
    };
    let views = [
        (
            "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight",
            vec![2, c.hidden_dim],
            encode(&bad_a.a, Dtype::F32),
        ),
        (
            "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight",
            vec![c.dim, 2],
            encode(&bad_a.b, Dtype::F32),
        ),
    ];
    let st = |v: &[(&str, Vec<usize>, Vec<u8>)]| {
        safetensors::serialize(
            v.iter().map(|(n, s, d)| {
                (
                    n.to_string(),
                    TensorView::new(Dtype::F32, s.clone(), d).unwrap(),
                )
            }),
            None,
        )
        .unwrap()
    };
    let e = load_peft(&cfg, &st(&views), &c, "bad").unwrap_err();
    assert!(matches!(e, LlmError::LoraShape(_)), "{e}");
    assert!(
        e.to_string()
            .contains("base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight"),
        "{e}"
    );
    // A rank other than the config's r.
    let e = load_peft(&config_json(3, 4.0, false), &st(&views), &c, "bad").unwrap_err();
    assert!(e.to_string().contains("lora_A.weight"), "{e}");
    // A layer the model does not have.
    let deep = [(
        "base_model.model.model.layers.9.mlp.up_proj.lora_A.weight",
        vec![2, c.dim],
        encode(&vec![0.0; 2 * c.dim], Dtype::F32),
    )];
    let e = load_peft(&cfg, &st(&deep), &c, "bad").unwrap_err();
    assert!(
        e.to_string().contains("layers.9.mlp.up_proj") && e.to_string().contains("5 layers"),
        "{e}"
    );
    // B missing.
    let e = load_peft(&cfg, &st(&views[..1]), &c, "bad").unwrap_err();
    assert!(e.to_string().contains("lora_B is missing"), "{e}");
    // A tensor that is no LoRA matrix.
    let odd = [("lm_head.weight", vec![2, 2], encode(&[0.0; 4], Dtype::F32))];
    let e = load_peft(&cfg, &st(&odd), &c, "bad").unwrap_err();
    assert!(e.to_string().contains("lm_head.weight"), "{e}");
    // An adapter made for another model shape cannot be attached.
    let other = kernel_wasm::llm::Config::from_header([32, 64, 2, 4, 4, 512, 64]).unwrap();
    let small = Lora::new("other", &other);
    let mut s = State::new(&c).unwrap();
    assert!(matches!(
        s.set_loras(vec![Arc::new(small)]),
        Err(LlmError::LoraShape(_))
    ));
}

#[test]
fn mutated_adapters_never_panic() {
    let w = weights();
    let c = *w.config();
    let pairs = known_pairs(&mut Rng(8), 2, false);
    let cfg = config_json(2, 4.0, false);
    let st = safetensors_file(&pairs, 2, Dtype::F32);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut loaded = 0;
    for i in 0..400 {
        let mut s = st.clone();
        let mut j = cfg.clone();
        // Mostly the safetensors header (the first few hundred bytes), sometimes anywhere.
        for _ in 0..1 + (rng.0 % 3) {
            rng.f(1.0);
            let span = if i % 3 == 0 {
                s.len()
            } else {
                600.min(s.len())
            };
            let at = (rng.0 as usize) % span;
            s[at] = (rng.0 >> 17) as u8;
            rng.f(1.0);
            let at = (rng.0 as usize) % j.len();
            j[at] = (rng.0 >> 23) as u8;
        }
        if i % 5 == 0 {
            rng.f(1.0);
            s.truncate((rng.0 as usize) % s.len());
        }
        for (cj, cs) in [(&j, &st), (&cfg, &s)] {
            if let Ok(l) = load_peft(cj, cs, &c, "m") {
                loaded += 1;
                run(&w, vec![Arc::new(l)]);
            }
        }
        let _ = load_peft_archive(&s, &c, "m");
    }
    assert!(
        loaded > 0,
        "no mutant loaded: the test does not reach the engine"
    );
}
