//! Preview1 rights, and how an instance's file capabilities become the rights of its preopens.
//!
//! Enforcement (documented in `docs/wasi.md`): every descriptor carries base and inheriting rights.
//! A preopen's rights are what the instance's `file:read`/`file:write`/`file:create` capabilities
//! allow under its guest path ([`preopen_mask`]); descriptors opened below it get at most the
//! preopen's inheriting rights. Rights no capability governs (seek, tell, sync, advise, ...) are
//! always present, so with every file capability granted the behaviour is exactly wasmtime's
//! (which does not enforce rights). A missing right is `ENOTCAPABLE`, except `fd_read`/`fd_write`
//! on a descriptor not opened for reading/writing, which are `EBADF` as in wasmtime and POSIX.

use crate::caps::{CapSet, Capability};

pub type Rights = u64;

pub const FD_DATASYNC: Rights = 1 << 0;
pub const FD_READ: Rights = 1 << 1;
pub const FD_SEEK: Rights = 1 << 2;
pub const FD_FDSTAT_SET_FLAGS: Rights = 1 << 3;
pub const FD_SYNC: Rights = 1 << 4;
pub const FD_TELL: Rights = 1 << 5;
pub const FD_WRITE: Rights = 1 << 6;
pub const FD_ADVISE: Rights = 1 << 7;
pub const FD_ALLOCATE: Rights = 1 << 8;
pub const PATH_CREATE_DIRECTORY: Rights = 1 << 9;
pub const PATH_CREATE_FILE: Rights = 1 << 10;
pub const PATH_LINK_SOURCE: Rights = 1 << 11;
pub const PATH_LINK_TARGET: Rights = 1 << 12;
pub const PATH_OPEN: Rights = 1 << 13;
pub const FD_READDIR: Rights = 1 << 14;
pub const PATH_READLINK: Rights = 1 << 15;
pub const PATH_RENAME_SOURCE: Rights = 1 << 16;
pub const PATH_RENAME_TARGET: Rights = 1 << 17;
pub const PATH_FILESTAT_GET: Rights = 1 << 18;
pub const PATH_FILESTAT_SET_SIZE: Rights = 1 << 19;
pub const PATH_FILESTAT_SET_TIMES: Rights = 1 << 20;
pub const FD_FILESTAT_GET: Rights = 1 << 21;
pub const FD_FILESTAT_SET_SIZE: Rights = 1 << 22;
pub const FD_FILESTAT_SET_TIMES: Rights = 1 << 23;
pub const PATH_SYMLINK: Rights = 1 << 24;
pub const PATH_REMOVE_DIRECTORY: Rights = 1 << 25;
pub const PATH_UNLINK_FILE: Rights = 1 << 26;
pub const POLL_FD_READWRITE: Rights = 1 << 27;
pub const SOCK_SHUTDOWN: Rights = 1 << 28;
pub const SOCK_ACCEPT: Rights = 1 << 29;

/// Every right; a rights argument with other bits set is EINVAL.
pub const ALL: Rights = (1 << 30) - 1;

/// Rights that mean something on a regular file.
pub const FILE: Rights = FD_DATASYNC
    | FD_READ
    | FD_SEEK
    | FD_FDSTAT_SET_FLAGS
    | FD_SYNC
    | FD_TELL
    | FD_WRITE
    | FD_ADVISE
    | FD_ALLOCATE
    | FD_FILESTAT_GET
    | FD_FILESTAT_SET_SIZE
    | FD_FILESTAT_SET_TIMES
    | POLL_FD_READWRITE;

/// The base rights of a preopened directory: exactly the set wasmtime reports ("hard-coded set of
/// rights expected by many userlands"), narrowed by capabilities.
pub const PREOPEN_BASE: Rights = PATH_CREATE_DIRECTORY
    | PATH_CREATE_FILE
    | PATH_LINK_SOURCE
    | PATH_LINK_TARGET
    | PATH_OPEN
    | FD_READDIR
    | PATH_READLINK
    | PATH_RENAME_SOURCE
    | PATH_RENAME_TARGET
    | PATH_SYMLINK
    | PATH_REMOVE_DIRECTORY
    | PATH_UNLINK_FILE
    | PATH_FILESTAT_GET
    | PATH_FILESTAT_SET_TIMES
    | FD_FILESTAT_GET
    | FD_FILESTAT_SET_TIMES;

/// The inheriting rights of a preopened directory (wasmtime's set).
pub const PREOPEN_INHERITING: Rights = PREOPEN_BASE
    | FD_DATASYNC
    | FD_READ
    | FD_SEEK
    | FD_FDSTAT_SET_FLAGS
    | FD_SYNC
    | FD_TELL
    | FD_WRITE
    | FD_ADVISE
    | FD_ALLOCATE
    | FD_FILESTAT_GET
    | FD_FILESTAT_SET_SIZE
    | FD_FILESTAT_SET_TIMES
    | POLL_FD_READWRITE;

/// Rights of a directory opened with `path_open` (before narrowing by its parent's inheriting
/// rights): as wasmtime reports, everything but seeking, sizes and data reads/writes.
pub const DIRECTORY: Rights = ALL & !(FD_SEEK | FD_FILESTAT_SET_SIZE | FD_READ | FD_WRITE);

/// Rights granted by `file:read`: reading data, listings, links and metadata.
pub const READ_CAP: Rights =
    FD_READ | FD_READDIR | PATH_READLINK | PATH_FILESTAT_GET | FD_FILESTAT_GET;

/// Rights granted by `file:write`: changing data, sizes, times and existing names.
pub const WRITE_CAP: Rights = FD_WRITE
    | FD_DATASYNC
    | FD_ALLOCATE
    | FD_FILESTAT_SET_SIZE
    | FD_FILESTAT_SET_TIMES
    | PATH_FILESTAT_SET_SIZE
    | PATH_FILESTAT_SET_TIMES
    | PATH_RENAME_SOURCE
    | PATH_RENAME_TARGET
    | PATH_UNLINK_FILE
    | PATH_REMOVE_DIRECTORY;

/// Rights granted by `file:create`: new files, directories and links (`O_CREAT`, `mkdir`, ...).
pub const CREATE_CAP: Rights =
    PATH_CREATE_DIRECTORY | PATH_CREATE_FILE | PATH_LINK_SOURCE | PATH_LINK_TARGET | PATH_SYMLINK;

/// Rights no capability governs.
pub const ALWAYS: Rights = ALL & !(READ_CAP | WRITE_CAP | CREATE_CAP);

/// The rights the instance's file capabilities allow under the preopen mounted at `guest_path`.
pub fn preopen_mask(caps: &CapSet, guest_path: &str) -> Rights {
    let mut mask = ALWAYS;
    if caps.allows_path(Capability::FileRead, guest_path) {
        mask |= READ_CAP;
    }
    if caps.allows_path(Capability::FileWrite, guest_path) {
        mask |= WRITE_CAP;
    }
    if caps.allows_path(Capability::FileCreate, guest_path) {
        mask |= CREATE_CAP;
    }
    mask
}

/// Rights of a connected socket (accepted, or made with `net::connect`), before the network
/// capabilities narrow them ([`socket_mask`]).
pub const SOCKET_STREAM: Rights =
    FD_READ | FD_WRITE | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE | SOCK_SHUTDOWN;

/// Rights of a listening socket (a `--tcplisten` preopen); its inheriting rights are what the
/// connections it accepts get.
pub const SOCKET_LISTENER: Rights =
    SOCK_ACCEPT | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;

/// The socket rights the instance's network capabilities allow: `net:recv` grants receiving
/// (`FD_READ`: `sock_recv`, `fd_read`), `net:send` sending (`FD_WRITE`: `sock_send`,
/// `fd_write`). Accepting on a preopened listener needs no capability: the embedder handed the
/// socket over.
pub fn socket_mask(caps: &CapSet) -> Rights {
    let mut mask = ALL & !(FD_READ | FD_WRITE);
    if caps.has(Capability::NetRecv) {
        mask |= FD_READ;
    }
    if caps.has(Capability::NetSend) {
        mask |= FD_WRITE;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_partition_all_rights() {
        assert_eq!(READ_CAP & WRITE_CAP, 0);
        assert_eq!(READ_CAP & CREATE_CAP, 0);
        assert_eq!(WRITE_CAP & CREATE_CAP, 0);
        assert_eq!(ALWAYS | READ_CAP | WRITE_CAP | CREATE_CAP, ALL);
        assert_eq!(preopen_mask(&CapSet::all(), "/x"), ALL);
        let ro = CapSet::parse("file:read=/data").unwrap();
        assert_eq!(preopen_mask(&ro, "/data"), ALWAYS | READ_CAP);
        assert_eq!(preopen_mask(&ro, "/other"), ALWAYS);
        assert_eq!(SOCKET_STREAM & socket_mask(&CapSet::all()), SOCKET_STREAM);
        let send_only = CapSet::parse("net:send").unwrap();
        assert_eq!(SOCKET_STREAM & socket_mask(&send_only) & FD_READ, 0);
        assert_ne!(SOCKET_STREAM & socket_mask(&send_only) & FD_WRITE, 0);
    }
}
