//! `.wap` package bytes: reading and verifying (archive, signature, digests, manifest) never
//! panics, against a trust store holding the key the seeds are signed with; a package that
//! verifies installs into a small `MemFs` and loads back.
#![no_main]

use kernel_wasm::package::verify::verify;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let trust = kernel_wasm_fuzz::trust();
    for allow_unsigned in [false, true] {
        if let Ok(verified) = verify(data, &trust, allow_unsigned) {
            let _ = verified.name();
            let _ = verified.content_size();
        }
    }
    kernel_wasm_fuzz::install(data, &trust);
});
