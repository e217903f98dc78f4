//! Writes the model in llama2.c's legacy checkpoint format (positive vocab_size: the classifier
//! is the token embedding), which the engine's `Weights::from_bytes` reads, and reads it back.

use candle_core::{Device, Result, Tensor, Var};

use crate::model::{Cfg, Layer, Model};

fn floats(out: &mut Vec<u8>, v: &candle_core::Var) -> Result<()> {
    for f in v.as_tensor().flatten_all()?.to_vec1::<f32>()? {
        out.extend_from_slice(&f.to_le_bytes());
    }
    Ok(())
}

pub fn checkpoint(m: &Model) -> Result<Vec<u8>> {
    let c = m.cfg;
    let mut out = Vec::new();
    for v in [
        c.dim, c.hidden, c.layers, c.heads, c.heads, c.vocab, c.seq_len,
    ] {
        out.extend_from_slice(&(v as i32).to_le_bytes());
    }
    floats(&mut out, &m.emb)?;
    type Pick = fn(&crate::model::Layer) -> &candle_core::Var;
    let order: [Pick; 9] = [
        |l| &l.rms_att,
        |l| &l.wq,
        |l| &l.wk,
        |l| &l.wv,
        |l| &l.wo,
        |l| &l.rms_ffn,
        |l| &l.w1,
        |l| &l.w2,
        |l| &l.w3,
    ];
    for pick in order {
        for l in &m.layers {
            floats(&mut out, pick(l))?;
        }
    }
    floats(&mut out, &m.rms_final)?;
    // freq_cis_real and freq_cis_imag: unused by the engine (it computes RoPE itself), written
    // for the format's sake with the values they stand for.
    let hs = c.head_size();
    for part in 0..2 {
        for pos in 0..c.seq_len {
            for j in 0..hs / 2 {
                let val = pos as f32 / 10000f32.powf((2 * j) as f32 / hs as f32);
                let f = if part == 0 { val.cos() } else { val.sin() };
                out.extend_from_slice(&f.to_le_bytes());
            }
        }
    }
    Ok(out)
}

/// Reads back a checkpoint [`checkpoint`] wrote (the committed `model.bin`) as a candle model of
/// shape `cfg`, to train an adapter on: the inverse of [`checkpoint`].
pub fn load(bytes: &[u8], cfg: Cfg, dev: &Device) -> anyhow::Result<Model> {
    let want = [
        cfg.dim,
        cfg.hidden,
        cfg.layers,
        cfg.heads,
        cfg.heads,
        cfg.vocab,
        cfg.seq_len,
    ];
    let header: Vec<usize> = bytes
        .chunks_exact(4)
        .take(7)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    if header != want {
        anyhow::bail!("the checkpoint's header {header:?} is not the model's {want:?}");
    }
    let floats: Vec<f32> = bytes[28..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut at = 0;
    let mut take = |shape: (usize, usize)| -> anyhow::Result<Var> {
        let n = shape.0 * shape.1;
        let Some(v) = floats.get(at..at + n) else {
            anyhow::bail!("the checkpoint is truncated");
        };
        at += n;
        Ok(Var::from_tensor(&Tensor::from_vec(
            v.to_vec(),
            shape,
            dev,
        )?)?)
    };
    let (d, h, n) = (cfg.dim, cfg.hidden, cfg.layers);
    let emb = take((cfg.vocab, d))?;
    // Stored tensor by tensor across the layers (llama2.c's order), as `checkpoint` writes.
    let mut per: Vec<Vec<Var>> = Vec::new();
    for shape in [
        (1, d),
        (d, d),
        (d, d),
        (d, d),
        (d, d),
        (1, d),
        (h, d),
        (d, h),
        (h, d),
    ] {
        let mut all = Vec::new();
        for _ in 0..n {
            let v = take(shape)?;
            // RMSNorm weights are vectors.
            all.push(if shape.0 == 1 {
                Var::from_tensor(&v.as_tensor().squeeze(0)?)?
            } else {
                v
            });
        }
        per.push(all);
    }
    let rms_final = Var::from_tensor(&take((1, d))?.as_tensor().squeeze(0)?)?;
    let at = |t: usize, l: usize| per[t][l].clone();
    let layers = (0..n)
        .map(|l| Layer {
            rms_att: at(0, l),
            wq: at(1, l),
            wk: at(2, l),
            wv: at(3, l),
            wo: at(4, l),
            rms_ffn: at(5, l),
            w1: at(6, l),
            w2: at(7, l),
            w3: at(8, l),
        })
        .collect();
    Ok(Model::from_weights(cfg, emb, layers, rms_final, dev)?)
}
