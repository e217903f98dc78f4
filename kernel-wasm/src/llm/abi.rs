//! The `llm` host module: what a guest imports to run the shared model.
//!
//! Every function returns an `i32`: a non-negative result, or one of the negative `ERR_*` codes
//! below (stable ABI; documented in `docs/llm.md`). Capabilities are checked before anything else;
//! every guest pointer goes through [`crate::guest`].
//!
//! | function | capability |
//! |---|---|
//! | `infer(prompt_ptr, prompt_len, out_ptr, out_max) -> len` (parks) | `llm:infer` |
//! | `info(out_ptr, out_max) -> len` | `llm:infer` |
//! | `load_lora(path_ptr, path_len) -> id` | `llm:adapter` |
//! | `unload_lora(id) -> status` | `llm:adapter` |
//!
//! `infer` does not compute in the host call: it tokenizes the prompt, leaves a [`Session`] in the
//! instance's [`LlmLink`] and parks the call ([`Suspend::Infer`]). Whoever drives the call —
//! the agent scheduler, one token step per turn, or [`Execution::run_to_end`] — then calls
//! `serve` once per token step, between its checks of interrupts and time limits, and resumes
//! the guest with `infer`'s result when the session finishes.
//!
//! Outputs (`infer`, `info`): when the text fits `out_max`, it is written at `out_ptr` and its
//! length returned. When it does not, **nothing is written** and the length needed is returned (a
//! value greater than `out_max`); `infer` keeps that completion, and the instance's next `infer`
//! with the same prompt (the adapters unchanged) returns it without generating it again.
//!
//! [`Execution::run_to_end`]: crate::Execution::run_to_end

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmi::Caller;

use super::service::{AdapterError, InferError, LlmService};
use super::session::{Progress, Sampling, Session};
use crate::caps::Capability;
use crate::context::HostContext;
use crate::error::Error;
use crate::execution::{park, Suspend};
use crate::guest::GuestMemory;
use crate::host::{HostCall, Registry};
use crate::instance::Instance;

/// The import module name.
pub const MODULE: &str = "llm";

/// Success (`unload_lora`).
pub const OK: i32 = 0;
/// The instance lacks the capability the function needs (`llm:infer` for `infer` and `info`,
/// `llm:adapter` for `load_lora` and `unload_lora`). Only reachable by a module instantiated
/// without the pre-flight (an embedder's own linker): the runtime refuses to instantiate a module
/// importing these functions without their capability.
pub const ERR_NOT_CAPABLE: i32 = -1;
/// A pointer/length is outside linear memory (or the module exports no memory), or a prompt or
/// path is not UTF-8.
pub const ERR_BAD_POINTER: i32 = -2;
/// The runtime has no model loaded.
pub const ERR_NO_MODEL: i32 = -3;
/// `infer`: the prompt is longer than the service's `max_prompt_bytes` (default 2048), or its
/// tokens do not fit the model's context; `load_lora`: the path is longer than
/// [`MAX_PATH_BYTES`].
pub const ERR_TOO_LARGE: i32 = -4;
/// `infer` outside the agent scheduler (`wasm-run`, `kwasm run`): the model is busy with another
/// inference (an agent paused mid-inference) and nothing could make it free while this caller
/// waits. Under the scheduler an `infer` waits for its turn instead.
pub const ERR_BUSY: i32 = -5;
/// `infer`: the engine failed during the inference (nothing is written).
pub const ERR_FAILED: i32 = -6;
/// `load_lora`: the path names no directory the instance can read (see `docs/llm.md`).
pub const ERR_NOT_FOUND: i32 = -7;
/// `load_lora`: the adapter's files are malformed or do not match the model.
pub const ERR_BAD_ADAPTER: i32 = -8;
/// `load_lora`: the service holds as many adapters as it may.
pub const ERR_ADAPTER_LIMIT: i32 = -9;
/// `unload_lora`: no adapter has this id.
pub const ERR_NO_SUCH_ADAPTER: i32 = -10;

/// The longest adapter path `load_lora` accepts.
pub const MAX_PATH_BYTES: u32 = 4096;

/// The text of an error code, for logs and the shell.
pub fn error_name(code: i32) -> &'static str {
    match code {
        ERR_NOT_CAPABLE => "not capable",
        ERR_BAD_POINTER => "bad pointer",
        ERR_NO_MODEL => "no model loaded",
        ERR_TOO_LARGE => "too large",
        ERR_BUSY => "model busy",
        ERR_FAILED => "inference failed",
        ERR_NOT_FOUND => "not found",
        ERR_BAD_ADAPTER => "bad adapter",
        ERR_ADAPTER_LIMIT => "adapter limit reached",
        ERR_NO_SUCH_ADAPTER => "no such adapter",
        _ => "unknown error",
    }
}

/// The code `infer` returns when `error` keeps an inference from starting.
pub fn infer_error_code(error: &InferError) -> i32 {
    match error {
        InferError::PromptTooLong { .. } | InferError::ContextFull { .. } => ERR_TOO_LARGE,
        InferError::Engine(_) => ERR_FAILED,
    }
}

/// An inference parked in `infer`: the session and where its result goes.
struct Pending {
    session: Session,
    prompt: Vec<u8>,
    adapter_changes: u64,
    out_ptr: u32,
    out_max: u32,
}

/// A completion that did not fit the caller's buffer, kept for the retry.
struct Kept {
    prompt: Vec<u8>,
    /// The service's adapter changes when it was computed: a change makes it stale.
    adapter_changes: u64,
    text: String,
}

/// An instance's link to the LLM service (in its [`HostContext`]).
#[derive(Default)]
pub struct LlmLink {
    /// The runtime's service, copied in at instantiation (`None`: no model loaded).
    pub service: Option<Arc<LlmService>>,
    pending: Option<Box<Pending>>,
    kept: Option<Kept>,
}

impl LlmLink {
    pub fn new(service: Option<Arc<LlmService>>) -> LlmLink {
        LlmLink {
            service,
            pending: None,
            kept: None,
        }
    }

    /// Whether an `infer` of this instance waits to be served.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

impl core::fmt::Debug for LlmLink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LlmLink")
            .field("service", &self.service.as_ref().map(|s| s.name()))
            .field("pending", &self.pending.as_ref().map(|p| &p.session))
            .finish()
    }
}

type HostResult<T> = Result<T, wasmi::Error>;

/// Registers the `llm` module.
pub fn register(registry: &mut Registry) {
    let infer_cap = Some(Capability::LlmInfer);
    let adapter_cap = Some(Capability::LlmAdapter);
    registry.func(MODULE, "infer", infer_cap, infer);
    registry.func(MODULE, "info", infer_cap, info);
    registry.func(MODULE, "load_lora", adapter_cap, load_lora);
    registry.func(MODULE, "unload_lora", adapter_cap, unload_lora);
}

/// Writes `text` at `out_ptr` if it fits `out_max`; returns its length either way (the length
/// needed when it does not fit and nothing was written), or [`ERR_BAD_POINTER`].
fn write_out(mem: &mut GuestMemory<'_>, out_ptr: u32, out_max: u32, text: &[u8]) -> i32 {
    let Ok(len) = i32::try_from(text.len()) else {
        return ERR_TOO_LARGE;
    };
    if text.len() > out_max as usize {
        return len;
    }
    match mem.copy_from_host(out_ptr, text) {
        Ok(()) => len,
        Err(_) => ERR_BAD_POINTER,
    }
}

fn infer(
    mut caller: Caller<'_, HostContext>,
    prompt_ptr: u32,
    prompt_len: u32,
    out_ptr: u32,
    out_max: u32,
) -> HostResult<i32> {
    caller.count();
    if !caller.data().caps.has(Capability::LlmInfer) {
        return Ok(ERR_NOT_CAPABLE);
    }
    let Some(service) = caller.data().llm.service.clone() else {
        return Ok(ERR_NO_MODEL);
    };
    if prompt_len as usize > service.limits().max_prompt_bytes {
        return Ok(ERR_TOO_LARGE);
    }
    let Ok((mut mem, ctx)) = caller.memory() else {
        return Ok(ERR_BAD_POINTER);
    };
    // Check the output buffer now, so an inference is not run only to fail writing its result.
    if mem.slice(out_ptr, out_max).is_err() {
        return Ok(ERR_BAD_POINTER);
    }
    let Ok(prompt) = mem.str(prompt_ptr, prompt_len) else {
        return Ok(ERR_BAD_POINTER);
    };
    if let Some(kept) = ctx.llm.kept.take() {
        if kept.prompt == prompt.as_bytes() && kept.adapter_changes == service.adapter_changes() {
            let len = write_out(&mut mem, out_ptr, out_max, kept.text.as_bytes());
            if kept.text.len() > out_max as usize {
                ctx.llm.kept = Some(kept);
            }
            return Ok(len);
        }
    }
    let session = match service.begin(prompt, service.limits().max_tokens, Sampling::default()) {
        Ok(session) => session,
        Err(error) => return Ok(infer_error_code(&error)),
    };
    let prompt = prompt.as_bytes().to_vec();
    let adapter_changes = service.adapter_changes();
    ctx.llm.pending = Some(Box::new(Pending {
        session,
        prompt,
        adapter_changes,
        out_ptr,
        out_max,
    }));
    Err(park(ctx, Suspend::Infer))
}

fn info(mut caller: Caller<'_, HostContext>, out_ptr: u32, out_max: u32) -> i32 {
    caller.count();
    if !caller.data().caps.has(Capability::LlmInfer) {
        return ERR_NOT_CAPABLE;
    }
    let Some(service) = caller.data().llm.service.clone() else {
        return ERR_NO_MODEL;
    };
    let Ok((mut mem, _)) = caller.memory() else {
        return ERR_BAD_POINTER;
    };
    if mem.slice(out_ptr, out_max).is_err() {
        return ERR_BAD_POINTER;
    }
    write_out(&mut mem, out_ptr, out_max, service.info_text().as_bytes())
}

fn load_lora(mut caller: Caller<'_, HostContext>, path_ptr: u32, path_len: u32) -> i32 {
    caller.count();
    if !caller.data().caps.has(Capability::LlmAdapter) {
        return ERR_NOT_CAPABLE;
    }
    let Some(service) = caller.data().llm.service.clone() else {
        return ERR_NO_MODEL;
    };
    if path_len > MAX_PATH_BYTES {
        return ERR_TOO_LARGE;
    }
    let Ok((mem, ctx)) = caller.memory() else {
        return ERR_BAD_POINTER;
    };
    let Ok(path) = mem.str(path_ptr, path_len) else {
        return ERR_BAD_POINTER;
    };
    let Ok(found) = ctx.wasi.resolve_readable(&ctx.caps, path) else {
        return ERR_NOT_FOUND;
    };
    let name = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path);
    match service.load_adapter_from(&*found.vfs, found.node, name) {
        Ok(id) => i32::try_from(id).unwrap_or(ERR_ADAPTER_LIMIT),
        Err(error) => adapter_code(error),
    }
}

/// The code of a refused adapter.
fn adapter_code(error: AdapterError) -> i32 {
    match error {
        AdapterError::Limit(_) => ERR_ADAPTER_LIMIT,
        AdapterError::NoSuchAdapter(_) => ERR_NO_SUCH_ADAPTER,
        AdapterError::Bad(_) | AdapterError::Unreadable(_) => ERR_BAD_ADAPTER,
    }
}

fn unload_lora(mut caller: Caller<'_, HostContext>, id: u32) -> i32 {
    caller.count();
    if !caller.data().caps.has(Capability::LlmAdapter) {
        return ERR_NOT_CAPABLE;
    }
    let Some(service) = caller.data().llm.service.clone() else {
        return ERR_NO_MODEL;
    };
    match service.unload_adapter(id) {
        Ok(()) => OK,
        Err(error) => adapter_code(error),
    }
}

/// What one [`serve`] did.
#[derive(Debug)]
pub(crate) enum Served {
    /// A token step ran (or the session waits for a slot): serve again later.
    Pending,
    /// The inference is over: resume the guest with this result of `infer`.
    Done(i32),
    /// The instance must stop (its credits are spent).
    Failed(Error),
}

/// Runs one token step of the inference `inst` is parked in (see the module documentation).
/// `can_wait`: whether the caller can wait while another session holds the model (the agent
/// scheduler can, the other sessions being agents it runs; `run_to_end` cannot, and answers
/// [`ERR_BUSY`]).
pub(crate) fn serve(inst: &mut Instance, can_wait: bool) -> Served {
    let Some(pending) = inst.context_mut().llm.pending.as_mut() else {
        return Served::Done(ERR_FAILED);
    };
    match pending.session.acquire() {
        Ok(true) => {}
        Ok(false) if can_wait => return Served::Pending,
        Ok(false) => {
            inst.context_mut().llm.pending = None;
            return Served::Done(ERR_BUSY);
        }
        Err(_) => {
            inst.context_mut().llm.pending = None;
            return Served::Done(ERR_FAILED);
        }
    }
    // The next step may run a forward pass: the budget must hold its price first.
    let price = pending.session.service().limits().credits_per_token;
    let before = pending.session.forward_passes();
    if let Err(error) = inst.check_credits(price) {
        inst.context_mut().llm.pending = None;
        return Served::Failed(error);
    }
    let Some(pending) = inst.context_mut().llm.pending.as_mut() else {
        return Served::Done(ERR_FAILED);
    };
    let result = pending.session.step();
    let ran = pending.session.forward_passes().saturating_sub(before) as u64;
    // Checked above: one step runs at most one forward pass.
    let _paid = inst.charge_credits(price.saturating_mul(ran));
    match result {
        Ok(Progress::Queued | Progress::Stepped) => Served::Pending,
        Ok(Progress::Finished(_)) => Served::Done(finish(inst)),
        Err(_) => {
            inst.context_mut().llm.pending = None;
            Served::Done(ERR_FAILED)
        }
    }
}

/// Drops the inference `inst` is parked in (its call ended: interrupted, out of time).
pub(crate) fn cancel(inst: &mut Instance) {
    inst.context_mut().llm.pending = None;
}

/// Delivers the finished inference of `inst` into its memory; `infer`'s result.
fn finish(inst: &mut Instance) -> i32 {
    let Some(pending) = inst.context_mut().llm.pending.take() else {
        return ERR_FAILED;
    };
    let Pending {
        session,
        prompt,
        adapter_changes,
        out_ptr,
        out_max,
    } = *pending;
    let text = session.text();
    drop(session);
    let Some((mut mem, ctx)) = inst.memory_and_context() else {
        return ERR_BAD_POINTER;
    };
    let len = write_out(&mut mem, out_ptr, out_max, text.as_bytes());
    if text.len() > out_max as usize {
        ctx.llm.kept = Some(Kept {
            prompt,
            adapter_changes,
            text,
        });
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guests and the shell print these: one name per code, and a code from elsewhere is no
    /// known error.
    #[test]
    fn every_error_code_has_its_own_name() {
        let codes = [
            ERR_NOT_CAPABLE,
            ERR_BAD_POINTER,
            ERR_NO_MODEL,
            ERR_TOO_LARGE,
            ERR_BUSY,
            ERR_FAILED,
            ERR_NOT_FOUND,
            ERR_BAD_ADAPTER,
            ERR_ADAPTER_LIMIT,
            ERR_NO_SUCH_ADAPTER,
        ];
        let names: Vec<&str> = codes.iter().map(|&c| error_name(c)).collect();
        for (i, name) in names.iter().enumerate() {
            assert_ne!(*name, "unknown error", "{}", codes[i]);
            assert!(!names[..i].contains(name), "{name} twice");
        }
        // The codes are -1 ..= -10, in order: a guest may test a range.
        assert_eq!(codes.to_vec(), (-10..=-1).rev().collect::<Vec<i32>>());
        for other in [OK, 1, -11, i32::MIN] {
            assert_eq!(error_name(other), "unknown error");
        }
    }
}
