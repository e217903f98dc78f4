// Exception vector table. Every exception is fatal in this kernel (no interrupts are enabled),
// so each entry saves the general registers on the exception stack (SP_EL1) and calls
// exception_report(kind, frame) in Rust, which prints a report and stops the machine.

.macro VECTOR kind
    .balign 0x80
    sub     sp, sp, #(32 * 8)
    stp     x0, x1, [sp, #(0 * 8)]
    mov     x0, #\kind
    b       exception_common
.endm

.section .text.vectors, "ax"
.balign 0x800
.global exception_vectors
exception_vectors:
    // kind = 4 * source + type; source: 0 current EL SP0, 1 current EL SPx, 2 lower EL64,
    // 3 lower EL32; type: 0 synchronous, 1 IRQ, 2 FIQ, 3 SError.
    VECTOR 0
    VECTOR 1
    VECTOR 2
    VECTOR 3
    VECTOR 4
    VECTOR 5
    VECTOR 6
    VECTOR 7
    VECTOR 8
    VECTOR 9
    VECTOR 10
    VECTOR 11
    VECTOR 12
    VECTOR 13
    VECTOR 14
    VECTOR 15

exception_common:
    stp     x2, x3, [sp, #(2 * 8)]
    stp     x4, x5, [sp, #(4 * 8)]
    stp     x6, x7, [sp, #(6 * 8)]
    stp     x8, x9, [sp, #(8 * 8)]
    stp     x10, x11, [sp, #(10 * 8)]
    stp     x12, x13, [sp, #(12 * 8)]
    stp     x14, x15, [sp, #(14 * 8)]
    stp     x16, x17, [sp, #(16 * 8)]
    stp     x18, x19, [sp, #(18 * 8)]
    stp     x20, x21, [sp, #(20 * 8)]
    stp     x22, x23, [sp, #(22 * 8)]
    stp     x24, x25, [sp, #(24 * 8)]
    stp     x26, x27, [sp, #(26 * 8)]
    stp     x28, x29, [sp, #(28 * 8)]
    mrs     x1, sp_el0
    stp     x30, x1, [sp, #(30 * 8)]
    mov     x1, sp
    bl      exception_report        // -> !
1:  wfe
    b       1b
