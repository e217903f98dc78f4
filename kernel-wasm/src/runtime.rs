//! The runtime: one wasmi engine (fuel metering on) and the host-function registry, shared by every
//! module and instance it creates.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::caps::{CapSet, Capability};
use crate::error::{Error, Result};
use crate::host::{CapCheck, Registry};
use crate::instance::{Instance, InstanceConfig};
use crate::limits::Budget;
use crate::llm::LlmService;
use crate::module::{ImportKind, Module, ModuleInfo};

/// Bytes of wasm stack one call may use (values and locals of every active frame) before it
/// traps with "call stack exhausted": how wasmtime bounds recursion (`max_wasm_stack`), not a
/// count of frames. 8 MiB runs 10 000-deep recursion of functions with a few dozen locals and
/// temporaries (wasmtime's 512 KiB of native stack runs about the same, its frames being smaller
/// than an interpreter's).
pub const DEFAULT_MAX_STACK_BYTES: usize = 8 << 20;

/// The most frames one call may have, whatever their size. Frames hold their values on the
/// stack counted by `max_stack_bytes`; this bounds the frame records themselves (a few words
/// each, so at most a few MiB), for functions with no locals at all.
pub const DEFAULT_MAX_RECURSION_DEPTH: usize = 100_000;

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The deepest wasm call stack allowed before a stack-overflow trap, in frames (see
    /// [`DEFAULT_MAX_RECURSION_DEPTH`]); `max_stack_bytes` is usually the bound that holds.
    pub max_recursion_depth: usize,
    /// Bytes of values and locals one call's frames may hold together before a stack-overflow
    /// trap ([`DEFAULT_MAX_STACK_BYTES`]). Every running or parked call (each agent) has its own
    /// stack, allocated as it grows.
    pub max_stack_bytes: usize,
    /// Bytes of linear memory all instances of the runtime may hold together (`None`:
    /// unbounded). Growth past it fails as on a host out of memory (`memory.grow` returns -1)
    /// instead of exhausting the host: the kernel sets it from its heap, so no guest can starve
    /// the allocator the kernel itself depends on. Per-instance limits (`max_memory`) come on top.
    pub guest_memory: Option<usize>,
}

/// wasmi's initial value stack (its default minimum height), the least `max_stack_bytes` can be.
const MIN_STACK_BYTES: usize = 1_000;

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            max_recursion_depth: DEFAULT_MAX_RECURSION_DEPTH,
            max_stack_bytes: DEFAULT_MAX_STACK_BYTES,
            guest_memory: None,
        }
    }
}

/// One capability a module's imports need (see [`Runtime::capability_needs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityNeed {
    pub capability: Capability,
    /// `AtInstantiation` if any import needing it is checked at instantiation.
    pub check: CapCheck,
    /// The imports guarded by it, as `module::name`.
    pub imports: Vec<String>,
}

/// Loads modules and instantiates them against the host functions.
pub struct Runtime {
    engine: wasmi::Engine,
    registry: Registry,
    /// [`RuntimeConfig::guest_memory`], shared by every instance's limiter.
    guest_memory: Option<Arc<Budget>>,
    /// The model the `llm` host module serves to every instance (`None`: `infer` answers "no
    /// model").
    llm: Option<Arc<LlmService>>,
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new(RuntimeConfig::default())
    }
}

/// The wasmi configuration of a runtime's engine (the benchmarks configure raw wasmi with it too,
/// so "the same engine configuration" is one definition).
///
/// Fuel metering is on, with wasmi's default costs for instructions and for copying bytes
/// (`memory.grow/copy/fill`, tables), but **translating and validating code costs no fuel**:
/// wasmi translates each function lazily on its first call and charges that to the caller's fuel,
/// and wasmi 2.0 cannot resume a call that runs out of fuel there (wasmi-labs/wasmi#2032: the
/// call fails, with its side effects done). With fuel handed out in slices, any real program would
/// fail at a random slice boundary. Translation is still bounded: by the size of the code, which
/// was validated in full when the module was loaded.
pub fn engine_config(config: &RuntimeConfig) -> wasmi::Config {
    let mut wasmi_config = wasmi::Config::default();
    wasmi_config.consume_fuel(true);
    wasmi_config.fuel_cost(wasmi::CustomFuelCosts {
        // wasmi's default.
        bytes_copied_per_fuel: 64,
        fuel_per_bytes_translated: 0,
        fuel_per_bytes_validated: 0,
    });
    wasmi_config.set_max_recursion_depth(config.max_recursion_depth);
    // wasmi panics if the maximum is below its (default) initial stack: keep it at least that.
    wasmi_config.set_max_stack_height(config.max_stack_bytes.max(MIN_STACK_BYTES));
    wasmi_config
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Self {
        let engine = wasmi::Engine::new(&engine_config(&config));
        let mut registry = Registry::new(&engine);
        crate::wasi::register(&mut registry);
        crate::agents::register(&mut registry);
        crate::llm::abi::register(&mut registry);
        crate::net::abi::register(&mut registry);
        Runtime {
            engine,
            registry,
            guest_memory: config.guest_memory.map(Budget::new),
            llm: None,
        }
    }

    /// Sets the LLM service instances created from now on reach through the `llm` host module
    /// (`None` unloads it for them; instances keep the service they were created with).
    pub fn set_llm(&mut self, service: Option<Arc<LlmService>>) {
        self.llm = service;
    }

    /// The LLM service, if a model is loaded.
    pub fn llm(&self) -> Option<&Arc<LlmService>> {
        self.llm.as_ref()
    }

    /// Bytes of linear memory the runtime's instances hold now, and the limit, when the runtime
    /// has a [`RuntimeConfig::guest_memory`] budget.
    pub fn guest_memory(&self) -> Option<(usize, usize)> {
        self.guest_memory.as_ref().map(|b| (b.used(), b.limit()))
    }

    pub fn engine(&self) -> &wasmi::Engine {
        &self.engine
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The registry, to add host modules of the embedder (the kernel's, or a test's) before
    /// loading modules that import them.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// What `module` needs: each capability its imports are guarded by, with when it is checked
    /// and the imports that need it (`module::name`), in capability order.
    pub fn capability_needs(&self, module: &Module) -> Vec<CapabilityNeed> {
        self.capability_needs_of(module.info())
    }

    /// [`Runtime::capability_needs`] of a module described but not loaded (`kwasm inspect`
    /// describes modules that cannot be loaded too); imports no host module provides need nothing.
    pub fn capability_needs_of(&self, info: &ModuleInfo) -> Vec<CapabilityNeed> {
        let mut needs: BTreeMap<Capability, CapabilityNeed> = BTreeMap::new();
        for import in &info.imports {
            let Some(info) = self.registry.lookup(&import.module, &import.name) else {
                continue;
            };
            let Some(capability) = info.capability else {
                continue;
            };
            let need = needs.entry(capability).or_insert_with(|| CapabilityNeed {
                capability,
                check: info.check,
                imports: Vec::new(),
            });
            // A capability needed by any load-checked import is load-checked.
            if info.check == CapCheck::AtInstantiation {
                need.check = CapCheck::AtInstantiation;
            }
            need.imports
                .push(format!("{}::{}", import.module, import.name));
        }
        needs.into_values().collect()
    }

    /// The import pre-flight of capabilities: refuses `module` when it imports a host function
    /// checked at instantiation ([`CapCheck::AtInstantiation`]: every host module but WASI) whose
    /// capability `caps` does not grant. The error lists every missing capability with the
    /// imports that need it. WASI imports never refuse a module; they answer `ERRNO_NOTCAPABLE`
    /// when called.
    pub fn check_capabilities(&self, module: &Module, caps: &CapSet) -> Result<()> {
        self.check_capabilities_of(module.name(), module.info(), caps)
    }

    /// Both pre-flights of a module described but not loaded (the package manager checks a
    /// package at install without compiling its code): every import is provided, as
    /// [`Runtime::load`] checks, and `caps` grants what the imports need, as
    /// [`Runtime::instantiate`] checks.
    pub fn check_module_info(&self, name: &str, info: &ModuleInfo, caps: &CapSet) -> Result<()> {
        self.preflight(name, info)?;
        self.check_capabilities_of(name, info, caps)
    }

    fn check_capabilities_of(&self, name: &str, info: &ModuleInfo, caps: &CapSet) -> Result<()> {
        let missing: Vec<String> = self
            .capability_needs_of(info)
            .into_iter()
            .filter(|need| need.check == CapCheck::AtInstantiation && !caps.has(need.capability))
            .map(|need| {
                format!(
                    "{} (imported by {})",
                    need.capability,
                    need.imports.join(", ")
                )
            })
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::MissingCapabilities {
                module: name.to_string(),
                missing,
            })
        }
    }

    /// Loads a module from its bytes: reads its imports and exports, refuses imports no host module
    /// provides (naming module and field), validates the code once and keeps its SHA-256.
    pub fn load(&self, bytes: &[u8], name: Option<&str>) -> Result<Module> {
        let name = name.unwrap_or("<module>").to_string();
        let info = ModuleInfo::read(bytes).map_err(|reason| Error::InvalidModule {
            module: name.clone(),
            reason,
        })?;
        self.preflight(&name, &info)?;
        let module = wasmi::Module::new(&self.engine, bytes).map_err(|e| Error::InvalidModule {
            module: name.clone(),
            reason: one_line(&e.to_string()),
        })?;
        Ok(Module::new(name, bytes, info, module))
    }

    fn preflight(&self, name: &str, info: &ModuleInfo) -> Result<()> {
        for import in &info.imports {
            let unsupported = |reason: &str| Error::UnsupportedImport {
                module: name.to_string(),
                import_module: import.module.clone(),
                field: import.name.clone(),
                reason: String::from(reason),
            };
            match import.kind {
                ImportKind::Func(_) => {
                    if self.registry.lookup(&import.module, &import.name).is_none() {
                        return Err(Error::UnknownImport {
                            module: name.to_string(),
                            import_module: import.module.clone(),
                            field: import.name.clone(),
                        });
                    }
                }
                ImportKind::Memory => {
                    return Err(unsupported("the host provides no memories to import"))
                }
                ImportKind::Table => {
                    return Err(unsupported("the host provides no tables to import"))
                }
                ImportKind::Global => {
                    return Err(unsupported("the host provides no globals to import"))
                }
                ImportKind::Tag => return Err(unsupported("exception tags are not supported")),
            }
        }
        Ok(())
    }

    /// Creates an instance of `module` with its own store and context, after the capability
    /// pre-flight ([`Runtime::check_capabilities`]) against `config.caps`.
    pub fn instantiate(&self, module: &Module, mut config: InstanceConfig) -> Result<Instance> {
        self.check_capabilities(module, &config.caps)?;
        if config.llm.is_none() {
            config.llm = self.llm.clone();
        }
        Instance::new(
            &self.engine,
            &self.registry.linker,
            module,
            config,
            self.guest_memory.clone(),
        )
    }
}

/// Collapses a multi-line engine message into one line.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !(out.is_empty() || out.ends_with('[') || word.starts_with(']')) {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}
