//! A portable in-memory file system: the kernel's root file system (filled from the initrd at boot)
//! and the test double for everything above [`Vfs`].
//!
//! Every allocation is bounded by a byte budget and a node budget given at construction, so a guest
//! that writes at offset 2^60 gets `NoSpace`, not a host out-of-memory.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use spin::Mutex;

use super::{DirEntry, Metadata, NodeId, NodeKind, SetTime, Vfs, VfsError, VfsResult};
use crate::platform::Clock;

/// The longest name one directory entry may have, as on common Unix file systems.
pub const MAX_NAME_LEN: usize = 255;

/// An in-memory file system with interior mutability.
pub struct MemFs {
    inner: Mutex<Inner>,
    clock: Option<Arc<dyn Clock>>,
}

struct Inner {
    nodes: BTreeMap<NodeId, Node>,
    next_id: NodeId,
    bytes_used: u64,
    max_bytes: u64,
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
                max_bytes,
                max_nodes,
            }),
            clock: None,
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

    fn now(&self) -> u64 {
        self.clock.as_ref().map_or(0, |c| c.realtime_ns())
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
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > MAX_NAME_LEN
        || name.contains(['/', '\0'])
    {
        return Err(VfsError::InvalidName);
    }
    Ok(())
}

impl Inner {
    fn node(&self, id: NodeId) -> VfsResult<&Node> {
        self.nodes.get(&id).ok_or(VfsError::NotFound)
    }

    fn node_mut(&mut self, id: NodeId) -> VfsResult<&mut Node> {
        self.nodes.get_mut(&id).ok_or(VfsError::NotFound)
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

    fn alloc(&mut self, data: NodeData, now: u64) -> VfsResult<NodeId> {
        if self.nodes.len() >= self.max_nodes {
            return Err(VfsError::NoSpace);
        }
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
        node.nlink = node.nlink.saturating_sub(1);
        if node.nlink == 0 {
            if let Some(node) = self.nodes.remove(&id) {
                if let NodeData::File(bytes) = node.data {
                    self.bytes_used -= bytes.len() as u64;
                }
            }
        }
    }

    /// Resizes file `id` to `len`, charging the byte budget.
    fn resize(&mut self, id: NodeId, len: u64) -> VfsResult<()> {
        let max_bytes = self.max_bytes;
        let used = self.bytes_used;
        let node = self.node_mut(id)?;
        let NodeData::File(bytes) = &mut node.data else {
            return Err(match node.kind() {
                NodeKind::Dir => VfsError::IsADirectory,
                _ => VfsError::Invalid,
            });
        };
        let old = bytes.len() as u64;
        if len > old && used.saturating_add(len - old) > max_bytes {
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
        let id = inner.alloc(data, now)?;
        inner.entries_mut(dir)?.insert(name.to_string(), id);
        inner.touch_dir(dir, now);
        Ok(id)
    }

    fn symlink(&self, dir: NodeId, name: &str, target: &str) -> VfsResult<NodeId> {
        check_name(name)?;
        if target.is_empty() || target.len() > 4096 || target.contains('\0') {
            return Err(VfsError::InvalidName);
        }
        let now = self.now();
        let mut inner = self.inner.lock();
        if inner.entries(dir)?.contains_key(name) {
            return Err(VfsError::AlreadyExists);
        }
        let id = inner.alloc(NodeData::Symlink(target.to_string()), now)?;
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
        if let Some(&target) = inner.entries(to_dir)?.get(to) {
            if target == id {
                return Ok(());
            }
            match (&inner.node(target)?.data, moving_dir) {
                (NodeData::Dir { entries, .. }, true) => {
                    if !entries.is_empty() {
                        return Err(VfsError::DirectoryNotEmpty);
                    }
                    inner.nodes.remove(&target);
                }
                (NodeData::Dir { .. }, false) => return Err(VfsError::IsADirectory),
                (_, true) => return Err(VfsError::NotADirectory),
                (_, false) => inner.drop_link(target),
            }
            inner.entries_mut(to_dir)?.remove(to);
        }
        inner.entries_mut(from_dir)?.remove(from);
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
        let mut inner = self.inner.lock();
        let n = inner.node_mut(node)?;
        let NodeData::File(bytes) = &n.data else {
            return Err(if n.kind() == NodeKind::Dir {
                VfsError::IsADirectory
            } else {
                VfsError::Invalid
            });
        };
        let len = bytes.len() as u64;
        if offset >= len {
            return Ok(0);
        }
        let start = offset as usize;
        let count = buf.len().min(bytes.len() - start);
        buf[..count].copy_from_slice(&bytes[start..start + count]);
        Ok(count)
    }

    fn write_at(&self, node: NodeId, offset: u64, data: &[u8]) -> VfsResult<usize> {
        let now = self.now();
        let mut inner = self.inner.lock();
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(VfsError::NoSpace)?;
        let current = inner.node(node)?.size();
        if end > current {
            inner.resize(node, end)?;
        } else if !matches!(inner.node(node)?.data, NodeData::File(_)) {
            return Err(VfsError::IsADirectory);
        }
        let n = inner.node_mut(node)?;
        if let NodeData::File(bytes) = &mut n.data {
            let start = offset as usize;
            bytes[start..start + data.len()].copy_from_slice(data);
        }
        n.mtime_ns = now;
        n.ctime_ns = now;
        Ok(data.len())
    }

    fn set_len(&self, node: NodeId, len: u64) -> VfsResult<()> {
        let now = self.now();
        let mut inner = self.inner.lock();
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
        let inner = self.inner.lock();
        let entries = inner.entries(dir)?;
        let mut out = Vec::with_capacity(entries.len());
        for (name, &ino) in entries {
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
