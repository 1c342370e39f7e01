/*
 * The APB/AHB peripherals a programmer meets: the flash controller's
 * register block (dispatched to the chip row's flash model), the independent watchdog,
 * the reset-cause bits of RCC and its clocks (dispatched to clock.c), and
 * DBGMCU where it sits on the APB (L0).
 * Other peripherals read as zero and ignore writes, as unclocked ones do.
 */
#include "board_state.h"
#include "clock_tree.h"

#define IWDG_BASE 0x40003000u /* where the row does not say (iwdg_base) */
#define IWDG_KR   0x0u
#define IWDG_PR   0x4u
#define IWDG_RLR  0x8u
#define IWDG_SR   0xCu
#define IWDG_WINR 0x10u

/* ---- IWDG (RM0008 19.4; RM0390 20.4; RM0351 37.4) ------------------------- */

static uint64_t iwdg_timeout_ps(const sim_board *b)
{
    /* Counter runs at LSI / (4 << PR), PR 6 and 7 both /256; it counts from
     * RLR down to 0, so the timeout is (RLR + 1) counter ticks. */
    uint32_t pr = b->iwdg_pr > 6 ? 6 : b->iwdg_pr;
    uint64_t div = 4ull << pr;
    return div * ((uint64_t)b->iwdg_rlr + 1) * 1000000000000ull / b->chip->lsi_hz;
}

bool iwdg_frozen(const sim_board *b)
{
    const sim_chip *c = b->chip;
    uint32_t reg = c->dbgmcu_apb1_fz == c->dbgmcu_cr ? b->dbgmcu_cr : b->dbgmcu_fz1;
    return b->halted && (reg & c->iwdg_freeze_bit);
}

/* Account for time spent frozen: call whenever the halt or freeze state may
 * have changed. */
void iwdg_halt_changed(sim_board *b)
{
    bool frozen = iwdg_frozen(b);
    if (frozen && b->iwdg_halt_since == UINT64_MAX) {
        b->iwdg_halt_since = b->now_ps;
    } else if (!frozen && b->iwdg_halt_since != UINT64_MAX) {
        b->iwdg_frozen_ps += b->now_ps - b->iwdg_halt_since;
        b->iwdg_halt_since = UINT64_MAX;
    }
}

uint64_t iwdg_expiry(const sim_board *b)
{
    if (!b->iwdg_on || !b->powered || b->nrst || b->iwdg_halt_since != UINT64_MAX)
        return UINT64_MAX;
    return b->iwdg_reload_ps + b->iwdg_frozen_ps + iwdg_timeout_ps(b);
}

static void iwdg_reload(sim_board *b)
{
    b->iwdg_reload_ps = b->now_ps;
    b->iwdg_frozen_ps = 0;
    if (b->iwdg_halt_since != UINT64_MAX)
        b->iwdg_halt_since = b->now_ps;
}

static void iwdg_write(sim_board *b, uint32_t off, uint32_t v)
{
    switch (off) {
    case IWDG_KR:
        switch (v & 0xFFFF) {
        case 0xCCCC: /* start; only a reset stops it */
            if (!b->iwdg_on) {
                b->iwdg_on = true;
                iwdg_reload(b);
            }
            break;
        case 0xAAAA: /* refresh, and write-protect PR/RLR again */
            iwdg_reload(b);
            b->iwdg_kr_unlocked = false;
            break;
        case 0x5555:
            b->iwdg_kr_unlocked = true;
            break;
        default:
            b->iwdg_kr_unlocked = false;
            break;
        }
        break;
    case IWDG_PR:
        if (b->iwdg_kr_unlocked)
            b->iwdg_pr = v & 7;
        break;
    case IWDG_RLR:
        if (b->iwdg_kr_unlocked)
            b->iwdg_rlr = v & 0xFFF;
        break;
    default:
        break;
    }
}

static uint32_t iwdg_read(const sim_board *b, uint32_t off)
{
    switch (off) {
    case IWDG_PR:
        return b->iwdg_pr;
    case IWDG_RLR:
        return b->iwdg_rlr;
    case IWDG_SR:
        return 0; /* updates take effect at once in this model */
    case IWDG_WINR:
        /* IWDG_WINR, reset value 0x0FFF, where the IWDG has a window (L0,
         * L4 register maps); reserved (reads 0) on F1/F4. */
        return b->chip->iwdg_winr ? 0xFFF : 0;
    default:
        return 0;
    }
}

void periph_reset(sim_board *b, bool power_on)
{
    (void)power_on;
    b->iwdg_pr = 0;
    b->iwdg_rlr = 0xFFF;
    b->iwdg_kr_unlocked = false;
    b->iwdg_frozen_ps = 0;
    b->iwdg_halt_since = UINT64_MAX;
    /* A hardware watchdog (option WDG_SW = 0) starts with every reset. */
    b->iwdg_on = b->fault_watchdog;
    b->iwdg_reload_ps = b->now_ps;
    rcc_reset(b);
    if (power_on) {
        b->dbgmcu_cr = 0;
        b->dbgmcu_fz1 = 0;
        b->dbgmcu_fz2 = 0;
    }
}

/* ---- dispatch ---------------------------------------------------------------- */

static bool in_block(uint32_t addr, uint32_t base, uint32_t size)
{
    return addr >= base && addr - base < size;
}

static uint32_t iwdg_base(const sim_chip *c)
{
    return c->iwdg_base ? c->iwdg_base : IWDG_BASE;
}

/* The DBGMCU block on the peripheral bus (F0, L0, H7), or false. */
static bool in_apb_dbgmcu(const sim_chip *c, uint32_t addr)
{
    return c->idcode_addr < PPB_BASE && in_block(addr, c->idcode_addr, dbgmcu_span(c));
}

/* The model keeps the reset causes in RM0008's RCC_CSR bits; a row with
 * another layout (H7 RCC_RSR) names its own. */
static const struct sim_rst_bits rm0008_rst = {1u << 24, 1u << 26, 1u << 27, 1u << 28, 1u << 29};

static uint32_t rst_flags_out(const sim_chip *c, uint32_t f)
{
    const struct sim_rst_bits *r = c->rst_bits ? c->rst_bits : &rm0008_rst;
    return (f & rm0008_rst.pin ? r->pin : 0) | (f & rm0008_rst.por ? r->por : 0) |
           (f & rm0008_rst.sft ? r->sft : 0) | (f & rm0008_rst.iwdg ? r->iwdg : 0);
}

uint32_t periph_read(sim_board *b, uint32_t addr, bus_master who, bool *ok)
{
    (void)who;
    const sim_chip *c = b->chip;
    *ok = true;
    if (in_block(addr, c->flash_regs, 0x400))
        return b->fops->reg_read(b, b->fstate, addr - c->flash_regs);
    if (in_block(addr, iwdg_base(c), 0x400))
        return iwdg_read(b, addr - iwdg_base(c));
    if (in_apb_dbgmcu(c, addr)) /* DBGMCU on the peripheral bus (L0, H7) */
        return dbgmcu_read(b, addr);
    if (addr == c->rcc_csr) {
        /* Reset flags, and the fields the clock tree keeps at their reset
         * value (L4 MSISRANGE b11:8 = 6, RM0351 6.4.29). */
        return rst_flags_out(c, b->rcc_csr_flags) | c->clock->csr_fixed;
    }
    if (in_block(addr, c->rcc_base, 0x400))
        return rcc_read(b, addr - c->rcc_base);
    return 0;
}

void periph_write(sim_board *b, uint32_t addr, uint32_t value, uint32_t mask, bus_master who,
                  bool *ok)
{
    (void)who;
    const sim_chip *c = b->chip;
    *ok = true;
    if (in_block(addr, c->flash_regs, 0x400)) {
        *ok = b->fops->reg_write(b, b->fstate, addr - c->flash_regs, value, mask);
        return;
    }
    if (in_block(addr, iwdg_base(c), 0x400)) {
        /* IWDG registers take 16-bit or 32-bit writes; use the low lanes. */
        iwdg_write(b, addr - iwdg_base(c), value & mask);
        return;
    }
    if (in_apb_dbgmcu(c, addr)) {
        dbgmcu_write(b, addr, value, mask);
        return;
    }
    if (addr == c->rcc_csr) {
        if (value & mask & (c->rst_bits ? c->rst_bits->rmvf : rm0008_rst.rmvf)) /* RMVF */
            b->rcc_csr_flags = 0;
        return;
    }
    if (in_block(addr, c->rcc_base, 0x400)) {
        rcc_write(b, addr - c->rcc_base, value, mask);
        return;
    }
}
