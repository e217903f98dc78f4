//! ARM PL031 real-time clock: seconds since the Unix epoch (QEMU sets it from the host clock).

/// Reads the RTC's data register.
///
/// # Safety
/// `base` must be the address of a PL031's registers, mapped as device memory.
pub unsafe fn read_seconds(base: usize) -> u32 {
    // SAFETY: per the contract; RTCDR (offset 0) is a read-only 32-bit register.
    unsafe { core::ptr::read_volatile(base as *const u32) }
}
