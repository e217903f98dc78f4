//! CPU-specific code. Only aarch64 exists; the rest of the kernel calls `arch::*` so a second
//! architecture would be a sibling directory, not a sprinkling of `cfg`s.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;
