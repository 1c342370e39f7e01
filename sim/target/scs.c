/*
 * The private peripheral bus as a debugger and the core see it: the System
 * Control Block, the debug registers (DHCSR, DCRSR, DCRDR, DEMCR), SysTick,
 * DWT, FPB and, on the chips that put it there, DBGMCU.
 * Register layout: ARMv7-M ARM B3.2 and C1.6.
 */
#include "board_state.h"

#define CPUID      0xE000ED00u
#define ICSR       0xE000ED04u
#define VTOR       0xE000ED08u
#define AIRCR      0xE000ED0Cu
#define SCR        0xE000ED10u
#define CCR        0xE000ED14u
#define SHCSR      0xE000ED24u
#define CFSR       0xE000ED28u
#define HFSR       0xE000ED2Cu
#define DFSR       0xE000ED30u
#define MMFAR      0xE000ED34u
#define BFAR       0xE000ED38u
#define DHCSR      0xE000EDF0u
#define DCRSR      0xE000EDF4u
#define DCRDR      0xE000EDF8u
#define DEMCR      0xE000EDFCu
#define SYST_CSR   0xE000E010u
#define SYST_RVR   0xE000E014u
#define SYST_CVR   0xE000E018u
#define SYST_CALIB 0xE000E01Cu
#define DWT_CTRL   0xE0001000u
#define DWT_CYCCNT 0xE0001004u
#define FP_CTRL    0xE0002000u
#define FP_REMAP   0xE0002004u
#define FP_COMP0   0xE0002008u

#define DHCSR_KEY   0xA05F0000u
#define C_DEBUGEN   (1u << 0)
#define C_HALT      (1u << 1)
#define C_STEP      (1u << 2)
#define C_MASKINTS  (1u << 3)
#define S_REGRDY    (1u << 16)
#define S_HALT      (1u << 17)
#define S_LOCKUP    (1u << 19)
#define S_RETIRE_ST (1u << 24)
#define S_RESET_ST  (1u << 25)

#define SYST_ENABLE    (1u << 0)
#define SYST_TICKINT   (1u << 1)
#define SYST_CLKSOURCE (1u << 2)
#define SYST_COUNTFLAG (1u << 16)

/* The DBGMCU block starts at the row's DBGMCU_IDCODE: in the PPB
 * (0xE0042000 on F1/F4/L4) this file serves it, on the APB (0x40015800 on
 * L0) periph.c calls the two functions below. */
static bool in_dbgmcu(const sim_board *b, uint32_t addr)
{
    uint32_t base = b->chip->idcode_addr;
    return base >= PPB_BASE && addr >= base && addr - base < dbgmcu_span(b->chip);
}

uint32_t dbgmcu_span(const sim_chip *c)
{
    uint32_t fz = c->dbgmcu_apb1_fz - c->idcode_addr + 4;
    return fz > 0x20 ? fz : 0x20;
}

/* The register behind addr: DBGMCU_CR and the freeze register holding the
 * IWDG's bit where the row puts them, and the F2/F4 APB2_FZ at +0x0C. */
static uint32_t *dbgmcu_reg(sim_board *b, uint32_t addr)
{
    const sim_chip *c = b->chip;
    if (addr == c->dbgmcu_cr)
        return &b->dbgmcu_cr;
    if (addr == c->dbgmcu_apb1_fz)
        return &b->dbgmcu_fz1;
    if (addr - c->idcode_addr == 0xC)
        return &b->dbgmcu_fz2;
    return NULL;
}

uint32_t dbgmcu_read(sim_board *b, uint32_t addr)
{
    const sim_chip *c = b->chip;
    if (addr == c->idcode_addr)
        return (uint32_t)c->rev_id << 16 | c->dev_id;
    uint32_t *reg = dbgmcu_reg(b, addr);
    return reg ? *reg : 0;
}

void dbgmcu_write(sim_board *b, uint32_t addr, uint32_t value, uint32_t mask)
{
    bool was_frozen = iwdg_frozen(b);
    uint32_t *reg = dbgmcu_reg(b, addr);
    if (!reg)
        return;
    *reg = (*reg & ~mask) | (value & mask);
    if (was_frozen != iwdg_frozen(b))
        iwdg_halt_changed(b);
}

/* ---- SysTick ---------------------------------------------------------------- */

static uint64_t systick_tick_ps(const sim_board *b)
{
    /* CLKSOURCE=0 is the STM32's HCLK/8 reference (RM0008 8.2; PM0056 4.5). */
    return (b->syst_csr & SYST_CLKSOURCE) ? b->cycle_ps : 8 * b->cycle_ps;
}

static bool systick_counting(const sim_board *b)
{
    return (b->syst_csr & SYST_ENABLE) && !b->halted && b->powered && !b->nrst;
}

/* Current value of the down-counter. */
static uint32_t systick_cvr(const sim_board *b)
{
    if (!systick_counting(b))
        return b->syst_cvr_at_base;
    uint64_t ticks = (b->now_ps - b->syst_base_ps) / systick_tick_ps(b);
    return ticks >= b->syst_cvr_at_base ? 0 : b->syst_cvr_at_base - (uint32_t)ticks;
}

uint64_t systick_next_event(const sim_board *b)
{
    if (!systick_counting(b) || b->syst_rvr == 0)
        return UINT64_MAX;
    if (b->syst_cvr_at_base == 0) /* cleared: the next tick reloads, no flag */
        return b->syst_base_ps + ((uint64_t)b->syst_rvr + 1) * systick_tick_ps(b);
    return b->syst_base_ps + (uint64_t)b->syst_cvr_at_base * systick_tick_ps(b);
}

/* Bring SysTick up to now: count wraps, set COUNTFLAG, pend the exception.
 * Also re-bases the counter when it starts or stops counting. */
void systick_service(sim_board *b)
{
    if (!systick_counting(b)) {
        b->syst_base_ps = b->now_ps;
        return;
    }
    uint64_t tick = systick_tick_ps(b);
    if (b->syst_cvr_at_base == 0 && b->syst_rvr != 0 && b->now_ps >= b->syst_base_ps + tick) {
        b->syst_base_ps += tick;
        b->syst_cvr_at_base = b->syst_rvr;
    }
    uint64_t next = systick_next_event(b);
    if (next > b->now_ps)
        return;
    /* Reaching zero sets COUNTFLAG and, with TICKINT, pends SysTick; the
     * next tick reloads RVR, so the period is RVR + 1 ticks. */
    uint64_t period = ((uint64_t)b->syst_rvr + 1) * tick;
    uint64_t since = b->now_ps - next;
    uint64_t wraps = since / period;
    b->syst_base_ps = next + wraps * period;
    b->syst_cvr_at_base = b->syst_rvr + 1;
    b->syst_csr |= SYST_COUNTFLAG;
    if (b->syst_csr & SYST_TICKINT)
        b->systick_pending = true;
}

void systick_snapshot(sim_board *b)
{
    systick_service(b);
    b->syst_cvr_at_base = systick_cvr(b);
    b->syst_base_ps = b->now_ps;
}

/* ---- the SCB and debug registers --------------------------------------------- */

static uint32_t dhcsr_read(sim_board *b)
{
    uint32_t v = b->dhcsr_ctrl & (C_DEBUGEN | C_HALT | C_STEP | C_MASKINTS);
    v |= S_REGRDY; /* register transfers complete at once */
    if (b->halted)
        v |= S_HALT;
    if (b->locked_up)
        v |= S_LOCKUP;
    if (b->s_retire_st)
        v |= S_RETIRE_ST;
    if (b->s_reset_st)
        v |= S_RESET_ST;
    /* The sticky bits clear on read (ARMv7-M C1.6.2). */
    b->s_reset_st = false;
    b->s_retire_st = !b->halted && !b->locked_up && !b->nrst;
    return v;
}

static void dhcsr_write(sim_board *b, uint32_t v, bus_master who)
{
    if ((v & 0xFFFF0000u) != DHCSR_KEY)
        return; /* writes without DBGKEY are ignored */
    if (who == BUS_CPU) {
        /* Software can clear C_DEBUGEN but never set it or halt itself. */
        if (!(v & C_DEBUGEN))
            b->dhcsr_ctrl &= ~C_DEBUGEN;
        return;
    }
    uint32_t ctrl = v & (C_DEBUGEN | C_HALT | C_STEP | C_MASKINTS);
    if (!b->halted && !(ctrl & C_HALT)) {
        /* C_MASKINTS only changes while halted or when halting (C1.6.2). */
        ctrl = (ctrl & ~C_MASKINTS) | (b->dhcsr_ctrl & C_MASKINTS);
    }
    b->dhcsr_ctrl = ctrl;
    if (ctrl & C_DEBUGEN)
        b->debugger_attached = true;
    if (!(ctrl & C_DEBUGEN)) {
        b->dhcsr_ctrl = 0;
        board_resume(b);
        return;
    }
    if (ctrl & C_HALT) {
        if (!b->halted && !b->nrst && b->powered)
            board_halt(b, 1u /* DFSR.HALTED */);
        return;
    }
    board_resume(b);
}

static void dcrsr_write(sim_board *b, uint32_t v)
{
    if (!b->halted)
        return; /* only valid in debug state; S_REGRDY would stay low */
    unsigned regsel = v & 0x7F;
    if (v & (1u << 16))
        board_core_reg_write(b, regsel, b->dcrdr);
    else if (board_core_reg_read(b, regsel, &b->dcrdr) != SIM_OK)
        b->dcrdr = 0;
}

static void aircr_write(sim_board *b, uint32_t v)
{
    if ((v >> 16) != 0x05FA)
        return; /* VECTKEY missing: ignored */
    if (!b->chip->armv6m)
        b->aircr_prigroup = (v >> 8) & 7;
    if (v & (1u << 2)) { /* SYSRESETREQ */
        sim_board_request_reset(b);
        if (b->halted)
            board_system_reset(b);
    }
}

void scs_reset(sim_board *b, bool power_on)
{
    b->syst_csr = 0;
    b->syst_rvr = 0;
    b->syst_cvr_at_base = 0;
    b->syst_base_ps = b->now_ps;
    b->systick_pending = false;
    b->cfsr = b->hfsr = b->bfar = 0;
    b->scr = 0;
    b->shcsr = 0;
    b->aircr_prigroup = 0;
    if (power_on) {
        /* The debug registers are reset by power-on only (C1.6): a system
         * reset keeps the debugger's DHCSR, DEMCR, FPB and DWT settings. */
        b->dfsr = 0;
        b->fp_ctrl = b->chip->armv6m ? 0x00000040u : 0x00000260u;
        for (int i = 0; i < 8; i++)
            b->fp_comp[i] = 0;
        b->dwt_ctrl = b->chip->armv6m ? 0x20000000u : 0x40000000u;
        b->dwt_cyc_base_ps = b->now_ps;
    }
}

uint32_t scs_read(sim_board *b, uint32_t addr, bus_master who, bool *ok)
{
    (void)who;
    *ok = true;
    if (in_dbgmcu(b, addr))
        return dbgmcu_read(b, addr);
    switch (addr) {
    case CPUID:
        return b->chip->cpuid;
    case ICSR: {
        uint32_t v = 0;
        board_core_reg_read(b, 16, &v);
        return (v & 0x1FF) | (b->systick_pending ? 1u << 26 : 0);
    }
    case VTOR:
        return b->vtor;
    case AIRCR:
        return 0xFA050000u | b->aircr_prigroup << 8;
    case SCR:
        return b->scr;
    case CCR:
        return b->chip->armv6m ? 0x208u : 0x200u; /* STKALIGN */
    case SHCSR:
        return b->shcsr;
    case CFSR:
        return b->chip->armv6m ? 0 : b->cfsr;
    case HFSR:
        return b->chip->armv6m ? 0 : b->hfsr;
    case DFSR:
        return b->dfsr;
    case MMFAR:
        return 0;
    case BFAR:
        return b->chip->armv6m ? 0 : b->bfar;
    case DHCSR:
        return dhcsr_read(b);
    case DCRSR:
        return 0;
    case DCRDR:
        return b->dcrdr;
    case DEMCR:
        return b->demcr;
    case SYST_CSR: {
        systick_service(b);
        uint32_t v = b->syst_csr;
        b->syst_csr &= ~SYST_COUNTFLAG; /* cleared by reading */
        return v;
    }
    case SYST_RVR:
        return b->syst_rvr;
    case SYST_CVR:
        systick_service(b);
        return systick_cvr(b);
    case SYST_CALIB:
        return 1u << 31 | (b->chip->core_hz / 800); /* NOREF, TENMS of HCLK/8 */
    case DWT_CTRL:
        return b->dwt_ctrl;
    case DWT_CYCCNT:
        if (b->chip->armv6m)
            return 0;
        return (b->dwt_ctrl & 1) ? (uint32_t)((b->now_ps - b->dwt_cyc_base_ps) / b->cycle_ps) : 0;
    case FP_CTRL:
        return b->fp_ctrl;
    case FP_REMAP:
        return 0;
    default:
        if (addr >= FP_COMP0 && addr < FP_COMP0 + 32)
            return b->fp_comp[(addr - FP_COMP0) / 4];
        /* NVIC and the rest of the SCS: present, reads as zero. */
        return 0;
    }
}

void scs_write(sim_board *b, uint32_t addr, uint32_t value, uint32_t mask, bus_master who, bool *ok)
{
    *ok = true;
    if (in_dbgmcu(b, addr)) {
        dbgmcu_write(b, addr, value, mask);
        return;
    }
    uint32_t v = value; /* lanes outside mask are zero */
    switch (addr) {
    case VTOR:
        b->vtor = (b->vtor & ~mask) | (v & mask & 0xFFFFFF80u);
        return;
    case AIRCR:
        if (mask == 0xFFFFFFFFu)
            aircr_write(b, v);
        return;
    case SCR:
        b->scr = (b->scr & ~mask) | (v & mask);
        return;
    case SHCSR:
        b->shcsr = (b->shcsr & ~mask) | (v & mask);
        return;
    case CFSR:
        b->cfsr &= ~(v & mask); /* write one to clear */
        return;
    case HFSR:
        b->hfsr &= ~(v & mask);
        return;
    case DFSR:
        b->dfsr &= ~(v & mask);
        return;
    case DHCSR:
        if (mask == 0xFFFFFFFFu)
            dhcsr_write(b, v, who);
        return;
    case DCRSR:
        if (who == BUS_DEBUG)
            dcrsr_write(b, v);
        return;
    case DCRDR:
        b->dcrdr = (b->dcrdr & ~mask) | (v & mask);
        return;
    case DEMCR:
        b->demcr = (b->demcr & ~mask) | (v & mask);
        return;
    case SYST_CSR:
        systick_service(b);
        b->syst_cvr_at_base = systick_cvr(b);
        b->syst_base_ps = b->now_ps;
        b->syst_csr = (b->syst_csr & ~mask & SYST_COUNTFLAG) |
                      (v & mask & (SYST_ENABLE | SYST_TICKINT | SYST_CLKSOURCE)) |
                      (b->syst_csr & SYST_COUNTFLAG);
        if (!(b->syst_csr & SYST_TICKINT))
            b->systick_pending = false;
        return;
    case SYST_RVR:
        b->syst_rvr = ((b->syst_rvr & ~mask) | (v & mask)) & 0xFFFFFFu;
        return;
    case SYST_CVR:
        /* Any write clears the counter and COUNTFLAG (B3.3.3); the next tick
         * loads RVR. */
        b->syst_cvr_at_base = 0;
        b->syst_base_ps = b->now_ps;
        b->syst_csr &= ~SYST_COUNTFLAG;
        return;
    case DWT_CTRL:
        if (!(b->dwt_ctrl & 1) && (v & mask & 1))
            b->dwt_cyc_base_ps = b->now_ps;
        b->dwt_ctrl = (b->dwt_ctrl & 0xFFFF0000u) | (v & mask & 0xFFFFu);
        return;
    case FP_CTRL:
        if (v & 2) /* KEY must be written as 1 for the write to count */
            b->fp_ctrl = (b->fp_ctrl & ~1u) | (v & 1);
        return;
    default:
        if (addr >= FP_COMP0 && addr < FP_COMP0 + 32)
            b->fp_comp[(addr - FP_COMP0) / 4] =
                (b->fp_comp[(addr - FP_COMP0) / 4] & ~mask) | (v & mask);
        return;
    }
}
