//! The socket traits a host implements ([`Network`], [`Listener`], [`Stream`]), what a socket
//! can do now ([`Readiness`]) and how an operation fails ([`NetError`]).
//!
//! Every operation answers at once: an operation that cannot make progress now is
//! [`NetError::WouldBlock`], never a wait. Waiting is [`Network::wait`], which the portable layer
//! calls with the sockets a parked guest waits on (see [`super::wait`]). Dropping a socket closes
//! it: a guest's sockets close when its descriptors do, and all of them when the instance ends.

use alloc::boxed::Box;
use core::fmt;
use core::net::SocketAddr;

/// Why a socket operation failed. The WASI layer maps each to one errno (`wasi/errno.rs`); the
/// `net` host module returns the same numbers negated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetError {
    /// Nothing can be done now (no data, no room, no pending connection, handshake not done).
    WouldBlock,
    /// The peer refused the connection (RST to our SYN).
    ConnectionRefused,
    /// The peer reset the connection.
    ConnectionReset,
    /// The connection was aborted (our side gave up: a timeout, the stack closing).
    ConnectionAborted,
    /// The socket is not connected (still connecting, or a listener).
    NotConnected,
    /// Sending after our side shut down writing, or after the peer closed.
    BrokenPipe,
    /// The handshake or the connection timed out.
    TimedOut,
    /// The local address is in use.
    AddrInUse,
    /// The local address is not one of this host's.
    AddrNotAvailable,
    /// No route to the address.
    Unreachable,
    /// The address family is not supported here (IPv6 on the kernel).
    AddrFamilyNotSupported,
    /// The host's socket table is full (the network's `max_sockets`).
    NoBuffers,
    /// An argument is invalid (port 0 to connect to, a shut-down direction twice, ...).
    InvalidInput,
    /// A host name cannot be resolved here (the kernel has no resolver) or has no address.
    NameNotResolved,
    /// There is no network (no device, or the platform has none).
    NetworkDown,
    /// Any other failure of the host's stack.
    Other,
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetError::WouldBlock => "operation would block",
            NetError::ConnectionRefused => "connection refused",
            NetError::ConnectionReset => "connection reset by peer",
            NetError::ConnectionAborted => "connection aborted",
            NetError::NotConnected => "not connected",
            NetError::BrokenPipe => "broken pipe",
            NetError::TimedOut => "timed out",
            NetError::AddrInUse => "address in use",
            NetError::AddrNotAvailable => "address not available",
            NetError::Unreachable => "no route to host",
            NetError::AddrFamilyNotSupported => "address family not supported",
            NetError::NoBuffers => "too many sockets open",
            NetError::InvalidInput => "invalid argument",
            NetError::NameNotResolved => "host name not resolved",
            NetError::NetworkDown => "network is down",
            NetError::Other => "network error",
        })
    }
}

/// Which directions [`Stream::shutdown`] closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    Read,
    Write,
    Both,
}

/// What a socket can do now, for `poll_oneoff` and for deciding whether a parked guest can go on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Readiness {
    /// A receive (or an accept, for a listener) would not block: data, end of stream, an error,
    /// or a pending connection is there.
    pub readable: bool,
    /// A send would not block: there is room, or an error to report.
    pub writable: bool,
    /// The peer closed its side (a receive returns end of stream once the data is read), or the
    /// connection failed.
    pub hangup: bool,
    /// The connection failed: what the next operation will report.
    pub error: Option<NetError>,
    /// Bytes that can be received now (pending connections, for a listener).
    pub recv_bytes: u64,
    /// Bytes that can be queued for sending now.
    pub send_room: u64,
}

/// An opaque handle [`Network::wait`] knows its sockets by (the host's raw descriptor for std
/// sockets; the socket's slot for smoltcp).
pub type WaitToken = u64;

/// A socket a parked guest waits on, and for what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interest {
    pub token: WaitToken,
    pub read: bool,
    pub write: bool,
}

/// A listening TCP socket.
pub trait Listener {
    /// Takes one pending connection: the connected stream and the peer's address;
    /// [`NetError::WouldBlock`] when none is pending.
    fn accept(&self) -> Result<(Box<dyn Stream>, SocketAddr), NetError>;
    fn local_addr(&self) -> SocketAddr;
    fn readiness(&self) -> Readiness;
    fn token(&self) -> WaitToken;
}

/// A connected (or connecting) TCP socket.
pub trait Stream {
    /// Receives up to `buf.len()` bytes; `Ok(0)` is the end of the stream (or an empty `buf`).
    /// `peek` leaves the bytes queued.
    fn recv(&self, buf: &mut [u8], peek: bool) -> Result<usize, NetError>;
    /// Queues up to `data.len()` bytes for sending; returns how many were taken (at least one
    /// unless `data` is empty, else [`NetError::WouldBlock`]).
    fn send(&self, data: &[u8]) -> Result<usize, NetError>;
    fn shutdown(&self, how: Shutdown) -> Result<(), NetError>;
    fn readiness(&self) -> Readiness;
    /// Whether the handshake is still going on (a connect in progress): `Ok(true)` while it is,
    /// `Ok(false)` once connected, the error once it failed.
    fn connecting(&self) -> Result<bool, NetError>;
    fn local_addr(&self) -> Option<SocketAddr>;
    fn peer_addr(&self) -> Option<SocketAddr>;
    fn token(&self) -> WaitToken;
}

/// Counters of one network, for `net-info`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetCounters {
    /// Connections accepted and connections made (completed handshakes).
    pub accepted: u64,
    pub connected: u64,
    /// Bytes guests sent and received.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Frames the device sent and received (0 where the OS does it).
    pub frames_sent: u64,
    pub frames_received: u64,
    /// Frames the device dropped (no room, malformed).
    pub frames_dropped: u64,
}

/// What `net-info` prints about a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetInfo {
    /// The kind of stack ("smoltcp over virtio-net", "host sockets").
    pub kind: &'static str,
    /// The interface's address with its prefix (`10.0.2.15/24`), if the stack has one.
    pub address: Option<alloc::string::String>,
    pub gateway: Option<alloc::string::String>,
    /// Sockets open now, and the most the network holds.
    pub sockets: usize,
    pub max_sockets: usize,
    pub counters: NetCounters,
}

/// A host's TCP/IP service.
pub trait Network {
    /// Opens a socket listening on `addr` with room for `backlog` pending connections.
    fn listen(&self, addr: SocketAddr, backlog: usize) -> Result<Box<dyn Listener>, NetError>;
    /// Starts connecting to `addr` and returns at once; the stream is
    /// [`connecting`](Stream::connecting) until the handshake ends.
    fn connect(&self, addr: SocketAddr) -> Result<Box<dyn Stream>, NetError>;
    /// Resolves a host name; hosts without a resolver answer [`NetError::NameNotResolved`].
    fn resolve(&self, _host: &str, _port: u16) -> Result<SocketAddr, NetError> {
        Err(NetError::NameNotResolved)
    }
    /// Waits until one of `interests` may have become ready, something else happened on the
    /// network, or `timeout_ns` passed; may return early. Callers look at readiness again
    /// afterwards.
    fn wait(&self, interests: &[Interest], timeout_ns: u64);
    /// Processes what arrived and what timers are due (the kernel drives smoltcp here; the OS
    /// needs nothing).
    fn poll(&self) {}
    /// Where a listener given only a port listens (the shell's `wasm-run --tcplisten PORT`):
    /// loopback on a host OS, the interface's address on the kernel.
    fn default_listen_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(core::net::IpAddr::V4(core::net::Ipv4Addr::LOCALHOST), port)
    }
    fn info(&self) -> NetInfo;
}

#[cfg(test)]
mod tests {
    use super::NetError;
    use crate::wasi::Errno;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    const ALL: [NetError; 16] = [
        NetError::WouldBlock,
        NetError::ConnectionRefused,
        NetError::ConnectionReset,
        NetError::ConnectionAborted,
        NetError::NotConnected,
        NetError::BrokenPipe,
        NetError::TimedOut,
        NetError::AddrInUse,
        NetError::AddrNotAvailable,
        NetError::Unreachable,
        NetError::AddrFamilyNotSupported,
        NetError::NoBuffers,
        NetError::InvalidInput,
        NetError::NameNotResolved,
        NetError::NetworkDown,
        NetError::Other,
    ];

    /// A guest tells every failure apart by its errno, and a user by its text (the shell prints
    /// it after "cannot listen on ADDR: "): both are one of a kind, and the text reads as the
    /// end of a sentence.
    #[test]
    fn every_error_has_its_own_errno_and_text() {
        let errnos: Vec<i32> = ALL.iter().map(|&e| Errno::from(e).raw()).collect();
        let texts: Vec<_> = ALL.iter().map(|e| e.to_string()).collect();
        for (i, e) in ALL.iter().enumerate() {
            assert!(!errnos[..i].contains(&errnos[i]), "{e:?}: errno shared");
            assert!(!texts[..i].contains(&texts[i]), "{e:?}: text shared");
            let first = texts[i].chars().next().unwrap();
            assert!(first.is_ascii_lowercase(), "{e:?}: {}", texts[i]);
            assert!(!texts[i].ends_with('.'), "{e:?}: {}", texts[i]);
        }
        assert_eq!(Errno::from(NetError::WouldBlock).raw(), 6, "EAGAIN");
        assert_eq!(Errno::from(NetError::ConnectionRefused).raw(), 14);
        assert_eq!(Errno::from(NetError::TimedOut).raw(), 73);
    }
}
