//! A small HTTP/1.1 file server for WASI preview1 + kernel-wasm sockets.
//!
//! It takes the first preopened listening socket (`kwasm run --tcplisten ADDR`, the shell's
//! `wasm-run --tcplisten PORT`, wasmtime's `-S tcplisten=ADDR`; the hosts number sockets after
//! the directory preopens) and serves the files of its preopen `/www` (`--dir DIR::/www`):
//! `GET /name` answers the file, `GET /` answers `index.html`. One request per connection
//! (`Connection: close`).
//!
//! Usage: `http_server [MAX_REQUESTS]` — with a number it exits after serving that many
//! requests (tests stop on their own), else it serves until killed.
//!
//! Build: `rustc --edition 2021 --target wasm32-wasip1 -O http_server.rs` (or `cargo xtask
//! wasi-programs`, which builds it into target/wasi-programs/net/).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::FromRawFd;

/// The largest request head read (request line and headers); longer is 431.
const MAX_HEAD: usize = 8192;
/// Files larger than this are refused with 413 rather than read into memory.
const MAX_FILE: u64 = 16 << 20;

#[link(wasm_import_module = "net")]
extern "C" {
    /// Writes the socket's local address (`ip:port`) into the buffer; its length or -errno.
    fn local_addr(fd: i32, buf: *mut u8, len: usize) -> i32;
}

/// The first preopened socket: the first descriptor from 3 on whose local address the host
/// can tell (directories answer -ENOTSOCK; the end of the table -EBADF).
fn find_listener() -> Option<(i32, String)> {
    let mut buf = [0u8; 64];
    for fd in 3..1024 {
        // SAFETY: the buffer is valid for its length.
        let n = unsafe { local_addr(fd, buf.as_mut_ptr(), buf.len()) };
        if n > 0 {
            return Some((fd, String::from_utf8_lossy(&buf[..n as usize]).into_owned()));
        }
        if n == -8 {
            return None; // EBADF: no more descriptors
        }
    }
    None
}

fn main() {
    let max: Option<u64> = std::env::args().nth(1).and_then(|a| a.parse().ok());
    let Some((fd, addr)) = find_listener() else {
        eprintln!("http_server: no listening socket (run with --tcplisten ADDR)");
        std::process::exit(2);
    };
    // SAFETY: `fd` is the preopened listening socket the host handed over.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    println!("listening on {addr}");
    let mut served = 0u64;
    while max.map_or(true, |m| served < m) {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(e) = serve(stream) {
                    eprintln!("http_server: connection: {e}");
                }
                served += 1;
            }
            Err(e) => {
                eprintln!("http_server: accept: {e}");
                std::process::exit(1);
            }
        }
    }
}

fn serve(mut stream: TcpStream) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return respond(&mut stream, "431 Request Header Fields Too Large", b"too large\n");
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(()); // the client went away before finishing its request
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or("");
    let mut words = line.split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method != "GET" {
        return respond(&mut stream, "405 Method Not Allowed", b"only GET\n");
    }
    let name = match target.trim_start_matches('/') {
        "" => "index.html",
        n => n,
    };
    if name.split('/').any(|c| c == ".." || c.is_empty()) {
        return respond(&mut stream, "400 Bad Request", b"bad path\n");
    }
    let path = format!("/www/{name}");
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.len() > MAX_FILE => {
            respond(&mut stream, "413 Content Too Large", b"file too large\n")
        }
        Ok(m) if m.is_file() => match std::fs::read(&path) {
            Ok(body) => respond(&mut stream, "200 OK", &body),
            Err(_) => respond(&mut stream, "500 Internal Server Error", b"read failed\n"),
        },
        _ => respond(&mut stream, "404 Not Found", b"not found\n"),
    }
}

fn respond(stream: &mut TcpStream, status: &str, body: &[u8]) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Ok(())
}
