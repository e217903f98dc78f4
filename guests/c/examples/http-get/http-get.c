/* http-get: a WASI command that fetches http://HOST:PORT/PATH with kw_net_connect and prints the
 * response body (the status line goes to stderr). Exits 0 for a 2xx answer, 1 otherwise.
 *
 * Build: clang --target=wasm32-wasi -O2 -s -I../../sdk -o http-get.wasm http-get.c
 * Run:   kwasm run --caps net:connect=127.0.0.1:*,net:send,net:recv http-get.wasm -- http://127.0.0.1:8080/
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel_wasm_net.h"

/* The largest response read. */
#define MAX_RESPONSE (16u << 20)

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || strncmp(argv[1], "http://", 7) != 0) {
        fprintf(stderr, "usage: http-get http://HOST:PORT/PATH\n");
        return 1;
    }
    const char *rest = argv[1] + 7;
    const char *slash = strchr(rest, '/');
    size_t auth_len = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *path = slash ? slash : "/";
    char addr[300];
    if (auth_len + 4 >= sizeof addr) {
        fprintf(stderr, "http-get: address too long\n");
        return 1;
    }
    memcpy(addr, rest, auth_len);
    addr[auth_len] = '\0';
    if (strchr(addr, ':') == NULL) strcat(addr, ":80");
    int32_t fd = kw_net_connect(addr);
    if (fd < 0) {
        fprintf(stderr, "http-get: %s: %s (errno %d)\n", addr, kw_net_strerror(fd), -fd);
        return 1;
    }
    char request[1024];
    int len = snprintf(request, sizeof request,
                       "GET %s HTTP/1.1\r\nHost: %.*s\r\nConnection: close\r\n\r\n", path,
                       (int)auth_len, rest);
    if (len < 0 || (size_t)len >= sizeof request || write_all(fd, request, (size_t)len) != 0) {
        fprintf(stderr, "http-get: cannot send the request\n");
        return 1;
    }
    size_t cap = 4096, used = 0;
    char *response = malloc(cap);
    for (;;) {
        if (response == NULL) {
            fprintf(stderr, "http-get: out of memory\n");
            return 1;
        }
        if (used == cap) {
            if (cap >= MAX_RESPONSE) {
                fprintf(stderr, "http-get: response too large\n");
                return 1;
            }
            cap *= 2;
            response = realloc(response, cap);
            continue;
        }
        ssize_t n = read(fd, response + used, cap - used);
        if (n < 0) {
            perror("http-get: receive");
            return 1;
        }
        if (n == 0) break;
        used += (size_t)n;
    }
    close(fd);
    char *end = NULL;
    for (size_t i = 0; i + 4 <= used; i++) {
        if (memcmp(response + i, "\r\n\r\n", 4) == 0) {
            end = response + i;
            break;
        }
    }
    if (end == NULL) {
        fprintf(stderr, "http-get: no complete response head\n");
        return 1;
    }
    char *eol = memchr(response, '\r', (size_t)(end - response) + 1);
    fprintf(stderr, "%.*s\n", (int)(eol - response), response);
    write_all(1, end + 4, used - (size_t)(end + 4 - response));
    int ok = used > 9 && response[9] == '2';
    free(response);
    return ok ? 0 : 1;
}
