//! A [`Vfs`] over a real host directory (feature `std`), for `kwasm run --dir`.
//!
//! Sandboxing: the path layer above ([`super::path`]) only ever hands this file system single,
//! validated names, and interprets `..` and symlinks itself; this layer never follows a host
//! symlink: it `lstat`s, reads links with `readlink`, and before touching a node checks that no
//! directory on its host path has become a symlink. A [`NodeId`] is the host inode number; the
//! file system keeps the relative host path of every node it has handed out (updated on rename).
//!
//! Limits (documented in docs/wasi.md): if another host process swaps a directory for a symlink
//! between that check and the operation, the operation may follow it (the race `openat2`
//! `RESOLVE_BENEATH` would close; std has no portable `openat`). Inode numbers are assumed unique
//! under the root (one host file system). Open file handles are cached per node (at most
//! [`MAX_HANDLES`]) so reads and writes do not reopen or allocate.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirEntryExt, FileExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::string::{String, ToString};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use std::vec::Vec;

use super::{DirEntry, Metadata, NodeId, NodeKind, SetTime, Vfs, VfsError, VfsResult};

/// Most open host file handles kept at once.
pub const MAX_HANDLES: usize = 64;

struct Handle {
    file: File,
    writable: bool,
}

#[derive(Default)]
struct State {
    /// Node → path relative to the root ("" for the root).
    paths: BTreeMap<NodeId, PathBuf>,
    handles: BTreeMap<NodeId, Handle>,
}

/// A host directory as a file system.
pub struct HostDir {
    root: PathBuf,
    root_ino: NodeId,
    state: Mutex<State>,
}

impl core::fmt::Debug for HostDir {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "HostDir({})", self.root.display())
    }
}

fn io_error(e: io::Error) -> VfsError {
    use io::ErrorKind as K;
    match e.kind() {
        K::NotFound => VfsError::NotFound,
        K::AlreadyExists => VfsError::AlreadyExists,
        K::NotADirectory => VfsError::NotADirectory,
        K::IsADirectory => VfsError::IsADirectory,
        K::DirectoryNotEmpty => VfsError::DirectoryNotEmpty,
        K::StorageFull | K::FileTooLarge => VfsError::NoSpace,
        K::ReadOnlyFilesystem => VfsError::ReadOnly,
        K::InvalidInput | K::CrossesDevices => VfsError::Invalid,
        // std's only source of InvalidFilename on Unix is ENAMETOOLONG.
        K::InvalidFilename => VfsError::NameTooLong,
        K::PermissionDenied => VfsError::Permission,
        K::Unsupported => VfsError::Unsupported,
        // ELOOP has no stable ErrorKind yet.
        _ if e.raw_os_error() == Some(40) => VfsError::Loop,
        _ => VfsError::Io(e.to_string()),
    }
}

fn kind_of(ft: fs::FileType) -> NodeKind {
    if ft.is_dir() {
        NodeKind::Dir
    } else if ft.is_symlink() {
        NodeKind::Symlink
    } else {
        NodeKind::File
    }
}

fn ns(secs: i64, nsec: i64) -> u64 {
    u64::try_from(secs)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(nsec).unwrap_or(0))
}

fn check_name(name: &str) -> VfsResult<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(VfsError::InvalidName);
    }
    Ok(())
}

impl HostDir {
    /// Opens `root` (which must be a directory) as a file system.
    pub fn new(root: impl AsRef<Path>) -> VfsResult<Self> {
        let root = fs::canonicalize(root.as_ref()).map_err(io_error)?;
        let meta = fs::metadata(&root).map_err(io_error)?;
        if !meta.is_dir() {
            return Err(VfsError::NotADirectory);
        }
        let mut state = State::default();
        state.paths.insert(meta.ino(), PathBuf::new());
        Ok(HostDir {
            root,
            root_ino: meta.ino(),
            state: Mutex::new(state),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that matters
        // for safety (every entry is re-validated by lstat), so a poisoned lock is used as is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn rel(&self, node: NodeId) -> VfsResult<PathBuf> {
        self.state()
            .paths
            .get(&node)
            .cloned()
            .ok_or(VfsError::NotFound)
    }

    /// The host path of `rel`, after checking that no directory on the way is a symlink.
    fn host(&self, rel: &Path) -> VfsResult<PathBuf> {
        let mut path = self.root.clone();
        let mut components = rel.components().peekable();
        while let Some(c) = components.next() {
            let Component::Normal(name) = c else {
                return Err(VfsError::Escape);
            };
            path.push(name);
            if components.peek().is_some() {
                let meta = fs::symlink_metadata(&path).map_err(io_error)?;
                if !meta.file_type().is_dir() {
                    return Err(if meta.file_type().is_symlink() {
                        VfsError::Escape
                    } else {
                        VfsError::NotADirectory
                    });
                }
            }
        }
        Ok(path)
    }

    /// The host path of `node`, checking that it still is that node.
    fn node_path(&self, node: NodeId) -> VfsResult<(PathBuf, fs::Metadata)> {
        let path = self.host(&self.rel(node)?)?;
        let meta = fs::symlink_metadata(&path).map_err(io_error)?;
        if meta.ino() != node {
            return Err(VfsError::NotFound);
        }
        Ok((path, meta))
    }

    fn child(&self, dir: NodeId, name: &str) -> VfsResult<(PathBuf, PathBuf)> {
        check_name(name)?;
        let rel = self.rel(dir)?.join(name);
        let host = self.host(&rel)?;
        Ok((rel, host))
    }

    fn remember(&self, rel: PathBuf, host: &Path) -> VfsResult<NodeId> {
        let meta = fs::symlink_metadata(host).map_err(io_error)?;
        self.state().paths.insert(meta.ino(), rel);
        Ok(meta.ino())
    }

    /// Like [`HostDir::remember`] for a node just created: a cached handle under the same inode
    /// number belongs to a deleted file whose number the host reused, and is dropped.
    fn remember_new(&self, rel: PathBuf, host: &Path) -> VfsResult<NodeId> {
        let ino = self.remember(rel, host)?;
        self.state().handles.remove(&ino);
        Ok(ino)
    }

    /// Drops what is known about `ino` at `rel` after it was removed from there.
    fn forget(&self, rel: &Path, ino: NodeId) {
        let mut st = self.state();
        if st.paths.get(&ino).is_some_and(|p| p == rel) {
            st.paths.remove(&ino);
        }
        st.handles.remove(&ino);
    }

    /// Runs `f` on an open handle for regular file `node` (writable if `write`).
    fn with_file<T>(
        &self,
        node: NodeId,
        write: bool,
        f: impl FnOnce(&File) -> io::Result<T>,
    ) -> VfsResult<T> {
        {
            let st = self.state();
            if let Some(h) = st.handles.get(&node) {
                if h.writable || !write {
                    return f(&h.file).map_err(io_error);
                }
            }
        }
        let (path, meta) = self.node_path(node)?;
        if meta.file_type().is_symlink() {
            return Err(VfsError::Unsupported);
        }
        if meta.is_dir() && write {
            return Err(VfsError::IsADirectory);
        }
        let (file, writable) = match OpenOptions::new()
            .read(true)
            .write(!meta.is_dir())
            .open(&path)
        {
            Ok(file) => (file, !meta.is_dir()),
            Err(_) if !write => (File::open(&path).map_err(io_error)?, false),
            Err(e) => return Err(io_error(e)),
        };
        // The path was checked to be this node; make sure the open did not race onto another.
        if file.metadata().map_err(io_error)?.ino() != node {
            return Err(VfsError::NotFound);
        }
        let result = f(&file).map_err(io_error);
        let mut st = self.state();
        if st.handles.len() >= MAX_HANDLES {
            if let Some(first) = st.handles.keys().next().copied() {
                st.handles.remove(&first);
            }
        }
        st.handles.insert(node, Handle { file, writable });
        result
    }
}

impl Vfs for HostDir {
    fn root(&self) -> NodeId {
        self.root_ino
    }

    fn stat(&self, node: NodeId) -> VfsResult<Metadata> {
        let (_, m) = self.node_path(node)?;
        Ok(Metadata {
            ino: m.ino(),
            kind: kind_of(m.file_type()),
            size: m.len(),
            nlink: m.nlink(),
            atime_ns: ns(m.atime(), m.atime_nsec()),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        })
    }

    fn lookup(&self, dir: NodeId, name: &str) -> VfsResult<NodeId> {
        let (rel, host) = self.child(dir, name)?;
        self.remember(rel, &host)
    }

    fn parent(&self, dir: NodeId) -> VfsResult<NodeId> {
        if dir == self.root_ino {
            return Ok(dir);
        }
        let rel = self.rel(dir)?;
        let up = rel.parent().map(Path::to_path_buf).unwrap_or_default();
        let host = self.host(&up)?;
        self.remember(up, &host)
    }

    fn create(&self, dir: NodeId, name: &str, kind: NodeKind) -> VfsResult<NodeId> {
        let (rel, host) = self.child(dir, name)?;
        match kind {
            NodeKind::File => {
                OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&host)
                    .map_err(io_error)?;
            }
            NodeKind::Dir => fs::create_dir(&host).map_err(io_error)?,
            NodeKind::Symlink => return Err(VfsError::Invalid),
        }
        self.remember_new(rel, &host)
    }

    fn symlink(&self, dir: NodeId, name: &str, target: &str) -> VfsResult<NodeId> {
        let (rel, host) = self.child(dir, name)?;
        if target.is_empty() || target.contains('\0') {
            return Err(VfsError::NotFound);
        }
        std::os::unix::fs::symlink(target, &host).map_err(io_error)?;
        self.remember_new(rel, &host)
    }

    fn readlink(&self, node: NodeId) -> VfsResult<String> {
        let (path, meta) = self.node_path(node)?;
        if !meta.file_type().is_symlink() {
            return Err(VfsError::Invalid);
        }
        let target = fs::read_link(path).map_err(io_error)?;
        target
            .into_os_string()
            .into_string()
            .map_err(|_| VfsError::InvalidName)
    }

    fn link(&self, node: NodeId, dir: NodeId, name: &str) -> VfsResult<()> {
        let (src, meta) = self.node_path(node)?;
        if meta.is_dir() {
            return Err(VfsError::Permission);
        }
        let (_, host) = self.child(dir, name)?;
        fs::hard_link(src, host).map_err(io_error)
    }

    fn unlink(&self, dir: NodeId, name: &str) -> VfsResult<()> {
        let (rel, host) = self.child(dir, name)?;
        let meta = fs::symlink_metadata(&host).map_err(io_error)?;
        if meta.is_dir() {
            return Err(VfsError::IsADirectory);
        }
        fs::remove_file(&host).map_err(io_error)?;
        self.forget(&rel, meta.ino());
        Ok(())
    }

    fn rmdir(&self, dir: NodeId, name: &str) -> VfsResult<()> {
        let (rel, host) = self.child(dir, name)?;
        let meta = fs::symlink_metadata(&host).map_err(io_error)?;
        if !meta.is_dir() {
            return Err(VfsError::NotADirectory);
        }
        if meta.ino() == self.root_ino {
            return Err(VfsError::Permission);
        }
        fs::remove_dir(&host).map_err(io_error)?;
        self.forget(&rel, meta.ino());
        Ok(())
    }

    fn rename(&self, from_dir: NodeId, from: &str, to_dir: NodeId, to: &str) -> VfsResult<()> {
        let (from_rel, from_host) = self.child(from_dir, from)?;
        let (to_rel, to_host) = self.child(to_dir, to)?;
        let replaced = fs::symlink_metadata(&to_host).ok().map(|m| m.ino());
        fs::rename(&from_host, &to_host).map_err(io_error)?;
        let mut st = self.state();
        if let Some(ino) = replaced {
            st.handles.remove(&ino);
        }
        for path in st.paths.values_mut() {
            if let Ok(rest) = path.strip_prefix(&from_rel) {
                *path = to_rel.join(rest);
            }
        }
        Ok(())
    }

    fn read_at(&self, node: NodeId, offset: u64, buf: &mut [u8]) -> VfsResult<usize> {
        self.with_file(node, false, |f| f.read_at(buf, offset))
    }

    fn write_at(&self, node: NodeId, offset: u64, data: &[u8]) -> VfsResult<usize> {
        self.with_file(node, true, |f| f.write_at(data, offset))
    }

    fn set_len(&self, node: NodeId, len: u64) -> VfsResult<()> {
        self.with_file(node, true, |f| f.set_len(len))
    }

    fn set_times(&self, node: NodeId, atime: SetTime, mtime: SetTime) -> VfsResult<()> {
        let to_time = |t: SetTime| match t {
            SetTime::Keep => None,
            SetTime::Now => Some(SystemTime::now()),
            SetTime::At(ns) => Some(UNIX_EPOCH + Duration::from_nanos(ns)),
        };
        let mut times = fs::FileTimes::new();
        if let Some(t) = to_time(atime) {
            times = times.set_accessed(t);
        }
        if let Some(t) = to_time(mtime) {
            times = times.set_modified(t);
        }
        self.with_file(node, false, |f| f.set_times(times))
    }

    fn read_dir(&self, dir: NodeId) -> VfsResult<Vec<DirEntry>> {
        let (path, meta) = self.node_path(dir)?;
        if !meta.is_dir() {
            return Err(VfsError::NotADirectory);
        }
        let mut out = Vec::new();
        for entry in fs::read_dir(path).map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            // Names that are not UTF-8 cannot be expressed to a WASI guest; they are skipped.
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let kind = kind_of(entry.file_type().map_err(io_error)?);
            out.push(DirEntry {
                name,
                ino: entry.ino(),
                kind,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn sync(&self, node: NodeId) -> VfsResult<()> {
        let (_, meta) = self.node_path(node)?;
        if meta.is_dir() {
            return Ok(());
        }
        self.with_file(node, false, |f| f.sync_all())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::path::{resolve, Absolute};
    use std::format;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hostdir-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sandbox/sub")).unwrap();
        fs::write(dir.join("secret"), b"secret").unwrap();
        dir
    }

    #[test]
    fn files_dirs_and_renames() {
        let dir = scratch("basic");
        let fs_ = HostDir::new(dir.join("sandbox")).unwrap();
        let root = fs_.root();
        let f = fs_.create(root, "a.txt", NodeKind::File).unwrap();
        assert_eq!(fs_.write_at(f, 0, b"hello").unwrap(), 5);
        let mut buf = [0u8; 8];
        assert_eq!(fs_.read_at(f, 1, &mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"ello");
        let sub = fs_.lookup(root, "sub").unwrap();
        fs_.rename(root, "a.txt", sub, "b.txt").unwrap();
        assert_eq!(fs_.stat(f).unwrap().size, 5);
        assert_eq!(fs_.lookup(sub, "b.txt").unwrap(), f);
        let names: Vec<String> = fs_
            .read_dir(sub)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["b.txt"]);
        assert_eq!(fs_.parent(sub).unwrap(), root);
        assert_eq!(fs_.rmdir(root, "sub"), Err(VfsError::DirectoryNotEmpty));
        // A file created after another was removed never sees the old file's data, even when
        // the host reuses the inode number.
        fs_.unlink(sub, "b.txt").unwrap();
        let g = fs_.create(sub, "c.txt", NodeKind::File).unwrap();
        assert_eq!(fs_.read_at(g, 0, &mut buf).unwrap(), 0);
        assert_eq!(fs_.unlink(root, "sub"), Err(VfsError::IsADirectory));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn host_symlinks_never_escape() {
        let dir = scratch("escape");
        std::os::unix::fs::symlink(dir.join("secret"), dir.join("sandbox/abs")).unwrap();
        std::os::unix::fs::symlink("../secret", dir.join("sandbox/rel")).unwrap();
        std::os::unix::fs::symlink("..", dir.join("sandbox/up")).unwrap();
        let fs_ = HostDir::new(dir.join("sandbox")).unwrap();
        let root = fs_.root();
        for p in ["abs", "rel", "up/secret", "../secret", "/secret"] {
            assert_eq!(
                resolve(&fs_, root, root, p, Absolute::Reject, true),
                Err(VfsError::Escape),
                "{p}"
            );
        }
        // Reading the link node itself is refused rather than following it on the host.
        let link = fs_.lookup(root, "abs").unwrap();
        assert_eq!(
            fs_.read_at(link, 0, &mut [0u8; 4]),
            Err(VfsError::Unsupported)
        );
        assert_eq!(fs_.lookup(root, ".."), Err(VfsError::InvalidName));
        let _ = fs::remove_dir_all(dir);
    }
}
