//! The `llm` host module (`docs/llm.md`): inference on the model the host has loaded, and LoRA
//! adapters. A module importing these needs `llm:infer` (and `llm:adapter` for the adapters).
//!
//! ```no_run
//! # #[cfg(feature = "alloc")]
//! # fn demo() -> Result<(), kernel_wasm_sdk::llm::LlmError> {
//! let completion = kernel_wasm_sdk::llm::infer("Once upon a time")?;
//! # Ok(()) }
//! ```

use core::fmt;

use crate::sys;

/// What a function of the `llm` module answered instead of success. (The `llm` module numbers
/// its errors on its own: -1 is `ERR_NOT_CAPABLE` there.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LlmError {
    /// -1: the instance lacks `llm:infer` or `llm:adapter`.
    NotCapable,
    /// -2: a range outside memory, or a prompt or path that is not UTF-8.
    BadPointer,
    /// -3: the host has no model loaded.
    NoModel,
    /// -4: the prompt is too long (bytes or tokens), or a path over 4096 bytes.
    TooLarge,
    /// -5: outside the agent scheduler, another inference holds the model.
    Busy,
    /// -6: the engine failed during the inference.
    Failed,
    /// -7: `load_lora`: no directory the instance can read at that path.
    NotFound,
    /// -8: `load_lora`: the adapter is missing files, malformed, or does not fit the model.
    BadAdapter,
    /// -9: `load_lora`: the host holds as many adapters as it may.
    AdapterLimit,
    /// -10: `unload_lora`: no adapter has this id.
    NoSuchAdapter,
    /// Not from the host: the completion (or description) needs `needed` bytes and the buffer
    /// given to [`infer_into`]/[`info_into`] is shorter. Nothing was written; the host keeps the
    /// completion for the next `infer_into` with the same prompt.
    BufferTooSmall {
        /// The length of the completion, in bytes.
        needed: u32,
    },
    /// A code this SDK does not know (a newer host).
    Unknown(i32),
}

impl LlmError {
    /// The error for a negative result `code` of an `llm` function.
    pub fn from_code(code: i32) -> LlmError {
        match code {
            -1 => LlmError::NotCapable,
            -2 => LlmError::BadPointer,
            -3 => LlmError::NoModel,
            -4 => LlmError::TooLarge,
            -5 => LlmError::Busy,
            -6 => LlmError::Failed,
            -7 => LlmError::NotFound,
            -8 => LlmError::BadAdapter,
            -9 => LlmError::AdapterLimit,
            -10 => LlmError::NoSuchAdapter,
            other => LlmError::Unknown(other),
        }
    }

    /// The host's name of the error, e.g. `ERR_NO_MODEL`.
    pub fn name(self) -> &'static str {
        match self {
            LlmError::NotCapable => "ERR_NOT_CAPABLE",
            LlmError::BadPointer => "ERR_BAD_POINTER",
            LlmError::NoModel => "ERR_NO_MODEL",
            LlmError::TooLarge => "ERR_TOO_LARGE",
            LlmError::Busy => "ERR_BUSY",
            LlmError::Failed => "ERR_FAILED",
            LlmError::NotFound => "ERR_NOT_FOUND",
            LlmError::BadAdapter => "ERR_BAD_ADAPTER",
            LlmError::AdapterLimit => "ERR_ADAPTER_LIMIT",
            LlmError::NoSuchAdapter => "ERR_NO_SUCH_ADAPTER",
            LlmError::BufferTooSmall { .. } => "buffer too small",
            LlmError::Unknown(_) => "unknown error",
        }
    }

    /// The host's code (`BufferTooSmall`, which the host reports as a length, has none: 0).
    pub fn code(self) -> i32 {
        match self {
            LlmError::NotCapable => -1,
            LlmError::BadPointer => -2,
            LlmError::NoModel => -3,
            LlmError::TooLarge => -4,
            LlmError::Busy => -5,
            LlmError::Failed => -6,
            LlmError::NotFound => -7,
            LlmError::BadAdapter => -8,
            LlmError::AdapterLimit => -9,
            LlmError::NoSuchAdapter => -10,
            LlmError::BufferTooSmall { .. } => 0,
            LlmError::Unknown(code) => code,
        }
    }
}

impl fmt::Display for LlmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LlmError::BufferTooSmall { needed } => write!(f, "the output needs {needed} bytes"),
            other => write!(f, "{} ({})", other.name(), other.code()),
        }
    }
}

impl core::error::Error for LlmError {}

/// An adapter loaded with [`load_lora`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdapterId(pub u32);

/// A length result of `infer`/`info` for a buffer of `max` bytes.
fn length(code: i32, max: usize) -> Result<usize, LlmError> {
    let len = usize::try_from(code).map_err(|_| LlmError::from_code(code))?;
    if len > max {
        return Err(LlmError::BufferTooSmall { needed: len as u32 });
    }
    Ok(len)
}

/// Runs the model on `prompt` and writes the completion into `out`, never allocating: the
/// completion's length, or [`LlmError::BufferTooSmall`] with the length needed (call again with
/// the same prompt and a buffer that large: the host kept the completion and does not generate or
/// charge for it again). Blocks while the model generates.
pub fn infer_into(prompt: &str, out: &mut [u8]) -> Result<usize, LlmError> {
    // SAFETY: pointers and lengths of a live string slice (only read) and of an exclusively
    // borrowed slice the host writes at most `out.len()` bytes into.
    let code = unsafe { sys::infer(prompt.as_ptr(), prompt.len(), out.as_mut_ptr(), out.len()) };
    length(code, out.len())
}

/// Writes the model's description (`key=value` lines) into `out`; the buffer rules of
/// [`infer_into`].
pub fn info_into(out: &mut [u8]) -> Result<usize, LlmError> {
    // SAFETY: pointer and length of an exclusively borrowed slice.
    let code = unsafe { sys::info(out.as_mut_ptr(), out.len()) };
    length(code, out.len())
}

/// The first buffer [`infer`] offers. Small on purpose: a longer completion costs one more host
/// call, not a second generation (the host keeps it for the retry), and the retry path runs in
/// every test with a real model.
#[cfg(feature = "alloc")]
const FIRST_COMPLETION_BUFFER: usize = 256;

/// Calls `call` with a buffer, first of `first` bytes, then of the length it reports needed.
#[cfg(feature = "alloc")]
fn growing(
    first: usize,
    mut call: impl FnMut(&mut [u8]) -> Result<usize, LlmError>,
) -> Result<alloc::string::String, LlmError> {
    let mut buf = alloc::vec![0u8; first];
    let len = match call(&mut buf) {
        Err(LlmError::BufferTooSmall { needed }) => {
            buf = alloc::vec![0u8; needed as usize];
            call(&mut buf)?
        }
        other => other?,
    };
    buf.truncate(len);
    // The host writes valid UTF-8 (invalid bytes become U+FFFD); lossy only as a last guard.
    Ok(match alloc::string::String::from_utf8(buf) {
        Ok(text) => text,
        Err(e) => alloc::string::String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// Runs the model on `prompt` and returns its completion (the text after the prompt), of any
/// length: a completion longer than the first buffer is fetched again at its size, which the
/// host serves from the completion it kept. Blocks while the model generates.
#[cfg(feature = "alloc")]
pub fn infer(prompt: &str) -> Result<alloc::string::String, LlmError> {
    growing(FIRST_COMPLETION_BUFFER, |out| infer_into(prompt, out))
}

/// The model's description, `key=value` lines (`model=…`, `dim=…`, `max_tokens=…`, …).
#[cfg(feature = "alloc")]
pub fn info() -> Result<alloc::string::String, LlmError> {
    growing(512, info_into)
}

/// Loads the LoRA adapter in directory `path` (seen through the caller's own preopens) for every
/// inference from the next token on. Needs `llm:adapter` and `file:read` on that directory.
pub fn load_lora(path: &str) -> Result<AdapterId, LlmError> {
    // SAFETY: pointer and length of a live string slice, only read.
    let code = unsafe { sys::load_lora(path.as_ptr(), path.len()) };
    u32::try_from(code)
        .map(AdapterId)
        .map_err(|_| LlmError::from_code(code))
}

/// Removes an adapter: inferences go back to the base model from the next token on.
pub fn unload_lora(id: AdapterId) -> Result<(), LlmError> {
    // SAFETY: no memory is passed.
    let code = unsafe { sys::unload_lora(id.0) };
    if code < 0 {
        return Err(LlmError::from_code(code));
    }
    Ok(())
}
