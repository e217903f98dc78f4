//! Instances: a module instantiated in its own wasmi `Store` with its own [`HostContext`] (id,
//! arguments, environment, descriptor table, statistics), a fuel budget and a memory limit, and a
//! typed call of any export.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmi::{Linker, Store, TrapCode};

use crate::caps::CapSet;
use crate::context::{HostContext, HostStats};
use crate::error::{Error, LimitKind, Result};
use crate::execution::Execution;
use crate::guest::GuestMemory;
use crate::limits::{Budget, Limiter, Pacer, DEFAULT_FUEL_PER_CREDIT, DEFAULT_MAX_TABLE_ELEMENTS};
use crate::llm::abi::LlmLink;
use crate::llm::LlmService;
use crate::module::Module;
use crate::platform::Platform;
use crate::values::{check_signature, parse_args, Value};
use crate::wasi::{Preopen, SocketPreopen, WasiCtx};

/// How to set up one instance.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    /// The instance id seen by host functions (agents: their agent id).
    pub id: u32,
    pub platform: Platform,
    /// Granted capabilities (default: the usual WASI set, as `wasmtime run` grants).
    pub caps: CapSet,
    /// `argv`, including the program name as `args[0]`.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Total fuel the instance may consume over its lifetime; `None` is unlimited.
    pub fuel: Option<u64>,
    /// Largest linear memory in bytes (all memories of the instance together); growing past it
    /// stops the instance with `LimitExceeded { kind: Memory }`.
    pub max_memory: Option<usize>,
    /// Most table elements (all tables together); growing past it stops the instance with
    /// `LimitExceeded { kind: Table }`. Default [`DEFAULT_MAX_TABLE_ELEMENTS`]; `None` leaves
    /// only the runtime's guest-memory budget.
    pub max_table_elements: Option<usize>,
    /// Fuel-based pacing: a budget of credits, each bought as `fuel_per_credit` fuel when the
    /// instance's fuel runs out; spent credits stop it with `LimitExceeded { kind: Credits }`.
    /// With credits, `fuel` (if any) is fuel given before the first credit is spent.
    pub credits: Option<u64>,
    /// Fuel one credit buys (default [`DEFAULT_FUEL_PER_CREDIT`]).
    pub fuel_per_credit: u64,
    /// Wall-clock budget of the instance over its lifetime, in milliseconds; checked between
    /// fuel slices.
    pub time_limit_ms: Option<u64>,
    /// Fuel per slice: how often time limits are checked and how long an agent runs before the
    /// scheduler may switch.
    pub slice_fuel: u64,
    /// Directories visible to the guest as WASI preopens (descriptors 3, 4, ...).
    pub preopens: Vec<Preopen>,
    /// Listening sockets handed to the guest (`--tcplisten`): the descriptors after the
    /// directories'. The instance's descriptors share them; they close when the last holder does.
    pub sockets: Vec<SocketPreopen>,
    /// Most WASI descriptors open at once, stdio and preopens included; opening more fails with
    /// `EMFILE`. `None`: unlimited.
    pub fd_limit: Option<usize>,
    /// Agents: how many agents the spawn tree this instance roots may create (`None`: the
    /// agent system's default).
    pub spawn_limit: Option<u32>,
    /// Agents: how many messages the instance's mailbox holds before senders get "full"
    /// (`None`: the agent system's default).
    pub mailbox_depth: Option<usize>,
    /// The LLM service the `llm` host module serves (`None`: the runtime's, see
    /// [`Runtime::set_llm`](crate::Runtime::set_llm)).
    pub llm: Option<Arc<LlmService>>,
}

/// Default fuel per slice: about a millisecond of guest work on a host CPU.
pub const DEFAULT_SLICE_FUEL: u64 = 1_000_000;

impl InstanceConfig {
    pub fn new(platform: Platform) -> Self {
        InstanceConfig {
            id: 0,
            platform,
            caps: CapSet::wasi_default(),
            args: Vec::new(),
            env: Vec::new(),
            fuel: None,
            max_memory: None,
            max_table_elements: Some(DEFAULT_MAX_TABLE_ELEMENTS),
            preopens: Vec::new(),
            sockets: Vec::new(),
            fd_limit: None,
            spawn_limit: None,
            mailbox_depth: None,
            llm: None,
            credits: None,
            fuel_per_credit: DEFAULT_FUEL_PER_CREDIT,
            time_limit_ms: None,
            slice_fuel: DEFAULT_SLICE_FUEL,
        }
    }
}

/// What a call ended with, when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum CallOutcome {
    /// The function returned these values.
    Returned(Vec<Value>),
    /// The guest called `proc_exit` (or an equivalent) with this status.
    Exited(i32),
}

/// Resource use of one instance so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub fuel_consumed: u64,
    pub host_calls: u64,
    /// Wall time spent inside [`Instance::call`]s (and instantiation), in nanoseconds. Calls run
    /// slice by slice through [`Instance::start`] (the agent scheduler) are not timed.
    pub wall_ns: u64,
    /// Linear memory now and at its largest, in bytes.
    pub memory_bytes: u64,
    pub peak_memory_bytes: u64,
    /// The most table elements the instance had.
    pub peak_table_elements: u64,
    /// Credits spent on fuel (fuel-based pacing; 0 without it).
    pub credits_spent: u64,
}

/// Fuel given to an instance without a limit: effectively infinite (the store keeps a u64).
const UNLIMITED_FUEL: u64 = u64::MAX / 2;

/// A running instance of a [`Module`].
pub struct Instance {
    store: Store<HostContext>,
    instance: wasmi::Instance,
    module: Module,
    /// Total fuel budget (`None`: unlimited) and what has been used of it.
    fuel_limit: Option<u64>,
    fuel_used: u64,
    /// Monotonic time (ns) past which the instance is stopped.
    deadline_ns: Option<u64>,
    time_limit_ms: Option<u64>,
    slice_fuel: u64,
    wall_ns: u64,
    exited: Option<i32>,
    /// Fuel-based pacing, if the instance has a budget of credits.
    pacer: Option<Pacer>,
}

impl Instance {
    pub(crate) fn new(
        engine: &wasmi::Engine,
        linker: &Linker<HostContext>,
        module: &Module,
        config: InstanceConfig,
        guest_memory: Option<Arc<Budget>>,
    ) -> Result<Self> {
        let clock = config.platform.clock.clone();
        let started = clock.monotonic_ns();
        let mut limits = Limiter::new(config.max_memory, config.max_table_elements)
            .with_shared_memory(guest_memory);
        limits.spawn_limit = config.spawn_limit;
        limits.mailbox_depth = config.mailbox_depth;
        let mut pacer = config
            .credits
            .map(|credits| Pacer::new(credits, config.fuel_per_credit));
        // With pacing, `fuel` is a head start and the credits pay for the rest.
        let mut fuel_limit = match pacer {
            Some(_) => Some(config.fuel.unwrap_or(0)),
            None => config.fuel,
        };
        let ctx = HostContext {
            id: config.id,
            module: module.name().to_string(),
            platform: config.platform.clone(),
            wasi: WasiCtx::new(
                config.args,
                config.env,
                &config.preopens,
                &config.sockets,
                &config.caps,
                config.fd_limit,
            ),
            caps: config.caps,
            memory: None,
            stats: HostStats::default(),
            agent: None,
            llm: LlmLink::new(config.llm),
            limits,
            time_limit: config
                .time_limit_ms
                .map(|ms| (started.saturating_add(ms.saturating_mul(1_000_000)), ms)),
            fuel_debt: 0,
            parked: None,
            blocked: crate::wasi::blocking::Blocked::default(),
        };
        let mut store = Store::new(engine, ctx);
        store.limiter(|ctx| &mut ctx.limits);
        // The start function runs non-resumably, with the whole budget (credits included; the
        // whole credits it leaves unused are refunded below).
        if let (Some(limit), Some(pacer)) = (&mut fuel_limit, &mut pacer) {
            *limit = limit.saturating_add(pacer.draw(u64::MAX));
        }
        let start_fuel = fuel_limit.unwrap_or(UNLIMITED_FUEL);
        store.set_fuel(start_fuel).map_err(|e| Error::Instantiate {
            module: module.name().to_string(),
            reason: e.to_string(),
        })?;
        let instance = linker
            .instantiate_and_start(&mut store, &module.inner)
            .map_err(|e| {
                if let Some(hit) = store.data_mut().limits.take_hit() {
                    return hit.to_error(module.name());
                }
                if let Some((asked, used, limit)) = store.data_mut().limits.take_shared_refusal()
                {
                    return Error::Instantiate {
                        module: module.name().to_string(),
                        reason: format!(
                            "its {asked} bytes of initial memory do not fit in the guest memory left: \
                             {used} of {limit} bytes are in use by other instances"
                        ),
                    };
                }
                match crate::execution::classify("start", e, start_fuel) {
                    Err(err @ Error::OutOfFuel { .. }) => match &pacer {
                        Some(pacer) => pacer.exhausted(module.name()),
                        None => err,
                    },
                    Err(err @ Error::LimitExceeded { .. }) => err,
                    Err(Error::Trap { message, .. }) => Error::Instantiate {
                        module: module.name().to_string(),
                        reason: message,
                    },
                    Err(other) => Error::Instantiate {
                        module: module.name().to_string(),
                        reason: other.to_string(),
                    },
                    Ok(CallOutcome::Exited(code)) => Error::Exited {
                        module: module.name().to_string(),
                        code,
                    },
                    Ok(CallOutcome::Returned(_)) => Error::Instantiate {
                        module: module.name().to_string(),
                        reason: "the start function failed".to_string(),
                    },
                }
            })?;
        let fuel_used = start_fuel
            .saturating_sub(store.get_fuel().unwrap_or(0))
            .saturating_add(core::mem::take(&mut store.data_mut().fuel_debt));
        if let (Some(limit), Some(pacer)) = (&mut fuel_limit, &mut pacer) {
            let head_start = config.fuel.unwrap_or(0);
            // Fuel left beyond the head start came from credits: refund its whole credits.
            let unused = limit.saturating_sub(fuel_used.max(head_start));
            *limit = limit.saturating_sub(pacer.refund(unused));
        }
        store.data_mut().memory = instance.get_memory(&store, "memory");
        let wall_ns = clock.monotonic_ns().saturating_sub(started);
        let deadline_ns = store.data().time_limit.map(|(deadline, _)| deadline);
        Ok(Instance {
            store,
            instance,
            module: module.clone(),
            fuel_limit,
            fuel_used,
            deadline_ns,
            time_limit_ms: config.time_limit_ms,
            slice_fuel: config.slice_fuel.max(1),
            wall_ns,
            exited: None,
            pacer,
        })
    }

    pub fn module(&self) -> &Module {
        &self.module
    }

    pub fn context(&self) -> &HostContext {
        self.store.data()
    }

    pub fn context_mut(&mut self) -> &mut HostContext {
        self.store.data_mut()
    }

    pub fn stats(&self) -> Stats {
        let ctx = self.store.data();
        Stats {
            fuel_consumed: self.fuel_used,
            host_calls: ctx.stats.host_calls,
            wall_ns: self.wall_ns,
            memory_bytes: ctx.limits.memory_bytes() as u64,
            peak_memory_bytes: ctx.limits.peak_memory_bytes() as u64,
            peak_table_elements: ctx.limits.peak_table_elements() as u64,
            credits_spent: self.pacer.map_or(0, |p| p.credits_spent()),
        }
    }

    /// Whether the module exports a function called `name`.
    pub fn has_export(&self, name: &str) -> bool {
        self.module.info().export_signature(name).is_some()
    }

    /// Runs the command entry point `_start`.
    pub fn run_start(&mut self) -> Result<CallOutcome> {
        self.call("_start", &[])
    }

    /// Calls export `name`, parsing `args` by its signature.
    pub fn call_with_text(&mut self, name: &str, args: &[&str]) -> Result<CallOutcome> {
        let sig = self.signature(name)?;
        let values = parse_args(name, &sig, args)?;
        self.call(name, &values)
    }

    fn signature(&self, name: &str) -> Result<crate::module::Signature> {
        let module = self.module.name().to_string();
        match self.module.info().exports.iter().find(|e| e.name == name) {
            None => Err(Error::NoSuchExport {
                module,
                export: name.to_string(),
            }),
            Some(e) => match &e.kind {
                crate::module::ExportKind::Func(sig) => Ok(sig.clone()),
                _ => Err(Error::NotAFunction {
                    module,
                    export: name.to_string(),
                }),
            },
        }
    }

    /// Calls export `name` with typed arguments, running it to the end in fuel slices.
    pub fn call(&mut self, name: &str, args: &[Value]) -> Result<CallOutcome> {
        let mut execution = self.start(name, args)?;
        let slice = self.slice_fuel;
        let started = self.now();
        let outcome = execution.run_to_end(self, slice);
        self.wall_ns = self
            .wall_ns
            .saturating_add(self.now().saturating_sub(started));
        self.store.data().platform.console.flush();
        outcome
    }

    /// Prepares a call of export `name` that the caller runs slice by slice (the agent scheduler).
    pub fn start(&mut self, name: &str, args: &[Value]) -> Result<Execution> {
        if let Some(code) = self.exited {
            return Err(Error::State {
                message: format!(
                    "instance of {} already exited with {code}",
                    self.module.name()
                ),
            });
        }
        let sig = self.signature(name)?;
        check_signature(name, &sig)?;
        if args.len() != sig.params.len() {
            return Err(Error::WrongArgCount {
                func: name.to_string(),
                expected: sig.params.len(),
                given: args.len(),
            });
        }
        for (index, (arg, kind)) in args.iter().zip(&sig.params).enumerate() {
            if arg.kind() != *kind {
                return Err(Error::BadArgument {
                    func: name.to_string(),
                    index,
                    expected: kind.to_string(),
                    given: format!("{arg} ({})", arg.kind()),
                });
            }
        }
        let func =
            self.instance
                .get_func(&self.store, name)
                .ok_or_else(|| Error::NoSuchExport {
                    module: self.module.name().to_string(),
                    export: name.to_string(),
                })?;
        let params = args.iter().map(|v| v.to_wasmi()).collect();
        Ok(Execution::new(name, func, params, sig.results.len()))
    }

    pub(crate) fn store_mut(&mut self) -> &mut Store<HostContext> {
        &mut self.store
    }

    /// The instance's linear memory (checked view) and its context, borrowed together, for the
    /// host side of a call served outside the host function (a parked `llm.infer`). `None`
    /// without an exported memory.
    pub(crate) fn memory_and_context(&mut self) -> Option<(GuestMemory<'_>, &mut HostContext)> {
        let memory = self.store.data().memory?;
        let (bytes, ctx) = memory.data_and_store_mut(&mut self.store);
        Some((GuestMemory::new(bytes), ctx))
    }

    /// Whether the pacing budget holds `credits` (an instance without a budget always does);
    /// the error is the one that stops the instance.
    pub(crate) fn check_credits(&self, credits: u64) -> Result<()> {
        match &self.pacer {
            Some(pacer) if pacer.credits_left() < credits => {
                Err(pacer.exhausted(self.module.name()))
            }
            _ => Ok(()),
        }
    }

    /// Spends `credits` of the pacing budget on work the host does for the instance (an
    /// inference's token steps); an instance without a budget pays nothing. When the budget
    /// cannot pay, nothing is spent and the error is the one that stops the instance.
    pub(crate) fn charge_credits(&mut self, credits: u64) -> Result<()> {
        match &mut self.pacer {
            None => Ok(()),
            Some(pacer) => {
                if pacer.spend(credits) {
                    Ok(())
                } else {
                    Err(pacer.exhausted(self.module.name()))
                }
            }
        }
    }

    /// Whether the user asked to stop (consumes the request).
    pub(crate) fn take_interrupt(&self) -> bool {
        self.store.data().platform.console.take_interrupt()
    }

    pub(crate) fn now(&self) -> u64 {
        self.store.data().platform.clock.monotonic_ns()
    }

    /// Fuel left in the instance's budget.
    pub fn fuel_left(&self) -> u64 {
        match self.fuel_limit {
            Some(limit) => limit.saturating_sub(self.fuel_used),
            None => UNLIMITED_FUEL,
        }
    }

    /// Adds `fuel` to the budget.
    pub fn add_fuel(&mut self, fuel: u64) {
        if let Some(limit) = &mut self.fuel_limit {
            *limit = limit.saturating_add(fuel);
        }
    }

    /// Adds `credits` to the pacing budget (an instance without one gets one). The scheduler's
    /// way to let a paced instance run on.
    pub fn add_credits(&mut self, credits: u64, fuel_per_credit: u64) {
        match &mut self.pacer {
            Some(pacer) => pacer.add(credits),
            None => {
                self.pacer = Some(Pacer::new(credits, fuel_per_credit));
                // Without a budget before, fuel was unlimited: from now on the credits pay.
                if self.fuel_limit.is_none() {
                    self.fuel_limit = Some(self.fuel_used);
                }
            }
        }
    }

    /// Credits left in the pacing budget (`None`: the instance is not paced).
    pub fn credits_left(&self) -> Option<u64> {
        self.pacer.map(|p| p.credits_left())
    }

    /// Whether the budget (fuel left plus the fuel its credits buy) still holds `fuel` (at
    /// least 1).
    pub(crate) fn can_supply(&self, fuel: u64) -> bool {
        let credit_fuel = self
            .pacer
            .map_or(0, |p| p.credits_left().saturating_mul(p.fuel_per_credit()));
        self.fuel_left().saturating_add(credit_fuel) >= fuel.max(1)
    }

    /// Errors when the wall-clock budget is spent.
    pub(crate) fn check_time(&self) -> Result<()> {
        match (self.deadline_ns, self.time_limit_ms) {
            (Some(deadline), Some(ms)) if self.now() >= deadline => Err(Error::LimitExceeded {
                kind: LimitKind::Time,
                limit: ms,
                detail: format!(
                    "{} ran for more than {ms} ms of wall time",
                    self.module.name()
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Loads the store with the fuel of one slice; returns the fuel granted.
    pub(crate) fn begin_slice(&mut self, slice: u64) -> Result<u64> {
        let left = self.fuel_left();
        if left < slice {
            if let (Some(pacer), Some(limit)) = (&mut self.pacer, &mut self.fuel_limit) {
                *limit = limit.saturating_add(pacer.draw(slice - left));
            }
        }
        let granted = slice.min(self.fuel_left());
        if granted == 0 {
            return Err(self.out_of_fuel(self.module.name()));
        }
        self.store.set_fuel(granted).map_err(|e| Error::State {
            message: format!("cannot set fuel: {e}"),
        })?;
        Ok(granted)
    }

    /// Charges the fuel of the slice that just ran. (No clock read per slice: it was a fifth of
    /// an agent message round trip. `call` times whole calls.)
    pub(crate) fn end_slice(&mut self, granted: u64) {
        let left = self.store.get_fuel().unwrap_or(0);
        let debt = core::mem::take(&mut self.store.data_mut().fuel_debt);
        self.fuel_used = self
            .fuel_used
            .saturating_add(granted.saturating_sub(left))
            .saturating_add(debt);
    }

    pub(crate) fn out_of_fuel(&self, func: &str) -> Error {
        if let Some(pacer) = &self.pacer {
            return pacer.exhausted(self.module.name());
        }
        Error::OutOfFuel {
            func: func.to_string(),
            limit: self.fuel_limit.unwrap_or(UNLIMITED_FUEL),
        }
    }

    pub(crate) fn map_error(&mut self, func: &str, err: wasmi::Error) -> Result<CallOutcome> {
        if err.as_trap_code() == Some(TrapCode::GrowthOperationLimited) {
            if let Some(hit) = self.store.data_mut().limits.take_hit() {
                return Err(hit.to_error(self.module.name()));
            }
        }
        let outcome =
            crate::execution::classify(func, err, self.fuel_limit.unwrap_or(UNLIMITED_FUEL));
        if let Ok(CallOutcome::Exited(code)) = outcome {
            self.exited = Some(code);
        }
        outcome
    }
}

impl wasmi::errors::HostError for Error {}
