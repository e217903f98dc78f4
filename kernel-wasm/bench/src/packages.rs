//! Group `packages`: verify + install of a signed package against the least any verifier must do
//! with the same bytes (SHA-256 over all of them and one Ed25519 check), on the host here and in
//! the kernel (the kernel's `bench-pkg` shell command, read back by [`crate::kernel`]).
//!
//! The package is the Go runtime test program (`packages/go-hello`, ~2.8 MB), which `cargo xtask
//! bench` builds and signs with the development key into `<out>/wasm/go-hello.wap`. Both figures
//! run the code of `kernel_wasm::shell::bench_pkg`, which the kernel runs too.

use anyhow::{anyhow, Result};
use kernel_wasm::package::TrustStore;
use kernel_wasm::shell::bench_pkg::{direct, verify_install, CASE};
use kernel_wasm::Runtime;

use crate::measure::{interleaved, Runner};
use crate::{Opts, Results};

/// The development public key the package is signed with (the kernel's default trust root).
const TRUST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../packages/keys/development.pub"
);

pub fn run(opts: &Opts, results: &mut Results) -> Result<()> {
    let dir = opts.wasm_dir();
    if let Ok(reason) = std::fs::read_to_string(dir.join("go-hello.wap.unavailable")) {
        results.note("packages", format!("not measured: {}", reason.trim()));
        return Ok(());
    }
    let path = dir.join("go-hello.wap");
    let Ok(wap) = std::fs::read(&path) else {
        results.note(
            "packages",
            format!(
                "not measured: no {} (`cargo xtask bench` builds it)",
                path.display()
            ),
        );
        return Ok(());
    };
    let mut trust = TrustStore::new();
    trust
        .add_key_file(&std::fs::read(TRUST)?)
        .map_err(|e| anyhow!("{TRUST}: {e}"))?;
    let wap: &'static [u8] = Box::leak(wap.into_boxed_slice());
    let trust: &'static TrustStore = Box::leak(Box::new(trust));
    let runtime: &'static Runtime = Box::leak(Box::new(Runtime::default()));
    let mut runners: Vec<(&'static str, Runner)> = vec![
        (
            "kernel-wasm",
            Box::new(move || {
                verify_install(wap, trust, runtime)
                    .map(|bytes| u32::from(bytes > 0))
                    .map_err(|e| anyhow!("{e}"))
            }),
        ),
        (
            "direct",
            Box::new(move || {
                direct(wap, trust)
                    .map(u32::from)
                    .map_err(|e| anyhow!("{e}"))
            }),
        ),
    ];
    // A few milliseconds per figure on the host, where a shared machine's noise is of the same
    // order: many more repetitions than the other groups (the median is reported).
    let runs = if opts.quick { 21 } else { 51 };
    let figures = interleaved(runs, &mut runners)?;
    for ((runtime, _), (ms, ok)) in runners.iter().zip(&figures) {
        anyhow::ensure!(*ok == 1, "{runtime}: the package did not verify");
        results.row("packages", CASE, runtime, *ms, "ms");
    }
    results.note(
        "packages",
        format!(
            "`{CASE}`: the {}-byte signed Go package (packages/go-hello); kernel-wasm = verify (archive, key, signature, SHA-256 of every entry, manifest) + install (import pre-flight, files into a fresh MemFs, one rename); direct = SHA-256 of all its bytes + one Ed25519 verify",
            wap.len()
        ),
    );
    Ok(())
}
