//! The raw imports: one declaration per host function, exactly as `docs/agents.md` and
//! `docs/llm.md` define them. Everything else in this crate is built on these.
//!
//! **Memory ownership.** Every pointer is an offset into this module's linear memory. The host
//! reads or writes the given range only for the duration of the call and keeps no reference to it:
//! the caller owns every buffer before and after, and may reuse or free it at once. The host never
//! allocates in guest memory. Ranges outside memory answer `ERR_BAD_POINTER` (-7).
//!
//! These functions are `unsafe` only because a wrong pointer/length pair would let the host
//! write over the caller's own data; the safe wrappers in the crate root always pass a slice's
//! own pointer and length.

#[link(wasm_import_module = "agent")]
extern "C" {
    /// Starts an agent from the module at VFS path `module[..module_len]` (UTF-8) with the
    /// capabilities `config[..config_len]` (a comma-separated list; empty: the caller's own).
    /// Returns the child's id or an error code. Needs `agent:spawn`. Both ranges are only read.
    pub fn spawn(module: *const u8, module_len: usize, config: *const u8, config_len: usize)
        -> i32;

    /// Copies `msg[..msg_len]` (at most 64 KiB) into the mailbox of agent `target` (0: the host).
    /// Returns 0 or an error code. Needs `agent:send`. The range is only read.
    pub fn send_message(target: u32, msg: *const u8, msg_len: usize) -> i32;

    /// Blocks until a message arrives, moves it into `buf[..buf_len]` and writes the sender's id
    /// to the `u32` at `sender` (4-byte aligned). Returns the message length or an error code;
    /// on `ERR_BUFFER_TOO_SMALL` (-5) nothing is consumed and `*sender` holds the length needed.
    /// Needs `agent:receive`. The host writes `buf[..len]` and `*sender`, nothing else.
    pub fn receive_message(buf: *mut u8, buf_len: usize, sender: *mut u32) -> i32;

    /// `receive_message` without blocking: `ERR_NO_MESSAGE` (-3) when the mailbox is empty.
    pub fn try_receive_message(buf: *mut u8, buf_len: usize, sender: *mut u32) -> i32;

    /// `receive_message` waiting at most `timeout_ms`: `ERR_TIMEOUT` (-4) when nothing came.
    pub fn receive_message_timeout(
        buf: *mut u8,
        buf_len: usize,
        sender: *mut u32,
        timeout_ms: u32,
    ) -> i32;

    /// The caller's agent id (the host is 0). No capability.
    pub fn get_self_id() -> i32;

    /// Prints `text[..len]` (at most 4096 bytes; non-UTF-8 replaced) as `[agent N LEVEL] text`.
    /// Levels: 0 error, 1 warn, 2 info, 3 debug, other trace. No capability. Only reads.
    pub fn log(level: u32, text: *const u8, len: usize) -> i32;

    /// Ends the agent with `code`; does not return. No capability.
    pub fn exit(code: i32) -> !;
}

// The `llm` host module (`docs/llm.md`). Results: `>= 0` success, negative an `llm` error code
// (its own numbering: see `crate::llm::LlmError`). The ownership rules above hold: the host
// reads the prompt or path and writes at most `out_max` bytes at `out` during the call only.
#[link(wasm_import_module = "llm")]
extern "C" {
    /// Runs the model on the UTF-8 `prompt[..prompt_len]` and writes its completion to
    /// `out[..out_max]`. Returns the completion's length; a length `> out_max` means nothing was
    /// written and that many bytes are needed (the host keeps the completion: the next `infer`
    /// with the same prompt returns it without generating it again). Needs `llm:infer`.
    /// `out[..out_max]` must lie inside memory even when the completion is shorter. Blocks (the
    /// agent scheduler runs the inference a token step per turn).
    pub fn infer(prompt: *const u8, prompt_len: usize, out: *mut u8, out_max: usize) -> i32;

    /// Writes the model's description (`key=value` lines) to `out[..out_max]`; the buffer rules
    /// of `infer`. Needs `llm:infer`.
    pub fn info(out: *mut u8, out_max: usize) -> i32;

    /// Loads the LoRA adapter in the directory `path[..path_len]` (resolved through the
    /// instance's own preopens; needs `file:read` there too). Returns its id (>= 1). Needs
    /// `llm:adapter`. Only reads the range.
    pub fn load_lora(path: *const u8, path_len: usize) -> i32;

    /// Removes adapter `id`. Returns 0. Needs `llm:adapter`.
    pub fn unload_lora(id: u32) -> i32;
}
