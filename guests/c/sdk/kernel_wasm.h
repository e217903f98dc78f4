/*
 * kernel_wasm.h: the kernel-wasm guest SDK for C, in one header.
 *
 * Declares the `agent` host module (docs/agents.md) and the `llm` host module (docs/llm.md),
 * their error codes (KW_ERR_* for agent, KW_LLM_ERR_* for llm: each module numbers its own), and
 * small checked helpers on top. Build with clang for WASI:
 *
 *     clang --target=wasm32-wasi -O2 -I path/to/sdk main.c -o main.wasm
 *
 * Layers (the shape of Extism's PDKs):
 *   1. raw imports `kw_raw_*`: the host functions exactly as the ABI defines them;
 *   2. checked helpers `kw_*` (the default): argument checks before the host is called, results
 *      as `int32_t` status (>= 0 success, < 0 a KW_ERR_* code), never a trap;
 *   3. with libc (default; define KW_NO_LIBC to leave it out): `kw_receive_alloc` and
 *      `kw_llm_infer_alloc`, which retry a message or completion longer than the buffer in a
 *      malloc'd one of the size the host reports.
 *
 * Memory ownership: every pointer passed to the host is an offset into this module's linear
 * memory. The host reads or writes the given range only during the call and keeps no reference:
 * the caller owns every buffer before and after. The host never allocates in guest memory; the
 * only allocations in this header are the *_alloc helpers', which the caller frees
 * (kw_message_free, free).
 */
#ifndef KERNEL_WASM_H
#define KERNEL_WASM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KW_IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

/* ---- error codes (docs/agents.md, "Error codes") ------------------------------------------- */

#define KW_OK 0
#define KW_ERR_NO_SUCH_AGENT -1     /* the target does not exist or has ended */
#define KW_ERR_MAILBOX_FULL -2      /* the target's mailbox is full: retry later */
#define KW_ERR_NO_MESSAGE -3        /* try_receive: the mailbox is empty */
#define KW_ERR_TIMEOUT -4           /* receive_timeout: nothing arrived in time */
#define KW_ERR_BUFFER_TOO_SMALL -5  /* message longer than the buffer; kept; length reported */
#define KW_ERR_NOT_CAPABLE -6       /* the function's capability is not granted */
#define KW_ERR_BAD_POINTER -7       /* a range outside memory, misaligned, or not UTF-8 */
#define KW_ERR_SPAWN_LIMIT -8       /* the spawn tree's agent limit is used up */
#define KW_ERR_TOO_LARGE -9         /* message > 64 KiB, log > 4096 bytes, path/config > 4096 */
#define KW_ERR_SPAWN_FAILED -10     /* module unreadable, invalid, refused, or without entry */
#define KW_ERR_BAD_CONFIG -11       /* the spawn configuration is no capability list */
#define KW_ERR_NOT_AN_AGENT -12     /* not running as an agent (wasm-run, start function) */
#define KW_ERR_NO_MEMORY -100       /* this SDK, not the host: malloc failed */

#define KW_HOST 0u                        /* the host's agent id: messages to it are printed */
#define KW_MAX_MESSAGE_BYTES (64u * 1024u) /* the largest message send accepts */
#define KW_MAX_LOG_BYTES 4096u

/* The host's name of a status code, e.g. "ERR_NOT_CAPABLE" ("OK" for >= 0). */
static inline const char *kw_strerror(int32_t code) {
    switch (code) {
    case KW_ERR_NO_SUCH_AGENT: return "ERR_NO_SUCH_AGENT";
    case KW_ERR_MAILBOX_FULL: return "ERR_MAILBOX_FULL";
    case KW_ERR_NO_MESSAGE: return "ERR_NO_MESSAGE";
    case KW_ERR_TIMEOUT: return "ERR_TIMEOUT";
    case KW_ERR_BUFFER_TOO_SMALL: return "ERR_BUFFER_TOO_SMALL";
    case KW_ERR_NOT_CAPABLE: return "ERR_NOT_CAPABLE";
    case KW_ERR_BAD_POINTER: return "ERR_BAD_POINTER";
    case KW_ERR_SPAWN_LIMIT: return "ERR_SPAWN_LIMIT";
    case KW_ERR_TOO_LARGE: return "ERR_TOO_LARGE";
    case KW_ERR_SPAWN_FAILED: return "ERR_SPAWN_FAILED";
    case KW_ERR_BAD_CONFIG: return "ERR_BAD_CONFIG";
    case KW_ERR_NOT_AN_AGENT: return "ERR_NOT_AN_AGENT";
    case KW_ERR_NO_MEMORY: return "ERR_NO_MEMORY";
    default: return code >= 0 ? "OK" : "unknown error";
    }
}

/* ---- 1. raw imports: module "agent" ----------------------------------------------------------
 * Each reads or writes only the ranges it is given, during the call; the caller owns them. */

/* Starts an agent from the VFS path module[..module_len] with capabilities config[..config_len]
 * ("" = the caller's own; never more). Returns the child's id or an error. Needs agent:spawn.
 * Reads both ranges. */
int32_t kw_raw_spawn(const char *module, size_t module_len, const char *config,
                     size_t config_len) KW_IMPORT("agent", "spawn");

/* Copies msg[..msg_len] (<= 64 KiB) into agent target's mailbox (0 = the host). Returns 0 or an
 * error. Needs agent:send. Reads the range. */
int32_t kw_raw_send_message(uint32_t target, const void *msg, size_t msg_len)
    KW_IMPORT("agent", "send_message");

/* Blocks for a message, moves it into buf[..buf_len], writes the sender's id to *sender (4-byte
 * aligned). Returns its length or an error; on KW_ERR_BUFFER_TOO_SMALL nothing is consumed and
 * *sender holds the length needed. Needs agent:receive. Writes buf[..len] and *sender. */
int32_t kw_raw_receive_message(void *buf, size_t buf_len, uint32_t *sender)
    KW_IMPORT("agent", "receive_message");

/* As kw_raw_receive_message, but KW_ERR_NO_MESSAGE at once when the mailbox is empty. */
int32_t kw_raw_try_receive_message(void *buf, size_t buf_len, uint32_t *sender)
    KW_IMPORT("agent", "try_receive_message");

/* As kw_raw_receive_message, but KW_ERR_TIMEOUT after timeout_ms milliseconds. */
int32_t kw_raw_receive_message_timeout(void *buf, size_t buf_len, uint32_t *sender,
                                       uint32_t timeout_ms)
    KW_IMPORT("agent", "receive_message_timeout");

/* The caller's agent id. No capability. */
int32_t kw_raw_get_self_id(void) KW_IMPORT("agent", "get_self_id");

/* Prints text[..len] (<= 4096 bytes) as "[agent N LEVEL] text". Levels below. Reads the range. */
int32_t kw_raw_log(uint32_t level, const char *text, size_t len) KW_IMPORT("agent", "log");

/* Ends the agent with code. Does not return. */
_Noreturn void kw_raw_exit(int32_t code) KW_IMPORT("agent", "exit");

/* ---- 1. raw imports: module "llm" (docs/llm.md) ---------------------------------------------
 * Results >= 0 are success; negative ones are KW_LLM_ERR_* codes (the llm module's own
 * numbering: -1 is "not capable" there). Each reads or writes only the ranges it is given. */

/* Runs the model on the UTF-8 prompt[..prompt_len], writes the completion to out[..out_max].
 * Returns its length; a length > out_max means NOTHING was written and that many bytes are
 * needed (the host keeps the completion: the next infer with the same prompt returns it without
 * generating it again). out[..out_max] must lie in memory even if the completion is shorter.
 * Needs llm:infer. Blocks while the model generates (the scheduler runs it a token per turn). */
int32_t kw_raw_llm_infer(const char *prompt, size_t prompt_len, char *out, size_t out_max)
    KW_IMPORT("llm", "infer");

/* Writes the model's description ("key=value\n" lines) to out[..out_max]; infer's buffer rules.
 * Needs llm:infer. */
int32_t kw_raw_llm_info(char *out, size_t out_max) KW_IMPORT("llm", "info");

/* Loads the LoRA adapter in the directory path[..path_len] (seen through the caller's preopens,
 * which need file:read). Returns its id (>= 1). Needs llm:adapter. Reads the range. */
int32_t kw_raw_llm_load_lora(const char *path, size_t path_len) KW_IMPORT("llm", "load_lora");

/* Removes adapter id. Returns 0. Needs llm:adapter. */
int32_t kw_raw_llm_unload_lora(uint32_t id) KW_IMPORT("llm", "unload_lora");

#define KW_LLM_ERR_NOT_CAPABLE -1      /* no llm:infer / llm:adapter */
#define KW_LLM_ERR_BAD_POINTER -2      /* a range outside memory, or not UTF-8 */
#define KW_LLM_ERR_NO_MODEL -3         /* the host has no model loaded */
#define KW_LLM_ERR_TOO_LARGE -4        /* prompt too long (bytes or tokens), path > 4096 bytes */
#define KW_LLM_ERR_BUSY -5             /* outside the scheduler, another inference holds the model */
#define KW_LLM_ERR_FAILED -6           /* the engine failed */
#define KW_LLM_ERR_NOT_FOUND -7        /* load_lora: no readable directory there */
#define KW_LLM_ERR_BAD_ADAPTER -8      /* load_lora: missing, malformed or mismatched adapter */
#define KW_LLM_ERR_ADAPTER_LIMIT -9    /* load_lora: no room for another adapter */
#define KW_LLM_ERR_NO_SUCH_ADAPTER -10 /* unload_lora: no adapter has this id */
#define KW_LLM_ERR_BUFFER_TOO_SMALL -101 /* this SDK: the output needs *needed bytes */

/* The llm module's name of a status code, e.g. "ERR_NO_MODEL" ("OK" for >= 0). */
static inline const char *kw_llm_strerror(int32_t code) {
    switch (code) {
    case KW_LLM_ERR_NOT_CAPABLE: return "ERR_NOT_CAPABLE";
    case KW_LLM_ERR_BAD_POINTER: return "ERR_BAD_POINTER";
    case KW_LLM_ERR_NO_MODEL: return "ERR_NO_MODEL";
    case KW_LLM_ERR_TOO_LARGE: return "ERR_TOO_LARGE";
    case KW_LLM_ERR_BUSY: return "ERR_BUSY";
    case KW_LLM_ERR_FAILED: return "ERR_FAILED";
    case KW_LLM_ERR_NOT_FOUND: return "ERR_NOT_FOUND";
    case KW_LLM_ERR_BAD_ADAPTER: return "ERR_BAD_ADAPTER";
    case KW_LLM_ERR_ADAPTER_LIMIT: return "ERR_ADAPTER_LIMIT";
    case KW_LLM_ERR_NO_SUCH_ADAPTER: return "ERR_NO_SUCH_ADAPTER";
    case KW_LLM_ERR_BUFFER_TOO_SMALL: return "ERR_BUFFER_TOO_SMALL";
    case KW_ERR_NO_MEMORY: return "ERR_NO_MEMORY";
    default: return code >= 0 ? "OK" : "unknown error";
    }
}

/* ---- 2. checked helpers ----------------------------------------------------------------------
 * Each checks what it can before calling the host (a NULL pointer with a length, a length over
 * the host's limit) and answers with the same code the host would. */

enum kw_log_level { KW_LOG_ERROR = 0, KW_LOG_WARN = 1, KW_LOG_INFO = 2, KW_LOG_DEBUG = 3,
                    KW_LOG_TRACE = 4 };

static inline size_t kw__strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* The caller's agent id (0 would be the host). */
static inline uint32_t kw_self_id(void) { return (uint32_t)kw_raw_get_self_id(); }

/* Sends len bytes at msg to agent `to`. 0 or a KW_ERR_* code. */
static inline int32_t kw_send(uint32_t to, const void *msg, size_t len) {
    if (msg == NULL && len > 0) return KW_ERR_BAD_POINTER;
    if (len > KW_MAX_MESSAGE_BYTES) return KW_ERR_TOO_LARGE;
    return kw_raw_send_message(to, msg, len);
}

/* Sends the NUL-terminated text (without its NUL). */
static inline int32_t kw_send_str(uint32_t to, const char *text) {
    if (text == NULL) return KW_ERR_BAD_POINTER;
    return kw_send(to, text, kw__strlen(text));
}

/* Starts an agent from VFS path `module` with capabilities `caps` (NULL or "" = the caller's).
 * The child's id, or a KW_ERR_* code: KW_ERR_SPAWN_FAILED when, for instance, the module imports
 * a function whose capability the child would not have. */
static inline int32_t kw_spawn(const char *module, const char *caps) {
    if (module == NULL) return KW_ERR_BAD_POINTER;
    if (caps == NULL) caps = "";
    return kw_raw_spawn(module, kw__strlen(module), caps, kw__strlen(caps));
}

/* Logs the NUL-terminated text at `level`. */
static inline int32_t kw_log(enum kw_log_level level, const char *text) {
    if (text == NULL) return KW_ERR_BAD_POINTER;
    size_t len = kw__strlen(text);
    if (len > KW_MAX_LOG_BYTES) return KW_ERR_TOO_LARGE;
    return kw_raw_log((uint32_t)level, text, len);
}

/* Ends the agent with `code` at once (stdio buffers are not flushed: call fflush first). */
static inline _Noreturn void kw_exit(int32_t code) { kw_raw_exit(code); }

/* How long a receive waits: KW_WAIT_FOREVER, KW_NO_WAIT (KW_ERR_NO_MESSAGE at once on an empty
 * mailbox), or a number of milliseconds >= 0 (KW_ERR_TIMEOUT after them; at once for 0). */
#define KW_WAIT_FOREVER (-1)
#define KW_NO_WAIT (-2)

/* Receives the next message into buf[..cap]: its length (>= 0) with *sender set, or an error.
 * On KW_ERR_BUFFER_TOO_SMALL the message stays first in the mailbox and *needed (if not NULL)
 * holds its length: receive again with a buffer that large (or use kw_receive_alloc).
 * wait_ms: KW_WAIT_FOREVER blocks; KW_NO_WAIT answers KW_ERR_NO_MESSAGE at once on an empty
 * mailbox; N >= 0 answers KW_ERR_TIMEOUT after N milliseconds. */
static inline int32_t kw_receive(void *buf, size_t cap, uint32_t *sender, uint32_t *needed,
                                 int64_t wait_ms) {
    uint32_t word = 0; /* sender, or the length needed */
    int32_t n;
    if (buf == NULL && cap > 0) return KW_ERR_BAD_POINTER;
    if (wait_ms == KW_NO_WAIT)
        n = kw_raw_try_receive_message(buf, cap, &word);
    else if (wait_ms < 0)
        n = kw_raw_receive_message(buf, cap, &word);
    else
        n = kw_raw_receive_message_timeout(buf, cap, &word,
                                           wait_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)wait_ms);
    if (n >= 0 && sender != NULL) *sender = word;
    if (n == KW_ERR_BUFFER_TOO_SMALL && needed != NULL) *needed = word;
    return n;
}

/* Runs the model on the NUL-terminated prompt; writes the completion (no NUL) to out[..out_max].
 * Its length, or a KW_LLM_ERR_* code; KW_LLM_ERR_BUFFER_TOO_SMALL when it needs *needed bytes
 * (nothing written: call again with the same prompt and a buffer that large). */
static inline int32_t kw_llm_infer(const char *prompt, char *out, size_t out_max,
                                   uint32_t *needed) {
    if (prompt == NULL || (out == NULL && out_max > 0)) return KW_LLM_ERR_BAD_POINTER;
    int32_t n = kw_raw_llm_infer(prompt, kw__strlen(prompt), out, out_max);
    if (n >= 0 && (size_t)n > out_max) {
        if (needed != NULL) *needed = (uint32_t)n;
        return KW_LLM_ERR_BUFFER_TOO_SMALL;
    }
    return n;
}

/* Loads the LoRA adapter in directory `path`: its id (>= 1) or a KW_LLM_ERR_* code. */
static inline int32_t kw_llm_load_lora(const char *path) {
    if (path == NULL) return KW_LLM_ERR_BAD_POINTER;
    return kw_raw_llm_load_lora(path, kw__strlen(path));
}

/* Removes adapter id: 0 or a KW_LLM_ERR_* code. */
static inline int32_t kw_llm_unload_lora(uint32_t id) { return kw_raw_llm_unload_lora(id); }

/* ---- 3. with libc ------------------------------------------------------------------------- */
#ifndef KW_NO_LIBC
#include <stdlib.h>

/* A message received by kw_receive_alloc. `data` is malloc'd and owned by the caller: free it
 * with kw_message_free. `data[len]` is a NUL, so text messages are C strings too. */
typedef struct kw_message {
    uint32_t sender;
    size_t len;
    unsigned char *data;
} kw_message;

/* Receives the next message, whatever its length, into a malloc'd buffer (first try: `hint`
 * bytes; a longer message is received again into one of its size, so nothing is cut or lost).
 * 0 and *msg filled, or a KW_ERR_* code (msg->data NULL): KW_ERR_NO_MEMORY if malloc fails. */
static inline int32_t kw_receive_alloc(kw_message *msg, size_t hint, int64_t wait_ms) {
    if (msg == NULL) return KW_ERR_BAD_POINTER;
    msg->sender = 0;
    msg->len = 0;
    msg->data = NULL;
    size_t cap = hint;
    for (;;) {
        unsigned char *buf = (unsigned char *)malloc(cap + 1);
        if (buf == NULL) return KW_ERR_NO_MEMORY;
        uint32_t needed = 0;
        int32_t n = kw_receive(buf, cap, &msg->sender, &needed, wait_ms);
        if (n >= 0) {
            buf[n] = 0;
            msg->len = (size_t)n;
            msg->data = buf;
            return KW_OK;
        }
        free(buf);
        if (n != KW_ERR_BUFFER_TOO_SMALL) return n;
        /* The same message is still first: take it without waiting. */
        cap = needed;
        wait_ms = KW_NO_WAIT;
    }
}

/* Frees what kw_receive_alloc allocated (safe on an empty or already freed message). */
static inline void kw_message_free(kw_message *msg) {
    if (msg == NULL) return;
    free(msg->data);
    msg->data = NULL;
    msg->len = 0;
}
/* Runs the model on the NUL-terminated prompt and returns the whole completion, NUL-terminated,
 * in a malloc'd buffer the caller frees (*out; *len without the NUL): a completion longer than
 * the first buffer is fetched again at its size (the host kept it). 0 or a KW_LLM_ERR_* code. */
static inline int32_t kw_llm_infer_alloc(const char *prompt, char **out, size_t *len) {
    if (out == NULL || len == NULL) return KW_LLM_ERR_BAD_POINTER;
    *out = NULL;
    *len = 0;
    /* Small on purpose: a longer completion costs one more call, not a second generation (the
     * host keeps it for the retry). */
    size_t cap = 256;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *buf = (char *)malloc(cap + 1);
        if (buf == NULL) return KW_ERR_NO_MEMORY;
        uint32_t needed = 0;
        int32_t n = kw_llm_infer(prompt, buf, cap, &needed);
        if (n >= 0) {
            buf[n] = 0;
            *out = buf;
            *len = (size_t)n;
            return KW_OK;
        }
        free(buf);
        if (n != KW_LLM_ERR_BUFFER_TOO_SMALL) return n;
        cap = needed;
    }
    return KW_LLM_ERR_FAILED; /* the kept completion changed under us: not by this ABI */
}

/* The model's description ("key=value\n" lines), NUL-terminated, malloc'd; as kw_llm_infer_alloc. */
static inline int32_t kw_llm_info_alloc(char **out, size_t *len) {
    if (out == NULL || len == NULL) return KW_LLM_ERR_BAD_POINTER;
    *out = NULL;
    *len = 0;
    size_t cap = 512;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *buf = (char *)malloc(cap + 1);
        if (buf == NULL) return KW_ERR_NO_MEMORY;
        int32_t n = kw_raw_llm_info(buf, cap);
        if (n >= 0 && (size_t)n <= cap) {
            buf[n] = 0;
            *out = buf;
            *len = (size_t)n;
            return KW_OK;
        }
        free(buf);
        if (n < 0) return n;
        cap = (size_t)n;
    }
    return KW_LLM_ERR_FAILED;
}

#endif /* KW_NO_LIBC */

#ifdef __cplusplus
}
#endif
#endif /* KERNEL_WASM_H */
