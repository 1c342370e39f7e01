/* Entry of every test program: the host sets r0-r3 and SP, starts the core
 * here, and reads r0 back once the core halts on the BKPT. */
    .syntax unified
    .thumb
    .section .text.start, "ax"
    .global _start
    .thumb_func
_start:
    bl prog_main
    bkpt #0
    b _start
