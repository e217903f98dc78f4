//! A hostile guest against the `net` host module: pointers and lengths out of range, text that
//! is not UTF-8 or not an address, short buffers, and a flood of connects — each ends in its
//! documented error (`docs/net.md`), never a trap of the host or unbounded use. Loopback only.

use std::net::TcpListener;
use std::sync::Arc;

use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::{CallOutcome, CapSet, Error, InstanceConfig, LimitKind, Runtime, Value};

const GUEST: &str = r#"(module
  (import "net" "connect" (func $connect (param i32 i32) (result i32)))
  (import "net" "local_addr" (func $local (param i32 i32 i32) (result i32)))
  (import "net" "peer_addr" (func $peer (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\ff\fe:80")
  (data (i32.const 16) "not an address")
  (func (export "connect") (param i32 i32) (result i32) (call $connect (local.get 0) (local.get 1)))
  (func (export "local") (param i32 i32 i32) (result i32)
    (call $local (local.get 0) (local.get 1) (local.get 2)))
  (func (export "peer") (param i32 i32 i32) (result i32)
    (call $peer (local.get 0) (local.get 1) (local.get 2)))
  (func (export "put") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
  (func (export "get") (param i32) (result i32) (i32.load8_u (local.get 0)))
  ;; Connects to the text at 64..64+len `count` times, keeping every socket; the last result.
  (func (export "flood") (param $len i32) (param $count i32) (result i32)
    (local $r i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $count)))
      (local.set $r (call $connect (i32.const 64) (local.get $len)))
      (br_if $done (i32.lt_s (local.get $r) (i32.const 0)))
      (local.set $count (i32.sub (local.get $count) (i32.const 1)))
      (br $again)))
    (local.get $r)))"#;

fn instance(caps: &str, fd_limit: Option<usize>) -> kernel_wasm::Instance {
    let runtime = Runtime::default();
    let module = runtime
        .load(&wat::parse_str(GUEST).unwrap(), Some("hostile"))
        .unwrap();
    let mut config =
        InstanceConfig::new(platform_with_console(Arc::new(CaptureConsole::default())));
    config.caps = CapSet::parse(caps).unwrap();
    config.fd_limit = fd_limit;
    runtime.instantiate(&module, config).unwrap()
}

fn call(inst: &mut kernel_wasm::Instance, f: &str, args: &[i32]) -> i32 {
    let args: Vec<Value> = args.iter().map(|&a| Value::I32(a)).collect();
    match inst.call(f, &args) {
        Ok(CallOutcome::Returned(v)) => match v.as_slice() {
            [Value::I32(r)] => *r,
            other => panic!("{other:?}"),
        },
        other => panic!("{f}: {other:?}"),
    }
}

fn put_text(inst: &mut kernel_wasm::Instance, at: i32, text: &str) {
    for (i, b) in text.bytes().enumerate() {
        let args = [Value::I32(at + i as i32), Value::I32(i32::from(b))];
        inst.call("put", &args).unwrap();
    }
}

#[test]
fn bad_pointers_and_text_are_error_codes() {
    let mut inst = instance("net:connect", None);
    assert_eq!(call(&mut inst, "connect", &[0, 5]), -28, "not UTF-8");
    assert_eq!(call(&mut inst, "connect", &[16, 14]), -28, "not host:port");
    assert_eq!(
        call(&mut inst, "connect", &[65_530, 100]),
        -21,
        "past the end of memory"
    );
    assert_eq!(
        call(&mut inst, "connect", &[-1, 2]),
        -21,
        "offset near 4 GiB"
    );
    assert_eq!(
        call(&mut inst, "connect", &[0, -1]),
        -28,
        "length near 4 GiB"
    );
    assert_eq!(call(&mut inst, "connect", &[0, 0]), -28, "empty");
    put_text(&mut inst, 64, "127.0.0.1:0");
    assert_eq!(call(&mut inst, "connect", &[64, 11]), -28, "port 0");
    // Descriptors that are not sockets, and buffers that are short or outside memory.
    assert_eq!(call(&mut inst, "local", &[0, 100, 64]), -57);
    assert_eq!(call(&mut inst, "local", &[99, 100, 64]), -8);
    assert_eq!(call(&mut inst, "peer", &[-1, 100, 64]), -8);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    put_text(&mut inst, 64, &addr);
    let fd = call(&mut inst, "connect", &[64, addr.len() as i32]);
    assert!(fd >= 3, "{fd}");
    assert_eq!(
        call(&mut inst, "peer", &[fd, 100, 3]),
        -42,
        "buffer too short"
    );
    assert_eq!(call(&mut inst, "peer", &[fd, 65_530, 64]), -21);
    assert_eq!(call(&mut inst, "peer", &[fd, 100, 64]), addr.len() as i32);
}

#[test]
fn a_flood_of_connects_stops_at_the_descriptor_limit() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut inst = instance("net:connect", Some(64));
    put_text(&mut inst, 64, &addr);
    // 3 stdio descriptors, 61 sockets, then the 62nd stops the instance.
    match inst.call(
        "flood",
        &[Value::I32(addr.len() as i32), Value::I32(10_000)],
    ) {
        Err(Error::LimitExceeded {
            kind: LimitKind::Fds,
            limit: 64,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // Without a descriptor limit the host's own bound applies (1024 sockets per network):
    // the connect past it answers ENFILE (-41) at once. The server side accepts and closes.
    drop(inst);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    listener.set_nonblocking(true).unwrap();
    let accepting = std::thread::spawn(move || {
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            match listener.accept() {
                Ok((s, _)) => drop(s),
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
            }
        }
    });
    let mut unbounded = instance("net:connect", None);
    put_text(&mut unbounded, 64, &addr);
    let r = call(&mut unbounded, "flood", &[addr.len() as i32, 1100]);
    assert_eq!(r, -41);
    drop(unbounded);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    accepting.join().unwrap();
}

/// Addresses of sockets that have none, names resolved by the host, and a host without a
/// network or a guest without memory: each a documented error, never a trap.
#[test]
fn addresses_names_and_missing_pieces() {
    use kernel_wasm::net::Network;
    let runtime = Runtime::default();
    let module = runtime
        .load(&wat::parse_str(GUEST).unwrap(), Some("hostile"))
        .unwrap();
    // A listener handed over as descriptor 3.
    let listener = kernel_wasm::hosted::net::StdNetwork::default()
        .listen("127.0.0.1:0".parse().unwrap(), 4)
        .unwrap();
    let port = listener.local_addr().port();
    let mut config =
        InstanceConfig::new(platform_with_console(Arc::new(CaptureConsole::default())));
    config.caps = CapSet::parse("net:connect").unwrap();
    config.sockets = vec![kernel_wasm::wasi::SocketPreopen::new(Arc::from(listener))];
    let mut inst = runtime.instantiate(&module, config).unwrap();
    let read_text = |inst: &mut kernel_wasm::Instance, len: i32| -> String {
        let bytes = (0..len)
            .map(|i| match inst.call("get", &[Value::I32(100 + i)]) {
                Ok(CallOutcome::Returned(v)) => match v.as_slice() {
                    [Value::I32(b)] => *b as u8,
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            })
            .collect::<Vec<u8>>();
        String::from_utf8(bytes).unwrap()
    };
    // A listener has a local address and no peer.
    let n = call(&mut inst, "local", &[3, 100, 64]);
    assert_eq!(read_text(&mut inst, n), format!("127.0.0.1:{port}"));
    assert_eq!(call(&mut inst, "peer", &[3, 100, 64]), -53, "ENOTCONN");
    // A host name the host resolves (`localhost`) connects to the listener.
    let target = format!("localhost:{port}");
    put_text(&mut inst, 64, &target);
    let fd = call(&mut inst, "connect", &[64, target.len() as i32]);
    assert!(fd >= 4, "{fd}");
    let n = call(&mut inst, "local", &[fd, 100, 64]);
    assert!(read_text(&mut inst, n).starts_with("127.0.0.1:"));
    let n = call(&mut inst, "peer", &[fd, 100, 64]);
    assert_eq!(read_text(&mut inst, n), format!("127.0.0.1:{port}"));

    // Without a network: ENETDOWN.
    let mut platform = platform_with_console(Arc::new(CaptureConsole::default()));
    platform.net = None;
    let mut config = InstanceConfig::new(platform);
    config.caps = CapSet::parse("net:connect").unwrap();
    let mut offline = runtime.instantiate(&module, config).unwrap();
    put_text(&mut offline, 64, &target);
    assert_eq!(
        call(&mut offline, "connect", &[64, target.len() as i32]),
        -38,
        "ENETDOWN"
    );

    // A guest without memory: EFAULT from every function.
    let memoryless = runtime
        .load(
            &wat::parse_str(
                r#"(module
      (import "net" "connect" (func $connect (param i32 i32) (result i32)))
      (import "net" "local_addr" (func $local (param i32 i32 i32) (result i32)))
      (func (export "connect") (result i32) (call $connect (i32.const 0) (i32.const 4)))
      (func (export "local") (result i32) (call $local (i32.const 3) (i32.const 0) (i32.const 4))))"#,
            )
            .unwrap(),
            Some("memoryless"),
        )
        .unwrap();
    let mut config =
        InstanceConfig::new(platform_with_console(Arc::new(CaptureConsole::default())));
    config.caps = CapSet::parse("net:connect").unwrap();
    let mut inst = runtime.instantiate(&memoryless, config).unwrap();
    assert_eq!(call(&mut inst, "connect", &[]), -21, "EFAULT");
    assert_eq!(call(&mut inst, "local", &[]), -21, "EFAULT");
}
