//! The `agent` host module: what an agent imports to spawn, message and log.
//!
//! Every function returns an `i32`: a non-negative result, or one of the negative `ERR_*` codes
//! below (stable ABI; documented in `docs/agents.md`). Capabilities are checked before any guest
//! memory is touched; every guest pointer goes through [`crate::guest`].
//!
//! | function | capability |
//! |---|---|
//! | `spawn(module_ptr, module_len, config_ptr, config_len) -> id` | `agent:spawn` |
//! | `send_message(target, msg_ptr, msg_len) -> status` | `agent:send` |
//! | `receive_message(buf_ptr, buf_len, sender_ptr) -> len` (blocks) | `agent:receive` |
//! | `try_receive_message(buf_ptr, buf_len, sender_ptr) -> len` | `agent:receive` |
//! | `receive_message_timeout(buf_ptr, buf_len, sender_ptr, timeout_ms) -> len` | `agent:receive` |
//! | `get_self_id() -> id` | none |
//! | `log(level, ptr, len) -> status` | none |
//! | `exit(code)` (does not return) | none |

use alloc::format;
use alloc::string::ToString;

use wasmi::Caller;

use crate::caps::Capability;
use crate::context::HostContext;
use crate::execution::{park, Suspend};
use crate::guest::GuestPtr;
use crate::host::{HostCall, Registry};
use crate::platform::Stream;

use super::mailbox::deliver;
use super::shared::{Request, SendError};

/// The import module name.
pub const MODULE: &str = "agent";

/// Success (`send_message`, `log`).
pub const OK: i32 = 0;
/// The target agent does not exist or is no longer running (exited, trapped, killed).
pub const ERR_NO_SUCH_AGENT: i32 = -1;
/// The target's mailbox holds `mailbox_depth` messages already, or the messages queued in the
/// whole system hold `max_queued_bytes` (backpressure: retry later).
pub const ERR_MAILBOX_FULL: i32 = -2;
/// `try_receive_message`: the mailbox is empty.
pub const ERR_NO_MESSAGE: i32 = -3;
/// `receive_message_timeout`: no message arrived in time.
pub const ERR_TIMEOUT: i32 = -4;
/// The head message is longer than the buffer. It stays queued, and the length needed is written
/// to the `u32` at `sender_ptr` (in place of the sender id).
pub const ERR_BUFFER_TOO_SMALL: i32 = -5;
/// The agent lacks the capability the function needs.
pub const ERR_NOT_CAPABLE: i32 = -6;
/// A pointer/length is outside linear memory (or the module exports no memory), `sender_ptr` is not
/// 4-byte aligned, or a string is not UTF-8. A receive failing so leaves the message queued.
pub const ERR_BAD_POINTER: i32 = -7;
/// `spawn`: the spawn tree's `spawn_limit`, or the system's agent limit, is used up.
pub const ERR_SPAWN_LIMIT: i32 = -8;
/// `send_message`: the message is longer than [`MAX_MESSAGE_BYTES`]; `log`: the text is longer than
/// [`MAX_LOG_BYTES`]; `spawn`: the path or configuration is longer than [`MAX_PATH_BYTES`] /
/// [`MAX_CONFIG_BYTES`].
pub const ERR_TOO_LARGE: i32 = -9;
/// `spawn`: the module cannot be read, loaded or instantiated, or has no entry point.
pub const ERR_SPAWN_FAILED: i32 = -10;
/// `spawn`: the configuration text is not a valid capability list.
pub const ERR_BAD_CONFIG: i32 = -11;
/// The instance does not run under the agent scheduler (e.g. `wasm-run`).
pub const ERR_NOT_AN_AGENT: i32 = -12;

/// The longest message body.
pub const MAX_MESSAGE_BYTES: u32 = 64 * 1024;
/// The longest module path `spawn` accepts.
pub const MAX_PATH_BYTES: u32 = 4096;
/// The longest configuration text `spawn` accepts.
pub const MAX_CONFIG_BYTES: u32 = 4096;

/// The text of an error code, for logs and the shell.
pub fn error_name(code: i32) -> &'static str {
    match code {
        ERR_NO_SUCH_AGENT => "no such agent",
        ERR_MAILBOX_FULL => "mailbox full",
        ERR_NO_MESSAGE => "no message",
        ERR_TIMEOUT => "timed out",
        ERR_BUFFER_TOO_SMALL => "buffer too small",
        ERR_NOT_CAPABLE => "not capable",
        ERR_BAD_POINTER => "bad pointer",
        ERR_SPAWN_LIMIT => "spawn limit reached",
        ERR_TOO_LARGE => "message too large",
        ERR_SPAWN_FAILED => "spawn failed",
        ERR_BAD_CONFIG => "bad spawn configuration",
        ERR_NOT_AN_AGENT => "not running as an agent",
        _ => "unknown error",
    }
}

type HostResult<T> = Result<T, wasmi::Error>;

/// Registers the `agent` module.
pub fn register(registry: &mut Registry) {
    let spawn_cap = Some(Capability::AgentSpawn);
    let send_cap = Some(Capability::AgentSend);
    let recv_cap = Some(Capability::AgentReceive);
    registry.func(MODULE, "spawn", spawn_cap, spawn);
    registry.func(MODULE, "send_message", send_cap, send_message);
    registry.func(MODULE, "receive_message", recv_cap, receive_message);
    registry.func(MODULE, "try_receive_message", recv_cap, try_receive_message);
    registry.func(
        MODULE,
        "receive_message_timeout",
        recv_cap,
        receive_message_timeout,
    );
    registry.func(MODULE, "get_self_id", None, get_self_id);
    registry.func(MODULE, "log", None, log);
    registry.func(MODULE, "exit", None, exit);
}

fn spawn(
    mut caller: Caller<'_, HostContext>,
    module_ptr: u32,
    module_len: u32,
    config_ptr: u32,
    config_len: u32,
) -> HostResult<i32> {
    caller.count();
    if !caller.data().caps.has(Capability::AgentSpawn) {
        return Ok(ERR_NOT_CAPABLE);
    }
    if module_len > MAX_PATH_BYTES || config_len > MAX_CONFIG_BYTES {
        return Ok(ERR_TOO_LARGE);
    }
    let Ok((mem, ctx)) = caller.memory() else {
        return Ok(ERR_BAD_POINTER);
    };
    let (Ok(path), Ok(config)) = (
        mem.str(module_ptr, module_len),
        mem.str(config_ptr, config_len),
    ) else {
        return Ok(ERR_BAD_POINTER);
    };
    let Some(link) = ctx.agent.as_ref() else {
        return Ok(ERR_NOT_AN_AGENT);
    };
    let mut shared = link.shared.lock();
    let Some(slot) = shared.slots.get_mut(ctx.id) else {
        return Ok(ERR_NOT_AN_AGENT);
    };
    slot.request = Some(Request::Spawn {
        path: path.to_string(),
        config: config.to_string(),
    });
    drop(shared);
    Err(park(ctx, Suspend::Spawn))
}

fn send_message(
    mut caller: Caller<'_, HostContext>,
    target: u32,
    msg_ptr: u32,
    msg_len: u32,
) -> i32 {
    caller.count();
    if !caller.data().caps.has(Capability::AgentSend) {
        return ERR_NOT_CAPABLE;
    }
    if msg_len > MAX_MESSAGE_BYTES {
        return ERR_TOO_LARGE;
    }
    let Ok((mem, ctx)) = caller.memory() else {
        return ERR_BAD_POINTER;
    };
    let Ok(body) = mem.slice(msg_ptr, msg_len) else {
        return ERR_BAD_POINTER;
    };
    let Some(link) = ctx.agent.as_ref() else {
        return ERR_NOT_AN_AGENT;
    };
    let result = link.shared.lock().send(ctx.id, target, body);
    match result {
        Ok(()) => OK,
        Err(SendError::NoSuchAgent) => ERR_NO_SUCH_AGENT,
        Err(SendError::Full | SendError::NoBytes) => ERR_MAILBOX_FULL,
    }
}

/// How long a receive may wait.
#[derive(Clone, Copy)]
enum Wait {
    No,
    Forever,
    /// Up to this many milliseconds.
    Millis(u32),
}

fn receive(
    caller: &mut Caller<'_, HostContext>,
    buf_ptr: u32,
    buf_len: u32,
    sender_ptr: u32,
    wait: Wait,
) -> HostResult<i32> {
    caller.count();
    if !caller.data().caps.has(Capability::AgentReceive) {
        return Ok(ERR_NOT_CAPABLE);
    }
    let Ok((mut mem, ctx)) = caller.memory() else {
        return Ok(ERR_BAD_POINTER);
    };
    // Check the pointers now, so a parked receive is not woken only to fail.
    if mem.slice(buf_ptr, buf_len).is_err() || mem.read(GuestPtr::<u32>::new(sender_ptr)).is_err() {
        return Ok(ERR_BAD_POINTER);
    }
    let Some(link) = ctx.agent.as_ref() else {
        return Ok(ERR_NOT_AN_AGENT);
    };
    let mut shared = link.shared.lock();
    let Some(slot) = shared.slots.get_mut(ctx.id) else {
        return Ok(ERR_NOT_AN_AGENT);
    };
    if !slot.mailbox.is_empty() {
        return Ok(deliver(
            &mut mem,
            &mut slot.mailbox,
            buf_ptr,
            buf_len,
            sender_ptr,
        ));
    }
    let why = match wait {
        Wait::No => return Ok(ERR_NO_MESSAGE),
        Wait::Millis(0) => return Ok(ERR_TIMEOUT),
        Wait::Forever => Suspend::Receive,
        Wait::Millis(ms) => {
            let now = ctx.platform.clock.monotonic_ns();
            Suspend::ReceiveUntil(now.saturating_add(u64::from(ms) * 1_000_000))
        }
    };
    slot.request = Some(Request::Receive {
        buf_ptr,
        buf_len,
        sender_ptr,
    });
    drop(shared);
    Err(park(ctx, why))
}

fn receive_message(
    mut caller: Caller<'_, HostContext>,
    buf_ptr: u32,
    buf_len: u32,
    sender_ptr: u32,
) -> HostResult<i32> {
    receive(&mut caller, buf_ptr, buf_len, sender_ptr, Wait::Forever)
}

fn try_receive_message(
    mut caller: Caller<'_, HostContext>,
    buf_ptr: u32,
    buf_len: u32,
    sender_ptr: u32,
) -> HostResult<i32> {
    receive(&mut caller, buf_ptr, buf_len, sender_ptr, Wait::No)
}

fn receive_message_timeout(
    mut caller: Caller<'_, HostContext>,
    buf_ptr: u32,
    buf_len: u32,
    sender_ptr: u32,
    timeout_ms: u32,
) -> HostResult<i32> {
    let wait = Wait::Millis(timeout_ms);
    receive(&mut caller, buf_ptr, buf_len, sender_ptr, wait)
}

fn get_self_id(mut caller: Caller<'_, HostContext>) -> i32 {
    caller.count();
    caller.data().id as i32
}

/// The name of a log level: 0 error, 1 warn, 2 info, 3 debug, anything else trace.
pub fn level_name(level: u32) -> &'static str {
    match level {
        0 => "error",
        1 => "warn",
        2 => "info",
        3 => "debug",
        _ => "trace",
    }
}

/// The longest log line; longer text is refused with [`ERR_TOO_LARGE`].
pub const MAX_LOG_BYTES: u32 = 4096;

fn log(mut caller: Caller<'_, HostContext>, level: u32, ptr: u32, len: u32) -> i32 {
    caller.count();
    if len > MAX_LOG_BYTES {
        return ERR_TOO_LARGE;
    }
    let Ok((mem, ctx)) = caller.memory() else {
        return ERR_BAD_POINTER;
    };
    let Ok(bytes) = mem.slice(ptr, len) else {
        return ERR_BAD_POINTER;
    };
    // Escaped as the shell shows messages: one line, no terminal control from a guest.
    let line = format!(
        "[agent {} {}] {}\n",
        ctx.id,
        level_name(level),
        crate::text::Escaped(bytes)
    );
    ctx.platform.console.write(Stream::Stdout, line.as_bytes());
    OK
}

fn exit(mut caller: Caller<'_, HostContext>, code: i32) -> HostResult<()> {
    caller.count();
    Err(wasmi::Error::i32_exit(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_its_own_name() {
        let codes = [
            ERR_NO_SUCH_AGENT,
            ERR_MAILBOX_FULL,
            ERR_NO_MESSAGE,
            ERR_TIMEOUT,
            ERR_BUFFER_TOO_SMALL,
            ERR_NOT_CAPABLE,
            ERR_BAD_POINTER,
            ERR_SPAWN_LIMIT,
            ERR_TOO_LARGE,
            ERR_SPAWN_FAILED,
            ERR_BAD_CONFIG,
            ERR_NOT_AN_AGENT,
        ];
        let names: alloc::vec::Vec<&str> = codes.iter().map(|&c| error_name(c)).collect();
        for (i, name) in names.iter().enumerate() {
            assert_ne!(*name, "unknown error", "{}", codes[i]);
            assert!(!names[..i].contains(name), "{name} twice");
        }
        assert_eq!(
            codes.to_vec(),
            (-12..=-1).rev().collect::<alloc::vec::Vec<i32>>()
        );
        for other in [OK, 1, -13, i32::MIN] {
            assert_eq!(error_name(other), "unknown error");
        }
    }
}
