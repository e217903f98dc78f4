//! The one place the bench touches kernel-wasm's runtime API (`Runtime`, `Module`, `Instance`).
//!
//! It exists so the rest of the bench does not change when that API does. Every constructor first
//! loads its module through `Runtime::load`; when kernel-wasm cannot take the module yet (an import
//! its WASI layer does not provide), the constructor returns that reason and the group reports
//! kernel-wasm as unavailable for the case instead of inventing a number. Such cases light up by
//! themselves as the WASI layer grows.

use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use kernel_wasm::vfs::{NodeKind, Vfs};
use kernel_wasm::wasi::Preopen;
use kernel_wasm::{
    CallOutcome, Console, Instance, InstanceConfig, MemFs, Platform, Runtime, RuntimeConfig,
    Stream, Value,
};

use crate::compute::Guest;

/// The import the host-call guest calls: WASI `environ_sizes_get(*count, *size) -> errno` on an
/// instance with an empty environment, a trivial host function every runtime can provide with the
/// same work (two zero `u32`s written to linear memory). On kernel-wasm it includes the `env`
/// capability check, so the ratio measures the whole kernel-wasm layer around a host call.
pub const HOSTCALL_IMPORT: (&str, &str) = ("wasi_snapshot_preview1", "environ_sizes_get");
pub const HOSTCALL_NOTE: &str = "kernel-wasm runs its own WASI `environ_sizes_get` (call counting, the `env` \
                                 capability check, checked guest memory); raw wasmi and wasmtime run a \
                                 `func_wrap` doing the same work (two zero `u32`s written to memory).";

/// A console that drops output: the guests here print nothing worth keeping.
struct NullConsole;

impl Console for NullConsole {
    fn write(&self, _stream: Stream, _bytes: &[u8]) {}
    fn read(&self, _buf: &mut [u8]) -> usize {
        0
    }
}

/// The hosted platform with a silent console and `vfs` as the system file system.
fn platform(vfs: Arc<dyn Vfs>) -> Platform {
    let mut platform = kernel_wasm::hosted::platform_with_console(Arc::new(NullConsole));
    platform.vfs = vfs;
    platform
}

// `Platform` takes `Arc<dyn Vfs>` and `MemFs` is not `Send`/`Sync`; the bench is single-threaded.
#[allow(clippy::arc_with_non_send_sync)]
pub fn default_platform() -> Platform {
    platform(Arc::new(MemFs::new(1 << 20, 64)))
}

/// Fuel for the compute instance: metering on, a budget no workload gets near.
const HUGE_FUEL: u64 = 1 << 60;

fn load_instance(
    bytes: &[u8],
    name: &str,
    config: InstanceConfig,
) -> Result<(Runtime, Instance), String> {
    let rt = Runtime::new(RuntimeConfig::default());
    let module = rt.load(bytes, Some(name)).map_err(|e| e.to_string())?;
    let instance = rt.instantiate(&module, config).map_err(|e| e.to_string())?;
    Ok((rt, instance))
}

/// The single `i32` a call returned, as `u32`.
fn returned_u32(export: &str, outcome: CallOutcome) -> Result<u32> {
    match outcome {
        CallOutcome::Returned(values) => match values.as_slice() {
            [Value::I32(v)] => Ok(*v as u32),
            other => bail!("{export} returned {other:?}, expected one i32"),
        },
        CallOutcome::Exited(code) => bail!("{export} exited with {code}"),
    }
}

/// The workloads module instantiated through kernel-wasm with fuel on and a huge budget, default
/// slice size.
pub struct ComputeGuest {
    _rt: Runtime,
    instance: Instance,
}

impl ComputeGuest {
    pub fn new(bytes: &[u8]) -> Result<Self, String> {
        let config = InstanceConfig {
            fuel: Some(HUGE_FUEL),
            ..InstanceConfig::new(default_platform())
        };
        let (rt, instance) = load_instance(bytes, "workloads", config)?;
        Ok(ComputeGuest { _rt: rt, instance })
    }
}

impl Guest for ComputeGuest {
    fn call(&mut self, export: &str, arg: Option<u32>) -> Result<u32> {
        let args: Vec<Value> = arg.map(|a| Value::I32(a as i32)).into_iter().collect();
        let outcome = self
            .instance
            .call(export, &args)
            .map_err(|e| anyhow!("{e}"))?;
        returned_u32(export, outcome)
    }
}

/// The host-call guest instantiated through kernel-wasm (the default capabilities include `env`,
/// which `environ_sizes_get` checks on every call).
pub struct HostcallGuest {
    _rt: Runtime,
    instance: Instance,
}

impl HostcallGuest {
    pub fn new(bytes: &[u8]) -> Result<Self, String> {
        let config = InstanceConfig {
            fuel: Some(HUGE_FUEL),
            ..InstanceConfig::new(default_platform())
        };
        let (rt, instance) = load_instance(bytes, "hostcall", config)?;
        Ok(HostcallGuest { _rt: rt, instance })
    }

    /// Runs the guest's `run(calls)` and returns its checksum.
    pub fn run(&mut self, calls: u32) -> Result<u32> {
        let outcome = self
            .instance
            .call("run", &[Value::I32(calls as i32)])
            .map_err(|e| anyhow!("{e}"))?;
        returned_u32("run", outcome)
    }

    /// Host calls kernel-wasm counted so far (cross-check that the calls really crossed the layer).
    pub fn host_calls(&self) -> u64 {
        self.instance.stats().host_calls
    }
}

/// The WASI file guest, instantiated through kernel-wasm with a `MemFs` as the system file system,
/// whose root is preopened as `/` at fd 3 (where the guest expects it).
pub struct WasiGuest {
    _rt: Runtime,
    instance: Instance,
    fs: Arc<MemFs>,
}

impl WasiGuest {
    // See `default_platform` on the `Arc`.
    #[allow(clippy::arc_with_non_send_sync)]
    pub fn new(bytes: &[u8], total_bytes: u64) -> Result<Self, String> {
        let fs = Arc::new(crate::wasi::memfs(total_bytes));
        let vfs: Arc<dyn Vfs> = fs.clone();
        let config = InstanceConfig {
            fuel: Some(HUGE_FUEL),
            preopens: vec![Preopen::root("/", vfs.clone())],
            ..InstanceConfig::new(platform(vfs))
        };
        let (rt, mut instance) = load_instance(bytes, "wasi_write", config)?;
        instance.call("fill", &[]).map_err(|e| e.to_string())?;
        // Probe: an errno here (e.g. the preopen missing) is a reason, not a figure.
        match instance
            .call("write_blocks", &[Value::I32(0)])
            .map_err(|e| e.to_string())?
        {
            CallOutcome::Returned(v) if v == [Value::I32(0)] => {}
            other => {
                return Err(format!(
                    "opening {} under fd 3 failed ({other:?}; negative = -errno)",
                    crate::wasi::FILE
                ))
            }
        }
        Ok(WasiGuest {
            _rt: rt,
            instance,
            fs,
        })
    }

    pub fn write_blocks(&mut self, blocks: u32) -> Result<u32> {
        let outcome = self
            .instance
            .call("write_blocks", &[Value::I32(blocks as i32)])
            .map_err(|e| anyhow!("{e}"))?;
        returned_u32("write_blocks", outcome)
    }

    pub fn open_close(&mut self, n: u32) -> Result<u32> {
        let outcome = self
            .instance
            .call("open_close", &[Value::I32(n as i32)])
            .map_err(|e| anyhow!("{e}"))?;
        returned_u32("open_close", outcome)
    }

    /// Hash of the written file, read back from the `MemFs`.
    pub fn file_hash(&self) -> Result<u32> {
        let node = self
            .fs
            .lookup(self.fs.root(), crate::wasi::FILE)
            .map_err(|e| anyhow!("{e}"))?;
        let kind = self.fs.stat(node).map_err(|e| anyhow!("{e}"))?.kind;
        if kind != NodeKind::File {
            bail!("{} is not a file", crate::wasi::FILE);
        }
        crate::wasi::file_hash(&*self.fs, node)
    }
}

/// `Ok` when kernel-wasm accepts the module (its imports pass the load-time pre-flight), else why not.
pub fn startup_available(bytes: &[u8]) -> Result<(), String> {
    Runtime::new(RuntimeConfig::default())
        .load(bytes, Some("startup"))
        .map(drop)
        .map_err(|e| e.to_string())
}

/// `Runtime::load` + `Runtime::instantiate` of a WASI command with a fresh in-memory platform; the
/// runtime and platform are created outside the timed region, as the kernel keeps them.
pub fn load_instantiate(rt: &Runtime, platform: &Platform, bytes: &[u8]) -> Result<u32> {
    let module = rt
        .load(bytes, Some("startup"))
        .map_err(|e| anyhow!("{e}"))?;
    let instance = rt
        .instantiate(&module, InstanceConfig::new(platform.clone()))
        .map_err(|e| anyhow!("{e}"))?;
    Ok(u32::from(instance.has_export("_start")))
}
