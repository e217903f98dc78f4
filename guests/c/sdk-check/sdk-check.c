/* sdk-check: the SDK's error paths, run as an agent by kernel-wasm/kwasm/tests/guests.rs.
 * Prints one line per case; the other languages' sdk-check print the same lines.
 *
 * Build: clang --target=wasm32-wasi -O2 -s -I../sdk -o sdk-check.wasm sdk-check.c
 *
 * Its first message names a module whose agent needs agent:send (an echo): spawning it with
 * only agent:receive must fail as a value (the child is refused for the missing capability). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_wasm.h"

static void show(const char *what, int32_t rc) {
    if (rc >= 0)
        printf("%s: ok\n", what);
    else
        printf("%s: %s (%d)\n", what, kw_strerror(rc), rc);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it happens, between the shell's */
    kw_message echo;
    int32_t rc = kw_receive_alloc(&echo, 256, KW_WAIT_FOREVER);
    if (rc < 0) {
        printf("no module to spawn: %s\n", kw_strerror(rc));
        return 1;
    }
    uint32_t me = kw_self_id();
    printf("c sdk-check: agent %u\n", me);

    /* A message longer than the buffer: kept, its length reported, then received whole. */
    static unsigned char long_msg[1000];
    for (int i = 0; i < 1000; i++) long_msg[i] = (unsigned char)(i % 251);
    show("send to self", kw_send(me, long_msg, sizeof long_msg));
    unsigned char small[16];
    uint32_t sender = 0, needed = 0;
    rc = kw_receive(small, sizeof small, &sender, &needed, KW_WAIT_FOREVER);
    if (rc == KW_ERR_BUFFER_TOO_SMALL)
        printf("too small: ERR_BUFFER_TOO_SMALL (-5), needs %u\n", needed);
    else
        printf("too small: unexpected %d\n", rc);
    kw_message msg;
    rc = kw_receive_alloc(&msg, sizeof small, KW_WAIT_FOREVER);
    if (rc < 0)
        printf("retry: %s\n", kw_strerror(rc));
    else
        printf("retry: %zu bytes from agent %u, intact: %s\n", msg.len, msg.sender,
               msg.len == sizeof long_msg && memcmp(msg.data, long_msg, msg.len) == 0 ? "true"
                                                                                      : "false");
    kw_message_free(&msg);

    show("empty mailbox", kw_receive(small, sizeof small, &sender, NULL, KW_NO_WAIT));
    show("timeout", kw_receive(small, sizeof small, &sender, NULL, 0));
    show("no such agent", kw_send_str(999999, "hello?"));
    static unsigned char huge[70000];
    show("too large", kw_send(me, huge, sizeof huge));
    show("bad config", kw_spawn((const char *)echo.data, "bogus"));
    show("missing capability", kw_spawn((const char *)echo.data, "agent:receive"));
    show("log", kw_log(KW_LOG_INFO, "sdk-check logs through the host"));
    kw_message_free(&echo);
    return 0;
}
