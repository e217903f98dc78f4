//! AgentSys: agents as WebAssembly modules.
//!
//! An agent is an [`Instance`](crate::Instance) run by the agent [scheduler] in fuel
//! slices. Agents talk through bounded [mailboxes](mailbox) with the host functions of the `agent`
//! module ([`abi`]); a receive on an empty mailbox parks the caller (wasmi resumable call, see
//! [`Suspend`](crate::Suspend)) until a message arrives, so blocking needs no threads. Spawning is
//! served by the scheduler too (the host function parks with [`Suspend::Spawn`](crate::Suspend)),
//! because only the scheduler can load and instantiate modules.
//!
//! Ids: the host (the shell) is agent [`HOST_ID`] = 0; agents get 1, 2, 3 … in spawn order, never
//! reused. The ABI, error codes and scheduling rules are documented in `docs/agents.md`.
//!
//! Data flow: guest → `agent::*` host function → `shared::Shared` (mailboxes, pending requests;
//! reached through the [`AgentLink`] in the instance's [`HostContext`](crate::HostContext)) →
//! the [`System`] picks the result up between slices.

pub mod abi;
pub mod agent;
pub mod mailbox;
pub mod scheduler;
pub(crate) mod shared;

pub use abi::register;
pub use agent::{AgentInfo, AgentState};
pub use mailbox::{Mailbox, Message};
pub use scheduler::{Event, RunLimits, RunReport, SpawnOptions, StopReason, System, SystemConfig};
pub use shared::AgentLink;

/// The id of the host (the shell). Messages sent to it are handed to the embedder (the shell prints
/// them as `[agent N] text`).
pub const HOST_ID: u32 = 0;
