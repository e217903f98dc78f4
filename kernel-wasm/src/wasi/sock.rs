//! `sock_*`: there is no network backend, so (as wasmtime's preview1) every socket call on an open
//! descriptor answers `ENOTSOCK` and on a closed one `EBADF`.

use wasmi::Caller;

use crate::context::HostContext;
use crate::host::HostCall;

use super::errno::{finish, Errno, WasiResult};
use super::types::FDFLAGS_ALL;

fn not_a_socket(caller: &mut Caller<'_, HostContext>, fd: u32) -> WasiResult<()> {
    caller.data().wasi.fds.entry(fd)?;
    Err(Errno::Notsock.into())
}

pub fn sock_accept(
    mut caller: Caller<'_, HostContext>,
    fd: u32,
    flags: u32,
    _out: u32,
) -> Result<i32, wasmi::Error> {
    caller.count();
    if flags & !FDFLAGS_ALL != 0 {
        return finish("sock_accept", Err(Errno::Inval.into()));
    }
    let r = not_a_socket(&mut caller, fd);
    finish("sock_accept", r)
}

pub fn sock_recv(
    mut caller: Caller<'_, HostContext>,
    fd: u32,
    _iovs: u32,
    _iovs_len: u32,
    flags: u32,
    _nread: u32,
    _oflags: u32,
) -> Result<i32, wasmi::Error> {
    caller.count();
    // riflags: RECV_PEEK (1) | RECV_WAITALL (2).
    if flags & !3 != 0 {
        return finish("sock_recv", Err(Errno::Inval.into()));
    }
    let r = not_a_socket(&mut caller, fd);
    finish("sock_recv", r)
}

pub fn sock_send(
    mut caller: Caller<'_, HostContext>,
    fd: u32,
    _iovs: u32,
    _iovs_len: u32,
    _flags: u32,
    _nwritten: u32,
) -> Result<i32, wasmi::Error> {
    caller.count();
    let r = not_a_socket(&mut caller, fd);
    finish("sock_send", r)
}

pub fn sock_shutdown(
    mut caller: Caller<'_, HostContext>,
    fd: u32,
    how: u32,
) -> Result<i32, wasmi::Error> {
    caller.count();
    // sdflags: RD (1) | WR (2).
    if how & !3 != 0 {
        return finish("sock_shutdown", Err(Errno::Inval.into()));
    }
    let r = not_a_socket(&mut caller, fd);
    finish("sock_shutdown", r)
}
