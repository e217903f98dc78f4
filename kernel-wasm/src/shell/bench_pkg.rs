//! `bench-pkg [--quick] PATH`: the package benchmark, in the shell so the kernel runs it too.
//!
//! Two figures for the signed package at PATH (`cargo xtask bench` uses the ~2.8 MB Go package):
//! - `kernel-wasm`: what `pkg-install` does — [`verify()`] (archive, key, signature, the SHA-256 of
//!   every entry, manifest) and [`Manager::install`] (the runtime's import pre-flight, then the
//!   files written into a fresh in-memory file system and committed);
//! - `direct`: the least any verifier must do with the same bytes — SHA-256 over all of them and one
//!   Ed25519 signature check (the package's own signature over its statement's digest).
//!
//! The rows are those of the host bench's `results.json` (group `packages`, milliseconds, the median
//! of the timed repetitions); the host bench (`kernel-wasm/bench/src/packages.rs`) calls the same
//! two functions, so host and kernel figures measure the same code.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::bench_cmd::json_row;
use super::commands::{read_bounded, usage};
use super::{Shell, ShellStatus};
use crate::error::{Error, Result};
use crate::package::signature::SignatureBlock;
use crate::package::{
    verify, Archive, InstallOptions, Manager, TrustStore, DEFAULT_ROOT, MAX_PACKAGE_BYTES,
};
use crate::runtime::Runtime;
use crate::vfs::MemFs;

/// The case name of a package benchmark row.
pub const CASE: &str = "verify_install";

/// `pkg-install`'s work on `wap`, into a fresh in-memory file system; returns the bytes installed.
pub fn verify_install(wap: &[u8], trust: &TrustStore, runtime: &Runtime) -> Result<u64> {
    let fail = |error| Error::Package {
        package: String::from("(bench)"),
        error,
    };
    let package = verify(wap, trust, false).map_err(fail)?;
    let fs = MemFs::new(2 * MAX_PACKAGE_BYTES as u64, 4096);
    Manager::new(&fs, DEFAULT_ROOT)
        .install(&package, runtime, InstallOptions::default())
        .map_err(fail)?;
    Ok(fs.bytes_used())
}

/// SHA-256 of all of `wap` and one Ed25519 check of its signature; returns whether it verified.
pub fn direct(wap: &[u8], trust: &TrustStore) -> Result<bool> {
    let archive = Archive::read(wap).map_err(|error| Error::Package {
        package: String::from("(bench)"),
        error,
    })?;
    let block = archive
        .signature
        .and_then(|s| SignatureBlock::parse(s).ok())
        .ok_or_else(|| Error::Config {
            what: String::from("bench-pkg"),
            message: String::from("the package is not signed"),
        })?;
    let key = trust.key(block.key).ok_or_else(|| Error::Config {
        what: String::from("bench-pkg"),
        message: format!("key {} is not trusted", block.key),
    })?;
    let all = crate::package::sha256(wap);
    let statement = crate::package::sha256(block.statement);
    // Both digests feed the result, so neither can be optimized away.
    Ok(key.verify(&statement, &block.signature) && all != [0; 32])
}

pub(super) fn bench_pkg(shell: &mut Shell, args: &[&str]) -> Result<ShellStatus> {
    let (quick, path) = match args {
        ["--quick", path] => (true, *path),
        [path] if !path.starts_with("--") => (false, *path),
        _ => return Err(usage("bench-pkg")),
    };
    let wap = read_bounded(shell, "bench-pkg", path, MAX_PACKAGE_BYTES as u64)?;
    let trust = shell.packages.trust.clone();
    let runtime = Runtime::default();
    let verified = || -> Result<()> {
        if direct(&wap, &trust)? {
            Ok(())
        } else {
            Err(Error::Config {
                what: String::from("bench-pkg"),
                message: String::from("the signature does not verify"),
            })
        }
    };
    // One untimed warm-up of each, then timed repetitions taking turns, so drift in the machine's
    // load hits both alike.
    verify_install(&wap, &trust, &runtime)?;
    verified()?;
    let clock = shell.platform().clock.clone();
    let runs = if quick { 11 } else { 21 };
    let mut install = Vec::with_capacity(runs);
    let mut baseline = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = clock.monotonic_ns();
        verify_install(&wap, &trust, &runtime)?;
        let middle = clock.monotonic_ns();
        verified()?;
        let end = clock.monotonic_ns();
        install.push(middle.saturating_sub(start) as f64 / 1e6);
        baseline.push(end.saturating_sub(middle) as f64 / 1e6);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut out = json_row("packages", CASE, "kernel-wasm", median(&mut install), "ms");
    out.push_str(&json_row(
        "packages",
        CASE,
        "direct",
        median(&mut baseline),
        "ms",
    ));
    shell.print(&out);
    Ok(ShellStatus::Continue)
}
