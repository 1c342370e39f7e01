/*
 * The bus of the virtual board as both masters see it (the core's loads and
 * stores, the debugger's AHB-AP accesses), and the debugger's entry points:
 * memory, core registers, NRST, power, preloading.
 */
#define _GNU_SOURCE
#include "board_state.h"

#include <stdlib.h>
#include <string.h>

/* ---- the bus, as both masters see it ------------------------------------- */

/* addr..addr+width-1 inside [base, base+size), without 32-bit wrap-around. */
static bool within(uint32_t addr, unsigned width, uint32_t base, uint32_t size)
{
    return size >= width && addr >= base && addr - base <= size - width;
}

/* The F7's ITCM alias of main flash (sim_chip.itcm_flash_base). */
static bool in_itcm_alias(const sim_chip *c, uint32_t addr, unsigned width)
{
    return c->itcm_flash_base && within(addr, width, c->itcm_flash_base, c->flash_size);
}

/* Find what addr..addr+width-1 is; *mem points at its bytes for memories. */
enum region_kind board_decode(sim_board *b, uint32_t addr, unsigned width, uint8_t **mem,
                              uint32_t *flash_addr)
{
    const sim_chip *c = b->chip;
    if (within(addr, width, c->flash_base, c->flash_size)) {
        *mem = b->flash + (addr - c->flash_base);
        *flash_addr = addr;
        return R_FLASH;
    }
    if (in_itcm_alias(c, addr, width)) {
        *mem = b->flash + (addr - c->itcm_flash_base);
        *flash_addr = c->flash_base + (addr - c->itcm_flash_base);
        return R_FLASH;
    }
    for (int i = 0; i < 4 && c->ram[i].size; i++)
        if (within(addr, width, c->ram[i].base, c->ram[i].size)) {
            *mem = b->ram[i] + (addr - c->ram[i].base);
            return R_SRAM;
        }
    if (!c->boot_base && within(addr, width, 0, c->flash_size)) { /* boot alias of main flash */
        *mem = b->flash + addr;
        *flash_addr = c->flash_base + addr;
        return R_FLASH;
    }
    if (within(addr, width, c->sram_base, c->sram_size + c->sram2_size)) {
        *mem = b->sram + (addr - c->sram_base);
        return R_SRAM;
    }
    if (c->sram2_size && within(addr, width, c->sram2_base, c->sram2_size)) {
        *mem = b->sram + c->sram_size + (addr - c->sram2_base);
        return R_SRAM;
    }
    for (int i = 0; i < 3 && c->sys[i].size; i++)
        if (within(addr, width, c->sys[i].base, c->sys[i].size)) {
            *mem = b->sys[i] + (addr - c->sys[i].base);
            *flash_addr = addr;
            return R_SYS;
        }
    if (c->eeprom_size && within(addr, width, c->eeprom_base, c->eeprom_size)) {
        *mem = b->eeprom + (addr - c->eeprom_base);
        *flash_addr = addr;
        return R_EEPROM;
    }
    if (within(addr, width, PERIPH_BASE, PERIPH_SIZE))
        return R_PERIPH;
    if (within(addr, width, PPB_BASE, PPB_SIZE))
        return R_PPB;
    return R_NONE;
}

static uint32_t lane_mask(uint32_t addr, unsigned width)
{
    uint32_t m = width == 4 ? 0xFFFFFFFFu : width == 2 ? 0xFFFFu : 0xFFu;
    return m << (8 * (addr & 3));
}

bool board_device_read(sim_board *b, enum region_kind k, uint32_t addr, unsigned width,
                       bus_master who, uint32_t *out)
{
    bool ok = true;
    uint32_t word =
        k == R_PERIPH ? periph_read(b, addr & ~3u, who, &ok) : scs_read(b, addr & ~3u, who, &ok);
    uint32_t shift = 8 * (addr & 3);
    *out = (word & lane_mask(addr, width)) >> shift;
    return ok;
}

bool board_device_write(sim_board *b, enum region_kind k, uint32_t addr, unsigned width,
                        bus_master who, uint32_t v)
{
    bool ok = true;
    uint32_t mask = lane_mask(addr, width);
    uint32_t val = (v << (8 * (addr & 3))) & mask;
    if (k == R_PERIPH)
        periph_write(b, addr & ~3u, val, mask, who, &ok);
    else
        scs_write(b, addr & ~3u, val, mask, who, &ok);
    return ok;
}

bool board_bus_read(sim_board *b, bus_master who, uint32_t addr, unsigned width, uint32_t *out)
{
    uint8_t *mem = NULL;
    uint32_t faddr = 0;
    if (addr & (width - 1))
        return false; /* the AHB-AP and our stubs never issue unaligned accesses */
    enum region_kind k = board_decode(b, addr, width, &mem, &faddr);
    switch (k) {
    case R_NONE:
        return false;
    case R_FLASH:
        board_flash_read_wait(b, faddr); /* RM0008 3.3.3: reads stall until BSY clears */
        if (who == BUS_DEBUG && b->fops->read_protected(b, b->fstate))
            return false;
        if (b->fops->read_check && !b->fops->read_check(b, b->fstate, who, faddr, width))
            return false;
        /* What the flash interface delivers: garbled when HCLK is too fast
         * for FLASH_ACR.LATENCY (clock.c). */
        mem = b->flash_view + (mem - b->flash);
        /* fall through */
    case R_SRAM:
    case R_SYS:
    case R_EEPROM:
        *out = 0;
        memcpy(out, mem, width); /* host and target are both little-endian */
        return true;
    case R_PERIPH:
    case R_PPB:
        return board_device_read(b, k, addr, width, who, out);
    }
    return false;
}

bool board_bus_write(sim_board *b, bus_master who, uint32_t addr, unsigned width, uint32_t v)
{
    uint8_t *mem = NULL;
    uint32_t faddr = 0;
    if (addr & (width - 1))
        return false;
    enum region_kind k = board_decode(b, addr, width, &mem, &faddr);
    switch (k) {
    case R_NONE:
        return false;
    case R_FLASH:
        /* The ITCM interface reads main flash; programming goes through
         * AXIM at flash_base (RM0385 2.1, 3.3.2: the ITCM path is for
         * instruction fetches and reads). A store through it is answered
         * with a bus error rather than ignored [U: the stricter of the
         * two]. */
        if (in_itcm_alias(b->chip, addr, width))
            return false;
        /* fall through */
    case R_SYS:
    case R_EEPROM:
        return b->fops->mem_write(b, b->fstate, who, faddr, v, width);
    case R_SRAM:
        memcpy(mem, &v, width);
        if (who == BUS_DEBUG)
            board_mark_dirty(b, addr, width);
        return true;
    case R_PERIPH:
    case R_PPB:
        return board_device_write(b, k, addr, width, who, v);
    }
    return false;
}

/* ---- the debugger's entry points ------------------------------------------ */

static sim_err link_state(const sim_board *b)
{
    if (!b->powered)
        return SIM_E_NO_POWER;
    /* SIM_FAULT_SWD_LOCKED: firmware takes the SWD pins (or sleeps) as soon
     * as it runs; only a core held in reset or halted keeps the port. */
    if (b->fault_swd_locked && !b->nrst && !b->halted && b->now_ps > 0 && !(b->dhcsr_ctrl & 1))
        return SIM_E_NO_LINK;
    return SIM_OK;
}

sim_err sim_board_mem_read(sim_board *b, uint32_t addr, void *buf, size_t len, unsigned width,
                           uint32_t *fault_addr)
{
    sim_err e = link_state(b);
    if (e)
        return e;
    if ((width != 1 && width != 2 && width != 4) || len % width)
        return SIM_E_ARG;
    uint8_t *out = buf;
    for (size_t i = 0; i < len; i += width) {
        uint32_t v = 0;
        if (!board_bus_read(b, BUS_DEBUG, addr + (uint32_t)i, width, &v)) {
            if (fault_addr)
                *fault_addr = addr + (uint32_t)i;
            return SIM_E_BUS;
        }
        memcpy(out + i, &v, width);
    }
    return SIM_OK;
}

sim_err sim_board_mem_write(sim_board *b, uint32_t addr, const void *buf, size_t len,
                            unsigned width, uint32_t *fault_addr)
{
    sim_err e = link_state(b);
    if (e)
        return e;
    if ((width != 1 && width != 2 && width != 4) || len % width)
        return SIM_E_ARG;
    const uint8_t *in = buf;
    for (size_t i = 0; i < len; i += width) {
        uint32_t v = 0;
        memcpy(&v, in + i, width);
        if (!board_bus_write(b, BUS_DEBUG, addr + (uint32_t)i, width, v)) {
            if (fault_addr)
                *fault_addr = addr + (uint32_t)i;
            return SIM_E_BUS;
        }
    }
    return SIM_OK;
}

sim_err sim_board_read32(sim_board *b, uint32_t addr, uint32_t *v)
{
    return sim_board_mem_read(b, addr, v, 4, 4, NULL);
}

sim_err sim_board_write32(sim_board *b, uint32_t addr, uint32_t v)
{
    return sim_board_mem_write(b, addr, &v, 4, 4, NULL);
}

sim_err sim_board_reg_read(sim_board *b, unsigned regsel, uint32_t *v)
{
    sim_err e = link_state(b);
    if (e)
        return e;
    if (!b->halted)
        return SIM_E_NOT_HALTED;
    return board_core_reg_read(b, regsel, v);
}

sim_err sim_board_reg_write(sim_board *b, unsigned regsel, uint32_t v)
{
    sim_err e = link_state(b);
    if (e)
        return e;
    if (!b->halted)
        return SIM_E_NOT_HALTED;
    return board_core_reg_write(b, regsel, v);
}

void sim_board_nrst(sim_board *b, bool asserted)
{
    if (!b->powered || asserted == b->nrst)
        return;
    systick_snapshot(b);
    b->nrst = asserted;
    if (asserted) {
        /* Held in reset: the core stops; the debug port stays reachable. */
        b->halted = false;
        b->locked_up = false;
    } else {
        board_core_reset(b, false, RCC_PINRSTF);
    }
}

void sim_board_power(sim_board *b, bool on)
{
    if (on == b->powered)
        return;
    b->powered = on;
    if (!on) {
        /* SRAM does not survive without supply: leave noise. */
        size_t n = b->chip->sram_size + b->chip->sram2_size;
        for (size_t i = 0; i + 8 <= n; i += 8) {
            uint64_t r = sim_board_random(b);
            memcpy(b->sram + i, &r, 8);
        }
        board_mark_dirty(b, b->chip->sram_base, (uint32_t)n);
        for (int k = 0; k < 4 && b->chip->ram[k].size; k++) {
            for (size_t i = 0; i + 8 <= b->chip->ram[k].size; i += 8) {
                uint64_t r = sim_board_random(b);
                memcpy(b->ram[k] + i, &r, 8);
            }
            board_mark_dirty(b, b->chip->ram[k].base, b->chip->ram[k].size);
        }
        b->flash_busy_until = b->now_ps;
        return;
    }
    board_power_on_reset(b);
}

sim_err sim_board_preload(sim_board *b, uint32_t addr, const void *data, size_t len)
{
    const sim_chip *c = b->chip;
    if (addr >= c->flash_base && len <= c->flash_size &&
        addr - c->flash_base <= c->flash_size - len) {
        memcpy(b->flash + (addr - c->flash_base), data, len);
        sim_flash_changed(b, addr, (uint32_t)len);
        return SIM_OK;
    }
    size_t sram = (size_t)c->sram_size + c->sram2_size;
    if (addr >= c->sram_base && len <= sram && addr - c->sram_base <= sram - len) {
        memcpy(b->sram + (addr - c->sram_base), data, len);
        board_mark_dirty(b, addr, (uint32_t)len);
        return SIM_OK;
    }
    for (int i = 0; i < 4 && c->ram[i].size; i++)
        if (addr >= c->ram[i].base && len <= c->ram[i].size &&
            addr - c->ram[i].base <= c->ram[i].size - len) {
            memcpy(b->ram[i] + (addr - c->ram[i].base), data, len);
            board_mark_dirty(b, addr, (uint32_t)len);
            return SIM_OK;
        }
    uint8_t *p = sim_board_info_ptr(b, addr, (uint32_t)len);
    if (!p)
        return SIM_E_ARG;
    memcpy(p, data, len);
    return SIM_OK;
}
