//! The `net` host module: what WASI preview1 lacks for networking. A connected socket it
//! returns is an ordinary WASI descriptor: `fd_read`/`fd_write`, `sock_recv`/`sock_send`,
//! `sock_shutdown`, `poll_oneoff` and `fd_close` work on it.
//!
//! ```text
//! net.connect(addr_ptr: i32, addr_len: i32) -> i32      fd >= 0, or -errno
//! net.local_addr(fd: i32, buf_ptr: i32, buf_len: i32) -> i32   bytes written, or -errno
//! net.peer_addr(fd: i32, buf_ptr: i32, buf_len: i32) -> i32    bytes written, or -errno
//! ```
//!
//! `addr` is `host:port` text (`10.0.2.2:8080`, `[::1]:80`, `localhost:80` where the host can
//! resolve names). Errors are WASI errno values, negated (`docs/net.md`): -76 (`ENOTCAPABLE`)
//! for an address outside the instance's `net:connect` scopes, -28 (`EINVAL`) for malformed
//! text, -14 (`ECONNREFUSED`), -73 (`ETIMEDOUT`), ... `connect` waits for the handshake (the
//! guest parks; other agents run) at most [`CONNECT_TIMEOUT_NS`] and
//! at most the instance's time limit. Importing `connect` needs `net:connect` (pre-flight).

use alloc::sync::Arc;
use core::fmt::Write;
use core::net::SocketAddr;

use wasmi::Caller;

use crate::caps::Capability;
use crate::context::HostContext;
use crate::execution::{park, Suspend};
use crate::host::{HostCall, Registry};
use crate::wasi::blocking::{block_on, IoRequest};
use crate::wasi::errno::{Errno, WasiError, WasiResult};
use crate::wasi::fd_table::{Desc, Entry, SocketDesc, SocketKind};
use crate::wasi::rights;

use super::addr::{self, Target};
use super::{Interest, NetError, CONNECT_TIMEOUT_NS};

pub const MODULE: &str = "net";

/// Registers the `net` functions.
pub fn register(reg: &mut Registry) {
    reg.func(MODULE, "connect", Some(Capability::NetConnect), connect);
    reg.func(MODULE, "local_addr", None, local_addr);
    reg.func(MODULE, "peer_addr", None, peer_addr);
}

fn neg(e: Errno) -> i32 {
    -e.raw()
}

fn connect(mut caller: Caller<'_, HostContext>, ptr: u32, len: u32) -> Result<i32, wasmi::Error> {
    caller.count();
    if !caller.data().caps.has(Capability::NetConnect) {
        return Ok(neg(Errno::Notcapable));
    }
    if len as usize > addr::MAX_ADDR_LEN {
        return Ok(neg(Errno::Inval));
    }
    let result = match caller.memory() {
        Ok((mem, ctx)) => match mem.str(ptr, len) {
            Ok(text) => start_connect(ctx, text),
            Err(crate::guest::GuestError::InvalidUtf8 { .. }) => Ok(neg(Errno::Inval)),
            Err(_) => Ok(neg(Errno::Fault)),
        },
        Err(_) => Ok(neg(Errno::Fault)),
    };
    outcome(&mut caller, result)
}

/// A `net` function's result for wasmi: the value, the guest parked, or the instance stopped.
fn outcome(
    caller: &mut Caller<'_, HostContext>,
    result: WasiResult<i32>,
) -> Result<i32, wasmi::Error> {
    match result {
        Ok(value) => Ok(value),
        Err(WasiError::Park) => Err(park(caller.data_mut(), Suspend::Io)),
        Err(WasiError::Errno(e)) => Ok(neg(e)),
        Err(WasiError::Stop(error)) => Err(wasmi::Error::host(error)),
        Err(WasiError::Trap(message)) => Err(wasmi::Error::host(crate::Error::HostAbort {
            func: alloc::format!("{MODULE}::connect"),
            message,
        })),
    }
}

fn start_connect(ctx: &mut HostContext, text: &str) -> WasiResult<i32> {
    let target = match addr::parse(text) {
        Ok(target) => target,
        Err(_) => return Ok(neg(Errno::Inval)),
    };
    let Some(net) = ctx.platform.net.clone() else {
        return Ok(neg(Errno::Netdown));
    };
    let addr: SocketAddr = match target {
        Target::Addr(a) => a,
        Target::Name(host, port) => match net.resolve(host, port) {
            Ok(a) => a,
            Err(e) => return Ok(neg(e.into())),
        },
    };
    // The scope is checked against the address the connection really goes to.
    if !ctx.caps.allows_connect(addr) {
        return Ok(neg(Errno::Notcapable));
    }
    ctx.wasi.fds.check_room()?;
    let stream = match net.connect(addr) {
        Ok(stream) => stream,
        Err(e) => return Ok(neg(e.into())),
    };
    let stream: Arc<dyn super::Stream> = Arc::from(stream);
    let entry = Entry {
        desc: Desc::Socket(SocketDesc {
            kind: SocketKind::Stream(stream),
            nonblock: false,
        }),
        base: rights::SOCKET_STREAM & rights::socket_mask(&ctx.caps),
        inheriting: 0,
    };
    let fd = ctx.wasi.fds.insert(entry)?;
    let deadline = ctx
        .platform
        .clock
        .monotonic_ns()
        .saturating_add(CONNECT_TIMEOUT_NS);
    finish_connect(ctx, fd, deadline)
}

/// Where the connect on descriptor `fd` is: the descriptor once connected; the guest parks
/// while the handshake goes on (until `deadline_ns`); a failed or timed-out connect closes the
/// descriptor and returns the negated errno.
pub(crate) fn finish_connect(ctx: &mut HostContext, fd: u32, deadline_ns: u64) -> WasiResult<i32> {
    let stream = match ctx.wasi.fds.socket(fd) {
        Ok((
            _,
            SocketDesc {
                kind: SocketKind::Stream(stream),
                ..
            },
        )) => stream.clone(),
        _ => return Ok(neg(Errno::Badf)),
    };
    let failed = match stream.connecting() {
        Ok(false) => return Ok(i32::try_from(fd).unwrap_or(i32::MAX)),
        Ok(true) if ctx.platform.clock.monotonic_ns() < deadline_ns => {
            return Err(block_on(
                ctx,
                IoRequest::Connect { fd, deadline_ns },
                Some(deadline_ns),
                Interest {
                    token: stream.token(),
                    read: false,
                    write: true,
                },
            ));
        }
        Ok(true) => NetError::TimedOut,
        Err(e) => e,
    };
    let _ = ctx.wasi.fds.remove(fd);
    Ok(neg(failed.into()))
}

/// Writes `addr` as text into the guest's buffer; its length, or -ENOBUFS when it does not fit.
fn write_addr(
    mut caller: Caller<'_, HostContext>,
    fd: u32,
    ptr: u32,
    len: u32,
    pick: fn(&SocketDesc) -> Option<SocketAddr>,
) -> Result<i32, wasmi::Error> {
    caller.count();
    let Ok((mut mem, ctx)) = caller.memory() else {
        return Ok(neg(Errno::Fault));
    };
    let addr = match ctx.wasi.fds.socket(fd) {
        Ok((_, s)) => pick(s),
        Err(e) => return Ok(neg(e)),
    };
    let Some(addr) = addr else {
        return Ok(neg(Errno::Notconn));
    };
    let mut text = heapless_text::Text::new();
    let _ = write!(text, "{addr}");
    let bytes = text.as_bytes();
    if bytes.len() > len as usize {
        return Ok(neg(Errno::Nobufs));
    }
    match mem.copy_from_host(ptr, bytes) {
        Ok(()) => Ok(bytes.len() as i32),
        Err(_) => Ok(neg(Errno::Fault)),
    }
}

fn local_addr(
    caller: Caller<'_, HostContext>,
    fd: u32,
    ptr: u32,
    len: u32,
) -> Result<i32, wasmi::Error> {
    write_addr(caller, fd, ptr, len, |s| match &s.kind {
        SocketKind::Listener(l) => Some(l.local_addr()),
        SocketKind::Stream(s) => s.local_addr(),
    })
}

fn peer_addr(
    caller: Caller<'_, HostContext>,
    fd: u32,
    ptr: u32,
    len: u32,
) -> Result<i32, wasmi::Error> {
    write_addr(caller, fd, ptr, len, |s| match &s.kind {
        SocketKind::Listener(_) => None,
        SocketKind::Stream(s) => s.peer_addr(),
    })
}

/// A fixed buffer to format an address into without allocating (the longest, an IPv6 address
/// with a scope and a port, is 55 bytes).
mod heapless_text {
    pub struct Text {
        buf: [u8; 64],
        len: usize,
    }

    impl Text {
        pub fn new() -> Self {
            Text {
                buf: [0; 64],
                len: 0,
            }
        }

        pub fn as_bytes(&self) -> &[u8] {
            &self.buf[..self.len]
        }
    }

    impl core::fmt::Write for Text {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
            let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
            dst.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
}
