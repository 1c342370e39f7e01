/*
 * Shared pieces of the flash-controller models; see flash_common.h.
 */
#include "flash_common.h"

#include <string.h>

flash_key_result flash_key_step(flash_keyseq *k, bool accept, uint32_t key1, uint32_t key2,
                                uint32_t value, uint32_t mask)
{
    bool ok;
    if (k->dead || !accept || mask != 0xFFFFFFFFu)
        ok = false; /* dead until reset, out of turn, or a partial word */
    else
        ok = value == (k->key1_seen ? key2 : key1);
    if (!ok) {
        k->key1_seen = false;
        k->dead = true;
        return FLASH_KEY_BAD;
    }
    if (!k->key1_seen) {
        k->key1_seen = true;
        return FLASH_KEY_TAKEN;
    }
    k->key1_seen = false;
    return FLASH_KEY_OPEN;
}

bool flash_key_unlock(flash_keyseq *k, uint32_t *reg, uint32_t lock_bit, bool prereq, uint32_t key1,
                      uint32_t key2, uint32_t value, uint32_t mask)
{
    switch (flash_key_step(k, prereq && (*reg & lock_bit), key1, key2, value, mask)) {
    case FLASH_KEY_BAD:
        *reg |= lock_bit;
        return false;
    case FLASH_KEY_OPEN:
        *reg &= ~lock_bit;
        return true;
    case FLASH_KEY_TAKEN:
    default:
        return true;
    }
}

void flash_run_pd_key(flash_run_pd *pd, uint32_t key1, uint32_t key2, uint32_t value, uint32_t mask)
{
    if (mask == 0xFFFFFFFFu && value == (pd->seq == 0 ? key1 : key2)) {
        if (pd->seq == 1)
            pd->unlocked = true;
        pd->seq ^= 1;
    } else {
        pd->seq = 0;
    }
}

uint32_t flash_run_pd_acr(flash_run_pd *pd, uint32_t acr, uint32_t writable, uint32_t run_pd,
                          uint32_t value, uint32_t mask)
{
    uint32_t wm = writable & mask;
    if (!pd->unlocked)
        wm &= ~run_pd; /* RUN_PD needs the PDKEYR sequence */
    if (mask & run_pd)
        pd->unlocked = false;
    return (acr & ~wm) | (value & wm);
}

void flash_op_begin(sim_board *b, flash_op *op, uint64_t ns, flash_area area, uint32_t addr,
                    uint32_t len)
{
    sim_flash_begin_op(b, ns);
    op->pending = true;
    op->end_ps = sim_flash_busy_until(b);
    op->area = area;
    op->addr = addr;
    op->len = len;
}

bool flash_op_ended(sim_board *b, flash_op *op)
{
    if (!op->pending || sim_flash_busy(b))
        return false;
    op->pending = false;
    op->area = FLASH_AREA_NONE;
    return true;
}

static void scramble(sim_board *b, uint8_t *p, uint32_t len)
{
    for (uint32_t i = 0; i < len; i += 8) {
        uint64_t r = sim_board_random(b);
        for (uint32_t k = 0; k < 8 && i + k < len; k++)
            p[i + k] = (uint8_t)(r >> (8 * k));
    }
}

void flash_op_cut_short(sim_board *b, const flash_op *op)
{
    if (op->area == FLASH_AREA_NONE || sim_now_ps(b) >= op->end_ps)
        return;
    if (op->area == FLASH_AREA_MAIN) {
        const sim_chip *c = sim_board_chip(b);
        scramble(b, sim_flash_ptr(b) + (op->addr - c->flash_base), op->len);
        sim_flash_changed(b, op->addr, op->len);
    } else {
        uint8_t *p = sim_board_info_ptr(b, op->addr, op->len);
        if (p)
            scramble(b, p, op->len);
    }
}

bool flash_stall_if_busy(sim_board *b)
{
    if (!sim_flash_busy(b))
        return false;
    sim_stall_until(b, sim_flash_busy_until(b));
    return true;
}

void flash_erase_main(sim_board *b, uint32_t addr, uint32_t len)
{
    const sim_chip *c = sim_board_chip(b);
    memset(sim_flash_ptr(b) + (addr - c->flash_base), c->flash_erased, len);
    sim_flash_changed(b, addr, len);
}
