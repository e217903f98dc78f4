//! Board glue. Only QEMU `virt` exists; everything outside `board` uses these re-exports.

pub mod virt;
pub use virt::{console_write_raw, RawConsole};
