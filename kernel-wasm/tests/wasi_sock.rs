//! WASI on sockets (`docs/net.md`): every `sock_*` function and the `fd_*` functions on a
//! preopened listener and an accepted connection, through the preview1 harness, with a std
//! client on 127.0.0.1: errno values, non-blocking `EAGAIN`, a blocking call that parks and
//! resumes, `poll_oneoff` readiness, rights from `net:send`/`net:recv`, and the time limit.

// The platform is single-threaded; `Arc` only hands the listener to the instance.
#![allow(clippy::arc_with_non_send_sync)]

mod wasi_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use kernel_wasm::hosted::net::StdNetwork;
use kernel_wasm::net::Network;
use kernel_wasm::wasi::SocketPreopen;
use kernel_wasm::{CapSet, Capability, Error, LimitKind};
use wasi_support::*;

const AGAIN: i32 = 6;
const NOTCONN: i32 = 53;
/// The listener is descriptor 4 (after `/sandbox`, 3).
const LISTENER: i64 = 4;
const NONBLOCK: i64 = 4;

fn listener() -> (SocketPreopen, SocketAddr) {
    let listener = StdNetwork::default()
        .listen("127.0.0.1:0".parse().unwrap(), 4)
        .unwrap();
    let addr = listener.local_addr();
    (SocketPreopen::new(Arc::from(listener)), addr)
}

fn with_listener(caps: CapSet) -> (W, SocketAddr) {
    let (socket, addr) = listener();
    let t = W::with(Setup {
        caps,
        sockets: vec![socket],
        ..Setup::default()
    });
    (t, addr)
}

/// `poll_oneoff` on one subscription `(tag, fd)` plus a relative monotonic clock of `ms`:
/// the events as (userdata, error, type, nbytes, flags).
fn poll(t: &mut W, tag: u8, fd: u32, ms: u64) -> Vec<(u64, u16, u8, u64, u16)> {
    for i in 0..96 {
        t.put(1024 + i, &[0]);
    }
    // Subscription 0: the descriptor.
    t.put64(1024, 7);
    t.put(1032, &[tag]);
    t.put32(1040, fd);
    // Subscription 1: the clock.
    t.put64(1072, 9);
    t.put(1080, &[0]);
    t.put32(1088, 1);
    t.put64(1096, ms * 1_000_000);
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 2, 8]), SUCCESS);
    (0..t.u32(8))
        .map(|i| {
            let e = 2048 + 32 * i;
            let flags = u16::from(t.u8(e + 24)) | (u16::from(t.u8(e + 25)) << 8);
            let error = u16::from(t.u8(e + 8)) | (u16::from(t.u8(e + 9)) << 8);
            (t.u64(e), error, t.u8(e + 10), t.u64(e + 16), flags)
        })
        .collect()
}

/// `sock_recv` into a 4096-byte buffer at 4096 with `flags`: errno and the bytes.
fn recv(t: &mut W, fd: u32, flags: i64) -> (i32, Vec<u8>) {
    t.put32(512, 4096);
    t.put32(516, 4096);
    let e = t.wasi("sock_recv", &[i64::from(fd), 512, 1, flags, 8, 12]);
    let n = if e == 0 { t.u32(8) } else { 0 };
    (e, t.bytes(4096, n))
}

fn send(t: &mut W, fd: u32, data: &[u8], flags: i64) -> (i32, u32) {
    t.put(4096, data);
    t.put32(512, 4096);
    t.put32(516, data.len() as u32);
    let e = t.wasi("sock_send", &[i64::from(fd), 512, 1, flags, 8]);
    (e, if e == 0 { t.u32(8) } else { 0 })
}

#[test]
fn sockets_answer_wasi_errnos_and_honour_nonblock() {
    let (mut t, addr) = with_listener(CapSet::wasi_default());
    // The listener: a socket stream with SOCK_ACCEPT, blocking.
    assert_eq!(t.wasi("fd_fdstat_get", &[LISTENER, 64]), SUCCESS);
    assert_eq!(t.u8(64), 6, "filetype SOCKET_STREAM");
    assert_eq!(t.u8(66), 0, "no flags");
    assert_ne!(t.u64(72) & (1 << 29), 0, "SOCK_ACCEPT");
    assert_eq!(t.wasi("fd_filestat_get", &[LISTENER, 64]), SUCCESS);
    assert_eq!(t.u8(80), 6);
    // Not a preopened directory: libc's preopen scan stops there (after /sandbox).
    assert_eq!(t.wasi("fd_prestat_get", &[LISTENER, 64]), BADF);
    assert_eq!(t.wasi("fd_seek", &[LISTENER, 0, 0, 64]), SPIPE);
    // Socket calls on other descriptors, and the wrong kind of socket.
    assert_eq!(t.wasi("sock_accept", &[3, 0, 128]), NOTSOCK);
    assert_eq!(t.wasi("sock_accept", &[40, 0, 128]), BADF);
    assert_eq!(recv(&mut t, LISTENER as u32, 0).0, NOTCONN);
    assert_eq!(send(&mut t, LISTENER as u32, b"x", 0).0, NOTCONN);
    assert_eq!(t.wasi("sock_shutdown", &[LISTENER, 3]), NOTCONN);
    // Only NONBLOCK can be set on a socket.
    assert_eq!(t.wasi("fd_fdstat_set_flags", &[LISTENER, 1]), INVAL);
    assert_eq!(
        t.wasi("fd_fdstat_set_flags", &[LISTENER, NONBLOCK]),
        SUCCESS
    );
    assert_eq!(t.wasi("fd_fdstat_get", &[LISTENER, 64]), SUCCESS);
    assert_eq!(t.u8(66), 4);
    // Non-blocking: nothing pending is EAGAIN, and poll reports only the clock.
    assert_eq!(t.wasi("sock_accept", &[LISTENER, 0, 128]), AGAIN);
    assert_eq!(poll(&mut t, 1, LISTENER as u32, 20), vec![(9, 0, 0, 0, 0)]);
    let mut client = TcpStream::connect(addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // A pending connection makes the listener readable.
    let events = poll(&mut t, 1, LISTENER as u32, 5_000);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0].0, events[0].2), (7, 1));
    assert_eq!(t.wasi("sock_accept", &[LISTENER, 64, 128]), INVAL);
    assert_eq!(t.wasi("sock_accept", &[LISTENER, NONBLOCK, 128]), SUCCESS);
    let conn = t.u32(128);
    assert_eq!(conn, 5);
    assert_eq!(t.wasi("fd_fdstat_get", &[5, 64]), SUCCESS);
    assert_eq!((t.u8(64), t.u8(66)), (6, 4), "a non-blocking socket stream");
    assert_eq!(t.wasi("sock_accept", &[5, 0, 128]), INVAL);
    // Nothing to read yet: EAGAIN; writable at once.
    assert_eq!(recv(&mut t, conn, 0).0, AGAIN);
    let events = poll(&mut t, 2, conn, 5_000);
    assert_eq!((events[0].0, events[0].2), (7, 2), "{events:?}");
    assert!(events[0].3 > 0, "room to send: {events:?}");
    // Data: readable with its length; PEEK leaves it, a plain receive takes it.
    client.write_all(b"hello").unwrap();
    let events = poll(&mut t, 1, conn, 5_000);
    assert_eq!((events[0].0, events[0].3), (7, 5), "{events:?}");
    assert_eq!(recv(&mut t, conn, 1), (0, b"hello".to_vec()));
    assert_eq!(recv(&mut t, conn, 0), (0, b"hello".to_vec()));
    assert_eq!(recv(&mut t, conn, 4).0, INVAL);
    assert_eq!(recv(&mut t, conn, 0).0, AGAIN);
    // Sending.
    assert_eq!(send(&mut t, conn, b"world", 0), (0, 5));
    assert_eq!(send(&mut t, conn, b"world", 1).0, INVAL);
    let mut got = [0u8; 5];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"world");
    assert_eq!(t.write(conn, b"via fd_write"), (0, 12));
    let mut got = [0u8; 12];
    client.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"via fd_write");
    client.write_all(b"via fd_read").unwrap();
    poll(&mut t, 1, conn, 5_000);
    assert_eq!(t.read(conn, 100), Ok(b"via fd_read".to_vec()));
    assert_eq!(t.wasi("fd_seek", &[i64::from(conn), 0, 0, 64]), SPIPE);
    // Shutting down writing: the client reads the end of the stream.
    assert_eq!(t.wasi("sock_shutdown", &[i64::from(conn), 0]), INVAL);
    assert_eq!(t.wasi("sock_shutdown", &[i64::from(conn), 4]), INVAL);
    assert_eq!(t.wasi("sock_shutdown", &[i64::from(conn), 2]), SUCCESS);
    assert_eq!(client.read(&mut got).unwrap(), 0);
    // The client closes: readable with HANGUP, and the end of the stream reads 0 bytes.
    drop(client);
    let events = poll(&mut t, 1, conn, 5_000);
    assert_eq!(events[0].4 & 1, 1, "HANGUP: {events:?}");
    assert_eq!(recv(&mut t, conn, 0), (0, Vec::new()));
    assert_eq!(t.wasi("fd_close", &[i64::from(conn)]), SUCCESS);
    assert_eq!(t.wasi("fd_close", &[i64::from(conn)]), BADF);
}

#[test]
fn without_net_send_and_recv_a_socket_cannot_move_data() {
    let caps = CapSet::wasi_default()
        .without(Capability::NetSend)
        .without(Capability::NetRecv);
    let (mut t, addr) = with_listener(caps);
    let mut client = TcpStream::connect(addr).unwrap();
    // Accepting needs no capability: the embedder handed the listener over.
    assert_eq!(t.wasi("sock_accept", &[LISTENER, 0, 128]), SUCCESS);
    let conn = t.u32(128);
    client.write_all(b"secret").unwrap();
    assert_eq!(recv(&mut t, conn, 0).0, NOTCAPABLE);
    assert_eq!(t.read(conn, 10), Err(NOTCAPABLE));
    assert_eq!(send(&mut t, conn, b"x", 0).0, NOTCAPABLE);
    assert_eq!(t.write(conn, b"x").0, NOTCAPABLE);
    assert_eq!(t.wasi("fd_fdstat_get", &[i64::from(conn), 64]), SUCCESS);
    let rights = t.u64(72);
    assert_eq!(rights & ((1 << 1) | (1 << 6)), 0, "no FD_READ or FD_WRITE");
}

#[test]
fn a_blocking_accept_and_receive_park_until_the_peer_acts() {
    let (mut t, addr) = with_listener(CapSet::wasi_default());
    let peer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let mut s = TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        s.write_all(b"late").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        s
    });
    // Both calls wait (the guest parks; `run_to_end` waits for the socket and resumes it).
    assert_eq!(t.wasi("sock_accept", &[LISTENER, 0, 128]), SUCCESS);
    let conn = t.u32(128);
    t.put32(512, 4096);
    t.put32(516, 4);
    // RECV_WAITALL: all four bytes, however they arrive.
    assert_eq!(
        t.wasi("sock_recv", &[i64::from(conn), 512, 1, 2, 8, 12]),
        SUCCESS
    );
    assert_eq!((t.u32(8), t.bytes(4096, 4)), (4, b"late".to_vec()));
    drop(peer.join().unwrap());
    // The peer is gone: a blocking receive returns the end of the stream.
    assert_eq!(recv(&mut t, conn, 0), (0, Vec::new()));
}

#[test]
fn a_blocked_guest_stops_at_its_time_limit() {
    let (socket, addr) = listener();
    let mut t = W::with(Setup {
        sockets: vec![socket],
        time_limit_ms: Some(300),
        ..Setup::default()
    });
    // A peer that connects and sends nothing.
    let _idle = TcpStream::connect(addr).unwrap();
    assert_eq!(t.wasi("sock_accept", &[LISTENER, 0, 128]), SUCCESS);
    let conn = t.u32(128);
    let started = std::time::Instant::now();
    t.put32(512, 4096);
    t.put32(516, 16);
    match t.outcome("sock_recv", &[i64::from(conn), 512, 1, 0, 8, 12]) {
        Err(Error::LimitExceeded {
            kind: LimitKind::Time,
            limit: 300,
            detail,
        }) => assert!(detail.contains("waited on a socket"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

const CONNRESET: i32 = 15;
const PIPE: i32 = 64;

/// A connection accepted from the guest's listener, non-blocking on the guest's side, with the
/// client's end; the instance has a generous time limit, so a test that hangs fails instead.
fn connected() -> (W, u32, TcpStream) {
    let (socket, addr) = listener();
    let mut t = W::with(Setup {
        sockets: vec![socket],
        time_limit_ms: Some(60_000),
        ..Setup::default()
    });
    let client = TcpStream::connect(addr).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(t.wasi("sock_accept", &[LISTENER, NONBLOCK, 128]), SUCCESS);
    let conn = t.u32(128);
    (t, conn, client)
}

/// Sends 32 KiB pieces (of zeros) without blocking until the socket takes no more, even after
/// a pause (the OS grows its buffers meanwhile): the bytes sent. Leaves the socket blocking.
fn fill(t: &mut W, conn: u32) -> u64 {
    assert_eq!(
        t.wasi("fd_fdstat_set_flags", &[i64::from(conn), NONBLOCK]),
        SUCCESS
    );
    let mut total = 0u64;
    loop {
        let before = total;
        loop {
            t.put32(512, 8192);
            t.put32(516, 32 * 1024);
            match t.wasi("sock_send", &[i64::from(conn), 512, 1, 0, 8]) {
                SUCCESS => total += u64::from(t.u32(8)),
                AGAIN => break,
                e => panic!("errno {e} after {total} bytes"),
            }
            assert!(total < 1 << 30, "the socket never filled");
        }
        if total == before {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        t.wasi("fd_fdstat_set_flags", &[i64::from(conn), 0]),
        SUCCESS
    );
    total
}

/// A reader of the client's end: at each `()` received it waits 200 ms (so the guest is parked
/// by then), then reads whatever is there; at the end, the bytes it read.
fn slow_reader(
    mut client: TcpStream,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<u64>) {
    let (go, rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let mut total = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        while rx.recv().is_ok() {
            std::thread::sleep(Duration::from_millis(200));
            client.set_nonblocking(true).unwrap();
            loop {
                match client.read(&mut buf) {
                    Ok(0) => return total,
                    Ok(n) => total += n as u64,
                    Err(_) => break,
                }
            }
            client.set_nonblocking(false).unwrap();
        }
        total
    });
    (go, reader)
}

#[test]
fn blocking_sends_and_polls_on_a_full_socket_park_until_the_peer_reads() {
    let (mut t, conn, client) = connected();
    let (go, reader) = slow_reader(client);
    let mut sent = fill(&mut t, conn);
    // A poll for room with no clock at all waits until the peer reads.
    for i in 0..32 {
        t.put(1024 + i, &[0]);
    }
    t.put64(1024, 7);
    t.put(1032, &[2]);
    t.put32(1040, conn);
    go.send(()).unwrap();
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 1, 8]), SUCCESS);
    assert_eq!((t.u32(8), t.u64(2048), t.u8(2058)), (1, 7, 2));
    // sock_send and fd_write on a full blocking socket: each parks, then sends.
    sent += fill(&mut t, conn);
    go.send(()).unwrap();
    t.put32(512, 8192);
    t.put32(516, 100);
    assert_eq!(
        t.wasi("sock_send", &[i64::from(conn), 512, 1, 0, 8]),
        SUCCESS
    );
    sent += u64::from(t.u32(8));
    assert!(t.u32(8) > 0);
    sent += fill(&mut t, conn);
    go.send(()).unwrap();
    let (e, n) = t.write(conn, b"tail");
    assert_eq!((e, n), (SUCCESS, 4));
    sent += 4;
    // Everything sent arrives.
    assert_eq!(t.wasi("sock_shutdown", &[i64::from(conn), 2]), SUCCESS);
    go.send(()).unwrap();
    drop(go);
    let received = reader.join().unwrap();
    assert!(received <= sent && received > 0, "{received} of {sent}");
}

#[test]
fn a_send_parked_on_a_full_socket_reports_the_peers_reset() {
    let (mut t, conn, client) = connected();
    fill(&mut t, conn);
    let resetting = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        // Linger 0: closing sends RST, with the guest's bytes unread.
        socket2::SockRef::from(&client)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(client);
    });
    // Blocking sends into a peer that never reads: each waits for room (the OS frees some now
    // and then) until the reset ends the connection.
    let mut sends = 0;
    let e = loop {
        t.put32(512, 8192);
        t.put32(516, 32 * 1024);
        match t.wasi("sock_send", &[i64::from(conn), 512, 1, 0, 8]) {
            SUCCESS => sends += 1,
            e => break e,
        }
        assert!(sends < 100_000, "the reset never reached the guest");
    };
    assert!(e == CONNRESET || e == PIPE, "errno {e}");
    resetting.join().unwrap();
    // The connection stays reset for every later call (as on the kernel's stack).
    t.put32(516, 16);
    assert_eq!(
        t.wasi("sock_send", &[i64::from(conn), 512, 1, 0, 8]),
        CONNRESET
    );
    assert_eq!(recv(&mut t, conn, 0).0, CONNRESET);
}

#[test]
fn a_waitall_receive_gathers_pieces_and_reports_them_before_an_error() {
    // Pieces, then the end of the stream: all of them, then 0 bytes.
    let (mut t, conn, mut client) = connected();
    assert_eq!(
        t.wasi("fd_fdstat_set_flags", &[i64::from(conn), 0]),
        SUCCESS
    );
    let writer = std::thread::spawn(move || {
        for piece in [&b"ab"[..], b"cd"] {
            std::thread::sleep(Duration::from_millis(100));
            client.write_all(piece).unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    });
    t.put32(512, 4096);
    t.put32(516, 8);
    assert_eq!(
        t.wasi("sock_recv", &[i64::from(conn), 512, 1, 2, 8, 12]),
        SUCCESS
    );
    assert_eq!((t.u32(8), t.bytes(4096, 4)), (4, b"abcd".to_vec()));
    writer.join().unwrap();
    assert_eq!(recv(&mut t, conn, 2), (SUCCESS, Vec::new()));

    // Pieces, then a reset: the pieces first, the reset with the next call.
    let (mut t, conn, mut client) = connected();
    assert_eq!(
        t.wasi("fd_fdstat_set_flags", &[i64::from(conn), 0]),
        SUCCESS
    );
    let writer = std::thread::spawn(move || {
        client.write_all(b"xy").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        socket2::SockRef::from(&client)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    });
    t.put32(512, 4096);
    t.put32(516, 8);
    assert_eq!(
        t.wasi("sock_recv", &[i64::from(conn), 512, 1, 2, 8, 12]),
        SUCCESS
    );
    assert_eq!((t.u32(8), t.bytes(4096, 2)), (2, b"xy".to_vec()));
    writer.join().unwrap();
    assert_eq!(recv(&mut t, conn, 0).0, CONNRESET);
}

#[test]
fn a_blocking_fd_read_waits_for_data_and_odd_buffers_are_handled() {
    let (mut t, conn, mut client) = connected();
    assert_eq!(
        t.wasi("fd_fdstat_set_flags", &[i64::from(conn), 0]),
        SUCCESS
    );
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        client.write_all(b"later").unwrap();
        client
    });
    assert_eq!(t.read(conn, 100), Ok(b"later".to_vec()));
    let mut client = writer.join().unwrap();
    // Only empty iovecs: nothing to send or receive, at once (no wait for data).
    t.put32(512, 4096);
    t.put32(516, 0);
    t.put32(8, 99);
    assert_eq!(
        t.wasi("sock_send", &[i64::from(conn), 512, 1, 0, 8]),
        SUCCESS
    );
    assert_eq!(t.u32(8), 0);
    assert_eq!(
        t.wasi("sock_recv", &[i64::from(conn), 512, 1, 0, 8, 12]),
        SUCCESS
    );
    assert_eq!(t.u32(8), 0);
    // More iovecs than a call may pass: EINVAL, whatever they hold.
    assert_eq!(
        t.wasi("sock_send", &[i64::from(conn), 512, 1025, 0, 8]),
        INVAL
    );
    assert_eq!(
        t.wasi("sock_recv", &[i64::from(conn), 512, 1025, 0, 8, 12]),
        INVAL
    );
    // A poll with a clock and a time limit waits for the clock (the earlier of the two).
    assert_eq!(poll(&mut t, 1, conn, 30), vec![(9, 0, 0, 0, 0)]);
    // Nothing was sent by the refused calls.
    client.set_nonblocking(true).unwrap();
    assert!(client.read(&mut [0u8; 8]).is_err());
}

#[test]
fn retrying_an_instance_that_waits_for_nothing_is_an_error() {
    let (mut t, _, _client) = connected();
    match kernel_wasm::wasi::blocking::retry(&mut t.inst) {
        kernel_wasm::wasi::blocking::Retry::Stop(Error::State { message }) => {
            assert_eq!(message, "wasi-test is not waiting on a socket")
        }
        other => panic!("{other:?}"),
    }
}
