/* WASI test program (wasi-libc): files, directories, readdir, rename/unlink, seek, args, env,
 * clocks, random and poll. Run as: files.wasm GUEST_DIR [args...] with GUEST_DIR preopened and
 * GREETING set. Prints one line per check; the kwasm test compares the whole output. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char path_bufs[2][512];
static int which;
static const char *root;

/* ROOT/name, in one of two alternating buffers (so a call can take two paths). */
static const char *p(const char *name) {
    char *buf = path_bufs[which ^= 1];
    snprintf(buf, sizeof path_bufs[0], "%s/%s", root, name);
    return buf;
}

#define CHECK(c)                                                                          \
    do {                                                                                  \
        if (!(c)) {                                                                       \
            printf("FAIL line %d: %s (errno %d)\n", __LINE__, #c, errno);                 \
            return 1;                                                                     \
        }                                                                                 \
    } while (0)

static int cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv) {
    printf("argc=%d", argc);
    for (int i = 1; i < argc; i++) printf(" [%s]", argv[i]);
    printf("\n");
    const char *greeting = getenv("GREETING");
    printf("GREETING=%s\n", greeting ? greeting : "(unset)");
    CHECK(argc > 1);
    root = argv[1];

    /* Write, append, read back with seeks. */
    FILE *f = fopen(p("file.txt"), "w");
    CHECK(f != NULL);
    CHECK(fputs("hello world\n", f) >= 0);
    CHECK(fclose(f) == 0);
    int fd = open(p("file.txt"), O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK(write(fd, "more\n", 5) == 5);
    CHECK(close(fd) == 0);
    char buf[64] = {0};
    fd = open(p("file.txt"), O_RDONLY);
    CHECK(fd >= 0);
    CHECK(lseek(fd, 6, SEEK_SET) == 6);
    CHECK(read(fd, buf, 5) == 5);
    printf("read=%s tell=%lld end=%lld\n", buf, (long long)lseek(fd, 0, SEEK_CUR),
           (long long)lseek(fd, 0, SEEK_END));
    CHECK(write(fd, "x", 1) == -1);
    printf("write to read-only fd: %s\n", errno == EBADF ? "EBADF" : "other");
    CHECK(close(fd) == 0);

    struct stat st;
    CHECK(stat(p("file.txt"), &st) == 0);
    printf("size=%lld regular=%d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    CHECK(truncate(p("file.txt"), 5) == 0);
    CHECK(stat(p("file.txt"), &st) == 0);
    printf("truncated size=%lld\n", (long long)st.st_size);

    /* Directories, rename, readdir. */
    CHECK(mkdir(p("dir"), 0755) == 0);
    CHECK(mkdir(p("dir"), 0755) == -1 && errno == EEXIST);
    CHECK(rename(p("file.txt"), p("dir/moved.txt")) == 0);
    CHECK(open(p("dir/b.txt"), O_CREAT | O_WRONLY, 0644) >= 0);
    DIR *d = opendir(p("dir"));
    CHECK(d != NULL);
    char *names[16];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 16) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    printf("entries:");
    for (int i = 0; i < n; i++) printf(" %s", names[i]);
    printf("\n");
    CHECK(rmdir(p("dir")) == -1 && errno == ENOTEMPTY);
    CHECK(unlink(p("dir/moved.txt")) == 0);
    CHECK(unlink(p("dir/b.txt")) == 0);
    CHECK(rmdir(p("dir")) == 0);
    CHECK(stat(p("dir"), &st) == -1);
    printf("after rmdir: %s\n", errno == ENOENT ? "ENOENT" : "other");

    /* Symlinks and escapes. */
    CHECK(symlink("target.txt", p("link")) == 0);
    ssize_t len = readlink(p("link"), buf, sizeof buf - 1);
    CHECK(len > 0);
    buf[len] = 0;
    printf("readlink=%s\n", buf);
    CHECK(unlink(p("link")) == 0);
    CHECK(open(p("../outside"), O_RDONLY) == -1);
    printf("escape: %s\n", errno == EPERM ? "EPERM" : errno == ENOTCAPABLE ? "ENOTCAPABLE" : "other");

    /* Clocks, sleep (poll_oneoff), random, poll. */
    struct timespec a, b, r;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    CHECK(nanosleep(&ten_ms, NULL) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
    long long elapsed = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("slept>=10ms: %s\n", elapsed >= 10000000LL ? "yes" : "no");
    CHECK(clock_gettime(CLOCK_REALTIME, &r) == 0);
    printf("realtime after 2020: %s\n", r.tv_sec > 1577836800 ? "yes" : "no");
    unsigned char rnd[32] = {0};
    CHECK(getentropy(rnd, sizeof rnd) == 0);
    int nonzero = 0;
    for (size_t i = 0; i < sizeof rnd; i++) nonzero |= rnd[i];
    printf("random: %s\n", nonzero ? "ok" : "all zero");
    struct pollfd pfd = {.fd = 1, .events = POLLOUT};
    int ready = poll(&pfd, 1, 0);
    printf("poll stdout: ready=%d out=%d\n", ready, (pfd.revents & POLLOUT) != 0);
    printf("done\n");
    return 0;
}
