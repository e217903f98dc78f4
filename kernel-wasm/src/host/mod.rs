//! The host-function layer: every function a guest can import, registered once per [`Runtime`]
//! through a [`Registry`] that also records a catalog (module, name, capability) for the load-time
//! import pre-flight and for `kwasm inspect`.
//!
//! Data flow of a host call: the guest calls an import → wasmi calls the registered closure with a
//! `Caller<HostContext>` → the function counts the call, checks its capability, opens the guest's
//! memory through [`HostCall::memory`] (the checked [`GuestMemory`](crate::guest::GuestMemory)
//! layer) and does its work → it returns a value (e.g. an errno), a trap, or an exit request.
//!
//! Architecture invariant: host functions allocate nothing per call on their hot path and reach
//! linear memory only through `crate::guest`.
//!
//! [`Runtime`]: crate::Runtime

use alloc::collections::BTreeMap;

use wasmi::{Caller, IntoFunc, Linker};

use crate::context::HostContext;
use crate::guest::{GuestError, GuestMemory};

/// What the catalog knows about one host function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFuncInfo {
    /// The capability a guest needs to have this function do anything (`None`: always allowed).
    pub capability: Option<&'static str>,
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
        capability: Option<&'static str>,
        func: impl IntoFunc<HostContext, Params, Results>,
    ) {
        // Names are unique by construction (each host module registers its own); a duplicate is a
        // programming error caught by the unit tests that build a Runtime.
        if self.linker.func_wrap(module, name, func).is_ok() {
            self.catalog
                .entry(module)
                .or_default()
                .insert(name, HostFuncInfo { capability });
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
    fn memory(&mut self) -> Result<(GuestMemory<'_>, &mut HostContext), GuestError>;
}

impl HostCall for Caller<'_, HostContext> {
    #[inline]
    fn count(&mut self) {
        self.data_mut().stats.host_calls += 1;
    }

    #[inline]
    fn memory(&mut self) -> Result<(GuestMemory<'_>, &mut HostContext), GuestError> {
        let memory = self.data().memory.ok_or(GuestError::NoMemory)?;
        let (bytes, ctx) = memory.data_and_store_mut(self);
        Ok((GuestMemory::new(bytes), ctx))
    }
}
