//! Networking through `kwasm run` (issue acceptance 1 and 3): the example HTTP server guest
//! (`guests/net/http_server.rs`) answers a Rust client, the client guest (`http_get.rs`) fetches
//! from a Rust test server, a connect outside the `net:connect` scope is refused, and hostile
//! peers (half-open connections, huge requests, a flood of connects, a peer that closes early)
//! end in documented errors within limits.
//!
//! Everything binds and connects to 127.0.0.1 only, with port 0 (the OS picks a free port), and
//! every server and client here stops on its own: the guest server serves a given number of
//! requests, each test thread serves a fixed number of connections, and kwasm runs under a
//! `--time-limit-ms` and the child is killed if it outlives the test's deadline.
//!
//! The guests are built by `cargo xtask wasi-programs`; without them each test says so and
//! skips (under `cargo xtask ci`, which builds them first, it fails).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn guest(name: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("KWASM_WASI_PROGRAMS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/wasi-programs"),
    };
    let path = dir.join("net").join(name);
    if path.is_file() {
        Some(path)
    } else if std::env::var_os("KWASM_REQUIRE_WASI_PROGRAMS").is_some() {
        panic!(
            "{} is not built (cargo xtask wasi-programs)",
            path.display()
        );
    } else {
        println!(
            "SKIPPED: {} is not built; run `cargo xtask wasi-programs` first",
            path.display()
        );
        None
    }
}

/// A directory with `index.html` and `big.bin` for the server to serve.
fn www(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kwasm-net-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "hello from the guest server\n").unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), big).unwrap();
    dir
}

/// A running guest server: the kwasm child, the address it listens on.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// Starts `http_server MAX` on 127.0.0.1:0 with `dir` as /www, under `time_limit_ms`.
    fn start(server: &Path, dir: &Path, max: u32, time_limit_ms: u64) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kwasm"))
            .args(["run", "--tcplisten", "127.0.0.1:0", "--time-limit-ms"])
            .arg(time_limit_ms.to_string())
            .arg("--dir")
            .arg(format!("{}::/www", dir.display()))
            .arg(server)
            .arg(max.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kwasm");
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        Server { child, addr }
    }

    /// Waits (at most `within`) for kwasm to exit; its status and stderr.
    fn finish(mut self, within: Duration) -> (Option<i32>, String) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut err = String::new();
                self.child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                return (status.code(), err);
            }
            if start.elapsed() > within {
                let _ = self.child.kill();
                panic!("kwasm did not exit within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP GET with a std client; the whole response.
fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to the guest server");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn guest_server_answers_a_rust_client() {
    let Some(server) = guest("http_server.wasm") else {
        return;
    };
    let dir = www("serve");
    let srv = Server::start(&server, &dir, 3, 60_000);
    let index = get(&srv.addr, "/");
    assert!(index.starts_with("HTTP/1.1 200 OK\r\n"), "{index}");
    assert!(
        index.ends_with("\r\n\r\nhello from the guest server\n"),
        "{index}"
    );
    let missing = get(&srv.addr, "/nope.txt");
    assert!(
        missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{missing}"
    );
    // A body larger than any socket buffer: sent in many short writes, each waiting for room.
    let mut s = TcpStream::connect(&srv.addr).unwrap();
    s.write_all(b"GET /big.bin HTTP/1.1\r\n\r\n").unwrap();
    let mut big = Vec::new();
    s.read_to_end(&mut big).unwrap();
    let body = &big[big.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
    assert_eq!(body.len(), 300_000);
    assert!(body.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    let (code, err) = srv.finish(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A test server on 127.0.0.1:0 answering `connections` connections with `body`.
fn test_server(
    connections: usize,
    body: &'static str,
) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let handle = std::thread::spawn(move || {
        let mut requests = Vec::new();
        for _ in 0..connections {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            requests.push(String::from_utf8_lossy(&head).into_owned());
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        requests
    });
    (addr, handle)
}

fn http_get(client: &Path, caps: &str, url: &str) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kwasm"))
        .args(["run", "--time-limit-ms", "60000", "--caps", caps])
        .arg(client)
        .arg(url)
        .output()
        .expect("run kwasm");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn client_guest_fetches_from_a_test_server() {
    let Some(client) = guest("http_get.wasm") else {
        return;
    };
    let (addr, server) = test_server(1, "body from the test server\n");
    let (code, out, err) = http_get(
        &client,
        "net:connect=127.0.0.1:*,net:send,net:recv",
        &format!("http://{addr}/some/path"),
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "body from the test server\n");
    let requests = server.join().unwrap();
    assert!(
        requests[0].starts_with("GET /some/path HTTP/1.1\r\n"),
        "{requests:?}"
    );
}

#[test]
fn connect_outside_the_scope_is_refused() {
    let Some(client) = guest("http_get.wasm") else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    // Scoped to another port of the same address: refused with ENOTCAPABLE, nothing connects.
    let (code, out, err) = http_get(
        &client,
        &format!(
            "net:connect=127.0.0.1:{},net:send,net:recv",
            port.wrapping_add(1).max(1)
        ),
        &format!("http://127.0.0.1:{port}/"),
    );
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(out, "");
    assert!(err.contains("errno 76"), "{err}");
    assert!(listener.accept().is_err(), "nothing may have connected");
    // Without net:connect at all, the pre-flight refuses the module before it runs.
    let (code, _, err) = http_get(
        &client,
        "net:send,net:recv",
        &format!("http://127.0.0.1:{port}/"),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "needs capabilities that are not granted: net:connect (imported by net::connect)"
        ),
        "{err}"
    );
}

#[test]
fn refused_connections_and_malformed_addresses_are_errors() {
    let Some(client) = guest("http_get.wasm") else {
        return;
    };
    // A port nothing listens on (bound then closed): ECONNREFUSED (14).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, _, err) = http_get(
        &client,
        "net:connect,net:send,net:recv",
        &format!("http://127.0.0.1:{port}/"),
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("errno 14"), "{err}");
    // Malformed host: EINVAL (28).
    let (code, _, err) = http_get(&client, "net:connect", "http://bad host:80/");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("errno 28"), "{err}");
}

#[test]
fn half_open_peer_cannot_pin_the_guest_past_its_time_limit() {
    let Some(server) = guest("http_server.wasm") else {
        return;
    };
    let dir = www("halfopen");
    let srv = Server::start(&server, &dir, 5, 1_500);
    // Connect and send nothing: the guest waits in recv until its time limit stops it.
    let _idle = TcpStream::connect(&srv.addr).unwrap();
    let started = Instant::now();
    let (code, err) = srv.finish(Duration::from_secs(30));
    assert_eq!(code, Some(134), "{err}");
    assert!(
        err.contains("waited on a socket past its 1500 ms of wall time"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn hostile_peers_end_in_documented_errors() {
    let Some(server) = guest("http_server.wasm") else {
        return;
    };
    let dir = www("hostile");
    const FLOOD: u32 = 300;
    // FLOOD empty connections, a huge request, a peer that leaves early, then a real request.
    let srv = Server::start(&server, &dir, FLOOD + 3, 120_000);
    for _ in 0..FLOOD {
        drop(TcpStream::connect(&srv.addr).unwrap());
    }
    // A request head that never ends: refused with 431 after 8 KiB, the rest is never read.
    let mut huge = TcpStream::connect(&srv.addr).unwrap();
    huge.set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let junk = vec![b'a'; 1 << 20];
    let _ = huge.write_all(&junk); // the server may close before taking it all
    let mut answer = Vec::new();
    let _ = huge.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431 "),
        "{answer}"
    );
    // A peer that sends a request for a big file and closes without reading the answer.
    let mut early = TcpStream::connect(&srv.addr).unwrap();
    early.write_all(b"GET /big.bin HTTP/1.1\r\n\r\n").unwrap();
    drop(early);
    // The server still answers.
    let index = get(&srv.addr, "/");
    assert!(index.ends_with("hello from the guest server\n"), "{index}");
    let (code, err) = srv.finish(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The SDK `http-get` template of `lang` (`cargo xtask guests`), or `None` when it is not built.
fn sdk_template(lang: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/guests")
        .join(lang)
        .join("http-get.wasm");
    if path.is_file() {
        Some(path)
    } else if std::env::var_os("KWASM_REQUIRE_GUESTS").is_some() {
        panic!("{} is not built (cargo xtask guests)", path.display());
    } else {
        println!(
            "SKIPPED: {} is not built; run `cargo xtask guests` first",
            path.display()
        );
        None
    }
}

#[test]
fn sdk_http_get_templates_fetch_and_report_refusals() {
    for lang in ["rust", "c"] {
        let Some(client) = sdk_template(lang) else {
            continue;
        };
        let (addr, server) = test_server(1, "body for the sdk\n");
        let (code, out, err) = http_get(
            &client,
            "net:connect=127.0.0.1:*,net:send,net:recv",
            &format!("http://{addr}/sdk"),
        );
        assert_eq!(
            (code, out.as_str()),
            (Some(0), "body for the sdk\n"),
            "{lang}: {err}"
        );
        assert!(err.starts_with("HTTP/1.1 200 OK"), "{lang}: {err}");
        assert!(server.join().unwrap()[0].starts_with("GET /sdk HTTP/1.1\r\n"));
        // Outside the scope: the SDK's error value, named.
        let (code, _, err) = http_get(
            &client,
            "net:connect=10.0.2.2:80,net:send,net:recv",
            &format!("http://{addr}/"),
        );
        assert_eq!(code, Some(1), "{lang}: {err}");
        assert!(
            err.contains("not permitted by the net:connect capability (errno 76)"),
            "{lang}: {err}"
        );
    }
}
