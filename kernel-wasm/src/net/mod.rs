//! Networking: TCP sockets behind one small trait, as [`Vfs`](crate::Vfs) is for files.
//!
//! The host supplies a [`Network`] through [`Platform::net`](crate::Platform): `kwasm` real
//! sockets through std (`hosted::net`, feature `std`), the kernel a [`smol::SmolNetwork`]
//! (smoltcp) over its virtio-net driver. Everything above the trait is portable: WASI sockets
//! (`wasi::sock`, descriptors in the same table as files, with rights), the `net` host module
//! ([`abi`]: `connect`), capability scopes ([`scope`]) and the parking of a guest that waits on a
//! socket ([`crate::wasi::blocking`]).
//!
//! One concept per file: [`socket`] (the traits, readiness, errors), [`addr`] (`host:port`
//! text), [`scope`] (`net:connect=…` scopes), [`smol`] (the smoltcp stack), [`abi`] (the `net`
//! host module), [`wait`] (waiting for readiness on a guest's behalf).
//!
//! Architecture invariant: a socket operation never blocks inside the [`Network`]: every call
//! answers at once ([`NetError::WouldBlock`] when it cannot), and a guest that must wait parks
//! (`execution::park` with [`Suspend::Io`](crate::Suspend)) until the scheduler or
//! `Execution::run_to_end` sees it ready, so other agents keep running and every wait is bounded
//! by the instance's time limit.

pub mod abi;
pub mod addr;
pub mod scope;
pub mod smol;
pub mod socket;
pub mod wait;

pub use socket::{
    Interest, Listener, NetCounters, NetError, NetInfo, Network, Readiness, Shutdown, Stream,
    WaitToken,
};

/// Pending connections a listening socket holds before the guest accepts them (the backlog
/// `--tcplisten` and `wasm-run --tcplisten` ask for).
pub const DEFAULT_BACKLOG: usize = 16;

/// How long a blocking `net::connect` waits for the handshake before it fails with
/// `ETIMEDOUT`.
pub const CONNECT_TIMEOUT_NS: u64 = 20_000_000_000;
