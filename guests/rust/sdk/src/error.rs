//! The error codes of the `agent` host module (`docs/agents.md`, "Error codes") as one enum.

use core::fmt;

/// What a host function of the `agent` module answered instead of success.
///
/// Every call returns these as values: a missing capability, a full mailbox or a bad pointer is
/// never a trap. `code()` gives the host's number back, `Display` a one-line description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentError {
    /// -1: the target does not exist or has ended.
    NoSuchAgent,
    /// -2: the target's mailbox is full (backpressure: retry later).
    MailboxFull,
    /// -3: `try_receive`: the mailbox is empty.
    NoMessage,
    /// -4: `receive_timeout`: nothing arrived in time.
    Timeout,
    /// -5: the message is longer than the buffer; it stays in the mailbox. `needed` is its length.
    BufferTooSmall {
        /// The length of the waiting message, in bytes.
        needed: u32,
    },
    /// -6: the capability of the function is not granted.
    NotCapable,
    /// -7: a range outside memory, a misaligned pointer or a string that is not UTF-8.
    BadPointer,
    /// -8: the spawn tree's (or the system's) agent limit is used up.
    SpawnLimit,
    /// -9: a message over 64 KiB, a log line over 4096 bytes, a path or config over 4096 bytes.
    TooLarge,
    /// -10: the module cannot be read, loaded or instantiated (e.g. it imports a function whose
    /// capability the child would not have), or has no entry point.
    SpawnFailed,
    /// -11: the spawn configuration is not a valid capability list.
    BadConfig,
    /// -12: the caller is not running as an agent (e.g. under `wasm-run`, or in a start function).
    NotAnAgent,
    /// A code this SDK does not know (a newer host).
    Unknown(i32),
}

/// `Result` with [`AgentError`].
pub type Result<T> = core::result::Result<T, AgentError>;

impl AgentError {
    /// The error for a negative result `code` of a host function. (`BufferTooSmall`'s length is
    /// not in the code: [`crate::receive`] fills it in.)
    pub fn from_code(code: i32) -> AgentError {
        match code {
            -1 => AgentError::NoSuchAgent,
            -2 => AgentError::MailboxFull,
            -3 => AgentError::NoMessage,
            -4 => AgentError::Timeout,
            -5 => AgentError::BufferTooSmall { needed: 0 },
            -6 => AgentError::NotCapable,
            -7 => AgentError::BadPointer,
            -8 => AgentError::SpawnLimit,
            -9 => AgentError::TooLarge,
            -10 => AgentError::SpawnFailed,
            -11 => AgentError::BadConfig,
            -12 => AgentError::NotAnAgent,
            other => AgentError::Unknown(other),
        }
    }

    /// The host's code for this error (`ERR_*` in `docs/agents.md`).
    pub fn code(self) -> i32 {
        match self {
            AgentError::NoSuchAgent => -1,
            AgentError::MailboxFull => -2,
            AgentError::NoMessage => -3,
            AgentError::Timeout => -4,
            AgentError::BufferTooSmall { .. } => -5,
            AgentError::NotCapable => -6,
            AgentError::BadPointer => -7,
            AgentError::SpawnLimit => -8,
            AgentError::TooLarge => -9,
            AgentError::SpawnFailed => -10,
            AgentError::BadConfig => -11,
            AgentError::NotAnAgent => -12,
            AgentError::Unknown(code) => code,
        }
    }

    /// The host's name for this error, e.g. `ERR_NOT_CAPABLE`.
    pub fn name(self) -> &'static str {
        match self {
            AgentError::NoSuchAgent => "ERR_NO_SUCH_AGENT",
            AgentError::MailboxFull => "ERR_MAILBOX_FULL",
            AgentError::NoMessage => "ERR_NO_MESSAGE",
            AgentError::Timeout => "ERR_TIMEOUT",
            AgentError::BufferTooSmall { .. } => "ERR_BUFFER_TOO_SMALL",
            AgentError::NotCapable => "ERR_NOT_CAPABLE",
            AgentError::BadPointer => "ERR_BAD_POINTER",
            AgentError::SpawnLimit => "ERR_SPAWN_LIMIT",
            AgentError::TooLarge => "ERR_TOO_LARGE",
            AgentError::SpawnFailed => "ERR_SPAWN_FAILED",
            AgentError::BadConfig => "ERR_BAD_CONFIG",
            AgentError::NotAnAgent => "ERR_NOT_AN_AGENT",
            AgentError::Unknown(_) => "unknown error",
        }
    }
}

impl fmt::Display for AgentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentError::BufferTooSmall { needed } => {
                write!(
                    f,
                    "{} ({}): the message needs {needed} bytes",
                    self.name(),
                    self.code()
                )
            }
            other => write!(f, "{} ({})", other.name(), other.code()),
        }
    }
}

impl core::error::Error for AgentError {}

/// A result `>= 0` as `u32`, a negative one as the error.
pub(crate) fn check(code: i32) -> Result<u32> {
    u32::try_from(code).map_err(|_| AgentError::from_code(code))
}
