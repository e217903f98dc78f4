//! kernel-wasm: the WebAssembly runtime core of the SIS kernel.
//!
//! Everything portable lives here (see `docs/ARCHITECTURE.md` for the code map): loading and
//! validating modules, instances with their own store and context, the host functions (WASI
//! preview1, `agent`, later `llm`), capabilities and limits, the agent scheduler, and the shell's
//! command language. The bare-metal kernel (`qemu/`) and the hosted `kwasm` tool are thin hosts that
//! plug their console, clocks, entropy and file system in through the traits of [`platform`].
//!
//! The crate is `no_std` + `alloc` in every build; feature `std` adds the hosted implementations in
//! `hosted`.

#![no_std]
#![warn(clippy::cast_lossless, clippy::semicolon_if_nothing_returned)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod line_editor;
pub mod memmap;
pub mod platform;
pub mod vfs;

pub use platform::{Clock, Console, Entropy, Platform, Stream};
pub use vfs::{MemFs, Vfs, VfsError};

pub mod agents;
pub mod caps;
pub mod context;
pub mod error;
pub mod execution;
pub mod guest;
pub mod host;
pub mod instance;
pub mod limits;
pub mod llm;
pub mod manifest;
pub mod module;
pub mod net;
pub mod package;
pub mod runtime;
pub mod shell;
pub mod text;
pub mod values;
pub mod wasi;

pub use caps::{CapSet, Capability};
pub use context::HostContext;
pub use error::{Error, LimitKind, Result};
pub use execution::{park, Execution, Step, Suspend};
pub use instance::{CallOutcome, Instance, InstanceConfig, Stats};
pub use limits::{Limiter, Pacer};
pub use manifest::Manifest;
pub use module::{Module, ModuleInfo, Signature, ValKind};
pub use runtime::{CapabilityNeed, Runtime, RuntimeConfig};
pub use shell::{Shell, ShellStatus};
pub use values::Value;

#[cfg(feature = "std")]
pub mod hosted;

#[cfg(test)]
mod test_rng;
