/*
 * The firmware a virtual board runs at connect for SIM_FAULT_RUNNING_FIRMWARE:
 * what a real product image does to a programmer. It starts SysTick with its
 * interrupt, and both its main loop and its SysTick handler keep variables at
 * the start of SRAM, exactly where flash loaders are put (st-flash and
 * OpenOCD load theirs at 0x20000000). A loader started without C_MASKINTS
 * gets its code or buffer overwritten by the tick handler, and once the
 * vector table is erased the next tick vectors to 0xFFFFFFFF and the core
 * locks up.
 * Cortex-M0+ instructions only, so one image runs on all four chips.
 */
    .syntax unified
    .thumb
    .section .vectors, "a"
    .word 0x20002000          /* initial SP: top of the smallest SRAM (L053) */
    .word reset + 1
    .word fault + 1           /* NMI */
    .word fault + 1           /* HardFault */
    .rept 11
    .word fault + 1
    .endr
    .word systick + 1         /* exception 15 */

    .text
    .global reset
    .thumb_func
reset:
    ldr r0, =0xE000E010       /* SYST_CSR */
    ldr r1, =999              /* a tick every 1000 core cycles */
    str r1, [r0, #4]          /* SYST_RVR */
    movs r1, #0
    str r1, [r0, #8]          /* SYST_CVR */
    movs r1, #7               /* ENABLE | TICKINT | CLKSOURCE = core clock */
    str r1, [r0]
    cpsie i
    ldr r2, =0x20000010       /* main loop counter: .bss at the start of SRAM */
loop:
    ldr r3, [r2]
    adds r3, #1
    str r3, [r2]
    b loop

    .thumb_func
systick:
    ldr r2, =0x20000040       /* tick counter and a scratch word */
    ldr r3, [r2]
    adds r3, #1
    str r3, [r2]
    str r3, [r2, #4]
    bx lr

    .thumb_func
fault:
    b fault
    .pool
