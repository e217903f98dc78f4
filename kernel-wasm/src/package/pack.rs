//! Making packages: packing entries into an unsigned `.wap` (`kwasm pkg build`) and signing one
//! (`kwasm pkg sign`, `cargo xtask packages`).

use alloc::string::ToString;
use alloc::vec::Vec;

use super::archive::{Archive, Asset};
use super::signature::{SecretKey, SignatureBlock};
use super::statement::Statement;
use super::{sha256, PackageError, Result};
use crate::manifest::Manifest;

/// Checks a manifest as [`verify`](super::verify()) will (it parses, maps no host directory).
pub fn check_manifest(manifest: &[u8]) -> Result<Manifest> {
    let parsed = Manifest::from_bytes(manifest).map_err(|e| PackageError::Manifest {
        reason: e.to_string(),
    })?;
    if let Some(preopen) = parsed.preopens.first() {
        return Err(PackageError::Manifest {
            reason: alloc::format!(
                "preopens maps host directory {:?}: a package may not map host directories (only the embedder does)",
                super::printable(&preopen.host)
            ),
        });
    }
    Ok(parsed)
}

/// An unsigned package of these entries. `assets` are `(name, content)` with names that start
/// with `assets/`; they are sorted here.
pub fn pack(manifest: &[u8], module: &[u8], assets: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    check_manifest(manifest)?;
    let mut assets: Vec<Asset<'_>> = assets
        .iter()
        .map(|&(name, data)| Asset { name, data })
        .collect();
    assets.sort_by(|a, b| a.name.cmp(b.name));
    Archive {
        manifest,
        module,
        assets,
        signature: None,
    }
    .write()
}

/// The package `wap` signed by `key` (a signature it already has is replaced).
pub fn sign(wap: &[u8], key: &SecretKey) -> Result<Vec<u8>> {
    let archive = Archive::read(wap)?;
    let manifest = check_manifest(archive.manifest)?;
    let statement = Statement::of(
        &archive,
        &manifest.name,
        &manifest.version.to_string(),
        key.id,
    )
    .encode();
    let signature = key.sign(&sha256(statement.as_bytes()));
    let entry = SignatureBlock::encode(key.id, &signature, statement.as_bytes());
    Archive {
        signature: Some(&entry),
        ..archive
    }
    .write()
}
