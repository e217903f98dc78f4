/* llm-ask: a WASI command that runs the host's language model on its arguments (joined by
 * spaces) and prints the completion.
 *
 * Build: clang --target=wasm32-wasi -O2 -s -I../../sdk -o llm-ask.wasm llm-ask.c
 * Run:   kwasm run --manifest manifest.toml llm-ask.wasm -- Once upon a time   (with a model
 *        loaded, see docs/llm.md), or wasm-run --caps llm:infer /bin/llm-ask.wasm -- ...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_wasm.h"

int main(int argc, char **argv) {
    size_t size = 1;
    for (int i = 1; i < argc; i++) size += strlen(argv[i]) + 1;
    char *prompt = calloc(size, 1);
    if (prompt == NULL) {
        fprintf(stderr, "llm-ask: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (i > 1) strcat(prompt, " ");
        strcat(prompt, argv[i]);
    }
    /* A completion of any length: retried at the size the host reports. */
    char *completion;
    size_t len;
    int32_t rc = kw_llm_infer_alloc(prompt, &completion, &len);
    free(prompt);
    if (rc < 0) {
        fprintf(stderr, "llm-ask: %s (%d)\n", kw_llm_strerror(rc), rc);
        return 1;
    }
    printf("%s\n", completion);
    free(completion);
    return 0;
}
