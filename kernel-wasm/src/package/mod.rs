//! Signed packages (`.wap`) and the package manager (format: `docs/package-format.md`).
//!
//! A package is a canonical ustar archive of `manifest.toml`, `module.wasm`, optional
//! `assets/...` and, once signed, `signature`: an Ed25519 signature over the SHA-256 of a
//! statement that names the package, its version, and the size and SHA-256 of every other entry.
//!
//! - [`archive`] reads (on top of `tar-no-std`) and writes the archive, refusing anything that
//!   is not byte for byte what [`Archive::write`] produces;
//! - [`pack`] builds and signs packages;
//! - [`statement`] the signed statement; [`signature`] keys, key ids and the `signature` entry;
//! - [`trust`] the trust store (public keys and revoked key ids);
//! - [`mod@verify`] checks a package against a trust store and hands out the very byte slices it
//!   checked, which are what the [`manager`] installs: nothing is parsed twice;
//! - [`manager`] installs, upgrades, uninstalls, lists and loads packages under a directory of a
//!   [`Vfs`](crate::Vfs) (`/pkg` in the shell), each change committed by one rename;
//! - [`report`] the text of `pkg-list` and `pkg-info` (both hosts);
//! - [`boot`] installs every package of a directory at boot (both hosts).
//!
//! Every input here is hostile: the reader and verifier are bounded by the limits below, never
//! panic, and each refusal is a [`PackageError`] whose text names what failed.

pub mod archive;
pub mod boot;
pub mod manager;
pub mod pack;
pub mod report;
pub mod signature;
pub mod statement;
pub mod trust;
pub mod verify;

#[cfg(all(test, feature = "std"))]
mod tests;

use alloc::string::String;
use core::fmt;

use crate::vfs::VfsError;

pub use archive::Archive;
pub use manager::{InstallOptions, Installed, LoadedPackage, Manager, PackageInfo};
pub use signature::{KeyId, PublicKey, SecretKey};
pub use statement::Statement;
pub use trust::TrustStore;
pub use verify::{verify, Signer, Verified};

/// The largest `.wap` file read, in bytes.
pub const MAX_PACKAGE_BYTES: usize = 128 << 20;
/// The largest `module.wasm`, in bytes (the shell's `wasm-run` takes the same).
pub const MAX_MODULE_BYTES: usize = 64 << 20;
/// The largest `signature` entry (statement included), in bytes.
pub const MAX_SIGNATURE_BYTES: usize = 64 << 10;
/// The most `assets/...` entries of one package.
pub const MAX_ASSETS: usize = 256;
/// The longest entry name, in bytes (ustar's name field, always NUL-terminated).
pub const MAX_ENTRY_NAME: usize = 99;
/// Where the shell (both hosts) installs packages.
pub const DEFAULT_ROOT: &str = "/pkg";
/// Where the kernel finds the packages of its initrd at boot (and `kwasm shell --packages` puts
/// them).
pub const BOOT_DIR: &str = "/boot/packages";

/// Why a package was refused or a package operation failed. The text of each variant is one
/// line that names what failed: which entry, which file's digest, which key, which limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageError {
    /// The archive is not a canonical `.wap` (truncated, trailing bytes, a link, a traversal
    /// name, a duplicate, an unknown entry, a header field that is not the canonical one ...).
    Malformed {
        reason: String,
    },
    /// Something is larger than a documented limit.
    Limit {
        what: String,
        size: u64,
        limit: u64,
    },
    /// `manifest.toml` is invalid, or asks for what a package may not (host directories).
    Manifest {
        reason: String,
    },
    /// The package has no `signature` entry and unsigned packages are not allowed.
    Unsigned,
    /// The signing key is not in the trust store.
    UnknownKey {
        key: KeyId,
    },
    /// The signing key is revoked.
    Revoked {
        key: KeyId,
    },
    /// The signature does not verify with the trusted key: the statement or signature changed.
    BadSignature {
        key: KeyId,
        name: String,
    },
    /// An entry differs from what the signed statement says (its size or SHA-256 digest), or
    /// the entries and the statement's files do not match one to one.
    Digest {
        file: String,
        reason: String,
    },
    /// The `signature` entry or its statement is malformed, or disagrees with the manifest.
    Signature {
        reason: String,
    },
    /// `module.wasm` is not a module, imports what no host provides, or needs capabilities its
    /// manifest does not grant (the runtime's own pre-flight text).
    Module {
        reason: String,
    },
    /// This version (or a newer one) is installed already.
    AlreadyInstalled {
        name: String,
        version: String,
    },
    /// The package is older than the installed one.
    Downgrade {
        name: String,
        installed: String,
        offered: String,
    },
    NotInstalled {
        name: String,
    },
    /// An installed package's files are damaged or no longer match their signature.
    Damaged {
        name: String,
        reason: String,
    },
    /// A file-system operation failed.
    Fs {
        path: String,
        error: VfsError,
    },
}

impl fmt::Display for PackageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PackageError::Malformed { reason } => write!(f, "malformed package: {reason}"),
            PackageError::Limit { what, size, limit } => {
                write!(f, "{what} is {size} bytes, over the limit of {limit} bytes")
            }
            PackageError::Manifest { reason } => write!(f, "manifest.toml: {reason}"),
            PackageError::Unsigned => f.write_str(
                "the package is not signed (--allow-unsigned installs it anyway, with a warning)",
            ),
            PackageError::UnknownKey { key } => write!(
                f,
                "signature: key {key} is not in the trust store (--allow-unsigned installs it anyway, with a warning)"
            ),
            PackageError::Revoked { key } => {
                write!(f, "signature: key {key} is revoked")
            }
            PackageError::BadSignature { key, name } => write!(
                f,
                "signature: does not verify with key {key} ({name}): the signature or its statement was altered"
            ),
            PackageError::Digest { file, reason } => write!(f, "{file}: {reason}"),
            PackageError::Signature { reason } => write!(f, "signature: {reason}"),
            PackageError::Module { reason } => write!(f, "module.wasm: {reason}"),
            PackageError::AlreadyInstalled { name, version } => write!(
                f,
                "{name} {version} is already installed (--force reinstalls it)"
            ),
            PackageError::Downgrade {
                name,
                installed,
                offered,
            } => write!(
                f,
                "{name} {installed} is installed and {offered} is older (--force downgrades)"
            ),
            PackageError::NotInstalled { name } => write!(f, "package {name} is not installed"),
            PackageError::Damaged { name, reason } => {
                write!(f, "installed package {name} is damaged: {reason}")
            }
            PackageError::Fs { path, error } => write!(f, "{path}: {error}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PackageError {}

pub type Result<T, E = PackageError> = core::result::Result<T, E>;

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Decodes exactly `N` bytes of lowercase hex (the one spelling we write: anything else would
/// give one value two encodings).
pub(crate) fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = text.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    crate::module::sha256(bytes)
}

/// `text` on one line, control characters escaped, at most 200 bytes: a name from a hostile
/// archive can neither forge output lines nor drive the terminal.
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if out.len() >= 200 {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
