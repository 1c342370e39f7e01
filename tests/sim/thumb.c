#include "thumb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

uint32_t rd32(sim_board *b, uint32_t addr)
{
    uint32_t v = 0;
    assert_int_equal(sim_board_read32(b, addr, &v), SIM_OK);
    return v;
}

void wr32(sim_board *b, uint32_t addr, uint32_t v)
{
    assert_int_equal(sim_board_write32(b, addr, v), SIM_OK);
}

void thumb_halt(sim_board *b)
{
    wr32(b, DHCSR_ADDR, DHCSR_KEY | DHCSR_C_DEBUGEN | DHCSR_C_HALT);
    assert_int_equal(sim_board_advance(b, 1000), SIM_OK);
    assert_true(rd32(b, DHCSR_ADDR) & DHCSR_S_HALT);
}

void thumb_load(sim_board *b, const unsigned char *code, size_t len)
{
    const sim_chip *c = sim_board_chip(b);
    size_t padded = (len + 3) & ~(size_t)3;
    unsigned char buf[4096] = {0};
    assert_true(padded <= sizeof buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = code[i];
    assert_int_equal(sim_board_mem_write(b, c->sram_base, buf, padded, 4, NULL), SIM_OK);
}

bool thumb_run(sim_board *b, const uint32_t args[4], bool masked, uint64_t budget_ns, uint32_t *ret)
{
    const sim_chip *c = sim_board_chip(b);
    thumb_halt(b);
    for (unsigned r = 0; r < 4; r++)
        assert_int_equal(sim_board_reg_write(b, r, args[r]), SIM_OK);
    assert_int_equal(sim_board_reg_write(b, 13, c->sram_base + c->sram_size), SIM_OK);
    assert_int_equal(sim_board_reg_write(b, 15, c->sram_base), SIM_OK);
    assert_int_equal(sim_board_reg_write(b, 16, 1u << 24), SIM_OK); /* Thumb state */
    uint32_t run = DHCSR_KEY | DHCSR_C_DEBUGEN | (masked ? DHCSR_C_MASKINTS : 0);
    wr32(b, DHCSR_ADDR, run);
    uint64_t start = sim_board_now_ns(b);
    while (!sim_board_halted(b) && sim_board_now_ns(b) - start < budget_ns) {
        if (sim_board_advance(b, 1000000) != SIM_OK)
            return false;
    }
    if (!sim_board_halted(b))
        return false;
    assert_int_equal(sim_board_reg_read(b, 0, ret), SIM_OK);
    return true;
}

uint32_t thumb_call(sim_board *b, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3)
{
    const uint32_t args[4] = {a0, a1, a2, a3};
    uint32_t ret = 0;
    assert_true(thumb_run(b, args, true, 10ull * 1000 * 1000 * 1000, &ret));
    return ret;
}
