/* Entry of every flash-loader stub: R0 = control block (loader_abi.h). The
 * stub returns here when its work is done or failed, and the core halts on
 * the BKPT, which is how the host knows it is finished. */
    .syntax unified
    .thumb
    .section .text.start, "ax"
    .global _start
    .thumb_func
_start:
    bl stub_main
    bkpt #0
    b _start
