//! Installing the packages a host was started with: the kernel's initrd puts them in
//! [`BOOT_DIR`](super::BOOT_DIR), `kwasm shell --packages DIR` copies them there, and both call
//! [`install_dir`], so both print the same lines.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::manager::{InstallOptions, Manager};
use super::trust::TrustStore;
use super::verify::{verify, Signer};
use super::{printable, MAX_PACKAGE_BYTES};
use crate::runtime::Runtime;
use crate::vfs::{self, path, NodeKind, Vfs, VfsError};

/// Installs every `*.wap` file of directory `dir` (in name order) through `manager`, each
/// verified against `trust`. A package refused (tampered, untrusted, already installed ...) is
/// reported and skipped; the others install. Returns one line per package, to print as is:
///
/// ```text
/// [boot] pkg: hello 1.0.0 installed (key 8c2f9e41d0a3b7c6 development)
/// [boot] pkg: /boot/packages/evil.wap refused: module.wasm: SHA-256 ... differs from the signed ...
/// ```
///
/// A missing `dir` is no packages, not an error.
pub fn install_dir(
    vfs: &dyn Vfs,
    dir: &str,
    manager: &Manager<'_>,
    runtime: &Runtime,
    trust: &TrustStore,
    allow_unsigned: bool,
) -> Vec<String> {
    let top = vfs.root();
    let node = match path::resolve(vfs, top, top, dir, path::Absolute::FromRoot, true) {
        Ok(node) => node,
        Err(VfsError::NotFound) => return Vec::new(),
        Err(e) => return alloc::vec![format!("[boot] pkg: {dir}: {e}")],
    };
    let entries = match vfs.read_dir(node) {
        Ok(entries) => entries,
        Err(e) => return alloc::vec![format!("[boot] pkg: {dir}: {e}")],
    };
    let mut names: Vec<String> = entries
        .into_iter()
        .filter(|e| e.kind == NodeKind::File && e.name.ends_with(".wap"))
        .map(|e| e.name)
        .collect();
    names.sort();
    let mut lines = Vec::new();
    for name in names {
        let file = format!("{}/{name}", dir.trim_end_matches('/'));
        match install_file(vfs, &file, manager, runtime, trust, allow_unsigned) {
            Ok(mut report) => lines.append(&mut report),
            Err(reason) => lines.push(format!(
                "[boot] pkg: {} refused: {reason}",
                printable(&file)
            )),
        }
    }
    lines
}

fn install_file(
    vfs: &dyn Vfs,
    file: &str,
    manager: &Manager<'_>,
    runtime: &Runtime,
    trust: &TrustStore,
    allow_unsigned: bool,
) -> Result<Vec<String>, String> {
    let bytes = vfs::read_file(vfs, file, MAX_PACKAGE_BYTES as u64).map_err(|e| match e {
        VfsError::NoSpace => format!("larger than {MAX_PACKAGE_BYTES} bytes"),
        other => other.to_string(),
    })?;
    let package = verify(&bytes, trust, allow_unsigned).map_err(|e| e.to_string())?;
    let mut lines: Vec<String> = package
        .warnings
        .iter()
        .map(|w| format!("[boot] pkg: warning: {}: {w}", printable(file)))
        .collect();
    let installed = manager
        .install(&package, runtime, InstallOptions::default())
        .map_err(|e| e.to_string())?;
    let signer = match &package.signer {
        Signer::Trusted(key) => format!("key {} {}", key.id, key.name),
        Signer::Unverified { key: Some(key) } => format!("key {key}, not trusted"),
        Signer::Unverified { key: None } => "unsigned".to_string(),
    };
    lines.push(format!(
        "[boot] pkg: {} {} installed ({signer})",
        installed.name, installed.version
    ));
    Ok(lines)
}
