// Entry point: only what Rust cannot do. Included by arch/aarch64/mod.rs through global_asm!.
//
// QEMU boots us as an arm64 Linux Image: x0 = physical address of the device tree, MMU off,
// at EL2 (virtualization=on) or EL1. We park secondary cores, drop EL2 to EL1, enable FP/SIMD,
// set up the two stacks, clear .bss, install the exception vectors, turn on the MMU with an
// identity map (Rust code may do unaligned accesses, which fault on the Device memory type that
// an MMU-off data access gets) and call kernel_main(dtb).

.section .text.boot, "ax"
.global _start
_start:
    // arm64 Image header (Documentation/arch/arm64/booting.rst).
    b       1f                      // code0: jump over the header
    .long   0                       // code1
    .quad   0x200000                // text_offset: load at RAM base + 2 MiB (= KERNEL_BASE)
    .quad   __image_size            // image_size, including .bss and stacks
    .quad   0x2                     // flags: little endian, 4 KiB pages
    .quad   0, 0, 0                 // reserved
    .ascii  "ARM\x64"               // magic
    .long   0                       // reserved (PE header offset)

1:  mov     x19, x0                 // keep the DTB address in a callee-saved register

    // Only core 0 boots; any other core parks (QEMU keeps them off under PSCI anyway).
    mrs     x1, mpidr_el1
    and     x1, x1, #0xff
    cbnz    x1, park

    mrs     x1, CurrentEL
    lsr     x1, x1, #2
    cmp     x1, #2
    b.ne    at_el1

    // EL2 -> EL1: EL1 is AArch64, no FP/SIMD or timer traps to EL2, then return to at_el1.
    mov     x1, #(1 << 31)          // HCR_EL2.RW
    msr     hcr_el2, x1
    mov     x1, #0x33ff             // CPTR_EL2: RES1 bits, TFP = 0
    msr     cptr_el2, x1
    msr     hstr_el2, xzr
    mrs     x1, cnthctl_el2
    orr     x1, x1, #3              // EL1PCTEN | EL1PCEN: EL1 may use the physical counter/timer
    msr     cnthctl_el2, x1
    msr     cntvoff_el2, xzr
    mov     x1, #0x3c5              // SPSR: D, A, I, F masked; EL1h
    msr     spsr_el2, x1
    adr     x1, at_el1
    msr     elr_el2, x1
    eret

at_el1:
    // FP/SIMD on before any Rust code (the compiler uses q registers freely).
    mov     x1, #(3 << 20)          // CPACR_EL1.FPEN = 0b11
    msr     cpacr_el1, x1
    isb

    // SP_EL1 is the exception stack; the kernel itself runs on SP_EL0 (EL1t).
    adrp    x1, __exception_stack_top
    add     x1, x1, :lo12:__exception_stack_top
    mov     sp, x1
    msr     spsel, #0
    adrp    x1, __stack_top
    add     x1, x1, :lo12:__stack_top
    mov     sp, x1

    // Clear .bss (16-byte aligned at both ends by link.ld).
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
2:  cmp     x1, x2
    b.hs    3f
    stp     xzr, xzr, [x1], #16
    b       2b

3:  adrp    x1, exception_vectors
    add     x1, x1, :lo12:exception_vectors
    msr     vbar_el1, x1

    // Identity map with 1 GiB blocks: [0, 1 GiB) is Device-nGnRnE (MMIO on virt),
    // everything above is Normal write-back memory (RAM starts at 1 GiB on virt).
    adrp    x1, BOOT_L1_TABLE
    add     x1, x1, :lo12:BOOT_L1_TABLE
    mov     x2, #0                  // index
    ldr     x3, =0x0060000000000401 // block, AF, AttrIndx 0, PXN | UXN
    ldr     x4, =0x0000000000000705 // block, AF, inner shareable, AttrIndx 1
4:  lsl     x5, x2, #30
    cmp     x2, #0
    csel    x6, x3, x4, eq
    orr     x5, x5, x6
    str     x5, [x1, x2, lsl #3]
    add     x2, x2, #1
    cmp     x2, #512
    b.lo    4b

    mov     x2, #0xff00             // MAIR: attr0 Device-nGnRnE, attr1 Normal WB RA/WA
    msr     mair_el1, x2
    mrs     x2, id_aa64mmfr0_el1
    and     x2, x2, #0x7            // PARange -> TCR.IPS
    ldr     x3, =0x00803519         // T0SZ 25 (39-bit VA), WB WA walks, inner shareable, 4K, EPD1
    orr     x3, x3, x2, lsl #32
    msr     tcr_el1, x3
    msr     ttbr0_el1, x1
    dsb     ish
    isb
    tlbi    vmalle1
    dsb     ish
    isb
    ldr     x2, =0x30d01805         // SCTLR_EL1: RES1 bits, M, C, I; alignment checks off
    msr     sctlr_el1, x2
    isb

    mov     x0, x19
    bl      kernel_main             // never returns; park if it ever does

park:
    wfe
    b       park

.section .bss.boot_page_table, "aw", @nobits
.balign 4096
BOOT_L1_TABLE:
    .space  4096
