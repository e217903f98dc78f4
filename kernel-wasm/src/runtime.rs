//! The runtime: one wasmi engine (fuel metering on) and the host-function registry, shared by every
//! module and instance it creates.

use alloc::string::{String, ToString};

use crate::error::{Error, Result};
use crate::host::Registry;
use crate::instance::{Instance, InstanceConfig};
use crate::module::{ImportKind, Module, ModuleInfo};

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The deepest wasm call stack allowed before a stack-overflow trap.
    pub max_recursion_depth: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            max_recursion_depth: 1024,
        }
    }
}

/// Loads modules and instantiates them against the host functions.
pub struct Runtime {
    engine: wasmi::Engine,
    registry: Registry,
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new(RuntimeConfig::default())
    }
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Self {
        let mut wasmi_config = wasmi::Config::default();
        wasmi_config.consume_fuel(true);
        wasmi_config.set_max_recursion_depth(config.max_recursion_depth);
        let engine = wasmi::Engine::new(&wasmi_config);
        let mut registry = Registry::new(&engine);
        crate::wasi::register(&mut registry);
        crate::agents::register(&mut registry);
        Runtime { engine, registry }
    }

    pub fn engine(&self) -> &wasmi::Engine {
        &self.engine
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
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

    /// Creates an instance of `module` with its own store and context.
    pub fn instantiate(&self, module: &Module, config: InstanceConfig) -> Result<Instance> {
        Instance::new(&self.engine, &self.registry.linker, module, config)
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
