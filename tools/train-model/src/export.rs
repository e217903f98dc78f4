//! Writes the model in llama2.c's legacy checkpoint format (positive vocab_size: the classifier
//! is the token embedding), which the engine's `Weights::from_bytes` reads.

use candle_core::Result;

use crate::model::Model;

fn floats(out: &mut Vec<u8>, v: &candle_core::Var) -> Result<()> {
    for f in v.as_tensor().flatten_all()?.to_vec1::<f32>()? {
        out.extend_from_slice(&f.to_le_bytes());
    }
    Ok(())
}

pub fn checkpoint(m: &Model) -> Result<Vec<u8>> {
    let c = m.cfg;
    let mut out = Vec::new();
    for v in [c.dim, c.hidden, c.layers, c.heads, c.heads, c.vocab, c.seq_len] {
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
