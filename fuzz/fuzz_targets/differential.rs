//! wasm-smith modules on kernel-wasm and on wasmtime: validity, traps and results compared (see
//! `kernel_wasm_fuzz::differential`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kernel_wasm_fuzz::differential::run(data));
