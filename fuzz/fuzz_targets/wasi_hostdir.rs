//! WASI call sequences against a `HostDir` over a fresh temporary directory (`kwasm run
//! --dir`): see `wasi_seq`. Nothing outside the sandbox may change.
#![no_main]

use kernel_wasm_fuzz::wasi_seq::{run, Backend};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| run(data, Backend::Host));
