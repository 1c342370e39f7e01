/* Workloads for bench_board: entered with r0 = 0, r1 = turns, r2 = a
 * scratch word in SRAM; ends in BKPT with r0 = turns done. */
    .syntax unified
    .thumb
    .section .text.start, "ax"
    .global _start
    .thumb_func
_start:
    cmp r3, #0
    bne memloop
alu:                       /* 3 instructions a turn */
    adds r0, #1
    cmp r0, r1
    bne alu
    bkpt #0
memloop:                   /* 6 instructions a turn, one load and one store */
    ldr r3, [r2]
    adds r3, #1
    str r3, [r2]
    adds r0, #1
    cmp r0, r1
    bne memloop
    bkpt #0
