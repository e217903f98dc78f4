//! `manifest.toml` text: parsing never panics, and a manifest that parses applies to an
//! instance configuration, and its capabilities print as a list that parses back to them.
#![no_main]

use kernel_wasm::{InstanceConfig, Manifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(manifest) = Manifest::from_bytes(data) else {
        return;
    };
    let mut config = InstanceConfig::new(kernel_wasm_fuzz::platform());
    manifest.apply_to(&mut config);
    // The capabilities print as a list that parses back to them (an empty set prints "none").
    let caps = config.caps.to_string();
    let parsed = if caps == "none" {
        kernel_wasm::CapSet::default()
    } else {
        kernel_wasm::CapSet::parse(&caps).unwrap_or_else(|e| panic!("{caps:?} does not parse: {e}"))
    };
    assert_eq!(
        parsed.to_string(),
        caps,
        "the capabilities do not print back the same"
    );
});
