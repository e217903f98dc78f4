//! The model kwasm serves: `--llm-model PATH --llm-tokenizer PATH`, else (the shell) the default
//! model of its file system as the kernel finds it at boot (a model directory of `/llm`, else an
//! installed model package), else the built-in model, the project's own.

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

/// The project's default model (`models/tinystories/`, made by `cargo xtask train-model`), built
/// into kwasm so `kwasm run` serves a model without any file (it is about 1 MB).
const BUILT_IN_NAME: &str = "tinystories";
static BUILT_IN_CHECKPOINT: &[u8] = include_bytes!("../../../models/tinystories/model.bin");
static BUILT_IN_TOKENIZER: &[u8] = include_bytes!("../../../models/tinystories/tokenizer.bin");

/// The model built into kwasm. The files are the committed ones, checked by the tests, so a
/// failure here would be a build of broken files: reported, never a panic.
pub fn built_in() -> Result<LlmService, Error> {
    LlmService::from_bytes(
        BUILT_IN_NAME,
        BUILT_IN_CHECKPOINT,
        BUILT_IN_TOKENIZER,
        LlmLimits::default(),
    )
    .map_err(|e| Error::Llm {
        message: format!("the built-in model: {e}"),
    })
}

/// What `kwasm run` serves: the flags' model, else the built-in one.
pub fn for_run(args: &LlmArgs) -> Result<Option<Arc<LlmService>>, Error> {
    let service = match from_flags(args)? {
        Some(service) => service,
        None => built_in()?,
    };
    Ok(Some(Arc::new(service)))
}

/// What `kwasm shell` serves: the flags' model, else the default model of the shell's file
/// system (found as the kernel finds it at boot, after the boot packages), else, when there is
/// none at all, the built-in one. A default model that is there but broken is reported with the
/// kernel's line and the shell starts without a model, as the kernel does.
pub fn for_shell(args: &LlmArgs, vfs: &dyn Vfs) -> Result<Option<Arc<LlmService>>, Error> {
    if let Some(service) = from_flags(args)? {
        return Ok(Some(Arc::new(service)));
    }
    match kernel_wasm::llm::boot::load_default(vfs, LlmLimits::default()) {
        Ok(Some(service)) => Ok(Some(Arc::new(service))),
        Ok(None) => Ok(Some(Arc::new(built_in()?))),
        Err(error) => {
            // The line the kernel prints on its console for the same file system.
            println!(
                "[boot] {} (no model loaded)",
                crate::run::one_line(&error.to_string())
            );
            Ok(None)
        }
    }
}
