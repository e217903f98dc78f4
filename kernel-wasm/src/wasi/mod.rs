//! WASI preview1 (`wasi_snapshot_preview1`) host functions.
//!
//! The context ([`WasiCtx`]) holds the arguments, environment and descriptor table of one instance.
//! Every function goes through [`HostCall`] for its memory and returns an [`Errno`]; `proc_exit`
//! returns an exit request that the instance layer turns into [`CallOutcome::Exited`].
//!
//! [`CallOutcome::Exited`]: crate::CallOutcome::Exited

pub mod errno;

use alloc::string::String;
use alloc::vec::Vec;

use wasmi::Caller;

pub use errno::Errno;

use crate::context::HostContext;
use crate::guest::{GuestMemory, GuestPtr};
use crate::host::{HostCall, Registry};
use crate::platform::Stream;

pub const MODULE: &str = "wasi_snapshot_preview1";

/// The most iovecs one call accepts (POSIX IOV_MAX).
pub const MAX_IOVS: u32 = 1024;

/// The WASI state of one instance.
#[derive(Debug, Default, Clone)]
pub struct WasiCtx {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

type HostResult<T> = Result<T, wasmi::Error>;

fn ret(result: Result<(), Errno>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => e as i32,
    }
}

/// Writes a list of strings the way `args_get`/`environ_get` lay them out: an array of pointers
/// at `ptrs` and the NUL-terminated strings packed at `buf`.
fn write_string_list<'s>(
    mem: &mut GuestMemory<'_>,
    ptrs: u32,
    buf: u32,
    items: impl Iterator<Item = (&'s str, Option<&'s str>)>,
) -> Result<(), Errno> {
    let mut ptr = GuestPtr::<u32>::new(ptrs);
    let mut at = buf;
    for (first, second) in items {
        mem.write(ptr, at)?;
        ptr = ptr.add(1)?;
        let mut put = |bytes: &[u8], at: &mut u32| -> Result<(), Errno> {
            mem.copy_from_host(*at, bytes)?;
            *at = at.checked_add(bytes.len() as u32).ok_or(Errno::Fault)?;
            Ok(())
        };
        put(first.as_bytes(), &mut at)?;
        if let Some(second) = second {
            put(b"=", &mut at)?;
            put(second.as_bytes(), &mut at)?;
        }
        put(b"\0", &mut at)?;
    }
    Ok(())
}

fn sizes(
    mem: &mut GuestMemory<'_>,
    count_ptr: u32,
    size_ptr: u32,
    count: usize,
    size: usize,
) -> Result<(), Errno> {
    let count = u32::try_from(count).map_err(|_| Errno::Overflow)?;
    let size = u32::try_from(size).map_err(|_| Errno::Overflow)?;
    mem.write(GuestPtr::<u32>::new(count_ptr), count)?;
    mem.write(GuestPtr::<u32>::new(size_ptr), size)?;
    Ok(())
}

fn args_sizes_get(mut caller: Caller<'_, HostContext>, count_ptr: u32, size_ptr: u32) -> i32 {
    caller.count();
    ret((|| {
        let (mut mem, ctx) = caller.memory()?;
        let size = ctx.wasi.args.iter().map(|a| a.len() + 1).sum();
        sizes(&mut mem, count_ptr, size_ptr, ctx.wasi.args.len(), size)
    })())
}

fn args_get(mut caller: Caller<'_, HostContext>, argv: u32, buf: u32) -> i32 {
    caller.count();
    ret((|| {
        let (mut mem, ctx) = caller.memory()?;
        write_string_list(
            &mut mem,
            argv,
            buf,
            ctx.wasi.args.iter().map(|a| (a.as_str(), None)),
        )
    })())
}

fn environ_sizes_get(mut caller: Caller<'_, HostContext>, count_ptr: u32, size_ptr: u32) -> i32 {
    caller.count();
    ret((|| {
        let (mut mem, ctx) = caller.memory()?;
        let size = ctx
            .wasi
            .env
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum();
        sizes(&mut mem, count_ptr, size_ptr, ctx.wasi.env.len(), size)
    })())
}

fn environ_get(mut caller: Caller<'_, HostContext>, environ: u32, buf: u32) -> i32 {
    caller.count();
    ret((|| {
        let (mut mem, ctx) = caller.memory()?;
        write_string_list(
            &mut mem,
            environ,
            buf,
            ctx.wasi
                .env
                .iter()
                .map(|(k, v)| (k.as_str(), Some(v.as_str()))),
        )
    })())
}

fn fd_write(
    mut caller: Caller<'_, HostContext>,
    fd: u32,
    iovs: u32,
    iovs_len: u32,
    nwritten: u32,
) -> i32 {
    caller.count();
    ret((|| {
        let stream = match fd {
            1 => Stream::Stdout,
            2 => Stream::Stderr,
            _ => return Err(Errno::Badf),
        };
        if iovs_len > MAX_IOVS {
            return Err(Errno::Inval);
        }
        let (mut mem, ctx) = caller.memory()?;
        let mut total: u32 = 0;
        for i in 0..iovs_len {
            let iov = GuestPtr::<u32>::new(iovs).add(i * 2)?;
            let buf = mem.read(iov)?;
            let len = mem.read(iov.add(1)?)?;
            let bytes = mem.slice(buf, len)?;
            ctx.platform.console.write(stream, bytes);
            total = total.checked_add(len).ok_or(Errno::Overflow)?;
        }
        mem.write(GuestPtr::<u32>::new(nwritten), total)?;
        Ok(())
    })())
}

fn proc_exit(mut caller: Caller<'_, HostContext>, code: u32) -> HostResult<()> {
    caller.count();
    Err(wasmi::Error::i32_exit(code as i32))
}

fn clock_time_get(mut caller: Caller<'_, HostContext>, id: u32, _precision: u64, out: u32) -> i32 {
    caller.count();
    ret((|| {
        let (mut mem, ctx) = caller.memory()?;
        let clock = &ctx.platform.clock;
        let now = match id {
            0 => clock.realtime_ns(),
            1..=3 => clock.monotonic_ns(),
            _ => return Err(Errno::Inval),
        };
        mem.write(GuestPtr::<u64>::new(out), now)?;
        Ok(())
    })())
}

fn random_get(mut caller: Caller<'_, HostContext>, buf: u32, len: u32) -> i32 {
    caller.count();
    ret((|| {
        let (mut mem, ctx) = caller.memory()?;
        let entropy = ctx.platform.entropy.clone();
        entropy.fill(mem.slice_mut(buf, len)?);
        Ok(())
    })())
}

/// Registers the preview1 functions.
pub fn register(reg: &mut Registry) {
    reg.func(MODULE, "args_sizes_get", None, args_sizes_get);
    reg.func(MODULE, "args_get", None, args_get);
    reg.func(MODULE, "environ_sizes_get", Some("env"), environ_sizes_get);
    reg.func(MODULE, "environ_get", Some("env"), environ_get);
    reg.func(MODULE, "fd_write", None, fd_write);
    reg.func(MODULE, "proc_exit", None, proc_exit);
    reg.func(MODULE, "clock_time_get", Some("clock"), clock_time_get);
    reg.func(MODULE, "random_get", Some("random"), random_get);
}
