//! Instances: a module instantiated in its own wasmi `Store` with its own [`HostContext`] (id,
//! arguments, environment, descriptor table, statistics), a fuel budget and a memory limit, and a
//! typed call of any export.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use wasmi::{Linker, Store, StoreLimitsBuilder, TrapCode};

use crate::caps::CapSet;
use crate::context::{HostContext, HostStats};
use crate::error::{Error, Result};
use crate::module::Module;
use crate::platform::Platform;
use crate::values::{check_signature, parse_args, Value};
use crate::wasi::WasiCtx;

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
}

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
    fuel_limit: Option<u64>,
    initial_fuel: u64,
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
        let started = config.platform.clock.monotonic_ns();
        let mut limits = StoreLimitsBuilder::new();
        if let Some(max) = config.max_memory {
            limits = limits.memory_size(max);
        }
        let ctx = HostContext {
            id: config.id,
            module: module.name().to_string(),
            platform: config.platform.clone(),
            caps: config.caps,
            memory: None,
            wasi: WasiCtx {
                args: config.args,
                env: config.env,
            },
            stats: HostStats::default(),
            limits: limits.build(),
        };
        let mut store = Store::new(engine, ctx);
        store.limiter(|ctx| &mut ctx.limits);
        let initial_fuel = config.fuel.unwrap_or(UNLIMITED_FUEL);
        store
            .set_fuel(initial_fuel)
            .map_err(|e| Error::Instantiate {
                module: module.name().to_string(),
                reason: e.to_string(),
            })?;
        let instance = linker
            .instantiate_and_start(&mut store, &module.inner)
            .map_err(|e| {
                let reason = match e.as_trap_code() {
                    Some(TrapCode::OutOfFuel) => {
                        return Error::OutOfFuel {
                            func: "start".to_string(),
                            limit: initial_fuel,
                        }
                    }
                    _ => e.to_string(),
                };
                Error::Instantiate {
                    module: module.name().to_string(),
                    reason,
                }
            })?;
        store.data_mut().memory = instance.get_memory(&store, "memory");
        let wall_ns = config.platform.clock.monotonic_ns().saturating_sub(started);
        Ok(Instance {
            store,
            instance,
            module: module.clone(),
            fuel_limit: config.fuel,
            initial_fuel,
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
        let remaining = self.store.get_fuel().unwrap_or(0);
        Stats {
            fuel_consumed: self.initial_fuel.saturating_sub(remaining),
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

    /// Calls export `name` with typed arguments.
    pub fn call(&mut self, name: &str, args: &[Value]) -> Result<CallOutcome> {
        if let Some(code) = self.exited {
            return Err(Error::State {
                message: alloc::format!(
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
                    given: alloc::format!("{arg} ({})", arg.kind()),
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
        let params: Vec<wasmi::Val> = args.iter().map(|v| v.to_wasmi()).collect();
        let mut results = vec![wasmi::Val::I32(0); sig.results.len()];
        let clock = self.store.data().platform.clock.clone();
        let started = clock.monotonic_ns();
        let outcome = func.call(&mut self.store, &params, &mut results);
        self.wall_ns += clock.monotonic_ns().saturating_sub(started);
        self.store.data().platform.console.flush();
        match outcome {
            Ok(()) => Ok(CallOutcome::Returned(
                results.iter().filter_map(Value::from_wasmi).collect(),
            )),
            Err(err) => self.map_error(name, err),
        }
    }

    fn map_error(&mut self, func: &str, err: wasmi::Error) -> Result<CallOutcome> {
        if let Some(code) = err.i32_exit_status() {
            self.exited = Some(code);
            return Ok(CallOutcome::Exited(code));
        }
        if let Some(ours) = err.downcast_ref::<Error>() {
            return Err(ours.clone());
        }
        let message = match err.as_trap_code() {
            Some(TrapCode::OutOfFuel) => {
                return Err(Error::OutOfFuel {
                    func: func.to_string(),
                    limit: self.fuel_limit.unwrap_or(self.initial_fuel),
                })
            }
            Some(code) => trap_message(code).to_string(),
            None => err.to_string(),
        };
        Err(Error::Trap {
            func: func.to_string(),
            message,
        })
    }
}

impl wasmi::errors::HostError for Error {}

/// The user-facing text of a trap code.
fn trap_message(code: TrapCode) -> &'static str {
    match code {
        TrapCode::UnreachableCodeReached => "unreachable instruction executed",
        TrapCode::MemoryOutOfBounds => "out-of-bounds memory access",
        TrapCode::TableOutOfBounds => "out-of-bounds table access",
        TrapCode::IndirectCallToNull => "indirect call to a null table entry",
        TrapCode::IntegerDivisionByZero => "integer division by zero",
        TrapCode::IntegerOverflow => "integer overflow",
        TrapCode::BadConversionToInteger => "invalid conversion to integer",
        TrapCode::StackOverflow => "call stack exhausted (infinite recursion?)",
        TrapCode::BadSignature => "indirect call type mismatch",
        TrapCode::OutOfFuel => "out of fuel",
        TrapCode::GrowthOperationLimited => "a memory or table growth limit was reached",
        _ => "trap",
    }
}
