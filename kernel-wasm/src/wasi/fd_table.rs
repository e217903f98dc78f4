//! The descriptor table of one instance: stdio on 0-2, preopened directories from 3, then
//! preopened sockets (`--tcplisten`), then files, directories and sockets opened by the guest,
//! each with its base and inheriting rights.
//!
//! Lookups return the same errno wasmtime's preview1 does for the wrong kind of descriptor (see the
//! accessor docs), so every host function gets them right by calling the matching accessor.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::sync::Arc;

use crate::net::{Listener, Stream};
use crate::vfs::{NodeId, Vfs};

use super::errno::{Errno, WasiError};
use super::rights::{self, Rights};

/// A node of some file system.
#[derive(Clone)]
pub struct FsNode {
    pub vfs: Arc<dyn Vfs>,
    pub node: NodeId,
}

impl core::fmt::Debug for FsNode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "FsNode({})", self.node)
    }
}

/// An open regular file (or symlink target) with its position and status flags.
#[derive(Debug, Clone)]
pub struct FileDesc {
    pub fs: FsNode,
    pub pos: u64,
    pub append: bool,
    pub nonblock: bool,
}

/// An open directory; every directory descriptor is a sandbox root of its own (as cap-std's
/// `Dir`): paths resolved through it never leave it.
#[derive(Debug, Clone)]
pub struct DirDesc {
    pub fs: FsNode,
    /// The guest path of a preopen (`fd_prestat_dir_name`); `None` for opened directories.
    pub preopen: Option<String>,
}

/// A TCP socket: listening (a `--tcplisten` preopen) or connected (accepted, or made with
/// `net::connect`). Shared, so a descriptor table can be cloned; the socket closes when the last
/// descriptor holding it does.
#[derive(Clone)]
pub enum SocketKind {
    Listener(Arc<dyn Listener>),
    Stream(Arc<dyn Stream>),
}

/// An open socket with its status flags.
#[derive(Clone)]
pub struct SocketDesc {
    pub kind: SocketKind,
    /// `FDFLAGS_NONBLOCK`: operations that cannot proceed return `EAGAIN` instead of waiting.
    pub nonblock: bool,
}

impl SocketDesc {
    /// What the socket can do now.
    pub fn readiness(&self) -> crate::net::Readiness {
        match &self.kind {
            SocketKind::Listener(l) => l.readiness(),
            SocketKind::Stream(s) => s.readiness(),
        }
    }

    /// The handle [`Network::wait`](crate::net::Network::wait) knows the socket by.
    pub fn token(&self) -> crate::net::WaitToken {
        match &self.kind {
            SocketKind::Listener(l) => l.token(),
            SocketKind::Stream(s) => s.token(),
        }
    }
}

impl core::fmt::Debug for SocketDesc {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.kind {
            SocketKind::Listener(l) => write!(f, "Listener({})", l.local_addr()),
            SocketKind::Stream(s) => write!(f, "Stream({:?})", s.peer_addr()),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Desc {
    Stdin,
    Stdout,
    Stderr,
    File(FileDesc),
    Dir(DirDesc),
    Socket(SocketDesc),
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub desc: Desc,
    pub base: Rights,
    pub inheriting: Rights,
}

impl Entry {
    /// `Ok` when the descriptor has every right in `needed`, else `ENOTCAPABLE`.
    pub fn need(&self, needed: Rights) -> Result<(), Errno> {
        if self.base & needed == needed {
            Ok(())
        } else {
            Err(Errno::Notcapable)
        }
    }
}

/// The descriptor table.
#[derive(Debug, Clone, Default)]
pub struct FdTable {
    entries: BTreeMap<u32, Entry>,
    /// Numbers freed by close/renumber, reused highest first (as wasmtime's preview1).
    free: BTreeSet<u32>,
    /// Most descriptors open at once (stdio and preopens included); `None`: unlimited.
    limit: Option<usize>,
}

impl FdTable {
    /// A table with stdio on 0, 1 and 2.
    pub fn with_stdio(limit: Option<usize>) -> Self {
        let mut entries = BTreeMap::new();
        for (fd, desc, base) in [
            (0, Desc::Stdin, rights::FD_READ | rights::POLL_FD_READWRITE),
            (
                1,
                Desc::Stdout,
                rights::FD_WRITE | rights::POLL_FD_READWRITE,
            ),
            (
                2,
                Desc::Stderr,
                rights::FD_WRITE | rights::POLL_FD_READWRITE,
            ),
        ] {
            entries.insert(
                fd,
                Entry {
                    desc,
                    base,
                    inheriting: 0,
                },
            );
        }
        FdTable {
            entries,
            free: BTreeSet::new(),
            limit,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether one more descriptor fits under the instance's `fd_limit`. Exhausting the limit
    /// stops the instance with `LimitExceeded { kind: Fds }` (a resource policy, like the memory
    /// and time limits), rather than an `EMFILE` the guest could spin on.
    pub fn check_room(&self) -> Result<(), WasiError> {
        match self.limit {
            Some(limit) if self.entries.len() >= limit => {
                Err(WasiError::Stop(crate::Error::LimitExceeded {
                    kind: crate::LimitKind::Fds,
                    limit: limit as u64,
                    detail: alloc::format!(
                        "the instance tried to hold more than {limit} open descriptors"
                    ),
                }))
            }
            _ => Ok(()),
        }
    }

    /// Adds `entry` under a new number, chosen as wasmtime does: the highest freed number if
    /// any, else one past the highest in use. (Numbers only come from here: `renumber` moves a
    /// descriptor onto one that is open, so the highest in use stays far below `u32::MAX`.)
    pub fn insert(&mut self, entry: Entry) -> Result<u32, WasiError> {
        self.check_room()?;
        let fd = match self.free.pop_last() {
            Some(fd) => fd,
            None => match self.entries.last_key_value() {
                Some((&last, _)) => last.checked_add(1).ok_or(Errno::Mfile)?,
                None => 0,
            },
        };
        self.entries.insert(fd, entry);
        Ok(fd)
    }

    /// Any descriptor; `EBADF` when `fd` is not open.
    pub fn entry(&self, fd: u32) -> Result<&Entry, Errno> {
        self.entries.get(&fd).ok_or(Errno::Badf)
    }

    pub fn entry_mut(&mut self, fd: u32) -> Result<&mut Entry, Errno> {
        self.entries.get_mut(&fd).ok_or(Errno::Badf)
    }

    /// A file or directory (wasmtime's `get_fd`): stdio is `EBADF`.
    pub fn fs_entry(&self, fd: u32) -> Result<(&Entry, &FsNode), Errno> {
        let e = self.entry(fd)?;
        match &e.desc {
            Desc::File(f) => Ok((e, &f.fs)),
            Desc::Dir(d) => Ok((e, &d.fs)),
            _ => Err(Errno::Badf),
        }
    }

    /// A regular file (wasmtime's `get_file`/`get_file_fd`): directories and stdio are `EBADF`.
    pub fn file(&self, fd: u32) -> Result<(&Entry, &FileDesc), Errno> {
        let e = self.entry(fd)?;
        match &e.desc {
            Desc::File(f) => Ok((e, f)),
            _ => Err(Errno::Badf),
        }
    }

    /// A regular file, writable.
    pub fn file_mut(&mut self, fd: u32) -> Result<(&mut FileDesc, Rights), Errno> {
        let e = self.entry_mut(fd)?;
        match &mut e.desc {
            Desc::File(f) => Ok((f, e.base)),
            _ => Err(Errno::Badf),
        }
    }

    /// A descriptor with a position (wasmtime's `get_seekable`): stdio and sockets are `ESPIPE`,
    /// directories `EBADF`.
    pub fn seekable_mut(&mut self, fd: u32) -> Result<(&mut FileDesc, Rights), Errno> {
        let e = self.entry_mut(fd)?;
        match &mut e.desc {
            Desc::File(f) => Ok((f, e.base)),
            Desc::Stdin | Desc::Stdout | Desc::Stderr | Desc::Socket(_) => Err(Errno::Spipe),
            Desc::Dir(_) => Err(Errno::Badf),
        }
    }

    /// A socket: `ENOTSOCK` for any other open descriptor, `EBADF` for a closed one.
    pub fn socket(&self, fd: u32) -> Result<(&Entry, &SocketDesc), Errno> {
        let e = self.entry(fd)?;
        match &e.desc {
            Desc::Socket(s) => Ok((e, s)),
            _ => Err(Errno::Notsock),
        }
    }

    /// Whether `fd` is an open socket (`fd_read`/`fd_write` hand those to the socket layer).
    pub fn is_socket(&self, fd: u32) -> bool {
        matches!(
            self.entries.get(&fd),
            Some(Entry {
                desc: Desc::Socket(_),
                ..
            })
        )
    }

    /// The open descriptors (`net-info` counts sockets).
    pub fn entries(&self) -> impl Iterator<Item = (u32, &Entry)> {
        self.entries.iter().map(|(&fd, e)| (fd, e))
    }

    /// A directory (wasmtime's `get_dir_fd`): anything else is `EBADF` (`path_open` alone answers
    /// `ENOTDIR` for a file).
    pub fn dir(&self, fd: u32) -> Result<(&Entry, &DirDesc), Errno> {
        let e = self.entry(fd)?;
        match &e.desc {
            Desc::Dir(d) => Ok((e, d)),
            _ => Err(Errno::Badf),
        }
    }

    /// The preopened directories still open, in descriptor order: (guest path, directory).
    pub fn preopens(&self) -> impl Iterator<Item = (&str, &FsNode)> {
        self.entries.values().filter_map(|entry| match &entry.desc {
            Desc::Dir(DirDesc {
                fs,
                preopen: Some(path),
            }) => Some((path.as_str(), fs)),
            _ => None,
        })
    }

    pub fn remove(&mut self, fd: u32) -> Result<Entry, Errno> {
        let entry = self.entries.remove(&fd).ok_or(Errno::Badf)?;
        self.free.insert(fd);
        Ok(entry)
    }

    /// Moves `from` to `to`, closing whatever `to` was (`to` need not be open, as in wasmtime).
    /// Moves descriptor `from` onto `to`, closing what `to` was. Both must be open (`EBADF`), as
    /// in wasmtime; onto itself it does nothing.
    pub fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        if !self.entries.contains_key(&from) || !self.entries.contains_key(&to) {
            return Err(Errno::Badf);
        }
        if from != to {
            let entry = self.remove(from)?;
            self.free.remove(&to);
            self.entries.insert(to, entry);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_fd_and_limit() {
        let mut t = FdTable::with_stdio(Some(4));
        let e = || Entry {
            desc: Desc::Stdin,
            base: 0,
            inheriting: 0,
        };
        assert_eq!(t.insert(e()), Ok(3));
        assert!(matches!(
            t.insert(e()),
            Err(WasiError::Stop(crate::Error::LimitExceeded {
                kind: crate::LimitKind::Fds,
                limit: 4,
                ..
            }))
        ));
        t.remove(1).unwrap();
        t.remove(2).unwrap();
        // Freed numbers are reused highest first.
        assert_eq!(t.insert(e()), Ok(2));
        assert_eq!(t.insert(e()), Ok(1));
        assert_eq!(t.renumber(9, 1), Err(Errno::Badf));
        assert_eq!(t.renumber(3, 1), Ok(()));
        assert_eq!(t.len(), 3);
        // 3 was freed by the renumber.
        assert_eq!(t.insert(e()), Ok(3));
        assert_eq!(t.seekable_mut(0).err(), Some(Errno::Spipe));
        assert_eq!(t.dir(0).err(), Some(Errno::Badf));
    }
}
