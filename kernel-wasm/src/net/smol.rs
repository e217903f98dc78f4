//! The kernel's [`Network`]: smoltcp (Ethernet, ARP, IPv4, TCP) over any
//! [`smoltcp::phy::Device`] — the kernel's virtio-net driver, or the in-memory wire of the host
//! tests below. It lives here rather than in `qemu/` so its logic is tested on the host: two
//! stacks connected by a simulated cable exchange real TCP segments.
//!
//! Nothing runs in the background (the kernel has no interrupts wired): the stack moves on when
//! it is polled — by every socket operation, by [`Network::wait`] (which polls until something
//! changes or the time is up), and by [`Network::poll`] while the kernel sleeps for a guest.
//!
//! Bounds (`SmolConfig`): at most `max_sockets` TCP sockets (listening slots included), each
//! with a receive and a send buffer of fixed size; a listener keeps at most `max_backlog`
//! sockets listening for connections the guest has not accepted. A socket the guest closes stays
//! in the stack to finish its close (FIN, then TIME-WAIT) for at most [`LINGER_NS`], then is
//! aborted: closed sockets never pile up.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::Cell;
use core::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::phy::Device;
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Cidr};
use spin::Mutex;

use crate::platform::Clock;

use super::{
    Interest, Listener, NetCounters, NetError, NetInfo, Network, Readiness, Shutdown, Stream,
    WaitToken,
};

/// How long a closed socket may take to finish its close before it is aborted.
pub const LINGER_NS: u64 = 10_000_000_000;
/// The first port of the range outgoing connections use (IANA's dynamic range).
const EPHEMERAL_FIRST: u16 = 49152;

/// Frame counters of a device, for `net-info` (sent, received, dropped).
pub trait FrameStats {
    fn frames(&self) -> (u64, u64, u64) {
        (0, 0, 0)
    }
}

/// How the stack is set up (QEMU user networking's fixed addresses by default).
#[derive(Debug, Clone, Copy)]
pub struct SmolConfig {
    pub mac: [u8; 6],
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    /// TCP sockets at once, listening slots included.
    pub max_sockets: usize,
    /// Sockets a listener keeps listening (connections not yet accepted).
    pub max_backlog: usize,
    /// Bytes of each socket's receive and send buffer.
    pub rx_buffer: usize,
    pub tx_buffer: usize,
    /// Seeds TCP sequence numbers and the first ephemeral port.
    pub seed: u64,
}

impl Default for SmolConfig {
    /// QEMU's user networking (`-netdev user`): the guest is 10.0.2.15/24, the host 10.0.2.2.
    fn default() -> Self {
        SmolConfig {
            mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
            address: Ipv4Addr::new(10, 0, 2, 15),
            prefix_len: 24,
            gateway: Some(Ipv4Addr::new(10, 0, 2, 2)),
            max_sockets: 64,
            max_backlog: 4,
            rx_buffer: 16 * 1024,
            tx_buffer: 16 * 1024,
            seed: 0,
        }
    }
}

struct Inner<D: Device + FrameStats> {
    device: D,
    iface: Interface,
    sockets: SocketSet<'static>,
    config: SmolConfig,
    clock: Arc<dyn Clock>,
    /// Sockets in use (streams, listening slots, closing sockets).
    open: usize,
    /// Sockets the guest closed that are finishing their close, with their deadline.
    closing: Vec<(SocketHandle, u64)>,
    /// Sockets whose handshake completed (seen at any poll): a later `Closed` is a reset, not a
    /// refused connect, even if the guest never looked in between.
    handshaken: Vec<SocketHandle>,
    next_port: u16,
    counters: NetCounters,
}

impl<D: Device + FrameStats> Inner<D> {
    fn now(&self) -> Instant {
        Instant::from_micros(i64::try_from(self.clock.monotonic_ns() / 1000).unwrap_or(i64::MAX))
    }

    /// Processes what arrived and what is due; whether a socket may have changed.
    fn poll(&mut self) -> bool {
        let now = self.now();
        let changed = self.iface.poll(now, &mut self.device, &mut self.sockets)
            == PollResult::SocketStateChanged;
        if changed {
            for (handle, socket) in self.sockets.iter() {
                let smoltcp::socket::Socket::Tcp(socket) = socket;
                if !matches!(
                    socket.state(),
                    tcp::State::Closed
                        | tcp::State::Listen
                        | tcp::State::SynSent
                        | tcp::State::SynReceived
                ) && !self.handshaken.contains(&handle)
                {
                    self.handshaken.push(handle);
                }
            }
        }
        self.reap();
        changed
    }

    /// Removes closing sockets that are done, or past their linger time.
    fn reap(&mut self) {
        if self.closing.is_empty() {
            return;
        }
        let now_ns = self.clock.monotonic_ns();
        let mut i = 0;
        while i < self.closing.len() {
            let (handle, deadline) = self.closing[i];
            let socket = self.sockets.get_mut::<tcp::Socket>(handle);
            let done = matches!(socket.state(), tcp::State::Closed | tcp::State::TimeWait);
            if done || now_ns >= deadline {
                socket.abort();
                self.sockets.remove(handle);
                self.handshaken.retain(|&h| h != handle);
                self.closing.swap_remove(i);
                self.open = self.open.saturating_sub(1);
            } else {
                i += 1;
            }
        }
    }

    /// A new TCP socket with the configured buffers, counted; `NoBuffers` when the table is
    /// full.
    fn new_socket(&mut self) -> Result<SocketHandle, NetError> {
        if self.open >= self.config.max_sockets {
            // Sockets finishing their close give their place first.
            self.reap();
            if self.open >= self.config.max_sockets {
                return Err(NetError::NoBuffers);
            }
        }
        let rx = tcp::SocketBuffer::new(alloc::vec![0u8; self.config.rx_buffer]);
        let tx = tcp::SocketBuffer::new(alloc::vec![0u8; self.config.tx_buffer]);
        let mut socket = tcp::Socket::new(rx, tx);
        // Request/response traffic (and the echo benchmark) wants segments out at once.
        socket.set_nagle_enabled(false);
        self.open += 1;
        Ok(self.sockets.add(socket))
    }

    /// Gives a socket back: a connection closes gracefully (FIN after its queued data) and is
    /// reaped later; anything else is dropped at once.
    fn release(&mut self, handle: SocketHandle, graceful: bool) {
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        if graceful && socket.is_active() {
            socket.close();
            let deadline = self.clock.monotonic_ns().saturating_add(LINGER_NS);
            self.closing.push((handle, deadline));
        } else {
            let active = socket.is_active();
            socket.abort();
            if active {
                // The reset goes out before the socket is gone.
                self.poll();
            }
            self.sockets.remove(handle);
            self.handshaken.retain(|&h| h != handle);
            self.open = self.open.saturating_sub(1);
        }
        self.poll();
    }

    fn socket(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(handle)
    }

    fn ephemeral_port(&mut self) -> u16 {
        let port = self.next_port;
        self.next_port = if port == u16::MAX {
            EPHEMERAL_FIRST
        } else {
            port + 1
        };
        port
    }
}

/// smoltcp over device `D`. Cloning shares the stack.
pub struct SmolNetwork<D: Device + FrameStats> {
    inner: Arc<Mutex<Inner<D>>>,
}

impl<D: Device + FrameStats> Clone for SmolNetwork<D> {
    fn clone(&self) -> Self {
        SmolNetwork {
            inner: self.inner.clone(),
        }
    }
}

fn to_socket_addr(ep: IpEndpoint) -> SocketAddr {
    match ep.addr {
        IpAddress::Ipv4(a) => SocketAddr::V4(SocketAddrV4::new(a, ep.port)),
    }
}

fn to_endpoint(addr: SocketAddr) -> Result<IpEndpoint, NetError> {
    match addr.ip() {
        IpAddr::V4(a) => Ok(IpEndpoint::new(IpAddress::Ipv4(a), addr.port())),
        IpAddr::V6(_) => Err(NetError::AddrFamilyNotSupported),
    }
}

impl<D: Device + FrameStats + 'static> SmolNetwork<D> {
    pub fn new(mut device: D, config: SmolConfig, clock: Arc<dyn Clock>) -> Self {
        let mut iface_config = Config::new(HardwareAddress::Ethernet(EthernetAddress(config.mac)));
        iface_config.random_seed = config.seed;
        let now = Instant::from_micros(i64::try_from(clock.monotonic_ns() / 1000).unwrap_or(0));
        let mut iface = Interface::new(iface_config, &mut device, now);
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::Ipv4(Ipv4Cidr::new(
                config.address,
                config.prefix_len,
            )));
        });
        if let Some(gw) = config.gateway {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }
        let span = u64::from(u16::MAX - EPHEMERAL_FIRST);
        let next_port = EPHEMERAL_FIRST + (config.seed % span) as u16;
        SmolNetwork {
            inner: Arc::new(Mutex::new(Inner {
                device,
                iface,
                sockets: SocketSet::new(Vec::new()),
                config,
                clock,
                open: 0,
                closing: Vec::new(),
                handshaken: Vec::new(),
                next_port,
                counters: NetCounters::default(),
            })),
        }
    }
}

impl<D: Device + FrameStats + 'static> Network for SmolNetwork<D> {
    fn listen(&self, addr: SocketAddr, backlog: usize) -> Result<Box<dyn Listener>, NetError> {
        let ep = to_endpoint(addr)?;
        if addr.port() == 0 {
            // smoltcp cannot pick a listening port; the shell always names one.
            return Err(NetError::InvalidInput);
        }
        let mut inner = self.inner.lock();
        let local = IpAddress::Ipv4(inner.config.address);
        if !(ep.addr.is_unspecified() || ep.addr == local) {
            return Err(NetError::AddrNotAvailable);
        }
        let slots = backlog.clamp(1, inner.config.max_backlog.max(1));
        let mut slots = Vec::with_capacity(slots);
        // The first slot must exist; more are added as the table allows.
        slots.push(listen_slot(&mut inner, addr.port())?);
        while slots.len() < slots.capacity() {
            match listen_slot(&mut inner, addr.port()) {
                Ok(h) => slots.push(h),
                Err(_) => break,
            }
        }
        let local = SocketAddr::new(IpAddr::V4(inner.config.address), addr.port());
        let want = slots.capacity();
        drop(inner);
        Ok(Box::new(SmolListener {
            inner: self.inner.clone(),
            port: addr.port(),
            local,
            slots: Mutex::new(slots),
            want,
        }))
    }

    fn connect(&self, addr: SocketAddr) -> Result<Box<dyn Stream>, NetError> {
        let ep = to_endpoint(addr)?;
        if addr.port() == 0 || ep.addr.is_unspecified() {
            return Err(NetError::InvalidInput);
        }
        let mut inner = self.inner.lock();
        let handle = inner.new_socket()?;
        let port = inner.ephemeral_port();
        let Inner { iface, sockets, .. } = &mut *inner;
        let result = sockets
            .get_mut::<tcp::Socket>(handle)
            .connect(iface.context(), ep, port);
        if result.is_err() {
            inner.release(handle, false);
            return Err(NetError::Unreachable);
        }
        inner.poll();
        drop(inner);
        Ok(Box::new(SmolStream::new(self.inner.clone(), handle, false)))
    }

    fn wait(&self, _interests: &[Interest], timeout_ns: u64) {
        let mut inner = self.inner.lock();
        let end = inner.clock.monotonic_ns().saturating_add(timeout_ns);
        loop {
            if inner.poll() || inner.clock.monotonic_ns() >= end {
                return;
            }
            core::hint::spin_loop();
        }
    }

    fn poll(&self) {
        self.inner.lock().poll();
    }

    fn default_listen_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.inner.lock().config.address), port)
    }

    fn info(&self) -> NetInfo {
        let inner = self.inner.lock();
        let mut counters = inner.counters;
        (
            counters.frames_sent,
            counters.frames_received,
            counters.frames_dropped,
        ) = inner.device.frames();
        NetInfo {
            kind: "smoltcp",
            address: Some(alloc::format!(
                "{}/{}",
                inner.config.address,
                inner.config.prefix_len
            )),
            gateway: inner.config.gateway.map(|g| alloc::format!("{g}")),
            sockets: inner.open,
            max_sockets: inner.config.max_sockets,
            counters,
        }
    }
}

fn listen_slot<D: Device + FrameStats>(
    inner: &mut Inner<D>,
    port: u16,
) -> Result<SocketHandle, NetError> {
    let handle = inner.new_socket()?;
    if inner.socket(handle).listen(port).is_err() {
        inner.release(handle, false);
        return Err(NetError::AddrInUse);
    }
    Ok(handle)
}

struct SmolListener<D: Device + FrameStats> {
    inner: Arc<Mutex<Inner<D>>>,
    port: u16,
    local: SocketAddr,
    /// Sockets listening on the port (each takes one connection). Locked after `inner`.
    slots: Mutex<Vec<SocketHandle>>,
    /// How many slots the listener keeps when the table has room.
    want: usize,
}

/// Whether a listening slot holds a connection the guest can take.
fn has_connection(socket: &tcp::Socket<'_>) -> bool {
    !matches!(
        socket.state(),
        tcp::State::Listen | tcp::State::SynReceived | tcp::State::Closed
    )
}

impl<D: Device + FrameStats> SmolListener<D> {
    /// Puts reset slots back to listening and tops the slots up while the table has room.
    fn tend(&self, inner: &mut Inner<D>, slots: &mut Vec<SocketHandle>) {
        for &h in slots.iter() {
            let socket = inner.socket(h);
            if socket.state() == tcp::State::Closed {
                let _ = socket.listen(self.port);
            }
        }
        while slots.len() < self.want {
            match listen_slot(inner, self.port) {
                Ok(h) => slots.push(h),
                Err(_) => break,
            }
        }
    }
}

impl<D: Device + FrameStats + 'static> Listener for SmolListener<D> {
    fn accept(&self) -> Result<(Box<dyn Stream>, SocketAddr), NetError> {
        let mut inner = self.inner.lock();
        inner.poll();
        let mut slots = self.slots.lock();
        self.tend(&mut inner, &mut slots);
        let Some(i) = slots
            .iter()
            .position(|&h| has_connection(inner.sockets.get::<tcp::Socket>(h)))
        else {
            if slots.is_empty() {
                return Err(NetError::NoBuffers);
            }
            return Err(NetError::WouldBlock);
        };
        let handle = slots.swap_remove(i);
        self.tend(&mut inner, &mut slots);
        let peer = inner
            .sockets
            .get::<tcp::Socket>(handle)
            .remote_endpoint()
            .map_or(
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
                to_socket_addr,
            );
        inner.counters.accepted += 1;
        drop(slots);
        drop(inner);
        Ok((
            Box::new(SmolStream::new(self.inner.clone(), handle, true)),
            peer,
        ))
    }

    fn local_addr(&self) -> SocketAddr {
        self.local
    }

    fn readiness(&self) -> Readiness {
        let mut inner = self.inner.lock();
        inner.poll();
        let mut slots = self.slots.lock();
        self.tend(&mut inner, &mut slots);
        let pending = slots
            .iter()
            .filter(|&&h| has_connection(inner.sockets.get::<tcp::Socket>(h)))
            .count() as u64;
        Readiness {
            readable: pending > 0,
            recv_bytes: pending,
            ..Readiness::default()
        }
    }

    fn token(&self) -> WaitToken {
        // The stack's wait polls every socket: tokens only tell sockets apart in messages.
        u64::from(self.port)
    }
}

impl<D: Device + FrameStats> Drop for SmolListener<D> {
    fn drop(&mut self) {
        let mut inner = self.inner.lock();
        for &h in self.slots.lock().iter() {
            // A connection that arrived but was never accepted is reset, not kept.
            inner.release(h, false);
        }
    }
}

struct SmolStream<D: Device + FrameStats> {
    inner: Arc<Mutex<Inner<D>>>,
    handle: SocketHandle,
    /// The handshake completed once (a later `Closed` is a reset, not a refusal).
    established: Cell<bool>,
    /// `shutdown` closed our reading (receives return the end of the stream) or writing.
    read_shut: Cell<bool>,
    write_shut: Cell<bool>,
    /// Counted in `NetCounters::connected` (or accepted, which the listener counts).
    counted: Cell<bool>,
}

impl<D: Device + FrameStats> SmolStream<D> {
    fn new(inner: Arc<Mutex<Inner<D>>>, handle: SocketHandle, established: bool) -> Self {
        SmolStream {
            inner,
            handle,
            established: Cell::new(established),
            read_shut: Cell::new(false),
            write_shut: Cell::new(false),
            counted: Cell::new(established),
        }
    }

    /// Polls the stack and looks at the socket's state: `Ok(true)` while connecting, the error
    /// of a failed connection.
    fn settle(&self, inner: &mut Inner<D>) -> Result<bool, NetError> {
        inner.poll();
        if inner.handshaken.contains(&self.handle) {
            self.established.set(true);
        }
        let state = inner.socket(self.handle).state();
        match state {
            tcp::State::SynSent | tcp::State::SynReceived => Ok(true),
            tcp::State::Closed if !self.established.get() => Err(NetError::ConnectionRefused),
            // Closed without our having closed writing: the peer reset the connection (or it
            // timed out).
            tcp::State::Closed if !self.write_shut.get() => Err(NetError::ConnectionReset),
            _ => {
                self.established.set(true);
                if !self.counted.get() {
                    self.counted.set(true);
                    inner.counters.connected += 1;
                }
                Ok(false)
            }
        }
    }
}

impl<D: Device + FrameStats> Stream for SmolStream<D> {
    fn recv(&self, buf: &mut [u8], peek: bool) -> Result<usize, NetError> {
        let mut inner = self.inner.lock();
        if self.read_shut.get() {
            return Ok(0);
        }
        let connecting = self.settle(&mut inner);
        let socket = inner.socket(self.handle);
        if socket.can_recv() {
            let n = if peek {
                socket.peek_slice(buf)
            } else {
                socket.recv_slice(buf)
            }
            .map_err(|_| NetError::Other)?;
            if !peek {
                inner.counters.bytes_received += n as u64;
                // The window opened: tell the peer now.
                inner.poll();
            }
            return Ok(n);
        }
        match connecting {
            Ok(true) => Err(NetError::WouldBlock),
            Err(e) => Err(e),
            Ok(false) if !socket.may_recv() || buf.is_empty() => Ok(0),
            Ok(false) => Err(NetError::WouldBlock),
        }
    }

    fn send(&self, data: &[u8]) -> Result<usize, NetError> {
        let mut inner = self.inner.lock();
        if self.write_shut.get() {
            return Err(NetError::BrokenPipe);
        }
        if self.settle(&mut inner)? {
            return Err(NetError::WouldBlock);
        }
        let socket = inner.socket(self.handle);
        if !socket.may_send() {
            return Err(NetError::BrokenPipe);
        }
        if !socket.can_send() || data.is_empty() {
            return Err(NetError::WouldBlock);
        }
        let n = socket.send_slice(data).map_err(|_| NetError::BrokenPipe)?;
        if n == 0 {
            return Err(NetError::WouldBlock);
        }
        inner.counters.bytes_sent += n as u64;
        // Out on the wire now rather than at the next poll.
        inner.poll();
        Ok(n)
    }

    fn shutdown(&self, how: Shutdown) -> Result<(), NetError> {
        let mut inner = self.inner.lock();
        if self.settle(&mut inner)? {
            return Err(NetError::NotConnected);
        }
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.read_shut.set(true);
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.write_shut.set(true);
            inner.socket(self.handle).close();
            inner.poll();
        }
        Ok(())
    }

    fn readiness(&self) -> Readiness {
        let mut inner = self.inner.lock();
        let state = self.settle(&mut inner);
        let socket = inner.socket(self.handle);
        match state {
            Ok(true) => Readiness::default(),
            Err(e) => Readiness {
                readable: true,
                writable: true,
                hangup: true,
                error: Some(e),
                ..Readiness::default()
            },
            Ok(false) => {
                let eof = !socket.may_recv() || self.read_shut.get();
                Readiness {
                    readable: socket.can_recv() || eof,
                    writable: socket.can_send() || !socket.may_send(),
                    hangup: eof,
                    error: None,
                    recv_bytes: socket.recv_queue() as u64,
                    send_room: (socket.send_capacity() - socket.send_queue()) as u64,
                }
            }
        }
    }

    fn connecting(&self) -> Result<bool, NetError> {
        let mut inner = self.inner.lock();
        self.settle(&mut inner)
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        let mut inner = self.inner.lock();
        inner
            .socket(self.handle)
            .local_endpoint()
            .map(to_socket_addr)
    }

    fn peer_addr(&self) -> Option<SocketAddr> {
        let mut inner = self.inner.lock();
        inner
            .socket(self.handle)
            .remote_endpoint()
            .map(to_socket_addr)
    }

    fn token(&self) -> WaitToken {
        // The stack's wait polls every socket: tokens are not needed to wait.
        0
    }
}

impl<D: Device + FrameStats> Drop for SmolStream<D> {
    fn drop(&mut self) {
        self.inner.lock().release(self.handle, true);
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    //! Two stacks joined by an in-memory cable exchange real Ethernet frames.

    use super::*;
    use alloc::collections::VecDeque;
    use smoltcp::phy::{DeviceCapabilities, Medium, RxToken, TxToken};

    type Queue = Arc<Mutex<VecDeque<Vec<u8>>>>;

    /// One end of the cable: frames sent go to the other end's queue.
    struct Wire {
        inbox: Queue,
        outbox: Queue,
    }

    struct WireRx(Vec<u8>);
    struct WireTx<'a>(&'a Queue);

    impl RxToken for WireRx {
        fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
            f(&self.0)
        }
    }

    impl TxToken for WireTx<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            let mut frame = alloc::vec![0u8; len];
            let r = f(&mut frame);
            self.0.lock().push_back(frame);
            r
        }
    }

    impl FrameStats for Wire {}

    impl Device for Wire {
        type RxToken<'a> = WireRx;
        type TxToken<'a> = WireTx<'a>;
        fn receive(&mut self, _: Instant) -> Option<(WireRx, WireTx<'_>)> {
            let frame = self.inbox.lock().pop_front()?;
            Some((WireRx(frame), WireTx(&self.outbox)))
        }
        fn transmit(&mut self, _: Instant) -> Option<WireTx<'_>> {
            Some(WireTx(&self.outbox))
        }
        fn capabilities(&self) -> DeviceCapabilities {
            let mut caps = DeviceCapabilities::default();
            caps.medium = Medium::Ethernet;
            caps.max_transmission_unit = 1514;
            caps
        }
    }

    fn pair(max_sockets: usize) -> (SmolNetwork<Wire>, SmolNetwork<Wire>) {
        let a_to_b: Queue = Arc::default();
        let b_to_a: Queue = Arc::default();
        let clock: Arc<dyn Clock> = Arc::new(crate::hosted::SystemClock::default());
        let guest = SmolConfig {
            max_sockets,
            seed: 1,
            ..SmolConfig::default()
        };
        let host = SmolConfig {
            mac: [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02],
            address: Ipv4Addr::new(10, 0, 2, 2),
            gateway: None,
            seed: 2,
            ..guest
        };
        let a = SmolNetwork::new(
            Wire {
                inbox: b_to_a.clone(),
                outbox: a_to_b.clone(),
            },
            guest,
            clock.clone(),
        );
        let b = SmolNetwork::new(
            Wire {
                inbox: a_to_b,
                outbox: b_to_a,
            },
            host,
            clock,
        );
        (a, b)
    }

    /// Polls both stacks until `done` holds (at most a few thousand rounds).
    fn until(a: &SmolNetwork<Wire>, b: &SmolNetwork<Wire>, mut done: impl FnMut() -> bool) {
        for _ in 0..5000 {
            a.poll();
            b.poll();
            if done() {
                return;
            }
        }
        panic!("the stacks did not get there");
    }

    fn sa(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn connect_accept_echo_and_close() {
        let (guest, host) = pair(16);
        let listener = host.listen(sa("0.0.0.0:80"), 2).unwrap();
        assert_eq!(listener.local_addr(), sa("10.0.2.2:80"));
        assert_eq!(listener.accept().err(), Some(NetError::WouldBlock));
        let client = guest.connect(sa("10.0.2.2:80")).unwrap();
        assert_eq!(client.send(b"x"), Err(NetError::WouldBlock));
        until(&guest, &host, || client.connecting() == Ok(false));
        until(&guest, &host, || listener.readiness().readable);
        let (server, peer) = listener.accept().unwrap();
        assert_eq!(peer.ip(), sa("10.0.2.15:1").ip());
        assert_eq!(client.peer_addr(), Some(sa("10.0.2.2:80")));
        assert_eq!(client.send(b"ping"), Ok(4));
        let mut buf = [0u8; 16];
        until(&guest, &host, || server.readiness().readable);
        assert_eq!(server.recv(&mut buf, true), Ok(4));
        assert_eq!(server.recv(&mut buf, false), Ok(4));
        assert_eq!(&buf[..4], b"ping");
        assert_eq!(server.recv(&mut buf, false), Err(NetError::WouldBlock));
        assert_eq!(server.send(b"pong"), Ok(4));
        until(&guest, &host, || client.readiness().recv_bytes == 4);
        assert_eq!(client.recv(&mut buf, false), Ok(4));
        assert_eq!(&buf[..4], b"pong");
        // The client closes: the server reads the end of the stream.
        drop(client);
        until(&guest, &host, || server.readiness().hangup);
        assert_eq!(server.recv(&mut buf, false), Ok(0));
        let info = guest.info();
        assert_eq!(info.counters.bytes_sent, 4);
        assert_eq!(info.counters.connected, 1);
        assert_eq!(host.info().counters.accepted, 1);
        drop(server);
        drop(listener);
        // Every socket is gone once the closes finish.
        until(&guest, &host, || {
            guest.info().sockets == 0 && host.info().sockets == 0
        });
    }

    #[test]
    fn refused_unsupported_and_full() {
        let (guest, host) = pair(3);
        let nobody = guest.connect(sa("10.0.2.2:81")).unwrap();
        until(&guest, &host, || nobody.connecting() != Ok(true));
        assert_eq!(nobody.connecting(), Err(NetError::ConnectionRefused));
        assert_eq!(
            nobody.recv(&mut [0u8; 4], false),
            Err(NetError::ConnectionRefused)
        );
        drop(nobody);
        assert_eq!(
            guest.connect(sa("[::1]:80")).err(),
            Some(NetError::AddrFamilyNotSupported)
        );
        assert_eq!(
            guest.connect(sa("10.0.2.2:0")).err(),
            Some(NetError::InvalidInput)
        );
        assert_eq!(
            guest.listen(sa("10.0.2.99:80"), 1).err(),
            Some(NetError::AddrNotAvailable)
        );
        // The kernel has no resolver: a name is refused, whatever it is.
        assert_eq!(
            guest.resolve("localhost", 80),
            Err(NetError::NameNotResolved)
        );
        // Three sockets at most: a listener with two slots and one connection fill the table.
        let _l = guest.listen(sa("0.0.0.0:80"), 2).unwrap();
        let _c = guest.connect(sa("10.0.2.2:82")).unwrap();
        assert_eq!(
            guest.connect(sa("10.0.2.2:83")).err(),
            Some(NetError::NoBuffers)
        );
    }

    #[test]
    fn a_big_send_is_taken_in_buffer_sized_pieces_and_arrives_whole() {
        let (guest, host) = pair(16);
        let listener = host.listen(sa("0.0.0.0:80"), 1).unwrap();
        let client = guest.connect(sa("10.0.2.2:80")).unwrap();
        until(&guest, &host, || listener.readiness().readable);
        let (server, _) = listener.accept().unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let mut sent = 0;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        for _ in 0..100_000 {
            if sent < data.len() {
                match client.send(&data[sent..]) {
                    Ok(n) => {
                        assert!(n <= SmolConfig::default().tx_buffer);
                        sent += n;
                    }
                    Err(NetError::WouldBlock) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            guest.poll();
            host.poll();
            while let Ok(n) = server.recv(&mut buf, false) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            if got.len() == data.len() {
                break;
            }
        }
        assert_eq!(got, data);
    }

    #[test]
    fn a_reset_is_reported_and_an_unaccepted_connection_is_dropped_with_its_listener() {
        let (guest, host) = pair(16);
        let listener = host.listen(sa("0.0.0.0:80"), 1).unwrap();
        let client = guest.connect(sa("10.0.2.2:80")).unwrap();
        until(&guest, &host, || listener.readiness().readable);
        // The listener goes away with the connection not accepted: the client sees a reset.
        drop(listener);
        until(&guest, &host, || client.readiness().error.is_some());
        assert_eq!(client.readiness().error, Some(NetError::ConnectionReset));
        assert_eq!(client.send(b"x"), Err(NetError::ConnectionReset));
        assert_eq!(host.info().sockets, 0);
    }
}
