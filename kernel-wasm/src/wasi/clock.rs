//! Clocks (`clock` capability) and `random_get` (`random` capability).
//!
//! As in wasmtime, only the realtime and monotonic clocks exist: the process and thread CPU-time
//! clocks answer `EBADF` (wasmtime's preview1 returns `Errno::Badf` for them); an unknown clock id
//! is `EINVAL`.

use crate::caps::Capability;
use crate::context::HostContext;
use crate::guest::GuestMemory;
use crate::platform::Clock;

use super::errno::{Errno, WasiResult};
use super::types::{CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME, CLOCK_REALTIME, CLOCK_THREAD_CPUTIME};

/// Checks a clock id: `EINVAL` if unknown, `EBADF` for the CPU-time clocks.
pub fn check_clock_id(id: u32) -> Result<(), Errno> {
    match id {
        CLOCK_REALTIME | CLOCK_MONOTONIC => Ok(()),
        CLOCK_PROCESS_CPUTIME | CLOCK_THREAD_CPUTIME => Err(Errno::Badf),
        _ => Err(Errno::Inval),
    }
}

pub fn now(clock: &dyn Clock, id: u32) -> u64 {
    if id == CLOCK_REALTIME {
        clock.realtime_ns()
    } else {
        clock.monotonic_ns()
    }
}

fn clock_call(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    id: u32,
    out: u32,
    res: bool,
) -> WasiResult<()> {
    if id > CLOCK_THREAD_CPUTIME {
        return Err(Errno::Inval.into());
    }
    if !ctx.caps.has(Capability::Clock) {
        return Err(Errno::Notcapable.into());
    }
    check_clock_id(id)?;
    let clock = &*ctx.platform.clock;
    let value = if res {
        clock.resolution_ns().max(1)
    } else {
        now(clock, id)
    };
    mem.write_at::<u64>(out, 0, value)?;
    Ok(())
}

pub fn clock_res_get(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    id: u32,
    out: u32,
) -> WasiResult<()> {
    clock_call(mem, ctx, id, out, true)
}

pub fn clock_time_get(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    id: u32,
    _precision: u64,
    out: u32,
) -> WasiResult<()> {
    clock_call(mem, ctx, id, out, false)
}

pub fn random_get(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    buf: u32,
    len: u32,
) -> WasiResult<()> {
    if !ctx.caps.has(Capability::Random) {
        return Err(Errno::Notcapable.into());
    }
    ctx.platform.entropy.fill(mem.slice_mut(buf, len)?);
    Ok(())
}
