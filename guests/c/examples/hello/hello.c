/* hello: a WASI command. Prints its arguments and the GREETING environment variable, then
 * writes a file in its preopened directory /data and reads it back.
 *
 * Build: clang --target=wasm32-wasi -O2 -s -o hello.wasm hello.c
 * Run:   kwasm run --manifest manifest.toml --dir /tmp::/data hello.wasm -- one two
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_PATH "/data/hello-c.txt"
#define CONTENTS "written by c\n"

int main(int argc, char **argv) {
    printf("hello from c\n");
    for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
    const char *greeting = getenv("GREETING");
    if (greeting != NULL)
        printf("GREETING=%s\n", greeting);
    else
        printf("GREETING is not set\n");

    /* Without file:create (or without a preopen at /data) fopen fails: an error value. */
    FILE *f = fopen(FILE_PATH, "w");
    if (f == NULL || fputs(CONTENTS, f) == EOF || fclose(f) != 0) {
        fprintf(stderr, "hello: cannot write %s: %s\n", FILE_PATH, strerror(errno));
        return 1;
    }
    printf("wrote %s (%zu bytes)\n", FILE_PATH, strlen(CONTENTS));
    char back[64] = {0};
    f = fopen(FILE_PATH, "r");
    if (f == NULL) {
        fprintf(stderr, "hello: cannot read %s: %s\n", FILE_PATH, strerror(errno));
        return 1;
    }
    size_t n = fread(back, 1, sizeof back - 1, f);
    fclose(f);
    back[n] = 0;
    printf("read back: %s", back);
    return 0;
}
