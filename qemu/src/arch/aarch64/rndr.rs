//! The RNDR instruction (FEAT_RNG): a hardware random number, present on `-cpu max`, absent on
//! `-cpu cortex-a72`. Used only to seed the kernel's CSPRNG.

/// Whether ID_AA64ISAR0_EL1.RNDR says this CPU implements RNDR.
pub fn available() -> bool {
    let isar0: u64;
    // SAFETY: reading an ID register has no side effects.
    unsafe {
        core::arch::asm!("mrs {}, id_aa64isar0_el1", out(reg) isar0, options(nomem, nostack))
    };
    (isar0 >> 60) & 0xf >= 1
}

/// One 64-bit random number, or `None` if the hardware reported a (transient) failure.
/// Only call when [`available`] is true: otherwise the instruction is undefined.
pub fn read() -> Option<u64> {
    let value: u64;
    let ok: u64;
    // SAFETY: RNDR (s3_3_c2_c4_0) only writes the destination and NZCV; callers check `available`.
    unsafe {
        core::arch::asm!(
            "mrs {v}, s3_3_c2_c4_0",
            "cset {ok}, ne",
            v = out(reg) value,
            ok = out(reg) ok,
            options(nomem, nostack)
        )
    };
    (ok != 0).then_some(value)
}

/// Fills `buf` from RNDR, retrying transient failures a bounded number of times.
pub fn fill(buf: &mut [u8]) -> bool {
    for chunk in buf.chunks_mut(8) {
        let Some(value) = (0..16).find_map(|_| read()) else {
            return false;
        };
        chunk.copy_from_slice(&value.to_le_bytes()[..chunk.len()]);
    }
    true
}
