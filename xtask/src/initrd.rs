//! Packing host directories into the kernel's initrd (a cpio "newc" archive, read back in the
//! kernel by `kernel_wasm::vfs::cpio`), and flattening the kernel ELF into the arm64 Image QEMU
//! boots.
//!
//! The archive is deterministic: entries are sorted, inode numbers count up from 1, and the
//! modification time is the host file's.

use std::fs;
use std::path::Path;
use std::time::UNIX_EPOCH;

use anyhow::{bail, Context, Result};

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

/// A cpio newc archive being written.
#[derive(Default)]
pub struct CpioWriter {
    out: Vec<u8>,
    next_ino: u32,
}

impl CpioWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one entry. `name` is relative (no leading `/`).
    pub fn entry(&mut self, name: &str, mode: u32, mtime: u32, data: &[u8]) -> Result<()> {
        let size = u32::try_from(data.len()).with_context(|| format!("{name} is over 4 GiB"))?;
        self.next_ino += 1;
        let fields = [
            self.next_ino,
            mode,
            0, // uid
            0, // gid
            1, // nlink
            mtime,
            size,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0, // check
        ];
        self.out.extend_from_slice(b"070701");
        for field in fields {
            self.out
                .extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
        self.out.extend_from_slice(data);
        self.pad();
        Ok(())
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    /// Adds `host_dir`'s tree under `guest_dir` (e.g. `/data`), creating `guest_dir`'s parents.
    pub fn add_tree(&mut self, host_dir: &Path, guest_dir: &str) -> Result<()> {
        let guest = guest_dir.trim_matches('/');
        if guest.split('/').any(|c| c == "..") {
            bail!("guest directory {guest_dir:?} must not contain '..'");
        }
        let meta =
            fs::metadata(host_dir).with_context(|| format!("reading {}", host_dir.display()))?;
        if !meta.is_dir() {
            bail!("{} is not a directory", host_dir.display());
        }
        let mut prefix = String::new();
        for part in guest.split('/').filter(|p| !p.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            self.entry(&prefix, S_IFDIR | 0o755, mtime(&meta), b"")?;
        }
        self.add_dir_contents(host_dir, &prefix)
    }

    fn add_dir_contents(&mut self, dir: &Path, prefix: &str) -> Result<()> {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .with_context(|| format!("listing {}", dir.display()))?
            .collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                bail!("{}: file name is not UTF-8", entry.path().display());
            };
            let name = if prefix.is_empty() {
                file_name.to_string()
            } else {
                format!("{prefix}/{file_name}")
            };
            let path = entry.path();
            let meta = fs::symlink_metadata(&path)?;
            let ft = meta.file_type();
            if ft.is_symlink() {
                let target = fs::read_link(&path)?;
                let Some(target) = target.to_str() else {
                    bail!("{}: symlink target is not UTF-8", path.display());
                };
                self.entry(&name, S_IFLNK | 0o777, mtime(&meta), target.as_bytes())?;
            } else if ft.is_dir() {
                self.entry(&name, S_IFDIR | 0o755, mtime(&meta), b"")?;
                self.add_dir_contents(&path, &name)?;
            } else if ft.is_file() {
                let data =
                    fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                self.entry(&name, S_IFREG | 0o644, mtime(&meta), &data)?;
            }
            // Sockets, fifos and devices are not copied.
        }
        Ok(())
    }

    /// Ends the archive with its trailer.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        self.entry("TRAILER!!!", 0, 0, b"")?;
        Ok(self.out)
    }
}

fn mtime(meta: &fs::Metadata) -> u32 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

/// Flattens an ELF64 little-endian executable into a raw image: the bytes of its `PT_LOAD`
/// segments placed at their physical addresses relative to the lowest one (`.bss` is not
/// included; the arm64 Image header's `image_size` covers it).
pub fn elf_to_flat(elf: &[u8]) -> Result<Vec<u8>> {
    let u16_at = |off: usize| -> Result<u16> {
        Ok(u16::from_le_bytes(
            elf.get(off..off + 2).context("truncated ELF")?.try_into()?,
        ))
    };
    let u32_at = |off: usize| -> Result<u32> {
        Ok(u32::from_le_bytes(
            elf.get(off..off + 4).context("truncated ELF")?.try_into()?,
        ))
    };
    let u64_at = |off: usize| -> Result<u64> {
        Ok(u64::from_le_bytes(
            elf.get(off..off + 8).context("truncated ELF")?.try_into()?,
        ))
    };
    if elf.get(..6) != Some(b"\x7fELF\x02\x01") {
        bail!("not a 64-bit little-endian ELF file");
    }
    let phoff = usize::try_from(u64_at(0x20)?)?;
    let phentsize = usize::from(u16_at(0x36)?);
    let phnum = usize::from(u16_at(0x38)?);
    let mut segments = Vec::new();
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        const PT_LOAD: u32 = 1;
        if u32_at(ph)? != PT_LOAD {
            continue;
        }
        let offset = usize::try_from(u64_at(ph + 8)?)?;
        let paddr = u64_at(ph + 0x18)?;
        let filesz = usize::try_from(u64_at(ph + 0x20)?)?;
        if filesz == 0 {
            continue;
        }
        let data = elf
            .get(offset..offset + filesz)
            .context("ELF segment outside the file")?;
        segments.push((paddr, data));
    }
    let base = segments
        .iter()
        .map(|s| s.0)
        .min()
        .context("ELF has no loadable segments")?;
    let mut image = Vec::new();
    for (paddr, data) in segments {
        let start = usize::try_from(paddr - base)?;
        if start > 64 << 20 {
            bail!("ELF segments span more than 64 MiB; is the linker script right?");
        }
        if image.len() < start + data.len() {
            image.resize(start + data.len(), 0);
        }
        image[start..start + data.len()].copy_from_slice(data);
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_layout_is_newc() {
        let mut w = CpioWriter::new();
        w.entry("a", S_IFREG | 0o644, 7, b"xyz").unwrap();
        let out = w.finish().unwrap();
        assert_eq!(&out[..6], b"070701");
        assert_eq!(&out[6 + 8 * 6..6 + 8 * 7], b"00000003"); // filesize
        assert_eq!(&out[110..112], b"a\0");
        assert_eq!(&out[112..115], b"xyz"); // 110 + 2 = 112 is already aligned
        assert_eq!(out.len() % 4, 0);
        assert!(out.windows(10).any(|w| w == b"TRAILER!!!"));
    }

    #[test]
    fn tree_is_packed_under_guest_dir_sorted() {
        let dir = std::env::temp_dir().join(format!("xtask-initrd-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("b.txt"), "b").unwrap();
        fs::write(dir.join("sub/a.txt"), "a").unwrap();
        let mut w = CpioWriter::new();
        w.add_tree(&dir, "/data/in").unwrap();
        let out = w.finish().unwrap();
        fs::remove_dir_all(&dir).unwrap();
        let text = String::from_utf8_lossy(&out);
        let order: Vec<_> = [
            "data\0",
            "data/in\0",
            "data/in/b.txt\0",
            "data/in/sub\0",
            "data/in/sub/a.txt\0",
        ]
        .iter()
        .map(|n| text.find(n).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert!(CpioWriter::new()
            .add_tree(Path::new("/nonexistent-dir"), "/x")
            .is_err());
        assert!(CpioWriter::new()
            .add_tree(Path::new("/"), "/x/../y")
            .is_err());
    }

    #[test]
    fn elf_flattening_rejects_garbage() {
        assert!(elf_to_flat(b"").is_err());
        assert!(elf_to_flat(b"\x7fELF\x02\x01\0\0").is_err());
    }
}
