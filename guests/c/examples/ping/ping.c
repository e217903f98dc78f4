/* ping: an agent that pings echo agents and prints their replies.
 *
 * Its first message (usually from the shell) names the echo agents, separated by spaces: an
 * agent id ("3") uses a running echo, a module path ("/agents/go/echo.wasm") spawns a new one
 * with ping's own capabilities. For each, in order, ping sends "ping from c", waits for that
 * agent's reply and prints: c ping: agent N replied "REPLY". Exit status 0 when every echo
 * answered, 1 otherwise.
 *
 * Build: clang --target=wasm32-wasi -O2 -s -I../../sdk -o ping.wasm ping.c
 * Run:   agent-spawn /agents/c/ping.wasm   then   agent-send ID 1 /agents/go/echo.wasm
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_wasm.h"

#define GREETING "ping from c"

/* The echo named by target: a running agent's id, or a module to spawn. */
static int32_t echo_agent(const char *target) {
    char *end;
    unsigned long id = strtoul(target, &end, 10);
    if (*target >= '0' && *target <= '9' && *end == 0 && id <= UINT32_MAX) return (int32_t)id;
    return kw_spawn(target, "");
}

/* Sends the greeting to echo and waits for its reply (messages from others are skipped). */
static int32_t ping(uint32_t echo, kw_message *reply) {
    int32_t rc = kw_send_str(echo, GREETING);
    if (rc < 0) return rc;
    for (;;) {
        rc = kw_receive_alloc(reply, 256, KW_WAIT_FOREVER);
        if (rc < 0 || reply->sender == echo) return rc;
        fprintf(stderr, "c ping: skipped a message from agent %u\n", reply->sender);
        kw_message_free(reply);
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it happens, between the shell's */
    kw_message targets;
    int32_t rc = kw_receive_alloc(&targets, 256, KW_WAIT_FOREVER);
    if (rc < 0) {
        fprintf(stderr, "c ping: no list of echo agents: %s\n", kw_strerror(rc));
        return 1;
    }
    int status = 0;
    for (char *target = strtok((char *)targets.data, " \t\n"); target != NULL;
         target = strtok(NULL, " \t\n")) {
        int32_t echo = echo_agent(target);
        kw_message reply;
        rc = echo < 0 ? echo : ping((uint32_t)echo, &reply);
        if (rc < 0) {
            printf("c ping: %s: %s (%d)\n", target, kw_strerror(rc), rc);
            status = 1;
            continue;
        }
        printf("c ping: agent %d replied \"%.*s\"\n", echo, (int)reply.len, (char *)reply.data);
        kw_message_free(&reply);
    }
    kw_message_free(&targets);
    return status;
}
