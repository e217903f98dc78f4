//! One agent: its lifecycle state, its instance and the call in progress.
//!
//! Lifecycle: a module exporting `agent_run` runs `agent_init` (if exported) and then `agent_run`;
//! otherwise it runs `_start`. Both entry points take no parameters; `agent_run` may return an
//! `i32`, which becomes the exit code. States:
//!
//! ```text
//! spawn → ready ⇄ running ⇄ blocked (receive, socket)   (preempted: running → ready)
//!                    ⇅
//!                  infer (llm.infer: one token step per turn)
//!                    └→ exited(code) | trapped(reason)      any live state → killed
//! ```
//!
//! An agent that ended keeps its id, name, fuel used and result for `agent-list`; its instance and
//! mailbox are freed at once.

use alloc::string::String;
use core::fmt;

use crate::execution::Execution;
use crate::instance::Instance;
use crate::module::Module;
use crate::module::ValKind;

/// Where an agent is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentState {
    /// Runnable: waits for its next slice.
    Ready,
    /// Its slice is running (only observable from inside a host call).
    Running,
    /// Parked in a receive until a message (or its timeout) arrives, or on a socket until it is
    /// ready.
    Blocked,
    /// Parked in `llm.infer`: each of its turns runs one token step of the inference (or waits
    /// for the model while another agent's inference holds it).
    Inferring,
    /// Returned from its entry point or called `exit`/`proc_exit`; the exit code.
    Exited(i32),
    /// Trapped or hit a limit (fuel, memory, time); the reason.
    Trapped(String),
    /// Stopped by the host (`agent-kill`).
    Killed,
}

impl AgentState {
    pub fn name(&self) -> &'static str {
        match self {
            AgentState::Ready => "ready",
            AgentState::Running => "running",
            AgentState::Blocked => "blocked",
            AgentState::Inferring => "infer",
            AgentState::Exited(_) => "exited",
            AgentState::Trapped(_) => "trapped",
            AgentState::Killed => "killed",
        }
    }

    /// Whether the agent has ended (exited, trapped or killed).
    pub fn is_done(&self) -> bool {
        matches!(
            self,
            AgentState::Exited(_) | AgentState::Trapped(_) | AgentState::Killed
        )
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentState::Exited(code) => write!(f, "exited with status {code}"),
            AgentState::Trapped(reason) => write!(f, "trapped: {reason}"),
            other => f.write_str(other.name()),
        }
    }
}

/// A snapshot of one agent for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInfo {
    pub id: u32,
    /// Who spawned it (0: the host).
    pub parent: u32,
    /// The module's file name.
    pub name: String,
    pub state: AgentState,
    pub fuel_used: u64,
    /// Messages waiting in its mailbox.
    pub queue_len: usize,
}

/// The export an agent is running (or will run next).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    Init,
    Run,
    Start,
}

impl Entry {
    pub fn export(self) -> &'static str {
        match self {
            Entry::Init => "agent_init",
            Entry::Run => "agent_run",
            Entry::Start => "_start",
        }
    }

    /// The first entry point of `module`, or why it has none usable.
    pub fn first(module: &Module) -> Result<Entry, String> {
        let info = module.info();
        let usable = |name: &str| match info.export_signature(name) {
            None => Ok(false),
            Some(sig)
                if sig.params.is_empty()
                    && (sig.results.is_empty() || sig.results[..] == [ValKind::I32]) =>
            {
                Ok(true)
            }
            Some(sig) => Err(alloc::format!(
                "entry point {name} must take no parameters and return nothing or an i32, not {sig}"
            )),
        };
        if usable("agent_run")? {
            Ok(if usable("agent_init")? {
                Entry::Init
            } else {
                Entry::Run
            })
        } else if usable("_start")? {
            Ok(Entry::Start)
        } else {
            Err(String::from(
                "the module exports neither agent_run nor _start",
            ))
        }
    }
}

/// The scheduler's record of one agent.
pub(crate) struct Agent {
    pub parent: u32,
    pub name: String,
    pub state: AgentState,
    /// `None` once the agent has ended.
    pub instance: Option<Instance>,
    /// The call in progress (`None` between entry points).
    pub exec: Option<Execution>,
    pub entry: Entry,
    /// The result to resume a parked host call with.
    pub resume: Option<i32>,
    /// When a blocked receive with a timeout gives up, or a parked socket call is retried
    /// anyway (monotonic ns).
    pub deadline: Option<u64>,
    /// Blocked on a socket ([`Suspend::Io`](crate::Suspend)) rather than in a receive.
    pub on_socket: bool,
    /// Index of the spawn budget shared by the agent's spawn tree.
    pub budget: usize,
    /// What its children inherit.
    pub spawn_limit: u32,
    pub mailbox_depth: usize,
    /// Its largest linear memory in bytes; its children get the same limit.
    pub max_memory: Option<usize>,
    /// Fuel used, kept after the instance is dropped.
    pub fuel_used: u64,
}

impl Agent {
    pub fn fuel_used(&self) -> u64 {
        self.instance
            .as_ref()
            .map_or(self.fuel_used, |i| i.stats().fuel_consumed)
    }
}
