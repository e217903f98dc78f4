//! `cargo xtask ci`: everything CI checks, in order, with a progress line per step. Installs what
//! it needs (rustup targets and components) idempotently.

use anyhow::Result;
use xshell::{cmd, Shell};

use crate::{step, tools};

pub fn run(sh: &Shell, args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        anyhow::bail!("ci takes no arguments, got {arg:?}");
    }
    step("installing tools (idempotent)");
    tools::rustup_components(sh, &["rustfmt", "clippy"])?;
    tools::rustup_targets(sh, &["aarch64-unknown-none"])?;

    step("cargo fmt --check");
    cmd!(sh, "cargo fmt --all -- --check").run()?;

    step("cargo clippy -D warnings");
    cmd!(sh, "cargo clippy --workspace --all-targets -- -D warnings").run()?;

    step("host tests");
    cmd!(sh, "cargo test --workspace").run()?;

    step("no_std build of kernel-wasm for aarch64-unknown-none");
    cmd!(
        sh,
        "cargo build -p kernel-wasm --no-default-features --target aarch64-unknown-none"
    )
    .run()?;

    step("ci: all steps passed");
    Ok(())
}
