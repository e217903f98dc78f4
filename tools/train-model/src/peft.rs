//! Writes a trained [`Lora`] as a Hugging Face PEFT adapter directory: `adapter_config.json` and
//! `adapter_model.safetensors`, the files PEFT's `save_pretrained` writes and the engine's
//! `load_peft` reads.
//!
//! PEFT adapters are trained on Hugging Face Llama models, whose RoPE rotates the two halves of
//! each head; this adapter was trained on the llama2.c layout (consecutive pairs). So the rows of
//! the `q_proj`/`k_proj` `lora_B` matrices are written in Hugging Face's order — the inverse of
//! the permutation llama2.c's `export.py` (and the engine's `load_peft`) applies — and the files
//! are what PEFT would have saved for the Hugging Face version of the model.
//!
//! Both files are written byte for byte the same on every run: the JSON by hand, the
//! safetensors header with its tensors in name order.

use anyhow::Result;

use crate::model::{Cfg, Lora, PROJECTIONS};

/// The adapter's `adapter_config.json`.
pub fn config(lora: &Lora, base: &str) -> String {
    let targets: Vec<String> = PROJECTIONS
        .iter()
        .map(|(_, name)| format!("\"{name}\""))
        .collect();
    format!(
        "{{\n  \"base_model_name_or_path\": \"{base}\",\n  \"bias\": \"none\",\n  \
         \"fan_in_fan_out\": false,\n  \"lora_alpha\": {},\n  \"lora_dropout\": 0.0,\n  \
         \"peft_type\": \"LORA\",\n  \"r\": {},\n  \"target_modules\": [{}],\n  \
         \"task_type\": \"CAUSAL_LM\",\n  \"use_rslora\": false\n}}\n",
        lora.alpha,
        lora.rank,
        targets.join(", ")
    )
}

/// Rows of `b` (`[heads · hs, r]`) from llama2.c's per-head `(i, half)` order to Hugging Face's
/// `(half, i)`: row `h·hs + t·hs/2 + i` is llama2.c's row `h·hs + 2i + t`.
fn to_hf_rows(b: &[f32], heads: usize, hs: usize, r: usize) -> Vec<f32> {
    let mut out = vec![0f32; b.len()];
    for h in 0..heads {
        for i in 0..hs / 2 {
            for t in 0..2 {
                let hf = h * hs + t * (hs / 2) + i;
                let l2c = h * hs + 2 * i + t;
                out[hf * r..(hf + 1) * r].copy_from_slice(&b[l2c * r..(l2c + 1) * r]);
            }
        }
    }
    out
}

/// The adapter's `adapter_model.safetensors` (F32 tensors).
pub fn safetensors(lora: &Lora, cfg: Cfg) -> Result<Vec<u8>> {
    let mut tensors: Vec<(String, [usize; 2], Vec<f32>)> = Vec::new();
    for (layer, pairs) in lora.pairs.iter().enumerate() {
        for ((group, proj), (a, b)) in PROJECTIONS.iter().zip(pairs) {
            let name = |half: &str| {
                format!("base_model.model.model.layers.{layer}.{group}.{proj}.{half}.weight")
            };
            let (ar, ac) = a.as_tensor().dims2()?;
            let (br, bc) = b.as_tensor().dims2()?;
            let av = a.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            let mut bv = b.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            if matches!(*proj, "q_proj" | "k_proj") {
                bv = to_hf_rows(&bv, cfg.heads, cfg.head_size(), bc);
            }
            tensors.push((name("lora_A"), [ar, ac], av));
            tensors.push((name("lora_B"), [br, bc], bv));
        }
    }
    tensors.sort_by(|x, y| x.0.cmp(&y.0));
    let mut header = String::from("{\"__metadata__\":{\"format\":\"pt\"}");
    let mut offset = 0usize;
    for (name, shape, data) in &tensors {
        let end = offset + data.len() * 4;
        header.push_str(&format!(
            ",\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{},{}],\"data_offsets\":[{offset},{end}]}}",
            shape[0], shape[1]
        ));
        offset = end;
    }
    header.push('}');
    // The header is padded with spaces to a multiple of 8 bytes, as the safetensors writer does.
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for (_, _, data) in &tensors {
        for f in data {
            out.extend_from_slice(&f.to_le_bytes());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// The engine's `load_peft` permutation undoes this one.
    #[test]
    fn rows_round_trip_through_the_engines_permutation() {
        let (heads, hs, r) = (2, 4, 1);
        let l2c: Vec<f32> = (0..heads * hs).map(|i| i as f32).collect();
        let hf = super::to_hf_rows(&l2c, heads, hs, r);
        // Head 0: llama2.c rows (x0, y0, x1, y1) = 0, 1, 2, 3 → Hugging Face (x0, x1, y0, y1).
        assert_eq!(hf, [0.0, 2.0, 1.0, 3.0, 4.0, 6.0, 5.0, 7.0]);
    }
}
