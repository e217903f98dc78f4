//! Instances: a module instantiated in its own wasmi `Store` with its own [`HostContext`] (id,
//! arguments, environment, descriptor table, statistics), a fuel budget and a memory limit, and a
//! typed call of any export.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use wasmi::{Linker, Store, StoreLimitsBuilder};

use crate::caps::CapSet;
use crate::context::{HostContext, HostStats};
use crate::error::{Error, LimitKind, Result};
use crate::execution::Execution;
use crate::module::Module;
use crate::platform::Platform;
use crate::values::{check_signature, parse_args, Value};
use crate::wasi::{Preopen, WasiCtx};

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
    /// Largest linear memory in bytes; growth past it fails (`memory.grow` returns -1).
    pub max_memory: Option<usize>,
    /// Wall-clock budget of the instance over its lifetime, in milliseconds; checked between
    /// fuel slices.
    pub time_limit_ms: Option<u64>,
    /// Fuel per slice: how often time limits are checked and how long an agent runs before the
    /// scheduler may switch.
    pub slice_fuel: u64,
    /// Directories visible to the guest as WASI preopens (descriptors 3, 4, ...).
    pub preopens: Vec<Preopen>,
    /// Most WASI descriptors open at once, stdio and preopens included; opening more fails with
    /// `EMFILE`. `None`: unlimited.
    pub fd_limit: Option<usize>,
    /// Agents: how many agents the spawn tree this instance roots may create (`None`: the
    /// agent system's default).
    pub spawn_limit: Option<u32>,
    /// Agents: how many messages the instance's mailbox holds before senders get "full"
    /// (`None`: the agent system's default).
    pub mailbox_depth: Option<usize>,
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
            time_limit_ms: None,
            slice_fuel: DEFAULT_SLICE_FUEL,
            preopens: Vec::new(),
            fd_limit: None,
            spawn_limit: None,
            mailbox_depth: None,
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
    /// Wall time spent inside calls to the instance (including instantiation), in nanoseconds.
    pub wall_ns: u64,
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
}

impl Instance {
    pub(crate) fn new(
        engine: &wasmi::Engine,
        linker: &Linker<HostContext>,
        module: &Module,
        config: InstanceConfig,
    ) -> Result<Self> {
        let clock = config.platform.clock.clone();
        let started = clock.monotonic_ns();
        let mut limits = StoreLimitsBuilder::new();
        if let Some(max) = config.max_memory {
            limits = limits.memory_size(max);
        }
        let ctx = HostContext {
            id: config.id,
            module: module.name().to_string(),
            platform: config.platform.clone(),
            wasi: WasiCtx::new(
                config.args,
                config.env,
                &config.preopens,
                &config.caps,
                config.fd_limit,
            ),
            caps: config.caps,
            memory: None,
            stats: HostStats::default(),
            agent: None,
            limits: limits.build(),
        };
        let mut store = Store::new(engine, ctx);
        store.limiter(|ctx| &mut ctx.limits);
        // The start function runs non-resumably, with the whole budget.
        let start_fuel = config.fuel.unwrap_or(UNLIMITED_FUEL);
        store.set_fuel(start_fuel).map_err(|e| Error::Instantiate {
            module: module.name().to_string(),
            reason: e.to_string(),
        })?;
        let instance = linker
            .instantiate_and_start(&mut store, &module.inner)
            .map_err(
                |e| match crate::execution::classify("start", e, start_fuel) {
                    Err(err @ (Error::OutOfFuel { .. } | Error::LimitExceeded { .. })) => err,
                    Err(Error::Trap { message, .. }) => Error::Instantiate {
                        module: module.name().to_string(),
                        reason: message,
                    },
                    Err(other) => Error::Instantiate {
                        module: module.name().to_string(),
                        reason: other.to_string(),
                    },
                    Ok(_) => Error::Instantiate {
                        module: module.name().to_string(),
                        reason: "the start function exited".to_string(),
                    },
                },
            )?;
        let fuel_used = start_fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        store.data_mut().memory = instance.get_memory(&store, "memory");
        let wall_ns = clock.monotonic_ns().saturating_sub(started);
        Ok(Instance {
            store,
            instance,
            module: module.clone(),
            fuel_limit: config.fuel,
            fuel_used,
            deadline_ns: config
                .time_limit_ms
                .map(|ms| started.saturating_add(ms.saturating_mul(1_000_000))),
            time_limit_ms: config.time_limit_ms,
            slice_fuel: config.slice_fuel.max(1),
            wall_ns,
            exited: None,
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
        Stats {
            fuel_consumed: self.fuel_used,
            host_calls: self.store.data().stats.host_calls,
            wall_ns: self.wall_ns,
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
        let outcome = execution.run_to_end(self, slice);
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

    /// Adds `fuel` to the budget (fuel-based pacing: a credit refuels the instance).
    pub fn add_fuel(&mut self, fuel: u64) {
        if let Some(limit) = &mut self.fuel_limit {
            *limit = limit.saturating_add(fuel);
        }
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
        let granted = slice.min(self.fuel_left());
        if granted == 0 {
            return Err(self.out_of_fuel(self.module.name()));
        }
        self.store.set_fuel(granted).map_err(|e| Error::State {
            message: format!("cannot set fuel: {e}"),
        })?;
        Ok(granted)
    }

    /// Charges the fuel and time of the slice that just ran.
    pub(crate) fn end_slice(&mut self, granted: u64, started_ns: u64) {
        let left = self.store.get_fuel().unwrap_or(0);
        self.fuel_used = self.fuel_used.saturating_add(granted.saturating_sub(left));
        self.wall_ns = self
            .wall_ns
            .saturating_add(self.now().saturating_sub(started_ns));
    }

    pub(crate) fn out_of_fuel(&self, func: &str) -> Error {
        Error::OutOfFuel {
            func: func.to_string(),
            limit: self.fuel_limit.unwrap_or(UNLIMITED_FUEL),
        }
    }

    pub(crate) fn map_error(&mut self, func: &str, err: wasmi::Error) -> Result<CallOutcome> {
        let outcome =
            crate::execution::classify(func, err, self.fuel_limit.unwrap_or(UNLIMITED_FUEL));
        if let Ok(CallOutcome::Exited(code)) = outcome {
            self.exited = Some(code);
        }
        outcome
    }
}

impl wasmi::errors::HostError for Error {}
