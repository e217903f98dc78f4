//! Finding and loading the default model at boot, the same on both hosts: the kernel calls
//! [`load_default`] once its file system is filled from the initrd and its boot packages are
//! installed, and `kwasm shell` once its `--dir` copies and `--packages` are in, so both shells
//! start with the same model.
//!
//! Where a model is found, in this order (the first one found is the default):
//!
//! 1. a **model directory** `MODEL_DIR/NAME/` holding [`CHECKPOINT_FILE`] (a llama2.c
//!    checkpoint) and [`TOKENIZER_FILE`] (its `tokenizer.bin`), in name order: what the embedder
//!    mapped there (`--dir MODELS::/llm`) overrides what is installed;
//! 2. a **model package**: an installed package (under [`DEFAULT_ROOT`], in name order) whose
//!    assets include [`MODEL_ASSET`] and [`TOKENIZER_ASSET`]. Its files are read through the
//!    package manager, so their sizes and SHA-256 are checked against the package's signature
//!    (with the key recorded when it was installed) before the engine sees them.
//!
//! NAME (the directory's or the package's) is the model's name.

use alloc::format;
use alloc::string::String;

use super::service::{LlmLimits, LlmService, MAX_CHECKPOINT_BYTES, MAX_TOKENIZER_BYTES};
use crate::error::Error;
use crate::package::{Manager, DEFAULT_ROOT};
use crate::vfs::{path, NodeKind, Vfs, VfsError};

/// Where model directories are looked for.
pub const MODEL_DIR: &str = "/llm";
/// The checkpoint in a model's directory.
pub const CHECKPOINT_FILE: &str = "model.bin";
/// The tokenizer in a model's directory.
pub const TOKENIZER_FILE: &str = "tokenizer.bin";
/// The checkpoint among a model package's entries.
pub const MODEL_ASSET: &str = "assets/model.bin";
/// The tokenizer among a model package's entries.
pub const TOKENIZER_ASSET: &str = "assets/tokenizer.bin";

/// Loads the default model of `vfs` (see the module documentation). `Ok(None)` when there is
/// none; an error ([`Error::Llm`]) names the files (or the package) of a model that is there but
/// cannot be loaded. The hosts print it as `[boot] ERROR (no model loaded)`.
pub fn load_default(vfs: &dyn Vfs, limits: LlmLimits) -> Result<Option<LlmService>, Error> {
    match from_model_dir(vfs, limits)? {
        Some(service) => Ok(Some(service)),
        None => from_packages(vfs, limits),
    }
}

fn from_model_dir(vfs: &dyn Vfs, limits: LlmLimits) -> Result<Option<LlmService>, Error> {
    let root = vfs.root();
    let dir = match path::resolve(vfs, root, root, MODEL_DIR, path::Absolute::FromRoot, true) {
        Ok(dir) => dir,
        Err(VfsError::NotFound) => return Ok(None),
        Err(error) => return Err(fs_error(MODEL_DIR, error)),
    };
    let entries = vfs
        .read_dir(dir)
        .map_err(|error| fs_error(MODEL_DIR, error))?;
    for entry in entries {
        if entry.kind != NodeKind::Dir {
            continue;
        }
        let checkpoint = format!("{MODEL_DIR}/{}/{CHECKPOINT_FILE}", entry.name);
        let tokenizer = format!("{MODEL_DIR}/{}/{TOKENIZER_FILE}", entry.name);
        let is_file = |p: &str| {
            path::resolve(vfs, root, root, p, path::Absolute::FromRoot, true)
                .and_then(|node| vfs.stat(node))
                .is_ok_and(|meta| meta.kind == NodeKind::File)
        };
        if is_file(&checkpoint) && is_file(&tokenizer) {
            return LlmService::from_vfs(&entry.name, vfs, &checkpoint, &tokenizer, limits)
                .map(Some)
                .map_err(|error| match error {
                    Error::Fs { path, error } => fs_error(&path, error),
                    other => other,
                });
        }
    }
    Ok(None)
}

fn from_packages(vfs: &dyn Vfs, limits: LlmLimits) -> Result<Option<LlmService>, Error> {
    let manager = Manager::new(vfs, DEFAULT_ROOT);
    // No package root, or one that cannot be listed: no model package (`pkg-list` reports why).
    let Ok(names) = manager.names() else {
        return Ok(None);
    };
    for name in names {
        // A package whose installed files cannot be described is no model (`pkg-list` shows
        // why); one that lists both assets is, and from then on every failure is reported.
        let Ok(info) = manager.info(&name) else {
            continue;
        };
        let size = |asset: &str| {
            info.files
                .iter()
                .find(|(file, _)| file == asset)
                .map(|(_, size)| *size)
        };
        let (Some(model_size), Some(tokenizer_size)) = (size(MODEL_ASSET), size(TOKENIZER_ASSET))
        else {
            continue;
        };
        let fail = |message: String| Error::Llm {
            message: format!("package {name}: {message}"),
        };
        // Sizes first: nothing larger than the engine accepts is read.
        for (asset, size, max) in [
            (MODEL_ASSET, model_size, MAX_CHECKPOINT_BYTES),
            (TOKENIZER_ASSET, tokenizer_size, MAX_TOKENIZER_BYTES),
        ] {
            if size > max {
                return Err(fail(format!("{asset}: larger than {max} bytes")));
            }
        }
        let read = |asset: &str| {
            manager
                .read_asset(&name, asset, None)
                .map_err(|e| fail(format!("{e}")))
        };
        let checkpoint = read(MODEL_ASSET)?;
        let tokenizer = read(TOKENIZER_ASSET)?;
        return LlmService::from_bytes(&name, &checkpoint, &tokenizer, limits)
            .map(Some)
            .map_err(|e| fail(format!("{MODEL_ASSET}, {TOKENIZER_ASSET}: {e}")));
    }
    Ok(None)
}

fn fs_error(path: &str, error: VfsError) -> Error {
    Error::Llm {
        message: format!("{path}: {error}"),
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::vfs::{mkdir_all, write_file, MemFs};
    use alloc::string::ToString;

    #[test]
    fn no_model_directory_is_no_model_and_a_bad_model_is_named() {
        let fs = MemFs::new(1 << 20, 1 << 10);
        assert!(matches!(load_default(&fs, LlmLimits::default()), Ok(None)));
        mkdir_all(&fs, "/llm/empty").unwrap();
        write_file(&fs, "/llm/stray.bin", b"x").unwrap();
        assert!(matches!(load_default(&fs, LlmLimits::default()), Ok(None)));
        write_file(&fs, "/llm/tiny/model.bin", b"too short").unwrap();
        write_file(&fs, "/llm/tiny/tokenizer.bin", b"").unwrap();
        let Err(err) = load_default(&fs, LlmLimits::default()) else {
            panic!("a truncated checkpoint loads");
        };
        assert_eq!(
            err.to_string(),
            "llm: /llm/tiny/model.bin, /llm/tiny/tokenizer.bin: checkpoint truncated"
        );
    }
}
