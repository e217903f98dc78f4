/* echo: an agent that replies to every message with the same bytes prefixed by "c: ".
 *
 * Build: clang --target=wasm32-wasi -O2 -s -I../../sdk -o echo.wasm echo.c
 * Run:   agent-spawn /agents/c/echo.wasm agent:send,agent:receive   (kwasm shell or the kernel)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_wasm.h"

#define PREFIX "c: "

int main(void) {
    for (;;) {
        /* Any length: a message longer than the first guess is received again, never cut. */
        kw_message msg;
        int32_t rc = kw_receive_alloc(&msg, 512, KW_WAIT_FOREVER);
        if (rc < 0) {
            fprintf(stderr, "c echo: receive failed: %s\n", kw_strerror(rc));
            return 1;
        }
        size_t len = strlen(PREFIX) + msg.len;
        if (len > KW_MAX_MESSAGE_BYTES) len = KW_MAX_MESSAGE_BYTES;
        unsigned char *reply = malloc(len);
        if (reply == NULL) {
            fprintf(stderr, "c echo: out of memory\n");
            return 1;
        }
        memcpy(reply, PREFIX, strlen(PREFIX));
        memcpy(reply + strlen(PREFIX), msg.data, len - strlen(PREFIX));
        rc = kw_send(msg.sender, reply, len);
        free(reply);
        /* A sender that ended or is flooded is its own problem: keep serving the others. */
        if (rc == KW_ERR_NO_SUCH_AGENT || rc == KW_ERR_MAILBOX_FULL)
            fprintf(stderr, "c echo: reply to agent %u dropped: %s\n", msg.sender,
                    kw_strerror(rc));
        else if (rc < 0) {
            fprintf(stderr, "c echo: send failed: %s\n", kw_strerror(rc));
            return 1;
        }
        kw_message_free(&msg);
    }
}
