//! `agent` ABI sequences run by interpreter agents: see `kernel_wasm_fuzz::agent_seq`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| kernel_wasm_fuzz::agent_seq::run(data));
