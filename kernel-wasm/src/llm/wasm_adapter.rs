//! WASM adapters (the seed's M5.2): a WebAssembly module that transforms the residual stream of
//! one layer (or of every layer), run as an [`ActivationHook`] through the runtime's own
//! [`Runtime`]/[`Instance`]/`Execution`, so it is metered with fuel, limited in memory, and
//! sandboxed like any guest (no capabilities).
//!
//! The contract (see `docs/llm.md`, "WASM adapters"):
//! - exports `memory`;
//! - exports `activations: (len: i32) -> i32`, called once when the adapter is made, with `len`
//!   the model's `dim`: the address of a buffer of `len` little-endian `f32` in `memory`;
//! - exports `transform: (layer: i32, ptr: i32, len: i32) -> i32`, called after each selected
//!   layer: `ptr`/`len` are that buffer, holding the residual stream; the module rewrites it in
//!   place and returns 0, or returns another value to fail the inference with that code;
//! - may export `layer: () -> i32`, the layer it wants (0-based; -1 for every layer); without it
//!   (and without [`WasmAdapterConfig::layer`]) the last layer, i.e. the stream just before the
//!   final RMSNorm and the classifier.
//!
//! Each call gets [`WasmAdapterConfig::fuel_per_call`] fuel; a trap, running out of fuel, a
//! non-zero return or a non-finite value written back fails that forward pass with
//! [`LlmError::Adapter`] naming the adapter and the reason. The residual stream is then left as it
//! was, and the engine, the weights, and this adapter all stay usable.

use alloc::format;
use alloc::string::{String, ToString};

use super::adapter::ActivationHook;
use super::checkpoint::Config;
use super::LlmError;
use crate::caps::CapSet;
use crate::error::Error;
use crate::guest::GuestMemory;
use crate::instance::{CallOutcome, Instance, InstanceConfig};
use crate::module::ValKind;
use crate::platform::Platform;
use crate::runtime::Runtime;
use crate::values::Value;

/// How a WASM adapter runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WasmAdapterConfig {
    /// The layer to transform (overrides the module's `layer` export); `None`: the module's
    /// choice, else the last layer.
    pub layer: Option<LayerChoice>,
    /// Fuel of each `transform` call (and of the set-up calls).
    pub fuel_per_call: u64,
    /// Largest linear memory of the adapter, in bytes.
    pub max_memory: usize,
}

/// Which layers an adapter transforms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerChoice {
    One(usize),
    Every,
}

impl Default for WasmAdapterConfig {
    fn default() -> Self {
        WasmAdapterConfig {
            layer: None,
            fuel_per_call: 10_000_000,
            max_memory: 16 << 20,
        }
    }
}

/// A loaded WASM adapter: its own instance, and the buffer it exchanges activations through.
pub struct WasmAdapter {
    name: String,
    instance: Instance,
    layers: LayerChoice,
    ptr: u32,
    dim: usize,
    fuel_per_call: u64,
    calls: u64,
}

impl core::fmt::Debug for WasmAdapter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WasmAdapter")
            .field("name", &self.name)
            .field("layers", &self.layers)
            .field("fuel_per_call", &self.fuel_per_call)
            .field("calls", &self.calls)
            .finish()
    }
}

/// The instance's linear memory as a checked view (`guest.rs` does all offset arithmetic).
fn memory(instance: &mut Instance) -> Option<GuestMemory<'_>> {
    let memory = instance.context().memory?;
    Some(GuestMemory::new(memory.data_mut(instance.store_mut())))
}

fn err(name: &str, why: impl core::fmt::Display) -> LlmError {
    LlmError::Adapter(format!("{name}: {why}"))
}

impl WasmAdapter {
    /// Loads and instantiates `wasm` (without capabilities) for a model shaped like `model`,
    /// asks it for its buffer and layer, and checks both.
    pub fn new(
        runtime: &Runtime,
        platform: Platform,
        wasm: &[u8],
        name: &str,
        model: &Config,
        config: WasmAdapterConfig,
    ) -> Result<WasmAdapter, LlmError> {
        let module = runtime.load(wasm, Some(name)).map_err(|e| err(name, e))?;
        let info = module.info();
        let i32s = |n: usize| alloc::vec![ValKind::I32; n];
        let need = [
            ("transform", i32s(3), "(i32, i32, i32) -> i32"),
            ("activations", i32s(1), "(i32) -> i32"),
        ];
        for (export, params, want) in need {
            match info.export_signature(export) {
                Some(s) if s.params == params && s.results == i32s(1) => {}
                Some(s) => {
                    return Err(err(
                        name,
                        format!("export {export} has type {s}, expected {want}"),
                    ))
                }
                None => return Err(err(name, format!("no export {export}"))),
            }
        }
        let layer_export = match info.export_signature("layer") {
            None => None,
            Some(s) if s.params.is_empty() && s.results == i32s(1) => Some(()),
            Some(s) => {
                return Err(err(
                    name,
                    format!("export layer has type {s}, expected () -> i32"),
                ))
            }
        };
        let mut ic = InstanceConfig::new(platform);
        ic.caps = CapSet::none();
        ic.fuel = Some(config.fuel_per_call);
        ic.max_memory = Some(config.max_memory);
        let instance = runtime.instantiate(&module, ic).map_err(|e| err(name, e))?;
        if instance.context().memory.is_none() {
            return Err(err(name, "no exported memory"));
        }
        let dim = model.dim;
        let mut a = WasmAdapter {
            name: name.to_string(),
            instance,
            layers: LayerChoice::Every,
            ptr: 0,
            dim,
            fuel_per_call: config.fuel_per_call,
            calls: 0,
        };
        let len = i32::try_from(dim).map_err(|_| err(name, "dim too large"))?;
        a.ptr = a.call_i32("activations", &[Value::I32(len)])? as u32;
        let bytes = dim * 4;
        let ptr = a.ptr;
        let fits = memory(&mut a.instance).is_some_and(|m| m.slice(ptr, bytes as u32).is_ok());
        if !fits {
            return Err(err(
                name,
                format!(
                    "activations returned {:#x}: {bytes} bytes there are outside its memory",
                    a.ptr
                ),
            ));
        }
        a.layers = match (config.layer, layer_export) {
            (Some(l), _) => l,
            (None, Some(())) => match a.call_i32("layer", &[])? {
                -1 => LayerChoice::Every,
                l if l >= 0 => LayerChoice::One(l as usize),
                l => return Err(err(name, format!("layer returned {l}"))),
            },
            (None, None) => LayerChoice::One(model.n_layers - 1),
        };
        if let LayerChoice::One(l) = a.layers {
            if l >= model.n_layers {
                return Err(err(
                    name,
                    format!("layer {l}, the model has {} layers", model.n_layers),
                ));
            }
        }
        Ok(a)
    }

    /// The layers it transforms.
    pub fn layers(&self) -> LayerChoice {
        self.layers
    }

    /// `transform` calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// The adapter's instance (statistics: fuel used, memory).
    pub fn instance(&self) -> &Instance {
        &self.instance
    }

    /// Calls an export returning one i32, with a fresh fuel budget.
    fn call_i32(&mut self, export: &str, args: &[Value]) -> Result<i32, LlmError> {
        let left = self.instance.fuel_left();
        self.instance
            .add_fuel(self.fuel_per_call.saturating_sub(left));
        let fuel = self.fuel_per_call;
        match self.instance.call(export, args) {
            Ok(CallOutcome::Returned(v)) => match v.as_slice() {
                [Value::I32(r)] => Ok(*r),
                _ => Err(err(&self.name, format!("{export} returned {v:?}"))),
            },
            Ok(CallOutcome::Exited(code)) => Err(err(
                &self.name,
                format!("{export} exited with status {code}"),
            )),
            Err(Error::OutOfFuel { .. }) => Err(err(
                &self.name,
                format!("{export} ran out of fuel (its budget is {fuel} per call)"),
            )),
            Err(e) => Err(err(&self.name, e)),
        }
    }
}

impl ActivationHook for WasmAdapter {
    fn name(&self) -> &str {
        &self.name
    }

    fn transform(&mut self, layer: usize, x: &mut [f32]) -> Result<(), LlmError> {
        match self.layers {
            LayerChoice::One(l) if l != layer => return Ok(()),
            _ => {}
        }
        if x.len() != self.dim {
            return Err(err(&self.name, "activations of another model size"));
        }
        let (ptr, bytes) = (self.ptr, (self.dim * 4) as u32);
        let lost = || err(&self.name, "its activations buffer left its memory");
        let mut mem = memory(&mut self.instance).ok_or_else(lost)?;
        let buf = mem.slice_mut(ptr, bytes).map_err(|_| lost())?;
        for (b, v) in buf.chunks_exact_mut(4).zip(x.iter()) {
            b.copy_from_slice(&v.to_le_bytes());
        }
        self.calls += 1;
        let code = self.call_i32(
            "transform",
            &[
                Value::I32(layer as i32),
                Value::I32(ptr as i32),
                Value::I32(self.dim as i32),
            ],
        )?;
        if code != 0 {
            return Err(err(&self.name, format!("transform returned {code}")));
        }
        let lost = || err(&self.name, "its activations buffer left its memory");
        let mem = memory(&mut self.instance).ok_or_else(lost)?;
        let buf = mem.slice(ptr, bytes).map_err(|_| lost())?;
        if buf
            .chunks_exact(4)
            .any(|b| !f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite())
        {
            return Err(err(&self.name, "transform wrote a NaN or an infinity"));
        }
        for (v, b) in x.iter_mut().zip(buf.chunks_exact(4)) {
            *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        Ok(())
    }
}
