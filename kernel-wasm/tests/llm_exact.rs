//! The engine against the original C implementation's greedy output for stories260K, and its
//! logits against an independent naive f64 forward pass. The model files live outside the
//! repository (`../shared/llm/`); when they are missing these tests fail.

use kernel_wasm::llm::{generate, Model, Tokenizer};

const REFERENCE: &str = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. She said, \"I want to play with your ball, but I can't find";

fn file(name: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/llm/");
    std::fs::read(format!("{p}{name}")).unwrap_or_else(|e| panic!("{p}{name}: {e}"))
}

#[test]
fn greedy_matches_c_reference() {
    let ck = file("stories260K.bin");
    let mut m = Model::from_bytes(&ck).unwrap();
    let t = Tokenizer::from_bytes(&file("tok512.bin"), m.config.vocab_size).unwrap();
    let out = generate(&mut m, &t, "Once upon a time", 128).unwrap();
    assert_eq!(out, REFERENCE);
}

fn f(b: &[u8], at: &mut usize, n: usize) -> Vec<f64> {
    let v = b[*at..*at + 4 * n]
        .chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    *at += 4 * n;
    v
}

fn mv(w: &[f64], x: &[f64]) -> Vec<f64> {
    w.chunks(x.len())
        .map(|r| r.iter().zip(x).map(|(a, b)| a * b).sum())
        .collect()
}

fn norm(x: &[f64], w: &[f64]) -> Vec<f64> {
    let ss = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64 + 1e-5;
    x.iter().zip(w).map(|(v, w)| w * v / ss.sqrt()).collect()
}

#[test]
fn logits_match_naive_f64() {
    let b = file("stories260K.bin");
    let h: Vec<usize> = (0..7)
        .map(|i| {
            i32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap()).unsigned_abs() as usize
        })
        .collect();
    let (dim, hid, nl, nh, nkv, voc, seq) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
    let hs = dim / nh;
    let kvd = dim * nkv / nh;
    let mut at = 28;
    let emb = f(&b, &mut at, voc * dim);
    let ra = f(&b, &mut at, nl * dim);
    let wq = f(&b, &mut at, nl * dim * dim);
    let wk = f(&b, &mut at, nl * dim * kvd);
    let wv = f(&b, &mut at, nl * dim * kvd);
    let wo = f(&b, &mut at, nl * dim * dim);
    let rf = f(&b, &mut at, nl * dim);
    let w1 = f(&b, &mut at, nl * dim * hid);
    let w2 = f(&b, &mut at, nl * dim * hid);
    let w3 = f(&b, &mut at, nl * dim * hid);
    let rfin = f(&b, &mut at, dim);
    let mut m = Model::from_bytes(&b).unwrap();
    let tokens = [1usize, 403, 407, 261, 378];
    let mut kc = vec![vec![Vec::<Vec<f64>>::new(); nl]; 2];
    for (pos, &tok) in tokens.iter().enumerate() {
        let mut x = emb[tok * dim..(tok + 1) * dim].to_vec();
        for l in 0..nl {
            let xb = norm(&x, &ra[l * dim..]);
            let mut q = mv(&wq[l * dim * dim..(l + 1) * dim * dim], &xb);
            let mut k = mv(&wk[l * dim * kvd..(l + 1) * dim * kvd], &xb);
            let v = mv(&wv[l * dim * kvd..(l + 1) * dim * kvd], &xb);
            for i in (0..dim).step_by(2) {
                let fr = 1.0 / 10000f64.powf((i % hs) as f64 / hs as f64);
                let (s, c) = (pos as f64 * fr).sin_cos();
                for vec in [&mut q, &mut k] {
                    if i < vec.len() {
                        let (a, b2) = (vec[i], vec[i + 1]);
                        vec[i] = a * c - b2 * s;
                        vec[i + 1] = a * s + b2 * c;
                    }
                }
            }
            kc[0][l].push(k);
            kc[1][l].push(v);
            let mut out = vec![0.0; dim];
            for hh in 0..nh {
                let ko = hh / (nh / nkv) * hs;
                let sc: Vec<f64> = kc[0][l]
                    .iter()
                    .map(|k| {
                        (0..hs).map(|i| q[hh * hs + i] * k[ko + i]).sum::<f64>()
                            / (hs as f64).sqrt()
                    })
                    .collect();
                let mx = sc.iter().cloned().fold(f64::MIN, f64::max);
                let e: Vec<f64> = sc.iter().map(|s| (s - mx).exp()).collect();
                let z: f64 = e.iter().sum();
                for (t, v) in kc[1][l].iter().enumerate() {
                    for i in 0..hs {
                        out[hh * hs + i] += e[t] / z * v[ko + i];
                    }
                }
            }
            let o = mv(&wo[l * dim * dim..(l + 1) * dim * dim], &out);
            x.iter_mut().zip(&o).for_each(|(a, b)| *a += b);
            let xb = norm(&x, &rf[l * dim..]);
            let a = mv(&w1[l * dim * hid..(l + 1) * dim * hid], &xb);
            let c = mv(&w3[l * dim * hid..(l + 1) * dim * hid], &xb);
            let g: Vec<f64> = a
                .iter()
                .zip(&c)
                .map(|(a, c)| a / (1.0 + (-a).exp()) * c)
                .collect();
            let d = mv(&w2[l * dim * hid..(l + 1) * dim * hid], &g);
            x.iter_mut().zip(&d).for_each(|(a, b)| *a += b);
        }
        let x = norm(&x, &rfin);
        let want = mv(&emb, &x);
        let got = m.forward(tok, pos).unwrap();
        let scale = want.iter().map(|v| v.abs()).fold(0.0, f64::max);
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (f64::from(*g) - w).abs() <= 1e-4 * scale.max(1.0),
                "pos {pos}: {g} vs {w}"
            );
        }
    }
    let _ = seq;
}
