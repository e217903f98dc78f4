//! aarch64 CPU support: boot entry and exception vectors (assembly), the exception report, the
//! generic timer, RNDR, and leaving QEMU through semihosting or PSCI.

pub mod exceptions;
pub mod exit;
pub mod rndr;
pub mod timer;

core::arch::global_asm!(include_str!("boot.s"));
core::arch::global_asm!(include_str!("vectors.s"));

/// Parks this core for good (used only after the machine could not be stopped).
pub fn halt() -> ! {
    loop {
        // SAFETY: `wfe` only waits for an event; it touches no memory.
        unsafe { core::arch::asm!("wfe", options(nomem, nostack)) };
    }
}
