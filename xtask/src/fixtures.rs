//! Compiles the WAT fixtures of kernel-wasm to binary modules in target/fixtures, for the shell
//! (which loads binaries only, as the kernel does) and the demo.

use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::Shell;

pub fn build(sh: &Shell) -> Result<PathBuf> {
    let root = crate::project_root();
    let src = root.join("kernel-wasm/tests/fixtures");
    let out = root.join("target/fixtures");
    sh.create_dir(&out)?;
    for entry in std::fs::read_dir(&src).with_context(|| format!("reading {}", src.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wat") {
            let wasm =
                wat::parse_file(&path).with_context(|| format!("compiling {}", path.display()))?;
            let name = path.with_extension("wasm");
            let name = name.file_name().context("fixture without a name")?;
            std::fs::write(out.join(name), wasm)?;
        }
    }
    Ok(out)
}
