//! Guests that wait on sockets: a blocking `accept`, `recv`, `send`, `connect` or `poll_oneoff`
//! that cannot go on now records what it was asked ([`IoRequest`]) and what it waits for
//! ([`Blocked`]), and parks the guest with [`Suspend::Io`](crate::Suspend::Io) (wasmi's resumable call: no thread
//! waits). Whoever drives the guest — [`Execution::run_to_end`](crate::Execution::run_to_end)
//! for `kwasm run` and `wasm-run`, the agent scheduler for agents — waits for the sockets
//! ([`crate::net::wait`]) and calls [`retry`], which runs the same operation again with the same
//! arguments; the guest resumes with its result once it no longer blocks. Every wait is bounded
//! by the instance's wall-clock limit and by an interrupt.
//!
//! Retrying the whole operation (rather than finishing half of it) keeps one implementation of
//! each function: the non-blocking path and the blocking one are the same code.

use alloc::vec::Vec;

use crate::context::HostContext;
use crate::error::Error;
use crate::guest::GuestMemory;
use crate::instance::Instance;
use crate::net::Interest;

use super::errno::{WasiError, WasiResult};

/// A call parked on a socket, with the arguments it was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoRequest {
    FdRead {
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        nread: u32,
    },
    FdWrite {
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        nwritten: u32,
    },
    SockRecv {
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        flags: u32,
        nread: u32,
        oflags: u32,
        /// Bytes already received into the buffer by earlier tries (`RECV_WAITALL`).
        done: u32,
    },
    SockSend {
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        flags: u32,
        nwritten: u32,
    },
    SockAccept {
        fd: u32,
        flags: u32,
        out: u32,
    },
    Poll {
        subs: u32,
        events: u32,
        nsubs: u32,
        nevents: u32,
        /// Monotonic and real time when the call was first made (relative clocks count from
        /// there, not from the retry).
        start_mono: u64,
        start_real: u64,
    },
    /// `net::connect` waiting for its handshake; the socket is descriptor `fd` already.
    Connect {
        fd: u32,
        deadline_ns: u64,
    },
}

impl IoRequest {
    /// The host module of the function (`connect` is the `net` module's, the others WASI's).
    pub fn module(&self) -> &'static str {
        match self {
            IoRequest::Connect { .. } => crate::net::abi::MODULE,
            _ => super::MODULE,
        }
    }

    /// The host function's name, for errors.
    pub fn name(&self) -> &'static str {
        match self {
            IoRequest::FdRead { .. } => "fd_read",
            IoRequest::FdWrite { .. } => "fd_write",
            IoRequest::SockRecv { .. } => "sock_recv",
            IoRequest::SockSend { .. } => "sock_send",
            IoRequest::SockAccept { .. } => "sock_accept",
            IoRequest::Poll { .. } => "poll_oneoff",
            IoRequest::Connect { .. } => "connect",
        }
    }
}

/// What a parked guest waits for.
#[derive(Debug, Clone, Default)]
pub struct Blocked {
    pub request: Option<IoRequest>,
    /// Retry at this monotonic time even if no socket is ready (a `poll_oneoff` clock, a connect
    /// timeout).
    pub deadline_ns: Option<u64>,
    /// The sockets, and for what. Kept between calls: a blocking call allocates nothing once
    /// the vector has grown to the guest's number of sockets.
    pub interests: Vec<Interest>,
}

impl Blocked {
    /// Starts recording a new wait (keeps the interests' allocation).
    pub fn begin(&mut self, request: IoRequest, deadline_ns: Option<u64>) {
        self.request = Some(request);
        self.deadline_ns = deadline_ns;
        self.interests.clear();
    }
}

/// Records that the caller waits for `interest` (one socket) and returns the error that parks
/// it; the host function returns it.
pub fn block_on(
    ctx: &mut HostContext,
    request: IoRequest,
    deadline_ns: Option<u64>,
    interest: Interest,
) -> WasiError {
    ctx.blocked.begin(request, deadline_ns);
    ctx.blocked.interests.push(interest);
    WasiError::Park
}

/// How a [`retry`] went.
#[derive(Debug)]
pub enum Retry {
    /// The operation finished: resume the guest with this result (an errno, or a `net`
    /// function's value).
    Done(i32),
    /// It would still block: wait again (the [`Blocked`] record is up to date).
    Blocked,
    /// It ended the instance (a trap, a limit).
    Stop(Error),
}

/// Runs the parked operation of `inst` again.
pub fn retry(inst: &mut Instance) -> Retry {
    let Some(request) = inst.context().blocked.request else {
        return Retry::Stop(Error::State {
            message: alloc::format!("{} is not waiting on a socket", inst.module().name()),
        });
    };
    let Some(memory) = inst.context().memory else {
        return Retry::Stop(Error::State {
            message: alloc::format!("{} has no memory to resume into", inst.module().name()),
        });
    };
    let (bytes, ctx) = memory.data_and_store_mut(inst.store_mut());
    let mut mem = GuestMemory::new(bytes);
    ctx.blocked.request = None;
    run(&mut mem, ctx, request)
}

fn run(mem: &mut GuestMemory<'_>, ctx: &mut HostContext, request: IoRequest) -> Retry {
    use super::{poll, sock};
    let result: WasiResult<i32> = match request {
        IoRequest::FdRead {
            fd,
            iovs,
            iovs_len,
            nread,
        } => sock::fd_read(mem, ctx, fd, iovs, iovs_len, nread).map(|()| 0),
        IoRequest::FdWrite {
            fd,
            iovs,
            iovs_len,
            nwritten,
        } => sock::fd_write(mem, ctx, fd, iovs, iovs_len, nwritten).map(|()| 0),
        IoRequest::SockRecv {
            fd,
            iovs,
            iovs_len,
            flags,
            nread,
            oflags,
            done,
        } => sock::recv(mem, ctx, fd, iovs, iovs_len, flags, nread, oflags, done).map(|()| 0),
        IoRequest::SockSend {
            fd,
            iovs,
            iovs_len,
            flags,
            nwritten,
        } => sock::sock_send(mem, ctx, fd, iovs, iovs_len, flags, nwritten).map(|()| 0),
        IoRequest::SockAccept { fd, flags, out } => {
            sock::sock_accept(mem, ctx, fd, flags, out).map(|()| 0)
        }
        IoRequest::Poll {
            subs,
            events,
            nsubs,
            nevents,
            start_mono,
            start_real,
        } => poll::poll_from(
            mem,
            ctx,
            subs,
            events,
            nsubs,
            nevents,
            Some((start_mono, start_real)),
        )
        .map(|()| 0),
        IoRequest::Connect { fd, deadline_ns } => {
            crate::net::abi::finish_connect(ctx, fd, deadline_ns)
        }
    };
    match result {
        Err(WasiError::Park) => Retry::Blocked,
        Ok(value) => Retry::Done(value),
        Err(WasiError::Errno(e)) => Retry::Done(e.raw()),
        Err(WasiError::Stop(error)) => Retry::Stop(error),
        Err(WasiError::Trap(message)) => Retry::Stop(Error::HostAbort {
            func: alloc::format!("{}::{}", request.module(), request.name()),
            message,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Errors of a retried call name the function the guest called, as the registry knows it.
    #[test]
    fn each_request_names_a_host_function_the_guest_can_import() {
        let requests = [
            IoRequest::FdRead {
                fd: 3,
                iovs: 0,
                iovs_len: 1,
                nread: 8,
            },
            IoRequest::FdWrite {
                fd: 3,
                iovs: 0,
                iovs_len: 1,
                nwritten: 8,
            },
            IoRequest::SockRecv {
                fd: 3,
                iovs: 0,
                iovs_len: 1,
                flags: 0,
                nread: 8,
                oflags: 12,
                done: 0,
            },
            IoRequest::SockSend {
                fd: 3,
                iovs: 0,
                iovs_len: 1,
                flags: 0,
                nwritten: 8,
            },
            IoRequest::SockAccept {
                fd: 3,
                flags: 0,
                out: 8,
            },
            IoRequest::Poll {
                subs: 0,
                events: 64,
                nsubs: 1,
                nevents: 8,
                start_mono: 0,
                start_real: 0,
            },
            IoRequest::Connect {
                fd: 3,
                deadline_ns: 0,
            },
        ];
        let names: Vec<alloc::string::String> = requests
            .iter()
            .map(|r| alloc::format!("{}::{}", r.module(), r.name()))
            .collect();
        assert_eq!(
            names,
            [
                "wasi_snapshot_preview1::fd_read",
                "wasi_snapshot_preview1::fd_write",
                "wasi_snapshot_preview1::sock_recv",
                "wasi_snapshot_preview1::sock_send",
                "wasi_snapshot_preview1::sock_accept",
                "wasi_snapshot_preview1::poll_oneoff",
                "net::connect",
            ]
        );
        let runtime = crate::Runtime::default();
        for r in requests {
            assert!(
                runtime.registry().lookup(r.module(), r.name()).is_some(),
                "{r:?}"
            );
        }
    }
}
