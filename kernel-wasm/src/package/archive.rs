//! The `.wap` archive: a POSIX ustar archive in one canonical form.
//!
//! `tar-no-std` checks the structure (header checksums, type flags, sizes within the archive, the
//! two zero blocks at the end); on top of it [`Archive::read`] refuses everything the format does
//! not allow: trailing bytes after the end, non-regular entries (links, directories, devices, PAX
//! headers), absolute or traversal names, duplicates, unknown top-level entries, entries out of
//! their fixed order, sizes over the limits, and any header byte or padding byte that differs
//! from what [`Archive::write`] produces. The accepted archive is therefore a function of its
//! entries' names and contents: no byte of it can change without a refusal or a change of what
//! the signature covers.
//!
//! The entries borrow the archive's bytes: what the verifier hashes is what the manager writes.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use tar_no_std::{TarArchiveRef, TypeFlag};

use super::{
    printable, PackageError, Result, MAX_ASSETS, MAX_ENTRY_NAME, MAX_MODULE_BYTES,
    MAX_PACKAGE_BYTES, MAX_SIGNATURE_BYTES,
};
use crate::manifest::MAX_MANIFEST_BYTES;

pub const MANIFEST: &str = "manifest.toml";
pub const MODULE: &str = "module.wasm";
pub const SIGNATURE: &str = "signature";
/// The prefix of every asset entry.
pub const ASSETS: &str = "assets/";

const BLOCK: usize = 512;

/// One asset: its entry name (`assets/...`) and content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset<'a> {
    pub name: &'a str,
    pub data: &'a [u8],
}

/// The entries of a package, borrowed from its archive bytes (or from the files being packed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive<'a> {
    pub manifest: &'a [u8],
    pub module: &'a [u8],
    /// Sorted by name (byte order), no duplicates.
    pub assets: Vec<Asset<'a>>,
    /// The `signature` entry, if signed.
    pub signature: Option<&'a [u8]>,
}

fn malformed(reason: impl Into<String>) -> PackageError {
    PackageError::Malformed {
        reason: reason.into(),
    }
}

/// Checks an entry name: at most [`MAX_ENTRY_NAME`] bytes of `[A-Za-z0-9._-]` in components
/// separated by single `/`, none of them empty, `.` or `..`, not absolute. Returns the reason
/// it is refused.
pub fn check_name(name: &str) -> core::result::Result<(), String> {
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name.len() > MAX_ENTRY_NAME {
        return Err(format!(
            "name is {} bytes, the limit is {MAX_ENTRY_NAME}",
            name.len()
        ));
    }
    if name.starts_with('/') {
        return Err("absolute name".into());
    }
    for component in name.split('/') {
        match component {
            "" => return Err("empty path component (or trailing /)".into()),
            "." | ".." => return Err(format!("path component {component:?} (traversal)")),
            _ => {}
        }
        if let Some(c) = component
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(format!(
                "character {:?} (names use letters, digits, '.', '_', '-' and '/')",
                c
            ));
        }
    }
    Ok(())
}

/// The field of a ustar header that byte `offset` belongs to (for refusals).
fn field_at(offset: usize) -> &'static str {
    match offset {
        0..=99 => "name",
        100..=107 => "mode",
        108..=115 => "uid",
        116..=123 => "gid",
        124..=135 => "size",
        136..=147 => "mtime",
        148..=155 => "chksum",
        156 => "typeflag",
        157..=256 => "linkname",
        257..=262 => "magic",
        263..=264 => "version",
        265..=296 => "uname",
        297..=328 => "gname",
        329..=336 => "devmajor",
        337..=344 => "devminor",
        345..=499 => "prefix",
        _ => "padding",
    }
}

/// The canonical header of a regular file `name` of `size` bytes (name checked by the caller).
pub fn header(name: &str, size: u64) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let name = name.as_bytes();
    let n = name.len().min(MAX_ENTRY_NAME);
    h[..n].copy_from_slice(&name[..n]);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    write_octal(&mut h[124..136], size);
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[329..337].copy_from_slice(b"0000000\0");
    h[337..345].copy_from_slice(b"0000000\0");
    // The checksum is computed with its own field as spaces, then written as six octal digits,
    // a NUL and a space (as GNU tar and POSIX do).
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    write_octal(&mut h[148..155], u64::from(sum));
    h[155] = b' ';
    h
}

/// Writes `value` as zero-padded octal digits filling `field` but its last byte, then a NUL.
fn write_octal(field: &mut [u8], mut value: u64) {
    let Some((last, digits)) = field.split_last_mut() else {
        return;
    };
    *last = 0;
    for d in digits.iter_mut().rev() {
        // `value % 8` is below 8: the cast cannot truncate.
        *d = b'0' + (value % 8) as u8;
        value /= 8;
    }
}

/// The kind of a non-regular entry, for refusals.
fn kind_name(flag: TypeFlag) -> &'static str {
    match flag {
        TypeFlag::LINK => "a hard link",
        TypeFlag::SYMTYPE => "a symbolic link",
        TypeFlag::CHRTYPE => "a character device",
        TypeFlag::BLKTYPE => "a block device",
        TypeFlag::DIRTYPE => "a directory entry",
        TypeFlag::FIFOTYPE => "a FIFO",
        TypeFlag::CONTTYPE => "a contiguous file",
        TypeFlag::XHDTYPE | TypeFlag::XGLTYPE => "a PAX extended header",
        TypeFlag::REGTYPE | TypeFlag::AREGTYPE => "a regular file",
    }
}

/// Where an entry may stand: manifest, module, assets (ascending), signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Manifest,
    Module,
    Asset,
    Signature,
}

impl<'a> Archive<'a> {
    /// Reads and checks a `.wap` archive. The returned entries borrow `bytes`.
    pub fn read(bytes: &'a [u8]) -> Result<Archive<'a>> {
        if bytes.len() > MAX_PACKAGE_BYTES {
            return Err(PackageError::Limit {
                what: "the package".into(),
                size: bytes.len() as u64,
                limit: MAX_PACKAGE_BYTES as u64,
            });
        }
        if bytes.is_empty() {
            return Err(malformed("the file is empty"));
        }
        if bytes.len() % BLOCK != 0 {
            return Err(malformed(format!(
                "{} bytes is not a whole number of 512-byte blocks (truncated?)",
                bytes.len()
            )));
        }
        let tar = TarArchiveRef::new(bytes).map_err(|e| malformed(e.to_string()))?;

        let mut manifest = None;
        let mut module = None;
        let mut signature = None;
        let mut assets: Vec<Asset<'a>> = Vec::new();
        let mut seen: BTreeSet<&'a str> = BTreeSet::new();
        let mut last_slot: Option<Slot> = None;
        // The block after the last entry's data: where the two zero blocks must be.
        let mut end_block = 0usize;
        for (index, (block, hdr)) in tar.headers().enumerate() {
            let start = block * BLOCK;
            let raw: &'a [u8] = bytes
                .get(start..start + BLOCK)
                .ok_or_else(|| malformed("a header lies outside the archive"))?;
            // The name field up to its NUL (a canonical name is always NUL-terminated).
            let name_field = &raw[..100];
            let name_len = name_field.iter().position(|&b| b == 0).unwrap_or(100);
            let name = core::str::from_utf8(&name_field[..name_len]).map_err(|_| {
                malformed(format!(
                    "entry {}: the name is not UTF-8 ({})",
                    index + 1,
                    name_field[..name_len].escape_ascii()
                ))
            })?;
            let at = |reason: String| {
                malformed(format!(
                    "entry {} ({}): {reason}",
                    index + 1,
                    printable(name)
                ))
            };
            let flag = hdr
                .typeflag
                .try_to_type_flag()
                .map_err(|_| at("unknown entry type".into()))?;
            if !flag.is_regular_file() {
                return Err(at(format!(
                    "{} (only regular files are allowed)",
                    kind_name(flag)
                )));
            }
            if raw[345..500].iter().any(|&b| b != 0) {
                return Err(at(
                    "uses the ustar prefix field (names are at most 99 bytes)".into(),
                ));
            }
            check_name(name).map_err(at)?;
            if !seen.insert(name) {
                return Err(at("duplicate entry".into()));
            }
            let size = parse_size(&raw[124..136]).ok_or_else(|| at("unreadable size".into()))?;
            let (slot, limit) = match name {
                MANIFEST => (Slot::Manifest, MAX_MANIFEST_BYTES),
                MODULE => (Slot::Module, MAX_MODULE_BYTES),
                SIGNATURE => (Slot::Signature, MAX_SIGNATURE_BYTES),
                _ if name.starts_with(ASSETS) => (Slot::Asset, MAX_PACKAGE_BYTES),
                _ => {
                    return Err(at(
                        "unknown top-level entry (a package holds manifest.toml, module.wasm, assets/... and signature)"
                            .into(),
                    ))
                }
            };
            if size > limit as u64 {
                return Err(PackageError::Limit {
                    what: format!("entry {}", printable(name)),
                    size,
                    limit: limit as u64,
                });
            }
            let canonical = header(name, size);
            if let Some(offset) = raw.iter().zip(canonical.iter()).position(|(a, b)| a != b) {
                return Err(at(format!(
                    "header field {} is not the canonical one",
                    field_at(offset)
                )));
            }
            // Order: manifest, module, assets in ascending byte order, signature last.
            let expected_order = match (last_slot, slot) {
                (None, Slot::Manifest) => true,
                (Some(Slot::Manifest), Slot::Module) => true,
                (Some(Slot::Module), Slot::Asset | Slot::Signature) => true,
                (Some(Slot::Asset), Slot::Asset) => {
                    assets.last().is_some_and(|prev| prev.name < name)
                }
                (Some(Slot::Asset), Slot::Signature) => true,
                _ => false,
            };
            if !expected_order {
                return Err(at(
                    "out of order (manifest.toml, module.wasm, assets/... in byte order, signature)"
                        .into(),
                ));
            }
            last_slot = Some(slot);
            // Size is at most MAX_PACKAGE_BYTES (checked above): the cast cannot truncate.
            let size = size as usize;
            let data_start = start + BLOCK;
            let blocks = size.div_ceil(BLOCK);
            let data_end = data_start + blocks * BLOCK;
            let padded = bytes
                .get(data_start..data_end)
                .ok_or_else(|| at("the data runs past the end (truncated)".into()))?;
            let (data, padding) = padded.split_at(size);
            if padding.iter().any(|&b| b != 0) {
                return Err(at("the padding after the data is not zero".into()));
            }
            end_block = block + 1 + blocks;
            match slot {
                Slot::Manifest => manifest = Some(data),
                Slot::Module => module = Some(data),
                Slot::Signature => signature = Some(data),
                Slot::Asset => {
                    if assets.len() == MAX_ASSETS {
                        return Err(at(format!("more than {MAX_ASSETS} assets")));
                    }
                    // A file cannot also be a directory of another asset.
                    let mut prefix_end = ASSETS.len();
                    while let Some(slash) = name[prefix_end..].find('/') {
                        let dir = &name[..prefix_end + slash];
                        if seen.contains(dir) {
                            return Err(at(format!("{dir} is a file, not a directory")));
                        }
                        prefix_end += slash + 1;
                    }
                    if name.len() == ASSETS.len() {
                        return Err(at("an asset needs a name after assets/".into()));
                    }
                    assets.push(Asset { name, data });
                }
            }
        }
        for asset in &assets {
            // A directory of an earlier asset cannot be a later file either (`assets/a/b`
            // before `assets/a` cannot happen in byte order, but `assets/a-b` sorts between).
            let dir = format!("{}/", asset.name);
            if let Some(inner) = seen.range(dir.as_str()..).next() {
                if inner.starts_with(&dir) {
                    return Err(malformed(format!(
                        "entry {}: {} is a file, not a directory",
                        printable(inner),
                        printable(asset.name)
                    )));
                }
            }
        }
        let expected_len = (end_block + 2) * BLOCK;
        if bytes.len() != expected_len {
            return Err(malformed(format!(
                "{} trailing bytes after the end of the archive",
                bytes.len().saturating_sub(expected_len)
            )));
        }
        let manifest = manifest.ok_or_else(|| malformed("no manifest.toml entry"))?;
        let module = module.ok_or_else(|| malformed("no module.wasm entry"))?;
        Ok(Archive {
            manifest,
            module,
            assets,
            signature,
        })
    }

    /// The entries a signature covers, in archive order: manifest, module, assets.
    pub fn files(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + '_ {
        [(MANIFEST, self.manifest), (MODULE, self.module)]
            .into_iter()
            .chain(self.assets.iter().map(|a| (a.name, a.data)))
    }

    /// The canonical archive bytes. Entries are checked as [`Archive::read`] checks them (names,
    /// sizes, order of assets), so what this writes reads back.
    pub fn write(&self) -> Result<Vec<u8>> {
        let mut entries: Vec<(&str, &[u8])> = self.files().collect();
        if let Some(signature) = self.signature {
            entries.push((SIGNATURE, signature));
        }
        let mut total = 2 * BLOCK;
        for (i, (name, data)) in entries.iter().enumerate() {
            check_name(name)
                .map_err(|reason| malformed(format!("entry {}: {reason}", printable(name))))?;
            if i >= 2 && *name != SIGNATURE {
                let ordered = i == 2 || entries[i - 1].0 < *name;
                if !name.starts_with(ASSETS) || name.len() == ASSETS.len() || !ordered {
                    return Err(malformed(format!(
                        "asset {}: assets are named assets/... and sorted without duplicates",
                        printable(name)
                    )));
                }
            }
            total += BLOCK + data.len().div_ceil(BLOCK) * BLOCK;
        }
        if total > MAX_PACKAGE_BYTES {
            return Err(PackageError::Limit {
                what: "the package".into(),
                size: total as u64,
                limit: MAX_PACKAGE_BYTES as u64,
            });
        }
        let mut out = Vec::new();
        out.try_reserve_exact(total)
            .map_err(|_| PackageError::Limit {
                what: "the package".into(),
                size: total as u64,
                limit: MAX_PACKAGE_BYTES as u64,
            })?;
        for (name, data) in entries {
            out.extend_from_slice(&header(name, data.len() as u64));
            out.extend_from_slice(data);
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        }
        out.resize(out.len() + 2 * BLOCK, 0);
        // The checks above are those of `read`, but for the limits per entry: run it once so a
        // written archive always reads back.
        Archive::read(&out)?;
        Ok(out)
    }
}

/// The ustar size field: octal digits, NUL- or space-terminated.
fn parse_size(field: &[u8]) -> Option<u64> {
    let end = field
        .iter()
        .position(|&b| b == 0 || b == b' ')
        .unwrap_or(field.len());
    let digits = &field[..end];
    if digits.is_empty() || digits.len() > 11 {
        return None;
    }
    let mut value = 0u64;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        value = value * 8 + u64::from(d - b'0');
    }
    Some(value)
}
