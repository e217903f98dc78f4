//! The WASI state of one instance: arguments, environment and the descriptor table, built from the
//! instance's preopens and capabilities.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::caps::{CapSet, Capability};
use crate::vfs::{path, NodeId, Vfs, VfsError};

use super::fd_table::{Desc, DirDesc, Entry, FdTable, FsNode, SocketDesc, SocketKind};

/// The components of a guest path that name something (`.` and empty ones dropped).
fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".")
}
use super::rights;

/// A listening socket handed to the guest (wasmtime's `-S tcplisten=ADDR`, kwasm's
/// `--tcplisten`): the descriptors after the directory preopens, in order (3, 4, ... without
/// directories). Directories come first because libc's preopen scan (wasi-libc, Go) stops at the
/// first descriptor `fd_prestat_get` answers `EBADF` for: a socket before a directory would
/// hide the directory.
#[derive(Clone)]
pub struct SocketPreopen {
    pub listener: Arc<dyn crate::net::Listener>,
}

impl SocketPreopen {
    pub fn new(listener: Arc<dyn crate::net::Listener>) -> Self {
        SocketPreopen { listener }
    }
}

impl core::fmt::Debug for SocketPreopen {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SocketPreopen({})", self.listener.local_addr())
    }
}

/// A directory of some file system made visible to the guest under `guest_path` (wasmtime's
/// `--dir HOST::GUEST`). Preopens become descriptors 3, 4, ... in order.
#[derive(Clone)]
pub struct Preopen {
    pub guest_path: String,
    pub vfs: Arc<dyn Vfs>,
    pub dir: NodeId,
}

impl Preopen {
    pub fn new(guest_path: impl Into<String>, vfs: Arc<dyn Vfs>, dir: NodeId) -> Self {
        Preopen {
            guest_path: guest_path.into(),
            vfs,
            dir,
        }
    }

    /// The root of `vfs` under `guest_path`.
    pub fn root(guest_path: impl Into<String>, vfs: Arc<dyn Vfs>) -> Self {
        let dir = vfs.root();
        Preopen::new(guest_path, vfs, dir)
    }
}

impl core::fmt::Debug for Preopen {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Preopen({:?} -> node {})", self.guest_path, self.dir)
    }
}

/// The distinct file systems of an instance's preopens. Every descriptor's file system is one
/// of them (descriptors are opened relative to others), so their [`Vfs::work`] counts all the
/// file-system work a WASI call can cause, which the call is charged for.
#[derive(Clone, Default)]
pub struct FileSystems(Vec<Arc<dyn Vfs>>);

impl FileSystems {
    fn add(&mut self, vfs: &Arc<dyn Vfs>) {
        let known = self
            .0
            .iter()
            .any(|v| core::ptr::addr_eq(Arc::as_ptr(v), Arc::as_ptr(vfs)));
        if !known {
            self.0.push(vfs.clone());
        }
    }

    /// The work all of them have done so far ([`Vfs::work`]).
    pub fn work(&self) -> u64 {
        self.0
            .iter()
            .fold(0u64, |sum, v| sum.wrapping_add(v.work()))
    }
}

impl core::fmt::Debug for FileSystems {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "FileSystems({})", self.0.len())
    }
}

/// The WASI state of one instance.
#[derive(Debug, Clone)]
pub struct WasiCtx {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub fds: FdTable,
    /// The file systems the descriptors live on, for charging their work.
    pub file_systems: FileSystems,
}

impl Default for WasiCtx {
    fn default() -> Self {
        WasiCtx {
            args: Vec::new(),
            env: Vec::new(),
            fds: FdTable::with_stdio(None),
            file_systems: FileSystems::default(),
        }
    }
}

impl WasiCtx {
    /// Stdio on 0-2, then `preopens` from 3, then `sockets`, each directory with the rights
    /// `caps` allow under its guest path and each socket with those the network capabilities
    /// allow.
    /// Preopens beyond `fd_limit` are left out (the limit counts every open descriptor).
    pub fn new(
        args: Vec<String>,
        env: Vec<(String, String)>,
        preopens: &[Preopen],
        sockets: &[SocketPreopen],
        caps: &CapSet,
        fd_limit: Option<usize>,
    ) -> Self {
        let mut fds = FdTable::with_stdio(fd_limit);
        let mut file_systems = FileSystems::default();
        for p in preopens {
            file_systems.add(&p.vfs);
            let mask = rights::preopen_mask(caps, &p.guest_path);
            let entry = Entry {
                desc: Desc::Dir(DirDesc {
                    fs: FsNode {
                        vfs: p.vfs.clone(),
                        node: p.dir,
                    },
                    preopen: Some(p.guest_path.clone()),
                }),
                base: rights::PREOPEN_BASE & mask,
                inheriting: rights::PREOPEN_INHERITING & mask,
            };
            if fds.insert(entry).is_err() {
                return WasiCtx {
                    args,
                    env,
                    fds,
                    file_systems,
                };
            }
        }
        let mask = rights::socket_mask(caps);
        for s in sockets {
            let entry = Entry {
                desc: Desc::Socket(SocketDesc {
                    kind: SocketKind::Listener(s.listener.clone()),
                    nonblock: false,
                }),
                base: rights::SOCKET_LISTENER & mask,
                inheriting: rights::SOCKET_STREAM & mask,
            };
            if fds.insert(entry).is_err() {
                break;
            }
        }
        WasiCtx {
            args,
            env,
            fds,
            file_systems,
        }
    }
}

impl WasiCtx {
    /// Resolves `path` as the guest's own libc would before `path_open`: the preopen whose guest
    /// path is the longest component-wise prefix of `path` (relative paths count from `/`, the
    /// working directory of a WASI program; on a tie the later preopen wins, as wasi-libc), then
    /// the rest inside that directory, which it never leaves (`..` past it, or a symlink out of
    /// it, is [`VfsError::Escape`]). Reading is the point: the preopen must be covered by
    /// `file:read` in `caps`, else [`VfsError::Permission`]. For host functions that take a path
    /// from a guest (`llm.load_lora`).
    pub fn resolve_readable(&self, caps: &CapSet, guest_path: &str) -> Result<FsNode, VfsError> {
        if guest_path.contains('\0') {
            return Err(VfsError::InvalidName);
        }
        let mut best: Option<(usize, &str, &FsNode)> = None;
        for (mount, dir) in self.fds.preopens() {
            let mut wanted = components(guest_path);
            let mut depth = 0;
            let matches = components(mount).all(|m| {
                depth += 1;
                wanted.next() == Some(m)
            });
            if matches && best.is_none_or(|(d, _, _)| depth >= d) {
                best = Some((depth, mount, dir));
            }
        }
        let (depth, mount, dir) = best.ok_or(VfsError::NotFound)?;
        if !caps.allows_path(Capability::FileRead, mount) {
            return Err(VfsError::Permission);
        }
        let rest: alloc::vec::Vec<&str> = components(guest_path).skip(depth).collect();
        let rest = if rest.is_empty() {
            String::from(".")
        } else {
            rest.join("/")
        };
        let node = path::resolve(
            &*dir.vfs,
            dir.node,
            dir.node,
            &rest,
            path::Absolute::Reject,
            true,
        )?;
        Ok(FsNode {
            vfs: dir.vfs.clone(),
            node,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::{MemFs, NodeKind};
    use alloc::format;
    use alloc::vec;

    // The platform is single-threaded; `Arc` is what `Preopen` holds.
    #[allow(clippy::arc_with_non_send_sync)]
    fn fs() -> Arc<dyn Vfs> {
        let fs = MemFs::new(1 << 20, 100);
        let root = fs.root();
        fs.create(root, "data", NodeKind::Dir).unwrap();
        Arc::new(fs)
    }

    #[test]
    fn preopens_past_the_descriptor_limit_are_left_out() {
        let fs = fs();
        let preopens = [
            Preopen::root("/a", fs.clone()),
            Preopen::root("/b", fs.clone()),
        ];
        let caps = CapSet::wasi_default();
        // Room for stdio and one preopen: /b is left out, and nothing else is added.
        let ctx = WasiCtx::new(vec![], vec![], &preopens, &[], &caps, Some(4));
        let mounts: Vec<&str> = ctx.fds.preopens().map(|(m, _)| m).collect();
        assert_eq!(mounts, ["/a"]);
        assert_eq!(ctx.fds.len(), 4);
        // Both preopens share one file system: its work is counted once.
        let ctx = WasiCtx::new(vec![], vec![], &preopens, &[], &caps, None);
        assert_eq!(format!("{:?}", ctx.file_systems), "FileSystems(1)");
        assert_eq!(ctx.fds.len(), 5);
        // Without preopens: stdio only.
        assert_eq!(WasiCtx::default().fds.len(), 3);
        assert_eq!(
            format!("{:?}", preopens[1]),
            format!("Preopen(\"/b\" -> node {})", fs.root())
        );
    }

    #[test]
    fn resolving_a_guest_path_needs_read_access_and_a_clean_name() {
        let fs = fs();
        let preopens = [Preopen::root("/srv", fs.clone())];
        let caps = CapSet::parse("file:read=/srv").unwrap();
        let ctx = WasiCtx::new(vec![], vec![], &preopens, &[], &caps, None);
        let data = fs.lookup(fs.root(), "data").unwrap();
        assert_eq!(ctx.resolve_readable(&caps, "/srv/data").unwrap().node, data);
        // Relative paths count from `/`.
        assert_eq!(
            ctx.resolve_readable(&caps, "srv/./data").unwrap().node,
            data
        );
        assert_eq!(
            ctx.resolve_readable(&caps, "/srv/da\0ta").err(),
            Some(VfsError::InvalidName)
        );
        assert_eq!(
            ctx.resolve_readable(&caps, "/elsewhere").err(),
            Some(VfsError::NotFound)
        );
        assert_eq!(
            ctx.resolve_readable(&caps, "/srv/../srv/data").err(),
            Some(VfsError::Escape)
        );
        let write_only = CapSet::parse("file:write=/srv").unwrap();
        assert_eq!(
            ctx.resolve_readable(&write_only, "/srv/data").err(),
            Some(VfsError::Permission)
        );
    }
}
