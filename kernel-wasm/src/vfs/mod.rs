//! The file-system interface the runtime uses, and a portable in-memory implementation.
//!
//! The trait is node based: a [`NodeId`] names a file, directory or symlink independent of its path,
//! so an open WASI descriptor keeps working across renames, and path resolution (with its sandboxing
//! rules) is done once, above this trait, in [`path`]. Implementations only ever see single path
//! components.
//!
//! Architecture invariant: a `Vfs` never sees `/`, `.` or `..` in a name; callers resolve paths with
//! [`path::resolve`]. Implementations must bound every allocation a caller's offsets can cause.

pub mod cpio;
#[cfg(feature = "std")]
pub mod hostdir;
pub mod memfs;
pub mod path;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

pub use memfs::MemFs;

/// Identifies a node within one [`Vfs`]. Stable for the node's lifetime; doubles as its inode number.
pub type NodeId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    File,
    Dir,
    Symlink,
}

/// What `stat` reports about a node. Times are nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata {
    pub ino: NodeId,
    pub kind: NodeKind,
    pub size: u64,
    pub nlink: u64,
    pub atime_ns: u64,
    pub mtime_ns: u64,
    pub ctime_ns: u64,
}

/// One entry of a directory listing, in the directory's stable order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub ino: NodeId,
    pub kind: NodeKind,
}

/// A new timestamp for [`Vfs::set_times`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetTime {
    Keep,
    Now,
    At(u64),
}

/// Why a file-system operation failed. WASI maps each to one errno in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VfsError {
    NotFound,
    AlreadyExists,
    NotADirectory,
    IsADirectory,
    DirectoryNotEmpty,
    /// A name that is empty, `.`/`..` where a name is needed, or contains `/` or NUL.
    InvalidName,
    /// A name longer than the file system allows (255 bytes in `MemFs`), or a path or symlink
    /// target longer than [`path::MAX_PATH_LEN`].
    NameTooLong,
    /// The file system's byte or node budget is spent, or a size/offset is beyond the largest file.
    NoSpace,
    ReadOnly,
    /// A rename or link across file systems, or moving a directory into itself.
    Invalid,
    /// Too many symlinks while resolving a path.
    Loop,
    /// The path would leave its sandbox root.
    Escape,
    /// The operation is not supported by this file system.
    Unsupported,
    Permission,
    /// An error of the underlying storage, with its text.
    Io(String),
}

impl fmt::Display for VfsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            VfsError::NotFound => "no such file or directory",
            VfsError::AlreadyExists => "file exists",
            VfsError::NotADirectory => "not a directory",
            VfsError::IsADirectory => "is a directory",
            VfsError::DirectoryNotEmpty => "directory not empty",
            VfsError::InvalidName => "invalid file name",
            VfsError::NameTooLong => "file name too long",
            VfsError::NoSpace => "no space left on the file system",
            VfsError::ReadOnly => "read-only file system",
            VfsError::Invalid => "invalid operation",
            VfsError::Loop => "too many levels of symbolic links",
            VfsError::Escape => "path escapes its root",
            VfsError::Unsupported => "operation not supported",
            VfsError::Permission => "permission denied",
            VfsError::Io(text) => return write!(f, "i/o error: {text}"),
        };
        f.write_str(text)
    }
}

pub type VfsResult<T> = Result<T, VfsError>;

/// A file system the runtime can use. All methods take `&self`: implementations use interior
/// mutability, so one file system can be shared by the shell and every instance.
pub trait Vfs {
    /// The root directory.
    fn root(&self) -> NodeId;
    fn stat(&self, node: NodeId) -> VfsResult<Metadata>;
    /// Finds `name` (one component, never `.` or `..`) in directory `dir`.
    fn lookup(&self, dir: NodeId, name: &str) -> VfsResult<NodeId>;
    /// The parent of directory `dir` (the root is its own parent).
    fn parent(&self, dir: NodeId) -> VfsResult<NodeId>;
    /// Creates an empty file or directory; `AlreadyExists` if `name` is taken.
    fn create(&self, dir: NodeId, name: &str, kind: NodeKind) -> VfsResult<NodeId>;
    fn symlink(&self, dir: NodeId, name: &str, target: &str) -> VfsResult<NodeId>;
    fn readlink(&self, node: NodeId) -> VfsResult<String>;
    /// Adds a hard link to file `node` as `dir/name`.
    fn link(&self, node: NodeId, dir: NodeId, name: &str) -> VfsResult<()>;
    /// Removes a non-directory entry.
    fn unlink(&self, dir: NodeId, name: &str) -> VfsResult<()>;
    /// Removes an empty directory.
    fn rmdir(&self, dir: NodeId, name: &str) -> VfsResult<()>;
    /// Moves `from_dir/from` to `to_dir/to`, replacing a compatible target as POSIX rename does.
    fn rename(&self, from_dir: NodeId, from: &str, to_dir: NodeId, to: &str) -> VfsResult<()>;
    /// Reads at `offset`; returns the bytes read (0 at or past the end).
    fn read_at(&self, node: NodeId, offset: u64, buf: &mut [u8]) -> VfsResult<usize>;
    /// Writes at `offset`, extending the file (zero-filled) as needed; returns the bytes written.
    fn write_at(&self, node: NodeId, offset: u64, data: &[u8]) -> VfsResult<usize>;
    fn set_len(&self, node: NodeId, len: u64) -> VfsResult<()>;
    fn set_times(&self, node: NodeId, atime: SetTime, mtime: SetTime) -> VfsResult<()>;
    /// The entries of `dir` (without `.` and `..`) in a stable order.
    fn read_dir(&self, dir: NodeId) -> VfsResult<Vec<DirEntry>>;
    /// At most `max` entries of `dir`, from the `skip`-th on, in the order of [`Vfs::read_dir`].
    /// WASI's `fd_readdir` lists through this, so what one call copies is bounded by the guest's
    /// buffer, not by the size of the directory. Implementations that can should not list the
    /// whole directory to answer.
    fn read_dir_range(&self, dir: NodeId, skip: usize, max: usize) -> VfsResult<Vec<DirEntry>> {
        let mut entries = self.read_dir(dir)?;
        entries.drain(..skip.min(entries.len()));
        entries.truncate(max);
        Ok(entries)
    }
    /// Makes the node's data durable. In-memory file systems have nothing to do.
    fn sync(&self, _node: NodeId) -> VfsResult<()> {
        Ok(())
    }
    /// The work this file system has done so far, in [work units](WORK_BYTES): a running
    /// count that only grows. WASI charges the guest whose call made it work fuel in
    /// proportion ([`crate::limits::FUEL_PER_WORK`]), so a call whose cost grows with its input
    /// (a deep path, a large directory, a large read) ends its fuel slice early and the time
    /// limit is checked right after it. A file system whose every operation costs a small,
    /// bounded time may count nothing.
    fn work(&self) -> u64 {
        0
    }
}

/// Work units ([`Vfs::work`]) stand for about a microsecond of host work each: one host system
/// call, [`WORK_BYTES`] bytes of file data moved, or [`WORK_ENTRIES`] directory entries visited.
pub const WORK_BYTES: u64 = 4096;
/// Directory entries visited per work unit (see [`WORK_BYTES`]).
pub const WORK_ENTRIES: u64 = 64;

/// Reads the whole file at absolute `path` (from the root of `vfs`), refusing files larger than
/// `max_len` bytes.
pub fn read_file(vfs: &dyn Vfs, path: &str, max_len: u64) -> VfsResult<Vec<u8>> {
    let root = vfs.root();
    let node = path::resolve(vfs, root, root, path, path::Absolute::FromRoot, true)?;
    read_node(vfs, node, max_len)
}

/// Reads the whole regular file `node`, refusing files larger than `max_len` bytes.
pub fn read_node(vfs: &dyn Vfs, node: NodeId, max_len: u64) -> VfsResult<Vec<u8>> {
    let meta = vfs.stat(node)?;
    match meta.kind {
        NodeKind::Dir => return Err(VfsError::IsADirectory),
        NodeKind::Symlink => return Err(VfsError::Invalid),
        NodeKind::File => {}
    }
    if meta.size > max_len {
        return Err(VfsError::NoSpace);
    }
    let mut out = Vec::new();
    out.try_reserve_exact(meta.size as usize)
        .map_err(|_| VfsError::NoSpace)?;
    out.resize(meta.size as usize, 0);
    let mut filled = 0;
    while filled < out.len() {
        let n = vfs.read_at(node, filled as u64, &mut out[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    out.truncate(filled);
    Ok(out)
}

/// Reads the whole file `name` (one component, symlinks followed without leaving `dir`) of
/// directory `dir`, refusing files larger than `max_len` bytes.
pub fn read_file_at(vfs: &dyn Vfs, dir: NodeId, name: &str, max_len: u64) -> VfsResult<Vec<u8>> {
    let node = path::resolve(vfs, dir, dir, name, path::Absolute::Reject, true)?;
    read_node(vfs, node, max_len)
}

/// Creates directory `path` and its missing parents (absolute, from the root of `vfs`).
pub fn mkdir_all(vfs: &dyn Vfs, path: &str) -> VfsResult<NodeId> {
    let mut dir = vfs.root();
    for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if comp == ".." {
            return Err(VfsError::Escape);
        }
        dir = match vfs.lookup(dir, comp) {
            Ok(node) => {
                if vfs.stat(node)?.kind != NodeKind::Dir {
                    return Err(VfsError::NotADirectory);
                }
                node
            }
            Err(VfsError::NotFound) => vfs.create(dir, comp, NodeKind::Dir)?,
            Err(e) => return Err(e),
        };
    }
    Ok(dir)
}

/// Writes `data` as the whole content of file `path`, creating it and its parent directories.
pub fn write_file(vfs: &dyn Vfs, path: &str, data: &[u8]) -> VfsResult<NodeId> {
    let (parent, name) = match path.trim_end_matches('/').rsplit_once('/') {
        Some((parent, name)) => (parent, name),
        None => ("", path),
    };
    let dir = mkdir_all(vfs, parent)?;
    let node = match vfs.lookup(dir, name) {
        Ok(node) => node,
        Err(VfsError::NotFound) => vfs.create(dir, name, NodeKind::File)?,
        Err(e) => return Err(e),
    };
    vfs.set_len(node, 0)?;
    vfs.write_at(node, 0, data)?;
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn every_error_has_its_own_text() {
        let all = [
            VfsError::NotFound,
            VfsError::AlreadyExists,
            VfsError::NotADirectory,
            VfsError::IsADirectory,
            VfsError::DirectoryNotEmpty,
            VfsError::InvalidName,
            VfsError::NameTooLong,
            VfsError::NoSpace,
            VfsError::ReadOnly,
            VfsError::Invalid,
            VfsError::Loop,
            VfsError::Escape,
            VfsError::Unsupported,
            VfsError::Permission,
            VfsError::Io("disk on fire".into()),
        ];
        let texts: Vec<String> = all.iter().map(|e| e.to_string()).collect();
        for (i, text) in texts.iter().enumerate() {
            assert!(!texts[..i].contains(text), "{text} twice");
        }
        assert_eq!(texts[14], "i/o error: disk on fire");
    }

    #[test]
    fn whole_file_helpers_refuse_what_is_not_a_file_they_may_read() {
        let fs = MemFs::new(1 << 20, 100);
        let file = write_file(&fs, "/a/b/file", b"hello").unwrap();
        assert_eq!(read_file(&fs, "/a/b/file", 5).unwrap(), b"hello");
        assert_eq!(read_file(&fs, "/a/b/file", 4), Err(VfsError::NoSpace));
        assert_eq!(read_file(&fs, "/a/b", 100), Err(VfsError::IsADirectory));
        let b = mkdir_all(&fs, "/a/b").unwrap();
        let link = fs.symlink(b, "link", "file").unwrap();
        assert_eq!(read_node(&fs, link, 100), Err(VfsError::Invalid));
        // Symlinks are followed inside the directory.
        assert_eq!(read_file_at(&fs, b, "link", 100).unwrap(), b"hello");
        // Directories: existing ones are reused, `..` and files on the way are refused.
        assert_eq!(mkdir_all(&fs, "/a/./b/").unwrap(), b);
        assert_eq!(mkdir_all(&fs, "/a/../etc"), Err(VfsError::Escape));
        assert_eq!(mkdir_all(&fs, "/a/b/file/c"), Err(VfsError::NotADirectory));
        assert_eq!(
            write_file(&fs, "/a/b/file/c", b"x"),
            Err(VfsError::NotADirectory)
        );
        assert!(
            write_file(&fs, "/a/b", b"x").is_err(),
            "a directory is no file"
        );
        // Writing again replaces the whole content.
        assert_eq!(write_file(&fs, "/a/b/file", b"hi").unwrap(), file);
        assert_eq!(read_file(&fs, "/a/b/file", 100).unwrap(), b"hi");
    }
}
