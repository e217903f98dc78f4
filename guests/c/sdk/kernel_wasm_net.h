/* kernel_wasm_net.h: the `net` host module of kernel-wasm (docs/net.md) for C guests built with
 * clang --target=wasm32-wasi and wasi-libc. A single header, separate from kernel_wasm.h (include
 * either or both).
 *
 * A connected socket is an ordinary descriptor: read(), write(), send(), recv(), shutdown(),
 * poll() and close() work on it through wasi-libc. A server's listening socket comes from the
 * host (kwasm run --tcplisten ADDR, the shell's wasm-run --tcplisten PORT); kw_net_listener()
 * finds it and accept() takes connections from it.
 *
 * Memory ownership: every pointer is into this module's memory; the host reads the address (or
 * writes the buffer) only during the call. Results: >= 0 success, negative a WASI errno, negated
 * (-76 not permitted by net:connect, -14 refused, ...; kw_net_strerror names them). Importing
 * kw_raw_net_connect needs the net:connect capability (the module is refused at load without it);
 * sending and receiving need net:send and net:recv.
 */
#ifndef KERNEL_WASM_NET_H
#define KERNEL_WASM_NET_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KW_NET_IMPORT(name) __attribute__((import_module("net"), import_name(name)))

/* The raw imports. */
int32_t kw_raw_net_connect(const char *addr, size_t len) KW_NET_IMPORT("connect");
int32_t kw_raw_net_local_addr(int32_t fd, char *buf, size_t len) KW_NET_IMPORT("local_addr");
int32_t kw_raw_net_peer_addr(int32_t fd, char *buf, size_t len) KW_NET_IMPORT("peer_addr");

/* The errors the net functions answer (WASI errno values, negated). */
#define KW_NET_ERR_NOT_CAPABLE -76   /* no net:connect, or the address is outside its scopes */
#define KW_NET_ERR_INVALID -28       /* not host:port, or port 0 */
#define KW_NET_ERR_FAULT -21         /* a pointer outside memory */
#define KW_NET_ERR_NOT_RESOLVED -44  /* the host name cannot be resolved (the kernel: never) */
#define KW_NET_ERR_REFUSED -14       /* nothing listens there */
#define KW_NET_ERR_TIMED_OUT -73     /* no answer to the handshake in time */
#define KW_NET_ERR_UNREACHABLE -23   /* no route to the address */
#define KW_NET_ERR_FAMILY -5         /* address family not supported here (IPv6 on the kernel) */
#define KW_NET_ERR_TOO_MANY -41      /* the host's socket table is full */
#define KW_NET_ERR_NETWORK_DOWN -38  /* the host has no network */
#define KW_NET_ERR_BAD_FD -8         /* not an open descriptor */
#define KW_NET_ERR_NOT_SOCKET -57    /* not a socket */
#define KW_NET_ERR_NOT_CONNECTED -53 /* a listening socket has no peer */
#define KW_NET_ERR_BUFFER -42        /* the buffer is too short for the address */

static inline const char *kw_net_strerror(int32_t code) {
    switch (code) {
    case KW_NET_ERR_NOT_CAPABLE: return "not permitted by the net:connect capability";
    case KW_NET_ERR_INVALID: return "not a host:port address";
    case KW_NET_ERR_FAULT: return "bad pointer";
    case KW_NET_ERR_NOT_RESOLVED: return "host name not resolved";
    case KW_NET_ERR_REFUSED: return "connection refused";
    case KW_NET_ERR_TIMED_OUT: return "connection timed out";
    case KW_NET_ERR_UNREACHABLE: return "no route to host";
    case KW_NET_ERR_FAMILY: return "address family not supported";
    case KW_NET_ERR_TOO_MANY: return "too many sockets";
    case KW_NET_ERR_NETWORK_DOWN: return "no network";
    case KW_NET_ERR_BAD_FD: return "bad descriptor";
    case KW_NET_ERR_NOT_SOCKET: return "not a socket";
    case KW_NET_ERR_NOT_CONNECTED: return "not connected";
    case KW_NET_ERR_BUFFER: return "buffer too small";
    default: return code >= 0 ? "success" : "network error";
    }
}

/* Connects to addr ("10.0.2.2:8080", "[::1]:80", "localhost:80" where the host resolves names)
 * and waits for the handshake: the socket's descriptor, or a KW_NET_ERR_* code. */
static inline int32_t kw_net_connect(const char *addr) {
    return kw_raw_net_connect(addr, strlen(addr));
}

/* Writes socket fd's local (or peer) address, NUL-terminated, into buf[0..cap): its length, or
 * a KW_NET_ERR_* code (KW_NET_ERR_BUFFER when it does not fit with the NUL). */
static inline int32_t kw_net_local_addr(int32_t fd, char *buf, size_t cap) {
    if (cap == 0) return KW_NET_ERR_BUFFER;
    int32_t n = kw_raw_net_local_addr(fd, buf, cap - 1);
    if (n >= 0) buf[n] = '\0';
    return n;
}

static inline int32_t kw_net_peer_addr(int32_t fd, char *buf, size_t cap) {
    if (cap == 0) return KW_NET_ERR_BUFFER;
    int32_t n = kw_raw_net_peer_addr(fd, buf, cap - 1);
    if (n >= 0) buf[n] = '\0';
    return n;
}

/* The first listening socket the host handed over (hosts number them after the preopened
 * directories): its descriptor, or -1 when there is none. */
static inline int32_t kw_net_listener(void) {
    char buf[64];
    for (int32_t fd = 3; fd < 4096; fd++) {
        int32_t n = kw_raw_net_local_addr(fd, buf, sizeof buf);
        if (n >= 0) return fd;
        if (n == KW_NET_ERR_BAD_FD) return -1;
    }
    return -1;
}

#endif
