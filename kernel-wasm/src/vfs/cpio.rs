//! Reading cpio "newc" archives: how files reach the kernel at boot without being compiled into it.
//!
//! `cargo xtask qemu` packs host directories into a newc archive, QEMU loads it with `-initrd`, and
//! the kernel unpacks it into its root [`MemFs`](super::MemFs) with [`unpack`]. The archive is
//! untrusted input: every header field is checked, sizes are bounded by the archive itself, names
//! with `..` are refused, and every problem is an [`CpioError`] naming the offset, never a panic.
//!
//! Format (the `newc`/`crc` variants of `cpio -H newc`): a 110-byte ASCII header (`070701` or
//! `070702` followed by 13 eight-digit hex fields), the NUL-terminated name, padding to 4 bytes,
//! the data, padding to 4 bytes; the archive ends with an entry named `TRAILER!!!`. A `070702`
//! entry's checksum (the sum of its data bytes) is verified.

use alloc::string::String;
use core::fmt;

use super::{NodeId, NodeKind, Vfs, VfsError};

/// Size of a newc header.
pub const HEADER_LEN: usize = 110;
/// The name of the entry that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";

const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

/// What kind of node an entry describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// Device nodes, fifos, sockets: skipped by [`unpack`].
    Other,
}

/// One archive member, borrowing from the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The name as stored (validated UTF-8, not yet normalised).
    pub name: &'a str,
    pub mode: u32,
    pub kind: EntryKind,
    /// Seconds since the Unix epoch.
    pub mtime: u32,
    /// File contents, or the target of a symlink.
    pub data: &'a [u8],
}

/// Why an archive could not be read or unpacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpioErrorKind {
    /// The archive ends inside a header, name or data (or has no trailer).
    Truncated,
    /// The header does not start with `070701`/`070702`.
    BadMagic,
    /// A header field is not eight hex digits.
    BadField(&'static str),
    /// The name is empty, not NUL-terminated or not UTF-8.
    BadName,
    /// The name has a `..` component (or is otherwise unsafe to unpack: a file or symlink named
    /// like the target directory itself, `.` or `/`).
    UnsafeName(String),
    /// A `070702` (crc) entry whose data does not add up to its header's checksum.
    BadChecksum { expected: u32, actual: u32 },
    /// The file system refused an entry.
    Vfs { name: String, error: VfsError },
}

/// A [`CpioErrorKind`] with the byte offset of the entry it happened in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpioError {
    pub offset: usize,
    pub kind: CpioErrorKind,
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cpio archive, entry at byte {}: ", self.offset)?;
        match &self.kind {
            CpioErrorKind::Truncated => f.write_str("archive is truncated"),
            CpioErrorKind::BadMagic => f.write_str("bad magic (not a newc archive)"),
            CpioErrorKind::BadField(field) => write!(f, "header field {field} is not hex"),
            CpioErrorKind::BadName => f.write_str("entry name is empty, unterminated or not UTF-8"),
            CpioErrorKind::UnsafeName(name) => write!(f, "refusing unsafe name {name:?}"),
            CpioErrorKind::BadChecksum { expected, actual } => write!(
                f,
                "data checksum is {actual:#010x}, the header says {expected:#010x}"
            ),
            CpioErrorKind::Vfs { name, error } => write!(f, "cannot unpack {name:?}: {error}"),
        }
    }
}

/// Iterates over the entries of a newc archive, stopping at the trailer.
///
/// After an error the iterator is exhausted.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            done: false,
        }
    }

    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, CpioErrorKind> {
        let start = self.pos;
        let header = self
            .data
            .get(start..)
            .and_then(|rest| rest.get(..HEADER_LEN))
            .ok_or(CpioErrorKind::Truncated)?;
        let crc = match &header[..6] {
            b"070701" => false,
            b"070702" => true,
            _ => return Err(CpioErrorKind::BadMagic),
        };
        const FIELDS: [&str; 13] = [
            "ino",
            "mode",
            "uid",
            "gid",
            "nlink",
            "mtime",
            "filesize",
            "devmajor",
            "devminor",
            "rdevmajor",
            "rdevminor",
            "namesize",
            "check",
        ];
        let field = |i: usize| -> Result<u32, CpioErrorKind> {
            let text = &header[6 + 8 * i..14 + 8 * i];
            parse_hex(text).ok_or(CpioErrorKind::BadField(FIELDS[i]))
        };
        let mode = field(1)?;
        let mtime = field(5)?;
        let filesize = field(6)? as usize;
        let namesize = field(11)? as usize;
        let check = field(12)?;

        let name_start = start + HEADER_LEN;
        let name_end = name_start
            .checked_add(namesize)
            .ok_or(CpioErrorKind::Truncated)?;
        let name_bytes = self
            .data
            .get(name_start..name_end)
            .ok_or(CpioErrorKind::Truncated)?;
        let (nul, name_bytes) = name_bytes.split_last().ok_or(CpioErrorKind::BadName)?;
        if *nul != 0 || name_bytes.is_empty() || name_bytes.contains(&0) {
            return Err(CpioErrorKind::BadName);
        }
        let name = core::str::from_utf8(name_bytes).map_err(|_| CpioErrorKind::BadName)?;

        let data_start = align4(name_end).ok_or(CpioErrorKind::Truncated)?;
        let data_end = data_start
            .checked_add(filesize)
            .ok_or(CpioErrorKind::Truncated)?;
        let data = self
            .data
            .get(data_start..data_end)
            .ok_or(CpioErrorKind::Truncated)?;
        // The final padding may be missing at the very end of the archive.
        self.pos = align4(data_end).ok_or(CpioErrorKind::Truncated)?;

        if name == TRAILER {
            return Ok(None);
        }
        let kind = match mode & S_IFMT {
            S_IFREG => EntryKind::File,
            S_IFDIR => EntryKind::Dir,
            S_IFLNK => EntryKind::Symlink,
            _ => EntryKind::Other,
        };
        // The crc variant's checksum: the sum of the data bytes (regular files; 0 otherwise).
        if crc && kind == EntryKind::File {
            let actual = data
                .iter()
                .fold(0u32, |sum, &b| sum.wrapping_add(u32::from(b)));
            if actual != check {
                return Err(CpioErrorKind::BadChecksum {
                    expected: check,
                    actual,
                });
            }
        }
        Ok(Some(Entry {
            name,
            mode,
            kind,
            mtime,
            data,
        }))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Entry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        // The last entry's padding may be missing, so the position can be past the end.
        let offset = self.pos.min(self.data.len());
        match self.next_entry() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(kind) => {
                self.done = true;
                Some(Err(CpioError { offset, kind }))
            }
        }
    }
}

fn align4(n: usize) -> Option<usize> {
    Some(n.checked_add(3)? & !3)
}

fn parse_hex(text: &[u8]) -> Option<u32> {
    text.iter().try_fold(0u32, |acc, &c| {
        let digit = (c as char).to_digit(16)?;
        Some((acc << 4) | digit)
    })
}

/// Splits an entry name into the components to create, refusing `..`.
///
/// Leading `/` and `./` and empty or `.` components are dropped, so `./bin/x` and `/bin/x` both
/// unpack to `bin/x`; an empty result (the archive's `.` entry) names the target directory itself.
pub fn components(name: &str) -> Result<impl Iterator<Item = &str>, CpioErrorKind> {
    let parts = name.split('/').filter(|c| !c.is_empty() && *c != ".");
    if parts.clone().any(|c| c == "..") {
        return Err(CpioErrorKind::UnsafeName(name.into()));
    }
    Ok(parts)
}

/// What [`unpack`] created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnpackStats {
    pub files: usize,
    pub dirs: usize,
    pub symlinks: usize,
    /// Entries of other kinds (devices, fifos) that were skipped.
    pub skipped: usize,
    pub bytes: u64,
}

/// Unpacks `archive` into directory `dir` of `vfs`, creating parent directories as needed.
///
/// An existing directory is reused; an existing file is replaced (later entries win, as with
/// `cpio -i -u`). Stops at the first error, leaving what was unpacked so far.
pub fn unpack(archive: &[u8], vfs: &dyn Vfs, dir: NodeId) -> Result<UnpackStats, CpioError> {
    let mut stats = UnpackStats::default();
    let mut reader = Reader::new(archive);
    loop {
        let offset = reader.pos;
        let entry = match reader.next() {
            None => return Ok(stats),
            Some(entry) => entry?,
        };
        let at = |kind| CpioError { offset, kind };
        let vfs_err = |error| {
            at(CpioErrorKind::Vfs {
                name: entry.name.into(),
                error,
            })
        };
        let parts: alloc::vec::Vec<&str> = components(entry.name).map_err(at)?.collect();
        let Some((leaf, parents)) = parts.split_last() else {
            match entry.kind {
                // "." — the target directory itself, which exists.
                EntryKind::Dir => continue,
                EntryKind::Other => {
                    stats.skipped += 1;
                    continue;
                }
                // A file or symlink cannot replace the directory being unpacked into.
                EntryKind::File | EntryKind::Symlink => {
                    return Err(at(CpioErrorKind::UnsafeName(entry.name.into())))
                }
            }
        };
        let mut parent = dir;
        for part in parents {
            parent = mkdir(vfs, parent, part).map_err(vfs_err)?;
        }
        match entry.kind {
            EntryKind::Dir => {
                mkdir(vfs, parent, leaf).map_err(vfs_err)?;
                stats.dirs += 1;
            }
            EntryKind::File => {
                remove_non_dir(vfs, parent, leaf).map_err(vfs_err)?;
                let node = vfs.create(parent, leaf, NodeKind::File).map_err(vfs_err)?;
                vfs.write_at(node, 0, entry.data).map_err(vfs_err)?;
                stats.files += 1;
                stats.bytes += entry.data.len() as u64;
            }
            EntryKind::Symlink => {
                let target =
                    core::str::from_utf8(entry.data).map_err(|_| vfs_err(VfsError::InvalidName))?;
                remove_non_dir(vfs, parent, leaf).map_err(vfs_err)?;
                vfs.symlink(parent, leaf, target).map_err(vfs_err)?;
                stats.symlinks += 1;
            }
            EntryKind::Other => stats.skipped += 1,
        }
    }
}

/// `mkdir -p` for one component: the existing directory or a new one.
fn mkdir(vfs: &dyn Vfs, parent: NodeId, name: &str) -> Result<NodeId, VfsError> {
    match vfs.lookup(parent, name) {
        Ok(node) if vfs.stat(node)?.kind == NodeKind::Dir => Ok(node),
        Ok(_) => Err(VfsError::NotADirectory),
        Err(VfsError::NotFound) => vfs.create(parent, name, NodeKind::Dir),
        Err(e) => Err(e),
    }
}

fn remove_non_dir(vfs: &dyn Vfs, parent: NodeId, name: &str) -> Result<(), VfsError> {
    match vfs.lookup(parent, name) {
        Ok(node) if vfs.stat(node)?.kind == NodeKind::Dir => Err(VfsError::IsADirectory),
        Ok(_) => vfs.unlink(parent, name),
        Err(VfsError::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;
    use crate::vfs::MemFs;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    /// A minimal newc writer for tests (xtask has the real one).
    fn push_entry(out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]) {
        let header = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            1,
            mode,
            0,
            0,
            1,
            1_700_000_000u32,
            data.len(),
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }

    fn archive(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, mode, data) in entries {
            push_entry(&mut out, name, *mode, data);
        }
        push_entry(&mut out, TRAILER, 0, b"");
        out
    }

    fn read_file(fs: &MemFs, path: &[&str]) -> Vec<u8> {
        let mut node = fs.root();
        for part in path {
            node = fs.lookup(node, part).unwrap();
        }
        let mut buf = alloc::vec![0; 4096];
        let n = fs.read_at(node, 0, &mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    #[test]
    fn reads_entries_in_order() {
        let a = archive(&[
            (".", 0o040755, b""),
            ("bin", 0o040755, b""),
            ("bin/hello.wasm", 0o100644, b"\0asm"),
            ("link", 0o120777, b"bin/hello.wasm"),
        ]);
        let entries: Vec<_> = Reader::new(&a).collect::<Result<_, _>>().unwrap();
        let names: Vec<_> = entries.iter().map(|e| (e.name, e.kind)).collect();
        assert_eq!(
            names,
            [
                (".", EntryKind::Dir),
                ("bin", EntryKind::Dir),
                ("bin/hello.wasm", EntryKind::File),
                ("link", EntryKind::Symlink)
            ]
        );
        assert_eq!(entries[2].data, b"\0asm");
        assert_eq!(entries[2].mtime, 1_700_000_000);
    }

    #[test]
    fn unpacks_into_memfs_creating_parents() {
        let a = archive(&[
            ("./data/deep/x.txt", 0o100644, b"hello"),
            ("/data/y.txt", 0o100644, b"abc"),
            ("data/deep/l", 0o120777, b"x.txt"),
            ("dev/null", 0o020666, b""),
        ]);
        let fs = MemFs::new(1 << 20, 1000);
        let stats = unpack(&a, &fs, fs.root()).unwrap();
        assert_eq!(
            stats,
            UnpackStats {
                files: 2,
                dirs: 0,
                symlinks: 1,
                skipped: 1,
                bytes: 8
            }
        );
        assert_eq!(read_file(&fs, &["data", "deep", "x.txt"]), b"hello");
        assert_eq!(read_file(&fs, &["data", "y.txt"]), b"abc");
        let deep = fs
            .lookup(fs.lookup(fs.root(), "data").unwrap(), "deep")
            .unwrap();
        let link = fs.lookup(deep, "l").unwrap();
        assert_eq!(fs.readlink(link).unwrap(), "x.txt");
    }

    #[test]
    fn later_file_entries_replace_earlier_ones() {
        let a = archive(&[("f", 0o100644, b"old contents"), ("f", 0o100644, b"new")]);
        let fs = MemFs::new(1 << 20, 1000);
        unpack(&a, &fs, fs.root()).unwrap();
        assert_eq!(read_file(&fs, &["f"]), b"new");
    }

    #[test]
    fn empty_input_is_truncated_not_a_panic() {
        let err = Reader::new(b"").next().unwrap().unwrap_err();
        assert_eq!(err.kind, CpioErrorKind::Truncated);
    }

    #[test]
    fn missing_trailer_is_an_error() {
        let mut a = Vec::new();
        push_entry(&mut a, "f", 0o100644, b"x");
        let fs = MemFs::new(1 << 20, 1000);
        let err = unpack(&a, &fs, fs.root()).unwrap_err();
        assert_eq!(err.kind, CpioErrorKind::Truncated);
        assert_eq!(err.offset, a.len());
    }

    #[test]
    fn every_truncation_is_a_clean_error() {
        let a = archive(&[("dir/file", 0o100644, b"some data here")]);
        for len in 0..a.len() - 1 {
            let fs = MemFs::new(1 << 20, 1000);
            // Any prefix either fails cleanly or (only when just the last padding is cut) succeeds.
            if let Err(e) = unpack(&a[..len], &fs, fs.root()) {
                assert!(!format!("{e}").is_empty());
            }
        }
    }

    #[test]
    fn bad_magic() {
        let mut a = archive(&[("f", 0o100644, b"x")]);
        a[5] = b'7';
        let err = Reader::new(&a).next().unwrap().unwrap_err();
        assert_eq!(err.kind, CpioErrorKind::BadMagic);
    }

    #[test]
    fn non_hex_field() {
        let mut a = archive(&[("f", 0o100644, b"x")]);
        a[6 + 8 * 6] = b'g'; // filesize
        let err = Reader::new(&a).next().unwrap().unwrap_err();
        assert_eq!(err.kind, CpioErrorKind::BadField("filesize"));
    }

    #[test]
    fn huge_sizes_are_truncation_not_overflow() {
        for field in [6, 11] {
            let mut a = archive(&[("f", 0o100644, b"x")]);
            a[6 + 8 * field..14 + 8 * field].copy_from_slice(b"ffffffff");
            let err = Reader::new(&a).next().unwrap().unwrap_err();
            assert_eq!(err.kind, CpioErrorKind::Truncated, "field {field}");
        }
    }

    #[test]
    fn bad_names() {
        // namesize 0, and a name without its NUL.
        let mut a = archive(&[("f", 0o100644, b"x")]);
        a[6 + 8 * 11..14 + 8 * 11].copy_from_slice(b"00000000");
        assert_eq!(
            Reader::new(&a).next().unwrap().unwrap_err().kind,
            CpioErrorKind::BadName
        );
        let mut a = archive(&[("f", 0o100644, b"x")]);
        a[HEADER_LEN + 1] = b'!';
        assert_eq!(
            Reader::new(&a).next().unwrap().unwrap_err().kind,
            CpioErrorKind::BadName
        );
        let mut a = archive(&[("ab", 0o100644, b"x")]);
        a[HEADER_LEN] = 0xff;
        assert_eq!(
            Reader::new(&a).next().unwrap().unwrap_err().kind,
            CpioErrorKind::BadName
        );
    }

    #[test]
    fn dotdot_names_are_refused() {
        for name in ["../etc/passwd", "a/../../b", "..", "/x/.."] {
            let a = archive(&[(name, 0o100644, b"x")]);
            let fs = MemFs::new(1 << 20, 1000);
            let err = unpack(&a, &fs, fs.root()).unwrap_err();
            assert_eq!(err.kind, CpioErrorKind::UnsafeName(name.into()), "{name}");
        }
    }

    #[test]
    fn file_over_directory_is_a_vfs_error() {
        let a = archive(&[("d", 0o040755, b""), ("d", 0o100644, b"x")]);
        let fs = MemFs::new(1 << 20, 1000);
        let err = unpack(&a, &fs, fs.root()).unwrap_err();
        assert!(matches!(
            err.kind,
            CpioErrorKind::Vfs {
                error: VfsError::IsADirectory,
                ..
            }
        ));
    }

    #[test]
    fn file_system_budget_is_respected() {
        let big = alloc::vec![7u8; 4096];
        let a = archive(&[("big", 0o100644, &big)]);
        let fs = MemFs::new(1024, 1000);
        let err = unpack(&a, &fs, fs.root()).unwrap_err();
        assert!(matches!(
            err.kind,
            CpioErrorKind::Vfs {
                error: VfsError::NoSpace,
                ..
            }
        ));
    }

    #[test]
    fn garbage_never_panics() {
        // A cheap deterministic fuzz: flip bytes of a valid archive.
        let base = archive(&[("a/b", 0o100644, b"payload"), ("c", 0o120777, b"a/b")]);
        let mut seed = 0x1234_5678u32;
        for _ in 0..2000 {
            let mut a = base.clone();
            for _ in 0..3 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let i = (seed as usize >> 8) % a.len();
                a[i] = (seed >> 3) as u8;
            }
            let fs = MemFs::new(1 << 16, 100);
            let _ = unpack(&a, &fs, fs.root());
        }
    }

    /// A newc entry with every header field given (for hostile headers).
    fn raw_header(magic: &str, mode: u32, filesize: u32, namesize: u32, check: u32) -> Vec<u8> {
        format!(
            "{magic}{:08x}{mode:08x}{:08x}{:08x}{:08x}{:08x}{filesize:08x}{:08x}{:08x}{:08x}{:08x}{namesize:08x}{check:08x}",
            1, 0, 0, 1, 0, 0, 0, 0, 0
        )
        .into_bytes()
    }

    fn unpack_err(a: &[u8]) -> CpioError {
        let fs = MemFs::new(1 << 20, 1000);
        unpack(a, &fs, fs.root()).unwrap_err()
    }

    #[test]
    fn truncated_headers_at_every_length() {
        let a = archive(&[("f", 0o100644, b"x")]);
        for len in 0..HEADER_LEN {
            let err = unpack_err(&a[..len]);
            assert_eq!(
                (err.offset, err.kind),
                (0, CpioErrorKind::Truncated),
                "{len}"
            );
        }
        // A second entry cut inside its header: the offset is that entry's.
        let two = archive(&[("f", 0o100644, b"x"), ("g", 0o100644, b"y")]);
        let second = HEADER_LEN + 2 + 4; // "f\0" ends aligned, data "x" padded to 4
        let err = unpack_err(&two[..second + 50]);
        assert_eq!(
            (err.offset, err.kind.clone()),
            (second, CpioErrorKind::Truncated)
        );
        assert_eq!(
            err.to_string(),
            format!("cpio archive, entry at byte {second}: archive is truncated")
        );
    }

    #[test]
    fn bad_magic_names_the_entry() {
        for magic in ["070707", "070700", "      ", "\0\0\0\0\0\0", "0x0701"] {
            let mut a = raw_header(magic, 0o100644, 0, 2, 0);
            a.extend_from_slice(b"f\0");
            let err = unpack_err(&a);
            assert_eq!((err.offset, err.kind.clone()), (0, CpioErrorKind::BadMagic));
            assert_eq!(
                err.to_string(),
                "cpio archive, entry at byte 0: bad magic (not a newc archive)"
            );
        }
        // An old binary cpio archive (magic 0o070707 little-endian) is not mistaken for one.
        let err = unpack_err(&[0xc7, 0x71, 0, 0].repeat(40));
        assert_eq!(err.kind, CpioErrorKind::BadMagic);
    }

    #[test]
    fn sizes_near_u32_max_are_truncation() {
        for (filesize, namesize) in [
            (u32::MAX, 2),
            (u32::MAX - 3, 2),
            (0x8000_0000, 2),
            (0, u32::MAX),
            (0, u32::MAX - 110),
            (u32::MAX, u32::MAX),
        ] {
            let mut a = raw_header("070701", 0o100644, filesize, namesize, 0);
            a.extend_from_slice(b"f\0\0\0data");
            let err = unpack_err(&a);
            assert_eq!(
                err.kind,
                CpioErrorKind::Truncated,
                "{filesize:#x} {namesize:#x}"
            );
        }
        // Lower-case and upper-case hex both parse; a sign or space does not.
        let mut a = raw_header("070701", 0o100644, 1, 2, 0);
        a[6 + 8 * 6..14 + 8 * 6].copy_from_slice(b"0000000A");
        a.extend_from_slice(b"f\0\0\0xxxxxxxxxx");
        assert_eq!(unpack_err(&a).kind, CpioErrorKind::Truncated); // no trailer
        for bad in [b"-0000001", b" 0000001", b"+0000001"] {
            let mut b = a.clone();
            b[6 + 8 * 6..14 + 8 * 6].copy_from_slice(bad);
            assert_eq!(unpack_err(&b).kind, CpioErrorKind::BadField("filesize"));
        }
    }

    #[test]
    fn names_without_nul_or_with_inner_nul() {
        // namesize covers "ab" but not its NUL; a NUL inside the name.
        for (name, namesize) in [(&b"ab\0\0"[..], 2), (b"a\0b\0", 4), (b"\0\0\0\0", 1)] {
            let mut a = raw_header("070701", 0o100644, 0, namesize, 0);
            a.extend_from_slice(name);
            let err = unpack_err(&a);
            assert_eq!(err.kind, CpioErrorKind::BadName, "{name:?}");
            assert_eq!(
                err.to_string(),
                "cpio archive, entry at byte 0: entry name is empty, unterminated or not UTF-8"
            );
        }
    }

    #[test]
    fn absolute_and_dot_names_unpack_inside_the_target() {
        let a = archive(&[
            ("/abs/f", 0o100644, b"1"),
            ("./rel/g", 0o100644, b"2"),
            ("//x//y/./z", 0o100644, b"3"),
            (".", 0o040755, b""),
            ("/", 0o040755, b""),
        ]);
        let fs = MemFs::new(1 << 20, 1000);
        let sub = fs.create(fs.root(), "target", NodeKind::Dir).unwrap();
        unpack(&a, &fs, sub).unwrap();
        assert_eq!(read_file(&fs, &["target", "abs", "f"]), b"1");
        assert_eq!(read_file(&fs, &["target", "rel", "g"]), b"2");
        assert_eq!(read_file(&fs, &["target", "x", "y", "z"]), b"3");
        assert_eq!(fs.lookup(fs.root(), "abs"), Err(VfsError::NotFound));
        // A file or symlink named like the target directory itself is refused, not dropped.
        for (name, mode) in [(".", 0o100644), ("/", 0o120777), ("./", 0o100644)] {
            let a = archive(&[(name, mode, b"x")]);
            let err = unpack_err(&a);
            assert_eq!(err.kind, CpioErrorKind::UnsafeName(name.into()), "{name}");
        }
        // A device node named "." is skipped like any other.
        let a = archive(&[(".", 0o020666, b"")]);
        let fs = MemFs::new(1 << 20, 1000);
        assert_eq!(unpack(&a, &fs, fs.root()).unwrap().skipped, 1);
    }

    #[test]
    fn duplicates_follow_cpio_rules() {
        let a = archive(&[
            ("d", 0o040755, b""),
            ("d", 0o040755, b""),
            ("d/f", 0o100644, b"old"),
            ("d/f", 0o120777, b"target"),
            ("d/l", 0o120777, b"x"),
            ("d/l", 0o100644, b"now a file"),
        ]);
        let fs = MemFs::new(1 << 20, 1000);
        let stats = unpack(&a, &fs, fs.root()).unwrap();
        assert_eq!((stats.dirs, stats.files, stats.symlinks), (2, 2, 2));
        let d = fs.lookup(fs.root(), "d").unwrap();
        assert_eq!(fs.readlink(fs.lookup(d, "f").unwrap()).unwrap(), "target");
        assert_eq!(read_file(&fs, &["d", "l"]), b"now a file");
        // A directory where a file is: refused, with the name.
        let err = unpack_err(&archive(&[("f", 0o100644, b"x"), ("f", 0o040755, b"")]));
        assert_eq!(
            err.to_string(),
            format!(
                "cpio archive, entry at byte {}: cannot unpack \"f\": not a directory",
                HEADER_LEN + 6
            )
        );
    }

    #[test]
    fn symlinks_are_stored_never_followed_while_unpacking() {
        let a = archive(&[
            ("up", 0o120777, b"../../../etc"),
            ("abs", 0o120777, b"/etc/passwd"),
            ("bin/hello", 0o100644, b"hi"),
            ("dirlink", 0o120777, b"bin"),
        ]);
        let fs = MemFs::new(1 << 20, 1000);
        unpack(&a, &fs, fs.root()).unwrap();
        // Resolution keeps them inside the root: `..` past it is an escape, `/` is the root.
        assert_eq!(
            crate::vfs::read_file(&fs, "/up/passwd", 100),
            Err(VfsError::Escape)
        );
        assert_eq!(
            crate::vfs::read_file(&fs, "/abs", 100),
            Err(VfsError::NotFound)
        );
        assert_eq!(
            crate::vfs::read_file(&fs, "/dirlink/hello", 100).unwrap(),
            b"hi"
        );
        // An entry under a symlinked directory is refused: unpacking never follows a symlink
        // (here it would write into bin/ through dirlink/).
        let a = archive(&[
            ("bin", 0o040755, b""),
            ("dirlink", 0o120777, b"bin"),
            ("dirlink/x", 0o100644, b"sneaky"),
        ]);
        let fs = MemFs::new(1 << 20, 1000);
        let err = unpack(&a, &fs, fs.root()).unwrap_err();
        assert!(
            matches!(&err.kind, CpioErrorKind::Vfs { name, error: VfsError::NotADirectory } if name == "dirlink/x"),
            "{err}"
        );
        let bin = fs.lookup(fs.root(), "bin").unwrap();
        assert_eq!(fs.lookup(bin, "x"), Err(VfsError::NotFound));
        // A target that is not UTF-8 is refused; an empty one is refused by the file system.
        let err = unpack_err(&archive(&[("l", 0o120777, b"\xff")]));
        assert_eq!(
            err.to_string(),
            "cpio archive, entry at byte 0: cannot unpack \"l\": invalid file name"
        );
        let err = unpack_err(&archive(&[("l", 0o120777, b"")]));
        assert!(
            matches!(&err.kind, CpioErrorKind::Vfs { name, .. } if name == "l"),
            "{err}"
        );
    }

    #[test]
    fn crc_archives_check_the_data() {
        let sum = |data: &[u8]| data.iter().map(|&b| u32::from(b)).sum::<u32>();
        let entry = |check: u32| {
            let mut a = raw_header("070702", 0o100644, 5, 2, check);
            a.extend_from_slice(b"f\0hello\0\0\0");
            a.extend(raw_header("070702", 0, 0, 11, 0));
            a.extend_from_slice(b"TRAILER!!!\0\0\0\0");
            a
        };
        let fs = MemFs::new(1 << 20, 1000);
        unpack(&entry(sum(b"hello")), &fs, fs.root()).unwrap();
        assert_eq!(read_file(&fs, &["f"]), b"hello");
        let err = unpack_err(&entry(7));
        assert_eq!(
            err.kind,
            CpioErrorKind::BadChecksum {
                expected: 7,
                actual: sum(b"hello")
            }
        );
        assert_eq!(
            err.to_string(),
            "cpio archive, entry at byte 0: data checksum is 0x00000214, the header says 0x00000007"
        );
    }

    #[test]
    fn random_archives_unpack_or_fail_cleanly() {
        let mut rng = XorShift(0xdead_beef_cafe_f00d);
        let names = [
            "a",
            "a/b",
            "..",
            "/",
            ".",
            "a/../b",
            "x\ny",
            "l",
            "l/z",
            "TRAILER!!!",
            "",
        ];
        for round in 0..3000 {
            // Headers with a valid magic and random (often plausible) fields, names and data.
            let mut a = Vec::new();
            for _ in 0..rng.next() % 6 {
                let name = names[(rng.next() as usize) % names.len()];
                let mode = [0o100644, 0o040755, 0o120777, 0o020666, 0][(rng.next() % 5) as usize];
                let len = (rng.next() % 12) as usize;
                let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                let r = rng.next();
                let filesize = if r % 7 == 0 { r as u32 } else { len as u32 };
                let namesize = if r % 11 == 0 {
                    (r >> 32) as u32
                } else {
                    name.len() as u32 + 1
                };
                let magic = if r % 13 == 0 { "070702" } else { "070701" };
                a.extend(raw_header(
                    magic,
                    mode,
                    filesize,
                    namesize,
                    (r >> 8) as u32 % 3,
                ));
                a.extend_from_slice(name.as_bytes());
                a.push(0);
                while a.len() % 4 != 0 {
                    a.push(0);
                }
                a.extend_from_slice(&data);
                while a.len() % 4 != 0 && rng.next() % 2 == 0 {
                    a.push(0);
                }
            }
            if rng.next() % 2 == 0 {
                push_entry(&mut a, TRAILER, 0, b"");
            }
            // And plain random bytes now and then.
            if round % 5 == 0 {
                a = (0..rng.next() % 300).map(|_| rng.next() as u8).collect();
            }
            let fs = MemFs::new(4096, 16);
            match unpack(&a, &fs, fs.root()) {
                Ok(stats) => assert!(stats.bytes <= a.len() as u64, "round {round}"),
                Err(e) => {
                    assert!(e.offset <= a.len(), "round {round}: {e}");
                    assert!(!e.to_string().contains('\n'), "round {round}: {e}");
                }
            }
            // The reader alone ends too, with at most one error.
            let results: Vec<_> = Reader::new(&a).collect();
            assert!(results.iter().filter(|r| r.is_err()).count() <= 1);
            assert!(results.len() <= a.len() / HEADER_LEN + 1, "round {round}");
        }
    }
}
