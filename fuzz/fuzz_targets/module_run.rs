//! Module bytes → load, instantiate and run every export with small fuel and limits: see
//! `kernel_wasm_fuzz::module_run`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kernel_wasm_fuzz::module_run::run(data));
