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
