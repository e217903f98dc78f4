//! Builds the WASI test programs of kernel-wasm (`kernel-wasm/tests/wasi-programs/{c,rust}`) into
//! `target/wasi-programs/{c,rust}/*.wasm`, which `kernel-wasm/kwasm/tests/wasi_programs.rs` runs
//! through `kwasm run`.
//!
//! Installs what it needs, idempotently: the `wasm32-wasip1` Rust target, and (Debian) clang, lld,
//! wasi-libc and the wasm32 compiler-rt builtins. C is compiled with clang 14's `--target=wasm32-wasi`
//! (no `--sysroot`: Debian's wasi-libc is where clang looks). clang runs `wasm-opt` after linking
//! whenever one is on PATH and the link is optimized; to keep the output independent of what is
//! installed, compiling is `-O2` and linking a separate `-O0` step, which never invokes it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

const APT_PACKAGES: [&str; 4] = ["clang", "lld", "wasi-libc", "libclang-rt-dev-wasm32"];

fn c_toolchain_present() -> bool {
    let on_path = |tool: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
    };
    on_path("clang")
        && on_path("wasm-ld")
        && Path::new("/usr/lib/wasm32-wasi/libc.a").is_file()
        && Path::new("/usr/include/wasm32-wasi/stdio.h").is_file()
}

fn ensure_c_toolchain(sh: &Shell) -> Result<()> {
    if c_toolchain_present() {
        return Ok(());
    }
    crate::tools::apt_install(sh, &APT_PACKAGES)
        .context("installing the C toolchain for wasm32-wasi (needs root and apt)")?;
    if !c_toolchain_present() {
        bail!("clang, wasm-ld or wasi-libc still missing after apt-get install");
    }
    Ok(())
}

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
    ensure_c_toolchain(sh)?;
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
    Ok(out)
}
