//! Shared by the LLM tests: the model files of `../shared/llm/` (a missing file fails the test),
//! and an independent reference forward pass — naive loops in `f64` over the checkpoint's weights,
//! written from the llama2.c description rather than from the engine — with optional LoRA deltas
//! merged into its matrices.

#![allow(dead_code)]

pub fn file(name: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/llm/");
    std::fs::read(format!("{p}{name}")).unwrap_or_else(|e| panic!("{p}{name}: {e}"))
}

/// The llama2.c matrices by name, as `f64`, `[layers][out * in]`.
pub struct RefModel {
    pub dim: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub vocab: usize,
    emb: Vec<f64>,
    rms_att: Vec<Vec<f64>>,
    rms_ffn: Vec<Vec<f64>>,
    rms_final: Vec<f64>,
    cls: Vec<f64>,
    /// wq, wk, wv, wo, w1, w2, w3 per layer.
    pub mats: [Vec<Vec<f64>>; 7],
}

fn take(b: &[u8], at: &mut usize, n: usize) -> Vec<f64> {
    let v = b[*at..*at + 4 * n]
        .chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    *at += 4 * n;
    v
}

fn per_layer(v: Vec<f64>, layers: usize) -> Vec<Vec<f64>> {
    let n = v.len() / layers;
    v.chunks(n).map(<[f64]>::to_vec).collect()
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

/// Index of each llama2.c matrix in [`RefModel::mats`]: the order of `Target::ALL`.
pub const WQ: usize = 0;
pub const W2: usize = 5;

impl RefModel {
    pub fn from_bytes(b: &[u8]) -> RefModel {
        let h: Vec<i32> = (0..7)
            .map(|i| i32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap()))
            .collect();
        let (dim, hid, nl, nh, nkv) = (
            h[0] as usize,
            h[1] as usize,
            h[2] as usize,
            h[3] as usize,
            h[4] as usize,
        );
        let voc = h[5].unsigned_abs() as usize;
        let seq = h[6] as usize;
        let kvd = dim * nkv / nh;
        let mut at = 28;
        let emb = take(b, &mut at, voc * dim);
        let rms_att = per_layer(take(b, &mut at, nl * dim), nl);
        let wq = per_layer(take(b, &mut at, nl * dim * dim), nl);
        let wk = per_layer(take(b, &mut at, nl * dim * kvd), nl);
        let wv = per_layer(take(b, &mut at, nl * dim * kvd), nl);
        let wo = per_layer(take(b, &mut at, nl * dim * dim), nl);
        let rms_ffn = per_layer(take(b, &mut at, nl * dim), nl);
        let w1 = per_layer(take(b, &mut at, nl * dim * hid), nl);
        let w2 = per_layer(take(b, &mut at, nl * dim * hid), nl);
        let w3 = per_layer(take(b, &mut at, nl * dim * hid), nl);
        let rms_final = take(b, &mut at, dim);
        at += seq * (dim / nh) * 4;
        let cls = if h[5] > 0 {
            emb.clone()
        } else {
            take(b, &mut at, voc * dim)
        };
        RefModel {
            dim,
            hidden: hid,
            layers: nl,
            heads: nh,
            kv_heads: nkv,
            vocab: voc,
            emb,
            rms_att,
            rms_ffn,
            rms_final,
            cls,
            mats: [wq, wk, wv, wo, w1, w2, w3],
        }
    }

    /// `(out, in)` of matrix `m` (index into [`RefModel::mats`]).
    pub fn shape(&self, m: usize) -> (usize, usize) {
        let kvd = self.dim * self.kv_heads / self.heads;
        match m {
            0 | 3 => (self.dim, self.dim),
            1 | 2 => (kvd, self.dim),
            4 | 6 => (self.hidden, self.dim),
            _ => (self.dim, self.hidden),
        }
    }

    /// Adds `scale · B·A` (`a` `[r, in]`, `b` `[out, r]`, `f32` as stored) to matrix `m` of
    /// `layer`.
    pub fn merge(&mut self, m: usize, layer: usize, r: usize, scale: f64, a: &[f32], b: &[f32]) {
        let (out, inp) = self.shape(m);
        let w = &mut self.mats[m][layer];
        for o in 0..out {
            for i in 0..inp {
                let d: f64 = (0..r)
                    .map(|k| f64::from(b[o * r + k]) * f64::from(a[k * inp + i]))
                    .sum();
                w[o * inp + i] += scale * d;
            }
        }
    }

    /// The logits of every position of `tokens`.
    pub fn forward_all(&self, tokens: &[usize]) -> Vec<Vec<f64>> {
        let (dim, nh, nkv) = (self.dim, self.heads, self.kv_heads);
        let hs = dim / nh;
        let mut kc: Vec<Vec<Vec<f64>>> = vec![Vec::new(); self.layers];
        let mut vc: Vec<Vec<Vec<f64>>> = vec![Vec::new(); self.layers];
        let mut all = Vec::new();
        for (pos, &tok) in tokens.iter().enumerate() {
            let mut x = self.emb[tok * dim..(tok + 1) * dim].to_vec();
            for l in 0..self.layers {
                let [wq, wk, wv, wo, w1, w2, w3] = &self.mats;
                let xb = norm(&x, &self.rms_att[l]);
                let mut q = mv(&wq[l], &xb);
                let mut k = mv(&wk[l], &xb);
                let v = mv(&wv[l], &xb);
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
                kc[l].push(k);
                vc[l].push(v);
                let mut out = vec![0.0; dim];
                for hh in 0..nh {
                    let ko = hh / (nh / nkv) * hs;
                    let sc: Vec<f64> = kc[l]
                        .iter()
                        .map(|k| {
                            (0..hs).map(|i| q[hh * hs + i] * k[ko + i]).sum::<f64>()
                                / (hs as f64).sqrt()
                        })
                        .collect();
                    let mx = sc.iter().cloned().fold(f64::MIN, f64::max);
                    let e: Vec<f64> = sc.iter().map(|s| (s - mx).exp()).collect();
                    let z: f64 = e.iter().sum();
                    for (t, v) in vc[l].iter().enumerate() {
                        for i in 0..hs {
                            out[hh * hs + i] += e[t] / z * v[ko + i];
                        }
                    }
                }
                let o = mv(&wo[l], &out);
                x.iter_mut().zip(&o).for_each(|(a, b)| *a += b);
                let xb = norm(&x, &self.rms_ffn[l]);
                let a = mv(&w1[l], &xb);
                let c = mv(&w3[l], &xb);
                let g: Vec<f64> = a
                    .iter()
                    .zip(&c)
                    .map(|(a, c)| a / (1.0 + (-a).exp()) * c)
                    .collect();
                let d = mv(&w2[l], &g);
                x.iter_mut().zip(&d).for_each(|(a, b)| *a += b);
            }
            let x = norm(&x, &self.rms_final);
            all.push(mv(&self.cls, &x));
        }
        all
    }
}

/// Asserts `got` (engine, `f32`) is within `rel` of `want` (reference) relative to `want`'s
/// largest magnitude.
pub fn assert_close(got: &[f32], want: &[f64], rel: f64, what: &str) {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().map(|v| v.abs()).fold(0.0, f64::max).max(1.0);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(*g) - w).abs() <= rel * scale,
            "{what}[{i}]: {g} vs {w}"
        );
    }
}
