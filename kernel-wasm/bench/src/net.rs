//! Group `net`: TCP echo over loopback — round-trip latency of 64-byte messages and throughput of
//! 64 KiB writes — with the same Rust client against three echo servers:
//!
//! - `native`: a std echo server thread in this process;
//! - `kernel-wasm`: the WAT echo guest below, run by kernel-wasm in this process with a
//!   `--tcplisten`-style preopened socket (`hosted::net`: host sockets, a blocking guest parks
//!   and is resumed by `Execution::run_to_end`) — what `kwasm run --tcplisten` does;
//! - `kernel`: the same guest in the bare-metal kernel under QEMU TCG (smoltcp over virtio-net,
//!   QEMU user networking), reached through a port forwarded on 127.0.0.1. Booted here with
//!   `cargo xtask qemu --hostfwd` when `--kernel` is given (`cargo xtask bench` gives it unless
//!   `--no-kernel`). Its figures include QEMU's user-mode network stack (slirp) and TCG.
//!
//! Everything binds and connects to 127.0.0.1 only; every server serves a fixed number of
//! connections and stops.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{Opts, Results};

/// The echo guest: `serve(listener_fd, connections)` accepts `connections` connections one after
/// the other and echoes each until its peer closes.
pub const ECHO_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "serve") (param $lfd i32) (param $conns i32) (result i32)
    (local $c i32) (local $n i32) (local $off i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $conns)))
      (if (call $accept (local.get $lfd) (i32.const 0) (i32.const 16))
        (then (return (i32.const -1))))
      (local.set $c (i32.load (i32.const 16)))
      (block $eof (loop $echo
        (i32.store (i32.const 0) (i32.const 1024))
        (i32.store (i32.const 4) (i32.const 65536))
        (br_if $eof (call $read (local.get $c) (i32.const 0) (i32.const 1) (i32.const 20)))
        (local.set $n (i32.load (i32.const 20)))
        (br_if $eof (i32.eqz (local.get $n)))
        (local.set $off (i32.const 0))
        (loop $wr
          (i32.store (i32.const 0) (i32.add (i32.const 1024) (local.get $off)))
          (i32.store (i32.const 4) (i32.sub (local.get $n) (local.get $off)))
          (br_if $eof (call $write (local.get $c) (i32.const 0) (i32.const 1) (i32.const 24)))
          (local.set $off (i32.add (local.get $off) (i32.load (i32.const 24))))
          (br_if $wr (i32.lt_u (local.get $off) (local.get $n))))
        (br $echo)))
      (drop (call $close (local.get $c)))
      (local.set $conns (i32.sub (local.get $conns) (i32.const 1)))
      (br $next)))
    (i32.const 0)))"#;

const MESSAGE: usize = 64;
const CHUNK: usize = 64 * 1024;

/// How much each measurement sends.
#[derive(Clone, Copy)]
struct Sizes {
    round_trips: usize,
    bytes: usize,
    /// Throughput runs (one connection each; the median is reported).
    runs: usize,
}

pub fn run(opts: &Opts, results: &mut Results) -> Result<()> {
    let host = if opts.quick {
        Sizes {
            round_trips: 500,
            bytes: 8 << 20,
            runs: 3,
        }
    } else {
        Sizes {
            round_trips: 3000,
            bytes: 64 << 20,
            runs: 5,
        }
    };
    let (addr, server) = native_server(1 + host.runs)?;
    let native = measure(addr, host)?;
    server.join().ok();
    record(results, "native", native);

    let (addr, guest) = guest_server(1 + host.runs as i32)?;
    let kw = measure(addr, host)?;
    match guest.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => bail!("the echo guest failed: {e:#}"),
        Err(_) => bail!("the echo guest's thread panicked"),
    }
    record(results, "kernel-wasm", kw);

    if opts.kernel {
        let sizes = Sizes {
            round_trips: if opts.quick { 100 } else { 300 },
            bytes: if opts.quick { 512 << 10 } else { 2 << 20 },
            runs: 1,
        };
        match kernel(opts, sizes) {
            Ok(figures) => {
                record(results, "kernel", figures);
                results.note(
                    "net",
                    format!(
                        "kernel: the echo guest in the kernel under QEMU TCG (smoltcp over virtio-net, QEMU user networking), {} round trips and {} KiB through a port forwarded on 127.0.0.1; it includes QEMU's slirp and TCG, so its ratio is to native loopback, not to a native guest",
                        sizes.round_trips,
                        sizes.bytes >> 10
                    ),
                );
            }
            Err(e) => results.note("net", format!("kernel: not measured: {e:#}")),
        }
    } else {
        results.note("net", "kernel: not measured (--no-kernel)");
    }
    results.note(
        "net",
        format!(
            "echo_rtt_64B: median of {} round trips of a 64-byte message (lower is better); echo_throughput: median of {} runs of {} MiB written in 64 KiB chunks and read back (higher is better). Same client (std, TCP_NODELAY) for every server.",
            host.round_trips,
            host.runs,
            host.bytes >> 20
        ),
    );
    Ok(())
}

fn record(results: &mut Results, runtime: &'static str, (rtt_us, mb_s): (f64, f64)) {
    results.row("net", "echo_rtt_64B", runtime, rtt_us, "us");
    results.row("net", "echo_throughput", runtime, mb_s, "MB/s");
}

/// A std echo server on 127.0.0.1:0 serving `connections` connections.
fn native_server(connections: usize) -> Result<(SocketAddr, std::thread::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let handle = std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let _ = s.set_nodelay(true);
            let mut buf = vec![0u8; CHUNK];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 || s.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    });
    Ok((addr, handle))
}

/// The echo guest on kernel-wasm in this process, serving `connections` connections.
fn guest_server(connections: i32) -> Result<(SocketAddr, std::thread::JoinHandle<Result<()>>)> {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || -> Result<()> {
        use kernel_wasm::wasi::SocketPreopen;
        use kernel_wasm::{InstanceConfig, Runtime, Value};
        let platform = kernel_wasm::hosted::platform();
        let net = platform
            .net
            .clone()
            .context("the hosted platform has a network")?;
        let listener = net
            .listen("127.0.0.1:0".parse()?, kernel_wasm::net::DEFAULT_BACKLOG)
            .map_err(|e| anyhow::anyhow!("listen: {e}"))?;
        tx.send(listener.local_addr())?;
        let runtime = Runtime::default();
        let module = runtime.load(&wat::parse_str(ECHO_WAT)?, Some("echo.wasm"))?;
        let mut config = InstanceConfig::new(platform);
        config.sockets = vec![SocketPreopen::new(Arc::from(listener))];
        let mut instance = runtime.instantiate(&module, config)?;
        match instance.call("serve", &[Value::I32(3), Value::I32(connections)])? {
            kernel_wasm::CallOutcome::Returned(v) if v == [Value::I32(0)] => Ok(()),
            other => bail!("serve ended with {other:?}"),
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .context("the echo guest did not start listening")?;
    Ok((addr, handle))
}

/// Round-trip latency (µs, median) and throughput (MB/s) against the echo server at `addr`,
/// one connection each.
fn measure(addr: SocketAddr, sizes: Sizes) -> Result<(f64, f64)> {
    let rtt = round_trip(addr, sizes.round_trips)?;
    Ok((rtt, median_throughput(addr, sizes)?))
}

fn median_throughput(addr: SocketAddr, sizes: Sizes) -> Result<f64> {
    let mut runs = (0..sizes.runs)
        .map(|_| throughput(addr, sizes.bytes))
        .collect::<Result<Vec<f64>>>()?;
    runs.sort_by(f64::total_cmp);
    Ok(runs[runs.len() / 2])
}

fn connect(addr: SocketAddr) -> Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(30))
        .with_context(|| format!("connecting to the echo server at {addr}"))?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    s.set_write_timeout(Some(Duration::from_secs(120)))?;
    Ok(s)
}

fn round_trip(addr: SocketAddr, count: usize) -> Result<f64> {
    let mut s = connect(addr)?;
    let message = [0x5au8; MESSAGE];
    let mut back = [0u8; MESSAGE];
    let mut times = Vec::with_capacity(count);
    for i in 0..count + count / 10 {
        let t = Instant::now();
        s.write_all(&message)?;
        s.read_exact(&mut back)?;
        // The first tenth warms up (ARP, caches, lazily translated guest code).
        if i >= count / 10 {
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        if back != message {
            bail!("the echo server answered other bytes");
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn throughput(addr: SocketAddr, bytes: usize) -> Result<f64> {
    let s = connect(addr)?;
    let mut reader = s.try_clone()?;
    let started = Instant::now();
    let read = std::thread::spawn(move || -> std::io::Result<usize> {
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0;
        while got < bytes {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            got += n;
        }
        Ok(got)
    });
    let mut writer = s;
    let chunk = vec![0xa5u8; CHUNK];
    let mut sent = 0;
    while sent < bytes {
        let n = CHUNK.min(bytes - sent);
        writer.write_all(&chunk[..n])?;
        sent += n;
    }
    let got = read
        .join()
        .map_err(|_| anyhow::anyhow!("the reader panicked"))??;
    let secs = started.elapsed().as_secs_f64();
    drop(writer);
    if got != bytes {
        bail!("sent {bytes} bytes, {got} came back");
    }
    Ok(bytes as f64 / secs / 1e6)
}

/// Boots the kernel with the echo guest listening on its port 8080, forwarded from a free
/// loopback port, and measures through it.
fn kernel(opts: &Opts, sizes: Sizes) -> Result<(f64, f64)> {
    let dir = opts.out.join("net");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("echo.wasm"), wat::parse_str(ECHO_WAT)?)?;
    let script = dir.join("script.txt");
    std::fs::write(
        &script,
        format!(
            "wasm-run --fuel 100000000000 --time-limit-ms 1200000 --tcplisten 8080 /net/echo.wasm serve 3 {}\nexit 0\n",
            1 + sizes.runs
        ),
    )?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir_arg = format!("{}::/net", std::fs::canonicalize(&dir)?.display());
    let mut qemu =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&root)
            .args([
                "run",
                "--quiet",
                "-p",
                "xtask",
                "--",
                "qemu",
                "--timeout",
                "1300",
            ])
            .args([
                "--hostfwd",
                &format!("{port}:8080"),
                "--dir",
                &dir_arg,
                "--script",
            ])
            .arg(std::fs::canonicalize(&script)?)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("starting cargo xtask qemu")?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    // Wait until the guest listens: QEMU accepts a forwarded connection at once and closes it
    // while nothing listens in the kernel, so probe with a real round trip... which would use
    // up a connection. Instead wait for the guest's port through a first, short-lived
    // connection that only checks the kernel answers, and serve it as the first of the two.
    let deadline = Instant::now() + Duration::from_secs(300);
    let figures = loop {
        match round_trip_probe(addr) {
            Ok(true) => break measure_after_probe(addr, sizes),
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(500)),
            _ => {
                let _ = qemu.kill();
                bail!("the kernel's echo guest never answered on {addr}");
            }
        }
    };
    let status = qemu.wait()?;
    let mut out = String::new();
    if let Some(mut stdout) = qemu.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    let figures = figures?;
    if !status.success() {
        bail!(
            "the kernel session failed ({status}): {}",
            out.lines().last().unwrap_or("")
        );
    }
    Ok(figures)
}

/// One connection that sends a byte and waits for it back: `true` when the kernel's guest
/// echoed it (the connection is then the guest's first, used for the round trips).
fn round_trip_probe(addr: SocketAddr) -> Result<bool> {
    let mut s = connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(&[1])?;
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        Ok(1) => {
            PROBED.with(|p| *p.borrow_mut() = Some(s));
            Ok(true)
        }
        _ => Ok(false),
    }
}

thread_local! {
    static PROBED: std::cell::RefCell<Option<TcpStream>> = const { std::cell::RefCell::new(None) };
}

/// The round trips on the probed connection, then the throughput on a second one.
fn measure_after_probe(addr: SocketAddr, sizes: Sizes) -> Result<(f64, f64)> {
    let mut s = PROBED
        .with(|p| p.borrow_mut().take())
        .context("no probed connection")?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let message = [0x5au8; MESSAGE];
    let mut back = [0u8; MESSAGE];
    let mut times = Vec::with_capacity(sizes.round_trips);
    for i in 0..sizes.round_trips + sizes.round_trips / 10 {
        let t = Instant::now();
        s.write_all(&message)?;
        s.read_exact(&mut back)?;
        if i >= sizes.round_trips / 10 {
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    drop(s);
    times.sort_by(f64::total_cmp);
    let rtt = times[times.len() / 2];
    Ok((rtt, median_throughput(addr, sizes)?))
}
