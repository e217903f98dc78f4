//! The per-instance host context: the data of an instance's wasmi `Store`, which every host
//! function reaches through its `Caller`.

use alloc::string::String;

use crate::caps::CapSet;
use crate::limits::Limiter;
use crate::platform::Platform;
use crate::wasi::WasiCtx;

/// Counters kept while an instance runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostStats {
    /// Host functions called by the guest.
    pub host_calls: u64,
}

/// Everything a host function may need about the instance calling it.
pub struct HostContext {
    /// The instance's id (the agent id for agents; 0 is the shell/host).
    pub id: u32,
    /// The module's name, for messages.
    pub module: String,
    pub platform: Platform,
    /// What this instance may do; checked by every host function.
    pub caps: CapSet,
    /// The instance's exported linear memory, cached at instantiation so host calls do not look it
    /// up by name.
    pub memory: Option<wasmi::Memory>,
    pub wasi: WasiCtx,
    pub stats: HostStats,
    /// The agent system this instance belongs to, when it runs as an agent (`None` otherwise:
    /// the `agent` host functions then answer "no such agent").
    pub agent: Option<crate::agents::AgentLink>,
    /// Memory and table limits (the store's `ResourceLimiter`), usage peaks, and the limits host
    /// modules enforce themselves (spawned agents, mailbox depth).
    pub limits: Limiter,
    /// The LLM service and this instance's inference in progress (the `llm` host module).
    pub llm: crate::llm::abi::LlmLink,
    /// The wall-clock limit as (monotonic deadline in ns, limit in ms): host functions that wait
    /// (`poll_oneoff`) never sleep past it.
    pub time_limit: Option<(u64, u64)>,
    /// Fuel host calls charged beyond what their slice had left ([`HostCall::charge`]): the
    /// instance adds it to the fuel used when the slice ends.
    ///
    /// [`HostCall::charge`]: crate::host::HostCall::charge
    pub(crate) fuel_debt: u64,
    /// Why the last host call parked the guest, between `execution::park` and the slice's end.
    pub(crate) parked: Option<crate::Suspend>,
    /// The socket operation the guest is parked in ([`crate::Suspend::Io`]) and what it waits
    /// for; retried by whoever drives the guest.
    pub blocked: crate::wasi::blocking::Blocked,
}
