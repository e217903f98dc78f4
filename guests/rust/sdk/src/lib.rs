//! Safe Rust bindings for kernel-wasm agents: the `agent` host module (messages, spawning,
//! logging; `docs/agents.md`), the `llm` host module ([`llm`], `docs/llm.md`) and the `net` host
//! module ([`net`], `docs/net.md`).
//!
//! ```no_run
//! use kernel_wasm_sdk::{receive, send};
//!
//! let mut buf = [0u8; 256];
//! loop {
//!     let msg = receive(&mut buf).expect("agent:receive is granted");
//!     let _ = send(msg.sender(), msg.body());
//! }
//! ```
//!
//! An agent is an ordinary WASI command (`fn main`, exported as `_start`), built with
//! `cargo build --release --target wasm32-wasip1`; WASI (files, the environment, printing) comes
//! from Rust's standard library. The crate itself is `no_std`: with `default-features = false` it
//! needs no allocator, and `receive` then reports a message longer than the buffer as
//! [`AgentError::BufferTooSmall`] instead of retrying it in a `Vec`.
//!
//! Every function returns a [`Result`]: errors are values ([`AgentError`]), never traps. The raw
//! imports are in [`sys`]; nothing else in this crate is `unsafe`.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn, missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod error;
pub mod llm;
pub mod net;
pub mod sys;

pub use error::{AgentError, Result};

use error::check;

/// An agent's id. The host (the shell) is [`AgentId::HOST`]; agents get 1, 2, 3 … in spawn order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentId(pub u32);

impl AgentId {
    /// The host: a message sent to it is printed by the shell as `[agent N] text`.
    pub const HOST: AgentId = AgentId(0);
}

impl core::fmt::Display for AgentId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The largest message `send` accepts (64 KiB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The caller's own id.
pub fn self_id() -> AgentId {
    // SAFETY: no arguments; the host only returns a number.
    AgentId(unsafe { sys::get_self_id() } as u32)
}

/// Sends `body` (at most [`MAX_MESSAGE_BYTES`]) to agent `to`; the host copies it before this
/// returns. Needs `agent:send`. [`AgentError::MailboxFull`] means: retry later.
pub fn send(to: AgentId, body: &[u8]) -> Result<()> {
    // SAFETY: pointer and length are those of one live slice, which the host only reads.
    check(unsafe { sys::send_message(to.0, body.as_ptr(), body.len()) }).map(|_| ())
}

/// Starts an agent from the module at VFS path `module` (e.g. `/agents/echo.wasm`) with
/// capabilities `caps` (e.g. `"agent:send,agent:receive"`; `""`: the caller's own). The child
/// gets at most the caller's capabilities. Needs `agent:spawn`.
///
/// A child whose module imports a function whose capability it would not have is refused:
/// [`AgentError::SpawnFailed`] (the host reports why).
pub fn spawn(module: &str, caps: &str) -> Result<AgentId> {
    // SAFETY: pointers and lengths of two live string slices, which the host only reads.
    check(unsafe { sys::spawn(module.as_ptr(), module.len(), caps.as_ptr(), caps.len()) })
        .map(AgentId)
}

/// Log levels of [`log`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Level {
    /// `[agent N ERROR]`
    Error = 0,
    /// `[agent N WARN]`
    Warn = 1,
    /// `[agent N INFO]`
    Info = 2,
    /// `[agent N DEBUG]`
    Debug = 3,
    /// `[agent N TRACE]`
    Trace = 4,
}

/// Prints `text` (at most 4096 bytes) through the host as `[agent N LEVEL] text`. No capability.
pub fn log(level: Level, text: &str) -> Result<()> {
    // SAFETY: pointer and length of one live string slice, which the host only reads.
    check(unsafe { sys::log(level as u32, text.as_ptr(), text.len()) }).map(|_| ())
}

/// Ends the agent with `code` at once (no destructors run, nothing is flushed).
pub fn exit(code: i32) -> ! {
    // SAFETY: no memory is passed; the call does not return.
    unsafe { sys::exit(code) }
}

/// A received message: who sent it and its bytes.
#[derive(Debug)]
pub struct Message<'a> {
    sender: AgentId,
    body: Body<'a>,
}

#[derive(Debug)]
enum Body<'a> {
    /// In the caller's buffer.
    Borrowed(&'a [u8]),
    /// Longer than the caller's buffer: received again into its own allocation.
    #[cfg(feature = "alloc")]
    Owned(alloc::vec::Vec<u8>),
}

impl Message<'_> {
    /// The sender's id ([`AgentId::HOST`] for the shell).
    pub fn sender(&self) -> AgentId {
        self.sender
    }

    /// The message's bytes.
    pub fn body(&self) -> &[u8] {
        match &self.body {
            Body::Borrowed(bytes) => bytes,
            #[cfg(feature = "alloc")]
            Body::Owned(bytes) => bytes,
        }
    }

    /// The body as text, if it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        core::str::from_utf8(self.body()).ok()
    }
}

/// How a receive waits when the mailbox is empty.
#[derive(Clone, Copy)]
enum Wait {
    Block,
    No,
    Timeout(u32),
}

fn receive_raw(buf: &mut [u8], wait: Wait, sender: &mut u32) -> i32 {
    let (ptr, len) = (buf.as_mut_ptr(), buf.len());
    // SAFETY: `ptr`/`len` are those of one live, exclusively borrowed slice and `sender` is an
    // aligned `&mut u32`; the host writes only inside them.
    unsafe {
        match wait {
            Wait::Block => sys::receive_message(ptr, len, sender),
            Wait::No => sys::try_receive_message(ptr, len, sender),
            Wait::Timeout(ms) => sys::receive_message_timeout(ptr, len, sender, ms),
        }
    }
}

fn receive_with(buf: &mut [u8], wait: Wait) -> Result<Message<'_>> {
    match receive_into_with(buf, wait) {
        Ok((sender, len)) => Ok(Message {
            sender,
            body: Body::Borrowed(&buf[..len]),
        }),
        Err(AgentError::BufferTooSmall { needed }) => too_small(needed),
        Err(other) => Err(other),
    }
}

fn receive_into_with(buf: &mut [u8], wait: Wait) -> Result<(AgentId, usize)> {
    let mut word = 0u32; // the sender, or the length needed
    match check(receive_raw(buf, wait, &mut word)) {
        Ok(len) => Ok((AgentId(word), len as usize)),
        // The message stays first in the mailbox; the host wrote its length to `word`.
        Err(AgentError::BufferTooSmall { .. }) => Err(AgentError::BufferTooSmall { needed: word }),
        Err(other) => Err(other),
    }
}

/// Waits for the next message and moves it into `buf` without ever allocating: the sender and
/// the message's length. A message longer than `buf` stays first in the mailbox and the answer is
/// [`AgentError::BufferTooSmall`] with its length: call again with a buffer that large.
pub fn receive_into(buf: &mut [u8]) -> Result<(AgentId, usize)> {
    receive_into_with(buf, Wait::Block)
}

/// [`receive_into`] without waiting: [`AgentError::NoMessage`] when the mailbox is empty.
pub fn try_receive_into(buf: &mut [u8]) -> Result<(AgentId, usize)> {
    receive_into_with(buf, Wait::No)
}

/// A message of `needed` bytes waits at the head of the mailbox: receive it into a `Vec`.
#[cfg(feature = "alloc")]
fn too_small<'a>(needed: u32) -> Result<Message<'a>> {
    let mut owned = alloc::vec![0u8; needed as usize];
    // Nothing else consumes this mailbox, so the same message is still first: no wait needed.
    let (sender, len) = receive_into_with(&mut owned, Wait::No)?;
    owned.truncate(len);
    Ok(Message {
        sender,
        body: Body::Owned(owned),
    })
}

#[cfg(not(feature = "alloc"))]
fn too_small<'a>(needed: u32) -> Result<Message<'a>> {
    Err(AgentError::BufferTooSmall { needed })
}

/// Waits for the next message and returns it. Needs `agent:receive`.
///
/// A message that fits is received into `buf` (the [`Message`] borrows it); a longer one is
/// received again into a `Vec` of its size (feature `alloc`, on by default) — without `alloc`
/// it stays in the mailbox and the answer is [`AgentError::BufferTooSmall`] with its length.
/// Messages are never cut or lost.
pub fn receive(buf: &mut [u8]) -> Result<Message<'_>> {
    receive_with(buf, Wait::Block)
}

/// [`receive`] without waiting: [`AgentError::NoMessage`] when the mailbox is empty.
pub fn try_receive(buf: &mut [u8]) -> Result<Message<'_>> {
    receive_with(buf, Wait::No)
}

/// [`receive`] waiting at most `timeout_ms` milliseconds: [`AgentError::Timeout`] after that.
pub fn receive_timeout(buf: &mut [u8], timeout_ms: u32) -> Result<Message<'_>> {
    receive_with(buf, Wait::Timeout(timeout_ms))
}
