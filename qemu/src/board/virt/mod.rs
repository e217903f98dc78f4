//! QEMU `virt` board: device discovery from the device tree and the drivers for its PL011 UART,
//! PL031 RTC and virtio-mmio entropy and network devices.

pub mod devicetree;
pub mod pl011;
pub mod pl031;
pub mod virtio_net;
pub mod virtio_rng;

use core::sync::atomic::{AtomicUsize, Ordering};

/// The PL011's address on `virt`, used until (or if) the device tree names another.
pub const DEFAULT_UART_BASE: usize = 0x0900_0000;

static UART_BASE: AtomicUsize = AtomicUsize::new(DEFAULT_UART_BASE);

/// Points the console at the UART the device tree describes.
pub fn set_uart_base(base: usize) {
    UART_BASE.store(base, Ordering::Relaxed);
}

/// The console UART.
pub fn uart() -> pl011::Pl011 {
    // SAFETY: the base is the virt default or a PL011 `reg` from the device tree, inside the
    // identity-mapped device region set up by boot.s.
    unsafe { pl011::Pl011::new(UART_BASE.load(Ordering::Relaxed)) }
}

/// Writes to the console UART without locks (for panics, exceptions and `kprint!`), `\n` -> `\r\n`.
pub fn console_write_raw(bytes: &[u8]) {
    uart().write_translated(bytes);
}

/// A `fmt::Write` over [`console_write_raw`].
pub struct RawConsole;

impl core::fmt::Write for RawConsole {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        console_write_raw(s.as_bytes());
        Ok(())
    }
}
