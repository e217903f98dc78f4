//! `http-get`: a WASI command that fetches `http://HOST:PORT/PATH` with the SDK's
//! `net::connect` and prints the response body (the status line goes to stderr). Exits 0 for a
//! 2xx answer, 1 otherwise.
//!
//! Build: `cargo build --release` (→ target/wasm32-wasip1/release/http-get.wasm)
//! Run:   `kwasm run --caps net:connect=127.0.0.1:*,net:send,net:recv http-get.wasm --
//!        http://127.0.0.1:8080/`, or in the kernel `wasm-run --caps
//!        net:connect=10.0.2.2:*,net:send,net:recv /bin/http-get.wasm -- http://10.0.2.2:8080/`.

use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::process::ExitCode;

use kernel_wasm_sdk::net;

/// The largest response read.
const MAX_RESPONSE: u64 = 16 << 20;

fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: http-get http://HOST:PORT/PATH");
        return ExitCode::FAILURE;
    };
    let Some(rest) = url.strip_prefix("http://") else {
        eprintln!("http-get: only http:// URLs");
        return ExitCode::FAILURE;
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let socket = match net::connect(&addr) {
        Ok(socket) => socket,
        Err(e) => {
            eprintln!("http-get: {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // SAFETY: `connect` just returned this descriptor; the stream owns (and closes) it.
    let mut stream = unsafe { std::net::TcpStream::from_raw_fd(socket.into_raw()) };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    let mut response = Vec::new();
    let io = stream
        .write_all(request.as_bytes())
        .and_then(|()| (&mut stream).take(MAX_RESPONSE).read_to_end(&mut response));
    if let Err(e) = io {
        eprintln!("http-get: {e}");
        return ExitCode::FAILURE;
    }
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        eprintln!("http-get: no complete response head");
        return ExitCode::FAILURE;
    };
    let head = String::from_utf8_lossy(&response[..end]);
    eprintln!("{}", head.lines().next().unwrap_or(""));
    let _ = std::io::stdout().write_all(&response[end + 4..]);
    if head.split(' ').nth(1).is_some_and(|s| s.starts_with('2')) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
