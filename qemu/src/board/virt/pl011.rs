//! ARM PL011 UART: polled byte output and input. QEMU needs no baud-rate setup.

use core::ptr::{read_volatile, write_volatile};

const DR: usize = 0x00;
const FR: usize = 0x18;
const FR_RXFE: u32 = 1 << 4;
const FR_TXFF: u32 = 1 << 5;

#[derive(Clone, Copy)]
pub struct Pl011 {
    base: usize,
}

impl Pl011 {
    /// # Safety
    /// `base` must be the address of a PL011's registers, mapped as device memory.
    pub const unsafe fn new(base: usize) -> Self {
        Pl011 { base }
    }

    fn read_reg(&self, offset: usize) -> u32 {
        // SAFETY: `new`'s contract: the register block is mapped device memory.
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn write_reg(&self, offset: usize, value: u32) {
        // SAFETY: `new`'s contract: the register block is mapped device memory.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }

    pub fn write_byte(&self, byte: u8) {
        while self.read_reg(FR) & FR_TXFF != 0 {
            core::hint::spin_loop();
        }
        self.write_reg(DR, u32::from(byte));
    }

    /// Writes `bytes`, turning each `\n` into `\r\n` for the terminal.
    pub fn write_translated(&self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(b);
        }
    }

    /// A received byte, if one is waiting.
    pub fn try_read(&self) -> Option<u8> {
        (self.read_reg(FR) & FR_RXFE == 0).then(|| (self.read_reg(DR) & 0xff) as u8)
    }
}
