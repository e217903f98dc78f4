//! WASI preview1 descriptor and path functions: results and error paths (bad descriptors, missing
//! rights and capabilities, out-of-bounds pointers, short buffers, sandbox escapes), with
//! wasmtime's errno values.

mod wasi_support;

use kernel_wasm::CapSet;
use wasi_support::*;

#[test]
fn prestat_describes_preopens_only() {
    let mut t = W::new();
    assert_eq!(t.wasi("fd_prestat_get", &[3, 0]), SUCCESS);
    assert_eq!((t.u8(0), t.u32(4)), (0, 8));
    assert_eq!(t.wasi("fd_prestat_dir_name", &[3, 100, 7]), NAMETOOLONG);
    assert_eq!(t.wasi("fd_prestat_dir_name", &[3, 100, 8]), SUCCESS);
    assert_eq!(t.bytes(100, 8), b"/sandbox");
    assert_eq!(t.wasi("fd_prestat_get", &[0, 0]), BADF);
    assert_eq!(t.wasi("fd_prestat_get", &[4, 0]), BADF);
    assert_eq!(t.wasi("fd_prestat_dir_name", &[1, 100, 8]), NOTDIR);
    assert_eq!(t.wasi("fd_prestat_dir_name", &[9, 100, 8]), BADF);
    assert!(t.trap("fd_prestat_get", &[3, 2]).contains("aligned"));
    assert!(t
        .trap("fd_prestat_get", &[3, 65532])
        .contains("outside linear memory"));
}

fn create_write_seek_read_close(backend: Backend) {
    let mut t = W::on(backend);
    let fd = t
        .open("f.txt", CREAT, FD_READ | FD_WRITE | FD_SEEK, 0)
        .unwrap();
    assert_eq!(fd, 4);
    assert_eq!(t.write(fd, b"hello world"), (SUCCESS, 11));
    assert_eq!(t.wasi("fd_tell", &[4, 16]), SUCCESS);
    assert_eq!(t.u64(16), 11);
    assert_eq!(t.wasi("fd_seek", &[4, 6, 0, 16]), SUCCESS);
    assert_eq!(t.read(fd, 64).unwrap(), b"world");
    assert_eq!(t.read(fd, 64).unwrap(), b"");
    assert_eq!(t.wasi("fd_seek", &[4, -5, 2, 16]), SUCCESS);
    assert_eq!(t.u64(16), 6);
    assert_eq!(t.wasi("fd_seek", &[4, -7, 1, 16]), INVAL);
    assert_eq!(t.wasi("fd_seek", &[4, -1, 0, 16]), INVAL);
    assert_eq!(t.wasi("fd_seek", &[4, 0, 3, 16]), INVAL);
    // pread/pwrite leave the position alone.
    t.put32(512, 4096);
    t.put32(516, 5);
    assert_eq!(t.wasi("fd_pread", &[4, 512, 1, 0, 8]), SUCCESS);
    assert_eq!((t.u32(8), t.bytes(4096, 5)), (5, b"hello".to_vec()));
    assert_eq!(t.wasi("fd_pwrite", &[4, 512, 1, 20, 8]), SUCCESS);
    assert_eq!(t.wasi("fd_tell", &[4, 16]), SUCCESS);
    assert_eq!(t.u64(16), 6);
    assert_eq!(t.host_read("f.txt").unwrap().len(), 25);
    assert_eq!(t.wasi("fd_close", &[4]), SUCCESS);
    assert_eq!(t.wasi("fd_close", &[4]), BADF);
    assert_eq!(t.wasi("fd_tell", &[4, 16]), BADF);
}

fn read_write_need_the_open_mode(backend: Backend) {
    let mut t = W::on(backend);
    t.host_write("r.txt", b"data");
    let ro = t.open("r.txt", 0, FD_READ, 0).unwrap();
    assert_eq!(t.write(ro, b"x"), (BADF, 0));
    let wo = t.open("r.txt", 0, FD_WRITE, 0).unwrap();
    assert_eq!(t.read(wo, 4), Err(BADF));
    // Asking for neither opens for reading (as wasmtime).
    let none = t.open("r.txt", 0, 0, 0).unwrap();
    assert_eq!(t.read(none, 4).unwrap(), b"data");
    assert_eq!(t.wasi("fd_filestat_set_size", &[i64::from(ro), 1]), INVAL);
    assert_eq!(t.wasi("fd_filestat_set_size", &[i64::from(wo), 2]), SUCCESS);
    assert_eq!(t.host_read("r.txt").unwrap(), b"da");
    // Directories and stdio.
    assert_eq!(t.read(3, 4), Err(BADF));
    assert_eq!(t.write(3, b"x"), (BADF, 0));
    assert_eq!(t.write(0, b"x"), (BADF, 0));
    assert_eq!(t.read(1, 4), Err(BADF));
    assert_eq!(t.wasi("fd_filestat_set_size", &[3, 0]), BADF);
}

#[test]
fn stdio_is_not_seekable() {
    let mut t = W::new();
    t.put32(512, 4096);
    t.put32(516, 4);
    assert_eq!(t.wasi("fd_pread", &[0, 512, 1, 0, 8]), SPIPE);
    assert_eq!(t.wasi("fd_pread", &[1, 512, 1, 0, 8]), BADF);
    assert_eq!(t.wasi("fd_pwrite", &[1, 512, 1, 0, 8]), SPIPE);
    assert_eq!(t.wasi("fd_pwrite", &[0, 512, 1, 0, 8]), BADF);
    assert_eq!(t.wasi("fd_seek", &[1, 0, 0, 16]), SPIPE);
    assert_eq!(t.wasi("fd_tell", &[2, 16]), SPIPE);
    assert_eq!(t.wasi("fd_seek", &[3, 0, 0, 16]), BADF);
    assert_eq!(t.wasi("fd_seek", &[77, 0, 0, 16]), BADF);
}

fn append_mode_writes_at_the_end(backend: Backend) {
    let mut t = W::on(backend);
    t.host_write("log", b"one\n");
    let fd = t.open("log", 0, FD_WRITE, APPEND).unwrap();
    assert_eq!(t.write(fd, b"two\n"), (SUCCESS, 4));
    assert_eq!(t.wasi("fd_tell", &[i64::from(fd), 16]), SUCCESS);
    assert_eq!(t.u64(16), 8);
    // pwrite ignores the offset in append mode (Linux semantics, as wasmtime).
    t.put(4096, b"3\n");
    t.put32(512, 4096);
    t.put32(516, 2);
    assert_eq!(t.wasi("fd_pwrite", &[i64::from(fd), 512, 1, 0, 8]), SUCCESS);
    assert_eq!(t.host_read("log").unwrap(), b"one\ntwo\n3\n");
    assert_eq!(t.wasi("fd_fdstat_get", &[i64::from(fd), 64]), SUCCESS);
    assert_eq!((t.u8(64), t.u8(66)), (4, 1));
    // Clearing APPEND via fd_fdstat_set_flags; the sync flags are EINVAL.
    assert_eq!(t.wasi("fd_fdstat_set_flags", &[i64::from(fd), 0]), SUCCESS);
    assert_eq!(t.wasi("fd_fdstat_get", &[i64::from(fd), 64]), SUCCESS);
    assert_eq!(t.u8(66), 0);
    assert_eq!(t.wasi("fd_fdstat_set_flags", &[i64::from(fd), 16]), INVAL);
    assert_eq!(t.wasi("fd_fdstat_set_flags", &[i64::from(fd), 64]), INVAL);
    assert_eq!(t.wasi("fd_fdstat_set_flags", &[3, 0]), BADF);
}

fn path_open_errors(backend: Backend) {
    let mut t = W::on(backend);
    t.host_write("file", b"x");
    let [p, l] = t.path("file");
    assert_eq!(t.wasi("path_open", &[99, 0, p, l, 0, ALL, ALL, 0, 0]), BADF);
    assert_eq!(t.wasi("path_open", &[1, 0, p, l, 0, ALL, ALL, 0, 0]), BADF);
    let fd = t.open("file", 0, FD_READ, 0).unwrap();
    assert_eq!(
        t.wasi("path_open", &[i64::from(fd), 0, p, l, 0, ALL, ALL, 0, 0]),
        NOTDIR
    );
    // Malformed flags are EINVAL before anything else.
    assert_eq!(t.wasi("path_open", &[3, 2, p, l, 0, ALL, ALL, 0, 0]), INVAL);
    assert_eq!(
        t.wasi("path_open", &[3, 0, p, l, 16, ALL, ALL, 0, 0]),
        INVAL
    );
    assert_eq!(
        t.wasi("path_open", &[3, 0, p, l, 0, 1 << 40, ALL, 0, 0]),
        INVAL
    );
    assert_eq!(
        t.wasi("path_open", &[3, 0, p, l, 0, ALL, ALL, 32, 0]),
        INVAL
    );
    assert_eq!(t.open("file", 0, ALL, 16), Err(NOTSUP));
    assert_eq!(t.open("d", DIRECTORY | CREAT, ALL, 0), Err(INVAL));
    assert_eq!(t.open("missing", 0, ALL, 0), Err(NOENT));
    assert_eq!(t.open("", 0, ALL, 0), Err(NOENT));
    assert_eq!(t.open("file", CREAT | EXCL, ALL, 0), Err(EXIST));
    assert_eq!(t.open("file", DIRECTORY, ALL, 0), Err(NOTDIR));
    assert_eq!(t.open("file/", 0, ALL, 0), Err(NOTDIR));
    assert_eq!(t.open("file///", 0, ALL, 0), Err(NOTDIR));
    assert_eq!(t.open("file/.", 0, ALL, 0), Err(NOTDIR));
    assert!(t.open(".//./", DIRECTORY, 0, 0).is_ok());
    assert_eq!(t.open("new/", CREAT, ALL, 0), Err(ISDIR));
    assert_eq!(t.open(".", 0, FD_WRITE, 0), Err(ISDIR));
    assert_eq!(t.open(".", CREAT, 0, 0), Err(ISDIR));
    assert_eq!(t.open("file\0x", 0, ALL, 0), Err(INVAL));
    // Not UTF-8: EILSEQ.
    t.put(2048, &[0xff, 0xfe]);
    assert_eq!(
        t.wasi("path_open", &[3, 0, 2048, 2, 0, ALL, ALL, 0, 0]),
        ILSEQ
    );
    // Out-of-bounds path or result pointer: a trap, nothing opened.
    assert!(t
        .trap("path_open", &[3, 0, 65530, 10, 0, ALL, ALL, 0, 0])
        .contains("path_open"));
    let before = t.inst.context().wasi.fds.len();
    let [p, l] = t.path("file");
    t.trap("path_open", &[3, 0, p, l, 0, ALL, ALL, 0, 65535]);
    t.trap("path_open", &[3, 0, p, l, 0, ALL, ALL, 0, 2]);
    assert!(t.inst.context().wasi.fds.len() >= before);
}

fn escapes_are_eperm(backend: Backend) {
    let mut t = W::on(backend);
    for path in ["../secret", "/secret", "./../secret", ".."] {
        assert_eq!(t.open(path, 0, FD_READ, 0), Err(PERM), "{path}");
    }
    let [tp, tl] = t.path_at(3000, "../secret");
    let [lp, ll] = t.path("up");
    assert_eq!(t.wasi("path_symlink", &[tp, tl, 3, lp, ll]), SUCCESS);
    assert_eq!(t.open("up", 0, FD_READ, 0), Err(PERM));
    // An absolute target is refused when the link is made (as wasmtime): in a host directory it
    // would point the host's other programs outside the sandbox.
    let [tp, tl] = t.path_at(3000, "/secret");
    let [lp, ll] = t.path("abs");
    assert_eq!(t.wasi("path_symlink", &[tp, tl, 3, lp, ll]), PERM);
    assert_eq!(t.open("abs", 0, FD_READ, 0), Err(NOENT));
    let [p, l] = t.path("up");
    assert_eq!(t.wasi("path_filestat_get", &[3, FOLLOW, p, l, 128]), PERM);
    // Without following, the link itself is stat-able; opening it without following is ELOOP.
    assert_eq!(t.wasi("path_filestat_get", &[3, 0, p, l, 128]), SUCCESS);
    assert_eq!(t.u8(144), 7);
    assert_eq!(
        t.wasi("path_open", &[3, 0, p, l, 0, FD_READ, 0, 0, 0]),
        LOOP
    );
    // A subdirectory descriptor is a sandbox of its own.
    let [dp, dl] = t.path("sub");
    assert_eq!(t.wasi("path_create_directory", &[3, dp, dl]), SUCCESS);
    t.host_write("peer", b"p");
    let sub = t.open("sub", DIRECTORY, 0, 0).unwrap();
    let [p, l] = t.path("../peer");
    assert_eq!(
        t.wasi("path_open", &[i64::from(sub), 0, p, l, 0, FD_READ, 0, 0, 0]),
        PERM
    );
    let [p, l] = t.path("../secret");
    assert_eq!(t.wasi("path_unlink_file", &[3, p, l]), PERM);
    assert_eq!(t.wasi("path_create_directory", &[3, p, l]), PERM);
}

#[test]
fn missing_file_capabilities_are_notcapable_and_change_nothing() {
    let mut t = W::with(Setup {
        caps: CapSet::parse("file:read=/sandbox").unwrap(),
        ..Setup::default()
    });
    t.host_write("f", b"keep");
    assert_eq!(t.open("f", 0, FD_READ | FD_WRITE, 0), Err(NOTCAPABLE));
    assert_eq!(t.open("f", TRUNC, FD_READ, 0), Err(NOTCAPABLE));
    assert_eq!(t.open("new", CREAT, FD_READ, 0), Err(NOTCAPABLE));
    assert_eq!(t.host_lookup("new"), None);
    assert_eq!(t.host_read("f").unwrap(), b"keep");
    let [p, l] = t.path("d");
    assert_eq!(t.wasi("path_create_directory", &[3, p, l]), NOTCAPABLE);
    let [p, l] = t.path("f");
    assert_eq!(t.wasi("path_unlink_file", &[3, p, l]), NOTCAPABLE);
    assert_eq!(t.host_read("f").unwrap(), b"keep");
    let fd = t.open("f", 0, FD_READ, 0).unwrap();
    assert_eq!(t.read(fd, 10).unwrap(), b"keep");
    assert_eq!(t.write(fd, b"x"), (BADF, 0));
    // The preopen's rights say so.
    assert_eq!(t.wasi("fd_fdstat_get", &[3, 64]), SUCCESS);
    assert_eq!(t.u64(72) & (1 << 9), 0, "no PATH_CREATE_DIRECTORY");
    assert_eq!(t.u64(80) & FD_WRITE as u64, 0, "no inheritable FD_WRITE");
    // No read capability at all: listing and reading are refused.
    let mut t = W::with(Setup {
        caps: CapSet::parse("file:write=/sandbox,file:create=/sandbox").unwrap(),
        ..Setup::default()
    });
    assert_eq!(t.wasi("fd_readdir", &[3, 100, 256, 0, 8]), NOTCAPABLE);
    assert_eq!(t.open("w", CREAT, FD_READ, 0), Err(NOTCAPABLE));
    let fd = t.open("w", CREAT, FD_WRITE, 0).unwrap();
    assert_eq!(t.write(fd, b"ok"), (SUCCESS, 2));
    assert_eq!(t.read(fd, 2), Err(BADF));
    // A capability scoped to another mount grants nothing here.
    let mut t = W::with(Setup {
        caps: CapSet::parse("file:read=/data").unwrap(),
        ..Setup::default()
    });
    t.host_write("f", b"x");
    assert_eq!(t.open("f", 0, FD_READ, 0), Err(NOTCAPABLE));
}

#[test]
fn rights_shrink_but_never_grow() {
    let mut t = W::new();
    t.host_write("f", b"abc");
    let fd = i64::from(t.open("f", 0, FD_READ | FD_SEEK, 0).unwrap());
    assert_eq!(t.wasi("fd_fdstat_get", &[fd, 64]), SUCCESS);
    let base = t.u64(72) as i64;
    assert_ne!(base & FD_SEEK, 0);
    assert_eq!(
        t.wasi("fd_fdstat_set_rights", &[fd, base & !FD_SEEK, 0]),
        SUCCESS
    );
    assert_eq!(t.wasi("fd_seek", &[fd, 1, 0, 16]), NOTCAPABLE);
    assert_eq!(t.wasi("fd_fdstat_set_rights", &[fd, base, 0]), NOTCAPABLE);
    assert_eq!(t.wasi("fd_fdstat_set_rights", &[fd, 1 << 40, 0]), INVAL);
    assert_eq!(t.wasi("fd_fdstat_set_rights", &[1, 0, 0]), BADF);
    assert_eq!(t.wasi("fd_fdstat_set_rights", &[42, 0, 0]), BADF);
}

fn readdir_cookies_and_short_buffers(backend: Backend) {
    let mut t = W::on(backend);
    t.host_write("a", b"1");
    t.host_write("bb", b"22");
    // Enough room: ".", "..", "a", "bb" = 4 * 24 + 1 + 2 + 1 + 2 bytes.
    assert_eq!(t.wasi("fd_readdir", &[3, 100, 1000, 0, 8]), SUCCESS);
    assert_eq!(t.u32(8), 4 * 24 + 6);
    let mut at = 100;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let next = t.u64(at);
        let namlen = t.u32(at + 16);
        let ty = t.u8(at + 20);
        let name = String::from_utf8(t.bytes(at + 24, namlen)).unwrap();
        seen.push((next, name, ty));
        at += 24 + namlen;
    }
    assert_eq!(
        seen,
        [
            (1, ".".to_string(), 3),
            (2, "..".to_string(), 3),
            (3, "a".to_string(), 4),
            (4, "bb".to_string(), 4)
        ]
    );
    // Resuming from a cookie.
    assert_eq!(t.wasi("fd_readdir", &[3, 100, 1000, 3, 8]), SUCCESS);
    assert_eq!((t.u32(8), t.u32(116)), (26, 2));
    // A buffer that ends inside an entry is filled completely (bufused == buf_len).
    assert_eq!(t.wasi("fd_readdir", &[3, 100, 30, 0, 8]), SUCCESS);
    assert_eq!(t.u32(8), 30);
    assert_eq!(t.wasi("fd_readdir", &[3, 100, 0, 0, 8]), SUCCESS);
    assert_eq!(t.u32(8), 0);
    assert_eq!(t.wasi("fd_readdir", &[3, 100, 1000, 99, 8]), SUCCESS);
    assert_eq!(t.u32(8), 0);
    // Not a directory / not open / buffer outside memory.
    let fd = i64::from(t.open("a", 0, FD_READ, 0).unwrap());
    assert_eq!(t.wasi("fd_readdir", &[fd, 100, 1000, 0, 8]), BADF);
    assert_eq!(t.wasi("fd_readdir", &[1, 100, 1000, 0, 8]), BADF);
    assert_eq!(t.wasi("fd_readdir", &[50, 100, 1000, 0, 8]), BADF);
    t.trap("fd_readdir", &[3, 65530, 1000, 0, 8]);
}

fn directories_rename_unlink_errors(backend: Backend) {
    let mut t = W::on(backend);
    let mk = |t: &mut W, p: &str| {
        let [a, b] = t.path(p);
        t.wasi("path_create_directory", &[3, a, b])
    };
    assert_eq!(mk(&mut t, "d"), SUCCESS);
    assert_eq!(mk(&mut t, "d"), EXIST);
    assert_eq!(mk(&mut t, "."), EXIST);
    assert_eq!(mk(&mut t, "missing/x"), NOENT);
    t.host_write("f", b"x");
    assert_eq!(mk(&mut t, "f/x"), NOTDIR);
    let rm = |t: &mut W, p: &str| {
        let [a, b] = t.path(p);
        t.wasi("path_remove_directory", &[3, a, b])
    };
    let unlink = |t: &mut W, p: &str| {
        let [a, b] = t.path(p);
        t.wasi("path_unlink_file", &[3, a, b])
    };
    let rename = |t: &mut W, from: &str, to: &str| {
        let [a, b] = t.path_at(2048, from);
        let [c, d] = t.path_at(3072, to);
        t.wasi("path_rename", &[3, a, b, 3, c, d])
    };
    assert_eq!(rm(&mut t, "f"), NOTDIR);
    assert_eq!(rm(&mut t, "."), INVAL);
    assert_eq!(unlink(&mut t, "d"), ISDIR);
    assert_eq!(unlink(&mut t, "d/"), ISDIR);
    assert_eq!(unlink(&mut t, "f/"), NOTDIR);
    assert_eq!(unlink(&mut t, "nope"), NOENT);
    assert_eq!(rename(&mut t, "f", "d"), ISDIR);
    assert_eq!(rename(&mut t, "d", "f"), NOTDIR);
    assert_eq!(rename(&mut t, "nope", "x"), NOENT);
    assert_eq!(rename(&mut t, "f", "g/"), NOTDIR);
    assert_eq!(rename(&mut t, "d", "d/inner"), INVAL);
    assert_eq!(rename(&mut t, "f", "d/f2"), SUCCESS);
    assert_eq!(rm(&mut t, "d"), NOTEMPTY);
    assert_eq!(rename(&mut t, "d/f2", "g"), SUCCESS);
    assert_eq!(t.host_read("g").unwrap(), b"x");
    // As wasmtime: an existing directory named with a trailing slash is EINVAL.
    assert_eq!(rm(&mut t, "d/"), INVAL);
    assert_eq!(rm(&mut t, "d/."), INVAL);
    assert_eq!(rm(&mut t, "nope/"), NOENT);
    assert_eq!(rm(&mut t, "d"), SUCCESS);
    assert_eq!(unlink(&mut t, "g"), SUCCESS);
    assert_eq!(t.host_lookup("g"), None);
    assert_eq!(t.wasi("path_rename", &[3, 2048, 1, 1, 3072, 1]), BADF);
    assert_eq!(t.wasi("path_unlink_file", &[0, 2048, 1]), BADF);
    // A file is not a directory descriptor: EBADF (path_open alone says ENOTDIR).
    let fd = i64::from(t.open("d2", CREAT, FD_WRITE, 0).unwrap());
    assert_eq!(t.wasi("path_create_directory", &[fd, 2048, 1]), BADF);
}

fn links_symlinks_and_readlink(backend: Backend) {
    let mut t = W::on(backend);
    t.host_write("f", b"data");
    let [fp, fl] = t.path_at(2048, "f");
    let [hp, hl] = t.path_at(3072, "hard");
    assert_eq!(t.wasi("path_link", &[3, FOLLOW, fp, fl, 3, hp, hl]), INVAL);
    assert_eq!(t.wasi("path_link", &[3, 0, fp, fl, 3, hp, hl]), SUCCESS);
    assert_eq!(t.wasi("path_link", &[3, 0, fp, fl, 3, hp, hl]), EXIST);
    assert_eq!(t.wasi("path_filestat_get", &[3, 0, hp, hl, 128]), SUCCESS);
    assert_eq!((t.u64(152), t.u64(160)), (2, 4), "nlink, size");
    let [dp, dl] = t.path_at(2048, "dir");
    assert_eq!(t.wasi("path_create_directory", &[3, dp, dl]), SUCCESS);
    let [np, nl] = t.path_at(3072, "dirlink");
    assert_eq!(t.wasi("path_link", &[3, 0, dp, dl, 3, np, nl]), PERM);
    // Symlinks: creation, readlink with truncation, errors.
    let [tp, tl] = t.path_at(2048, "f");
    let [sp, sl] = t.path_at(3072, "sym");
    assert_eq!(t.wasi("path_symlink", &[tp, tl, 3, sp, sl]), SUCCESS);
    assert_eq!(t.wasi("path_symlink", &[tp, tl, 3, sp, sl]), EXIST);
    let [tp, tl] = t.path_at(2048, "long/target/name");
    let [sp, sl] = t.path_at(3072, "sym2");
    assert_eq!(t.wasi("path_symlink", &[tp, tl, 3, sp, sl]), SUCCESS);
    assert_eq!(t.wasi("path_readlink", &[3, sp, sl, 200, 4, 8]), SUCCESS);
    assert_eq!((t.u32(8), t.bytes(200, 4)), (4, b"long".to_vec()));
    assert_eq!(t.wasi("path_readlink", &[3, sp, sl, 200, 100, 8]), SUCCESS);
    assert_eq!(t.u32(8), 16);
    let [fp, fl] = t.path("f");
    assert_eq!(t.wasi("path_readlink", &[3, fp, fl, 200, 100, 8]), INVAL);
    // Following the link reaches the file; reading through it works.
    let fd = t.open("sym", 0, FD_READ, 0).unwrap();
    assert_eq!(t.read(fd, 10).unwrap(), b"data");
    // Dangling link + O_CREAT creates the target (inside the sandbox).
    let [tp, tl] = t.path_at(2048, "created-by-link");
    let [sp, sl] = t.path_at(3072, "dangling");
    assert_eq!(t.wasi("path_symlink", &[tp, tl, 3, sp, sl]), SUCCESS);
    assert!(t.open("dangling", CREAT, FD_WRITE, 0).is_ok());
    assert!(t.host_lookup("created-by-link").is_some());
    assert_eq!(t.open("dangling", CREAT | EXCL, FD_WRITE, 0), Err(EXIST));
}

fn filestat_and_times(backend: Backend) {
    let mut t = W::on(backend);
    t.host_write("f", b"12345");
    let fd = i64::from(t.open("f", 0, FD_READ | FD_WRITE, 0).unwrap());
    assert_eq!(t.wasi("fd_filestat_get", &[fd, 64]), SUCCESS);
    assert_eq!((t.u8(80), t.u64(96)), (4, 5));
    assert_eq!(t.wasi("fd_filestat_get", &[3, 64]), SUCCESS);
    assert_eq!(t.u8(80), 3);
    assert_eq!(t.wasi("fd_filestat_get", &[1, 64]), SUCCESS);
    assert_eq!((t.u8(80), t.u64(64 + 8)), (0, 0));
    assert_eq!(t.wasi("fd_filestat_get", &[40, 64]), BADF);
    t.trap("fd_filestat_get", &[fd, 60]);
    // Times: explicit values, NOW, and the invalid SET|NOW combination.
    assert_eq!(
        t.wasi("fd_filestat_set_times", &[fd, 1_000, 2_000, 1 | 4]),
        SUCCESS
    );
    assert_eq!(t.wasi("fd_filestat_get", &[fd, 64]), SUCCESS);
    assert_eq!((t.u64(104), t.u64(112)), (1_000, 2_000));
    assert_eq!(t.wasi("fd_filestat_set_times", &[fd, 0, 0, 1 | 2]), INVAL);
    assert_eq!(t.wasi("fd_filestat_set_times", &[fd, 0, 0, 16]), INVAL);
    assert_eq!(t.wasi("fd_filestat_set_times", &[0, 0, 0, 0]), BADF);
    let [p, l] = t.path("f");
    assert_eq!(
        t.wasi("path_filestat_set_times", &[3, FOLLOW, p, l, 5, 6, 1 | 4]),
        SUCCESS
    );
    assert_eq!(t.wasi("path_filestat_get", &[3, FOLLOW, p, l, 64]), SUCCESS);
    assert_eq!((t.u64(104), t.u64(112)), (5, 6));
    assert_eq!(
        t.wasi("path_filestat_set_times", &[3, 0, p, l, 0, 0, 4 | 8]),
        INVAL
    );
    assert_eq!(t.wasi("path_filestat_get", &[3, 2, p, l, 64]), INVAL);
    let [p, l] = t.path("nope");
    assert_eq!(t.wasi("path_filestat_get", &[3, 0, p, l, 64]), NOENT);
    // set_size grows with zeros.
    assert_eq!(t.wasi("fd_filestat_set_size", &[fd, 8]), SUCCESS);
    assert_eq!(t.host_read("f").unwrap(), b"12345\0\0\0");
}

fn misc_descriptor_calls(backend: Backend) {
    let mut t = W::on(backend);
    t.host_write("f", b"x");
    let fd = i64::from(t.open("f", 0, FD_READ, 0).unwrap());
    assert_eq!(t.wasi("fd_advise", &[fd, 0, 10, 5]), SUCCESS);
    assert_eq!(t.wasi("fd_advise", &[fd, 0, 10, 6]), INVAL);
    assert_eq!(t.wasi("fd_advise", &[3, 0, 10, 0]), BADF);
    assert_eq!(t.wasi("fd_allocate", &[fd, 0, 10]), NOTSUP);
    assert_eq!(t.wasi("fd_allocate", &[1, 0, 10]), BADF);
    assert_eq!(t.wasi("fd_sync", &[fd]), SUCCESS);
    assert_eq!(t.wasi("fd_datasync", &[fd]), SUCCESS);
    assert_eq!(t.wasi("fd_sync", &[3]), BADF);
    assert_eq!(t.wasi("fd_allocate", &[3, 0, 10]), BADF);
    assert_eq!(t.wasi("fd_sync", &[1]), BADF);
    assert_eq!(t.wasi("fd_datasync", &[33]), BADF);
    // Renumbering: source and target must both be open (as wasmtime); the target is closed.
    assert_eq!(t.wasi("fd_renumber", &[fd, 10]), BADF);
    let other = i64::from(t.open("g", CREAT, FD_READ, 0).unwrap());
    assert_eq!(t.wasi("fd_renumber", &[fd, other]), SUCCESS);
    assert_eq!(t.wasi("fd_close", &[fd]), BADF);
    assert_eq!(t.read(other as u32, 1).unwrap(), b"x");
    assert_eq!(t.wasi("fd_renumber", &[fd, other]), BADF);
    assert_eq!(t.wasi("fd_renumber", &[other, other]), SUCCESS);
    assert_eq!(t.wasi("fd_close", &[other]), SUCCESS);
    // iovec counts are bounded; the iovec array must be in memory.
    assert_eq!(t.wasi("fd_write", &[1, 512, 1025, 8]), INVAL);
    t.trap("fd_write", &[1, 65532, 2, 8]);
    t.trap("fd_write", &[1, 514, 1, 8]);
}

#[test]
fn fd_limit_stops_the_instance() {
    let mut t = W::with(Setup {
        fd_limit: Some(5),
        ..Setup::default()
    });
    t.host_write("f", b"x");
    let fd = t.open("f", 0, FD_READ, 0).unwrap();
    assert_eq!(fd, 4);
    // Closing and reopening stays within the limit.
    assert_eq!(t.wasi("fd_close", &[i64::from(fd)]), SUCCESS);
    assert_eq!(t.open("f", 0, FD_READ, 0), Ok(4));
    // One more is the fd exhaustion: the instance stops with its own error, nothing is created.
    let [p, l] = t.path("g");
    let outcome = t.outcome("path_open", &[3, 1, p, l, CREAT, FD_WRITE, 0, 0, 0]);
    match outcome {
        Err(kernel_wasm::Error::LimitExceeded {
            kind: kernel_wasm::LimitKind::Fds,
            limit: 5,
            ..
        }) => {}
        other => panic!("expected the fd limit, got {other:?}"),
    }
    assert_eq!(t.host_lookup("g"), None, "nothing created past the limit");
    // The host, and another instance, are unaffected.
    let mut other = W::new();
    other.host_write("f", b"y");
    assert!(other.open("f", 0, FD_READ, 0).is_ok());
}

// The tests above, on the in-memory file system and on a real host directory (`HostDir`).
/// `path_filestat_set_times` without the follow flag sets a symlink's own times (as
/// `utimensat(AT_SYMLINK_NOFOLLOW)`), leaving its target's alone; with the flag, the target's.
/// On a host directory this was `ENOTSUP` (issue 21).
fn symlink_times_without_follow(backend: Backend) {
    let mut t = W::on(backend);
    t.host_write("target", b"x");
    let [tp, tl] = t.path_at(3072, "target");
    let [lp, ll] = t.path("link");
    assert_eq!(t.wasi("path_symlink", &[tp, tl, 3, lp, ll]), SUCCESS);
    assert_eq!(t.wasi("path_filestat_get", &[3, 0, tp, tl, 64]), SUCCESS);
    let target_mtime = t.u64(112);
    assert_eq!(
        t.wasi(
            "path_filestat_set_times",
            &[3, 0, lp, ll, 7_000_000_123, 8_000_000_456, 1 | 4]
        ),
        SUCCESS
    );
    assert_eq!(t.wasi("path_filestat_get", &[3, 0, lp, ll, 64]), SUCCESS);
    assert_eq!(t.u8(80), 7, "a symlink");
    assert_eq!((t.u64(104), t.u64(112)), (7_000_000_123, 8_000_000_456));
    assert_eq!(t.wasi("path_filestat_get", &[3, 0, tp, tl, 64]), SUCCESS);
    assert_eq!(t.u64(112), target_mtime);
    // Following the link sets the target's times.
    assert_eq!(
        t.wasi(
            "path_filestat_set_times",
            &[3, FOLLOW, lp, ll, 0, 9_000_000_000, 4]
        ),
        SUCCESS
    );
    assert_eq!(t.wasi("path_filestat_get", &[3, 0, tp, tl, 64]), SUCCESS);
    assert_eq!(t.u64(112), 9_000_000_000);
    assert_eq!(t.wasi("path_filestat_get", &[3, 0, lp, ll, 64]), SUCCESS);
    assert_eq!(t.u64(112), 8_000_000_456);
}

/// `path_remove_directory` of `file/` (a regular file named with a trailing slash) is
/// `ENOTDIR`, as `rmdir(2)`; it was `EINVAL`. An existing directory given as `dir/` stays
/// `EINVAL` (as wasmtime), a missing one `ENOENT`.
fn rmdir_of_a_file_with_a_slash_is_enotdir(backend: Backend) {
    let mut t = W::on(backend);
    t.host_write("file", b"x");
    for path in ["file/", "file/."] {
        let [p, l] = t.path(path);
        assert_eq!(
            t.wasi("path_remove_directory", &[3, p, l]),
            NOTDIR,
            "{path}"
        );
    }
    let [p, l] = t.path("file");
    assert_eq!(t.wasi("path_remove_directory", &[3, p, l]), NOTDIR);
    let [tp, tl] = t.path_at(3072, "file");
    let [sp, sl] = t.path("link");
    assert_eq!(t.wasi("path_symlink", &[tp, tl, 3, sp, sl]), SUCCESS);
    let [p, l] = t.path("link/");
    assert_eq!(t.wasi("path_remove_directory", &[3, p, l]), NOTDIR);
    let [p, l] = t.path("dir");
    assert_eq!(t.wasi("path_create_directory", &[3, p, l]), SUCCESS);
    let [p, l] = t.path("dir/");
    assert_eq!(t.wasi("path_remove_directory", &[3, p, l]), INVAL);
    let [p, l] = t.path("missing/");
    assert_eq!(t.wasi("path_remove_directory", &[3, p, l]), NOENT);
    assert!(t.host_lookup("file").is_some() && t.host_lookup("dir").is_some());
}

/// A file opened through a hard link reports the same rights in `fd_fdstat_get` as the same
/// file opened by its own name with the same requested rights, whatever the rights asked.
fn hard_links_open_with_the_same_rights(backend: Backend) {
    let mut t = W::on(backend);
    t.host_write("file", b"x");
    let [fp, fl] = t.path_at(3072, "file");
    let [lp, ll] = t.path("hard");
    assert_eq!(t.wasi("path_link", &[3, 0, fp, fl, 3, lp, ll]), SUCCESS);
    let [dp, dl] = t.path("sub");
    assert_eq!(t.wasi("path_create_directory", &[3, dp, dl]), SUCCESS);
    let [lp, ll] = t.path("sub/hard2");
    assert_eq!(t.wasi("path_link", &[3, 0, fp, fl, 3, lp, ll]), SUCCESS);
    for (rights, oflags) in [
        (FD_READ, 0),
        (FD_WRITE, 0),
        (FD_READ | FD_WRITE | FD_SEEK, 0),
        (ALL, 0),
        (FD_WRITE, TRUNC),
        (FD_READ, CREAT),
    ] {
        let mut seen = Vec::new();
        for name in ["file", "hard", "sub/hard2"] {
            let fd = t.open(name, oflags, rights, 0).unwrap();
            assert_eq!(t.wasi("fd_fdstat_get", &[i64::from(fd), 64]), SUCCESS);
            seen.push((name, t.u64(64 + 8), t.u64(64 + 16)));
            assert_eq!(t.wasi("fd_close", &[i64::from(fd)]), SUCCESS);
        }
        // And through a descriptor of the directory holding the link.
        let [dp, dl] = t.path("sub");
        assert_eq!(
            t.wasi(
                "path_open",
                &[3, FOLLOW, dp, dl, DIRECTORY, ALL & !FD_WRITE, ALL, 0, 0]
            ),
            SUCCESS
        );
        let sub = t.u32(0);
        let [hp, hl] = t.path("hard2");
        assert_eq!(
            t.wasi(
                "path_open",
                &[i64::from(sub), FOLLOW, hp, hl, oflags, rights, ALL, 0, 0]
            ),
            SUCCESS
        );
        let fd = i64::from(t.u32(0));
        assert_eq!(t.wasi("fd_fdstat_get", &[fd, 64]), SUCCESS);
        seen.push(("sub fd/hard2", t.u64(64 + 8), t.u64(64 + 16)));
        assert_eq!(t.wasi("fd_close", &[fd]), SUCCESS);
        assert_eq!(t.wasi("fd_close", &[i64::from(sub)]), SUCCESS);
        assert!(
            seen.iter().all(|s| (s.1, s.2) == (seen[0].1, seen[0].2)),
            "rights {rights:#x}, oflags {oflags}: {seen:x?}"
        );
    }
}

on_both_backends!(
    symlink_times_without_follow,
    rmdir_of_a_file_with_a_slash_is_enotdir,
    hard_links_open_with_the_same_rights,
    create_write_seek_read_close,
    read_write_need_the_open_mode,
    append_mode_writes_at_the_end,
    path_open_errors,
    escapes_are_eperm,
    readdir_cookies_and_short_buffers,
    directories_rename_unlink_errors,
    links_symlinks_and_readlink,
    filestat_and_times,
    misc_descriptor_calls,
);
