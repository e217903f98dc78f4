//! The one error type of the runtime. Every variant carries the context a user needs to act on it
//! (which module, which import, which export, which limit) and its `Display` text is what both
//! `kwasm` and the kernel shell print, as one line.
//!
//! A guest calling `proc_exit` is not an error: see [`crate::CallOutcome::Exited`].

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::package::PackageError;
use crate::vfs::VfsError;

/// Which resource limit stopped an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// Linear memory growth, in bytes.
    Memory,
    /// Table growth, in elements.
    Table,
    /// Wall-clock time, in milliseconds.
    Time,
    /// Open file descriptors.
    Fds,
    /// Spawned agents.
    Spawn,
    /// Queued messages in one mailbox.
    Mailbox,
    /// Bytes of all queued messages of an agent system.
    QueuedBytes,
    /// Instances in one store.
    Instances,
    /// Credits of fuel-based pacing (see `limits::Pacer`).
    Credits,
}

impl LimitKind {
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::Memory => "memory_limit",
            LimitKind::Table => "table_limit",
            LimitKind::Time => "time_limit_ms",
            LimitKind::Fds => "fd_limit",
            LimitKind::Spawn => "spawn_limit",
            LimitKind::Mailbox => "mailbox_depth",
            LimitKind::QueuedBytes => "max_queued_bytes",
            LimitKind::Instances => "instance_limit",
            LimitKind::Credits => "credits",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not a valid WebAssembly module.
    InvalidModule {
        module: String,
        reason: String,
    },
    /// The module imports something no host module provides.
    UnknownImport {
        module: String,
        import_module: String,
        field: String,
    },
    /// The module imports something the runtime knows but cannot provide as declared (a memory, a
    /// table, a global, or a function with another signature).
    UnsupportedImport {
        module: String,
        import_module: String,
        field: String,
        reason: String,
    },
    /// The module imports host functions whose capabilities are not granted.
    MissingCapabilities {
        module: String,
        missing: Vec<String>,
    },
    /// Instantiation failed (start function trapped, data segment out of bounds, ...).
    Instantiate {
        module: String,
        reason: String,
    },
    /// The module's start function ended the guest with `proc_exit` (or `agent::exit`) while
    /// it was being instantiated: a program's exit, with its status (`kwasm` exits with it, as
    /// `wasmtime run` does).
    Exited {
        module: String,
        code: i32,
    },
    NoSuchExport {
        module: String,
        export: String,
    },
    NotAFunction {
        module: String,
        export: String,
    },
    /// A function signature uses a type the typed call API does not support.
    UnsupportedType {
        func: String,
        ty: String,
    },
    WrongArgCount {
        func: String,
        expected: usize,
        given: usize,
    },
    BadArgument {
        func: String,
        index: usize,
        expected: String,
        given: String,
    },
    /// The guest trapped.
    Trap {
        func: String,
        message: String,
    },
    /// A host function ended the guest because the call itself was invalid (a guest pointer out
    /// of bounds, an exit status out of range). Not a wasm trap: `kwasm` exits 1, as wasmtime does.
    HostAbort {
        func: String,
        message: String,
    },
    /// The fuel budget ran out.
    OutOfFuel {
        func: String,
        limit: u64,
    },
    /// The user interrupted the call (Ctrl-C on the kernel's console, see
    /// [`Console::take_interrupt`](crate::Console::take_interrupt)).
    Interrupted {
        func: String,
    },
    /// A resource limit other than fuel was hit.
    LimitExceeded {
        kind: LimitKind,
        limit: u64,
        detail: String,
    },
    /// A capability was required and not granted.
    CapabilityDenied {
        capability: String,
        action: String,
    },
    /// A file-system operation of the host (not the guest) failed.
    Fs {
        path: String,
        error: VfsError,
    },
    /// A manifest, capability list or other configuration text is invalid.
    Config {
        what: String,
        message: String,
    },
    /// A manifest is invalid: where (1-based line, when known), which field, and why.
    Manifest {
        line: Option<u32>,
        field: Option<String>,
        message: String,
    },
    /// The call is not possible in the instance's current state (e.g. it already exited).
    State {
        message: String,
    },
    /// The LLM service refused or failed: no model, a malformed checkpoint, tokenizer or
    /// adapter, a prompt too long.
    Llm {
        message: String,
    },
    /// A package was refused or a package operation failed: which package (a file or a name),
    /// and why.
    Package {
        package: String,
        error: PackageError,
    },
}

pub type Result<T, E = Error> = core::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidModule { module, reason } => write!(f, "invalid module {module}: {reason}"),
            Error::UnknownImport { module, import_module, field } => write!(
                f,
                "module {module} imports unknown function {import_module}::{field}: no host module provides it"
            ),
            Error::UnsupportedImport { module, import_module, field, reason } => {
                write!(f, "module {module} imports {import_module}::{field}, which cannot be provided: {reason}")
            }
            Error::MissingCapabilities { module, missing } => write!(
                f,
                "module {module} needs capabilities that are not granted: {}",
                missing.join(", ")
            ),
            Error::Instantiate { module, reason } => write!(f, "cannot instantiate {module}: {reason}"),
            Error::Exited { module, code } => {
                write!(f, "the start function of {module} exited with status {code}")
            }
            Error::NoSuchExport { module, export } => write!(f, "module {module} has no export named {export}"),
            Error::NotAFunction { module, export } => write!(f, "export {export} of {module} is not a function"),
            Error::UnsupportedType { func, ty } => write!(
                f,
                "function {func} uses type {ty}, which cannot be passed from the command line (only i32, i64, f32, f64)"
            ),
            Error::WrongArgCount { func, expected, given } => {
                write!(f, "function {func} takes {expected} argument(s), {given} given")
            }
            Error::BadArgument { func, index, expected, given } => {
                write!(f, "argument {} of {func}: {given:?} is not a valid {expected}", index + 1)
            }
            Error::Trap { func, message } => write!(f, "trap in {func}: {message}"),
            Error::HostAbort { func, message } => write!(f, "{func} ended the guest: {message}"),
            Error::OutOfFuel { func, limit } => {
                write!(f, "{func} ran out of fuel: the limit of {limit} fuel units was used up")
            }
            Error::Interrupted { func } => write!(f, "{func} interrupted (Ctrl-C)"),
            Error::LimitExceeded { kind, limit, detail } => {
                write!(f, "limit {} ({limit}) exceeded: {detail}", kind.name())
            }
            Error::CapabilityDenied { capability, action } => {
                write!(f, "{action} denied: capability {capability} not granted")
            }
            Error::Fs { path, error } => write!(f, "{path}: {error}"),
            Error::Config { what, message } => write!(f, "{what}: {message}"),
            Error::Manifest { line, field, message } => {
                f.write_str("manifest")?;
                if let Some(line) = line {
                    write!(f, ", line {line}")?;
                }
                if let Some(field) = field {
                    write!(f, ", {field}")?;
                }
                write!(f, ": {message}")
            }
            Error::State { message } => f.write_str(message),
            Error::Llm { message } => write!(f, "llm: {message}"),
            Error::Package { package, error } => write!(f, "package {package}: {error}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
