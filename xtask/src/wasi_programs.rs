//! Builds the WASI test programs of kernel-wasm (`kernel-wasm/tests/wasi-programs/{c,rust,go}`)
//! into `target/wasi-programs/{c,rust,go}/*.wasm`, and the networking examples (`guests/net/*.rs`)
//! into `target/wasi-programs/net/*.wasm`, which `kernel-wasm/kwasm/tests/wasi_programs.rs`
//! runs through `kwasm run` (and `integration/tests/qemu.rs` in the kernel).
//!
//! Installs what it needs, idempotently: the `wasm32-wasip1` Rust target, the C toolchain for
//! wasm32-wasi (`tools::ensure_wasi_c_toolchain`) and Go (`tools::ensure_go`, from PyPI). clang runs `wasm-opt` after linking
//! whenever one is on PATH and the link is optimized; to keep the output independent of what is
//! installed, compiling is `-O2` and linking a separate `-O0` step, which never invokes it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

/// The sources with extension `ext` under `dir`, sorted.
fn sources(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn stem(path: &Path) -> Result<String> {
    Ok(path
        .file_stem()
        .context("source without a name")?
        .to_string_lossy()
        .into_owned())
}

/// Builds every program; returns `target/wasi-programs`.
pub fn build(sh: &Shell) -> Result<PathBuf> {
    let root = crate::project_root();
    let src = root.join("kernel-wasm/tests/wasi-programs");
    let out = root.join("target/wasi-programs");
    crate::tools::rustup_targets(sh, &["wasm32-wasip1"])?;
    crate::tools::ensure_wasi_c_toolchain(sh)?;
    sh.create_dir(out.join("c"))?;
    sh.create_dir(out.join("rust"))?;
    for c in sources(&src.join("c"), "c")? {
        let name = stem(&c)?;
        crate::step(&format!("clang wasm32-wasi {name}.c"));
        let obj = out.join("c").join(format!("{name}.o"));
        let wasm = out.join("c").join(format!("{name}.wasm"));
        cmd!(
            sh,
            "clang --target=wasm32-wasi -O2 -Wall -Werror -c {c} -o {obj}"
        )
        .run()?;
        cmd!(sh, "clang --target=wasm32-wasi -O0 {obj} -o {wasm}").run()?;
    }
    sh.create_dir(out.join("go"))?;
    for go in sources(&src.join("go"), "go")? {
        let name = stem(&go)?;
        crate::step(&format!("go wasip1 {name}.go"));
        let wasm = out.join("go").join(format!("{name}.wasm"));
        crate::tools::go_build_wasip1(sh, &go, &wasm)?;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    for rs in sources(&src.join("rust"), "rs")? {
        let name = stem(&rs)?;
        crate::step(&format!("rustc wasm32-wasip1 {name}.rs"));
        let wasm = out.join("rust").join(format!("{name}.wasm"));
        cmd!(
            sh,
            "{rustc} --edition 2021 --target wasm32-wasip1 -O -D warnings {rs} -o {wasm}"
        )
        .run()?;
    }
    // The networking examples (guests/net): an HTTP server and client, run by
    // kernel-wasm/kwasm/tests/net.rs and in the kernel by integration/tests/qemu.rs.
    sh.create_dir(out.join("net"))?;
    for rs in sources(&root.join("guests/net"), "rs")? {
        let name = stem(&rs)?;
        crate::step(&format!("rustc wasm32-wasip1 guests/net/{name}.rs"));
        let wasm = out.join("net").join(format!("{name}.wasm"));
        cmd!(
            sh,
            "{rustc} --edition 2021 --target wasm32-wasip1 -O -D warnings {rs} -o {wasm}"
        )
        .run()?;
    }
    Ok(out)
}
