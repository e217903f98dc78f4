//! The agent scheduler: a [`System`] owns the agents and runs them round-robin, one fuel slice at a
//! time, in id order.
//!
//! Each pass visits every agent in increasing id order and gives each runnable one a slice (an
//! [`Execution`](crate::Execution) step). What a slice ends in (wasmi's resumable states):
//! - finished — the entry point returned (next entry point, or exited), the agent exited, trapped or
//!   ran out of its fuel budget (ended; reported as an [`Event::Ended`]);
//! - out of fuel for the slice — preempted: the agent stays ready and waits for the next pass, so a
//!   busy agent cannot starve the others;
//! - host trap with a [`Suspend`] — a receive on an empty mailbox parks the agent (blocked); the
//!   scheduler later moves the message into guest memory itself and resumes the call with its
//!   length. A spawn is served at once and the parent resumed with the child's id.
//!
//! Determinism: nothing depends on wall time except receive timeouts, so the same spawns and
//! messages give the same interleaving, the same fuel counts and the same output.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use spin::Mutex;

use crate::caps::CapSet;
use crate::error::{Error, LimitKind, Result};
use crate::execution::{Step, Suspend};
use crate::guest::GuestMemory;
use crate::instance::{CallOutcome, Instance, InstanceConfig};
use crate::llm::abi::Served;
use crate::module::{sha256, Module};
use crate::platform::{Platform, Waited};
use crate::runtime::Runtime;
use crate::values::Value;
use crate::vfs;

use super::abi::{ERR_BAD_CONFIG, ERR_BAD_POINTER, ERR_SPAWN_FAILED, ERR_SPAWN_LIMIT, ERR_TIMEOUT};
use super::agent::{Agent, AgentInfo, AgentState, Entry};
use super::mailbox::{deliver, Mailbox, Message};
use super::shared::{AgentLink, IdMap, Request, SendError, Shared, Slot};
use super::HOST_ID;

/// Lifetime fuel of an agent unless configured otherwise.
pub const DEFAULT_AGENT_FUEL: u64 = 100_000_000;
/// Fuel per scheduling slice.
pub const DEFAULT_AGENT_SLICE_FUEL: u64 = 10_000;
/// Agents one spawn tree (an agent the host spawned and all its descendants) may create.
pub const DEFAULT_SPAWN_LIMIT: u32 = 64;
/// Messages one mailbox holds.
pub const DEFAULT_MAILBOX_DEPTH: usize = 64;
/// Agents alive at once, system-wide.
pub const DEFAULT_MAX_AGENTS: usize = 4096;
/// Messages to the host queued within one slice.
pub const DEFAULT_HOST_INBOX_DEPTH: usize = 1024;
/// Bytes all queued messages together may hold, system-wide (the host inbox included).
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 64 << 20;
/// Largest linear memory of an agent unless its spawner says otherwise (`SpawnOptions::max_memory`,
/// a package's `memory_limit`, `agent-spawn --max-memory`): agents are many and long-lived, so
/// each has a bound of its own besides the runtime's shared guest-memory budget. Children get
/// their parent's limit.
pub const DEFAULT_AGENT_MAX_MEMORY: usize = 64 << 20;
/// The largest module file an agent may be spawned from.
pub const MAX_MODULE_BYTES: u64 = 64 << 20;

/// Settings of an agent system.
#[derive(Debug, Clone)]
pub struct SystemConfig {
    /// Lifetime fuel of each agent (`None`: unlimited).
    pub fuel: Option<u64>,
    pub slice_fuel: u64,
    /// Default `spawn_limit` of agents the host spawns (an [`InstanceConfig::spawn_limit`]
    /// overrides it).
    pub spawn_limit: u32,
    /// Default mailbox depth.
    pub mailbox_depth: usize,
    pub max_agents: usize,
    pub host_inbox_depth: usize,
    /// Bytes the bodies of all queued messages may hold together: with `max_agents` mailboxes
    /// of `mailbox_depth` messages of up to 64 KiB, depth alone would allow gigabytes.
    pub max_queued_bytes: usize,
    /// Largest linear memory of an agent the host spawns without a limit of its own
    /// ([`DEFAULT_AGENT_MAX_MEMORY`]; `None`: only the runtime's guest-memory budget).
    pub max_memory: Option<usize>,
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig {
            fuel: Some(DEFAULT_AGENT_FUEL),
            slice_fuel: DEFAULT_AGENT_SLICE_FUEL,
            spawn_limit: DEFAULT_SPAWN_LIMIT,
            mailbox_depth: DEFAULT_MAILBOX_DEPTH,
            max_agents: DEFAULT_MAX_AGENTS,
            host_inbox_depth: DEFAULT_HOST_INBOX_DEPTH,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            max_memory: Some(DEFAULT_AGENT_MAX_MEMORY),
        }
    }
}

/// Something the embedder should hear about while the scheduler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message to the host (agent 0).
    Message(Message),
    /// An agent ended (exited, trapped, or ran out of fuel).
    Ended {
        id: u32,
        name: String,
        state: AgentState,
    },
    /// An agent's `spawn` failed for this reason (the agent got an error code).
    SpawnFailed {
        parent: u32,
        path: String,
        reason: String,
    },
}

/// Why [`System::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// No agent can run: every one is blocked without a timeout, or ended.
    Idle,
    /// The slice limit was reached with agents still runnable.
    SliceLimit,
    /// The run's wall-clock deadline passed ([`RunLimits::deadline_ns`]).
    TimeLimit,
    /// The user interrupted the run (Ctrl-C on the kernel's console).
    Interrupted,
}

/// How long one [`System::run_with`] may go on. Agents are left as they are when it stops: the
/// next run continues them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// The most slices (agent turns) to run.
    pub max_slices: u64,
    /// Monotonic time (ns) after which no slice starts and no wait goes on (`None`: no deadline).
    pub deadline_ns: Option<u64>,
}

/// What one [`System::run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    pub slices: u64,
    pub stop: StopReason,
    pub ready: usize,
    pub blocked: usize,
    pub done: usize,
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stop {
            StopReason::Idle => write!(f, "idle after {} slices", self.slices)?,
            StopReason::SliceLimit => write!(f, "stopped at the limit of {} slices", self.slices)?,
            StopReason::TimeLimit => {
                write!(f, "stopped at the time limit after {} slices", self.slices)?;
            }
            StopReason::Interrupted => write!(f, "interrupted after {} slices", self.slices)?,
        }
        write!(
            f,
            " ({} ready, {} blocked, {} done)",
            self.ready, self.blocked, self.done
        )
    }
}

/// How the host spawns an agent.
#[derive(Debug, Clone)]
pub struct SpawnOptions {
    /// What the agent may do (its children get at most this).
    pub caps: CapSet,
    /// Lifetime fuel (`None`: the system's default).
    pub fuel: Option<u64>,
    /// Agents its spawn tree may create (`None`: the system's default).
    pub spawn_limit: Option<u32>,
    /// Its mailbox depth (`None`: the system's default); children inherit it.
    pub mailbox_depth: Option<usize>,
    /// Its largest linear memory in bytes (`None`: the system's default,
    /// [`SystemConfig::max_memory`]); its children get the same limit.
    pub max_memory: Option<usize>,
}

impl SpawnOptions {
    pub fn new(caps: CapSet) -> Self {
        SpawnOptions {
            caps,
            fuel: None,
            spawn_limit: None,
            mailbox_depth: None,
            max_memory: None,
        }
    }
}

/// The spawn budget of one spawn tree.
#[derive(Debug, Clone, Copy)]
struct Budget {
    used: u32,
    limit: u32,
}

/// Where a new agent sits: its parent, its spawn tree's budget, what its children inherit.
#[derive(Debug, Clone, Copy)]
struct Tree {
    parent: u32,
    budget: usize,
    spawn_limit: u32,
    mailbox_depth: usize,
    /// The memory limit of the new agent (a child's is its parent's).
    max_memory: Option<usize>,
}

/// What a slice asks the scheduler to do next.
enum After {
    Nothing,
    Spawn,
}

/// The agents of one host (the shell owns one).
pub struct System {
    platform: Platform,
    config: SystemConfig,
    link: AgentLink,
    agents: IdMap<Agent>,
    next_id: u32,
    live: usize,
    budgets: Vec<Budget>,
    /// Loaded modules by absolute path (reused while the file's hash is unchanged).
    modules: BTreeMap<String, Module>,
    /// What the agents parked on sockets wait for (reused between waits).
    interests: Vec<crate::net::Interest>,
}

impl System {
    pub fn new(platform: Platform, config: SystemConfig) -> Self {
        let pool = crate::limits::Budget::new(config.max_queued_bytes);
        let shared = Shared {
            slots: IdMap::default(),
            host_inbox: Mailbox::with_pool(config.host_inbox_depth, pool.clone()),
            pool,
        };
        System {
            platform,
            config,
            link: AgentLink {
                shared: Arc::new(Mutex::new(shared)),
            },
            agents: IdMap::default(),
            next_id: 1,
            live: 0,
            budgets: Vec::new(),
            modules: BTreeMap::new(),
            interests: Vec::new(),
        }
    }

    pub fn config(&self) -> &SystemConfig {
        &self.config
    }

    /// Spawns an agent for the host from the module at absolute VFS path `path`.
    pub fn spawn(&mut self, runtime: &Runtime, path: &str, options: SpawnOptions) -> Result<u32> {
        let module = self.module(runtime, path)?;
        self.spawn_module(runtime, module, options)
    }

    /// Spawns an agent for the host from a loaded module (an installed package's, say).
    pub fn spawn_module(
        &mut self,
        runtime: &Runtime,
        module: Module,
        options: SpawnOptions,
    ) -> Result<u32> {
        let limit = options.spawn_limit.unwrap_or(self.config.spawn_limit);
        let depth = options.mailbox_depth.unwrap_or(self.config.mailbox_depth);
        let fuel = options.fuel.or(self.config.fuel);
        let budget = self.budgets.len();
        let tree = Tree {
            parent: HOST_ID,
            budget,
            spawn_limit: limit,
            mailbox_depth: depth,
            max_memory: options.max_memory.or(self.config.max_memory),
        };
        let id = self.spawn_loaded(runtime, tree, module, options.caps, fuel)?;
        self.budgets.push(Budget { used: 0, limit });
        Ok(id)
    }

    fn spawn_agent(
        &mut self,
        runtime: &Runtime,
        tree: Tree,
        path: &str,
        caps: CapSet,
        fuel: Option<u64>,
    ) -> Result<u32> {
        if self.live >= self.config.max_agents {
            return Err(Error::LimitExceeded {
                kind: LimitKind::Spawn,
                limit: self.config.max_agents as u64,
                detail: format!("{} agents are alive already", self.live),
            });
        }
        let module = self.module(runtime, path)?;
        self.spawn_loaded(runtime, tree, module, caps, fuel)
    }

    fn spawn_loaded(
        &mut self,
        runtime: &Runtime,
        tree: Tree,
        module: Module,
        caps: CapSet,
        fuel: Option<u64>,
    ) -> Result<u32> {
        let Tree {
            parent,
            budget,
            spawn_limit,
            mailbox_depth,
            max_memory,
        } = tree;
        if self.live >= self.config.max_agents {
            return Err(Error::LimitExceeded {
                kind: LimitKind::Spawn,
                limit: self.config.max_agents as u64,
                detail: format!("{} agents are alive already", self.live),
            });
        }
        let entry = Entry::first(&module).map_err(|reason| Error::Instantiate {
            module: module.name().to_string(),
            reason,
        })?;
        let id = self.next_id;
        let name = module.name().to_string();
        let mut config = InstanceConfig::new(self.platform.clone());
        config.id = id;
        config.caps = caps;
        config.args = alloc::vec![name.clone()];
        config.fuel = fuel;
        config.slice_fuel = self.config.slice_fuel;
        config.spawn_limit = Some(spawn_limit);
        config.mailbox_depth = Some(mailbox_depth);
        config.max_memory = max_memory;
        let mut instance = runtime.instantiate(&module, config)?;
        instance.context_mut().agent = Some(self.link.clone());
        self.next_id += 1;
        self.live += 1;
        let mut shared = self.link.shared.lock();
        let pool = shared.pool.clone();
        shared.slots.insert(
            id,
            Slot {
                mailbox: Mailbox::with_pool(mailbox_depth, pool),
                alive: true,
                request: None,
            },
        );
        drop(shared);
        self.agents.insert(
            id,
            Agent {
                parent,
                name,
                state: AgentState::Ready,
                instance: Some(instance),
                exec: None,
                entry,
                resume: None,
                deadline: None,
                on_socket: false,
                budget,
                spawn_limit,
                mailbox_depth,
                max_memory,
                fuel_used: 0,
            },
        );
        Ok(id)
    }

    /// Loads the module at `path`, reusing the compiled one when the file is unchanged.
    fn module(&mut self, runtime: &Runtime, path: &str) -> Result<Module> {
        let bytes =
            vfs::read_file(&*self.platform.vfs, path, MAX_MODULE_BYTES).map_err(|error| {
                Error::Fs {
                    path: path.to_string(),
                    error,
                }
            })?;
        if let Some(module) = self.modules.get(path) {
            if *module.hash() == sha256(&bytes) {
                return Ok(module.clone());
            }
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        let module = runtime.load(&bytes, Some(name))?;
        self.modules.insert(path.to_string(), module.clone());
        Ok(module)
    }

    /// Sends `body` from the host to agent `to`.
    pub fn send(&mut self, to: u32, body: &[u8]) -> Result<()> {
        if to == HOST_ID {
            return Err(Error::State {
                message: String::from("agent 0 is the host itself"),
            });
        }
        if body.len() > super::abi::MAX_MESSAGE_BYTES as usize {
            return Err(Error::LimitExceeded {
                kind: LimitKind::Mailbox,
                limit: u64::from(super::abi::MAX_MESSAGE_BYTES),
                detail: format!("a message of {} bytes is too large", body.len()),
            });
        }
        let result = self.link.shared.lock().send(HOST_ID, to, body);
        match result {
            Ok(()) => Ok(()),
            Err(SendError::NoSuchAgent) => Err(self.not_running(to)),
            Err(SendError::Full) => Err(Error::LimitExceeded {
                kind: LimitKind::Mailbox,
                limit: self.agents.get(to).map_or(0, |a| a.mailbox_depth as u64),
                detail: format!("the mailbox of agent {to} is full"),
            }),
            Err(SendError::NoBytes) => {
                let used = self.link.shared.lock().pool.used();
                Err(Error::LimitExceeded {
                    kind: LimitKind::QueuedBytes,
                    limit: self.config.max_queued_bytes as u64,
                    detail: format!("queued messages hold {used} bytes already"),
                })
            }
        }
    }

    fn not_running(&self, id: u32) -> Error {
        Error::State {
            message: match self.agents.get(id) {
                None => format!("there is no agent {id}"),
                Some(agent) => format!("agent {id} is not running: {}", agent.state),
            },
        }
    }

    /// Stops agent `id` (state killed).
    pub fn kill(&mut self, id: u32) -> Result<()> {
        match self.agents.get(id) {
            Some(agent) if !agent.state.is_done() => {
                self.end(id, AgentState::Killed);
                Ok(())
            }
            _ => Err(self.not_running(id)),
        }
    }

    /// Takes the messages sent to the host that [`run`](Self::run) has not handed out yet.
    pub fn take_host_messages(&mut self) -> Vec<Message> {
        let mut shared = self.link.shared.lock();
        let mut out = Vec::with_capacity(shared.host_inbox.len());
        while let Some(message) = shared.host_inbox.pop() {
            out.push(message);
        }
        out
    }

    pub fn info(&self, id: u32) -> Option<AgentInfo> {
        let agent = self.agents.get(id)?;
        let queue_len = self
            .link
            .shared
            .lock()
            .slots
            .get(id)
            .map_or(0, |slot| slot.mailbox.len());
        Some(AgentInfo {
            id,
            parent: agent.parent,
            name: agent.name.clone(),
            state: agent.state.clone(),
            fuel_used: agent.fuel_used(),
            queue_len,
        })
    }

    /// Every agent, in id order.
    pub fn list(&self) -> Vec<AgentInfo> {
        self.agents.ids().filter_map(|id| self.info(id)).collect()
    }

    /// Runs the agents until none can run or `max_slices` slices have run; `sink` hears about
    /// messages to the host and agents ending, in order.
    pub fn run(
        &mut self,
        runtime: &Runtime,
        max_slices: u64,
        sink: &mut dyn FnMut(Event),
    ) -> RunReport {
        let limits = RunLimits {
            max_slices,
            deadline_ns: None,
        };
        self.run_with(runtime, limits, sink)
    }

    /// [`System::run`] within `limits`, and until the user interrupts: between turns and while
    /// every agent waits, the console is asked for an interrupt
    /// ([`Console::take_interrupt`](crate::Console::take_interrupt)).
    pub fn run_with(
        &mut self,
        runtime: &Runtime,
        limits: RunLimits,
        sink: &mut dyn FnMut(Event),
    ) -> RunReport {
        let mut slices = 0u64;
        loop {
            let mut ran = false;
            // Agents spawned during the pass (higher ids) are visited in the same pass.
            let mut id = 0u32;
            while id < self.agents.last_id() {
                id += 1;
                if self.on_socket(id) {
                    self.retry_socket(id, sink);
                }
                if !self.runnable(id) {
                    continue;
                }
                if slices >= limits.max_slices {
                    return self.report(slices, StopReason::SliceLimit);
                }
                if let Some(stop) = self.should_stop(limits.deadline_ns) {
                    return self.report(slices, stop);
                }
                self.turn(runtime, id, sink);
                slices += 1;
                ran = true;
            }
            if !ran {
                let next_deadline = self
                    .agents
                    .values()
                    .filter(|a| a.state == AgentState::Blocked)
                    .filter_map(|a| a.deadline)
                    .min();
                if self.agents.values().any(|a| a.on_socket) {
                    // Agents wait on sockets: wait for the network (bounded by the run's
                    // deadline and an interrupt), then look again.
                    let wake = match (next_deadline, limits.deadline_ns) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    self.collect_interests();
                    match crate::net::wait::wait_step(&self.platform, &self.interests, wake) {
                        crate::net::wait::Woke::Interrupted => {
                            return self.report(slices, StopReason::Interrupted)
                        }
                        _ if limits
                            .deadline_ns
                            .is_some_and(|d| self.platform.clock.monotonic_ns() >= d) =>
                        {
                            return self.report(slices, StopReason::TimeLimit)
                        }
                        _ => continue,
                    }
                }
                let Some(wake) = next_deadline else {
                    return self.report(slices, StopReason::Idle);
                };
                let wake = limits.deadline_ns.map_or(wake, |d| wake.min(d));
                if self.platform.wait_until(wake) == Waited::Interrupted {
                    return self.report(slices, StopReason::Interrupted);
                }
                if limits.deadline_ns.is_some_and(|d| wake >= d) {
                    return self.report(slices, StopReason::TimeLimit);
                }
            }
        }
    }

    /// Whether the run must stop before the next turn: an interrupt, or the deadline passed.
    fn should_stop(&self, deadline_ns: Option<u64>) -> Option<StopReason> {
        if self.platform.console.take_interrupt() {
            return Some(StopReason::Interrupted);
        }
        match deadline_ns {
            Some(d) if self.platform.clock.monotonic_ns() >= d => Some(StopReason::TimeLimit),
            _ => None,
        }
    }

    fn report(&self, slices: u64, stop: StopReason) -> RunReport {
        let mut report = RunReport {
            slices,
            stop,
            ready: 0,
            blocked: 0,
            done: 0,
        };
        for agent in self.agents.values() {
            match agent.state {
                AgentState::Blocked => report.blocked += 1,
                ref s if s.is_done() => report.done += 1,
                _ => report.ready += 1,
            }
        }
        report
    }

    /// Whether agent `id` is parked on a socket.
    fn on_socket(&self, id: u32) -> bool {
        self.agents
            .get(id)
            .is_some_and(|a| a.on_socket && a.state == AgentState::Blocked)
    }

    /// Tries the socket call agent `id` is parked in again: done, the agent is ready to resume
    /// with its result; still blocked, nothing changes; failed, the agent ends.
    fn retry_socket(&mut self, id: u32, sink: &mut dyn FnMut(Event)) {
        let Some(agent) = self.agents.get_mut(id) else {
            return;
        };
        let Some(instance) = agent.instance.as_mut() else {
            return;
        };
        match crate::wasi::blocking::retry(instance) {
            crate::wasi::blocking::Retry::Blocked => {}
            crate::wasi::blocking::Retry::Done(value) => {
                agent.resume = Some(value);
                agent.on_socket = false;
                agent.deadline = None;
                agent.state = AgentState::Ready;
            }
            crate::wasi::blocking::Retry::Stop(error) => {
                self.end(id, AgentState::Trapped(error.to_string()));
                if let Some(agent) = self.agents.get(id) {
                    sink(Event::Ended {
                        id,
                        name: agent.name.clone(),
                        state: agent.state.clone(),
                    });
                }
            }
        }
    }

    /// Gathers what every agent parked on a socket waits for into `self.interests`.
    fn collect_interests(&mut self) {
        self.interests.clear();
        for agent in self.agents.values() {
            if let (true, Some(instance)) = (agent.on_socket, agent.instance.as_ref()) {
                self.interests
                    .extend_from_slice(&instance.context().blocked.interests);
            }
        }
    }

    /// Whether agent `id` can use a slice now.
    fn runnable(&self, id: u32) -> bool {
        let Some(agent) = self.agents.get(id) else {
            return false;
        };
        match agent.state {
            AgentState::Ready | AgentState::Inferring => true,
            AgentState::Blocked if agent.on_socket => false,
            AgentState::Blocked => {
                let has_mail = self
                    .link
                    .shared
                    .lock()
                    .slots
                    .get(id)
                    .is_some_and(|slot| !slot.mailbox.is_empty());
                has_mail
                    || agent
                        .deadline
                        .is_some_and(|d| self.platform.clock.monotonic_ns() >= d)
            }
            _ => false,
        }
    }

    /// Gives agent `id` (runnable) one slice.
    fn turn(&mut self, runtime: &Runtime, id: u32, sink: &mut dyn FnMut(Event)) {
        let Some(agent) = self.agents.get_mut(id) else {
            return;
        };
        if agent.state == AgentState::Blocked {
            // Serve the parked receive: a message arrived or the timeout passed.
            let mut shared = self.link.shared.lock();
            let Some(slot) = shared.slots.get_mut(id) else {
                return;
            };
            let result = match (slot.request.take(), agent.instance.as_mut()) {
                (Some(Request::Receive { .. }), _) if slot.mailbox.is_empty() => ERR_TIMEOUT,
                (
                    Some(Request::Receive {
                        buf_ptr,
                        buf_len,
                        sender_ptr,
                    }),
                    Some(instance),
                ) => with_memory(instance, |mem| {
                    deliver(mem, &mut slot.mailbox, buf_ptr, buf_len, sender_ptr)
                }),
                _ => ERR_BAD_POINTER,
            };
            agent.resume = Some(result);
            agent.deadline = None;
            agent.state = AgentState::Ready;
        }
        if agent.state == AgentState::Inferring {
            // One token step of its inference is this turn; the guest resumes in the turn that
            // finishes it.
            let Some(instance) = agent.instance.as_mut() else {
                return;
            };
            let served = match instance.check_time() {
                Ok(()) => crate::llm::abi::serve(instance, true),
                Err(error) => Served::Failed(error),
            };
            match served {
                Served::Pending => return,
                Served::Done(result) => {
                    agent.resume = Some(result);
                    agent.state = AgentState::Ready;
                }
                Served::Failed(error) => {
                    self.end(id, AgentState::Trapped(error.to_string()));
                    self.report_end(id, sink);
                    return;
                }
            }
        }
        let after = self.slice(id);
        self.drain_host_inbox(sink);
        if let After::Spawn = after {
            let result = self.serve_spawn(runtime, id, sink);
            if let Some(agent) = self.agents.get_mut(id) {
                agent.resume = Some(result);
            }
        }
        self.report_end(id, sink);
    }

    /// Tells `sink` that agent `id` ended, if it did.
    fn report_end(&self, id: u32, sink: &mut dyn FnMut(Event)) {
        if let Some(agent) = self.agents.get(id) {
            if agent.state.is_done() {
                sink(Event::Ended {
                    id,
                    name: agent.name.clone(),
                    state: agent.state.clone(),
                });
            }
        }
    }

    /// Runs one slice of agent `id` and records how it ended.
    fn slice(&mut self, id: u32) -> After {
        let Some(agent) = self.agents.get_mut(id) else {
            return After::Nothing;
        };
        let Some(instance) = agent.instance.as_mut() else {
            return After::Nothing;
        };
        // The call stays in place in the agent record (it holds wasmi's resumable state, which is
        // large): no moves in and out per slice.
        if agent.exec.is_none() {
            match instance.start(agent.entry.export(), &[]) {
                Ok(exec) => agent.exec = Some(exec),
                Err(e) => {
                    self.end(id, AgentState::Trapped(e.to_string()));
                    return After::Nothing;
                }
            }
        }
        let Some(exec) = agent.exec.as_mut() else {
            return After::Nothing;
        };
        agent.state = AgentState::Running;
        let slice = self.config.slice_fuel;
        let step = match agent.resume.take() {
            Some(value) => exec.resume_with(instance, &[Value::I32(value)], slice),
            None => exec.resume(instance, slice),
        };
        if let Step::Finished(_) = step {
            agent.exec = None;
        }
        let ended = match step {
            Step::Finished(Ok(CallOutcome::Returned(values))) => {
                if agent.entry == Entry::Init {
                    agent.entry = Entry::Run;
                    None
                } else {
                    let code = match values.first() {
                        Some(Value::I32(code)) => *code,
                        _ => 0,
                    };
                    Some(AgentState::Exited(code))
                }
            }
            Step::Finished(Ok(CallOutcome::Exited(code))) => Some(AgentState::Exited(code)),
            Step::Finished(Err(e)) => Some(AgentState::Trapped(e.to_string())),
            Step::Preempted => None,
            Step::Suspended(why) => {
                match why {
                    Suspend::Receive => {
                        agent.state = AgentState::Blocked;
                        return After::Nothing;
                    }
                    Suspend::ReceiveUntil(deadline) => {
                        agent.state = AgentState::Blocked;
                        agent.deadline = Some(deadline);
                        return After::Nothing;
                    }
                    Suspend::Io => {
                        agent.state = AgentState::Blocked;
                        agent.on_socket = true;
                        agent.deadline = instance.context().blocked.deadline_ns;
                        return After::Nothing;
                    }
                    Suspend::Yield => agent.resume = Some(0),
                    Suspend::Spawn => {
                        agent.state = AgentState::Ready;
                        return After::Spawn;
                    }
                    Suspend::Infer => {
                        agent.state = AgentState::Inferring;
                        return After::Nothing;
                    }
                }
                None
            }
        };
        match ended {
            Some(state) => self.end(id, state),
            None => agent.state = AgentState::Ready,
        }
        After::Nothing
    }

    /// Creates the child agent `parent` asked for; returns its id or an error code.
    fn serve_spawn(&mut self, runtime: &Runtime, parent: u32, sink: &mut dyn FnMut(Event)) -> i32 {
        let request = self
            .link
            .shared
            .lock()
            .slots
            .get_mut(parent)
            .and_then(|slot| slot.request.take());
        let Some(Request::Spawn { path, config }) = request else {
            return ERR_SPAWN_FAILED;
        };
        let Some(agent) = self.agents.get(parent) else {
            return ERR_SPAWN_FAILED;
        };
        let Some(instance) = agent.instance.as_ref() else {
            return ERR_SPAWN_FAILED;
        };
        let parent_caps = &instance.context().caps;
        let caps = if config.trim().is_empty() {
            parent_caps.clone()
        } else {
            match CapSet::parse(&config) {
                Ok(asked) => parent_caps.intersect(&asked),
                Err(_) => return ERR_BAD_CONFIG,
            }
        };
        let tree = Tree {
            parent,
            budget: agent.budget,
            spawn_limit: agent.spawn_limit,
            mailbox_depth: agent.mailbox_depth,
            max_memory: agent.max_memory,
        };
        let budget = tree.budget;
        let Some(&Budget { used, limit: cap }) = self.budgets.get(budget) else {
            return ERR_SPAWN_FAILED;
        };
        if used >= cap || self.live >= self.config.max_agents {
            return ERR_SPAWN_LIMIT;
        }
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        let fuel = self.config.fuel;
        match self.spawn_agent(runtime, tree, &path, caps, fuel) {
            Ok(id) => {
                if let Some(b) = self.budgets.get_mut(budget) {
                    b.used += 1;
                }
                id as i32
            }
            Err(error) => {
                let code = match error {
                    Error::LimitExceeded {
                        kind: LimitKind::Spawn,
                        ..
                    } => ERR_SPAWN_LIMIT,
                    _ => ERR_SPAWN_FAILED,
                };
                sink(Event::SpawnFailed {
                    parent,
                    path,
                    reason: error.to_string(),
                });
                code
            }
        }
    }

    /// Ends agent `id`: frees its instance and mailbox; later sends to it fail.
    fn end(&mut self, id: u32, state: AgentState) {
        let Some(agent) = self.agents.get_mut(id) else {
            return;
        };
        if agent.state.is_done() {
            return;
        }
        agent.fuel_used = agent.fuel_used();
        if let Some(instance) = &agent.instance {
            instance.context().platform.console.flush();
        }
        agent.instance = None;
        agent.exec = None;
        agent.resume = None;
        agent.deadline = None;
        agent.on_socket = false;
        agent.state = state;
        self.live = self.live.saturating_sub(1);
        if let Some(slot) = self.link.shared.lock().slots.get_mut(id) {
            slot.alive = false;
            slot.request = None;
            slot.mailbox.clear();
        }
    }

    fn drain_host_inbox(&mut self, sink: &mut dyn FnMut(Event)) {
        loop {
            // Pop under the lock, hand out without it (the sink may call back into the system).
            let message = self.link.shared.lock().host_inbox.pop();
            match message {
                Some(message) => sink(Event::Message(message)),
                None => break,
            }
        }
    }
}

/// Runs `f` on the instance's linear memory (checked view); [`ERR_BAD_POINTER`] without one.
fn with_memory(instance: &mut Instance, f: impl FnOnce(&mut GuestMemory<'_>) -> i32) -> i32 {
    let Some(memory) = instance.context().memory else {
        return ERR_BAD_POINTER;
    };
    let bytes = memory.data_mut(instance.store_mut());
    f(&mut GuestMemory::new(bytes))
}
