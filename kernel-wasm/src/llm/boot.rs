//! Finding and loading the default model at boot, the same on both hosts: the kernel calls
//! [`load_default`] once its file system is filled from the initrd, and `kwasm shell` once its
//! `--dir` copies are in, so both shells start with the same model.
//!
//! Layout: a model is a directory `MODEL_DIR/NAME/` holding [`CHECKPOINT_FILE`] (a llama2.c
//! checkpoint) and [`TOKENIZER_FILE`] (its `tokenizer.bin`); the first such directory in name
//! order is the default, and NAME is the model's name. (The model package will install the
//! same two files as its assets.)

use alloc::format;

use super::service::{LlmLimits, LlmService};
use crate::error::Error;
use crate::vfs::{path, NodeKind, Vfs, VfsError};

/// Where the default model's directory is looked for.
pub const MODEL_DIR: &str = "/llm";
/// The checkpoint in a model's directory.
pub const CHECKPOINT_FILE: &str = "model.bin";
/// The tokenizer in a model's directory.
pub const TOKENIZER_FILE: &str = "tokenizer.bin";

/// Loads the default model of `vfs` (see the module documentation). `Ok(None)` when there is
/// none; an error ([`Error::Llm`]) names the files of a model that is there but cannot be
/// loaded. The hosts print it as `[boot] ERROR (no model loaded)`.
pub fn load_default(vfs: &dyn Vfs, limits: LlmLimits) -> Result<Option<LlmService>, Error> {
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
