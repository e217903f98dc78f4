//! Fetches an `http://` URL over kernel-wasm's `net.connect` and prints the response body on
//! stdout (the status line and headers go to stderr). Exits 0 for a 2xx answer, 1 otherwise.
//!
//! Usage: `http_get http://HOST:PORT/PATH` — the instance needs `net:connect` for that address
//! (e.g. `--caps net:connect=127.0.0.1:*,net:send,net:recv`).
//!
//! Build: `rustc --edition 2021 --target wasm32-wasip1 -O http_get.rs` (or `cargo xtask
//! wasi-programs`, which builds it into target/wasi-programs/net/).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::FromRawFd;

/// The largest response read (head and body).
const MAX_RESPONSE: usize = 16 << 20;

#[link(wasm_import_module = "net")]
extern "C" {
    /// Connects to `host:port` (text); a socket descriptor, or -errno.
    fn connect(addr: *const u8, len: usize) -> i32;
}

fn fail(message: &str) -> ! {
    eprintln!("http_get: {message}");
    std::process::exit(1);
}

fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| fail("usage: http_get http://HOST:PORT/PATH"));
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| fail("only http:// URLs"));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    // SAFETY: the pointer and length describe `addr`'s bytes.
    let fd = unsafe { connect(addr.as_ptr(), addr.len()) };
    if fd < 0 {
        fail(&format!("connect {addr}: errno {}", -fd));
    }
    // SAFETY: `fd` is the connected socket `connect` just returned; the stream owns it now.
    let mut stream = unsafe { TcpStream::from_raw_fd(fd) };
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: http_get\r\n\r\n");
    if let Err(e) = stream.write_all(request.as_bytes()) {
        fail(&format!("send: {e}"));
    }
    let mut response = Vec::new();
    if let Err(e) = (&mut stream)
        .take(MAX_RESPONSE as u64 + 1)
        .read_to_end(&mut response)
    {
        fail(&format!("receive: {e}"));
    }
    if response.len() > MAX_RESPONSE {
        fail("response too large");
    }
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        fail("no complete response head");
    };
    let head = String::from_utf8_lossy(&response[..end]);
    let mut body = &response[end + 4..];
    if let Some(len) = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())
            .flatten()
    }) {
        body = &body[..len.min(body.len())];
    }
    eprintln!("{head}");
    let _ = std::io::stdout().write_all(body);
    let ok = head.split(' ').nth(1).is_some_and(|s| s.starts_with('2'));
    std::process::exit(if ok { 0 } else { 1 });
}
