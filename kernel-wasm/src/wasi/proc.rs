//! `proc_exit`, `proc_raise`, `sched_yield`.

use wasmi::Caller;

use crate::context::HostContext;
use crate::host::HostCall;

use super::errno::{finish, Errno};

/// A clean exit with `code`, which the instance layer reports as `CallOutcome::Exited`. Like
/// wasmtime, a status of 126 or more is refused (it would be confused with shell statuses): the
/// instance is ended with [`crate::Error::HostAbort`] (kwasm exit status 1, as wasmtime).
pub fn proc_exit(mut caller: Caller<'_, HostContext>, code: u32) -> Result<(), wasmi::Error> {
    caller.count();
    if code >= 126 {
        return Err(wasmi::Error::host(crate::Error::HostAbort {
            func: alloc::format!("{}::proc_exit", super::MODULE),
            message: "exit with invalid exit status outside of [0..126)".into(),
        }));
    }
    Err(wasmi::Error::i32_exit(code as i32))
}

/// Signals do not exist in preview1 hosts: `ENOTSUP`, as wasmtime.
pub fn proc_raise(mut caller: Caller<'_, HostContext>, _sig: u32) -> Result<i32, wasmi::Error> {
    caller.count();
    finish("proc_raise", Err(Errno::Notsup.into()))
}

/// Nothing to yield to inside one call; returns success (as wasmtime).
pub fn sched_yield(mut caller: Caller<'_, HostContext>) -> Result<i32, wasmi::Error> {
    caller.count();
    finish("sched_yield", Ok(()))
}
