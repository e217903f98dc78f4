//! Probes of a hostile guest against every host function: arithmetic on guest numbers near their
//! limits, huge counts and sizes, odd buffers, paths and descriptors, agent messages and
//! pointers, modules without memory and host calls from a start function. Each test asserts the
//! exact errno, error code or trap the host answers with (never a host panic, an out-of-bounds
//! host access, an allocation a guest number decides, or a lost message).

mod common;
mod wasi_support;

use std::sync::Arc;

use kernel_wasm::agents::{abi, AgentState, SystemConfig};
use kernel_wasm::hosted::{platform_with_console, CaptureConsole};
use kernel_wasm::{CallOutcome, Error, Instance, InstanceConfig, Runtime, Value};
use wasi_support::*;

const NOSPC: i32 = 51;

/// Memory of the harness module: one 64 KiB page.
const MEM: i64 = 65536;
/// A scratch region the harness helpers do not use (zeroed at start).
const FREE: u32 = 16384;

// ---- WASI: sizes and offsets -----------------------------------------------------------------

fn zero_length_writes_do_not_grow_files(backend: Backend) {
    let mut t = W::on(backend);
    let fd = t.open("f", CREAT, FD_READ | FD_WRITE | FD_SEEK, 0).unwrap();
    let fd64 = i64::from(fd);
    assert_eq!(t.wasi("fd_seek", &[fd64, 1000, 0, 16]), SUCCESS);
    // One empty iovec, and 1024 empty ones: nothing written, the file stays empty.
    assert_eq!(t.write(fd, b""), (SUCCESS, 0));
    assert_eq!(
        t.wasi("fd_write", &[fd64, i64::from(FREE), 1024, 8]),
        SUCCESS
    );
    assert_eq!(t.u32(8), 0);
    t.put32(512, 4096);
    t.put32(516, 0);
    assert_eq!(t.wasi("fd_pwrite", &[fd64, 512, 1, 1 << 40, 8]), SUCCESS);
    assert_eq!(t.u32(8), 0);
    assert_eq!(t.host_read("f").unwrap(), b"");
    assert_eq!(t.wasi("fd_filestat_get", &[fd64, 64]), SUCCESS);
    assert_eq!(t.u64(64 + 32), 0, "size");
}

on_both_backends!(zero_length_writes_do_not_grow_files);

fn offsets_beyond_i64_max_are_einval(backend: Backend) {
    let mut t = W::on(backend);
    let fd = t.open("f", CREAT, FD_READ | FD_WRITE | FD_SEEK, 0).unwrap();
    let fd64 = i64::from(fd);
    assert_eq!(t.write(fd, b"abc"), (SUCCESS, 3));
    // fd_seek: i64::MAX is the last position; one more is EINVAL and the position stays.
    assert_eq!(t.wasi("fd_seek", &[fd64, i64::MAX, 0, 16]), SUCCESS);
    assert_eq!(t.u64(16), i64::MAX as u64);
    assert_eq!(t.wasi("fd_seek", &[fd64, 1, 1, 16]), INVAL);
    assert_eq!(t.wasi("fd_seek", &[fd64, i64::MAX, 1, 16]), INVAL);
    assert_eq!(t.wasi("fd_seek", &[fd64, i64::MAX, 2, 16]), INVAL);
    assert_eq!(t.wasi("fd_tell", &[fd64, 16]), SUCCESS);
    assert_eq!(t.u64(16), i64::MAX as u64);
    // Reading or writing at the last position: EINVAL unless the range is empty (Linux
    // `rw_verify_area`: offset + length must stay within off_t).
    assert_eq!(t.read(fd, 16), Err(INVAL));
    assert_eq!(t.write(fd, b"x"), (INVAL, 0));
    assert_eq!(t.read(fd, 0).unwrap(), b"");
    assert_eq!(t.write(fd, b""), (SUCCESS, 0));
    assert_eq!(t.wasi("fd_seek", &[fd64, i64::MAX - 1, 0, 16]), SUCCESS);
    assert_eq!(t.read(fd, 1).unwrap(), b"");
    assert_eq!(t.read(fd, 2), Err(INVAL));
    // pread/pwrite/ftruncate with u64::MAX and 2^63 (negative off_t).
    t.put32(512, 4096);
    t.put32(516, 4);
    assert_eq!(
        t.wasi("fd_pread", &[fd64, 512, 1, i64::MAX - 4, 8]),
        SUCCESS
    );
    assert_eq!(t.u32(8), 0);
    assert_eq!(t.wasi("fd_pread", &[fd64, 512, 1, i64::MAX - 3, 8]), INVAL);
    assert_eq!(t.wasi("fd_pwrite", &[fd64, 512, 1, i64::MAX - 3, 8]), INVAL);
    for offset in [-1i64, i64::MIN] {
        assert_eq!(t.wasi("fd_pread", &[fd64, 512, 1, offset, 8]), INVAL);
        assert_eq!(t.wasi("fd_pwrite", &[fd64, 512, 1, offset, 8]), INVAL);
        assert_eq!(t.wasi("fd_filestat_set_size", &[fd64, offset]), INVAL);
    }
    // An append-mode pwrite ignores its offset but still checks it (Linux).
    let app = t.open("f", 0, FD_WRITE, APPEND).unwrap();
    assert_eq!(t.wasi("fd_pwrite", &[i64::from(app), 512, 1, -1, 8]), INVAL);
    assert_eq!(t.host_read("f").unwrap(), b"abc");
}

on_both_backends!(offsets_beyond_i64_max_are_einval);

#[test]
fn huge_sizes_and_offsets_hit_the_memfs_byte_budget() {
    let mut t = W::new();
    let fd = t.open("f", CREAT, FD_READ | FD_WRITE | FD_SEEK, 0).unwrap();
    let fd64 = i64::from(fd);
    // The harness MemFs holds 1 MiB.
    assert_eq!(t.wasi("fd_filestat_set_size", &[fd64, 1 << 40]), NOSPC);
    assert_eq!(t.wasi("fd_filestat_set_size", &[fd64, i64::MAX]), NOSPC);
    assert_eq!(
        t.wasi("fd_filestat_set_size", &[fd64, (1 << 20) + 1]),
        NOSPC
    );
    t.put(4096, b"x");
    t.put32(512, 4096);
    t.put32(516, 1);
    assert_eq!(t.wasi("fd_pwrite", &[fd64, 512, 1, 1 << 40, 8]), NOSPC);
    assert_eq!(t.wasi("fd_pwrite", &[fd64, 512, 1, i64::MAX - 1, 8]), NOSPC);
    assert_eq!(t.wasi("fd_seek", &[fd64, i64::MAX - 1, 0, 16]), SUCCESS);
    assert_eq!(t.write(fd, b"x"), (NOSPC, 0));
    // fd_allocate is not implemented: nothing is reserved whatever the size.
    assert_eq!(t.wasi("fd_allocate", &[fd64, 0, -1]), NOTSUP);
    assert_eq!(t.wasi("fd_allocate", &[fd64, -1, -1]), NOTSUP);
    assert_eq!(t.host_read("f").unwrap(), b"");
    // What fits still works.
    assert_eq!(t.wasi("fd_filestat_set_size", &[fd64, 1 << 19]), SUCCESS);
    assert_eq!(t.wasi("fd_filestat_set_size", &[fd64, 0]), SUCCESS);
}

#[test]
fn a_hard_link_flood_stops_at_the_node_budget() {
    let mut t = W::new();
    t.host_write("f", b"data");
    let [op, ol] = t.path_at(3000, "f");
    // The harness MemFs has 1000 node slots; root, sandbox, secret and f use 4.
    let mut made = 0;
    let errno = loop {
        let [np, nl] = t.path_at(3100, &format!("l{made}"));
        match t.wasi("path_link", &[3, 0, op, ol, 3, np, nl]) {
            SUCCESS => made += 1,
            e => break e,
        }
        assert!(made <= 1000, "links are not bounded");
    };
    assert_eq!((errno, made), (NOSPC, 996));
    // Each name gives its slot back when removed.
    let [p, l] = t.path_at(3100, "l0");
    assert_eq!(t.wasi("path_unlink_file", &[3, p, l]), SUCCESS);
    let [np, nl] = t.path_at(3100, "again");
    assert_eq!(t.wasi("path_link", &[3, 0, op, ol, 3, np, nl]), SUCCESS);
    assert_eq!(t.host_read("again").unwrap(), b"data");
}

#[test]
fn a_symlink_flood_stops_at_the_byte_budget() {
    let mut t = W::new();
    // 4 KiB targets: the 1 MiB budget holds fewer than 256 of them (the node budget, 1000,
    // would allow 996).
    let target = "t/".repeat(2048);
    let [tp, tl] = t.path_at(8192, &target);
    let mut made = 0;
    let errno = loop {
        let [np, nl] = t.path_at(3100, &format!("s{made}"));
        match t.wasi("path_symlink", &[tp, tl, 3, np, nl]) {
            SUCCESS => made += 1,
            e => break e,
        }
        assert!(
            made <= 256,
            "symlink targets are not charged to the byte budget"
        );
    };
    assert_eq!(errno, NOSPC);
    assert!(made >= 250, "{made}");
    // The budget is shared with file data: a file cannot grow now...
    let fd = t.open("f", CREAT, FD_READ | FD_WRITE, 0).unwrap();
    assert_eq!(t.write(fd, &[7; 4096]), (NOSPC, 0));
    // ...until links are removed.
    for i in 0..2 {
        let [p, l] = t.path_at(3100, &format!("s{i}"));
        assert_eq!(t.wasi("path_unlink_file", &[3, p, l]), SUCCESS);
    }
    assert_eq!(t.write(fd, &[7; 4096]), (SUCCESS, 4096));
}

// ---- WASI: counts and buffers ----------------------------------------------------------------

#[test]
fn iovec_counts_and_bounds() {
    let mut t = W::new();
    let fd = t.open("f", CREAT, FD_READ | FD_WRITE, 0).unwrap();
    let fd64 = i64::from(fd);
    t.put32(512, 4096);
    t.put32(516, 4);
    for count in [1025i64, i64::from(u32::MAX)] {
        assert_eq!(t.wasi("fd_write", &[1, 512, count, 8]), INVAL);
        assert_eq!(t.wasi("fd_read", &[fd64, 512, count, 8]), INVAL);
        assert_eq!(t.wasi("fd_pread", &[fd64, 512, count, 0, 8]), INVAL);
        assert_eq!(t.wasi("fd_pwrite", &[fd64, 512, count, 0, 8]), INVAL);
    }
    // 1024 (IOV_MAX) is accepted.
    assert_eq!(
        t.wasi("fd_read", &[fd64, i64::from(FREE), 1024, 8]),
        SUCCESS
    );
    // The iovec array itself, and the buffer an iovec names, are bounds-checked: traps.
    assert!(t
        .trap("fd_write", &[1, MEM - 4, 1, 8])
        .contains("outside linear memory"));
    assert!(t.trap("fd_write", &[1, 513, 1, 8]).contains("aligned"));
    t.put32(512, 0xffff_fff0);
    t.put32(516, 0x20);
    assert!(t
        .trap("fd_write", &[1, 512, 1, 8])
        .contains("outside linear memory"));
    t.put32(512, 65000);
    t.put32(516, 1000);
    assert!(t
        .trap("fd_pwrite", &[fd64, 512, 1, 0, 8])
        .contains("outside linear memory"));
    assert!(t
        .trap("random_get", &[65000, 1000])
        .contains("outside linear memory"));
    assert_eq!(t.wasi("random_get", &[MEM, 0]), SUCCESS);
    assert_eq!(t.host_read("f").unwrap(), b"");
}

#[test]
fn poll_oneoff_subscription_counts() {
    let mut t = W::new();
    let (subs, events) = (i64::from(FREE), 32768);
    // Zeroed memory is a valid subscription: a relative realtime clock with timeout 0.
    assert_eq!(t.wasi("poll_oneoff", &[subs, events, 0, 8]), INVAL);
    for huge in [4097, i64::from(u32::MAX)] {
        assert_eq!(t.wasi("poll_oneoff", &[subs, events, huge, 8]), INVAL);
    }
    assert_eq!(t.wasi("poll_oneoff", &[subs, events, 300, 8]), SUCCESS);
    assert_eq!(t.u32(8), 300);
    // An array running off the end of memory traps (before anything is written).
    t.put32(8, 77);
    assert!(t
        .trap("poll_oneoff", &[MEM - 48, events, 2, 8])
        .contains("outside linear memory"));
    assert_eq!(t.u32(8), 77);
    // ... as does an events array without room for the ready events.
    assert!(t
        .trap("poll_oneoff", &[subs, MEM - 32, 2, 8])
        .contains("outside linear memory"));
}

fn fd_readdir_tiny_buffers_and_odd_cookies(backend: Backend) {
    let mut t = W::on(backend);
    t.host_write("a", b"");
    t.host_write("b", b"");
    let buf = i64::from(FREE);
    let readdir = |t: &mut W, len: i64, cookie: i64| -> u32 {
        t.put32(8, 0xdead);
        assert_eq!(t.wasi("fd_readdir", &[3, buf, len, cookie, 8]), SUCCESS);
        t.u32(8)
    };
    // A buffer too small for one header is filled (bufused == buf_len: retry with more).
    for len in [0, 1, 23, 24, 25] {
        assert_eq!(readdir(&mut t, len, 0), len as u32);
    }
    // Cookie 2 starts after `.` and `..`: the entry `a` (d_next 3, d_namlen 1).
    assert_eq!(readdir(&mut t, 25, 2), 25);
    assert_eq!((t.u64(FREE), t.u32(FREE + 16)), (3, 1));
    assert_eq!(t.u8(FREE + 24), b'a');
    // Cookie 3: `b`, the last entry; a buffer for exactly one dirent gets just it.
    assert_eq!(readdir(&mut t, 25, 3), 25);
    assert_eq!((t.u64(FREE), t.u8(FREE + 24)), (4, b'b'));
    // A whole listing from cookie 0 in a large buffer: `.`, `..`, `a`, `b`.
    assert_eq!(readdir(&mut t, 4096, 0), 4 * 24 + 1 + 2 + 1 + 1);
    // Cookies at or past the end list nothing.
    for cookie in [4, 1 << 40, i64::MAX, -1] {
        assert_eq!(readdir(&mut t, 4096, cookie), 0, "cookie {cookie}");
    }
    // The buffer is bounds-checked when written: up to the end of memory is fine, past it traps.
    assert_eq!(t.wasi("fd_readdir", &[3, MEM - 6, 6, 0, 8]), SUCCESS);
    assert_eq!(t.u32(8), 6);
    assert!(t
        .trap("fd_readdir", &[3, MEM - 6, 7, 0, 8])
        .contains("outside linear memory"));
    assert!(t
        .trap("fd_readdir", &[3, buf, 4096, 0, 65534])
        .contains("aligned"));
}

on_both_backends!(fd_readdir_tiny_buffers_and_odd_cookies);

// ---- WASI: paths -----------------------------------------------------------------------------

/// The errno of every path function given `path` (each other path argument valid; for the
/// two-path functions, `path` in each position in turn).
fn path_errnos(t: &mut W, path: &str) -> Vec<(&'static str, i32)> {
    t.host_write("file", b"x");
    let [p, l] = t.path_at(2048, path);
    let [fp, fl] = t.path_at(7000, "file");
    let [np, nl] = t.path_at(7100, "new");
    vec![
        (
            "path_open",
            t.wasi("path_open", &[3, FOLLOW, p, l, CREAT, ALL, ALL, 0, 0]),
        ),
        (
            "path_create_directory",
            t.wasi("path_create_directory", &[3, p, l]),
        ),
        (
            "path_filestat_get",
            t.wasi("path_filestat_get", &[3, FOLLOW, p, l, 64]),
        ),
        (
            "path_filestat_set_times",
            t.wasi("path_filestat_set_times", &[3, 0, p, l, 0, 0, 0]),
        ),
        ("path_unlink_file", t.wasi("path_unlink_file", &[3, p, l])),
        (
            "path_remove_directory",
            t.wasi("path_remove_directory", &[3, p, l]),
        ),
        (
            "path_readlink",
            t.wasi("path_readlink", &[3, p, l, 4096, 64, 8]),
        ),
        (
            "path_symlink new",
            t.wasi("path_symlink", &[fp, fl, 3, p, l]),
        ),
        (
            "path_link old",
            t.wasi("path_link", &[3, 0, p, l, 3, np, nl]),
        ),
        (
            "path_link new",
            t.wasi("path_link", &[3, 0, fp, fl, 3, p, l]),
        ),
        (
            "path_rename old",
            t.wasi("path_rename", &[3, p, l, 3, np, nl]),
        ),
        (
            "path_rename new",
            t.wasi("path_rename", &[3, fp, fl, 3, p, l]),
        ),
    ]
}

fn every(errno: i32) -> Vec<i32> {
    vec![errno; 12]
}

fn errnos_only(v: Vec<(&'static str, i32)>) -> Vec<i32> {
    v.into_iter().map(|(_, e)| e).collect()
}

fn bad_paths(backend: Backend) {
    // Empty: ENOENT everywhere (POSIX).
    let mut t = W::on(backend);
    assert_eq!(errnos_only(path_errnos(&mut t, "")), every(NOENT), "empty");
    // NUL inside: EINVAL.
    let mut t = W::on(backend);
    assert_eq!(
        errnos_only(path_errnos(&mut t, "a\0b")),
        every(INVAL),
        "NUL"
    );
    // Escapes: EPERM.
    for escape in ["..", "../secret", "/secret", "/", "./../x"] {
        let mut t = W::on(backend);
        let got = path_errnos(&mut t, escape);
        for (func, errno) in got {
            assert_eq!(errno, PERM, "{escape:?} via {func}");
        }
    }
    // Longer than PATH_MAX (4096): ENAMETOOLONG, before anything is looked up.
    let mut t = W::on(backend);
    let long = "d/".repeat(2048) + "x";
    assert_eq!(
        errnos_only(path_errnos(&mut t, &long)),
        every(NAMETOOLONG),
        "long path"
    );
    // A component longer than NAME_MAX (255): ENAMETOOLONG; 255 is fine.
    let mut t = W::on(backend);
    let name = "n".repeat(256);
    let [p, l] = t.path(&name);
    assert_eq!(t.wasi("path_create_directory", &[3, p, l]), NAMETOOLONG);
    assert_eq!(
        t.wasi("path_open", &[3, 0, p, l, CREAT, ALL, ALL, 0, 0]),
        NAMETOOLONG
    );
    let [p, l] = t.path(&name[1..]);
    assert_eq!(t.wasi("path_create_directory", &[3, p, l]), SUCCESS);
    // Not UTF-8: EILSEQ; a length past memory: a trap.
    t.put(2048, b"\xff\xfe");
    assert_eq!(t.wasi("path_create_directory", &[3, 2048, 2]), ILSEQ);
    assert!(t
        .trap("path_create_directory", &[3, 2048, i64::from(u32::MAX)])
        .contains("outside linear memory"));
    // An empty symlink target is ENOENT (symlink(2)).
    let [np, nl] = t.path_at(7100, "empty-link");
    assert_eq!(t.wasi("path_symlink", &[7000, 0, 3, np, nl]), NOENT);
    // Nothing was created outside the sandbox.
    assert_eq!(
        t.fs.lookup(t.fs.root(), "new"),
        Err(kernel_wasm::VfsError::NotFound)
    );
}

on_both_backends!(bad_paths);

fn symlink_loops_are_eloop(backend: Backend) {
    let mut t = W::on(backend);
    let link = |t: &mut W, target: &str, name: &str| {
        let [tp, tl] = t.path_at(3000, target);
        let [np, nl] = t.path_at(3100, name);
        assert_eq!(t.wasi("path_symlink", &[tp, tl, 3, np, nl]), SUCCESS);
    };
    link(&mut t, "self", "self");
    link(&mut t, "pong", "ping");
    link(&mut t, "ping", "pong");
    for path in ["self", "ping", "self/x", "ping/x/y", "pong/"] {
        let [p, l] = t.path(path);
        assert_eq!(
            t.wasi("path_open", &[3, FOLLOW, p, l, 0, FD_READ, 0, 0, 0]),
            LOOP,
            "open {path}"
        );
        assert_eq!(
            t.wasi("path_open", &[3, FOLLOW, p, l, CREAT, FD_READ, 0, 0, 0]),
            LOOP,
            "create {path}"
        );
        assert_eq!(
            t.wasi("path_filestat_get", &[3, FOLLOW, p, l, 64]),
            LOOP,
            "stat {path}"
        );
    }
    // A chain of 41 links is too long to follow, 40 is not (Linux's MAXSYMLINKS).
    t.host_write("end", b"end");
    link(&mut t, "end", "c40");
    for i in (0..40).rev() {
        link(&mut t, &format!("c{}", i + 1), &format!("c{i}"));
    }
    for (path, want) in [("c1", SUCCESS), ("c0", LOOP)] {
        let [p, l] = t.path(path);
        assert_eq!(
            t.wasi("path_filestat_get", &[3, FOLLOW, p, l, 64]),
            want,
            "stat {path}"
        );
        assert_eq!(
            t.wasi("path_open", &[3, FOLLOW, p, l, 0, FD_READ, 0, 0, 0]),
            want,
            "open {path}"
        );
    }
}

on_both_backends!(symlink_loops_are_eloop);

// ---- WASI: descriptors -----------------------------------------------------------------------

#[test]
fn fd_renumber_onto_itself_preopens_and_stdio() {
    let mut t = W::new();
    let fd = t.open("f", CREAT, FD_READ | FD_WRITE, 0).unwrap();
    let fd64 = i64::from(fd);
    // Onto itself: nothing changes.
    assert_eq!(t.wasi("fd_renumber", &[fd64, fd64]), SUCCESS);
    assert_eq!(t.write(fd, b"a"), (SUCCESS, 1));
    // From a closed descriptor: EBADF, and the target is left alone.
    assert_eq!(t.wasi("fd_renumber", &[99, 1]), BADF);
    assert_eq!(t.wasi("fd_renumber", &[99, 99]), BADF);
    assert_eq!(t.write(1, b"still stdout"), (SUCCESS, 12));
    // Onto stdout: stdout is closed and writes to 1 go to the file.
    assert_eq!(t.wasi("fd_renumber", &[fd64, 1]), SUCCESS);
    assert_eq!(t.write(fd, b"x"), (BADF, 0));
    assert_eq!(t.write(1, b"b"), (SUCCESS, 1));
    assert_eq!(t.host_read("f").unwrap(), b"ab");
    assert_eq!(t.console.text(), "still stdout");
    // Onto the preopen: the sandbox is no longer reachable through 3.
    assert_eq!(t.wasi("fd_renumber", &[1, 3]), SUCCESS);
    assert_eq!(t.wasi("fd_prestat_get", &[3, 0]), BADF);
    assert_eq!(t.open("g", CREAT, FD_READ, 0), Err(NOTDIR));
    assert_eq!(t.write(3, b"c"), (SUCCESS, 1));
    assert_eq!(t.host_read("f").unwrap(), b"abc");
}

#[test]
fn fd_renumber_onto_a_number_that_is_not_open_is_badf() {
    let mut t = W::new();
    let fd = t.open("f", CREAT, FD_READ | FD_WRITE, 0).unwrap();
    // As wasmtime: the target must be open too (so no guest can push numbers to u32::MAX).
    for to in [u32::MAX, fd + 1, 100] {
        assert_eq!(
            t.wasi("fd_renumber", &[i64::from(fd), i64::from(to)]),
            BADF,
            "{to}"
        );
    }
    // The descriptor is untouched.
    assert_eq!(t.write(fd, b"still"), (SUCCESS, 5));
}

#[test]
fn closed_descriptors_stay_closed() {
    let mut t = W::new();
    let fd = t.open("f", CREAT, FD_READ | FD_WRITE, 0).unwrap();
    let fd64 = i64::from(fd);
    assert_eq!(t.wasi("fd_close", &[fd64]), SUCCESS);
    assert_eq!(t.wasi("fd_close", &[fd64]), BADF);
    assert_eq!(t.write(fd, b"x"), (BADF, 0));
    assert_eq!(t.wasi("fd_close", &[3]), SUCCESS);
    assert_eq!(t.wasi("fd_close", &[3]), BADF);
    assert_eq!(t.open("g", CREAT, FD_READ, 0), Err(BADF));
    assert_eq!(t.wasi("fd_close", &[1]), SUCCESS);
    assert_eq!(t.write(1, b"x"), (BADF, 0));
    for fd in [-1, i64::from(i32::MAX)] {
        assert_eq!(t.wasi("fd_close", &[fd]), BADF);
        assert_eq!(t.wasi("fd_fdstat_get", &[fd, 64]), BADF);
    }
}

// ---- WASI: modules and start functions -------------------------------------------------------

fn instantiate(wat: &str) -> (Result<Instance, Error>, Arc<CaptureConsole>) {
    let console = Arc::new(CaptureConsole::default());
    let runtime = Runtime::default();
    let module = runtime
        .load(&wat::parse_str(wat).unwrap(), Some("probe"))
        .unwrap();
    let mut config = InstanceConfig::new(platform_with_console(console.clone()));
    config.caps = kernel_wasm::CapSet::wasi_default();
    (runtime.instantiate(&module, config), console)
}

#[test]
fn a_start_function_can_call_wasi() {
    let (inst, console) = instantiate(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write"
            (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "args_sizes_get"
            (func $args_sizes (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 100) "hi from start\n")
          (func $start
            (i32.store (i32.const 0) (i32.const 100))
            (i32.store (i32.const 4) (i32.const 14))
            (i32.store (i32.const 200) (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (i32.store (i32.const 204) (call $args_sizes (i32.const 16) (i32.const 20))))
          (start $start)
          (func (export "result") (param i32) (result i32) (i32.load (local.get 0))))"#,
    );
    let mut inst = inst.expect("a start function calling WASI instantiates");
    assert_eq!(console.text(), "hi from start\n");
    let load = |inst: &mut Instance, addr: i32| match inst.call("result", &[Value::I32(addr)]) {
        Ok(CallOutcome::Returned(v)) => v[0],
        other => panic!("{other:?}"),
    };
    assert_eq!(load(&mut inst, 200), Value::I32(SUCCESS));
    assert_eq!(load(&mut inst, 8), Value::I32(14), "nwritten");
    assert_eq!(load(&mut inst, 204), Value::I32(SUCCESS));
    assert_eq!(
        load(&mut inst, 16),
        Value::I32(0),
        "argc (no args configured)"
    );
}

#[test]
fn a_module_without_memory_traps_on_wasi_calls_that_need_it() {
    for exports in ["", r#"(func (export "memory"))"#] {
        let (inst, _) = instantiate(&format!(
            r#"(module
              (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
              (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
              (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
              {exports}
              (func (export "close") (result i32) (call $close (i32.const 99)))
              (func (export "yield") (result i32) (call $yield))
              (func (export "exit") (call $exit (i32.const 3))))"#
        ));
        let mut inst = inst.unwrap();
        // As wasmtime: a preview1 function that takes the memory traps without one.
        match inst.call("close", &[]) {
            Err(e @ Error::HostAbort { .. }) => {
                let text = e.to_string();
                assert!(text.contains("fd_close"), "{text}");
                assert!(text.contains("exports no memory"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        // Functions that never touch memory still work.
        assert_eq!(
            inst.call("yield", &[]).unwrap(),
            CallOutcome::Returned(vec![Value::I32(SUCCESS)])
        );
        assert_eq!(inst.call("exit", &[]).unwrap(), CallOutcome::Exited(3));
    }
}

// ---- agents ----------------------------------------------------------------------------------

/// Installs `wat` as `/agents/NAME.wasm`, runs it as an agent (with `send` already queued for it
/// from the host), and returns the environment and the i32s it reported to the host.
fn run_agent(name: &str, wat: &str, send: Option<&[u8]>) -> (common::Env, u32, Vec<i32>) {
    let mut e = common::env(SystemConfig::default());
    kernel_wasm::vfs::write_file(
        &*e.platform.vfs,
        &format!("/agents/{name}.wasm"),
        &wat::parse_str(wat).unwrap(),
    )
    .unwrap();
    let id = e.spawn(name);
    if let Some(body) = send {
        e.system.send(id, body).unwrap();
    }
    e.run(1000);
    let codes = e
        .host_messages()
        .iter()
        .filter(|m| m.body.len() == 4)
        .map(|m| i32::from_le_bytes(m.body[..4].try_into().unwrap()))
        .collect();
    (e, id, codes)
}

/// The import every probe agent reports through (imports come first in a module)...
const SEND: &str =
    r#"(import "agent" "send_message" (func $send (param i32 i32 i32) (result i32)))"#;
/// ...and `$report`: sends an i32 (stored at 0) to the host.
const REPORT: &str = r#"
  (func $report (param $code i32)
    (i32.store (i32.const 0) (local.get $code))
    (drop (call $send (i32.const 0) (i32.const 0) (i32.const 4))))"#;

#[test]
fn a_message_to_self_is_queued_like_any_other() {
    let (e, id, codes) = run_agent(
        "selfie",
        &format!(
            r#"(module {SEND}
              (import "agent" "get_self_id" (func $me (result i32)))
              (import "agent" "try_receive_message" (func $try (param i32 i32 i32) (result i32)))
              (memory (export "memory") 1) {REPORT}
              (data (i32.const 100) "me")
              (func (export "agent_run") (result i32)
                (call $report (call $send (call $me) (i32.const 100) (i32.const 2)))
                (call $report (call $try (i32.const 200) (i32.const 16) (i32.const 8)))
                (call $report (i32.load (i32.const 8)))
                (call $report (i32.load16_u (i32.const 200)))
                (call $report (call $try (i32.const 200) (i32.const 16) (i32.const 8)))
                (i32.const 0)))"#
        ),
        None,
    );
    assert_eq!(e.state(id), AgentState::Exited(0));
    assert_eq!(
        codes,
        [
            abi::OK,
            2,
            id as i32,
            i32::from(u16::from_le_bytes(*b"me")),
            abi::ERR_NO_MESSAGE
        ]
    );
}

#[test]
fn message_size_limits() {
    let (e, id, codes) = run_agent(
        "sizes",
        &format!(
            r#"(module {SEND}
              (memory (export "memory") 2) {REPORT}
              (func (export "agent_run") (result i32)
                (call $report (call $send (i32.const 0) (i32.const 8) (i32.const 65537)))
                (call $report (call $send (i32.const 0) (i32.const 8) (i32.const -1)))
                (call $report (call $send (i32.const 0) (i32.const -1) (i32.const 2)))
                (call $report (call $send (i32.const 0) (i32.const 65536) (i32.const 65536)))
                (call $report (call $send (i32.const 0) (i32.const 65537) (i32.const 65536)))
                (i32.const 0)))"#
        ),
        None,
    );
    assert_eq!(e.state(id), AgentState::Exited(0));
    assert_eq!(
        codes,
        [
            abi::ERR_TOO_LARGE,
            abi::ERR_TOO_LARGE,
            abi::ERR_BAD_POINTER,
            abi::OK,
            abi::ERR_BAD_POINTER
        ]
    );
    // The 64 KiB message (the largest allowed) arrived whole.
    let big: Vec<_> = e
        .host_messages()
        .into_iter()
        .filter(|m| m.body.len() == 65536)
        .collect();
    assert_eq!(big.len(), 1);
}

#[test]
fn a_receive_into_a_bad_buffer_keeps_the_message() {
    let (e, id, codes) = run_agent(
        "badrecv",
        &format!(
            r#"(module {SEND}
              (import "agent" "try_receive_message" (func $try (param i32 i32 i32) (result i32)))
              (import "agent" "receive_message" (func $recv (param i32 i32 i32) (result i32)))
              (memory (export "memory") 1) {REPORT}
              (func (export "agent_run") (result i32)
                ;; buffer past the end, length "negative", sender misaligned / past the end
                (call $report (call $try (i32.const 65530) (i32.const 100) (i32.const 8)))
                (call $report (call $try (i32.const 64) (i32.const -1) (i32.const 8)))
                (call $report (call $try (i32.const 64) (i32.const 16) (i32.const 10)))
                (call $report (call $try (i32.const 64) (i32.const 16) (i32.const 65536)))
                ;; the blocking receive answers at once too (it does not park on a bad buffer)
                (call $report (call $recv (i32.const 65530) (i32.const 100) (i32.const 8)))
                ;; too small: the size needed at sender_ptr, message kept
                (call $report (call $try (i32.const 64) (i32.const 2) (i32.const 8)))
                (call $report (i32.load (i32.const 8)))
                ;; and finally delivered whole
                (call $report (call $try (i32.const 64) (i32.const 16) (i32.const 8)))
                (call $report (i32.load (i32.const 8)))
                (drop (call $send (i32.const 0) (i32.const 64) (i32.const 5)))
                (i32.const 0)))"#
        ),
        Some(b"hello"),
    );
    assert_eq!(e.state(id), AgentState::Exited(0));
    assert_eq!(
        codes,
        [
            abi::ERR_BAD_POINTER,
            abi::ERR_BAD_POINTER,
            abi::ERR_BAD_POINTER,
            abi::ERR_BAD_POINTER,
            abi::ERR_BAD_POINTER,
            abi::ERR_BUFFER_TOO_SMALL,
            5,
            5,
            0, // the sender: the host
        ]
    );
    let texts = e.host_texts();
    assert_eq!(texts.last().map(String::as_str), Some("[agent 1] hello"));
}

#[test]
fn oversized_spawn_and_log_arguments_are_too_large() {
    let (e, id, codes) = run_agent(
        "bigargs",
        &format!(
            r#"(module {SEND}
              (import "agent" "spawn" (func $spawn (param i32 i32 i32 i32) (result i32)))
              (import "agent" "log" (func $log (param i32 i32 i32) (result i32)))
              (memory (export "memory") 1) {REPORT}
              (func (export "agent_run") (result i32)
                (call $report (call $spawn (i32.const 0) (i32.const 4097) (i32.const 0) (i32.const 0)))
                (call $report (call $spawn (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 4097)))
                (call $report (call $spawn (i32.const 0) (i32.const -1) (i32.const 0) (i32.const -1)))
                (call $report (call $spawn (i32.const 65535) (i32.const 2) (i32.const 0) (i32.const 0)))
                (call $report (call $log (i32.const 2) (i32.const 0) (i32.const 4097)))
                (call $report (call $log (i32.const 2) (i32.const 65535) (i32.const 2)))
                (call $report (call $log (i32.const -1) (i32.const 0) (i32.const 0)))
                (i32.const 0)))"#
        ),
        None,
    );
    assert_eq!(e.state(id), AgentState::Exited(0));
    assert_eq!(
        codes,
        [
            abi::ERR_TOO_LARGE,
            abi::ERR_TOO_LARGE,
            abi::ERR_TOO_LARGE,
            abi::ERR_BAD_POINTER,
            abi::ERR_TOO_LARGE,
            abi::ERR_BAD_POINTER,
            abi::OK,
        ]
    );
    assert_eq!(e.system.list().len(), 1, "nothing was spawned");
    assert!(e.console.text().contains("[agent 1 trace] \n"));
}

#[test]
fn agent_calls_from_a_start_function_see_memory_but_no_scheduler() {
    let (e, id, codes) = run_agent(
        "starter",
        &format!(
            r#"(module {SEND}
              (import "agent" "log" (func $log (param i32 i32 i32) (result i32)))
              (import "agent" "get_self_id" (func $me (result i32)))
              (memory (export "memory") 1) {REPORT}
              (data (i32.const 100) "from start")
              (func $start
                (i32.store (i32.const 200) (call $log (i32.const 2) (i32.const 100) (i32.const 10)))
                (i32.store (i32.const 204) (call $send (i32.const 0) (i32.const 100) (i32.const 4)))
                (i32.store (i32.const 208) (call $me)))
              (start $start)
              (func (export "agent_run") (result i32)
                (call $report (i32.load (i32.const 200)))
                (call $report (i32.load (i32.const 204)))
                (call $report (i32.load (i32.const 208)))
                (i32.const 0)))"#
        ),
        None,
    );
    assert_eq!(e.state(id), AgentState::Exited(0));
    assert_eq!(codes, [abi::OK, abi::ERR_NOT_AN_AGENT, id as i32]);
    assert!(e.console.text().contains("[agent 1 info] from start\n"));
}

#[test]
fn an_agent_without_memory_gets_bad_pointer() {
    let (e, id, _) = run_agent(
        "nomem",
        r#"(module
          (import "agent" "send_message" (func $send (param i32 i32 i32) (result i32)))
          (import "agent" "try_receive_message" (func $try (param i32 i32 i32) (result i32)))
          (import "agent" "log" (func $log (param i32 i32 i32) (result i32)))
          (import "agent" "get_self_id" (func $me (result i32)))
          (func (export "agent_run") (result i32)
            (if (i32.ne (call $send (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const -7))
              (then (return (i32.const 1))))
            (if (i32.ne (call $try (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const -7))
              (then (return (i32.const 2))))
            (if (i32.ne (call $log (i32.const 0) (i32.const 0) (i32.const 0)) (i32.const -7))
              (then (return (i32.const 3))))
            (i32.add (i32.const 100) (call $me))))"#,
        None,
    );
    assert_eq!(e.state(id), AgentState::Exited(100 + id as i32));
}

#[test]
fn a_message_flood_stops_at_the_systems_byte_budget() {
    // Four busy agents never receive; the flooder sends them 64 KiB messages round-robin until
    // refused. Depth alone (64 each) would queue 16 MiB; the system's pool holds 1 MiB.
    let mut e = common::env(SystemConfig {
        max_queued_bytes: 1 << 20,
        ..SystemConfig::default()
    });
    let flood = r#"(module
      (import "agent" "send_message" (func $send (param i32 i32 i32) (result i32)))
      (memory (export "memory") 2)
      (func (export "agent_run") (result i32)
        (local $n i32) (local $r i32)
        (loop $again
          (local.set $r (call $send
            (i32.add (i32.const 2) (i32.rem_u (local.get $n) (i32.const 4)))
            (i32.const 0) (i32.const 65536)))
          (if (i32.eqz (local.get $r))
            (then (local.set $n (i32.add (local.get $n) (i32.const 1))) (br $again))))
        (if (i32.ne (local.get $r) (i32.const -2)) (then (return (i32.const -1000))))
        (local.get $n)))"#;
    kernel_wasm::vfs::write_file(
        &*e.platform.vfs,
        "/agents/bigflood.wasm",
        &wat::parse_str(flood).unwrap(),
    )
    .unwrap();
    let flooder = e.spawn("bigflood");
    let sinks: Vec<u32> = (0..4).map(|_| e.spawn("busy")).collect();
    assert_eq!(sinks, [2, 3, 4, 5]);
    e.run(20);
    assert_eq!(
        e.state(flooder),
        AgentState::Exited(16),
        "ERR_MAILBOX_FULL after 1 MiB"
    );
    assert_eq!(e.system.info(2).unwrap().queue_len, 4);
    // The host is refused too, with the limit named...
    let err = e.system.send(3, b"x").unwrap_err().to_string();
    assert_eq!(
        err,
        "limit max_queued_bytes (1048576) exceeded: queued messages hold 1048576 bytes already"
    );
    // ...until an agent's queued messages are freed.
    e.system.kill(2).unwrap();
    e.system.send(3, b"x").unwrap();
    assert_eq!(e.system.info(3).unwrap().queue_len, 5);
}
