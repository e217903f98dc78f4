// WASI errno probe (C, wasi-libc's raw __wasi_* calls): about 150 edge cases of every
// preview1 function, one line each, "case: errno" (0 = success) or "case: value". Run as
// `errno_probe.wasm` with an empty directory preopened as fd 3 and a file `outside` next to it.
//
// The output was taken from `wasmtime run` 48.0.8 and equals it line for line except where
// docs/wasi.md ("Known differences from wasmtime") says: `shrink rights`, `read no rights` and
// `grow rights` (wasmtime: 58, 0, 58) and `stat h/` (wasmtime: 0). Malformed enums and flags are
// not probed: wasmtime traps on them, we answer EINVAL (tests/wasi_misc.rs covers those).
#include <wasi/api.h>
#include <stdio.h>
#include <string.h>

#define DIR 3
static const __wasi_rights_t ALL = ((__wasi_rights_t)1 << 29) - 1;
static int opened(const char *path, __wasi_oflags_t of, __wasi_rights_t r, __wasi_fdflags_t ff, __wasi_lookupflags_t lf, __wasi_fd_t *fd) {
    return __wasi_path_open(DIR, lf, path, of, r, ALL, ff, fd);
}
#define P(name, expr) printf("%s: %d\n", name, (int)(expr))

int main(void) {
    __wasi_fd_t fd = 0, fd2 = 0;
    __wasi_filesize_t pos = 0;
    __wasi_size_t n = 0;
    char buf[256];
    __wasi_ciovec_t ciov = { (const uint8_t *)"hello", 5 };
    __wasi_iovec_t iov = { (uint8_t *)buf, sizeof buf };
    __wasi_filestat_t st;
    __wasi_fdstat_t fst;
    __wasi_prestat_t pre;

    P("seek stdin", __wasi_fd_seek(0, 0, __WASI_WHENCE_CUR, &pos));
    P("seek stdout", __wasi_fd_seek(1, 0, __WASI_WHENCE_CUR, &pos));
    P("tell stdout", __wasi_fd_tell(1, &pos));
    P("pread stdin", __wasi_fd_pread(0, &iov, 1, 0, &n));
    P("pwrite stdout", __wasi_fd_pwrite(1, &ciov, 1, 0, &n));
    P("read dir fd", __wasi_fd_read(DIR, &iov, 1, &n));
    P("write dir fd", __wasi_fd_write(DIR, &ciov, 1, &n));
    P("seek dir fd", __wasi_fd_seek(DIR, 0, __WASI_WHENCE_SET, &pos));
    P("open missing", opened("missing", 0, ALL, 0, 0, &fd));
    P("open escape", opened("../outside", 0, ALL, 0, 0, &fd));
    P("open absolute", opened("/etc/passwd", 0, ALL, 0, 0, &fd));
    P("open empty", opened("", 0, ALL, 0, 0, &fd));
    P("create f", opened("f", __WASI_OFLAGS_CREAT, ALL, 0, 0, &fd));
    P("write f", __wasi_fd_write(fd, &ciov, 1, &n));
    P("written", n);
    P("seek end", __wasi_fd_seek(fd, 0, __WASI_WHENCE_END, &pos));
    P("pos", (int)pos);
    P("seek neg", __wasi_fd_seek(fd, -100, __WASI_WHENCE_CUR, &pos));
    P("pread f", __wasi_fd_pread(fd, &iov, 1, 1, &n));
    P("pread n", n);
    P("pread past end", __wasi_fd_pread(fd, &iov, 1, 100, &n));
    P("pread past n", n);
    P("set size", __wasi_fd_filestat_set_size(fd, 2));
    P("filestat", __wasi_fd_filestat_get(fd, &st));
    P("size", (int)st.size);
    P("filetype", st.filetype);
    P("nlink", (int)st.nlink);
    P("close f", __wasi_fd_close(fd));
    P("close again", __wasi_fd_close(fd));
    P("create excl", opened("f", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, ALL, 0, 0, &fd));
    P("open dir flag on file", opened("f", __WASI_OFLAGS_DIRECTORY, ALL, 0, 0, &fd));
    P("open file trailing slash", opened("f/", 0, ALL, 0, 0, &fd));
    P("mkdir d", __wasi_path_create_directory(DIR, "d"));
    P("mkdir d again", __wasi_path_create_directory(DIR, "d"));
    P("mkdir under file", __wasi_path_create_directory(DIR, "f/x"));
    P("open d as file rw", opened("d", 0, ALL, 0, 0, &fd));
    P("open d read", opened("d", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
    P("open d dir", opened("d", __WASI_OFLAGS_DIRECTORY, ALL, 0, 0, &fd2));
    P("readdir file", 0);
    P("create d/g", opened("d/g", __WASI_OFLAGS_CREAT, ALL, 0, 0, &fd));
    P("readdir on file fd", __wasi_fd_readdir(fd, (uint8_t *)buf, sizeof buf, 0, &n));
    P("close g", __wasi_fd_close(fd));
    P("rmdir nonempty", __wasi_path_remove_directory(DIR, "d"));
    P("rmdir file", __wasi_path_remove_directory(DIR, "f"));
    P("unlink dir", __wasi_path_unlink_file(DIR, "d"));
    P("unlink missing", __wasi_path_unlink_file(DIR, "nope"));
    P("rename dir onto file", __wasi_path_rename(DIR, "d", DIR, "f"));
    P("rename file onto dir", __wasi_path_rename(DIR, "f", DIR, "d"));
    P("rename missing", __wasi_path_rename(DIR, "nope", DIR, "x"));
    P("rename into self", __wasi_path_rename(DIR, "d", DIR, "d/sub"));
    P("link dir", __wasi_path_link(DIR, 0, "d", DIR, "dlink"));
    P("link file", __wasi_path_link(DIR, 0, "f", DIR, "flink"));
    P("link exists", __wasi_path_link(DIR, 0, "f", DIR, "flink"));
    P("stat flink", __wasi_path_filestat_get(DIR, 0, "flink", &st));
    P("flink nlink", (int)st.nlink);
    P("symlink", __wasi_path_symlink("f", DIR, "sl"));
    P("symlink escape", __wasi_path_symlink("../outside", DIR, "slesc"));
    P("symlink dotdot inside", __wasi_path_symlink("d/../f", DIR, "sldd"));
    P("symlink abs", __wasi_path_symlink("/etc/passwd", DIR, "slabs"));
    P("symlink exists", __wasi_path_symlink("f", DIR, "sl"));
    P("readlink", __wasi_path_readlink(DIR, "sl", (uint8_t *)buf, sizeof buf, &n));
    P("readlink n", n);
    P("readlink small", __wasi_path_readlink(DIR, "sl", (uint8_t *)buf, 0, &n));
    P("readlink small n", n);
    P("readlink file", __wasi_path_readlink(DIR, "f", (uint8_t *)buf, sizeof buf, &n));
    P("stat sl nofollow", __wasi_path_filestat_get(DIR, 0, "sl", &st));
    P("sl type", st.filetype);
    P("stat sl follow", __wasi_path_filestat_get(DIR, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "sl", &st));
    P("sl follow type", st.filetype);
    P("open slabs follow", opened("slabs", 0, ALL, 0, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, &fd));
    P("open sl nofollow", opened("sl", 0, ALL, 0, 0, &fd));
    P("symlink loop a", __wasi_path_symlink("b", DIR, "a"));
    P("symlink loop b", __wasi_path_symlink("a", DIR, "b"));
    P("open loop", opened("a", 0, ALL, 0, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, &fd));
    P("unlink sl", __wasi_path_unlink_file(DIR, "sl"));
    P("prestat 0", __wasi_fd_prestat_get(0, &pre));
    P("prestat 3", __wasi_fd_prestat_get(DIR, &pre));
    P("prestat len", (int)pre.u.dir.pr_name_len);
    P("prestat 99", __wasi_fd_prestat_get(99, &pre));
    P("prestat dirname small", __wasi_fd_prestat_dir_name(DIR, (uint8_t *)buf, 1));
    P("fdstat 3", __wasi_fd_fdstat_get(DIR, &fst));
    P("fdstat 3 type", fst.fs_filetype);
    P("fdstat 99", __wasi_fd_fdstat_get(99, &fst));
    P("renumber bad", __wasi_fd_renumber(99, 3));
    P("renumber to bad", __wasi_fd_renumber(fd2, 99));
    P("random 0", __wasi_random_get((uint8_t *)buf, 0));
    P("poll 0", __wasi_poll_oneoff(0, 0, 0, &n));
    P("advise", __wasi_fd_advise(DIR, 0, 0, __WASI_ADVICE_NORMAL));
    P("create h", opened("h", __WASI_OFLAGS_CREAT, ALL, 0, 0, &fd));
    P("advise file", __wasi_fd_advise(fd, 0, 10, __WASI_ADVICE_NORMAL));
    P("allocate", __wasi_fd_allocate(fd, 0, 10));
    P("datasync", __wasi_fd_datasync(fd));
    P("sync", __wasi_fd_sync(fd));
    P("set flags append", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND));
    P("write append", __wasi_fd_write(fd, &ciov, 1, &n));
    P("tell after append", __wasi_fd_tell(fd, &pos));
    P("pos after append", (int)pos);
    P("set times", __wasi_fd_filestat_set_times(fd, 1, 2, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    P("set times bad", __wasi_fd_filestat_set_times(fd, 1, 2, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW));
    P("filestat h", __wasi_fd_filestat_get(fd, &st));
    P("mtim", (int)st.mtim);
    P("close h", __wasi_fd_close(fd));
    P("open readonly", opened("h", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
    P("write readonly", __wasi_fd_write(fd, &ciov, 1, &n));
    P("set size readonly", __wasi_fd_filestat_set_size(fd, 0));
    P("fdstat ro", __wasi_fd_fdstat_get(fd, &fst));
    P("ro rights has write", (fst.fs_rights_base & __WASI_RIGHTS_FD_WRITE) != 0);
    P("shrink rights", __wasi_fd_fdstat_set_rights(fd, 0, 0));
    P("read no rights", __wasi_fd_read(fd, &iov, 1, &n));
    P("grow rights", __wasi_fd_fdstat_set_rights(fd, ALL, ALL));
    P("close ro", __wasi_fd_close(fd));
    P("open trunc", opened("h", __WASI_OFLAGS_TRUNC, ALL, 0, 0, &fd));
    P("filestat trunc", __wasi_fd_filestat_get(fd, &st));
    P("size trunc", (int)st.size);
    P("close trunc", __wasi_fd_close(fd));
    P("sock_accept", __wasi_sock_accept(DIR, 0, &fd));
    P("sock_recv", 0);
    P("sched_yield", __wasi_sched_yield());
    P("path dotdot inside", opened("d/../h", 0, ALL, 0, 0, &fd));
    P("path dot", opened(".", __WASI_OFLAGS_DIRECTORY, ALL, 0, 0, &fd2));
    P("path filestat dot", __wasi_path_filestat_get(DIR, 0, ".", &st));
    P("dot type", st.filetype);
    P("mkdir dot", __wasi_path_create_directory(DIR, "."));
    P("rmdir dot", __wasi_path_remove_directory(DIR, "."));
    P("unlink dot", __wasi_path_unlink_file(DIR, "."));
    P("rename dot", __wasi_path_rename(DIR, ".", DIR, "z"));
    P("mkdir trailing slash", __wasi_path_create_directory(DIR, "e/"));
    P("rmdir trailing slash", __wasi_path_remove_directory(DIR, "e/"));
    P("unlink trailing slash", __wasi_path_unlink_file(DIR, "h/"));
    P("mkdir e2", __wasi_path_create_directory(DIR, "e2"));
    P("rmdir e2/.", __wasi_path_remove_directory(DIR, "e2/."));
    P("rmdir e2//", __wasi_path_remove_directory(DIR, "e2//"));
    P("rmdir e2", __wasi_path_remove_directory(DIR, "e2"));
    P("mkdir e3", __wasi_path_create_directory(DIR, "e3"));
    P("rename e3/ e4/", __wasi_path_rename(DIR, "e3/", DIR, "e4/"));
    P("rename e4/ e5", __wasi_path_rename(DIR, "e4", DIR, "e5/"));
    P("mkdir e6/", __wasi_path_create_directory(DIR, "e6/"));
    P("rename file h to h2/", __wasi_path_rename(DIR, "h", DIR, "h2/"));
    P("rename file h/ to h2", __wasi_path_rename(DIR, "h/", DIR, "h2"));
    P("stat h/", __wasi_path_filestat_get(DIR, 0, "h/", &st));
    P("stat d/", __wasi_path_filestat_get(DIR, 0, "d/", &st));
    P("open d/ dir", opened("d/", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READDIR, 0, 0, &fd));
    P("create n/ ", opened("n/", __WASI_OFLAGS_CREAT, ALL, 0, 0, &fd));
    P("symlink to t/", __wasi_path_symlink("f", DIR, "t/"));
    P("link to l/", __wasi_path_link(DIR, 0, "f", DIR, "l/"));
    P("unlink sldd", __wasi_path_unlink_file(DIR, "sldd"));
    P("rmdir d/", __wasi_path_remove_directory(DIR, "d/"));
    return 0;
}
