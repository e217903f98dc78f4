//! The ARM generic timer: the counter frequency (CNTFRQ_EL0, always read, never assumed) and the
//! physical count (CNTPCT_EL0), the kernel's monotonic clock.

/// Counter ticks per second as the firmware (QEMU) programmed CNTFRQ_EL0.
pub fn frequency() -> u64 {
    let freq: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effects; EL1 may always read it.
    unsafe { core::arch::asm!("mrs {}, cntfrq_el0", out(reg) freq, options(nomem, nostack)) };
    freq
}

/// The current physical count. The `isb` keeps the read from being hoisted above earlier code.
pub fn ticks() -> u64 {
    let count: u64;
    // SAFETY: reading CNTPCT_EL0 has no side effects; boot.s lets EL1 access it when entered at EL2.
    unsafe {
        core::arch::asm!("isb", "mrs {}, cntpct_el0", out(reg) count, options(nomem, nostack))
    };
    count
}

/// Converts `ticks` at `freq` Hz to nanoseconds without overflow.
pub fn ticks_to_ns(ticks: u64, freq: u64) -> u64 {
    if freq == 0 {
        return 0;
    }
    let ns = u128::from(ticks) * 1_000_000_000 / u128::from(freq);
    u64::try_from(ns).unwrap_or(u64::MAX)
}
