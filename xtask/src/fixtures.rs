//! Compiles the WAT fixtures of kernel-wasm to binary modules in target/fixtures, for the shell
//! (which loads binaries only, as the kernel does) and the demo. Subdirectories with WAT files
//! keep their place: `fixtures/agents/ping.wat` becomes `target/fixtures/agents/ping.wasm`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::Shell;

pub fn build(sh: &Shell) -> Result<PathBuf> {
    let root = crate::project_root();
    let src = root.join("kernel-wasm/tests/fixtures");
    let out = root.join("target/fixtures");
    compile_dir(sh, &src, &out)?;
    Ok(out)
}

/// Compiles every `.wat` in `src` into `out`, and recurses into subdirectories that hold any.
fn compile_dir(sh: &Shell, src: &Path, out: &Path) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(src)
        .with_context(|| format!("reading {}", src.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        let name = path.file_name().context("fixture without a name")?;
        if path.is_dir() {
            compile_dir(sh, &path, &out.join(name))?;
        } else if path.extension().is_some_and(|e| e == "wat") {
            let wasm =
                wat::parse_file(&path).with_context(|| format!("compiling {}", path.display()))?;
            sh.create_dir(out)?;
            std::fs::write(out.join(name).with_extension("wasm"), wasm)?;
        }
    }
    Ok(())
}
