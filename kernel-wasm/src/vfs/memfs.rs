//! A portable in-memory file system: the kernel's root file system (filled from the initrd at boot)
//! and the test double for everything above [`Vfs`].
//!
//! Every allocation is bounded by a byte budget and a node budget given at construction, so a guest
//! that writes at offset 2^60 gets `NoSpace`, not a host out-of-memory. The byte budget covers file
//! data *and* the variable-size metadata a caller chooses (entry names, symlink targets); the node
//! budget covers nodes *and* extra hard links (every directory entry takes a slot), so neither a
//! flood of long symlinks nor of hard links to one file can grow the host heap past the budgets.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use spin::Mutex;

use super::path::MAX_PATH_LEN;
use super::{DirEntry, Metadata, NodeId, NodeKind, SetTime, Vfs, VfsError, VfsResult};
use crate::platform::Clock;

/// The longest name one directory entry may have, as on common Unix file systems.
pub const MAX_NAME_LEN: usize = 255;

/// An in-memory file system with interior mutability.
pub struct MemFs {
    inner: Mutex<Inner>,
    clock: Option<Arc<dyn Clock>>,
    /// [`Vfs::work`]: file data moved and directory entries visited, in work units.
    work: AtomicU64,
}

struct Inner {
    nodes: BTreeMap<NodeId, Node>,
    next_id: NodeId,
    /// File data stored.
    bytes_used: u64,
    /// Entry names and symlink targets stored (charged to the same byte budget).
    meta_used: u64,
    max_bytes: u64,
    /// Hard links beyond a node's first (each takes a node slot).
    extra_links: usize,
    max_nodes: usize,
}

struct Node {
    data: NodeData,
    nlink: u64,
    atime_ns: u64,
    mtime_ns: u64,
    ctime_ns: u64,
}

enum NodeData {
    File(Vec<u8>),
    Dir {
        entries: BTreeMap<String, NodeId>,
        parent: NodeId,
    },
    Symlink(String),
}

const ROOT: NodeId = 1;

impl MemFs {
    /// A file system holding at most `max_bytes` of file data and `max_nodes` nodes.
    pub fn new(max_bytes: u64, max_nodes: usize) -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            ROOT,
            Node::new(
                NodeData::Dir {
                    entries: BTreeMap::new(),
                    parent: ROOT,
                },
                0,
            ),
        );
        MemFs {
            inner: Mutex::new(Inner {
                nodes,
                next_id: ROOT + 1,
                bytes_used: 0,
                meta_used: 0,
                max_bytes,
                extra_links: 0,
                max_nodes,
            }),
            clock: None,
            work: AtomicU64::new(0),
        }
    }

    /// Stamps modifications with `clock`'s real time (without a clock every time is 0).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Bytes of file data stored now.
    pub fn bytes_used(&self) -> u64 {
        self.inner.lock().bytes_used
    }

    /// Bytes of entry names and symlink targets stored now (charged to the byte budget too).
    pub fn meta_bytes_used(&self) -> u64 {
        self.inner.lock().meta_used
    }

    fn now(&self) -> u64 {
        self.clock.as_ref().map_or(0, |c| c.realtime_ns())
    }

    /// Counts moving `bytes` of file data as work ([`Vfs::work`]).
    fn charge_bytes(&self, bytes: u64) {
        self.work
            .fetch_add(bytes / super::WORK_BYTES, Ordering::Relaxed);
    }
}

impl Node {
    fn new(data: NodeData, now: u64) -> Self {
        Node {
            data,
            nlink: 1,
            atime_ns: now,
            mtime_ns: now,
            ctime_ns: now,
        }
    }

    fn kind(&self) -> NodeKind {
        match self.data {
            NodeData::File(_) => NodeKind::File,
            NodeData::Dir { .. } => NodeKind::Dir,
            NodeData::Symlink(_) => NodeKind::Symlink,
        }
    }

    fn size(&self) -> u64 {
        match &self.data {
            NodeData::File(bytes) => bytes.len() as u64,
            NodeData::Dir { entries, .. } => entries.len() as u64,
            NodeData::Symlink(target) => target.len() as u64,
        }
    }
}

fn check_name(name: &str) -> VfsResult<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(VfsError::InvalidName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(VfsError::NameTooLong);
    }
    Ok(())
}

fn len64(s: &str) -> u64 {
    s.len() as u64
}

impl Inner {
    fn node(&self, id: NodeId) -> VfsResult<&Node> {
        self.nodes.get(&id).ok_or(VfsError::NotFound)
    }

    fn node_mut(&mut self, id: NodeId) -> VfsResult<&mut Node> {
        self.nodes.get_mut(&id).ok_or(VfsError::NotFound)
    }

    /// The data of regular file `id` (`IsADirectory` for a directory, `Invalid` for a symlink).
    fn file(&self, id: NodeId) -> VfsResult<&Vec<u8>> {
        match &self.node(id)?.data {
            NodeData::File(bytes) => Ok(bytes),
            NodeData::Dir { .. } => Err(VfsError::IsADirectory),
            NodeData::Symlink(_) => Err(VfsError::Invalid),
        }
    }

    fn entries(&self, dir: NodeId) -> VfsResult<&BTreeMap<String, NodeId>> {
        match &self.node(dir)?.data {
            NodeData::Dir { entries, .. } => Ok(entries),
            _ => Err(VfsError::NotADirectory),
        }
    }

    fn entries_mut(&mut self, dir: NodeId) -> VfsResult<&mut BTreeMap<String, NodeId>> {
        match &mut self.node_mut(dir)?.data {
            NodeData::Dir { entries, .. } => Ok(entries),
            _ => Err(VfsError::NotADirectory),
        }
    }

    /// Whether one more directory entry (a new node or a hard link) fits the node budget.
    fn check_slot(&self) -> VfsResult<()> {
        if self.nodes.len().saturating_add(self.extra_links) >= self.max_nodes {
            return Err(VfsError::NoSpace);
        }
        Ok(())
    }

    /// Charges `n` bytes of metadata to the byte budget.
    fn charge(&mut self, n: u64) -> VfsResult<()> {
        let used = self.bytes_used.saturating_add(self.meta_used);
        if used.saturating_add(n) > self.max_bytes {
            return Err(VfsError::NoSpace);
        }
        self.meta_used += n;
        Ok(())
    }

    fn refund(&mut self, n: u64) {
        self.meta_used = self.meta_used.saturating_sub(n);
    }

    /// Allocates a node for the new entry `name`, charging the node and byte budgets.
    fn alloc(&mut self, name: &str, data: NodeData, now: u64) -> VfsResult<NodeId> {
        self.check_slot()?;
        let cost = len64(name)
            + match &data {
                NodeData::Symlink(target) => len64(target),
                _ => 0,
            };
        self.charge(cost)?;
        let id = self.next_id;
        self.next_id += 1;
        self.nodes.insert(id, Node::new(data, now));
        Ok(id)
    }

    fn touch_dir(&mut self, dir: NodeId, now: u64) {
        if let Some(node) = self.nodes.get_mut(&dir) {
            node.mtime_ns = now;
            node.ctime_ns = now;
        }
    }

    /// Drops one link to `id`; frees the node (and its bytes) when none is left.
    fn drop_link(&mut self, id: NodeId) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        if node.nlink > 1 {
            node.nlink -= 1;
            self.extra_links = self.extra_links.saturating_sub(1);
            return;
        }
        if let Some(node) = self.nodes.remove(&id) {
            match node.data {
                NodeData::File(bytes) => self.bytes_used -= bytes.len() as u64,
                NodeData::Symlink(target) => self.refund(len64(&target)),
                NodeData::Dir { .. } => {}
            }
        }
    }

    /// Resizes file `id` to `len`, charging the byte budget.
    fn resize(&mut self, id: NodeId, len: u64) -> VfsResult<()> {
        let max_bytes = self.max_bytes;
        let used = self.bytes_used;
        let meta_used = self.meta_used;
        let node = self.node_mut(id)?;
        let NodeData::File(bytes) = &mut node.data else {
            return Err(match node.kind() {
                NodeKind::Dir => VfsError::IsADirectory,
                _ => VfsError::Invalid,
            });
        };
        let old = bytes.len() as u64;
        let charged = used.saturating_add(meta_used);
        if len > old && charged.saturating_add(len - old) > max_bytes {
            return Err(VfsError::NoSpace);
        }
        let new_len = usize::try_from(len).map_err(|_| VfsError::NoSpace)?;
        if len > old {
            bytes
                .try_reserve_exact(new_len - bytes.len())
                .map_err(|_| VfsError::NoSpace)?;
        }
        bytes.resize(new_len, 0);
        self.bytes_used = used - old + len;
        Ok(())
    }

    /// Appends `data` to file `id`, charged to the byte budget as [`Inner::resize`] charges.
    fn append(&mut self, id: NodeId, data: &[u8]) -> VfsResult<()> {
        let max_bytes = self.max_bytes;
        let used = self.bytes_used;
        let meta_used = self.meta_used;
        let node = self.node_mut(id)?;
        let NodeData::File(bytes) = &mut node.data else {
            return Err(match node.kind() {
                NodeKind::Dir => VfsError::IsADirectory,
                _ => VfsError::Invalid,
            });
        };
        let added = data.len() as u64;
        if used.saturating_add(meta_used).saturating_add(added) > max_bytes {
            return Err(VfsError::NoSpace);
        }
        bytes
            .try_reserve_exact(data.len())
            .map_err(|_| VfsError::NoSpace)?;
        bytes.extend_from_slice(data);
        self.bytes_used = used + added;
        Ok(())
    }

    fn is_ancestor(&self, ancestor: NodeId, mut node: NodeId) -> bool {
        loop {
            if node == ancestor {
                return true;
            }
            match self.nodes.get(&node).map(|n| &n.data) {
                Some(NodeData::Dir { parent, .. }) if *parent != node => node = *parent,
                _ => return false,
            }
        }
    }
}

impl Vfs for MemFs {
    fn root(&self) -> NodeId {
        ROOT
    }

    fn stat(&self, node: NodeId) -> VfsResult<Metadata> {
        let inner = self.inner.lock();
        let n = inner.node(node)?;
        Ok(Metadata {
            ino: node,
            kind: n.kind(),
            size: n.size(),
            nlink: n.nlink,
            atime_ns: n.atime_ns,
            mtime_ns: n.mtime_ns,
            ctime_ns: n.ctime_ns,
        })
    }

    fn lookup(&self, dir: NodeId, name: &str) -> VfsResult<NodeId> {
        let inner = self.inner.lock();
        inner
            .entries(dir)?
            .get(name)
            .copied()
            .ok_or(VfsError::NotFound)
    }

    fn parent(&self, dir: NodeId) -> VfsResult<NodeId> {
        let inner = self.inner.lock();
        match &inner.node(dir)?.data {
            NodeData::Dir { parent, .. } => Ok(*parent),
            _ => Err(VfsError::NotADirectory),
        }
    }

    fn create(&self, dir: NodeId, name: &str, kind: NodeKind) -> VfsResult<NodeId> {
        check_name(name)?;
        let now = self.now();
        let mut inner = self.inner.lock();
        if inner.entries(dir)?.contains_key(name) {
            return Err(VfsError::AlreadyExists);
        }
        let data = match kind {
            NodeKind::File => NodeData::File(Vec::new()),
            NodeKind::Dir => NodeData::Dir {
                entries: BTreeMap::new(),
                parent: dir,
            },
            NodeKind::Symlink => return Err(VfsError::Invalid),
        };
        let id = inner.alloc(name, data, now)?;
        inner.entries_mut(dir)?.insert(name.to_string(), id);
        inner.touch_dir(dir, now);
        Ok(id)
    }

    fn symlink(&self, dir: NodeId, name: &str, target: &str) -> VfsResult<NodeId> {
        check_name(name)?;
        // symlink(2): an empty target is ENOENT.
        if target.is_empty() {
            return Err(VfsError::NotFound);
        }
        if target.contains('\0') {
            return Err(VfsError::InvalidName);
        }
        if target.len() > MAX_PATH_LEN {
            return Err(VfsError::NameTooLong);
        }
        let now = self.now();
        let mut inner = self.inner.lock();
        if inner.entries(dir)?.contains_key(name) {
            return Err(VfsError::AlreadyExists);
        }
        let id = inner.alloc(name, NodeData::Symlink(target.to_string()), now)?;
        inner.entries_mut(dir)?.insert(name.to_string(), id);
        inner.touch_dir(dir, now);
        Ok(id)
    }

    fn readlink(&self, node: NodeId) -> VfsResult<String> {
        let inner = self.inner.lock();
        match &inner.node(node)?.data {
            NodeData::Symlink(target) => Ok(target.clone()),
            _ => Err(VfsError::Invalid),
        }
    }

    fn link(&self, node: NodeId, dir: NodeId, name: &str) -> VfsResult<()> {
        check_name(name)?;
        let now = self.now();
        let mut inner = self.inner.lock();
        if matches!(inner.node(node)?.data, NodeData::Dir { .. }) {
            return Err(VfsError::Permission);
        }
        if inner.entries(dir)?.contains_key(name) {
            return Err(VfsError::AlreadyExists);
        }
        inner.check_slot()?;
        inner.charge(len64(name))?;
        inner.extra_links += 1;
        inner.entries_mut(dir)?.insert(name.to_string(), node);
        let n = inner.node_mut(node)?;
        n.nlink += 1;
        n.ctime_ns = now;
        inner.touch_dir(dir, now);
        Ok(())
    }

    fn unlink(&self, dir: NodeId, name: &str) -> VfsResult<()> {
        check_name(name)?;
        let now = self.now();
        let mut inner = self.inner.lock();
        let id = *inner.entries(dir)?.get(name).ok_or(VfsError::NotFound)?;
        if matches!(inner.node(id)?.data, NodeData::Dir { .. }) {
            return Err(VfsError::IsADirectory);
        }
        inner.entries_mut(dir)?.remove(name);
        inner.refund(len64(name));
        inner.drop_link(id);
        inner.touch_dir(dir, now);
        Ok(())
    }

    fn rmdir(&self, dir: NodeId, name: &str) -> VfsResult<()> {
        check_name(name)?;
        let now = self.now();
        let mut inner = self.inner.lock();
        let id = *inner.entries(dir)?.get(name).ok_or(VfsError::NotFound)?;
        match &inner.node(id)?.data {
            NodeData::Dir { entries, .. } if entries.is_empty() => {}
            NodeData::Dir { .. } => return Err(VfsError::DirectoryNotEmpty),
            _ => return Err(VfsError::NotADirectory),
        }
        inner.entries_mut(dir)?.remove(name);
        inner.refund(len64(name));
        inner.nodes.remove(&id);
        inner.touch_dir(dir, now);
        Ok(())
    }

    fn rename(&self, from_dir: NodeId, from: &str, to_dir: NodeId, to: &str) -> VfsResult<()> {
        check_name(from)?;
        check_name(to)?;
        let now = self.now();
        let mut inner = self.inner.lock();
        let id = *inner
            .entries(from_dir)?
            .get(from)
            .ok_or(VfsError::NotFound)?;
        inner.entries(to_dir)?;
        let moving_dir = matches!(inner.node(id)?.data, NodeData::Dir { .. });
        if moving_dir && inner.is_ancestor(id, to_dir) {
            return Err(VfsError::Invalid);
        }
        let replaced = inner.entries(to_dir)?.get(to).copied();
        match replaced {
            // Two names of one file: nothing to do (POSIX).
            Some(target) if target == id => return Ok(()),
            Some(target) => match (&inner.node(target)?.data, moving_dir) {
                (NodeData::Dir { entries, .. }, true) if !entries.is_empty() => {
                    return Err(VfsError::DirectoryNotEmpty)
                }
                (NodeData::Dir { .. }, false) => return Err(VfsError::IsADirectory),
                (NodeData::File(_) | NodeData::Symlink(_), true) => {
                    return Err(VfsError::NotADirectory)
                }
                _ => {}
            },
            // A new name: charged before anything moves.
            None => inner.charge(len64(to))?,
        }
        if let Some(target) = replaced {
            if moving_dir {
                inner.nodes.remove(&target);
            } else {
                inner.drop_link(target);
            }
            // The name `to` stays in use (by the moved entry): neither refunded nor charged.
            inner.entries_mut(to_dir)?.remove(to);
        }
        inner.entries_mut(from_dir)?.remove(from);
        inner.refund(len64(from));
        inner.entries_mut(to_dir)?.insert(to.to_string(), id);
        if let NodeData::Dir { parent, .. } = &mut inner.node_mut(id)?.data {
            *parent = to_dir;
        }
        inner.node_mut(id)?.ctime_ns = now;
        inner.touch_dir(from_dir, now);
        inner.touch_dir(to_dir, now);
        Ok(())
    }

    fn read_at(&self, node: NodeId, offset: u64, buf: &mut [u8]) -> VfsResult<usize> {
        let inner = self.inner.lock();
        let bytes = inner.file(node)?;
        // At or past the end (including offsets that do not fit a usize): nothing to read.
        let Some(rest) = usize::try_from(offset).ok().and_then(|at| bytes.get(at..)) else {
            return Ok(0);
        };
        let count = buf.len().min(rest.len());
        buf[..count].copy_from_slice(&rest[..count]);
        self.charge_bytes(count as u64);
        Ok(count)
    }

    fn write_at(&self, node: NodeId, offset: u64, data: &[u8]) -> VfsResult<usize> {
        let now = self.now();
        let mut inner = self.inner.lock();
        let current = inner.file(node)?.len() as u64;
        // POSIX: writing nothing to a regular file has no effect (it does not extend the file).
        if data.is_empty() {
            return Ok(0);
        }
        // The copy, and the zero-filling of a gap before it.
        self.charge_bytes((data.len() as u64).saturating_add(offset.saturating_sub(current)));
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(VfsError::NoSpace)?;
        if offset == current {
            // Appending (a file written front to back, an installed package): one copy, no
            // zero-filling of the new bytes first.
            inner.append(node, data)?;
            let n = inner.node_mut(node)?;
            n.mtime_ns = now;
            n.ctime_ns = now;
            return Ok(data.len());
        }
        if end > current {
            inner.resize(node, end)?;
        }
        let n = inner.node_mut(node)?;
        let NodeData::File(bytes) = &mut n.data else {
            return Err(VfsError::Invalid);
        };
        // `resize` made the file `end` bytes long, so the range exists and fits a usize.
        let range = usize::try_from(offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(data.len())?));
        let dst = range
            .and_then(|range| bytes.get_mut(range))
            .ok_or(VfsError::NoSpace)?;
        dst.copy_from_slice(data);
        n.mtime_ns = now;
        n.ctime_ns = now;
        Ok(data.len())
    }

    fn set_len(&self, node: NodeId, len: u64) -> VfsResult<()> {
        let now = self.now();
        let mut inner = self.inner.lock();
        let old = inner.file(node).map_or(0, |b| b.len() as u64);
        self.charge_bytes(len.abs_diff(old));
        inner.resize(node, len)?;
        let n = inner.node_mut(node)?;
        n.mtime_ns = now;
        n.ctime_ns = now;
        Ok(())
    }

    fn set_times(&self, node: NodeId, atime: SetTime, mtime: SetTime) -> VfsResult<()> {
        let now = self.now();
        let mut inner = self.inner.lock();
        let n = inner.node_mut(node)?;
        let pick = |t: SetTime, old: u64| match t {
            SetTime::Keep => old,
            SetTime::Now => now,
            SetTime::At(ns) => ns,
        };
        n.atime_ns = pick(atime, n.atime_ns);
        n.mtime_ns = pick(mtime, n.mtime_ns);
        n.ctime_ns = now;
        Ok(())
    }

    fn read_dir(&self, dir: NodeId) -> VfsResult<Vec<DirEntry>> {
        self.read_dir_range(dir, 0, usize::MAX)
    }

    /// File data moved (and zero-filled) and directory entries visited: every other operation
    /// is a few map lookups.
    fn work(&self) -> u64 {
        self.work.load(Ordering::Relaxed)
    }

    fn read_dir_range(&self, dir: NodeId, skip: usize, max: usize) -> VfsResult<Vec<DirEntry>> {
        let inner = self.inner.lock();
        let entries = inner.entries(dir)?;
        let count = entries.len().saturating_sub(skip).min(max);
        let visited = skip.min(entries.len()).saturating_add(count) as u64;
        self.work
            .fetch_add(visited / super::WORK_ENTRIES, Ordering::Relaxed);
        let mut out = Vec::with_capacity(count);
        for (name, &ino) in entries.iter().skip(skip).take(count) {
            out.push(DirEntry {
                name: name.clone(),
                ino,
                kind: inner.node(ino)?.kind(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs() -> MemFs {
        MemFs::new(1 << 20, 1000)
    }

    #[test]
    fn create_write_read_roundtrip() {
        let fs = fs();
        let f = fs.create(fs.root(), "a.txt", NodeKind::File).unwrap();
        assert_eq!(fs.write_at(f, 3, b"xyz").unwrap(), 3);
        let mut buf = [9u8; 10];
        assert_eq!(fs.read_at(f, 0, &mut buf).unwrap(), 6);
        assert_eq!(&buf[..6], b"\0\0\0xyz");
        assert_eq!(fs.stat(f).unwrap().size, 6);
        assert_eq!(fs.bytes_used(), 6);
    }

    #[test]
    fn write_far_offset_is_no_space_not_oom() {
        let fs = fs();
        let f = fs.create(fs.root(), "big", NodeKind::File).unwrap();
        assert_eq!(fs.write_at(f, 1 << 60, b"x"), Err(VfsError::NoSpace));
        assert_eq!(fs.write_at(f, u64::MAX, b"x"), Err(VfsError::NoSpace));
        assert_eq!(fs.set_len(f, 1 << 40), Err(VfsError::NoSpace));
        assert_eq!(fs.bytes_used(), 0);
    }

    #[test]
    fn zero_length_write_changes_nothing() {
        let fs = fs();
        let f = fs.create(fs.root(), "a", NodeKind::File).unwrap();
        assert_eq!(fs.write_at(f, 100, b""), Ok(0));
        assert_eq!(fs.write_at(f, u64::MAX, b""), Ok(0));
        assert_eq!(fs.stat(f).unwrap().size, 0);
        assert_eq!(fs.bytes_used(), 0);
        let d = fs.create(fs.root(), "d", NodeKind::Dir).unwrap();
        assert_eq!(fs.write_at(d, 0, b""), Err(VfsError::IsADirectory));
        let mut buf = [0u8; 4];
        assert_eq!(fs.read_at(f, u64::MAX, &mut buf), Ok(0));
    }

    #[test]
    fn read_dir_range_lists_a_window() {
        let fs = fs();
        let root = fs.root();
        for name in ["a", "b", "c", "d"] {
            fs.create(root, name, NodeKind::File).unwrap();
        }
        let names = |skip, max| -> Vec<String> {
            fs.read_dir_range(root, skip, max)
                .unwrap()
                .into_iter()
                .map(|e| e.name)
                .collect()
        };
        assert_eq!(names(1, 2), ["b", "c"]);
        assert_eq!(names(3, 10), ["d"]);
        assert!(names(4, 10).is_empty());
        assert!(names(usize::MAX, usize::MAX).is_empty());
        assert!(names(0, 0).is_empty());
        assert_eq!(names(0, usize::MAX).len(), 4);
    }

    #[test]
    fn hard_links_take_node_slots() {
        // root + file = 2 nodes; two more names fit.
        let fs = MemFs::new(1 << 20, 4);
        let root = fs.root();
        let f = fs.create(root, "f", NodeKind::File).unwrap();
        fs.link(f, root, "l1").unwrap();
        fs.link(f, root, "l2").unwrap();
        assert_eq!(fs.link(f, root, "l3"), Err(VfsError::NoSpace));
        assert_eq!(fs.create(root, "g", NodeKind::File), Err(VfsError::NoSpace));
        assert_eq!(fs.stat(f).unwrap().nlink, 3);
        // Unlinking a name gives its slot back.
        fs.unlink(root, "l1").unwrap();
        fs.link(f, root, "l3").unwrap();
        fs.unlink(root, "l2").unwrap();
        fs.unlink(root, "l3").unwrap();
        fs.create(root, "g", NodeKind::File).unwrap();
    }

    #[test]
    fn names_and_symlink_targets_are_charged_to_the_byte_budget() {
        let fs = MemFs::new(100, 100);
        let root = fs.root();
        let target = "t".repeat(90);
        fs.symlink(root, "s", &target).unwrap();
        assert_eq!(fs.meta_bytes_used(), 91);
        assert_eq!(fs.symlink(root, "u", &target), Err(VfsError::NoSpace));
        let f = fs.create(root, "f", NodeKind::File).unwrap();
        assert_eq!(fs.meta_bytes_used(), 92);
        // File data shares what is left.
        assert_eq!(fs.write_at(f, 0, &[1; 9]), Err(VfsError::NoSpace));
        assert_eq!(fs.write_at(f, 0, &[1; 8]), Ok(8));
        assert_eq!(fs.link(f, root, "g"), Err(VfsError::NoSpace));
        // A longer new name is charged; with no room the rename changes nothing.
        assert_eq!(fs.rename(root, "f", root, "ff"), Err(VfsError::NoSpace));
        assert_eq!(fs.lookup(root, "f"), Ok(f));
        fs.unlink(root, "s").unwrap();
        assert_eq!(fs.meta_bytes_used(), 1);
        fs.rename(root, "f", root, "ffff").unwrap();
        assert_eq!(fs.meta_bytes_used(), 4);
        fs.link(f, root, "g").unwrap();
        assert_eq!(fs.meta_bytes_used(), 5);
        // Two names of one file: a no-op (POSIX), both names stay charged.
        fs.rename(root, "g", root, "ffff").unwrap();
        assert_eq!(fs.meta_bytes_used(), 5);
        assert_eq!(fs.stat(f).unwrap().nlink, 2);
        // Replacing an entry refunds the moved entry's old name; `ffff` stays charged once.
        fs.create(root, "h", NodeKind::File).unwrap();
        assert_eq!(fs.meta_bytes_used(), 6);
        fs.rename(root, "h", root, "ffff").unwrap();
        assert_eq!(fs.meta_bytes_used(), 5);
        assert_eq!(fs.stat(f).unwrap().nlink, 1);
        fs.unlink(root, "ffff").unwrap();
        assert_eq!((fs.meta_bytes_used(), fs.bytes_used()), (1, 8));
        fs.unlink(root, "g").unwrap();
        assert_eq!((fs.meta_bytes_used(), fs.bytes_used()), (0, 0));
    }

    #[test]
    fn too_long_names_and_targets_are_name_too_long() {
        let fs = fs();
        let root = fs.root();
        let long = "n".repeat(MAX_NAME_LEN + 1);
        assert_eq!(
            fs.create(root, &long, NodeKind::File),
            Err(VfsError::NameTooLong)
        );
        fs.create(root, &long[1..], NodeKind::File).unwrap();
        assert_eq!(
            fs.symlink(root, "s", &"t".repeat(MAX_PATH_LEN + 1)),
            Err(VfsError::NameTooLong)
        );
    }

    #[test]
    fn node_budget_is_enforced() {
        let fs = MemFs::new(1 << 20, 3);
        fs.create(fs.root(), "a", NodeKind::File).unwrap();
        fs.create(fs.root(), "b", NodeKind::File).unwrap();
        assert_eq!(
            fs.create(fs.root(), "c", NodeKind::File),
            Err(VfsError::NoSpace)
        );
    }

    #[test]
    fn names_are_single_components() {
        let fs = fs();
        for bad in ["", ".", "..", "a/b", "nul\0"] {
            assert_eq!(
                fs.create(fs.root(), bad, NodeKind::File),
                Err(VfsError::InvalidName),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn unlink_frees_bytes_only_with_last_link() {
        let fs = fs();
        let root = fs.root();
        let f = fs.create(root, "a", NodeKind::File).unwrap();
        fs.write_at(f, 0, b"hello").unwrap();
        fs.link(f, root, "b").unwrap();
        fs.unlink(root, "a").unwrap();
        assert_eq!(fs.bytes_used(), 5);
        assert_eq!(fs.stat(f).unwrap().nlink, 1);
        fs.unlink(root, "b").unwrap();
        assert_eq!(fs.bytes_used(), 0);
        assert_eq!(fs.stat(f), Err(VfsError::NotFound));
    }

    #[test]
    fn rmdir_and_rename_rules() {
        let fs = fs();
        let root = fs.root();
        let d = fs.create(root, "d", NodeKind::Dir).unwrap();
        fs.create(d, "f", NodeKind::File).unwrap();
        assert_eq!(fs.rmdir(root, "d"), Err(VfsError::DirectoryNotEmpty));
        assert_eq!(fs.unlink(root, "d"), Err(VfsError::IsADirectory));
        assert_eq!(fs.rename(root, "d", d, "inside"), Err(VfsError::Invalid));
        fs.rename(d, "f", root, "g").unwrap();
        assert_eq!(
            fs.read_dir(root)
                .unwrap()
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>(),
            ["d", "g"]
        );
        fs.rmdir(root, "d").unwrap();
        assert_eq!(fs.lookup(root, "d"), Err(VfsError::NotFound));
    }

    #[test]
    fn rename_replaces_file_and_refuses_dir_over_file() {
        let fs = fs();
        let root = fs.root();
        let a = fs.create(root, "a", NodeKind::File).unwrap();
        fs.write_at(a, 0, b"aaa").unwrap();
        let b = fs.create(root, "b", NodeKind::File).unwrap();
        fs.write_at(b, 0, b"bb").unwrap();
        fs.rename(root, "a", root, "b").unwrap();
        assert_eq!(fs.lookup(root, "b").unwrap(), a);
        assert_eq!(fs.bytes_used(), 3);
        fs.create(root, "d", NodeKind::Dir).unwrap();
        assert_eq!(
            fs.rename(root, "d", root, "b"),
            Err(VfsError::NotADirectory)
        );
        assert_eq!(fs.rename(root, "b", root, "d"), Err(VfsError::IsADirectory));
    }
}

#[cfg(test)]
mod append_tests {
    use super::*;

    /// Appends (the one-copy path of `write_at`) read back and are charged like any other write.
    #[test]
    fn appends_are_read_back_and_charged_to_the_budget() {
        let fs = MemFs::new(4096, 16);
        let root = fs.root();
        let file = fs.create(root, "f", NodeKind::File).unwrap();
        assert_eq!(fs.write_at(file, 0, b"abc"), Ok(3));
        assert_eq!(fs.write_at(file, 3, b"def"), Ok(3));
        // Not an append: past the end, zero-filled.
        assert_eq!(fs.write_at(file, 8, b"g"), Ok(1));
        let mut buf = [0u8; 16];
        let n = fs.read_at(file, 0, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"abcdef\0\0g");
        let used = fs.bytes_used();
        assert_eq!(fs.write_at(file, 9, &[1; 8192]), Err(VfsError::NoSpace));
        assert_eq!(fs.bytes_used(), used);
        assert_eq!(fs.stat(file).unwrap().size, 9);
    }
}
