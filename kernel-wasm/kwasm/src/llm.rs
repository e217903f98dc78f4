//! The model kwasm serves: `--llm-model PATH --llm-tokenizer PATH`, else (the shell) the default
//! model of its file system as the kernel finds it at boot, else the built-in model.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use kernel_wasm::llm::service::{MAX_CHECKPOINT_BYTES, MAX_TOKENIZER_BYTES};
use kernel_wasm::llm::{LlmLimits, LlmService};
use kernel_wasm::{Error, Vfs};

use crate::cli::LlmArgs;

/// Reads a host file of at most `max` bytes.
fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, Error> {
    let fail = |message: String| Error::Config {
        what: path.display().to_string(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > max {
        return Err(fail(format!("larger than {max} bytes")));
    }
    Ok(bytes)
}

/// The model of `--llm-model`/`--llm-tokenizer` (clap makes them come together), named after the
/// checkpoint's file name; `None` without them.
pub fn from_flags(args: &LlmArgs) -> Result<Option<LlmService>, Error> {
    let (Some(model), Some(tokenizer)) = (&args.llm_model, &args.llm_tokenizer) else {
        return Ok(None);
    };
    let checkpoint = read_bounded(model, MAX_CHECKPOINT_BYTES)?;
    let tok = read_bounded(tokenizer, MAX_TOKENIZER_BYTES)?;
    let name = model
        .file_stem()
        .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    LlmService::from_bytes(&name, &checkpoint, &tok, LlmLimits::default())
        .map(Some)
        .map_err(|e| Error::Llm {
            message: format!("{}, {}: {e}", model.display(), tokenizer.display()),
        })
}

/// The model built into kwasm: none yet (the project's own model is embedded here once it is
/// committed); `kwasm run` then answers `ERR_NO_MODEL` without `--llm-model`.
pub fn built_in() -> Option<LlmService> {
    None
}

/// What `kwasm run` serves: the flags' model, else the built-in one.
pub fn for_run(args: &LlmArgs) -> Result<Option<Arc<LlmService>>, Error> {
    Ok(from_flags(args)?.or_else(built_in).map(Arc::new))
}

/// What `kwasm shell` serves: the flags' model, else the default model of the shell's file
/// system (found as the kernel finds it at boot, after the boot packages; a broken one is
/// reported with the kernel's line and skipped), else the built-in one.
pub fn for_shell(args: &LlmArgs, vfs: &dyn Vfs) -> Result<Option<Arc<LlmService>>, Error> {
    if let Some(service) = from_flags(args)? {
        return Ok(Some(Arc::new(service)));
    }
    let found = match kernel_wasm::llm::boot::load_default(vfs, LlmLimits::default()) {
        Ok(found) => found,
        Err(error) => {
            // The line the kernel prints on its console for the same file system.
            println!(
                "[boot] {} (no model loaded)",
                crate::run::one_line(&error.to_string())
            );
            None
        }
    };
    Ok(found.or_else(built_in).map(Arc::new))
}
