//! A [`Vfs`] over a real host directory (feature `std`), for `kwasm run --dir`.
//!
//! Every operation is one or two `*at` system calls on an open descriptor of the directory that
//! holds the name (`openat`, `fstatat`, `mkdirat`, `unlinkat`, `renameat`, `linkat`,
//! `symlinkat`, `readlinkat`, `utimensat`), through `rustix`, with `O_NOFOLLOW` /
//! `AT_SYMLINK_NOFOLLOW` throughout. The path layer above ([`super::path`]) only ever hands this
//! file system single, validated names and interprets `..` and symlinks itself, so a name is
//! never resolved by the host beyond one directory entry: no host symlink is followed, and the
//! cost of an operation does not depend on how deep its directory is (resolving a path of `n`
//! components is `O(n)` system calls).
//!
//! A [`NodeId`] is the host inode number. For every node handed out the file system remembers
//! its parent directory's node and its name (`Place`); renames update one place. Directory
//! descriptors are cached ([`MAX_DIR_FDS`], least recently used out; the root's is kept), and a
//! directory not in the cache is reopened from its nearest cached ancestor, component by
//! component, each checked to be the same inode. Open file handles are cached per node (at
//! most [`MAX_HANDLES`]) so reads and writes do not reopen.
//!
//! Remaining limit (documented in docs/wasi.md): a directory whose descriptor is cached keeps
//! being that directory if *another host process* moves it elsewhere, out of the sandbox too
//! (as with cap-std's `Dir`). Inode numbers are assumed unique under the root (one host file
//! system).

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::string::{String, ToString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::vec::Vec;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat, Timespec, Timestamps};

use super::{DirEntry, Metadata, NodeId, NodeKind, SetTime, Vfs, VfsError, VfsResult};

/// Most open host file handles kept at once.
pub const MAX_HANDLES: usize = 64;

/// Most directory descriptors kept open at once (the root's not counted). A path walk needs
/// only the last one; the cache saves reopening the directories a guest works in.
pub const MAX_DIR_FDS: usize = 64;

/// How directories are opened: only to be the base of `*at` calls (Linux `O_PATH`: no read
/// permission needed, as the kernel's own path walk).
#[cfg(any(target_os = "linux", target_os = "android"))]
const DIR_OPEN: OFlags = OFlags::PATH
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const DIR_OPEN: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

struct Handle {
    file: File,
    writable: bool,
}

/// Where a node was last seen: the directory holding it and its name there.
#[derive(Debug, Clone)]
struct Place {
    parent: NodeId,
    name: String,
}

/// A directory's modification and change times (seconds, nanoseconds each): they change with
/// every change of its entries, so a listing made at one version is current while it holds.
type Version = (i64, i64, i64, i64);

/// A cached directory descriptor and when it was last used.
struct DirFd {
    fd: OwnedFd,
    used: u64,
}

struct State {
    /// Node → where it is (every node handed out but the root).
    places: BTreeMap<NodeId, Place>,
    dirs: BTreeMap<NodeId, DirFd>,
    handles: BTreeMap<NodeId, Handle>,
    /// A counter for least-recently-used eviction of `dirs`.
    clock: u64,
    /// Directory listings kept between `read_dir_range` calls: (dir, its modification and
    /// change times when listed, the entries).
    listing: Option<(NodeId, Version, Vec<DirEntry>)>,
}

/// A host directory as a file system.
pub struct HostDir {
    root: OwnedFd,
    root_ino: NodeId,
    root_path: std::path::PathBuf,
    state: Mutex<State>,
    /// Work done on the host so far ([`Vfs::work`]): system calls, data moved, entries listed.
    work: AtomicU64,
}

impl core::fmt::Debug for HostDir {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "HostDir({})", self.root_path.display())
    }
}

fn errno(e: rustix::io::Errno) -> VfsError {
    use rustix::io::Errno as E;
    match e {
        E::NOENT => VfsError::NotFound,
        E::EXIST => VfsError::AlreadyExists,
        E::NOTDIR => VfsError::NotADirectory,
        E::ISDIR => VfsError::IsADirectory,
        E::NOTEMPTY => VfsError::DirectoryNotEmpty,
        E::NOSPC | E::FBIG | E::DQUOT => VfsError::NoSpace,
        E::ROFS => VfsError::ReadOnly,
        E::INVAL | E::XDEV => VfsError::Invalid,
        E::NAMETOOLONG => VfsError::NameTooLong,
        E::ACCESS | E::PERM => VfsError::Permission,
        E::NOTSUP => VfsError::Unsupported,
        E::LOOP => VfsError::Loop,
        other => VfsError::Io(io::Error::from(other).to_string()),
    }
}

fn io_error(e: io::Error) -> VfsError {
    match e.raw_os_error() {
        Some(code) => errno(rustix::io::Errno::from_raw_os_error(code)),
        None => VfsError::Io(e.to_string()),
    }
}

fn kind_of(mode: u32) -> NodeKind {
    match FileType::from_raw_mode(mode) {
        FileType::Directory => NodeKind::Dir,
        FileType::Symlink => NodeKind::Symlink,
        _ => NodeKind::File,
    }
}

fn ns(secs: i64, nsec: i64) -> u64 {
    u64::try_from(secs)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(nsec).unwrap_or(0))
}

/// The modification and change times of `st`, which tell whether a directory changed.
// The field types of `Stat` differ between architectures.
#[allow(clippy::unnecessary_cast)]
fn times_of(st: &Stat) -> Version {
    (
        st.st_mtime as i64,
        st.st_mtime_nsec as i64,
        st.st_ctime as i64,
        st.st_ctime_nsec as i64,
    )
}

// The field types of `Stat` differ between architectures.
#[allow(clippy::unnecessary_cast)]
fn metadata(st: &Stat) -> Metadata {
    Metadata {
        ino: st.st_ino,
        kind: kind_of(st.st_mode),
        size: u64::try_from(st.st_size).unwrap_or(0),
        nlink: st.st_nlink as u64,
        atime_ns: ns(st.st_atime as i64, st.st_atime_nsec as i64),
        mtime_ns: ns(st.st_mtime as i64, st.st_mtime_nsec as i64),
        ctime_ns: ns(st.st_ctime as i64, st.st_ctime_nsec as i64),
    }
}

fn check_name(name: &str) -> VfsResult<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(VfsError::InvalidName);
    }
    Ok(())
}

fn timespec(t: SetTime) -> Timespec {
    match t {
        SetTime::Keep => Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
        SetTime::Now => Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_NOW,
        },
        SetTime::At(ns) => Timespec {
            tv_sec: i64::try_from(ns / 1_000_000_000).unwrap_or(i64::MAX),
            tv_nsec: (ns % 1_000_000_000) as _,
        },
    }
}

impl HostDir {
    /// Opens `root` (which must be a directory) as a file system.
    pub fn new(root: impl AsRef<Path>) -> VfsResult<Self> {
        let root_path = root.as_ref().to_path_buf();
        // The root itself is opened as the user named it (symlinks followed): it is the
        // sandbox the user chose.
        let fd = rustix::fs::open(
            &root_path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno)?;
        let st = rustix::fs::fstat(&fd).map_err(errno)?;
        Ok(HostDir {
            root: fd,
            root_ino: st.st_ino,
            root_path,
            state: Mutex::new(State {
                places: BTreeMap::new(),
                dirs: BTreeMap::new(),
                handles: BTreeMap::new(),
                clock: 0,
                listing: None,
            }),
            work: AtomicU64::new(1),
        })
    }

    /// Counts one host system call.
    fn call(&self) {
        self.charge(1);
    }

    fn charge(&self, units: u64) {
        self.work.fetch_add(units, Ordering::Relaxed);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every entry is re-validated against the host (inode checks) before use, so a lock
        // poisoned by a panic is used as is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with a descriptor of directory `dir` (opening it if it is not cached).
    fn with_dir<T>(
        &self,
        st: &mut State,
        dir: NodeId,
        f: impl FnOnce(BorrowedFd<'_>) -> VfsResult<T>,
    ) -> VfsResult<T> {
        if dir == self.root_ino {
            return f(self.root.as_fd());
        }
        st.clock += 1;
        let now = st.clock;
        if let Some(entry) = st.dirs.get_mut(&dir) {
            entry.used = now;
            return f(entry.fd.as_fd());
        }
        let fd = self.open_dir(st, dir)?;
        let result = f(fd.as_fd());
        Self::keep_dir(st, dir, fd);
        result
    }

    /// Caches the descriptor of directory `dir`, evicting the least recently used one when full.
    fn keep_dir(st: &mut State, dir: NodeId, fd: OwnedFd) {
        st.clock += 1;
        let used = st.clock;
        if st.dirs.len() >= MAX_DIR_FDS && !st.dirs.contains_key(&dir) {
            if let Some(oldest) = st.dirs.iter().min_by_key(|(_, d)| d.used).map(|(n, _)| *n) {
                st.dirs.remove(&oldest);
            }
        }
        st.dirs.insert(dir, DirFd { fd, used });
    }

    /// Opens directory `dir` from its nearest ancestor with an open descriptor, one checked
    /// component at a time (two system calls each), caching the directories on the way: a
    /// walk back up from a deep directory whose ancestors' descriptors were evicted pays for
    /// each level once, not once per step.
    fn open_dir(&self, st: &mut State, dir: NodeId) -> VfsResult<OwnedFd> {
        // The chain of places from `dir` up to a directory with a descriptor (at most the
        // nodes known, so a cycle a racing host could make cannot loop for ever).
        let mut chain: Vec<(NodeId, Place)> = Vec::new();
        let mut node = dir;
        while node != self.root_ino && !st.dirs.contains_key(&node) {
            let place = st.places.get(&node).ok_or(VfsError::NotFound)?;
            chain.push((node, place.clone()));
            if chain.len() > st.places.len() {
                return Err(VfsError::NotFound);
            }
            node = place.parent;
        }
        let mut current: Option<(NodeId, OwnedFd)> = None;
        for (node, place) in chain.into_iter().rev() {
            let opened = {
                let base = match &current {
                    Some((_, fd)) => fd.as_fd(),
                    None if place.parent == self.root_ino => self.root.as_fd(),
                    None => st
                        .dirs
                        .get(&place.parent)
                        .map(|d| d.fd.as_fd())
                        .ok_or(VfsError::NotFound)?,
                };
                self.call();
                rustix::fs::openat(base, place.name.as_str(), DIR_OPEN, Mode::empty())
            };
            let fd = opened.map_err(|e| match e {
                // A symlink (O_NOFOLLOW) or a file where a directory was: not that node.
                rustix::io::Errno::LOOP => VfsError::NotFound,
                e => errno(e),
            })?;
            self.call();
            if rustix::fs::fstat(&fd).map_err(errno)?.st_ino != node {
                return Err(VfsError::NotFound);
            }
            if let Some((parent, parent_fd)) = current.replace((node, fd)) {
                Self::keep_dir(st, parent, parent_fd);
            }
        }
        match current {
            Some((_, fd)) => Ok(fd),
            // `dir` is cached or the root: callers check before.
            None => Err(VfsError::NotFound),
        }
    }

    /// `fstatat(dir, name)` without following a symlink.
    fn stat_at(&self, st: &mut State, dir: NodeId, name: &str) -> VfsResult<Stat> {
        self.with_dir(st, dir, |fd| {
            self.call();
            rustix::fs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW).map_err(errno)
        })
    }

    /// The place of `node` and its current status there, checking it still is that node.
    fn locate(&self, st: &mut State, node: NodeId) -> VfsResult<(Place, Stat)> {
        let place = st.places.get(&node).cloned().ok_or(VfsError::NotFound)?;
        let stat = self.stat_at(st, place.parent, &place.name)?;
        if stat.st_ino != node {
            return Err(VfsError::NotFound);
        }
        Ok((place, stat))
    }

    /// Records that `ino` is `dir/name`.
    fn remember(st: &mut State, ino: NodeId, dir: NodeId, name: &str) {
        match st.places.get_mut(&ino) {
            Some(place) if place.parent == dir && place.name == name => {}
            Some(place) => {
                place.parent = dir;
                place.name = name.to_string();
            }
            None => {
                st.places.insert(
                    ino,
                    Place {
                        parent: dir,
                        name: name.to_string(),
                    },
                );
            }
        }
    }

    /// Like [`HostDir::remember`] for a node just created: anything cached under the same inode
    /// number belongs to a deleted node whose number the host reused, and is dropped.
    fn remember_new(st: &mut State, ino: NodeId, dir: NodeId, name: &str) {
        st.handles.remove(&ino);
        st.dirs.remove(&ino);
        Self::remember(st, ino, dir, name);
    }

    /// Drops what is known about `ino` after `dir/name` was removed.
    fn forget(st: &mut State, ino: NodeId, dir: NodeId, name: &str) {
        if st
            .places
            .get(&ino)
            .is_some_and(|p| p.parent == dir && p.name == name)
        {
            st.places.remove(&ino);
        }
        st.handles.remove(&ino);
        st.dirs.remove(&ino);
    }

    /// Removes `name` from the cached listing of `dir`.
    fn unlist(&self, st: &mut State, dir: NodeId, name: &str) {
        self.edit_listing(st, dir, |entries| entries.retain(|e| e.name != name));
    }

    /// Adds `name` to the cached listing of `dir`, in name order.
    fn list_entry(&self, st: &mut State, dir: NodeId, name: &str, ino: NodeId, kind: NodeKind) {
        self.edit_listing(st, dir, |entries| {
            let at = entries.partition_point(|e| e.name.as_str() < name);
            let name = name.to_string();
            entries.insert(at, DirEntry { name, ino, kind });
        });
    }

    /// Runs `f` on an open handle for regular file `node` (writable if `write`).
    fn with_file<T>(
        &self,
        node: NodeId,
        write: bool,
        f: impl FnOnce(&File) -> io::Result<T>,
    ) -> VfsResult<T> {
        let mut st = self.state();
        if let Some(h) = st.handles.get(&node) {
            if h.writable || !write {
                self.call();
                return f(&h.file).map_err(io_error);
            }
        }
        let (place, stat) = self.locate(&mut st, node)?;
        match kind_of(stat.st_mode) {
            NodeKind::Symlink => return Err(VfsError::Unsupported),
            NodeKind::Dir if write => return Err(VfsError::IsADirectory),
            _ => {}
        }
        let is_dir = kind_of(stat.st_mode) == NodeKind::Dir;
        let mut open = |flags: OFlags| {
            self.with_dir(&mut st, place.parent, |fd| {
                self.call();
                rustix::fs::openat(
                    fd,
                    place.name.as_str(),
                    flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(errno)
            })
        };
        let (fd, writable) = if is_dir {
            (open(OFlags::RDONLY)?, false)
        } else {
            match open(OFlags::RDWR) {
                Ok(fd) => (fd, true),
                Err(_) if !write => (open(OFlags::RDONLY)?, false),
                Err(e) => return Err(e),
            }
        };
        // The name was checked to be this node; make sure the open did not race onto another.
        self.call();
        if rustix::fs::fstat(&fd).map_err(errno)?.st_ino != node {
            return Err(VfsError::NotFound);
        }
        let file = File::from(fd);
        self.call();
        let result = f(&file).map_err(io_error);
        if st.handles.len() >= MAX_HANDLES {
            if let Some(first) = st.handles.keys().next().copied() {
                st.handles.remove(&first);
            }
        }
        st.handles.insert(node, Handle { file, writable });
        result
    }

    /// Keeps the cached listing of `dir` (if it is the one cached) right after this file system
    /// changed `dir`: `edit` updates the entries, and the directory's new times become the
    /// listing's version. So a guest alternating changes and `fd_readdir` never relists a large
    /// directory per call.
    fn edit_listing(&self, st: &mut State, dir: NodeId, edit: impl FnOnce(&mut Vec<DirEntry>)) {
        if !matches!(&st.listing, Some((d, _, _)) if *d == dir) {
            return;
        }
        let version = if dir == self.root_ino {
            self.call();
            rustix::fs::fstat(&self.root).map(|s| times_of(&s)).ok()
        } else {
            self.locate(st, dir).map(|(_, s)| times_of(&s)).ok()
        };
        match (version, st.listing.as_mut()) {
            (Some(version), Some((_, v, entries))) => {
                edit(entries);
                *v = version;
            }
            _ => st.listing = None,
        }
    }

    /// Every entry of directory `dir` (without `.` and `..`), sorted by name.
    fn list(&self, st: &mut State, dir: NodeId) -> VfsResult<Vec<DirEntry>> {
        let fd = self.with_dir(st, dir, |fd| {
            self.call();
            rustix::fs::openat(
                fd,
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(errno)
        })?;
        let mut entries = Vec::new();
        let mut reader = rustix::fs::Dir::new(fd).map_err(errno)?;
        let mut visited = 0u64;
        loop {
            visited += 1;
            if visited % super::WORK_ENTRIES == 0 {
                self.call();
            }
            let Some(entry) = reader.read() else { break };
            let entry = entry.map_err(errno)?;
            let name: &CStr = entry.file_name();
            if name == c"." || name == c".." {
                continue;
            }
            // Names that are not UTF-8 cannot be expressed to a WASI guest; they are skipped.
            let Ok(name) = name.to_str() else { continue };
            let kind = match entry.file_type() {
                FileType::Directory => NodeKind::Dir,
                FileType::Symlink => NodeKind::Symlink,
                FileType::Unknown => {
                    self.call();
                    let fd = reader.fd().map_err(errno)?;
                    let stat =
                        rustix::fs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW).map_err(errno)?;
                    kind_of(stat.st_mode)
                }
                _ => NodeKind::File,
            };
            entries.push(DirEntry {
                name: name.to_string(),
                ino: entry.ino(),
                kind,
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }
}

impl Vfs for HostDir {
    fn root(&self) -> NodeId {
        self.root_ino
    }

    fn stat(&self, node: NodeId) -> VfsResult<Metadata> {
        if node == self.root_ino {
            self.call();
            return Ok(metadata(&rustix::fs::fstat(&self.root).map_err(errno)?));
        }
        let mut st = self.state();
        let (_, stat) = self.locate(&mut st, node)?;
        Ok(metadata(&stat))
    }

    fn lookup(&self, dir: NodeId, name: &str) -> VfsResult<NodeId> {
        check_name(name)?;
        let mut st = self.state();
        let stat = self.stat_at(&mut st, dir, name)?;
        Self::remember(&mut st, stat.st_ino, dir, name);
        Ok(stat.st_ino)
    }

    fn parent(&self, dir: NodeId) -> VfsResult<NodeId> {
        if dir == self.root_ino {
            return Ok(dir);
        }
        let st = self.state();
        st.places
            .get(&dir)
            .map(|p| p.parent)
            .ok_or(VfsError::NotFound)
    }

    fn create(&self, dir: NodeId, name: &str, kind: NodeKind) -> VfsResult<NodeId> {
        check_name(name)?;
        let mut st = self.state();
        let ino = self.with_dir(&mut st, dir, |fd| match kind {
            NodeKind::File => {
                self.call();
                let file = rustix::fs::openat(
                    fd,
                    name,
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o666),
                )
                .map_err(errno)?;
                self.call();
                Ok(rustix::fs::fstat(&file).map_err(errno)?.st_ino)
            }
            NodeKind::Dir => {
                self.call();
                rustix::fs::mkdirat(fd, name, Mode::from_raw_mode(0o777)).map_err(errno)?;
                self.call();
                Ok(rustix::fs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(errno)?
                    .st_ino)
            }
            NodeKind::Symlink => Err(VfsError::Invalid),
        })?;
        Self::remember_new(&mut st, ino, dir, name);
        self.list_entry(&mut st, dir, name, ino, kind);
        Ok(ino)
    }

    fn symlink(&self, dir: NodeId, name: &str, target: &str) -> VfsResult<NodeId> {
        check_name(name)?;
        if target.is_empty() || target.contains('\0') {
            return Err(VfsError::NotFound);
        }
        let mut st = self.state();
        let ino = self.with_dir(&mut st, dir, |fd| {
            self.call();
            rustix::fs::symlinkat(target, fd, name).map_err(errno)?;
            self.call();
            Ok(rustix::fs::statat(fd, name, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno)?
                .st_ino)
        })?;
        Self::remember_new(&mut st, ino, dir, name);
        self.list_entry(&mut st, dir, name, ino, NodeKind::Symlink);
        Ok(ino)
    }

    fn readlink(&self, node: NodeId) -> VfsResult<String> {
        let mut st = self.state();
        let (place, stat) = self.locate(&mut st, node)?;
        if kind_of(stat.st_mode) != NodeKind::Symlink {
            return Err(VfsError::Invalid);
        }
        let target = self.with_dir(&mut st, place.parent, |fd| {
            self.call();
            rustix::fs::readlinkat(fd, place.name.as_str(), Vec::new()).map_err(errno)
        })?;
        target.into_string().map_err(|_| VfsError::InvalidName)
    }

    fn link(&self, node: NodeId, dir: NodeId, name: &str) -> VfsResult<()> {
        check_name(name)?;
        let mut st = self.state();
        let (place, stat) = self.locate(&mut st, node)?;
        let kind = kind_of(stat.st_mode);
        if kind == NodeKind::Dir {
            return Err(VfsError::Permission);
        }
        // Both directories open at once: the source's descriptor is taken out of the cache for
        // the call (or opened), the target's borrowed from it.
        let source = match st.dirs.remove(&place.parent) {
            Some(d) => Some(d.fd),
            None if place.parent == self.root_ino => None,
            None => Some(self.open_dir(&mut st, place.parent)?),
        };
        let source_fd = source.as_ref().map_or(self.root.as_fd(), |fd| fd.as_fd());
        let result = self.with_dir(&mut st, dir, |fd| {
            self.call();
            rustix::fs::linkat(source_fd, place.name.as_str(), fd, name, AtFlags::empty())
                .map_err(errno)
        });
        if let Some(fd) = source {
            Self::keep_dir(&mut st, place.parent, fd);
        }
        result?;
        // A symlink is linked itself (no follow), and listed as one.
        self.list_entry(&mut st, dir, name, node, kind);
        Ok(())
    }

    fn unlink(&self, dir: NodeId, name: &str) -> VfsResult<()> {
        check_name(name)?;
        let mut st = self.state();
        let stat = self.stat_at(&mut st, dir, name)?;
        if kind_of(stat.st_mode) == NodeKind::Dir {
            return Err(VfsError::IsADirectory);
        }
        self.with_dir(&mut st, dir, |fd| {
            self.call();
            rustix::fs::unlinkat(fd, name, AtFlags::empty()).map_err(errno)
        })?;
        Self::forget(&mut st, stat.st_ino, dir, name);
        self.unlist(&mut st, dir, name);
        Ok(())
    }

    fn rmdir(&self, dir: NodeId, name: &str) -> VfsResult<()> {
        check_name(name)?;
        let mut st = self.state();
        let stat = self.stat_at(&mut st, dir, name)?;
        if kind_of(stat.st_mode) != NodeKind::Dir {
            return Err(VfsError::NotADirectory);
        }
        if stat.st_ino == self.root_ino {
            return Err(VfsError::Permission);
        }
        self.with_dir(&mut st, dir, |fd| {
            self.call();
            rustix::fs::unlinkat(fd, name, AtFlags::REMOVEDIR).map_err(errno)
        })?;
        Self::forget(&mut st, stat.st_ino, dir, name);
        self.unlist(&mut st, dir, name);
        Ok(())
    }

    fn rename(&self, from_dir: NodeId, from: &str, to_dir: NodeId, to: &str) -> VfsResult<()> {
        check_name(from)?;
        check_name(to)?;
        let mut st = self.state();
        let moved_stat = self.stat_at(&mut st, from_dir, from)?;
        let (moved, kind) = (moved_stat.st_ino, kind_of(moved_stat.st_mode));
        let replaced = self.stat_at(&mut st, to_dir, to).ok().map(|s| s.st_ino);
        let source = match st.dirs.remove(&from_dir) {
            Some(d) => Some(d.fd),
            None if from_dir == self.root_ino => None,
            None => Some(self.open_dir(&mut st, from_dir)?),
        };
        let source_fd = source.as_ref().map_or(self.root.as_fd(), |fd| fd.as_fd());
        let result = self.with_dir(&mut st, to_dir, |fd| {
            self.call();
            rustix::fs::renameat(source_fd, from, fd, to).map_err(errno)
        });
        if let Some(fd) = source {
            Self::keep_dir(&mut st, from_dir, fd);
        }
        result?;
        if let Some(ino) = replaced.filter(|&ino| ino != moved) {
            Self::forget(&mut st, ino, to_dir, to);
        }
        // The moved node's descriptors (if any) follow it; its children's places are relative
        // to it and stay right.
        Self::remember(&mut st, moved, to_dir, to);
        self.unlist(&mut st, from_dir, from);
        self.unlist(&mut st, to_dir, to);
        self.list_entry(&mut st, to_dir, to, moved, kind);
        Ok(())
    }

    fn read_at(&self, node: NodeId, offset: u64, buf: &mut [u8]) -> VfsResult<usize> {
        let n = self.with_file(node, false, |f| f.read_at(buf, offset))?;
        self.charge(n as u64 / super::WORK_BYTES);
        Ok(n)
    }

    fn write_at(&self, node: NodeId, offset: u64, data: &[u8]) -> VfsResult<usize> {
        let n = self.with_file(node, true, |f| f.write_at(data, offset))?;
        self.charge(n as u64 / super::WORK_BYTES);
        Ok(n)
    }

    fn set_len(&self, node: NodeId, len: u64) -> VfsResult<()> {
        self.with_file(node, true, |f| f.set_len(len))
    }

    /// `utimensat(parent, name, AT_SYMLINK_NOFOLLOW)`: a symlink's own times are set, never
    /// its target's.
    fn set_times(&self, node: NodeId, atime: SetTime, mtime: SetTime) -> VfsResult<()> {
        let times = Timestamps {
            last_access: timespec(atime),
            last_modification: timespec(mtime),
        };
        if node == self.root_ino {
            self.call();
            return rustix::fs::futimens(&self.root, &times).map_err(errno);
        }
        let mut st = self.state();
        let (place, _) = self.locate(&mut st, node)?;
        self.with_dir(&mut st, place.parent, |fd| {
            self.call();
            rustix::fs::utimensat(fd, place.name.as_str(), &times, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(errno)
        })
    }

    fn read_dir(&self, dir: NodeId) -> VfsResult<Vec<DirEntry>> {
        let mut st = self.state();
        self.list(&mut st, dir)
    }

    /// Lists the directory once and keeps the listing while the directory is unchanged (its
    /// modification and change times), so a guest reading a large directory a few entries per
    /// `fd_readdir` costs one listing, not one per call.
    fn read_dir_range(&self, dir: NodeId, skip: usize, max: usize) -> VfsResult<Vec<DirEntry>> {
        let mut st = self.state();
        let stat = if dir == self.root_ino {
            self.call();
            rustix::fs::fstat(&self.root).map_err(errno)?
        } else {
            self.locate(&mut st, dir)?.1
        };
        if kind_of(stat.st_mode) != NodeKind::Dir {
            return Err(VfsError::NotADirectory);
        }
        let version = times_of(&stat);
        let fresh = !matches!(&st.listing, Some((d, v, _)) if *d == dir && *v == version);
        if fresh {
            let entries = self.list(&mut st, dir)?;
            st.listing = Some((dir, version, entries));
        }
        let entries = st.listing.as_ref().map_or(&[][..], |(_, _, e)| &e[..]);
        let start = skip.min(entries.len());
        let end = start.saturating_add(max).min(entries.len());
        Ok(entries[start..end].to_vec())
    }

    fn sync(&self, node: NodeId) -> VfsResult<()> {
        if self.stat(node)?.kind == NodeKind::Dir {
            return Ok(());
        }
        self.with_file(node, false, |f| f.sync_all())
    }

    /// Host system calls made (a path walk costs a few per component), plus the data moved and
    /// the directory entries listed, in work units.
    fn work(&self) -> u64 {
        self.work.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::path::{resolve, Absolute};
    use std::fs;
    use std::path::PathBuf;
    use std::{format, vec};

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

    /// The cached listing keeps every entry's kind through changes made by this file system: a
    /// hard link to a symlink (WASI links the link itself) lists as a symlink, as a fresh listing
    /// shows it.
    #[test]
    fn cached_listing_matches_a_fresh_one_after_links() {
        let dir = scratch("listing");
        let fs_ = HostDir::new(dir.join("sandbox")).unwrap();
        let root = fs_.root();
        fs_.create(root, "f", NodeKind::File).unwrap();
        let link = fs_.symlink(root, "l", "f").unwrap();
        let kinds = |entries: Vec<DirEntry>| -> Vec<(String, NodeKind)> {
            entries.into_iter().map(|e| (e.name, e.kind)).collect()
        };
        // Listed once, so later changes edit the cached listing.
        assert_eq!(fs_.read_dir_range(root, 0, 16).unwrap().len(), 3);
        fs_.link(link, root, "l2").unwrap();
        let file = fs_.lookup(root, "f").unwrap();
        fs_.link(file, root, "f2").unwrap();
        let cached = kinds(fs_.read_dir_range(root, 0, 16).unwrap());
        assert_eq!(
            cached,
            [
                ("f".to_string(), NodeKind::File),
                ("f2".to_string(), NodeKind::File),
                ("l".to_string(), NodeKind::Symlink),
                ("l2".to_string(), NodeKind::Symlink),
                ("sub".to_string(), NodeKind::Dir),
            ]
        );
        assert_eq!(cached, kinds(fs_.read_dir(root).unwrap()));
        let _ = fs::remove_dir_all(dir);
    }

    /// A chain of `depth` directories `d/d/...` under the sandbox, made on the host.
    fn chain(dir: &Path, depth: usize) -> String {
        let rel = vec!["d"; depth].join("/");
        fs::create_dir_all(dir.join("sandbox").join(&rel)).unwrap();
        fs::write(dir.join("sandbox").join(&rel).join("f"), b"x").unwrap();
        format!("{rel}/f")
    }

    /// Resolving a path costs a bounded number of host system calls per component, whatever
    /// the depth: linear (it was a re-check of every prefix per component, cubic in all).
    #[test]
    fn path_resolution_is_linear_in_host_calls() {
        let dir = scratch("linear");
        let deep = chain(&dir, 1500);
        let fs_ = HostDir::new(dir.join("sandbox")).unwrap();
        let root = fs_.root();
        let mut per_component = Vec::new();
        for depth in [100, 1500] {
            let target = format!("{}/f", vec!["d"; depth].join("/"));
            if depth < 1500 {
                fs::write(dir.join("sandbox").join(&target), b"y").unwrap();
            }
            let before = fs_.work();
            let node = resolve(&fs_, root, root, &target, Absolute::Reject, true).unwrap();
            assert_eq!(fs_.stat(node).unwrap().kind, NodeKind::File);
            let calls = fs_.work() - before;
            per_component.push(calls as f64 / depth as f64);
        }
        // A path walk is a lookup and a stat per component plus opening each directory.
        for (i, c) in per_component.iter().enumerate() {
            assert!(*c <= 6.0, "walk {i}: {c} host calls per component");
        }
        // Walking again through cached directories costs no more.
        let before = fs_.work();
        resolve(&fs_, root, root, &deep, Absolute::Reject, true).unwrap();
        assert!(fs_.work() - before <= 6 * 1500);
        let _ = fs::remove_dir_all(dir);
    }

    /// A symlink's own times are set, not its target's (utimensat with AT_SYMLINK_NOFOLLOW).
    #[test]
    fn set_times_on_a_symlink_sets_the_links_own() {
        let dir = scratch("times");
        let fs_ = HostDir::new(dir.join("sandbox")).unwrap();
        let root = fs_.root();
        let file = fs_.create(root, "f", NodeKind::File).unwrap();
        let link = fs_.symlink(root, "l", "f").unwrap();
        let file_before = fs_.stat(file).unwrap();
        fs_.set_times(
            link,
            SetTime::At(1_000_000_000_123),
            SetTime::At(2_000_000_000_456),
        )
        .unwrap();
        let l = fs_.stat(link).unwrap();
        assert_eq!(
            (l.atime_ns, l.mtime_ns),
            (1_000_000_000_123, 2_000_000_000_456)
        );
        assert_eq!(fs_.stat(file).unwrap().mtime_ns, file_before.mtime_ns);
        fs_.set_times(root, SetTime::Keep, SetTime::At(3_000_000_000))
            .unwrap();
        assert_eq!(fs_.stat(root).unwrap().mtime_ns, 3_000_000_000);
        let _ = fs::remove_dir_all(dir);
    }

    /// The listing kept for `read_dir_range` follows every change made through the file
    /// system, and changes made by others on the host (the directory's times).
    #[test]
    fn kept_listing_follows_changes() {
        let dir = scratch("listing");
        let fs_ = HostDir::new(dir.join("sandbox")).unwrap();
        let root = fs_.root();
        let names = |fs_: &HostDir| -> Vec<String> {
            fs_.read_dir_range(root, 0, 100)
                .unwrap()
                .into_iter()
                .map(|e| e.name)
                .collect()
        };
        assert_eq!(names(&fs_), ["sub"]);
        let a = fs_.create(root, "a", NodeKind::File).unwrap();
        fs_.symlink(root, "z", "a").unwrap();
        fs_.link(a, root, "b").unwrap();
        fs_.create(root, "c", NodeKind::Dir).unwrap();
        assert_eq!(names(&fs_), ["a", "b", "c", "sub", "z"]);
        fs_.unlink(root, "b").unwrap();
        fs_.rmdir(root, "c").unwrap();
        fs_.rename(root, "a", root, "y").unwrap();
        assert_eq!(names(&fs_), ["sub", "y", "z"]);
        let sub = fs_.lookup(root, "sub").unwrap();
        fs_.rename(root, "y", sub, "moved").unwrap();
        assert_eq!(names(&fs_), ["sub", "z"]);
        let full: Vec<String> = fs_
            .read_dir(root)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(full, names(&fs_));
        // A change by another program shows (the directory's times change with it).
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(dir.join("sandbox/other"), b"").unwrap();
        assert_eq!(names(&fs_), ["other", "sub", "z"]);
        assert_eq!(fs_.read_dir_range(root, 1, 1).unwrap()[0].name, "sub");
        let _ = fs::remove_dir_all(dir);
    }

    /// A directory renamed while the guest works inside it stays usable (its descriptor moves
    /// with it), and a host directory swapped for a symlink is never followed.
    #[test]
    fn renamed_directories_and_swapped_symlinks() {
        let dir = scratch("swap");
        fs::create_dir_all(dir.join("sandbox/sub/inner")).unwrap();
        fs::write(dir.join("sandbox/sub/inner/f"), b"data").unwrap();
        let fs_ = HostDir::new(dir.join("sandbox")).unwrap();
        let root = fs_.root();
        let f = resolve(&fs_, root, root, "sub/inner/f", Absolute::Reject, true).unwrap();
        let inner = resolve(&fs_, root, root, "sub/inner", Absolute::Reject, true).unwrap();
        fs_.rename(root, "sub", root, "renamed").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(fs_.read_at(f, 0, &mut buf).unwrap(), 4);
        assert_eq!(fs_.lookup(inner, "f").unwrap(), f);
        // Another process replaces the directory by a symlink to outside the sandbox.
        fs::rename(dir.join("sandbox/renamed"), dir.join("moved-away")).unwrap();
        std::os::unix::fs::symlink(dir.join("moved-away"), dir.join("sandbox/renamed")).unwrap();
        let fresh = HostDir::new(dir.join("sandbox")).unwrap();
        let r = fresh.root();
        assert_eq!(
            resolve(&fresh, r, r, "renamed/inner/f", Absolute::Reject, true),
            Err(VfsError::Escape)
        );
        let link = fresh.lookup(r, "renamed").unwrap();
        // Used as a directory the link node gives an error, never the target's entries.
        assert!(fresh.lookup(link, "inner").is_err());
        let _ = fs::remove_dir_all(dir);
    }
}
