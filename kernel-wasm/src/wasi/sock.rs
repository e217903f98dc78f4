//! `sock_accept`, `sock_recv`, `sock_send`, `sock_shutdown`, and `fd_read`/`fd_write` on
//! sockets, over the platform's [`Network`](crate::net::Network) (see `docs/net.md`).
//!
//! Semantics (wasi-common's, the preview1 implementation behind `wasmtime run -S tcplisten`):
//! a socket call on another kind of open descriptor is `ENOTSOCK`, on a closed one `EBADF`;
//! receiving or sending on a listener is `ENOTCONN`, accepting on a connection `EINVAL`. A
//! socket without `FDFLAGS_NONBLOCK` waits: the call parks the guest
//! ([`blocking`](super::blocking)) until it can go on; with the flag it answers `EAGAIN`. One
//! buffer per call, the first non-empty iovec (as `fd_read`/`fd_write`); a send takes what fits
//! now (at least one byte) and returns the count, a short write as POSIX allows. Receiving needs
//! the `net:recv` capability (the socket's `FD_READ` right) and sending `net:send` (`FD_WRITE`):
//! without it `ENOTCAPABLE`, nothing received or sent.

use alloc::sync::Arc;

use wasmi::Caller;

use crate::context::HostContext;
use crate::guest::GuestMemory;
use crate::host::HostCall;
use crate::net::{Interest, NetError, Shutdown, Stream, WaitToken};

use super::blocking::{block_on, IoRequest};
use super::errno::{finish, Errno, WasiResult};
use super::fd_table::{Desc, Entry, SocketDesc, SocketKind};
use super::rights;
use super::types::{FDFLAGS_ALL, FDFLAGS_NONBLOCK};
use super::MAX_IOVS;

/// `riflags`: `RECV_PEEK`, `RECV_WAITALL`.
const RECV_PEEK: u32 = 1;
const RECV_WAITALL: u32 = 2;

/// The connected stream behind `fd`, whether it is non-blocking, and the descriptor's rights.
fn stream(ctx: &HostContext, fd: u32) -> WasiResult<(Arc<dyn Stream>, bool, rights::Rights)> {
    let (e, s) = ctx.wasi.fds.socket(fd)?;
    match &s.kind {
        SocketKind::Stream(stream) => Ok((stream.clone(), s.nonblock, e.base)),
        SocketKind::Listener(_) => Err(Errno::Notconn.into()),
    }
}

fn check_iovs(count: u32) -> Result<(), Errno> {
    if count > MAX_IOVS {
        Err(Errno::Inval)
    } else {
        Ok(())
    }
}

/// Where a receive or a send got.
enum Progress {
    /// Finished with this many bytes.
    Done(u32),
    /// Must wait on the socket; `done` bytes are in the guest's buffer already.
    Wait { done: u32, token: WaitToken },
}

/// Receives into the first non-empty iovec at offset `done` (bytes earlier tries of a
/// `RECV_WAITALL` put there).
fn receive(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    flags: u32,
    done: u32,
) -> WasiResult<Progress> {
    check_iovs(iovs_len)?;
    let (stream, nonblock, base) = stream(ctx, fd)?;
    if base & rights::FD_READ == 0 {
        return Err(Errno::Notcapable.into());
    }
    let iov = mem.first_non_empty_iovec(iovs, iovs_len)?;
    let peek = flags & RECV_PEEK != 0;
    let wait_all = flags & RECV_WAITALL != 0 && !peek;
    let done = done.min(iov.len);
    let buf = mem.slice_mut(iov.buf, iov.len)?;
    // Nothing to receive into (only empty iovecs): 0 bytes at once, as `read(2)` of 0 bytes,
    // rather than waiting for data that could not be taken.
    let rest = buf.get_mut(done as usize..).unwrap_or_default();
    if rest.is_empty() {
        return Ok(Progress::Done(done));
    }
    let wait = Progress::Wait {
        done,
        token: stream.token(),
    };
    match stream.recv(rest, peek) {
        Ok(n) => {
            // `n <= rest.len() <= iov.len`, a u32.
            let total = done.saturating_add(n as u32);
            if wait_all && n > 0 && total < iov.len && !nonblock {
                Ok(Progress::Wait {
                    done: total,
                    token: stream.token(),
                })
            } else {
                Ok(Progress::Done(total))
            }
        }
        Err(NetError::WouldBlock) if !nonblock => Ok(wait),
        // Data received by earlier tries is reported first; the error comes with the next call.
        Err(_) if done > 0 => Ok(Progress::Done(done)),
        Err(e) => Err(e.into()),
    }
}

/// Sends what fits now of the first non-empty iovec.
fn transmit(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
) -> WasiResult<Progress> {
    check_iovs(iovs_len)?;
    let (stream, nonblock, base) = stream(ctx, fd)?;
    if base & rights::FD_WRITE == 0 {
        return Err(Errno::Notcapable.into());
    }
    let iov = mem.first_non_empty_iovec(iovs, iovs_len)?;
    let data = mem.slice(iov.buf, iov.len)?;
    if data.is_empty() {
        return Ok(Progress::Done(0));
    }
    match stream.send(data) {
        // `n <= data.len()`, a u32.
        Ok(n) => Ok(Progress::Done(n as u32)),
        Err(NetError::WouldBlock) if !nonblock => Ok(Progress::Wait {
            done: 0,
            token: stream.token(),
        }),
        Err(e) => Err(e.into()),
    }
}

fn read_interest(token: WaitToken) -> Interest {
    Interest {
        token,
        read: true,
        write: false,
    }
}

fn write_interest(token: WaitToken) -> Interest {
    Interest {
        token,
        read: false,
        write: true,
    }
}

/// `fd_read` on a socket: `sock_recv` without flags.
pub fn fd_read(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> WasiResult<()> {
    mem.read_at::<u32>(nread, 0)?;
    match receive(mem, ctx, fd, iovs, iovs_len, 0, 0)? {
        Progress::Done(n) => {
            mem.write_at::<u32>(nread, 0, n)?;
            Ok(())
        }
        Progress::Wait { token, .. } => Err(block_on(
            ctx,
            IoRequest::FdRead {
                fd,
                iovs,
                iovs_len,
                nread,
            },
            None,
            read_interest(token),
        )),
    }
}

/// `fd_write` on a socket: `sock_send` without flags.
pub fn fd_write(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> WasiResult<()> {
    mem.read_at::<u32>(nwritten, 0)?;
    match transmit(mem, ctx, fd, iovs, iovs_len)? {
        Progress::Done(n) => {
            mem.write_at::<u32>(nwritten, 0, n)?;
            Ok(())
        }
        Progress::Wait { token, .. } => Err(block_on(
            ctx,
            IoRequest::FdWrite {
                fd,
                iovs,
                iovs_len,
                nwritten,
            },
            None,
            write_interest(token),
        )),
    }
}

pub fn sock_accept(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    flags: u32,
    out: u32,
) -> WasiResult<()> {
    if flags & !FDFLAGS_ALL != 0 {
        return Err(Errno::Inval.into());
    }
    let (e, s) = ctx.wasi.fds.socket(fd)?;
    let SocketKind::Listener(listener) = &s.kind else {
        return Err(Errno::Inval.into());
    };
    e.need(rights::SOCK_ACCEPT)?;
    let (listener, blocking, inheriting) = (listener.clone(), !s.nonblock, e.inheriting);
    // The out pointer and room for a descriptor first: a connection, once taken, is not lost
    // to a bad pointer or a full table.
    mem.read_at::<u32>(out, 0)?;
    ctx.wasi.fds.check_room()?;
    match listener.accept() {
        Ok((stream, _peer)) => {
            let entry = Entry {
                desc: Desc::Socket(SocketDesc {
                    kind: SocketKind::Stream(Arc::from(stream)),
                    nonblock: flags & u32::from(FDFLAGS_NONBLOCK) != 0,
                }),
                base: inheriting & rights::SOCKET_STREAM,
                inheriting: 0,
            };
            let new = ctx.wasi.fds.insert(entry)?;
            mem.write_at::<u32>(out, 0, new)?;
            Ok(())
        }
        Err(NetError::WouldBlock) if blocking => Err(block_on(
            ctx,
            IoRequest::SockAccept { fd, flags, out },
            None,
            read_interest(listener.token()),
        )),
        Err(e) => Err(e.into()),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn sock_recv(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    flags: u32,
    nread: u32,
    oflags: u32,
) -> WasiResult<()> {
    recv(mem, ctx, fd, iovs, iovs_len, flags, nread, oflags, 0)
}

/// `sock_recv` continuing after `done` bytes (a parked `RECV_WAITALL`).
#[allow(clippy::too_many_arguments)]
pub(super) fn recv(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    flags: u32,
    nread: u32,
    oflags: u32,
    done: u32,
) -> WasiResult<()> {
    if flags & !(RECV_PEEK | RECV_WAITALL) != 0 {
        return Err(Errno::Inval.into());
    }
    mem.read_at::<u32>(nread, 0)?;
    mem.read_at::<u16>(oflags, 0)?;
    match receive(mem, ctx, fd, iovs, iovs_len, flags, done)? {
        Progress::Done(n) => {
            mem.write_at::<u32>(nread, 0, n)?;
            // roflags: RECV_DATA_TRUNCATED is for datagrams; a stream never truncates.
            mem.write_at::<u16>(oflags, 0, 0)?;
            Ok(())
        }
        Progress::Wait { done, token } => Err(block_on(
            ctx,
            IoRequest::SockRecv {
                fd,
                iovs,
                iovs_len,
                flags,
                nread,
                oflags,
                done,
            },
            None,
            read_interest(token),
        )),
    }
}

pub fn sock_send(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    flags: u32,
    nwritten: u32,
) -> WasiResult<()> {
    // siflags: none are defined.
    if flags != 0 {
        return Err(Errno::Inval.into());
    }
    mem.read_at::<u32>(nwritten, 0)?;
    match transmit(mem, ctx, fd, iovs, iovs_len)? {
        Progress::Done(n) => {
            mem.write_at::<u32>(nwritten, 0, n)?;
            Ok(())
        }
        Progress::Wait { token, .. } => Err(block_on(
            ctx,
            IoRequest::SockSend {
                fd,
                iovs,
                iovs_len,
                flags,
                nwritten,
            },
            None,
            write_interest(token),
        )),
    }
}

/// Needs no memory (like `proc_exit`), so it stays outside the memory-opening wrapper.
pub fn sock_shutdown(
    mut caller: Caller<'_, HostContext>,
    fd: u32,
    how: u32,
) -> Result<i32, wasmi::Error> {
    caller.count();
    let r = shutdown(caller.data_mut(), fd, how);
    finish("sock_shutdown", r)
}

fn shutdown(ctx: &mut HostContext, fd: u32, how: u32) -> WasiResult<()> {
    // sdflags: RD (1) | WR (2); none is no direction at all.
    let how = match how {
        1 => Shutdown::Read,
        2 => Shutdown::Write,
        3 => Shutdown::Both,
        _ => return Err(Errno::Inval.into()),
    };
    let (e, s) = ctx.wasi.fds.socket(fd)?;
    let SocketKind::Stream(stream) = &s.kind else {
        return Err(Errno::Notconn.into());
    };
    e.need(rights::SOCK_SHUTDOWN)?;
    stream.shutdown(how)?;
    Ok(())
}
