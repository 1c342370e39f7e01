/*
 * A flash loader for the STM32F1 FPEC, written for these tests in the shape
 * st-flash 1.7.0 uses (S17 flash_loader.c, flashloaders/stm32f0.s
 * behaviour): loaded at the start of SRAM, r0 = source buffer in SRAM,
 * r1 = flash destination, r2 = byte count, r3 = flash register offset.
 * It sets PG, copies half-words waiting for BSY after each, stops early on
 * PGERR/WRPRTERR, decrements r2 by 2 per half-word (st-flash checks
 * -7 <= r2 <= 0 afterwards), clears PG and ends on BKPT.
 */
    .syntax unified
    .thumb
    .section .text.start, "ax"
    .global _start
    .thumb_func
_start:
    ldr r7, =0x40022000     @ FLASH registers (RM0008 3.4)
    adds r7, r7, r3
    movs r4, #1
    str r4, [r7, #0x10]     @ CR = PG
copy:
    ldrh r4, [r0]
    strh r4, [r1]
    adds r0, r0, #2
    adds r1, r1, #2
wait:
    ldr r4, [r7, #0x0C]     @ SR
    movs r6, #1
    tst r4, r6              @ BSY
    bne wait
    movs r6, #0x14
    tst r4, r6              @ PGERR | WRPRTERR
    bne done
    subs r2, r2, #2
    bgt copy
done:
    ldr r4, [r7, #0x10]
    movs r6, #1
    bics r4, r4, r6
    str r4, [r7, #0x10]     @ CR &= ~PG
    bkpt #0
    b done
    .ltorg
