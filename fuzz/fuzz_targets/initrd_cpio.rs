//! The initrd reader (cpio newc): arbitrary archive bytes are read entry by entry and unpacked
//! into a small `MemFs`. Any input must give entries or an error, never a panic, and unpacking
//! must stay within the file system's budgets.
#![no_main]

use kernel_wasm::vfs::cpio::{unpack, Reader};
use kernel_wasm::vfs::Vfs;
use kernel_wasm::MemFs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for entry in Reader::new(data) {
        if entry.is_err() {
            break;
        }
    }
    let fs = MemFs::new(1 << 20, 256);
    let _ = unpack(data, &fs, fs.root());
});
