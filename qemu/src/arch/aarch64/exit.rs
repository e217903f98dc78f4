//! Stopping the machine with a status: semihosting `SYS_EXIT_EXTENDED` (QEMU `-semihosting` then
//! exits with that status), falling back to PSCI `SYSTEM_OFF` when semihosting is unavailable
//! (the status is lost then, which the kernel says before powering off).

use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// How to reach PSCI firmware, from the device tree's `/psci` `method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PsciConduit {
    None = 0,
    Hvc = 1,
    Smc = 2,
}

static CONDUIT: AtomicU8 = AtomicU8::new(PsciConduit::None as u8);
static EXITING: AtomicBool = AtomicBool::new(false);

pub fn set_psci_conduit(conduit: PsciConduit) {
    CONDUIT.store(conduit as u8, Ordering::Relaxed);
}

const SYS_EXIT_EXTENDED: u64 = 0x20;
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;
const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;

/// Whether [`exit`] has started (an exception then must not try semihosting again).
pub fn exiting() -> bool {
    EXITING.load(Ordering::Relaxed)
}

/// Exits QEMU with `code` (as the process exit status of `qemu-system-aarch64`).
pub fn exit(code: i32) -> ! {
    if !EXITING.swap(true, Ordering::Relaxed) {
        let block: [u64; 2] = [ADP_STOPPED_APPLICATION_EXIT, u64::from(code as u32)];
        // SAFETY: the semihosting call reads the two-word parameter block, which lives until the
        // call returns; with -semihosting QEMU exits here. Without it `hlt` is undefined, the
        // exception handler sees `exiting()` and comes back through `power_off`.
        unsafe {
            core::arch::asm!(
                "hlt #0xf000",
                inout("x0") SYS_EXIT_EXTENDED => _,
                in("x1") block.as_ptr(),
                options(nostack, readonly)
            )
        };
    }
    power_off()
}

/// PSCI SYSTEM_OFF through the conduit the device tree named; parks the core if there is none.
pub fn power_off() -> ! {
    crate::board::console_write_raw(
        b"\r\n[exit] semihosting unavailable: powering off, exit status lost\r\n",
    );
    let conduit = CONDUIT.load(Ordering::Relaxed);
    // SAFETY: PSCI SYSTEM_OFF does not return on success; on failure it returns an error code in
    // x0 and we park. The conduit came from the device tree, so the call is not undefined.
    unsafe {
        if conduit == PsciConduit::Hvc as u8 {
            core::arch::asm!("hvc #0", inout("x0") PSCI_SYSTEM_OFF => _, options(nostack));
        } else if conduit == PsciConduit::Smc as u8 {
            core::arch::asm!("smc #0", inout("x0") PSCI_SYSTEM_OFF => _, options(nostack));
        }
    }
    super::halt()
}
