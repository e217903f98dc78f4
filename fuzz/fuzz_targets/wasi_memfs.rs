//! WASI call sequences against `MemFs` (the kernel's file system): see `wasi_seq`.
#![no_main]

use kernel_wasm_fuzz::wasi_seq::{run, Backend};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| run(data, Backend::Mem));
