//! Descriptors, files and directories: every `fd_*` and `path_*` function.
//!
//! Each function checks (in wasmtime's order) flag/enum arguments (EINVAL), the descriptor
//! (EBADF/ENOTDIR/ESPIPE by kind, see [`FdTable`]), its rights (ENOTCAPABLE), then resolves paths
//! through [`crate::vfs::path`], which keeps every path inside the directory descriptor it is
//! relative to. Results are written to guest memory only when the call succeeds.

use alloc::string::String;
use alloc::sync::Arc;

use crate::context::HostContext;
use crate::guest::{GuestMemory, GuestWriter};
use crate::platform::{Stream, INTERRUPT_POLL_NS};
use crate::vfs::path::{self, Absolute, MAX_SYMLINKS};
use crate::vfs::{Metadata, NodeId, NodeKind, SetTime, Vfs, VfsError};

use super::errno::{Errno, WasiError, WasiResult};
use super::fd_table::{Desc, DirDesc, Entry, FdTable, FileDesc, FsNode};
use super::rights::{self, Rights};
use super::types::*;
use super::MAX_IOVS;

fn check_iovs(count: u32) -> Result<(), Errno> {
    if count > MAX_IOVS {
        Err(Errno::Inval)
    } else {
        Ok(())
    }
}

/// The largest file offset or size: `off_t` is signed, so as Linux (and wasmtime, which passes
/// offsets to the OS) a position, `pread`/`pwrite` offset or `ftruncate` size above `i64::MAX` is
/// `EINVAL`. Every offset or size a guest passes to read, write, resize or position a file goes
/// through here before it reaches a file system (`fd_advise`/`fd_allocate` ignore theirs).
fn file_offset(offset: u64) -> Result<u64, Errno> {
    file_range(offset, 0)
}

/// `offset` if the byte range `offset..offset + len` of a read or write stays within `off_t`,
/// else `EINVAL` (Linux `rw_verify_area`), whatever the file system.
fn file_range(offset: u64, len: u32) -> Result<u64, Errno> {
    match offset.checked_add(u64::from(len)) {
        Some(end) if end <= i64::MAX as u64 => Ok(offset),
        _ => Err(Errno::Inval),
    }
}

fn filestat(m: &Metadata) -> Filestat {
    Filestat {
        dev: 1,
        ino: m.ino,
        filetype: filetype(m.kind),
        nlink: m.nlink,
        size: m.size,
        atim: m.atime_ns,
        mtim: m.mtime_ns,
        ctim: m.ctime_ns,
    }
}

fn stdio_filetype(ctx: &HostContext, fd: u32) -> u8 {
    if ctx.platform.console.is_terminal(fd) {
        FILETYPE_CHARACTER_DEVICE
    } else {
        FILETYPE_UNKNOWN
    }
}

fn set_time(set: bool, now: bool, ts: u64) -> Result<SetTime, Errno> {
    match (set, now) {
        (true, true) => Err(Errno::Inval),
        (true, false) => Ok(SetTime::At(ts)),
        (false, true) => Ok(SetTime::Now),
        (false, false) => Ok(SetTime::Keep),
    }
}

fn times(fst: u32, atim: u64, mtim: u64) -> Result<(SetTime, SetTime), Errno> {
    if fst & !FST_ALL != 0 {
        return Err(Errno::Inval);
    }
    Ok((
        set_time(fst & FST_ATIM != 0, fst & FST_ATIM_NOW != 0, atim)?,
        set_time(fst & FST_MTIM != 0, fst & FST_MTIM_NOW != 0, mtim)?,
    ))
}

fn lookup_flags(flags: u32) -> Result<bool, Errno> {
    if flags & !LOOKUP_SYMLINK_FOLLOW != 0 {
        return Err(Errno::Inval);
    }
    Ok(flags & LOOKUP_SYMLINK_FOLLOW != 0)
}

/// A directory descriptor's file system and node, after checking it has `needed`.
fn dir_of(
    fds: &FdTable,
    fd: u32,
    needed: Rights,
) -> WasiResult<(Arc<dyn Vfs>, NodeId, Rights, Rights)> {
    let (e, d) = fds.dir(fd)?;
    e.need(needed)?;
    Ok((d.fs.vfs.clone(), d.fs.node, e.base, e.inheriting))
}

/// Resolves `path` inside directory `dir` (which is also the sandbox root).
fn resolve(vfs: &dyn Vfs, dir: NodeId, path: &str, follow: bool) -> Result<NodeId, VfsError> {
    path::resolve(vfs, dir, dir, path, Absolute::Reject, follow)
}

/// The directory holding the last component of `path` and that component.
fn parent(vfs: &dyn Vfs, dir: NodeId, path: &str) -> Result<(NodeId, Option<String>), VfsError> {
    path::resolve_parent(vfs, dir, dir, path, Absolute::Reject)
}

// ---- descriptors ----------------------------------------------------------------------------

pub fn fd_advise(
    _mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    _offset: u64,
    _len: u64,
    advice: u32,
) -> WasiResult<()> {
    if advice > ADVICE_MAX {
        return Err(Errno::Inval.into());
    }
    let (e, _) = ctx.wasi.fds.file(fd)?;
    e.need(rights::FD_ADVISE)?;
    Ok(())
}

/// wasmtime's preview1 does not implement `fd_allocate`: `ENOTSUP` for a file, `EBADF` otherwise.
pub fn fd_allocate(
    _mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    _offset: u64,
    _len: u64,
) -> WasiResult<()> {
    ctx.wasi.fds.file(fd)?;
    Err(Errno::Notsup.into())
}

pub fn fd_close(_mem: &mut GuestMemory<'_>, ctx: &mut HostContext, fd: u32) -> WasiResult<()> {
    ctx.wasi.fds.remove(fd)?;
    Ok(())
}

fn sync(ctx: &mut HostContext, fd: u32, right: Rights) -> WasiResult<()> {
    let (e, f) = ctx.wasi.fds.file(fd)?;
    e.need(right)?;
    f.fs.vfs.sync(f.fs.node)?;
    Ok(())
}

pub fn fd_datasync(_mem: &mut GuestMemory<'_>, ctx: &mut HostContext, fd: u32) -> WasiResult<()> {
    sync(ctx, fd, rights::FD_DATASYNC)
}

pub fn fd_sync(_mem: &mut GuestMemory<'_>, ctx: &mut HostContext, fd: u32) -> WasiResult<()> {
    sync(ctx, fd, rights::FD_SYNC)
}

pub fn fd_fdstat_get(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    out: u32,
) -> WasiResult<()> {
    let e = ctx.wasi.fds.entry(fd)?;
    let stat = match &e.desc {
        Desc::Stdin => Fdstat {
            filetype: stdio_filetype(ctx, fd),
            flags: 0,
            rights_base: rights::FD_READ,
            rights_inheriting: rights::FD_READ,
        },
        Desc::Stdout | Desc::Stderr => Fdstat {
            filetype: stdio_filetype(ctx, fd),
            flags: 0,
            rights_base: rights::FD_WRITE,
            rights_inheriting: rights::FD_WRITE,
        },
        Desc::Dir(_) => Fdstat {
            filetype: FILETYPE_DIRECTORY,
            flags: 0,
            rights_base: e.base,
            rights_inheriting: e.inheriting,
        },
        Desc::File(f) => Fdstat {
            filetype: FILETYPE_REGULAR_FILE,
            flags: if f.append { FDFLAGS_APPEND } else { 0 }
                | if f.nonblock { FDFLAGS_NONBLOCK } else { 0 },
            rights_base: e.base,
            rights_inheriting: e.inheriting,
        },
        Desc::Socket(s) => Fdstat {
            filetype: FILETYPE_SOCKET_STREAM,
            flags: if s.nonblock { FDFLAGS_NONBLOCK } else { 0 },
            rights_base: e.base,
            rights_inheriting: e.inheriting,
        },
    };
    mem.write_at(out, 0, stat)?;
    Ok(())
}

pub fn fd_fdstat_set_flags(
    _mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    flags: u32,
) -> WasiResult<()> {
    if flags & !FDFLAGS_ALL != 0 {
        return Err(Errno::Inval.into());
    }
    // Sockets: only NONBLOCK means something (O_APPEND and the sync flags do not apply).
    if let Ok(Entry {
        desc: Desc::Socket(s),
        base,
        ..
    }) = ctx.wasi.fds.entry_mut(fd)
    {
        if *base & rights::FD_FDSTAT_SET_FLAGS == 0 {
            return Err(Errno::Notcapable.into());
        }
        if flags & !u32::from(FDFLAGS_NONBLOCK) != 0 {
            return Err(Errno::Inval.into());
        }
        s.nonblock = flags != 0;
        return Ok(());
    }
    let (f, base) = ctx.wasi.fds.file_mut(fd)?;
    if base & rights::FD_FDSTAT_SET_FLAGS == 0 {
        return Err(Errno::Notcapable.into());
    }
    // Only APPEND and NONBLOCK can change (wasmtime: the sync flags are EINVAL).
    if flags & u32::from(FDFLAGS_DSYNC | FDFLAGS_SYNC | FDFLAGS_RSYNC) != 0 {
        return Err(Errno::Inval.into());
    }
    f.append = flags & u32::from(FDFLAGS_APPEND) != 0;
    f.nonblock = flags & u32::from(FDFLAGS_NONBLOCK) != 0;
    Ok(())
}

/// Rights can only shrink (`ENOTCAPABLE` when asked to grow). wasmtime accepts and ignores this
/// call; here rights are enforced, so shrinking them takes effect (see docs/wasi.md).
pub fn fd_fdstat_set_rights(
    _mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    base: u64,
    inheriting: u64,
) -> WasiResult<()> {
    if base & !rights::ALL != 0 || inheriting & !rights::ALL != 0 {
        return Err(Errno::Inval.into());
    }
    ctx.wasi.fds.fs_entry(fd)?;
    let e = ctx.wasi.fds.entry_mut(fd)?;
    if base & !e.base != 0 || inheriting & !e.inheriting != 0 {
        return Err(Errno::Notcapable.into());
    }
    e.base = base;
    e.inheriting = inheriting;
    Ok(())
}

pub fn fd_filestat_get(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    out: u32,
) -> WasiResult<()> {
    let e = ctx.wasi.fds.entry(fd)?;
    let stat = match &e.desc {
        Desc::Stdin | Desc::Stdout | Desc::Stderr => Filestat {
            filetype: stdio_filetype(ctx, fd),
            ..Filestat::default()
        },
        Desc::Socket(_) => Filestat {
            filetype: FILETYPE_SOCKET_STREAM,
            ..Filestat::default()
        },
        Desc::File(FileDesc { fs, .. }) | Desc::Dir(DirDesc { fs, .. }) => {
            e.need(rights::FD_FILESTAT_GET)?;
            filestat(&fs.vfs.stat(fs.node)?)
        }
    };
    mem.write_at(out, 0, stat)?;
    Ok(())
}

pub fn fd_filestat_set_size(
    _mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    size: u64,
) -> WasiResult<()> {
    let (f, base) = ctx.wasi.fds.file_mut(fd)?;
    if base & rights::FD_FILESTAT_SET_SIZE == 0 {
        return Err(Errno::Notcapable.into());
    }
    // ftruncate(2) on a descriptor not open for writing.
    if base & rights::FD_WRITE == 0 {
        return Err(Errno::Inval.into());
    }
    f.fs.vfs.set_len(f.fs.node, file_offset(size)?)?;
    Ok(())
}

pub fn fd_filestat_set_times(
    _mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    atim: u64,
    mtim: u64,
    fst: u32,
) -> WasiResult<()> {
    let (a, m) = times(fst, atim, mtim)?;
    let (e, node) = ctx.wasi.fds.fs_entry(fd)?;
    e.need(rights::FD_FILESTAT_SET_TIMES)?;
    node.vfs.set_times(node.node, a, m)?;
    Ok(())
}

pub fn fd_pread(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nread: u32,
) -> WasiResult<()> {
    check_iovs(iovs_len)?;
    let e = ctx.wasi.fds.entry(fd)?;
    let n = match &e.desc {
        Desc::File(f) => {
            if e.base & rights::FD_READ == 0 {
                return Err(Errno::Badf.into());
            }
            let offset = file_offset(offset)?;
            let iov = mem.first_non_empty_iovec(iovs, iovs_len)?;
            let offset = file_range(offset, iov.len)?;
            f.fs.vfs
                .read_at(f.fs.node, offset, mem.slice_mut(iov.buf, iov.len)?)?
        }
        Desc::Stdin => return Err(Errno::Spipe.into()),
        _ => return Err(Errno::Badf.into()),
    };
    mem.write_at::<u32>(nread, 0, u32::try_from(n)?)?;
    Ok(())
}

pub fn fd_pwrite(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    offset: u64,
    nwritten: u32,
) -> WasiResult<()> {
    check_iovs(iovs_len)?;
    let e = ctx.wasi.fds.entry(fd)?;
    let n = match &e.desc {
        Desc::File(f) => {
            if e.base & rights::FD_WRITE == 0 {
                return Err(Errno::Badf.into());
            }
            // Checked even in append mode, where it is then ignored (Linux).
            let offset = file_offset(offset)?;
            let iov = mem.first_non_empty_iovec(iovs, iovs_len)?;
            let data = mem.slice(iov.buf, iov.len)?;
            // Linux pwrite(2): in append mode the offset is ignored.
            let at = if f.append {
                f.fs.vfs.stat(f.fs.node)?.size
            } else {
                offset
            };
            let at = file_range(at, iov.len)?;
            f.fs.vfs.write_at(f.fs.node, at, data)?
        }
        Desc::Stdout | Desc::Stderr => return Err(Errno::Spipe.into()),
        _ => return Err(Errno::Badf.into()),
    };
    mem.write_at::<u32>(nwritten, 0, u32::try_from(n)?)?;
    Ok(())
}

/// Reads into the first non-empty iovec (one buffer per call, as wasmtime). No allocation.
pub fn fd_read(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> WasiResult<()> {
    if ctx.wasi.fds.is_socket(fd) {
        return super::sock::fd_read(mem, ctx, fd, iovs, iovs_len, nread);
    }
    check_iovs(iovs_len)?;
    let e = ctx.wasi.fds.entry_mut(fd)?;
    let base = e.base;
    let n = match &mut e.desc {
        Desc::File(f) => {
            if base & rights::FD_READ == 0 {
                return Err(Errno::Badf.into());
            }
            let iov = mem.first_non_empty_iovec(iovs, iovs_len)?;
            let pos = file_range(f.pos, iov.len)?;
            let n =
                f.fs.vfs
                    .read_at(f.fs.node, pos, mem.slice_mut(iov.buf, iov.len)?)?;
            f.pos = f.pos.checked_add(n as u64).ok_or(Errno::Overflow)?;
            n
        }
        Desc::Stdin => {
            let iov = mem.first_non_empty_iovec(iovs, iovs_len)?;
            let n = read_stdin(ctx, mem.slice_mut(iov.buf, iov.len)?)?;
            // A console ends a read early when the user interrupts (Ctrl-C): stop the guest, as
            // a terminal's SIGINT would, rather than hand it an end of input.
            if n == 0 && iov.len > 0 && ctx.platform.console.take_interrupt() {
                return Err(WasiError::Stop(crate::Error::Interrupted {
                    func: alloc::format!("{} (reading stdin)", ctx.module),
                }));
            }
            n
        }
        _ => return Err(Errno::Badf.into()),
    };
    mem.write_at::<u32>(nread, 0, u32::try_from(n)?)?;
    Ok(())
}

/// Reads stdin into `buf`. With a time limit the read waits at most until the limit, then stops
/// the instance (a guest blocked on input that never comes is stopped like a busy one); it waits
/// in steps of [`INTERRUPT_POLL_NS`] so an interrupt is seen meanwhile.
fn read_stdin(ctx: &HostContext, buf: &mut [u8]) -> WasiResult<usize> {
    let Some((deadline_ns, ms)) = ctx.time_limit else {
        return Ok(ctx.platform.console.read(buf));
    };
    loop {
        let now = ctx.platform.clock.monotonic_ns();
        if now >= deadline_ns {
            return Err(WasiError::Stop(crate::Error::LimitExceeded {
                kind: crate::LimitKind::Time,
                limit: ms,
                detail: alloc::format!(
                    "{} waited for stdin past its {ms} ms of wall time",
                    ctx.module
                ),
            }));
        }
        let step = (deadline_ns - now).min(INTERRUPT_POLL_NS);
        match ctx.platform.console.read_timeout(buf, step) {
            Some(n) => return Ok(n),
            None if ctx.platform.console.take_interrupt() => {
                return Err(WasiError::Stop(crate::Error::Interrupted {
                    func: alloc::format!("{} (reading stdin)", ctx.module),
                }))
            }
            None => {}
        }
    }
}

/// Writes the first non-empty iovec (one buffer per call, as wasmtime). No allocation.
pub fn fd_write(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> WasiResult<()> {
    if ctx.wasi.fds.is_socket(fd) {
        return super::sock::fd_write(mem, ctx, fd, iovs, iovs_len, nwritten);
    }
    check_iovs(iovs_len)?;
    let e = ctx.wasi.fds.entry_mut(fd)?;
    let base = e.base;
    let n = match &mut e.desc {
        Desc::File(f) => {
            if base & rights::FD_WRITE == 0 {
                return Err(Errno::Badf.into());
            }
            let iov = mem.first_non_empty_iovec(iovs, iovs_len)?;
            let data = mem.slice(iov.buf, iov.len)?;
            if f.append {
                let end = file_range(f.fs.vfs.stat(f.fs.node)?.size, iov.len)?;
                let n = f.fs.vfs.write_at(f.fs.node, end, data)?;
                f.pos = f.fs.vfs.stat(f.fs.node)?.size;
                n
            } else {
                let pos = file_range(f.pos, iov.len)?;
                let n = f.fs.vfs.write_at(f.fs.node, pos, data)?;
                f.pos = f.pos.checked_add(n as u64).ok_or(Errno::Overflow)?;
                n
            }
        }
        Desc::Stdout | Desc::Stderr => {
            let stream = if matches!(e.desc, Desc::Stdout) {
                Stream::Stdout
            } else {
                Stream::Stderr
            };
            let iov = mem.first_non_empty_iovec(iovs, iovs_len)?;
            // Output nobody takes any more (a closed pipe) is EIO, as wasmtime: a guest that
            // checks stops writing instead of writing into the void for ever.
            ctx.platform
                .console
                .try_write(stream, mem.slice(iov.buf, iov.len)?)
                .map_err(|_| Errno::Io)?;
            iov.len as usize
        }
        _ => return Err(Errno::Badf.into()),
    };
    mem.write_at::<u32>(nwritten, 0, u32::try_from(n)?)?;
    Ok(())
}

pub fn fd_prestat_get(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    out: u32,
) -> WasiResult<()> {
    match &ctx.wasi.fds.entry(fd)?.desc {
        Desc::Dir(DirDesc {
            preopen: Some(name),
            ..
        }) => {
            let name_len = u32::try_from(name.len())?;
            mem.write_at(out, 0, PrestatDir { name_len })?;
            Ok(())
        }
        _ => Err(Errno::Badf.into()),
    }
}

pub fn fd_prestat_dir_name(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    buf: u32,
    len: u32,
) -> WasiResult<()> {
    match &ctx.wasi.fds.entry(fd)?.desc {
        Desc::Dir(DirDesc {
            preopen: Some(name),
            ..
        }) => {
            if name.len() > len as usize {
                return Err(Errno::Nametoolong.into());
            }
            mem.copy_from_host(buf, name.as_bytes())?;
            Ok(())
        }
        // wasmtime: "legacy implementation returns NOTDIR here".
        _ => Err(Errno::Notdir.into()),
    }
}

pub fn fd_renumber(
    _mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    from: u32,
    to: u32,
) -> WasiResult<()> {
    ctx.wasi.fds.renumber(from, to)?;
    Ok(())
}

pub fn fd_seek(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    offset: i64,
    whence: u32,
    out: u32,
) -> WasiResult<()> {
    if whence > WHENCE_END {
        return Err(Errno::Inval.into());
    }
    let (f, base) = ctx.wasi.fds.seekable_mut(fd)?;
    let needed = if whence == WHENCE_CUR && offset == 0 {
        rights::FD_TELL
    } else {
        rights::FD_SEEK
    };
    if base & needed == 0 && base & rights::FD_SEEK == 0 {
        return Err(Errno::Notcapable.into());
    }
    let pos = match whence {
        WHENCE_SET => u64::try_from(offset).map_err(|_| Errno::Inval)?,
        WHENCE_CUR => f.pos.checked_add_signed(offset).ok_or(Errno::Inval)?,
        _ => {
            f.fs.vfs
                .stat(f.fs.node)?
                .size
                .checked_add_signed(offset)
                .ok_or(Errno::Inval)?
        }
    };
    // Positions stay within `off_t`, so reads and writes never compute past `i64::MAX`.
    let pos = file_offset(pos)?;
    f.pos = pos;
    mem.write_at::<u64>(out, 0, pos)?;
    Ok(())
}

pub fn fd_tell(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    out: u32,
) -> WasiResult<()> {
    let (f, base) = ctx.wasi.fds.seekable_mut(fd)?;
    if base & (rights::FD_TELL | rights::FD_SEEK) == 0 {
        return Err(Errno::Notcapable.into());
    }
    let pos = f.pos;
    mem.write_at::<u64>(out, 0, pos)?;
    Ok(())
}

/// Lists `.` and `..` (cookies 1 and 2, both with the directory's own inode, as wasmtime) and then
/// the entries; the last entry is cut short when the buffer ends (the guest then knows to retry
/// with a bigger buffer because `bufused == buf_len`). Only the entries that can reach the buffer
/// are fetched (each takes at least a 24-byte header), so a call on a huge directory with a tiny
/// buffer copies a few names, not the directory.
pub fn fd_readdir(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    buf: u32,
    buf_len: u32,
    cookie: u64,
    out: u32,
) -> WasiResult<()> {
    let (vfs, node, _, _) = dir_of(&ctx.wasi.fds, fd, rights::FD_READDIR)?;
    // A cookie past the last entry (any number a guest makes up) lists nothing.
    let skip = usize::try_from(cookie).unwrap_or(usize::MAX);
    const HEAD: usize = 2;
    let fits = usize::try_from(buf_len / Dirent::SIZE as u32)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let entries = vfs.read_dir_range(node, skip.saturating_sub(HEAD), fits)?;
    let ino = vfs.stat(node)?.ino;
    let head = [(".", ino, NodeKind::Dir), ("..", ino, NodeKind::Dir)];
    // Cookies are entry indexes; the entries fetched start at index max(skip, 2). (The index is
    // computed per entry, not drawn from an open range: a cookie near u64::MAX must not step a
    // range past its end.)
    let first = u64::try_from(skip.max(HEAD)).unwrap_or(u64::MAX);
    let head = (0u64..).zip(head).skip(skip);
    let tail = (0u64..)
        .zip(entries.iter())
        .map(|(i, e)| (first.saturating_add(i), (e.name.as_str(), e.ino, e.kind)));
    let mut w = GuestWriter::new(buf, buf_len);
    for (index, (name, ino, kind)) in head.chain(tail) {
        let header = Dirent {
            next: index.saturating_add(1),
            ino,
            namlen: u32::try_from(name.len())?,
            filetype: filetype(kind),
        }
        .to_bytes();
        w.put(mem, &header)?;
        if w.remaining() == 0 {
            break;
        }
        w.put(mem, name.as_bytes())?;
        if w.remaining() == 0 {
            break;
        }
    }
    mem.write_at::<u32>(out, 0, buf_len - w.remaining())?;
    Ok(())
}

// ---- paths ----------------------------------------------------------------------------------

pub fn path_create_directory(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult<()> {
    let (vfs, dir, _, _) = dir_of(&ctx.wasi.fds, fd, rights::PATH_CREATE_DIRECTORY)?;
    let path = mem.str(path, path_len)?;
    match parent(&*vfs, dir, path)? {
        (_, None) => Err(Errno::Exist.into()),
        (p, Some(name)) => {
            vfs.create(p, &name, NodeKind::Dir)?;
            Ok(())
        }
    }
}

pub fn path_filestat_get(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    out: u32,
) -> WasiResult<()> {
    let follow = lookup_flags(flags)?;
    let (vfs, dir, _, _) = dir_of(&ctx.wasi.fds, fd, rights::PATH_FILESTAT_GET)?;
    let stat = {
        let path = mem.str(path, path_len)?;
        let node = resolve(&*vfs, dir, path, follow)?;
        filestat(&vfs.stat(node)?)
    };
    mem.write_at(out, 0, stat)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn path_filestat_set_times(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    atim: u64,
    mtim: u64,
    fst: u32,
) -> WasiResult<()> {
    let follow = lookup_flags(flags)?;
    let (a, m) = times(fst, atim, mtim)?;
    let (vfs, dir, _, _) = dir_of(&ctx.wasi.fds, fd, rights::PATH_FILESTAT_SET_TIMES)?;
    let path = mem.str(path, path_len)?;
    let node = resolve(&*vfs, dir, path, follow)?;
    vfs.set_times(node, a, m)?;
    Ok(())
}

fn same_fs(a: &Arc<dyn Vfs>, b: &Arc<dyn Vfs>) -> Result<(), Errno> {
    if core::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b)) {
        Ok(())
    } else {
        Err(Errno::Xdev)
    }
}

/// Fails with EEXIST when `dir/name` exists, ENOENT when the new name had a trailing slash.
fn check_new_name(vfs: &dyn Vfs, dir: NodeId, name: &str, path: &str) -> Result<(), WasiError> {
    match vfs.lookup(dir, name) {
        Ok(_) => Err(Errno::Exist.into()),
        Err(VfsError::NotFound) if path::names_directory(path) => Err(Errno::Noent.into()),
        Err(VfsError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn path_link(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    old_fd: u32,
    old_flags: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> WasiResult<()> {
    let follow = lookup_flags(old_flags)?;
    let (vfs, old_dir, _, _) = dir_of(&ctx.wasi.fds, old_fd, rights::PATH_LINK_SOURCE)?;
    let (new_vfs, new_dir, _, _) = dir_of(&ctx.wasi.fds, new_fd, rights::PATH_LINK_TARGET)?;
    let old_path = mem.str(old_path, old_len)?;
    let new_path = mem.str(new_path, new_len)?;
    // wasmtime (preview2 link-at): following symlinks is not supported.
    if follow {
        return Err(Errno::Inval.into());
    }
    same_fs(&vfs, &new_vfs)?;
    let node = resolve(&*vfs, old_dir, old_path, false)?;
    let (p, name) = parent(&*vfs, new_dir, new_path)?;
    let name = name.ok_or(Errno::Exist)?;
    check_new_name(&*vfs, p, &name, new_path)?;
    vfs.link(node, p, &name)?;
    Ok(())
}

/// Finds (or, with `create`, creates) the node `path_open` opens: `dir/name`, following symlinks
/// in the last component when `follow` (or a trailing slash) asks for it, within the sandbox
/// `root`. Returns the node and whether it was created.
#[allow(clippy::too_many_arguments)]
fn open_node(
    vfs: &dyn Vfs,
    root: NodeId,
    dir_base: Rights,
    mut dir: NodeId,
    mut name: String,
    follow: bool,
    create: bool,
    excl: bool,
    mut must_dir: bool,
) -> WasiResult<(NodeId, bool)> {
    for _ in 0..=MAX_SYMLINKS {
        let node = match vfs.lookup(dir, &name) {
            Err(VfsError::NotFound) if create => {
                if must_dir {
                    return Err(Errno::Isdir.into());
                }
                if dir_base & rights::PATH_CREATE_FILE == 0 {
                    return Err(Errno::Notcapable.into());
                }
                return Ok((vfs.create(dir, &name, NodeKind::File)?, true));
            }
            other => other?,
        };
        if create && excl {
            return Err(Errno::Exist.into());
        }
        match vfs.stat(node)?.kind {
            NodeKind::Symlink => {
                if !follow && !must_dir {
                    return Err(Errno::Loop.into());
                }
                let target = vfs.readlink(node)?;
                must_dir |= path::names_directory(&target);
                match path::resolve_parent(vfs, root, dir, &target, Absolute::Reject)? {
                    (d, None) => return Ok((d, false)),
                    (d, Some(n)) => {
                        dir = d;
                        name = n;
                    }
                }
            }
            NodeKind::Dir => return Ok((node, false)),
            NodeKind::File if must_dir => return Err(Errno::Notdir.into()),
            NodeKind::File => return Ok((node, false)),
        }
    }
    Err(Errno::Loop.into())
}

#[allow(clippy::too_many_arguments)]
pub fn path_open(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    dirflags: u32,
    path: u32,
    path_len: u32,
    oflags: u32,
    base: u64,
    inheriting: u64,
    fdflags: u32,
    out: u32,
) -> WasiResult<()> {
    let follow = lookup_flags(dirflags)?;
    if oflags & !OFLAGS_ALL != 0
        || base & !rights::ALL != 0
        || inheriting & !rights::ALL != 0
        || fdflags & !FDFLAGS_ALL != 0
    {
        return Err(Errno::Inval.into());
    }
    let path = mem.str(path, path_len)?;
    if let Desc::File(_) = ctx.wasi.fds.entry(fd)?.desc {
        return Err(Errno::Notdir.into());
    }
    let (vfs, dir, dir_base, dir_inheriting) = dir_of(&ctx.wasi.fds, fd, rights::PATH_OPEN)?;
    let creat = oflags & OFLAGS_CREAT != 0;
    let excl = oflags & OFLAGS_EXCL != 0;
    let trunc = oflags & OFLAGS_TRUNC != 0;
    let directory = oflags & OFLAGS_DIRECTORY != 0;
    let want_read = base & rights::FD_READ != 0;
    let want_write = base & rights::FD_WRITE != 0;
    // Capabilities: asking for data the preopen's capabilities do not allow.
    if (want_read && dir_inheriting & rights::FD_READ == 0)
        || ((want_write || trunc) && dir_inheriting & rights::FD_WRITE == 0)
    {
        return Err(Errno::Notcapable.into());
    }
    // wasmtime (preview2 open-at): the sync flags are not supported.
    if fdflags & u32::from(FDFLAGS_SYNC | FDFLAGS_DSYNC | FDFLAGS_RSYNC) != 0 {
        return Err(Errno::Notsup.into());
    }
    if directory && (creat || excl || trunc) {
        return Err(Errno::Inval.into());
    }
    ctx.wasi.fds.check_room()?;
    let (node, created) = match parent(&*vfs, dir, path)? {
        (d, None) if creat => {
            let _ = d;
            return Err(Errno::Isdir.into());
        }
        (d, None) => (d, false),
        (p, Some(name)) => open_node(
            &*vfs,
            dir,
            dir_base,
            p,
            name,
            follow,
            creat,
            excl,
            path::names_directory(path),
        )?,
    };
    let kind = vfs.stat(node)?.kind;
    let fs = FsNode {
        vfs: vfs.clone(),
        node,
    };
    let entry = match kind {
        NodeKind::Dir => {
            if want_write || creat || trunc {
                return Err(Errno::Isdir.into());
            }
            Entry {
                desc: Desc::Dir(DirDesc { fs, preopen: None }),
                base: rights::DIRECTORY & dir_inheriting,
                inheriting: dir_inheriting,
            }
        }
        _ if directory => return Err(Errno::Notdir.into()),
        _ => {
            if trunc && !created {
                vfs.set_len(node, 0)?;
            }
            // As wasmtime: opened for reading unless only writing was asked for; creating or
            // truncating opens for writing too.
            let readable = want_read || !want_write;
            let writable = want_write || creat || trunc;
            let mut rights = rights::FILE & dir_inheriting;
            if !readable {
                rights &= !rights::FD_READ;
            }
            if !writable {
                rights &= !rights::FD_WRITE;
            }
            Entry {
                desc: Desc::File(FileDesc {
                    fs,
                    pos: 0,
                    append: fdflags & u32::from(FDFLAGS_APPEND) != 0,
                    nonblock: fdflags & u32::from(FDFLAGS_NONBLOCK) != 0,
                }),
                base: rights,
                inheriting: rights,
            }
        }
    };
    let new_fd = ctx.wasi.fds.insert(entry)?;
    mem.write_at::<u32>(out, 0, new_fd)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn path_readlink(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    path: u32,
    path_len: u32,
    buf: u32,
    buf_len: u32,
    out: u32,
) -> WasiResult<()> {
    let (vfs, dir, _, _) = dir_of(&ctx.wasi.fds, fd, rights::PATH_READLINK)?;
    let target = {
        let path = mem.str(path, path_len)?;
        let node = resolve(&*vfs, dir, path, false)?;
        vfs.readlink(node)?
    };
    // Truncated to the buffer, as readlink(2).
    let n = GuestWriter::new(buf, buf_len).put(mem, target.as_bytes())?;
    mem.write_at::<u32>(out, 0, n)?;
    Ok(())
}

pub fn path_remove_directory(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult<()> {
    let (vfs, dir, _, _) = dir_of(&ctx.wasi.fds, fd, rights::PATH_REMOVE_DIRECTORY)?;
    let path = mem.str(path, path_len)?;
    match parent(&*vfs, dir, path)? {
        (_, None) => Err(Errno::Inval.into()),
        // As wasmtime: an existing directory named with a trailing `/` or `/.` is EINVAL
        // (POSIX rmdir would take `dir/`); a missing one is still ENOENT; anything else
        // (a file, a symlink) is ENOTDIR, as rmdir(2).
        (p, Some(name)) if path::names_directory(path) => {
            let node = vfs.lookup(p, &name)?;
            Err(match vfs.stat(node)?.kind {
                NodeKind::Dir => Errno::Inval,
                _ => Errno::Notdir,
            }
            .into())
        }
        (p, Some(name)) => {
            vfs.rmdir(p, &name)?;
            Ok(())
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn path_rename(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    old_fd: u32,
    old_path: u32,
    old_len: u32,
    new_fd: u32,
    new_path: u32,
    new_len: u32,
) -> WasiResult<()> {
    let (vfs, old_dir, _, _) = dir_of(&ctx.wasi.fds, old_fd, rights::PATH_RENAME_SOURCE)?;
    let (new_vfs, new_dir, _, _) = dir_of(&ctx.wasi.fds, new_fd, rights::PATH_RENAME_TARGET)?;
    let old_path = mem.str(old_path, old_len)?;
    let new_path = mem.str(new_path, new_len)?;
    same_fs(&vfs, &new_vfs)?;
    let (sp, sn) = parent(&*vfs, old_dir, old_path)?;
    let (dp, dn) = parent(&*vfs, new_dir, new_path)?;
    let (Some(sn), Some(dn)) = (sn, dn) else {
        return Err(Errno::Busy.into());
    };
    let src = vfs.lookup(sp, &sn)?;
    if (path::names_directory(old_path) || path::names_directory(new_path))
        && vfs.stat(src)?.kind != NodeKind::Dir
    {
        return Err(Errno::Notdir.into());
    }
    vfs.rename(sp, &sn, dp, &dn)?;
    Ok(())
}

pub fn path_symlink(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    old_path: u32,
    old_len: u32,
    fd: u32,
    new_path: u32,
    new_len: u32,
) -> WasiResult<()> {
    let (vfs, dir, _, _) = dir_of(&ctx.wasi.fds, fd, rights::PATH_SYMLINK)?;
    let target = mem.str(old_path, old_len)?;
    let new_path = mem.str(new_path, new_len)?;
    // As wasmtime: an absolute target is EPERM. Following one is refused anyway, but in a host
    // directory (`--dir`) the link would point other programs of the host outside the sandbox.
    if target.starts_with('/') {
        return Err(Errno::Perm.into());
    }
    let (p, name) = parent(&*vfs, dir, new_path)?;
    let name = name.ok_or(Errno::Exist)?;
    check_new_name(&*vfs, p, &name, new_path)?;
    vfs.symlink(p, &name, target)?;
    Ok(())
}

pub fn path_unlink_file(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    path: u32,
    path_len: u32,
) -> WasiResult<()> {
    let (vfs, dir, _, _) = dir_of(&ctx.wasi.fds, fd, rights::PATH_UNLINK_FILE)?;
    let path = mem.str(path, path_len)?;
    let (p, name) = parent(&*vfs, dir, path)?;
    let name = name.ok_or(Errno::Isdir)?;
    if path::names_directory(path) {
        let node = vfs.lookup(p, &name)?;
        return Err(match vfs.stat(node)?.kind {
            NodeKind::Dir => Errno::Isdir,
            _ => Errno::Notdir,
        }
        .into());
    }
    vfs.unlink(p, &name)?;
    Ok(())
}
