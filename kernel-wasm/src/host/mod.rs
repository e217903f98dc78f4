//! The host-function layer: every function a guest can import, registered once per [`Runtime`]
//! through a [`Registry`] that also records a catalog (module, name, capability) for the load-time
//! import pre-flight and for `kwasm inspect`.
//!
//! Data flow of a host call: the guest calls an import → wasmi calls the registered closure with a
//! `Caller<HostContext>` → the function counts the call, checks its capability, opens the guest's
//! memory through [`HostCall::memory`] (the checked [`GuestMemory`]
//! layer) and does its work → it returns a value (e.g. an errno), a trap, or an exit request.
//!
//! Architecture invariant: host functions allocate nothing per call on their hot path and reach
//! linear memory only through `crate::guest`.
//!
//! Capabilities are enforced twice, by design ([`CapCheck`]): the functions of WASI are checked on
//! every call (they answer `ERRNO_NOTCAPABLE`, because every libc imports `path_open` and
//! `environ_get` whether the program uses them or not), while the functions of every other host
//! module (`agent`, `llm`, ...) are also checked before instantiation: a module importing one whose
//! capability is not granted is refused with [`Error::MissingCapabilities`](crate::Error).
//!
//! [`Runtime`]: crate::Runtime

use alloc::collections::BTreeMap;

use wasmi::{Caller, IntoFunc, Linker};

use crate::caps::Capability;
use crate::context::HostContext;
use crate::guest::{GuestError, GuestMemory};

/// What the catalog knows about one host function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFuncInfo {
    /// The capability a guest needs to have this function do anything (`None`: always allowed).
    pub capability: Option<Capability>,
    /// When that capability is enforced.
    pub check: CapCheck,
}

/// When the capability of a host function is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapCheck {
    /// Only when the function is called; it then answers its module's "not capable" error. WASI
    /// functions: importing them says nothing about using them.
    AtCall,
    /// Also before instantiation: importing the function without its capability refuses the
    /// module (and the function still checks when called). Every host module but WASI.
    AtInstantiation,
}

impl CapCheck {
    /// The policy of host module `module` (see the module documentation).
    pub fn for_module(module: &str) -> CapCheck {
        if module == crate::wasi::MODULE {
            CapCheck::AtCall
        } else {
            CapCheck::AtInstantiation
        }
    }
}

/// Builds the linker and the catalog together, so neither can miss a function.
pub struct Registry {
    pub(crate) linker: Linker<HostContext>,
    /// module name → function name → info.
    pub(crate) catalog: BTreeMap<&'static str, BTreeMap<&'static str, HostFuncInfo>>,
}

impl Registry {
    pub(crate) fn new(engine: &wasmi::Engine) -> Self {
        Registry {
            linker: Linker::new(engine),
            catalog: BTreeMap::new(),
        }
    }

    /// Registers `func` as `module::name`, guarded by `capability`.
    pub fn func<Params, Results>(
        &mut self,
        module: &'static str,
        name: &'static str,
        capability: Option<Capability>,
        func: impl IntoFunc<HostContext, Params, Results>,
    ) {
        // Names are unique by construction (each host module registers its own); a duplicate is a
        // programming error caught by the unit tests that build a Runtime.
        if self.linker.func_wrap(module, name, func).is_ok() {
            self.catalog.entry(module).or_default().insert(
                name,
                HostFuncInfo {
                    capability,
                    check: CapCheck::for_module(module),
                },
            );
        }
    }

    pub fn lookup(&self, module: &str, name: &str) -> Option<&HostFuncInfo> {
        self.catalog.get(module)?.get(name)
    }
}

/// Helpers every host function uses at its start.
pub trait HostCall {
    /// Counts the call in the instance's statistics.
    fn count(&mut self);
    /// The guest's linear memory (checked view) and the host context, borrowed together.
    ///
    /// The memory is the instance's export `memory`, cached in [`HostContext::memory`] once the
    /// instance exists. A host call from the module's start function runs before that: the export
    /// is then looked up through the caller (and cached), so start functions can call host
    /// functions as under wasmtime. No such export: [`GuestError::NoMemory`].
    fn memory(&mut self) -> Result<(GuestMemory<'_>, &mut HostContext), GuestError>;
    /// Charges `fuel` for work the host did for this call: taken from the slice's fuel (the
    /// guest is preempted at its next instruction when that is spent) and, beyond it, owed to
    /// the instance's budget (`HostContext::fuel_debt`).
    fn charge(&mut self, fuel: u64);
}

impl HostCall for Caller<'_, HostContext> {
    #[inline]
    fn count(&mut self) {
        self.data_mut().stats.host_calls += 1;
    }

    #[inline]
    fn memory(&mut self) -> Result<(GuestMemory<'_>, &mut HostContext), GuestError> {
        let memory = match self.data().memory {
            Some(memory) => memory,
            None => {
                let memory = self
                    .get_export("memory")
                    .and_then(wasmi::Extern::into_memory)
                    .ok_or(GuestError::NoMemory)?;
                self.data_mut().memory = Some(memory);
                memory
            }
        };
        let (bytes, ctx) = memory.data_and_store_mut(self);
        Ok((GuestMemory::new(bytes), ctx))
    }

    fn charge(&mut self, fuel: u64) {
        // Fuel metering is always on (`runtime::engine_config`); without it there is nothing
        // to charge.
        let Ok(left) = self.get_fuel() else { return };
        let taken = fuel.min(left);
        if self.set_fuel(left - taken).is_ok() {
            let ctx = self.data_mut();
            ctx.fuel_debt = ctx.fuel_debt.saturating_add(fuel - taken);
        }
    }
}
