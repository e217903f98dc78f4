//! `poll_oneoff`: clock subscriptions really wait (through [`Platform::wait_until`]); file and
//! stdio descriptors are always ready (reads and writes never block here), as in wasmtime.
//! Sockets are ready as their [`Readiness`](crate::net::Readiness) says (data, end of stream,
//! an error or a pending connection to read; room or an error to write): when no subscription
//! is ready the call parks the guest until a socket is or the earliest clock comes
//! ([`blocking`](super::blocking)), so other agents run meanwhile.
//!
//! Two passes over the guest's subscription array, allocating nothing: the first validates every
//! subscription and finds the earliest deadline, the second writes one event per ready
//! subscription. Like wasmtime: zero subscriptions is EINVAL; a lone relative clock just sleeps and
//! reports `nbytes = 1`; a bad descriptor fails the whole call with EBADF; CPU-time clocks are
//! EINVAL; an fd_read event on a file reports HANGUP at end of file. Unlike wasmtime, more than
//! [`MAX_SUBSCRIPTIONS`] subscriptions are EINVAL (the host's work per call stays bounded).
//!
//! [`Platform::wait_until`]: crate::platform::Platform::wait_until

use crate::caps::Capability;
use crate::context::HostContext;
use crate::guest::GuestMemory;
use crate::platform::Waited;

use super::blocking::IoRequest;
use super::errno::{Errno, WasiError, WasiResult};
use super::fd_table::Desc;
use super::types::*;
use super::MAX_SUBSCRIPTIONS;

/// When the call started: monotonic and realtime nanoseconds.
#[derive(Clone, Copy)]
struct Start {
    mono: u64,
    real: u64,
}

/// Monotonic deadline (ns) of a clock subscription, relative timeouts counting from `start`.
fn deadline(start: Start, id: u32, timeout: u64, flags: u16) -> Result<u64, Errno> {
    if flags & !SUBCLOCK_ABSTIME != 0 {
        return Err(Errno::Inval);
    }
    let now = start.mono;
    let absolute = flags & SUBCLOCK_ABSTIME != 0;
    match id {
        CLOCK_MONOTONIC if absolute => Ok(timeout),
        CLOCK_MONOTONIC | CLOCK_REALTIME if !absolute => Ok(now.saturating_add(timeout)),
        CLOCK_REALTIME => {
            let remaining = timeout.saturating_sub(start.real);
            Ok(now.saturating_add(remaining))
        }
        _ => Err(Errno::Inval),
    }
}

/// The event for a descriptor subscription, `None` while it is not ready (a socket); `EBADF` for
/// a descriptor that cannot be polled.
fn fd_event(ctx: &HostContext, userdata: u64, fd: u32, read: bool) -> WasiResult<Option<Event>> {
    let e = ctx.wasi.fds.entry(fd)?;
    let mut event = Event {
        userdata,
        error: 0,
        kind: if read {
            EVENTTYPE_FD_READ
        } else {
            EVENTTYPE_FD_WRITE
        },
        nbytes: 1,
        flags: 0,
    };
    match (&e.desc, read) {
        (Desc::Stdin, true) | (Desc::Stdout | Desc::Stderr, false) | (Desc::File(_), false) => {}
        (Desc::File(f), true) => {
            if f.fs.vfs.stat(f.fs.node)?.size <= f.pos {
                event.flags = EVENTRW_HANGUP;
            }
        }
        (Desc::Socket(s), _) => {
            e.need(crate::wasi::rights::POLL_FD_READWRITE)?;
            let r = s.readiness();
            if !(if read { r.readable } else { r.writable }) {
                return Ok(None);
            }
            event.nbytes = if read { r.recv_bytes } else { r.send_room };
            if r.hangup {
                event.flags = EVENTRW_HANGUP;
            }
            if let Some(error) = r.error {
                event.error = Errno::from(error) as u16;
            }
        }
        _ => return Err(Errno::Badf.into()),
    }
    Ok(Some(event))
}

/// Waits until monotonic time `deadline_ns`, but never past the instance's wall-clock limit: a
/// sleep that would outlast it waits until the limit and stops the instance. An interrupt (Ctrl-C
/// on the kernel's console) stops it too.
fn sleep_until(ctx: &HostContext, deadline_ns: u64) -> WasiResult<()> {
    let over_limit = ctx
        .time_limit
        .filter(|&(limit_ns, _)| deadline_ns > limit_ns);
    let wake = over_limit.map_or(deadline_ns, |(limit_ns, _)| limit_ns);
    if ctx.platform.wait_until(wake) == Waited::Interrupted {
        return Err(WasiError::Stop(crate::Error::Interrupted {
            func: alloc::format!("{} (sleeping in poll_oneoff)", ctx.module),
        }));
    }
    match over_limit {
        Some((_, ms)) => Err(WasiError::Stop(crate::Error::LimitExceeded {
            kind: crate::LimitKind::Time,
            limit: ms,
            detail: alloc::format!("{} slept past its {ms} ms of wall time", ctx.module),
        })),
        None => Ok(()),
    }
}

pub fn poll_oneoff(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    subs: u32,
    events: u32,
    nsubs: u32,
    nevents: u32,
) -> WasiResult<()> {
    poll_from(mem, ctx, subs, events, nsubs, nevents, None)
}

/// `poll_oneoff`, or its retry after parking (`start`: the monotonic and real time of the first
/// try, from which relative clocks count).
#[allow(clippy::too_many_arguments)]
pub(super) fn poll_from(
    mem: &mut GuestMemory<'_>,
    ctx: &mut HostContext,
    subs: u32,
    events: u32,
    nsubs: u32,
    nevents: u32,
    start: Option<(u64, u64)>,
) -> WasiResult<()> {
    if nsubs == 0 || nsubs > MAX_SUBSCRIPTIONS {
        return Err(Errno::Inval.into());
    }
    if nsubs == 1 && start.is_none() {
        let sub: Subscription = mem.read_at(subs, 0)?;
        if let SubscriptionKind::Clock {
            id, timeout, flags, ..
        } = sub.kind
        {
            if flags & SUBCLOCK_ABSTIME == 0 {
                if !ctx.caps.has(Capability::Clock) {
                    return Err(Errno::Notcapable.into());
                }
                // Validated as in the general case: the shortcut only changes what is reported.
                let now = ctx.platform.clock.monotonic_ns();
                let start = Start { mono: now, real: 0 };
                sleep_until(ctx, deadline(start, id, timeout, flags)?)?;
                let event = Event {
                    userdata: sub.userdata,
                    error: 0,
                    kind: EVENTTYPE_CLOCK,
                    nbytes: 1,
                    flags: 0,
                };
                mem.write_at(events, 0, event)?;
                mem.write_at::<u32>(nevents, 0, 1)?;
                return Ok(());
            }
        }
    }
    let start = match start {
        Some((mono, real)) => Start { mono, real },
        None => Start {
            mono: ctx.platform.clock.monotonic_ns(),
            real: ctx.platform.clock.realtime_ns(),
        },
    };
    // Pass 1: validate, find whether any descriptor is ready and the earliest deadline.
    let mut any_fd = false;
    let mut any_socket = false;
    let mut earliest = u64::MAX;
    for i in 0..nsubs {
        let sub: Subscription = mem.read_at(subs, i)?;
        match sub.kind {
            SubscriptionKind::Clock {
                id, timeout, flags, ..
            } => {
                if !ctx.caps.has(Capability::Clock) {
                    return Err(Errno::Notcapable.into());
                }
                earliest = earliest.min(deadline(start, id, timeout, flags)?);
            }
            SubscriptionKind::FdRead(fd) | SubscriptionKind::FdWrite(fd) => {
                let read = matches!(sub.kind, SubscriptionKind::FdRead(_));
                match fd_event(ctx, sub.userdata, fd, read)? {
                    Some(_) => any_fd = true,
                    None => any_socket = true,
                }
            }
            SubscriptionKind::Invalid => return Err(Errno::Inval.into()),
        }
    }
    if !any_fd {
        if !any_socket {
            sleep_until(ctx, earliest)?;
        } else if ctx.platform.clock.monotonic_ns() < earliest {
            return Err(park_on_sockets(
                mem,
                ctx,
                IoRequest::Poll {
                    subs,
                    events,
                    nsubs,
                    nevents,
                    start_mono: start.mono,
                    start_real: start.real,
                },
                earliest,
            )?);
        }
    }
    // Pass 2: one event per ready subscription, in subscription order.
    let now = ctx.platform.clock.monotonic_ns();
    let mut count = 0u32;
    for i in 0..nsubs {
        let sub: Subscription = mem.read_at(subs, i)?;
        let event = match sub.kind {
            SubscriptionKind::Clock {
                id, timeout, flags, ..
            } => {
                if deadline(start, id, timeout, flags)? > now {
                    continue;
                }
                Event {
                    userdata: sub.userdata,
                    error: 0,
                    kind: EVENTTYPE_CLOCK,
                    nbytes: 0,
                    flags: 0,
                }
            }
            SubscriptionKind::FdRead(fd) => match fd_event(ctx, sub.userdata, fd, true)? {
                Some(event) => event,
                None => continue,
            },
            SubscriptionKind::FdWrite(fd) => match fd_event(ctx, sub.userdata, fd, false)? {
                Some(event) => event,
                None => continue,
            },
            SubscriptionKind::Invalid => return Err(Errno::Inval.into()),
        };
        mem.write_at(events, count, event)?;
        count += 1;
    }
    mem.write_at::<u32>(nevents, 0, count)?;
    Ok(())
}

/// Records the sockets of the subscriptions as what the parked poll waits for, with `earliest`
/// (the first clock, `u64::MAX` for none) as its deadline; returns the error that parks it.
fn park_on_sockets(
    mem: &GuestMemory<'_>,
    ctx: &mut HostContext,
    request: IoRequest,
    earliest: u64,
) -> WasiResult<WasiError> {
    let IoRequest::Poll { subs, nsubs, .. } = request else {
        return Err(Errno::Inval.into());
    };
    let deadline = (earliest != u64::MAX).then_some(earliest);
    ctx.blocked.begin(request, deadline);
    for i in 0..nsubs {
        let sub: Subscription = mem.read_at(subs, i)?;
        let (fd, read) = match sub.kind {
            SubscriptionKind::FdRead(fd) => (fd, true),
            SubscriptionKind::FdWrite(fd) => (fd, false),
            _ => continue,
        };
        if let Ok((_, s)) = ctx.wasi.fds.socket(fd) {
            let token = s.token();
            ctx.blocked.interests.push(crate::net::Interest {
                token,
                read,
                write: !read,
            });
        }
    }
    Ok(WasiError::Park)
}
