//! Verifying a package: archive, key, signature, statement, digests, manifest — in that order,
//! and over the byte slices that are afterwards installed or run (nothing is read twice).
//!
//! 1. [`Archive::read`] checks the archive is canonical and splits it into borrowed entries.
//! 2. The `signature` entry names a key id: a revoked key is refused, a key not in the trust
//!    store is refused unless unsigned packages are allowed; then the Ed25519 signature over
//!    SHA-256 of the statement must verify (minisign's order: key id before cryptography).
//! 3. The statement must list exactly the archive's entries, each with its size and SHA-256,
//!    and the manifest's name and version.
//! 4. The manifest must parse and must not map host directories (`preopens`).

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::archive::Archive;
use super::pack::check_manifest;
use super::signature::{KeyId, PublicKey, SignatureBlock};
use super::statement::Statement;
use super::trust::TrustStore;
use super::{hex, sha256, PackageError, Result};
use crate::manifest::Manifest;

/// Who vouches for a verified package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// Signed by this trusted key.
    Trusted(Box<PublicKey>),
    /// Accepted without a trusted signature (`--allow-unsigned`): signed by an unknown key, or
    /// not signed.
    Unverified { key: Option<KeyId> },
}

impl Signer {
    pub fn key(&self) -> Option<KeyId> {
        match self {
            Signer::Trusted(key) => Some(key.id),
            Signer::Unverified { key } => *key,
        }
    }
}

/// A package that passed verification: its entries (borrowed from the bytes that were checked),
/// its parsed manifest and who signed it.
#[derive(Debug, Clone)]
pub struct Verified<'a> {
    pub archive: Archive<'a>,
    pub manifest: Manifest,
    pub signer: Signer,
    /// The statement, when the package is signed.
    pub statement: Option<Statement>,
    /// Warnings to print (one line each): what `--allow-unsigned` let through.
    pub warnings: Vec<String>,
}

impl Verified<'_> {
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// Bytes of all entries but the signature (what `pkg-list` shows as the size).
    pub fn content_size(&self) -> u64 {
        self.archive.files().map(|(_, d)| d.len() as u64).sum()
    }
}

/// Verifies the `.wap` bytes against `trust`. With `allow_unsigned`, a package without a
/// signature or signed by an unknown key is accepted with a warning; a revoked key, a signature
/// that does not verify, or entries that differ from the signed statement are refused always.
pub fn verify<'a>(
    bytes: &'a [u8],
    trust: &TrustStore,
    allow_unsigned: bool,
) -> Result<Verified<'a>> {
    let archive = Archive::read(bytes)?;
    let mut warnings = Vec::new();
    let mut statement = None;
    let signer = match archive.signature {
        None => {
            if !allow_unsigned {
                return Err(PackageError::Unsigned);
            }
            warnings
                .push("the package is not signed; installed because of --allow-unsigned".into());
            Signer::Unverified { key: None }
        }
        Some(entry) => {
            let block = SignatureBlock::parse(entry)
                .map_err(|reason| PackageError::Signature { reason })?;
            if trust.is_revoked(block.key) {
                return Err(PackageError::Revoked { key: block.key });
            }
            let signer = match trust.key(block.key) {
                Some(key) => {
                    if !key.verify(&sha256(block.statement), &block.signature) {
                        return Err(PackageError::BadSignature {
                            key: block.key,
                            name: key.name.clone(),
                        });
                    }
                    Signer::Trusted(Box::new(key.clone()))
                }
                None if allow_unsigned => {
                    warnings.push(format!(
                        "key {} is not in the trust store; the signature is not checked (--allow-unsigned)",
                        block.key
                    ));
                    Signer::Unverified {
                        key: Some(block.key),
                    }
                }
                None => return Err(PackageError::UnknownKey { key: block.key }),
            };
            let parsed = Statement::parse(block.statement)
                .map_err(|reason| PackageError::Signature { reason })?;
            if parsed.key != block.key {
                return Err(PackageError::Signature {
                    reason: format!(
                        "the statement names key {} but the signature is by {}",
                        parsed.key, block.key
                    ),
                });
            }
            check_digests(&archive, &parsed)?;
            statement = Some(parsed);
            signer
        }
    };
    let manifest = check_manifest(archive.manifest)?;
    if let Some(statement) = &statement {
        let version = manifest.version.to_string();
        if statement.name != manifest.name || statement.version != version {
            return Err(PackageError::Signature {
                reason: format!(
                    "the statement is for {} {} but the manifest says {} {version}",
                    super::printable(&statement.name),
                    super::printable(&statement.version),
                    manifest.name
                ),
            });
        }
    }
    Ok(Verified {
        archive,
        manifest,
        signer,
        statement,
        warnings,
    })
}

/// Checks the archive's entries against the statement, one to one, in order.
pub fn check_digests(archive: &Archive<'_>, statement: &Statement) -> Result<()> {
    let mut signed = statement.files.iter();
    for (name, data) in archive.files() {
        let Some(file) = signed.next() else {
            return Err(PackageError::Digest {
                file: name.to_string(),
                reason: "not covered by the signature".into(),
            });
        };
        if file.name != name {
            return Err(PackageError::Digest {
                file: name.to_string(),
                reason: format!("not covered by the signature (it lists {} here)", file.name),
            });
        }
        check_file(name, data, file.size, &file.sha256)?;
    }
    if let Some(file) = signed.next() {
        return Err(PackageError::Digest {
            file: file.name.clone(),
            reason: "signed but missing from the package".into(),
        });
    }
    Ok(())
}

/// Checks one file's size and SHA-256 against the signed ones.
pub fn check_file(name: &str, data: &[u8], size: u64, digest: &[u8; 32]) -> Result<()> {
    if data.len() as u64 != size {
        return Err(PackageError::Digest {
            file: name.to_string(),
            reason: format!("{} bytes, the signature says {size}", data.len()),
        });
    }
    let actual = sha256(data);
    if &actual != digest {
        return Err(PackageError::Digest {
            file: name.to_string(),
            reason: format!(
                "SHA-256 {} differs from the signed {}",
                &hex(&actual)[..16],
                &hex(digest)[..16]
            ),
        });
    }
    Ok(())
}
