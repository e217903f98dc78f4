//! `cargo xtask ci`: everything CI checks, in order, with a progress line per step. Installs what
//! it needs (rustup targets and components) idempotently.

use anyhow::Result;
use xshell::{cmd, Shell};

use crate::{coverage, step, tools};

pub fn run(sh: &Shell, args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        anyhow::bail!("ci takes no arguments, got {arg:?}");
    }
    step("installing tools (idempotent)");
    tools::rustup_components(sh, &["rustfmt", "clippy"])?;
    tools::rustup_targets(sh, &["aarch64-unknown-none"])?;
    coverage::ensure_installed(sh)?;

    step("cargo fmt --check");
    cmd!(sh, "cargo fmt --all -- --check").run()?;

    step("cargo clippy -D warnings");
    cmd!(sh, "cargo clippy --workspace --all-targets -- -D warnings").run()?;

    // The library's API docs are read by embedders: no broken or private links. (kwasm's doc
    // comments are its --help text, written for a terminal, so they stay out of this check.)
    step("cargo doc -D warnings (kernel-wasm)");
    cmd!(sh, "cargo doc -p kernel-wasm --no-deps")
        .env("RUSTDOCFLAGS", "-D warnings")
        .run()?;

    step("building the WASI test programs (C and Rust)");
    crate::wasi_programs::build(sh)?;

    step("guest SDKs and templates: lint, then build each from a copy outside the repository");
    crate::guests::lint(sh)?;
    crate::guests::build(sh)?;

    // The signed packages the kernel boots with (and the QEMU tests install), the guest
    // templates among them.
    step("building and signing the packages (cargo xtask packages)");
    crate::packages::build(sh)?;

    // kernel-wasm's and kwasm's host tests run once, instrumented by cargo-llvm-cov: every one
    // of them runs and must pass, and kernel-wasm's line coverage must reach the seed's 90 %.
    // (Running them plainly as well would only add a second build and run of the same tests.)
    step(&format!(
        "host tests of kernel-wasm and kwasm under cargo-llvm-cov (fails under {}% of kernel-wasm's lines)",
        coverage::MIN_LINES
    ));
    coverage::measure(sh, coverage::MIN_LINES, coverage::Guests::Built)?;

    step("host tests of the other packages (xtask, integration: QEMU), kernel-wasm's doc tests");
    // Snapshots are reviewed and committed, never written by CI (insta's default when `CI` is
    // set; explicit here so a local `cargo xtask ci` behaves the same).
    cmd!(
        sh,
        "cargo test --workspace --exclude kernel-wasm --exclude kwasm"
    )
    .env("INSTA_UPDATE", "no")
    // The WASI programs and guests were built above: a test must not pass by skipping them.
    .env("KWASM_REQUIRE_WASI_PROGRAMS", "1")
    .env("KWASM_REQUIRE_GUESTS", "1")
    .run()?;
    // cargo-llvm-cov runs no doc tests (that needs a nightly toolchain).
    cmd!(sh, "cargo test -p kernel-wasm --doc").run()?;

    step("no_std build of kernel-wasm for aarch64-unknown-none");
    cmd!(
        sh,
        "cargo build -p kernel-wasm --no-default-features --target aarch64-unknown-none"
    )
    .run()?;

    step("kernel (qemu/): fmt --check and clippy -D warnings for aarch64-unknown-none");
    cmd!(sh, "cargo fmt --manifest-path qemu/Cargo.toml -- --check").run()?;
    cmd!(
        sh,
        "cargo clippy --release --manifest-path qemu/Cargo.toml --target aarch64-unknown-none --target-dir target/qemu -- -D warnings"
    )
    .run()?;

    // The bench crate is its own workspace (wasmtime stays out of the host build), so nothing
    // above compiles it: check it here, so an API change in kernel-wasm cannot break
    // `cargo xtask bench` unnoticed. (Running it is `cargo xtask bench`: timings are no test.)
    step("bench crate (kernel-wasm/bench): fmt --check and clippy -D warnings");
    cmd!(
        sh,
        "cargo fmt --manifest-path kernel-wasm/bench/Cargo.toml -p kernel-wasm-bench -p kernel-wasm-workloads -- --check"
    )
    .run()?;
    cmd!(
        sh,
        "cargo clippy --manifest-path kernel-wasm/bench/Cargo.toml --all-targets -- -D warnings"
    )
    .run()?;

    step("ci: all steps passed");
    Ok(())
}
