/*
 * Core behaviour probes for test_board.c: arithmetic, timed loops, loads
 * and stores anywhere, and loops with interrupts enabled.
 */
#include <stdint.h>

uint32_t prog_main(uint32_t op, uint32_t a, uint32_t b, uint32_t c);

enum {
    OP_ADD = 0,       /* return a + b */
    OP_LOOP = 1,      /* count to a with interrupts as the debugger left them */
    OP_LOAD = 2,      /* return *(uint32_t *)a */
    OP_STORE = 3,     /* *(uint32_t *)a = b */
    OP_LOOP_IRQ = 4,  /* cpsie i, then count to a */
    OP_SPIN = 5,      /* never return */
    OP_IWDG_KICK = 6, /* refresh the IWDG a times, c loop turns apart */
};

static uint32_t count_to(uint32_t n)
{
    volatile uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        k++;
    return k;
}

uint32_t prog_main(uint32_t op, uint32_t a, uint32_t b, uint32_t c)
{
    switch (op) {
    case OP_ADD:
        return a + b;
    case OP_LOOP:
        return count_to(a);
    case OP_LOAD:
        return *(volatile uint32_t *)a;
    case OP_STORE:
        *(volatile uint32_t *)a = b;
        return 0;
    case OP_LOOP_IRQ:
        __asm volatile("cpsie i" ::: "memory");
        return count_to(a);
    case OP_SPIN:
        for (;;)
            __asm volatile("" ::: "memory");
    case OP_IWDG_KICK:
        for (uint32_t i = 0; i < a; i++) {
            *(volatile uint32_t *)0x40003000u = 0xAAAAu;
            count_to(c);
        }
        return a;
    default:
        return 0xFFFFFFFFu;
    }
}
