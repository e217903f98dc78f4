//! The one place the bench touches kernel-wasm's runtime API (`Runtime`, `Module`, `Instance`).
//!
//! It exists so the rest of the bench does not change when that API does. While the API is not on
//! main yet, every constructor here returns the reason, and the groups report kernel-wasm as
//! unavailable instead of inventing numbers. The types are uninhabited until then.

use anyhow::Result;

use crate::compute::Guest;

/// Why kernel-wasm cannot be measured in this build.
const MISSING: &str = "the kernel-wasm Runtime/Instance API is not on main yet";

/// The import the host-call guest calls: WASI `sched_yield` until kernel-wasm exposes a dedicated
/// trivial host function (capability-checked like every other) for this bench.
pub const HOSTCALL_IMPORT: (&str, &str) = ("wasi_snapshot_preview1", "sched_yield");
pub const HOSTCALL_NOTE: &str = "kernel-wasm is measured through WASI `sched_yield` (a trivial host function) \
                                 until it exposes a dedicated bench function; raw wasmi/wasmtime use a bare \
                                 `func_wrap` returning 0.";

enum Never {}

/// The workloads module instantiated through kernel-wasm with fuel on and a huge budget.
pub struct ComputeGuest(Never);

impl ComputeGuest {
    pub fn new(_bytes: &[u8]) -> Result<Self, String> {
        Err(MISSING.into())
    }
}

impl Guest for ComputeGuest {
    fn call(&mut self, _export: &str, _arg: Option<u32>) -> Result<u32> {
        match self.0 {}
    }
}

/// The host-call guest instantiated through kernel-wasm.
pub struct HostcallGuest(Never);

impl HostcallGuest {
    pub fn new(_bytes: &[u8]) -> Result<Self, String> {
        Err(MISSING.into())
    }

    /// Runs the guest's `run(calls)` and returns its checksum.
    pub fn run(&mut self, _calls: u32) -> Result<u32> {
        match self.0 {}
    }
}

/// The WASI file guest, instantiated through kernel-wasm with a `MemFs` preopened as fd 3.
pub struct WasiGuest(Never);

impl WasiGuest {
    pub fn new(_bytes: &[u8], _total_bytes: u64) -> Result<Self, String> {
        Err(MISSING.into())
    }

    pub fn write_blocks(&mut self, _blocks: u32) -> Result<u32> {
        match self.0 {}
    }

    pub fn open_close(&mut self, _n: u32) -> Result<u32> {
        match self.0 {}
    }

    /// Hash of the written file, read back from the `MemFs`.
    pub fn file_hash(&self) -> Result<u32> {
        match self.0 {}
    }
}

/// `Ok` when [`load_instantiate`] can run.
pub fn startup_available() -> Result<(), String> {
    Err(MISSING.into())
}

/// `Runtime::load` + `Runtime::instantiate` of a WASI command with a fresh in-memory platform.
pub fn load_instantiate(_bytes: &[u8]) -> Result<u32> {
    anyhow::bail!(MISSING)
}
