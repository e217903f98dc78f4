//! The exception report: every exception is fatal in this kernel, so the vectors (vectors.s) save
//! the registers and land here; we print one readable report (class, ESR, FAR, ELR, SPSR and the
//! registers) and stop the machine with [`EXIT_EXCEPTION`]. Never a silent hang.

use core::fmt::Write;

/// QEMU's exit status after a CPU exception.
pub const EXIT_EXCEPTION: i32 = 102;

/// The registers saved by vectors.s: x0..=x30, then SP_EL0.
#[repr(C)]
pub struct Frame {
    pub x: [u64; 31],
    pub sp_el0: u64,
}

const KINDS: [&str; 4] = ["synchronous", "IRQ", "FIQ", "SError"];
const SOURCES: [&str; 4] = [
    "current EL, SP_EL0",
    "current EL, SP_ELx",
    "lower EL, AArch64",
    "lower EL, AArch32",
];

/// A name for the exception class (ESR_EL1.EC).
pub fn class_name(ec: u64) -> &'static str {
    match ec {
        0x00 => "unknown reason (undefined instruction)",
        0x01 => "trapped WFI/WFE",
        0x07 => "SVE/SIMD/FP access trap",
        0x0e => "illegal execution state",
        0x15 => "SVC instruction",
        0x16 => "HVC instruction",
        0x17 => "SMC instruction",
        0x18 => "trapped system register access",
        0x20 => "instruction abort from a lower EL",
        0x21 => "instruction abort",
        0x22 => "PC alignment fault",
        0x24 => "data abort from a lower EL",
        0x25 => "data abort",
        0x26 => "SP alignment fault",
        0x2c => "floating-point exception",
        0x2f => "SError interrupt",
        0x30 | 0x31 => "breakpoint",
        0x32 | 0x33 => "software step",
        0x34 | 0x35 => "watchpoint",
        0x3c => "BRK instruction",
        _ => "unrecognised exception class",
    }
}

fn read_sysregs() -> (u64, u64, u64, u64) {
    let (esr, far, elr, spsr): (u64, u64, u64, u64);
    // SAFETY: reading the exception syndrome registers has no side effects.
    unsafe {
        core::arch::asm!(
            "mrs {0}, esr_el1", "mrs {1}, far_el1", "mrs {2}, elr_el1", "mrs {3}, spsr_el1",
            out(reg) esr, out(reg) far, out(reg) elr, out(reg) spsr,
            options(nomem, nostack)
        )
    };
    (esr, far, elr, spsr)
}

/// Called by vectors.s on the exception stack with the vector index and the saved registers.
#[no_mangle]
extern "C" fn exception_report(kind: u64, frame: &Frame) -> ! {
    let (esr, far, elr, spsr) = read_sysregs();
    if super::exit::exiting() {
        // The semihosting `hlt` itself trapped: QEMU runs without -semihosting.
        super::exit::power_off();
    }
    let ec = (esr >> 26) & 0x3f;
    let mut out = crate::board::RawConsole;
    let source = SOURCES[(kind as usize >> 2) & 3];
    let what = KINDS[kind as usize & 3];
    let _ = write!(
        out,
        "\n!!! CPU exception: {} ({what}, from {source})\n\
         !!!   EC   {ec:#04x}\n\
         !!!   ESR  {esr:#018x}\n\
         !!!   FAR  {far:#018x}\n\
         !!!   ELR  {elr:#018x}\n\
         !!!   SPSR {spsr:#018x}   SP_EL0 {:#018x}   LR {:#018x}\n",
        class_name(ec),
        frame.sp_el0,
        frame.x[30],
    );
    for row in 0..8 {
        let _ = write!(out, "!!!  ");
        for reg in (row * 4)..(row * 4 + 4).min(30) {
            let _ = write!(out, " x{reg:<2} {:#018x}", frame.x[reg]);
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "!!! stopping the machine (exit status {EXIT_EXCEPTION})"
    );
    super::exit::exit(EXIT_EXCEPTION)
}
