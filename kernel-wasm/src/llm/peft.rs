//! Hugging Face PEFT LoRA adapters: `adapter_config.json` + `adapter_model.safetensors`, either as
//! the two files of an adapter directory ([`load_peft`]) or packed into one ustar archive
//! ([`load_peft_archive`]), mapped onto the llama2.c matrices.
//!
//! Tensor names follow PEFT's saved layout for Llama models,
//! `base_model.model.model.layers.{i}.self_attn.{q,k,v,o}_proj.lora_{A,B}.weight` and
//! `base_model.model.model.layers.{i}.mlp.{gate,up,down}_proj.lora_{A,B}.weight`; `lora_A` is
//! `[r, in]`, `lora_B` is `[out, r]`, in `F32`, `F16` or `BF16`. The scale is `lora_alpha / r`, or
//! `lora_alpha / √r` with `use_rslora` (per module when `rank_pattern`/`alpha_pattern` name it).
//! Everything is checked before it is used: a tensor that does not fit the model is refused by its
//! name, and memory is bounded by the files' sizes (at most twice the weights file, for 16-bit
//! tensors converted to `f32`).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::Deserialize;

use super::adapter::Target;
use super::checkpoint::Config;
use super::lora::{Lora, LoraPair};
use super::LlmError;

/// The configuration file of a PEFT adapter directory.
pub const CONFIG_FILE: &str = "adapter_config.json";
/// The weights file of a PEFT adapter directory.
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";

fn format_err(msg: impl Into<String>) -> LlmError {
    LlmError::LoraFormat(msg.into())
}

fn shape_err(msg: impl Into<String>) -> LlmError {
    LlmError::LoraShape(msg.into())
}

/// `target_modules`: a list of module names, or one string (a module name or `all-linear`; PEFT
/// treats other strings as regular expressions, which are refused).
#[derive(Deserialize)]
#[serde(untagged)]
enum TargetModules {
    List(Vec<String>),
    One(String),
}

/// The fields of `adapter_config.json` the engine uses; unknown fields are ignored, as PEFT
/// writes many that do not matter for inference.
#[derive(Deserialize)]
struct AdapterConfig {
    #[serde(default)]
    peft_type: Option<String>,
    r: usize,
    lora_alpha: f64,
    #[serde(default)]
    target_modules: Option<TargetModules>,
    #[serde(default)]
    use_rslora: Option<bool>,
    #[serde(default)]
    use_dora: Option<bool>,
    #[serde(default)]
    fan_in_fan_out: Option<bool>,
    #[serde(default)]
    bias: Option<String>,
    #[serde(default)]
    rank_pattern: Option<BTreeMap<String, usize>>,
    #[serde(default)]
    alpha_pattern: Option<BTreeMap<String, f64>>,
}

/// The parsed configuration: what each module's rank and scale are.
struct Settings {
    r: usize,
    alpha: f64,
    rslora: bool,
    targets: Vec<Target>,
    rank_pattern: BTreeMap<String, usize>,
    alpha_pattern: BTreeMap<String, f64>,
}

/// A pattern key PEFT would match as a regular expression; only plain names (letters, digits,
/// `_` and `.`) are accepted, matched as PEFT matches them: the whole module name, or its end
/// after a `.`.
fn pattern_matches(key: &str, module: &str) -> bool {
    module == key
        || module
            .strip_suffix(key)
            .is_some_and(|head| head.ends_with('.'))
}

fn plain_pattern(key: &str) -> Result<(), LlmError> {
    if !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        Ok(())
    } else {
        Err(format_err(format!(
            "{CONFIG_FILE}: pattern {key:?} is a regular expression (only module names are supported)"
        )))
    }
}

impl Settings {
    fn parse(json: &[u8]) -> Result<Settings, LlmError> {
        let c: AdapterConfig =
            serde_json::from_slice(json).map_err(|e| format_err(format!("{CONFIG_FILE}: {e}")))?;
        if let Some(t) = &c.peft_type {
            if t != "LORA" {
                return Err(format_err(format!(
                    "{CONFIG_FILE}: peft_type {t:?} is not LORA"
                )));
            }
        }
        if c.use_dora == Some(true) {
            return Err(format_err(format!(
                "{CONFIG_FILE}: use_dora (DoRA adapters are not supported)"
            )));
        }
        if c.fan_in_fan_out == Some(true) {
            return Err(format_err(format!(
                "{CONFIG_FILE}: fan_in_fan_out (Conv1D models are not Llama models)"
            )));
        }
        if let Some(b) = &c.bias {
            if b != "none" {
                return Err(format_err(format!(
                    "{CONFIG_FILE}: bias {b:?} (only \"none\" is supported)"
                )));
            }
        }
        if c.r == 0 {
            return Err(format_err(format!("{CONFIG_FILE}: r is 0")));
        }
        if !c.lora_alpha.is_finite() {
            return Err(format_err(format!(
                "{CONFIG_FILE}: lora_alpha is not finite"
            )));
        }
        let names: Vec<String> = match c.target_modules {
            None => {
                return Err(format_err(format!(
                    "{CONFIG_FILE}: target_modules is missing"
                )))
            }
            Some(TargetModules::One(s)) if s == "all-linear" => Target::ALL
                .iter()
                .map(|t| t.hf_name().to_string())
                .collect(),
            Some(TargetModules::One(s)) => {
                plain_pattern(&s)?;
                alloc::vec![s]
            }
            Some(TargetModules::List(v)) => v,
        };
        let mut targets = Vec::new();
        for n in &names {
            let t = Target::from_hf_name(n).ok_or_else(|| {
                format_err(format!(
                    "{CONFIG_FILE}: target module {n:?} is not one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj"
                ))
            })?;
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
        let rank_pattern = c.rank_pattern.unwrap_or_default();
        let alpha_pattern = c.alpha_pattern.unwrap_or_default();
        for k in rank_pattern.keys().chain(alpha_pattern.keys()) {
            plain_pattern(k)?;
        }
        Ok(Settings {
            r: c.r,
            alpha: c.lora_alpha,
            rslora: c.use_rslora == Some(true),
            targets,
            rank_pattern,
            alpha_pattern,
        })
    }

    /// Rank and scale of `module` (e.g. `model.layers.0.self_attn.q_proj`).
    fn rank_and_scale(&self, module: &str) -> Result<(usize, f32), LlmError> {
        let r = self
            .rank_pattern
            .iter()
            .find(|(k, _)| pattern_matches(k, module))
            .map_or(self.r, |(_, &r)| r);
        let alpha = self
            .alpha_pattern
            .iter()
            .find(|(k, _)| pattern_matches(k, module))
            .map_or(self.alpha, |(_, &a)| a);
        if r == 0 {
            return Err(format_err(format!("{CONFIG_FILE}: rank of {module} is 0")));
        }
        let rf = r as f64;
        let scale = if self.rslora {
            alpha / libm::sqrt(rf)
        } else {
            alpha / rf
        };
        let scale = scale as f32;
        if !scale.is_finite() {
            return Err(format_err(format!(
                "{CONFIG_FILE}: scale of {module} is not finite"
            )));
        }
        Ok((r, scale))
    }
}

/// Which matrix a tensor name is: (layer, target, is `lora_B`, module name without the PEFT
/// prefix).
fn parse_name(name: &str) -> Option<(usize, Target, bool, String)> {
    let parts: Vec<&str> = name.split('.').collect();
    let n = parts.len();
    if n < 6 || parts[n - 1] != "weight" {
        return None;
    }
    let is_b = match parts[n - 2] {
        "lora_A" => false,
        "lora_B" => true,
        _ => return None,
    };
    let target = Target::from_hf_name(parts[n - 3])?;
    let parent = match target {
        Target::Wq | Target::Wk | Target::Wv | Target::Wo => "self_attn",
        Target::W1 | Target::W2 | Target::W3 => "mlp",
    };
    if parts[n - 4] != parent || parts[n - 6] != "layers" {
        return None;
    }
    let digits = parts[n - 5];
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let layer = digits.parse().ok()?;
    // PEFT saves `base_model.model.` + the model's own module path (`model.layers.…`).
    let module = parts[..n - 2].join(".");
    let module = module
        .strip_prefix("base_model.model.")
        .unwrap_or(&module)
        .to_string();
    Some((layer, target, is_b, module))
}

/// The floats of a 2-D tensor, after checking its dtype, shape and values.
fn floats(
    name: &str,
    t: &TensorView<'_>,
    want: (usize, usize),
    what: &str,
) -> Result<Vec<f32>, LlmError> {
    let shape = t.shape();
    if shape != [want.0, want.1] {
        return Err(shape_err(format!(
            "{name}: shape {shape:?}, expected [{}, {}] ({what})",
            want.0, want.1
        )));
    }
    let data = t.data();
    let mut out = Vec::new();
    let n = want.0 * want.1;
    out.try_reserve_exact(n)
        .map_err(|_| LlmError::OutOfMemory)?;
    match t.dtype() {
        Dtype::F32 => out.extend(
            data.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        ),
        Dtype::F16 => out.extend(
            data.chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()),
        ),
        Dtype::BF16 => out.extend(
            data.chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()),
        ),
        other => {
            return Err(format_err(format!(
                "{name}: dtype {other:?} (F32, F16 or BF16 expected)"
            )))
        }
    }
    if out.len() != n {
        return Err(format_err(format!(
            "{name}: data size does not match its shape"
        )));
    }
    if out.iter().any(|v| !v.is_finite()) {
        return Err(format_err(format!("{name}: holds a NaN or infinity")));
    }
    Ok(out)
}

/// How the adapter's `q_proj`/`k_proj` rows are ordered.
///
/// Hugging Face Llama models apply RoPE to the two halves of each head ("rotate half"); llama2.c
/// rotates consecutive pairs, so its `export.py` permutes the rows of `wq` and `wk` of every head
/// from `(half, i)` to `(i, half)`. A PEFT adapter trained on the Hugging Face model needs the same
/// permutation of its `q_proj`/`k_proj` `lora_B` rows (their `lora_A` and every other projection
/// are unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeLayout {
    /// Trained on a Hugging Face Llama model (what PEFT produces): rows are permuted on load.
    HuggingFace,
    /// Trained on weights in llama2.c's own layout: used as stored.
    Llama2c,
}

/// Reorders the rows of `b` (`[heads · hs, r]`) from Hugging Face's per-head `(half, i)` order to
/// llama2.c's `(i, half)`: new row `h·hs + 2i + t` is old row `h·hs + t·hs/2 + i` (llama2.c
/// `export.py`'s `permute_reverse`).
fn permute_rows(b: &[f32], heads: usize, hs: usize, r: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(b.len());
    for h in 0..heads {
        for i in 0..hs / 2 {
            for t in 0..2 {
                let old = h * hs + t * (hs / 2) + i;
                out.extend_from_slice(&b[old * r..(old + 1) * r]);
            }
        }
    }
    out
}

/// A tensor with its name in the file.
type Named<'a> = (String, TensorView<'a>);

/// Builds a [`Lora`] named `name` for a model with `model`'s shape from the bytes of
/// `adapter_config.json` and `adapter_model.safetensors`, trained on a Hugging Face Llama model
/// (what PEFT produces; see [`RopeLayout`]).
pub fn load_peft(
    config_json: &[u8],
    safetensors: &[u8],
    model: &Config,
    name: &str,
) -> Result<Lora, LlmError> {
    load_peft_as(
        config_json,
        safetensors,
        model,
        name,
        RopeLayout::HuggingFace,
    )
}

/// [`load_peft`] for an adapter whose `q_proj`/`k_proj` rows are in `layout`.
pub fn load_peft_as(
    config_json: &[u8],
    safetensors: &[u8],
    model: &Config,
    name: &str,
    layout: RopeLayout,
) -> Result<Lora, LlmError> {
    let settings = Settings::parse(config_json)?;
    let st = SafeTensors::deserialize(safetensors)
        .map_err(|e| format_err(format!("{WEIGHTS_FILE}: {e}")))?;
    // Pair up A and B per (layer, target), in a deterministic order.
    let mut halves: BTreeMap<(usize, Target), [Option<Named<'_>>; 2]> = BTreeMap::new();
    // Sorted, so the first error reported is the same on every run (the file's index is a hash
    // map).
    let mut names = st.names();
    names.sort_unstable();
    for tname in names {
        let view = st
            .tensor(tname)
            .map_err(|e| format_err(format!("{WEIGHTS_FILE}: {e}")))?;
        let (layer, target, is_b, _) = parse_name(tname).ok_or_else(|| {
            format_err(format!(
                "{WEIGHTS_FILE}: tensor {tname} is not a LoRA matrix of a Llama projection"
            ))
        })?;
        if layer >= model.n_layers {
            return Err(shape_err(format!(
                "{tname}: layer {layer}, the model has {} layers",
                model.n_layers
            )));
        }
        if !settings.targets.contains(&target) {
            return Err(format_err(format!(
                "{tname}: {} is not in target_modules",
                target.hf_name()
            )));
        }
        let slot = &mut halves.entry((layer, target)).or_default()[usize::from(is_b)];
        if slot.is_some() {
            return Err(format_err(format!("{tname}: given twice")));
        }
        *slot = Some((tname.to_string(), view));
    }
    let mut lora = Lora::new(name, model);
    for ((layer, target), [a, b]) in halves {
        let (a, b) = match (a, b) {
            (Some(a), Some(b)) => (a, b),
            (Some((n, _)), None) => return Err(format_err(format!("{n}: its lora_B is missing"))),
            (None, Some((n, _))) => return Err(format_err(format!("{n}: its lora_A is missing"))),
            (None, None) => continue,
        };
        let module = parse_name(&a.0).map(|p| p.3).unwrap_or_default();
        let (rank, scale) = settings.rank_and_scale(&module)?;
        let (out, inp) = target.shape(model);
        let av = floats(&a.0, &a.1, (rank, inp), "[r, in]")?;
        let mut bv = floats(&b.0, &b.1, (out, rank), "[out, r]")?;
        if layout == RopeLayout::HuggingFace {
            let heads = match target {
                Target::Wq => model.n_heads,
                Target::Wk => model.n_kv_heads,
                _ => 0,
            };
            if heads > 0 {
                bv = permute_rows(&bv, heads, model.head_size(), rank);
            }
        }
        lora.insert(
            layer,
            target,
            LoraPair {
                rank,
                scale,
                a: av,
                b: bv,
            },
        )?;
    }
    if lora.pair_count() == 0 {
        return Err(format_err(format!("{WEIGHTS_FILE}: no LoRA tensors")));
    }
    Ok(lora)
}

/// [`load_peft`] from one ustar archive holding `adapter_config.json` and
/// `adapter_model.safetensors` (at its top level or in one directory; made with e.g.
/// `tar cf adapter.tar adapter_config.json adapter_model.safetensors`).
pub fn load_peft_archive(archive: &[u8], model: &Config, name: &str) -> Result<Lora, LlmError> {
    load_peft_archive_as(archive, model, name, RopeLayout::HuggingFace)
}

/// [`load_peft_archive`] for an adapter whose `q_proj`/`k_proj` rows are in `layout`.
pub fn load_peft_archive_as(
    archive: &[u8],
    model: &Config,
    name: &str,
    layout: RopeLayout,
) -> Result<Lora, LlmError> {
    let tar = tar_no_std::TarArchiveRef::new(archive)
        .map_err(|e| format_err(format!("archive: {e:?}")))?;
    let mut config = None;
    let mut weights = None;
    for entry in tar.entries() {
        let fname = entry.filename();
        let Ok(path) = fname.as_str() else {
            continue;
        };
        let base = path.rsplit('/').next().unwrap_or(path);
        let slot = match base {
            CONFIG_FILE => &mut config,
            WEIGHTS_FILE => &mut weights,
            _ => continue,
        };
        if slot.is_some() {
            return Err(format_err(format!("archive: {base} appears twice")));
        }
        *slot = Some(entry.data());
    }
    let config = config.ok_or_else(|| format_err(format!("archive: no {CONFIG_FILE}")))?;
    let weights = weights.ok_or_else(|| format_err(format!("archive: no {WEIGHTS_FILE}")))?;
    load_peft_as(config, weights, model, name, layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_llama_matrices() {
        let n = "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight";
        assert_eq!(
            parse_name(n),
            Some((
                3,
                Target::Wq,
                false,
                "model.layers.3.self_attn.q_proj".into()
            ))
        );
        let n = "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight";
        assert_eq!(parse_name(n).map(|p| (p.1, p.2)), Some((Target::W2, true)));
        for bad in [
            "base_model.model.model.layers.0.mlp.q_proj.lora_A.weight",
            "base_model.model.model.layers.x.self_attn.q_proj.lora_A.weight",
            "base_model.model.model.layers.0.self_attn.q_proj.lora_C.weight",
            "base_model.model.lm_head.lora_A.weight",
            "layers.0.self_attn.q_proj.lora_A",
            "",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn hugging_face_rows_are_permuted_as_export_py_does() {
        // One head of size 4, rank 1: HF rows (half 0: a, b; half 1: c, d) become a, c, b, d.
        assert_eq!(
            permute_rows(&[1.0, 2.0, 3.0, 4.0], 1, 4, 1),
            [1.0, 3.0, 2.0, 4.0]
        );
        // Two heads of size 2, rank 2: pairs are already consecutive; heads stay in place.
        let b = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5];
        assert_eq!(permute_rows(&b, 2, 2, 2), b);
    }

    #[test]
    fn patterns_match_like_peft() {
        assert!(pattern_matches("q_proj", "model.layers.0.self_attn.q_proj"));
        assert!(pattern_matches(
            "layers.0.self_attn.q_proj",
            "model.layers.0.self_attn.q_proj"
        ));
        assert!(!pattern_matches("proj", "model.layers.0.self_attn.q_proj"));
        assert!(!pattern_matches(
            "layers.1.self_attn.q_proj",
            "model.layers.0.self_attn.q_proj"
        ));
        assert!(plain_pattern("model.layers.0.q_proj").is_ok());
        assert!(plain_pattern(".*q_proj").is_err());
    }

    #[test]
    fn config_errors_say_what() {
        let cases: [(&str, &str); 8] = [
            ("{", "adapter_config.json"),
            (r#"{"r": 4}"#, "lora_alpha"),
            (
                r#"{"r": 0, "lora_alpha": 1, "target_modules": ["q_proj"]}"#,
                "r is 0",
            ),
            (r#"{"r": 4, "lora_alpha": 8}"#, "target_modules"),
            (
                r#"{"r": 4, "lora_alpha": 8, "target_modules": ["c_attn"]}"#,
                "c_attn",
            ),
            (
                r#"{"r": 4, "lora_alpha": 8, "target_modules": ".*proj"}"#,
                "regular expression",
            ),
            (
                r#"{"r": 4, "lora_alpha": 8, "target_modules": ["q_proj"], "use_dora": true}"#,
                "DoRA",
            ),
            (
                r#"{"r": 4, "lora_alpha": 8, "target_modules": ["q_proj"], "peft_type": "IA3"}"#,
                "IA3",
            ),
        ];
        for (json, want) in cases {
            let e = Settings::parse(json.as_bytes())
                .err()
                .map(|e| format!("{e}"));
            assert!(
                e.as_deref().is_some_and(|e| e.contains(want)),
                "{json}: {e:?}"
            );
        }
        let s = Settings::parse(
            br#"{"r": 4, "lora_alpha": 8, "target_modules": "all-linear", "use_rslora": true,
                "rank_pattern": {"layers.1.self_attn.q_proj": 2}, "alpha_pattern": {}, "bias": "none",
                "task_type": "CAUSAL_LM", "layers_to_transform": null}"#,
        )
        .unwrap();
        assert_eq!(s.targets.len(), 7);
        assert_eq!(
            s.rank_and_scale("model.layers.0.self_attn.q_proj").unwrap(),
            (4, 4.0)
        );
        let (r, sc) = s.rank_and_scale("model.layers.1.self_attn.q_proj").unwrap();
        assert_eq!(r, 2);
        assert!((sc - 8.0 / core::f32::consts::SQRT_2).abs() < 1e-6);
    }
}
