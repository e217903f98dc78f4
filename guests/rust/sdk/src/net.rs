//! The `net` host module (`docs/net.md`): outgoing TCP connections, and the addresses of
//! sockets. A connected socket is an ordinary WASI descriptor: wrap it in
//! `std::net::TcpStream` and read, write, shut down and close it as usual.
//!
//! ```no_run
//! # fn demo() -> Result<(), kernel_wasm_sdk::net::NetError> {
//! use std::io::{Read, Write};
//! use std::os::fd::FromRawFd;
//!
//! let socket = kernel_wasm_sdk::net::connect("10.0.2.2:8080")?;
//! // SAFETY: the descriptor was just returned by `connect`; the stream owns it from now on.
//! let mut stream = unsafe { std::net::TcpStream::from_raw_fd(socket.into_raw()) };
//! stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
//! # Ok(()) }
//! ```
//!
//! A server gets its listening socket from the host (`kwasm run --tcplisten ADDR`, the shell's
//! `wasm-run --tcplisten PORT`): [`listener`] finds it, and `std::net::TcpListener::from_raw_fd`
//! takes it over. Importing [`connect`] needs the `net:connect` capability (the module is refused
//! at load without it); sending and receiving need `net:send` and `net:recv`.

use core::fmt;

/// The raw imports (`docs/net.md`). Results: `>= 0` success, negative a WASI errno, negated.
/// Every pointer is an offset into this module's memory, read (the address) or written (the
/// buffer) by the host only during the call.
pub mod sys {
    #[link(wasm_import_module = "net")]
    extern "C" {
        /// Connects to `addr[..len]` (`host:port`, UTF-8) and waits for the handshake; the
        /// socket's descriptor. Needs `net:connect` covering the address. Only reads the range.
        pub fn connect(addr: *const u8, len: usize) -> i32;
        /// Writes socket `fd`'s local address (`ip:port`) into `buf[..len]`; its length.
        pub fn local_addr(fd: i32, buf: *mut u8, len: usize) -> i32;
        /// Writes the address of socket `fd`'s peer into `buf[..len]`; its length.
        pub fn peer_addr(fd: i32, buf: *mut u8, len: usize) -> i32;
    }
}

/// Why a `net` function failed: the WASI errno the host answered (`docs/net.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetError {
    /// 76: no `net:connect`, or the address is outside its scopes.
    NotCapable,
    /// 28: the address is not `host:port` (or port 0).
    Invalid,
    /// 21: a pointer outside memory.
    Fault,
    /// 44: the host name cannot be resolved (the kernel has no resolver).
    NotResolved,
    /// 14: nothing listens there.
    Refused,
    /// 73: no answer to the handshake in time.
    TimedOut,
    /// 23: no route to the address.
    Unreachable,
    /// 5: the host cannot use this address family (IPv6 on the kernel).
    FamilyNotSupported,
    /// 41: the host's socket table is full.
    TooManySockets,
    /// 38: the host has no network.
    NetworkDown,
    /// 8: not an open descriptor.
    BadDescriptor,
    /// 57: not a socket.
    NotSocket,
    /// 53: not connected (a listening socket has no peer).
    NotConnected,
    /// 42: the buffer is too short for the address.
    BufferTooSmall,
    /// Another errno.
    Other(i32),
}

impl NetError {
    /// The error for a negative result of a `net` function.
    pub fn from_code(code: i32) -> NetError {
        match code.wrapping_neg() {
            76 => NetError::NotCapable,
            28 => NetError::Invalid,
            21 => NetError::Fault,
            44 => NetError::NotResolved,
            14 => NetError::Refused,
            73 => NetError::TimedOut,
            23 => NetError::Unreachable,
            5 => NetError::FamilyNotSupported,
            41 => NetError::TooManySockets,
            38 => NetError::NetworkDown,
            8 => NetError::BadDescriptor,
            57 => NetError::NotSocket,
            53 => NetError::NotConnected,
            42 => NetError::BufferTooSmall,
            errno => NetError::Other(errno),
        }
    }

    /// The WASI errno.
    pub fn errno(self) -> i32 {
        match self {
            NetError::NotCapable => 76,
            NetError::Invalid => 28,
            NetError::Fault => 21,
            NetError::NotResolved => 44,
            NetError::Refused => 14,
            NetError::TimedOut => 73,
            NetError::Unreachable => 23,
            NetError::FamilyNotSupported => 5,
            NetError::TooManySockets => 41,
            NetError::NetworkDown => 38,
            NetError::BadDescriptor => 8,
            NetError::NotSocket => 57,
            NetError::NotConnected => 53,
            NetError::BufferTooSmall => 42,
            NetError::Other(errno) => errno,
        }
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            NetError::NotCapable => "not permitted by the net:connect capability",
            NetError::Invalid => "not a host:port address",
            NetError::Fault => "bad pointer",
            NetError::NotResolved => "host name not resolved",
            NetError::Refused => "connection refused",
            NetError::TimedOut => "connection timed out",
            NetError::Unreachable => "no route to host",
            NetError::FamilyNotSupported => "address family not supported",
            NetError::TooManySockets => "too many sockets",
            NetError::NetworkDown => "no network",
            NetError::BadDescriptor => "bad descriptor",
            NetError::NotSocket => "not a socket",
            NetError::NotConnected => "not connected",
            NetError::BufferTooSmall => "buffer too small",
            NetError::Other(_) => "network error",
        };
        write!(f, "{what} (errno {})", self.errno())
    }
}

impl core::error::Error for NetError {}

/// A socket descriptor the host returned (connected, or a listener found by [`listener`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Socket(u32);

impl Socket {
    /// The descriptor number.
    pub fn fd(self) -> u32 {
        self.0
    }

    /// The descriptor, for `std::net::TcpStream::from_raw_fd` (which then owns and closes it).
    pub fn into_raw(self) -> i32 {
        self.0 as i32
    }
}

fn check(code: i32) -> Result<u32, NetError> {
    u32::try_from(code).map_err(|_| NetError::from_code(code))
}

/// Connects to `addr` (`"10.0.2.2:8080"`, `"[::1]:80"`, `"localhost:80"` where the host
/// resolves names) and waits for the TCP handshake. The socket is blocking; other agents run
/// while this one waits.
pub fn connect(addr: &str) -> Result<Socket, NetError> {
    // SAFETY: the pointer and length of one live string slice, which the host only reads.
    check(unsafe { sys::connect(addr.as_ptr(), addr.len()) }).map(Socket)
}

/// Writes socket `fd`'s local address into `buf` and returns it as text.
pub fn local_addr(fd: u32, buf: &mut [u8]) -> Result<&str, NetError> {
    // SAFETY: the pointer and length of one live buffer, which the host writes within.
    let n = check(unsafe { sys::local_addr(fd as i32, buf.as_mut_ptr(), buf.len()) })?;
    core::str::from_utf8(&buf[..n as usize]).map_err(|_| NetError::Invalid)
}

/// Writes the address of socket `fd`'s peer into `buf` and returns it as text.
pub fn peer_addr(fd: u32, buf: &mut [u8]) -> Result<&str, NetError> {
    // SAFETY: as in `local_addr`.
    let n = check(unsafe { sys::peer_addr(fd as i32, buf.as_mut_ptr(), buf.len()) })?;
    core::str::from_utf8(&buf[..n as usize]).map_err(|_| NetError::Invalid)
}

/// The first socket the host handed over (`--tcplisten`): hosts number them after the
/// preopened directories, so this is the first descriptor from 3 whose address the host can
/// tell. `None` when there is none.
pub fn listener() -> Option<Socket> {
    let mut buf = [0u8; 64];
    for fd in 3..4096u32 {
        match local_addr(fd, &mut buf) {
            Ok(_) => return Some(Socket(fd)),
            Err(NetError::BadDescriptor) => return None,
            Err(_) => {}
        }
    }
    None
}
