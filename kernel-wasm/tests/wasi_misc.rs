//! WASI preview1 arguments, environment, clocks, random, poll, process and socket functions, and
//! stdio: results and error paths (capabilities, bad ids and descriptors, short and out-of-bounds
//! buffers), with wasmtime's errno values.

mod wasi_support;

use std::time::Instant;

use kernel_wasm::{CallOutcome, CapSet};
use wasi_support::*;

fn no_caps() -> Setup {
    Setup {
        caps: CapSet::none(),
        env: vec![("K".into(), "V".into())],
        ..Setup::default()
    }
}

#[test]
fn args_and_environ() {
    let mut t = W::with(Setup {
        args: vec!["prog".into(), "a b".into()],
        env: vec![("K".into(), "V".into()), ("EMPTY".into(), String::new())],
        ..Setup::default()
    });
    assert_eq!(t.wasi("args_sizes_get", &[0, 4]), SUCCESS);
    assert_eq!((t.u32(0), t.u32(4)), (2, 9));
    assert_eq!(t.wasi("args_get", &[16, 100]), SUCCESS);
    assert_eq!((t.u32(16), t.u32(20)), (100, 105));
    assert_eq!(t.bytes(100, 9), b"prog\0a b\0");
    assert_eq!(t.wasi("environ_sizes_get", &[0, 4]), SUCCESS);
    assert_eq!((t.u32(0), t.u32(4)), (2, 11));
    assert_eq!(t.wasi("environ_get", &[16, 200]), SUCCESS);
    assert_eq!((t.u32(16), t.u32(20)), (200, 204));
    assert_eq!(t.bytes(200, 11), b"K=V\0EMPTY=\0");
    t.trap("args_get", &[65534, 100]);
    t.trap("args_get", &[16, 65530]);
    t.trap("environ_sizes_get", &[0, 65534]);
}

#[test]
fn environ_needs_the_env_capability() {
    let mut t = W::with(no_caps());
    t.put(0, &[0xaa; 16]);
    assert_eq!(t.wasi("environ_sizes_get", &[0, 4]), NOTCAPABLE);
    assert_eq!(t.wasi("environ_get", &[0, 8]), NOTCAPABLE);
    assert_eq!(t.bytes(0, 16), [0xaa; 16], "nothing written");
    // Arguments need no capability.
    assert_eq!(t.wasi("args_sizes_get", &[0, 4]), SUCCESS);
}

#[test]
fn clocks() {
    let mut t = W::new();
    assert_eq!(t.wasi("clock_time_get", &[0, 0, 8]), SUCCESS);
    assert!(t.u64(8) > 1_577_836_800_000_000_000, "realtime after 2020");
    assert_eq!(t.wasi("clock_time_get", &[1, 0, 8]), SUCCESS);
    let first = t.u64(8);
    assert_eq!(t.wasi("clock_time_get", &[1, 0, 8]), SUCCESS);
    assert!(t.u64(8) >= first && first > 0);
    assert_eq!(t.wasi("clock_res_get", &[1, 8]), SUCCESS);
    assert!(t.u64(8) >= 1);
    // As wasmtime: the CPU-time clocks are EBADF, unknown ids EINVAL.
    assert_eq!(t.wasi("clock_time_get", &[2, 0, 8]), BADF);
    assert_eq!(t.wasi("clock_res_get", &[3, 8]), BADF);
    assert_eq!(t.wasi("clock_time_get", &[4, 0, 8]), INVAL);
    t.trap("clock_time_get", &[1, 0, 65532]);
    t.trap("clock_time_get", &[1, 0, 4]);
    let mut t = W::with(no_caps());
    t.put64(8, 7);
    assert_eq!(t.wasi("clock_time_get", &[1, 0, 8]), NOTCAPABLE);
    assert_eq!(t.wasi("clock_res_get", &[0, 8]), NOTCAPABLE);
    assert_eq!(t.u64(8), 7);
}

#[test]
fn random() {
    let mut t = W::new();
    assert_eq!(t.wasi("random_get", &[100, 64]), SUCCESS);
    let a = t.bytes(100, 64);
    assert_eq!(t.wasi("random_get", &[100, 64]), SUCCESS);
    assert_ne!(a, t.bytes(100, 64));
    assert_ne!(a, vec![0u8; 64]);
    assert_eq!(t.wasi("random_get", &[100, 0]), SUCCESS);
    t.trap("random_get", &[65000, 1000]);
    let mut t = W::with(no_caps());
    assert_eq!(t.wasi("random_get", &[100, 16]), NOTCAPABLE);
    assert_eq!(t.bytes(100, 16), vec![0u8; 16]);
}

/// Writes a clock subscription at `at`.
fn clock_sub(t: &mut W, at: u32, userdata: u64, id: u32, timeout: u64, abs: bool) {
    t.put64(at, userdata);
    t.put(at + 8, &[0]);
    t.put32(at + 16, id);
    t.put64(at + 24, timeout);
    t.put64(at + 32, 0);
    t.put(at + 40, &[u8::from(abs), 0]);
}

fn fd_sub(t: &mut W, at: u32, userdata: u64, tag: u8, fd: u32) {
    t.put64(at, userdata);
    t.put(at + 8, &[tag]);
    t.put32(at + 16, fd);
}

#[test]
fn poll_clocks_really_wait() {
    let mut t = W::new();
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 0, 8]), INVAL);
    // A lone relative clock sleeps and reports nbytes = 1 (as wasmtime).
    clock_sub(&mut t, 1024, 42, 1, 20_000_000, false);
    let start = Instant::now();
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 1, 8]), SUCCESS);
    assert!(start.elapsed().as_millis() >= 20);
    assert_eq!((t.u32(8), t.u64(2048), t.u8(2048 + 10)), (1, 42, 0));
    assert_eq!(t.u64(2048 + 16), 1);
    // Two clocks: only the earlier one fires.
    clock_sub(&mut t, 1024, 1, 1, 10_000_000, false);
    clock_sub(&mut t, 1072, 2, 0, 10_000_000_000, false);
    let start = Instant::now();
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 2, 8]), SUCCESS);
    let waited = start.elapsed().as_millis();
    assert!((10..5000).contains(&waited), "{waited} ms");
    assert_eq!((t.u32(8), t.u64(2048)), (1, 1));
    // An absolute monotonic deadline in the past fires at once.
    clock_sub(&mut t, 1024, 3, 1, 1, true);
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 1, 8]), SUCCESS);
    assert_eq!((t.u32(8), t.u64(2048)), (1, 3));
    // So does an absolute realtime deadline in the past (1 ns after the epoch), next to a far
    // monotonic one; a realtime deadline an hour ahead does not, so the monotonic 10 ms fires.
    clock_sub(&mut t, 1024, 4, 0, 1, true);
    clock_sub(&mut t, 1072, 5, 1, 10_000_000_000, false);
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 2, 8]), SUCCESS);
    assert_eq!((t.u32(8), t.u64(2048)), (1, 4));
    let in_an_hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        + 3_600_000_000_000;
    clock_sub(&mut t, 1024, 6, 0, in_an_hour, true);
    clock_sub(&mut t, 1072, 7, 1, 10_000_000, false);
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 2, 8]), SUCCESS);
    assert_eq!((t.u32(8), t.u64(2048)), (1, 7));
    // CPU-time clocks and unknown tags are EINVAL (with more than one subscription).
    clock_sub(&mut t, 1024, 1, 2, 0, false);
    clock_sub(&mut t, 1072, 1, 1, 0, false);
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 2, 8]), INVAL);
    fd_sub(&mut t, 1024, 1, 3, 1);
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 2, 8]), INVAL);
    t.trap("poll_oneoff", &[65500, 2048, 2, 8]);
    t.trap("poll_oneoff", &[1028, 2048, 2, 8]);
    let mut t = W::with(no_caps());
    clock_sub(&mut t, 1024, 1, 1, 0, false);
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 1, 8]), NOTCAPABLE);
    // Among other subscriptions too: nothing is reported, not even the ready stdout.
    fd_sub(&mut t, 1072, 2, 2, 1);
    t.put32(8, 0xdead);
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 2, 8]), NOTCAPABLE);
    assert_eq!(t.u32(8), 0xdead);
}

/// A lone relative clock subscription (the shortcut that reports nbytes = 1) is validated like
/// any other: an unknown or CPU-time clock id, or unknown flag bits, are EINVAL without sleeping
/// and nothing is written.
#[test]
fn poll_single_clock_subscription_is_validated() {
    let mut t = W::new();
    for id in [2, 3, 4, 7, u32::MAX] {
        clock_sub(&mut t, 1024, 9, id, 50_000_000, false);
        t.put32(8, 0xdead);
        assert_eq!(
            t.wasi("poll_oneoff", &[1024, 2048, 1, 8]),
            INVAL,
            "clock {id}"
        );
        assert_eq!(t.u32(8), 0xdead, "clock {id}: nothing written");
    }
    clock_sub(&mut t, 1024, 9, 1, 50_000_000, false);
    t.put(1024 + 40, &[2, 0]);
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 1, 8]), INVAL, "flags");
    // The same subscription with a known clock still sleeps and fires.
    clock_sub(&mut t, 1024, 9, 0, 1_000_000, false);
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 1, 8]), SUCCESS);
    assert_eq!((t.u32(8), t.u64(2048)), (1, 9));
}

#[test]
fn poll_descriptors_are_ready_at_once() {
    let mut t = W::new();
    t.host_write("f", b"abc");
    let fd = t.open("f", 0, FD_READ, 0).unwrap();
    fd_sub(&mut t, 1024, 10, 2, 1); // stdout writable
    clock_sub(&mut t, 1072, 11, 1, 10_000_000_000, false);
    fd_sub(&mut t, 1120, 12, 1, fd); // file readable
    let start = Instant::now();
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 3, 8]), SUCCESS);
    assert!(start.elapsed().as_secs() < 5);
    assert_eq!(t.u32(8), 2);
    assert_eq!((t.u64(2048), t.u8(2058), t.u64(2064)), (10, 2, 1));
    assert_eq!((t.u64(2080), t.u8(2090), t.u16_flags(2104)), (12, 1, 0));
    // At end of file a read subscription reports HANGUP.
    assert_eq!(t.wasi("fd_seek", &[i64::from(fd), 0, 2, 16]), SUCCESS);
    assert_eq!(t.wasi("poll_oneoff", &[1120, 2048, 1, 8]), SUCCESS);
    assert_eq!(t.u16_flags(2048 + 24), 1);
    // A descriptor that cannot be polled fails the call.
    fd_sub(&mut t, 1024, 10, 1, 99);
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 1, 8]), BADF);
    fd_sub(&mut t, 1024, 10, 1, 3);
    assert_eq!(t.wasi("poll_oneoff", &[1024, 2048, 1, 8]), BADF);
}

trait Flags {
    fn u16_flags(&mut self, at: u32) -> u16;
}

impl Flags for W {
    fn u16_flags(&mut self, at: u32) -> u16 {
        u16::from(self.u8(at)) | (u16::from(self.u8(at + 1)) << 8)
    }
}

#[test]
fn proc_and_sched() {
    let mut t = W::new();
    assert_eq!(t.wasi("sched_yield", &[]), SUCCESS);
    assert_eq!(t.wasi("proc_raise", &[6]), NOTSUP);
    assert!(matches!(
        t.outcome("proc_exit", &[7]),
        Ok(CallOutcome::Exited(7))
    ));
    let mut t = W::new();
    let text = t.trap("proc_exit", &[126]);
    assert!(text.contains("invalid exit status"), "{text}");
}

#[test]
fn sockets_are_not_available() {
    let mut t = W::new();
    assert_eq!(t.wasi("sock_accept", &[3, 0, 8]), NOTSOCK);
    assert_eq!(t.wasi("sock_accept", &[30, 0, 8]), BADF);
    assert_eq!(t.wasi("sock_accept", &[3, 64, 8]), INVAL);
    assert_eq!(t.wasi("sock_recv", &[0, 512, 1, 0, 8, 12]), NOTSOCK);
    assert_eq!(t.wasi("sock_recv", &[30, 512, 1, 0, 8, 12]), BADF);
    assert_eq!(t.wasi("sock_send", &[1, 512, 1, 0, 8]), NOTSOCK);
    assert_eq!(t.wasi("sock_shutdown", &[1, 3]), NOTSOCK);
    assert_eq!(t.wasi("sock_shutdown", &[1, 4]), INVAL);
    assert_eq!(t.wasi("sock_shutdown", &[31, 1]), BADF);
}

#[test]
fn stdio() {
    let mut t = W::with(Setup {
        stdin: b"input!".to_vec(),
        ..Setup::default()
    });
    assert_eq!(t.write(1, b"out "), (SUCCESS, 4));
    assert_eq!(t.write(2, b"err"), (SUCCESS, 3));
    assert_eq!(t.console.text(), "out err");
    // Only the first non-empty iovec is written per call (as wasmtime).
    t.put(4096, b"abcdef");
    for (i, (buf, len)) in [(4096u32, 0u32), (4096, 2), (4099, 3)].iter().enumerate() {
        t.put32(512 + 8 * i as u32, *buf);
        t.put32(516 + 8 * i as u32, *len);
    }
    assert_eq!(t.wasi("fd_write", &[1, 512, 3, 8]), SUCCESS);
    assert_eq!(t.u32(8), 2);
    assert_eq!(t.console.text(), "out errab");
    assert_eq!(t.wasi("fd_write", &[1, 512, 1, 8]), SUCCESS);
    assert_eq!(t.u32(8), 0);
    assert_eq!(t.read(0, 3).unwrap(), b"inp");
    assert_eq!(t.read(0, 10).unwrap(), b"ut!");
    assert_eq!(t.read(0, 10).unwrap(), b"");
    // fdstat of stdio: not a terminal here, read or write rights only.
    assert_eq!(t.wasi("fd_fdstat_get", &[1, 64]), SUCCESS);
    assert_eq!(
        (t.u8(64), t.u64(72), t.u64(80)),
        (0, FD_WRITE as u64, FD_WRITE as u64)
    );
    assert_eq!(t.wasi("fd_fdstat_get", &[0, 64]), SUCCESS);
    assert_eq!(t.u64(72), FD_READ as u64);
    assert_eq!(t.wasi("fd_fdstat_get", &[3, 64]), SUCCESS);
    assert_eq!(t.u8(64), 3);
    assert_eq!(t.wasi("fd_fdstat_get", &[8, 64]), BADF);
    t.trap("fd_fdstat_get", &[1, 65530]);
    // Closing stdout makes writes EBADF; a write with nwritten outside memory traps.
    t.trap("fd_write", &[2, 512, 1, 65534]);
    assert_eq!(t.wasi("fd_close", &[1]), SUCCESS);
    assert_eq!(t.write(1, b"x"), (BADF, 0));
}
