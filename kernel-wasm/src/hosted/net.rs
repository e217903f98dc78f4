//! kwasm's [`Network`]: real TCP sockets of the host OS, every one non-blocking (socket2 for the
//! non-blocking connect std lacks), and `poll(2)` to wait on them.
//!
//! Bounds: at most `max_sockets` sockets at once across every guest of the process (listeners
//! included); past it `connect` and `accept` fail with [`NetError::NoBuffers`]. Socket buffers
//! are the OS's (Linux: `net.ipv4.tcp_rmem`/`tcp_wmem`), so a peer cannot make kwasm allocate:
//! data moves straight between the socket and guest memory.

use std::boxed::Box;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::vec::Vec;

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::net::{
    Interest, Listener, NetCounters, NetError, NetInfo, Network, Readiness, Shutdown, Stream,
    WaitToken,
};

/// Sockets one kwasm process holds at once unless configured otherwise.
pub const DEFAULT_MAX_SOCKETS: usize = 1024;

#[derive(Debug, Default)]
struct Shared {
    open: AtomicUsize,
    max: usize,
    counters: Mutex<NetCounters>,
    poll_fds: PollFds,
}

/// The `pollfd` array [`StdNetwork`]'s `wait` fills, kept so that waiting allocates nothing
/// once it has grown to the number of sockets waited on.
#[derive(Default)]
struct PollFds(Mutex<Vec<libc::pollfd>>);

impl core::fmt::Debug for PollFds {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PollFds")
    }
}

impl Shared {
    /// Takes one socket slot, or `NoBuffers` when all are in use.
    fn take_slot(self: &Arc<Self>) -> Result<Slot, NetError> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            });
        match taken {
            Ok(_) => Ok(Slot(self.clone())),
            Err(_) => Err(NetError::NoBuffers),
        }
    }

    fn count(&self, f: impl FnOnce(&mut NetCounters)) {
        if let Ok(mut c) = self.counters.lock() {
            f(&mut c);
        }
    }
}

/// One socket's place in the count; given back when the socket is dropped.
#[derive(Debug)]
struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The host's sockets.
#[derive(Debug, Clone)]
pub struct StdNetwork {
    shared: Arc<Shared>,
}

impl Default for StdNetwork {
    fn default() -> Self {
        StdNetwork::new(DEFAULT_MAX_SOCKETS)
    }
}

impl StdNetwork {
    pub fn new(max_sockets: usize) -> Self {
        StdNetwork {
            shared: Arc::new(Shared {
                max: max_sockets,
                ..Shared::default()
            }),
        }
    }
}

/// The one mapping from OS errors to [`NetError`].
fn net_error(e: &io::Error) -> NetError {
    use io::ErrorKind as K;
    match e.kind() {
        K::WouldBlock => return NetError::WouldBlock,
        K::ConnectionRefused => return NetError::ConnectionRefused,
        K::ConnectionReset => return NetError::ConnectionReset,
        K::ConnectionAborted => return NetError::ConnectionAborted,
        K::NotConnected => return NetError::NotConnected,
        K::BrokenPipe => return NetError::BrokenPipe,
        K::TimedOut => return NetError::TimedOut,
        K::AddrInUse => return NetError::AddrInUse,
        K::AddrNotAvailable => return NetError::AddrNotAvailable,
        K::InvalidInput => return NetError::InvalidInput,
        _ => {}
    }
    match e.raw_os_error() {
        Some(libc::EINPROGRESS) | Some(libc::EALREADY) => NetError::WouldBlock,
        Some(libc::ENETUNREACH) | Some(libc::EHOSTUNREACH) => NetError::Unreachable,
        Some(libc::EAFNOSUPPORT) => NetError::AddrFamilyNotSupported,
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM) => {
            NetError::NoBuffers
        }
        Some(libc::ENETDOWN) => NetError::NetworkDown,
        _ => NetError::Other,
    }
}

/// `poll(2)` of one descriptor without waiting: (readable, writable, hangup, error).
fn poll_now(fd: i32) -> (bool, bool, bool, bool) {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN | libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: `p` is one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    if n <= 0 {
        return (false, false, false, false);
    }
    let r = p.revents;
    (
        r & libc::POLLIN != 0,
        r & libc::POLLOUT != 0,
        r & (libc::POLLHUP | libc::POLLRDHUP) != 0,
        r & libc::POLLERR != 0,
    )
}

/// An `int` from `ioctl(fd, request)` (FIONREAD, TIOCOUTQ), 0 if it fails.
fn ioctl_int(fd: i32, request: libc::Ioctl) -> u64 {
    let mut n: libc::c_int = 0;
    // SAFETY: both requests write one `int` through the pointer, which is valid for that.
    let rc = unsafe { libc::ioctl(fd, request, &mut n) };
    if rc == 0 {
        u64::try_from(n).unwrap_or(0)
    } else {
        0
    }
}

impl Network for StdNetwork {
    fn listen(&self, addr: SocketAddr, backlog: usize) -> Result<Box<dyn Listener>, NetError> {
        let slot = self.shared.take_slot()?;
        let make = || -> io::Result<TcpListener> {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            socket.set_reuse_address(true)?;
            socket.bind(&addr.into())?;
            socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
            socket.set_nonblocking(true)?;
            Ok(socket.into())
        };
        let listener = make().map_err(|e| net_error(&e))?;
        let local = listener.local_addr().map_err(|e| net_error(&e))?;
        Ok(Box::new(StdListener {
            listener,
            local,
            shared: self.shared.clone(),
            _slot: slot,
        }))
    }

    fn connect(&self, addr: SocketAddr) -> Result<Box<dyn Stream>, NetError> {
        if addr.port() == 0 {
            return Err(NetError::InvalidInput);
        }
        let slot = self.shared.take_slot()?;
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(|e| net_error(&e))?;
        socket.set_nonblocking(true).map_err(|e| net_error(&e))?;
        let _ = socket.set_tcp_nodelay(true);
        match socket.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if net_error(&e) == NetError::WouldBlock => {}
            Err(e) => return Err(net_error(&e)),
        }
        Ok(Box::new(StdStream {
            stream: socket.into(),
            state: Mutex::new(ConnState::Connecting),
            shared: self.shared.clone(),
            _slot: slot,
        }))
    }

    fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, NetError> {
        (host, port)
            .to_socket_addrs()
            .map_err(|_| NetError::NameNotResolved)?
            .next()
            .ok_or(NetError::NameNotResolved)
    }

    fn wait(&self, interests: &[Interest], timeout_ns: u64) {
        // Another thread waiting holds the kept array for the length of its poll: this wait
        // then uses an array of its own rather than waiting for that one.
        let mut own = Vec::new();
        let mut kept = self.shared.poll_fds.0.try_lock();
        let fds = match kept.as_deref_mut() {
            Ok(kept) => kept,
            Err(_) => &mut own,
        };
        fds.clear();
        fds.extend(interests.iter().filter_map(|i| {
            let fd = i32::try_from(i.token).ok()?;
            let mut events = 0;
            if i.read {
                events |= libc::POLLIN;
            }
            if i.write {
                events |= libc::POLLOUT;
            }
            Some(libc::pollfd {
                fd,
                events,
                revents: 0,
            })
        }));
        // Round up to whole milliseconds so a short wait does not spin.
        let ms = timeout_ns.div_ceil(1_000_000).min(i32::MAX as u64) as i32;
        // SAFETY: `fds` is a valid array of `fds.len()` pollfds for the duration of the call
        // (an empty array with a timeout just sleeps).
        unsafe {
            libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms);
        }
    }

    fn info(&self) -> NetInfo {
        NetInfo {
            kind: "host sockets",
            address: None,
            gateway: None,
            sockets: self.shared.open.load(Ordering::Acquire),
            max_sockets: self.shared.max,
            counters: self.shared.counters.lock().map(|c| *c).unwrap_or_default(),
        }
    }
}

struct StdListener {
    listener: TcpListener,
    local: SocketAddr,
    shared: Arc<Shared>,
    _slot: Slot,
}

impl Listener for StdListener {
    fn accept(&self) -> Result<(Box<dyn Stream>, SocketAddr), NetError> {
        // Take the slot first: with the table full, the connection stays in the OS's backlog.
        let slot = self.shared.take_slot()?;
        let (stream, peer) = self.listener.accept().map_err(|e| net_error(&e))?;
        stream.set_nonblocking(true).map_err(|e| net_error(&e))?;
        let _ = stream.set_nodelay(true);
        self.shared.count(|c| c.accepted += 1);
        Ok((
            Box::new(StdStream {
                stream,
                state: Mutex::new(ConnState::Connected),
                shared: self.shared.clone(),
                _slot: slot,
            }),
            peer,
        ))
    }

    fn local_addr(&self) -> SocketAddr {
        self.local
    }

    fn readiness(&self) -> Readiness {
        let (readable, _, _, error) = poll_now(self.listener.as_raw_fd());
        Readiness {
            readable: readable || error,
            recv_bytes: u64::from(readable),
            ..Readiness::default()
        }
    }

    fn token(&self) -> WaitToken {
        self.listener.as_raw_fd() as WaitToken
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnState {
    Connecting,
    Connected,
    Failed(NetError),
}

struct StdStream {
    stream: TcpStream,
    state: Mutex<ConnState>,
    shared: Arc<Shared>,
    _slot: Slot,
}

impl StdStream {
    /// Moves a connect in progress on: connected once the socket is writable without a
    /// pending error, failed with the error it reports.
    fn state(&self) -> ConnState {
        let Ok(mut state) = self.state.lock() else {
            return ConnState::Failed(NetError::Other);
        };
        if *state == ConnState::Connecting {
            let (_, writable, hangup, error) = poll_now(self.stream.as_raw_fd());
            if error || hangup {
                let e = match self.stream.take_error() {
                    Ok(Some(e)) => net_error(&e),
                    _ => NetError::ConnectionRefused,
                };
                *state = ConnState::Failed(e);
            } else if writable {
                *state = ConnState::Connected;
                self.shared.count(|c| c.connected += 1);
            }
        }
        *state
    }

    /// `e`, an error of an operation on the connected socket. One that ends the connection (a
    /// reset, an abort, a timeout) is kept as the stream's state: the OS reports it once, but
    /// every later operation must see it (as on the kernel's stack), also when the call that
    /// read it reported data received before it instead.
    fn fail(&self, e: NetError) -> NetError {
        if matches!(
            e,
            NetError::ConnectionReset | NetError::ConnectionAborted | NetError::TimedOut
        ) {
            if let Ok(mut state) = self.state.lock() {
                *state = ConnState::Failed(e);
            }
        }
        e
    }
}

impl Stream for StdStream {
    fn recv(&self, buf: &mut [u8], peek: bool) -> Result<usize, NetError> {
        match self.state() {
            ConnState::Connecting => return Err(NetError::WouldBlock),
            ConnState::Failed(e) => return Err(e),
            ConnState::Connected => {}
        }
        // The OS would wait for data to put nowhere.
        if buf.is_empty() {
            return Ok(0);
        }
        let result = if peek {
            self.stream.peek(buf)
        } else {
            (&self.stream).read(buf)
        };
        let n = result.map_err(|e| self.fail(net_error(&e)))?;
        if !peek {
            self.shared.count(|c| c.bytes_received += n as u64);
        }
        Ok(n)
    }

    fn send(&self, data: &[u8]) -> Result<usize, NetError> {
        match self.state() {
            ConnState::Connecting => return Err(NetError::WouldBlock),
            ConnState::Failed(e) => return Err(e),
            ConnState::Connected => {}
        }
        // MSG_NOSIGNAL: a closed peer is EPIPE for the guest, never SIGPIPE for the host.
        let n = SockRef::from(&self.stream)
            .send_with_flags(data, libc::MSG_NOSIGNAL)
            .map_err(|e| self.fail(net_error(&e)))?;
        self.shared.count(|c| c.bytes_sent += n as u64);
        Ok(n)
    }

    fn shutdown(&self, how: Shutdown) -> Result<(), NetError> {
        match self.state() {
            ConnState::Connected => {}
            ConnState::Connecting => return Err(NetError::NotConnected),
            ConnState::Failed(e) => return Err(e),
        }
        let how = match how {
            Shutdown::Read => std::net::Shutdown::Read,
            Shutdown::Write => std::net::Shutdown::Write,
            Shutdown::Both => std::net::Shutdown::Both,
        };
        self.stream.shutdown(how).map_err(|e| net_error(&e))
    }

    fn readiness(&self) -> Readiness {
        let fd = self.stream.as_raw_fd();
        match self.state() {
            ConnState::Connecting => Readiness::default(),
            ConnState::Failed(e) => Readiness {
                readable: true,
                writable: true,
                hangup: true,
                error: Some(e),
                ..Readiness::default()
            },
            ConnState::Connected => {
                let (readable, writable, hangup, error) = poll_now(fd);
                let error = if error {
                    // Reading the error clears it in the OS: the stream keeps it.
                    self.stream
                        .take_error()
                        .ok()
                        .flatten()
                        .map(|e| self.fail(net_error(&e)))
                } else {
                    None
                };
                let sndbuf = SockRef::from(&self.stream).send_buffer_size().unwrap_or(0) as u64;
                Readiness {
                    readable: readable || hangup || error.is_some(),
                    writable: writable || error.is_some(),
                    hangup,
                    error,
                    recv_bytes: ioctl_int(fd, libc::FIONREAD),
                    send_room: if writable {
                        sndbuf.saturating_sub(ioctl_int(fd, libc::TIOCOUTQ)).max(1)
                    } else {
                        0
                    },
                }
            }
        }
    }

    fn connecting(&self) -> Result<bool, NetError> {
        match self.state() {
            ConnState::Connecting => Ok(true),
            ConnState::Connected => Ok(false),
            ConnState::Failed(e) => Err(e),
        }
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        self.stream.local_addr().ok()
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        self.stream.peer_addr().ok()
    }

    fn token(&self) -> WaitToken {
        self.stream.as_raw_fd() as WaitToken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::{Duration, Instant};

    fn loopback() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    /// Polls `f` every millisecond for up to ten seconds until it holds.
    fn eventually(what: &str, mut f: impl FnMut() -> bool) {
        let end = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < end, "{what}: not within 10 s");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// OS errors without an `ErrorKind` of their own still reach the guest as the errno that
    /// says what happened (unreachable, table full, network down), never as a generic error.
    #[test]
    fn os_errors_map_to_their_net_error() {
        for (raw, expected) in [
            (libc::EINPROGRESS, NetError::WouldBlock),
            (libc::EALREADY, NetError::WouldBlock),
            (libc::ENETUNREACH, NetError::Unreachable),
            (libc::EHOSTUNREACH, NetError::Unreachable),
            (libc::EAFNOSUPPORT, NetError::AddrFamilyNotSupported),
            (libc::EMFILE, NetError::NoBuffers),
            (libc::ENFILE, NetError::NoBuffers),
            (libc::ENOBUFS, NetError::NoBuffers),
            (libc::ENOMEM, NetError::NoBuffers),
            (libc::ENETDOWN, NetError::NetworkDown),
            (libc::ECONNREFUSED, NetError::ConnectionRefused),
            (libc::ECONNRESET, NetError::ConnectionReset),
            (libc::ECONNABORTED, NetError::ConnectionAborted),
            (libc::ENOTCONN, NetError::NotConnected),
            (libc::EPIPE, NetError::BrokenPipe),
            (libc::ETIMEDOUT, NetError::TimedOut),
            (libc::EADDRINUSE, NetError::AddrInUse),
            (libc::EADDRNOTAVAIL, NetError::AddrNotAvailable),
            (libc::EAGAIN, NetError::WouldBlock),
            (libc::EINVAL, NetError::InvalidInput),
            (libc::EPERM, NetError::Other),
        ] {
            let e = io::Error::from_raw_os_error(raw);
            assert_eq!(net_error(&e), expected, "{e}");
        }
        assert_eq!(net_error(&io::Error::other("no OS error")), NetError::Other);
    }

    #[test]
    fn listening_where_the_host_cannot_is_refused() {
        let net = StdNetwork::default();
        let first = net.listen(loopback(), 4).unwrap();
        assert_eq!(
            net.listen(first.local_addr(), 4).err(),
            Some(NetError::AddrInUse)
        );
        // 192.0.2.1 (TEST-NET-1) is no address of this host.
        assert_eq!(
            net.listen("192.0.2.1:0".parse().unwrap(), 4).err(),
            Some(NetError::AddrNotAvailable)
        );
        assert_eq!(
            net.connect("127.0.0.1:0".parse().unwrap()).err(),
            Some(NetError::InvalidInput)
        );
        // Failed opens gave their slots back: only the listener is counted.
        assert_eq!(net.info().sockets, 1);
    }

    /// A connect to a port nobody listens on fails, and every later operation on the stream
    /// reports that failure (and readiness says so, so a parked guest wakes to it).
    #[test]
    fn a_refused_connect_is_reported_by_every_operation() {
        let net = StdNetwork::default();
        // A port that was free a moment ago: nobody listens there now.
        let port = net.listen(loopback(), 1).unwrap().local_addr();
        let stream = net.connect(port).unwrap();
        eventually("the refusal", || stream.connecting() != Ok(true));
        assert_eq!(stream.connecting(), Err(NetError::ConnectionRefused));
        assert_eq!(
            stream.recv(&mut [0; 4], false),
            Err(NetError::ConnectionRefused)
        );
        assert_eq!(stream.send(b"x"), Err(NetError::ConnectionRefused));
        assert_eq!(
            stream.shutdown(Shutdown::Both),
            Err(NetError::ConnectionRefused)
        );
        let r = stream.readiness();
        assert!(r.readable && r.writable && r.hangup, "{r:?}");
        assert_eq!(r.error, Some(NetError::ConnectionRefused));
        assert_eq!(net.info().counters.connected, 0);
    }

    #[test]
    fn shutdown_directions_and_what_the_peer_sees() {
        let net = StdNetwork::new(8);
        let listener = net.listen(loopback(), 4).unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr()).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        eventually("a pending connection", || listener.readiness().readable);
        let (conn, peer) = listener.accept().unwrap();
        assert_eq!(Some(peer), client.local_addr().ok());
        assert_eq!(conn.peer_addr(), Some(peer));
        assert_eq!(conn.local_addr(), Some(listener.local_addr()));
        assert_eq!(conn.connecting(), Ok(false));
        assert_eq!(listener.accept().err(), Some(NetError::WouldBlock));
        // Shutting down reading: the stream reads its end at once.
        conn.shutdown(Shutdown::Read).unwrap();
        assert_eq!(conn.recv(&mut [0; 4], false), Ok(0));
        // Writing still works until it is shut down too; then the peer reads the end.
        assert_eq!(conn.send(b"bye"), Ok(3));
        conn.shutdown(Shutdown::Both).unwrap();
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut client, &mut got).unwrap();
        assert_eq!(got, b"bye");
        assert_eq!(conn.send(b"more"), Err(NetError::BrokenPipe));
        // The peer writes into a socket closed for reading; the counters saw one connection
        // accepted and three bytes sent.
        let _ = client.write_all(b"ignored");
        let info = net.info();
        assert_eq!(
            (info.kind, info.sockets, info.max_sockets),
            ("host sockets", 2, 8)
        );
        assert_eq!((info.counters.accepted, info.counters.bytes_sent), (1, 3));
    }

    #[test]
    fn waiting_honours_its_timeout_and_wakes_for_data() {
        let net = StdNetwork::default();
        let listener = net.listen(loopback(), 4).unwrap();
        let read = |token| Interest {
            token,
            read: true,
            write: false,
        };
        // Nothing pending: the wait lasts about its timeout (rounded up to a millisecond).
        let started = Instant::now();
        net.wait(&[read(listener.token())], 20_000_000);
        assert!(started.elapsed() >= Duration::from_millis(15));
        // Without interests it just sleeps.
        let started = Instant::now();
        net.wait(&[], 1);
        assert!(started.elapsed() < Duration::from_secs(5));
        // A pending connection ends a long wait early.
        let _client = std::net::TcpStream::connect(listener.local_addr()).unwrap();
        let started = Instant::now();
        net.wait(&[read(listener.token())], 60_000_000_000);
        assert!(started.elapsed() < Duration::from_secs(30));
        assert!(listener.readiness().readable);
    }
}
