//! WASI preview1 errno values, and the ONE place where host-side errors become them.
//!
//! Host functions return [`WasiResult`]: [`WasiError::Errno`] goes back to the guest as the
//! function's result, [`WasiError::Trap`] ends the instance. A clean exit (`proc_exit`) is a third,
//! separate outcome (`wasmi::Error::i32_exit`) that never passes through this type.
//!
//! Policy (matching wasmtime's preview1, `crates/wasi/src/preview1.rs` and wasi-common's
//! `snapshots/preview_1/error.rs`):
//! - an out-of-bounds or misaligned guest pointer is a trap, as the witx pointer rules require
//!   ("If a misaligned pointer is passed to a function, the function shall trap. If an
//!   out-of-bounds pointer is passed ... the function shall trap.");
//! - malformed flags or enum values are `EINVAL` (checked before anything else, as wiggle does);
//! - a string that is not UTF-8 is `EILSEQ`;
//! - a path that leaves its preopen (`..`, absolute, symlink) is `EPERM` (cap-std reports an
//!   escape as `PermissionDenied`, which wasmtime maps to `not-permitted` → `EPERM`);
//! - a right or capability the descriptor/instance lacks is `ENOTCAPABLE` (76).

use alloc::string::{String, ToString};

use crate::guest::GuestError;
use crate::net::NetError;
use crate::vfs::VfsError;

/// A preview1 `errno` (the spec's `$errno` enum, u16 on the wire, returned as i32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Errno {
    Success = 0,
    TooBig = 1,
    Acces = 2,
    Addrinuse = 3,
    Addrnotavail = 4,
    Afnosupport = 5,
    Again = 6,
    Badf = 8,
    Busy = 10,
    Connaborted = 13,
    Connrefused = 14,
    Connreset = 15,
    Exist = 20,
    Fault = 21,
    Fbig = 22,
    Hostunreach = 23,
    Ilseq = 25,
    Inval = 28,
    Io = 29,
    Isdir = 31,
    Loop = 32,
    Mfile = 33,
    Nametoolong = 37,
    Netdown = 38,
    Netunreach = 40,
    Nfile = 41,
    Nobufs = 42,
    Noent = 44,
    Nomem = 48,
    Nospc = 51,
    Nosys = 52,
    Notconn = 53,
    Notdir = 54,
    Notempty = 55,
    Notsock = 57,
    Notsup = 58,
    Overflow = 61,
    Perm = 63,
    Pipe = 64,
    Rofs = 69,
    Spipe = 70,
    Timedout = 73,
    Xdev = 75,
    Notcapable = 76,
}

impl Errno {
    pub fn raw(self) -> i32 {
        i32::from(self as u16)
    }
}

/// What a preview1 host function can fail with, besides a clean exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WasiError {
    /// Returned to the guest as the function's errno.
    Errno(Errno),
    /// Ends the instance with a trap carrying this reason.
    Trap(String),
    /// Ends the instance with this error: a resource limit of the instance is exhausted.
    Stop(crate::Error),
    /// The call would block on a socket: what it waits for is recorded in the context's
    /// [`Blocked`](super::blocking::Blocked); the guest parks ([`finish_or_park`]).
    Park,
}

pub type WasiResult<T> = Result<T, WasiError>;

impl From<Errno> for WasiError {
    fn from(e: Errno) -> Self {
        WasiError::Errno(e)
    }
}

impl From<GuestError> for WasiError {
    fn from(e: GuestError) -> Self {
        match e {
            // witx pointer rules: bad pointers trap (wasmtime: PtrOutOfBounds/PtrNotAligned → trap).
            GuestError::OutOfBounds { .. }
            | GuestError::Misaligned { .. }
            | GuestError::NoMemory => WasiError::Trap(e.to_string()),
            GuestError::InvalidUtf8 { .. } => WasiError::Errno(Errno::Ilseq),
        }
    }
}

impl From<VfsError> for Errno {
    fn from(e: VfsError) -> Self {
        match e {
            VfsError::NotFound => Errno::Noent,
            VfsError::AlreadyExists => Errno::Exist,
            VfsError::NotADirectory => Errno::Notdir,
            VfsError::IsADirectory => Errno::Isdir,
            VfsError::DirectoryNotEmpty => Errno::Notempty,
            VfsError::InvalidName => Errno::Inval,
            VfsError::NameTooLong => Errno::Nametoolong,
            VfsError::NoSpace => Errno::Nospc,
            VfsError::ReadOnly => Errno::Rofs,
            VfsError::Invalid => Errno::Inval,
            VfsError::Loop => Errno::Loop,
            // wasmtime: cap-std's escape error is PermissionDenied → not-permitted → EPERM.
            VfsError::Escape => Errno::Perm,
            VfsError::Unsupported => Errno::Notsup,
            // Linux `link(2)` on a directory and similar refusals are EPERM.
            VfsError::Permission => Errno::Perm,
            VfsError::Io(_) => Errno::Io,
        }
    }
}

impl From<NetError> for Errno {
    fn from(e: NetError) -> Self {
        match e {
            NetError::WouldBlock => Errno::Again,
            NetError::ConnectionRefused => Errno::Connrefused,
            NetError::ConnectionReset => Errno::Connreset,
            NetError::ConnectionAborted => Errno::Connaborted,
            NetError::NotConnected => Errno::Notconn,
            NetError::BrokenPipe => Errno::Pipe,
            NetError::TimedOut => Errno::Timedout,
            NetError::AddrInUse => Errno::Addrinuse,
            NetError::AddrNotAvailable => Errno::Addrnotavail,
            NetError::Unreachable => Errno::Hostunreach,
            NetError::AddrFamilyNotSupported => Errno::Afnosupport,
            // The host's socket table is full: "too many files open in system" is what a
            // program knows to back off from.
            NetError::NoBuffers => Errno::Nfile,
            NetError::InvalidInput => Errno::Inval,
            // No name service: the closest preview1 has to EAI_NONAME.
            NetError::NameNotResolved => Errno::Noent,
            NetError::NetworkDown => Errno::Netdown,
            NetError::Other => Errno::Io,
        }
    }
}

impl From<NetError> for WasiError {
    fn from(e: NetError) -> Self {
        WasiError::Errno(e.into())
    }
}

impl From<VfsError> for WasiError {
    fn from(e: VfsError) -> Self {
        WasiError::Errno(e.into())
    }
}

/// A value that does not fit the wire type (e.g. a size above `u32::MAX`): `EOVERFLOW`, as
/// wiggle's `TryFromIntError`.
impl From<core::num::TryFromIntError> for WasiError {
    fn from(_: core::num::TryFromIntError) -> Self {
        WasiError::Errno(Errno::Overflow)
    }
}

/// [`finish`], and a call that would block parks the guest ([`Suspend::Io`](crate::Suspend)).
pub fn finish_or_park(
    func: &'static str,
    result: WasiResult<()>,
    ctx: &mut crate::HostContext,
) -> Result<i32, wasmi::Error> {
    match result {
        Err(WasiError::Park) => Err(crate::execution::park(ctx, crate::Suspend::Io)),
        other => finish(func, other),
    }
}

/// Turns a host function's result into what wasmi expects: `Ok(errno)` for the guest, or a trap
/// reported as [`crate::Error::HostAbort`] naming the host function.
pub fn finish(func: &'static str, result: WasiResult<()>) -> Result<i32, wasmi::Error> {
    match result {
        Ok(()) => Ok(0),
        Err(WasiError::Errno(e)) => Ok(e.raw()),
        Err(WasiError::Stop(error)) => Err(wasmi::Error::host(error)),
        Err(WasiError::Park) => Err(wasmi::Error::host(crate::Error::State {
            message: alloc::format!(
                "{}::{func} would block, but cannot park here",
                super::MODULE
            ),
        })),
        Err(WasiError::Trap(message)) => Err(wasmi::Error::host(crate::Error::HostAbort {
            func: alloc::format!("{}::{func}", super::MODULE),
            message,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_errors_trap_or_map() {
        assert!(matches!(
            WasiError::from(GuestError::OutOfBounds { ptr: 1, len: 2 }),
            WasiError::Trap(_)
        ));
        assert_eq!(
            WasiError::from(GuestError::InvalidUtf8 { ptr: 0 }),
            WasiError::Errno(Errno::Ilseq)
        );
        assert_eq!(Errno::from(VfsError::Escape), Errno::Perm);
        assert_eq!(Errno::Notcapable.raw(), 76);
        assert_eq!(finish("x", Err(Errno::Badf.into())).ok(), Some(8));
        assert!(finish("x", Err(WasiError::Trap("t".into()))).is_err());
    }
}
