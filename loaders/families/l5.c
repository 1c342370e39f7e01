/*
 * The TrustZone-layout flash interface of the STM32L5 (RM0438 6.3, 6.9) and
 * STM32U5 (RM0456 7.3, 7.9), driven through its non-secure registers: with
 * TZEN = 0 the whole flash is non-secure and these registers reach all of
 * it. With TZEN = 1 the secure part of the flash and its option bytes are
 * out of a non-secure debugger's reach, so Flashline refuses the part
 * (programming secure flash is not supported yet) rather than half-write
 * it. The L5 programs 64-bit double words, the U5 128-bit quad words; both
 * number pages per bank (PNB) with BKER for bank 2.
 */
#include "flash_internal.h"

/* Non-secure register offsets (RM0438 6.9, RM0456 7.9). */
#define FLASH_NSKEYR  0x08u
#define FLASH_OPTKEYR 0x10u
#define FLASH_NSSR    0x20u
#define FLASH_NSCR    0x28u
#define FLASH_OPTR    0x40u

/* FLASH_NSSR (RM0438 6.9.7, RM0456 7.9.8). */
#define FLASH_NSSR_EOP     (1u << 0)
#define FLASH_NSSR_OPERR   (1u << 1)
#define FLASH_NSSR_PROGERR (1u << 3)
#define FLASH_NSSR_WRPERR  (1u << 4)
#define FLASH_NSSR_PGAERR  (1u << 5)
#define FLASH_NSSR_SIZERR  (1u << 6)
#define FLASH_NSSR_PGSERR  (1u << 7)
#define FLASH_NSSR_OPTWERR (1u << 13)
#define FLASH_NSSR_BSY     (1u << 16)
#define FLASH_NSSR_WDW     (1u << 17) /* U5: a write buffer is open */

/* FLASH_NSCR (RM0438 6.9.9, RM0456 7.9.10). */
#define FLASH_NSCR_PG         (1u << 0)
#define FLASH_NSCR_PER        (1u << 1)
#define FLASH_NSCR_MER1       (1u << 2)
#define FLASH_NSCR_PNB_SHIFT  3
#define FLASH_NSCR_BKER       (1u << 11)
#define FLASH_NSCR_MER2       (1u << 15)
#define FLASH_NSCR_STRT       (1u << 16)
#define FLASH_NSCR_OPTSTRT    (1u << 17)
#define FLASH_NSCR_OBL_LAUNCH (1u << 27)
#define FLASH_NSCR_OPTLOCK    (1u << 30)
#define FLASH_NSCR_LOCK       (1u << 31)

/* FLASH_OPTR (RM0438 6.9.15, RM0456 7.9.17): RDP b7:0 (0xAA level 0,
 * 0x55 level 0.5, 0xCC level 2, anything else level 1), DBANK b22, TZEN
 * b31. */
#define FLASH_OPTR_RDP   0xFFu
#define FLASH_OPTR_DBANK (1u << 22)
#define FLASH_OPTR_TZEN  (1u << 31)
#define RDP_LEVEL0       0xAAu
#define RDP_LEVEL1       0xBBu

#define FLASH_KEY1    0x45670123u
#define FLASH_KEY2    0xCDEF89ABu
#define FLASH_OPTKEY1 0x08192A3Bu
#define FLASH_OPTKEY2 0x4C5D6E7Fu

static const fl_flag sr_flags[] = {
    {FLASH_NSSR_OPERR, "OPERR", FL_E_FLASH,
     "the operation failed; power-cycle the board and retry"},
    {FLASH_NSSR_PROGERR, "PROGERR", FL_E_FLASH,
     "programmed a flash word that was not erased; erase the page and retry"},
    {FLASH_NSSR_WRPERR, "WRPERR", FL_E_PROTECTED,
     "the page is write-protected or secure; shrink the WRP area (or regress RDP)"},
    {FLASH_NSSR_PGAERR, "PGAERR", FL_E_FLASH, "misaligned program; report it, a loader bug"},
    {FLASH_NSSR_SIZERR, "SIZERR", FL_E_FLASH, "wrong program size; report it, a loader bug"},
    {FLASH_NSSR_PGSERR, "PGSERR", FL_E_FLASH,
     "programming sequence error; reset the board and retry"},
    {FLASH_NSSR_OPTWERR, "OPTWERR", FL_E_PROTECTED,
     "option bytes refused the write (a value the RM forbids, or RDP level 2)"},
    {0, NULL, FL_OK, NULL},
};

/* Refuse a part whose TrustZone is on: its secure flash cannot be reached
 * from here and a non-secure write to it fails half way. Called before the
 * first erase (the prepare hook). */
static fl_err prepare(fl_target *t)
{
    uint32_t optr = 0;
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTR), &optr));
    if (optr & FLASH_OPTR_TZEN)
        return fl_fail(t, FL_E_PROTECTED,
                       "%s has TrustZone enabled (FLASH_OPTR.TZEN = 1): Flashline programs only "
                       "non-secure parts; clear TZEN (a regression to RDP level 0, which "
                       "erases the chip) or program it with a secure-aware tool",
                       t->chip->name);
    return FL_OK;
}

/* L5: DBANK (b22) = 1, the factory value, makes two banks, the row's
 * layout; 0 one bank of pages twice as large, the row's alt (RM0438
 * 6.3.1). U5: the largest parts are always two banks; the others only
 * with DUALBANK (b21) = 1, the row's alt (RM0456 7.3.1). */
#define FLASH_OPTR_DUALBANK (1u << 21)

static fl_err alt_layout_l5(fl_target *t, bool *alt)
{
    return fl_reg_bit(t, FLASH_OPTR, FLASH_OPTR_DBANK, false, alt);
}

static fl_err alt_layout_u5(fl_target *t, bool *alt)
{
    return fl_reg_bit(t, FLASH_OPTR, FLASH_OPTR_DUALBANK, true, alt);
}

static fl_err erase(fl_target *t, const fl_unit *u)
{
    uint32_t cr =
        FLASH_NSCR_PER | u->index_in_bank << FLASH_NSCR_PNB_SHIFT | (u->bank ? FLASH_NSCR_BKER : 0);
    return fl_ctrl_run(t, 0, cr, FLASH_NSCR_STRT, fl_family_of(t)->erase_ms, "page erase", u->addr);
}

static fl_err mass_erase(fl_target *t)
{
    uint32_t cr =
        FLASH_NSCR_MER1 | (fl_chip_banks(t->chip, t->flash_size) > 1 ? FLASH_NSCR_MER2 : 0);
    return fl_ctrl_run(t, 0, cr, FLASH_NSCR_STRT, fl_family_of(t)->mass_ms, "mass erase",
                       t->chip->line->flash_base);
}

static void loader_setup(const fl_target *t, fl_loader_ctl *ctl)
{
    const fl_family *f = fl_family_of(t);
    ctl->l4 = (fl_loader_l4){.sr_off = FLASH_NSSR,
                             .cr_off = FLASH_NSCR,
                             .sr_busy = f->sr_busy,
                             .sr_errors = fl_sr_errors(f),
                             .sr_eop = FLASH_NSSR_EOP,
                             .cr_pg = FLASH_NSCR_PG,
                             .cr_per = FLASH_NSCR_PER,
                             .cr_strt = FLASH_NSCR_STRT,
                             .cr_bker = FLASH_NSCR_BKER,
                             .pnb_shift = FLASH_NSCR_PNB_SHIFT,
                             .prog_unit = f->program_unit};
}

/* ---- option bytes: OPTR through OPTSTRT, loaded by OBL_LAUNCH ------------ */

static fl_err opt_read(fl_target *t, fl_opt_now *now)
{
    uint32_t optr = 0;
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTR), &optr));
    /* Level 0.5 (0x55) is a level-1 kind of protection for a non-secure
     * debugger: fl_rdp_level says 1. */
    now->loaded = (fl_options){.rdp = fl_rdp_level((uint8_t)(optr & FLASH_OPTR_RDP)),
                               .user = optr & ~FLASH_OPTR_RDP,
                               .wrp = 0,
                               .valid = true};
    now->block_rdp = now->loaded.rdp;
    now->block_user = now->loaded.user;
    return FL_OK;
}

static fl_err opt_write(fl_target *t, const fl_opt_now *now, int level, uint32_t user)
{
    const fl_opt_family *o = &fl_family_of(t)->opt;
    fl_err e = fl_opt_unlock(t);
    if (e)
        return e;
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, 0, FLASH_NSSR), fl_sr_errors(fl_family_of(t))));
    uint32_t v = (user & ~FLASH_OPTR_RDP) | o->level_byte[level];
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, 0, FLASH_OPTR), v));
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, 0, FLASH_NSCR), FLASH_NSCR_OPTSTRT));
    bool regress = level == 0 && now->loaded.rdp == 1;
    return fl_wait_idle(t, 0, regress ? o->regress_ms : o->op_ms,
                        regress ? "RDP regression (mass erase)" : "option byte program",
                        fl_reg(t, 0, FLASH_OPTR));
}

/* TZEN, DBANK and the boot addresses change what the part is: user writes
 * may touch only the reset and watchdog options of the OPTR's low half
 * (RM0438 6.9.15: BOR_LEV b10:8, nRST_STOP b12, nRST_STDBY b13,
 * nRST_SHDW b14, IWDG_SW b16, IWDG_STOP b17, IWDG_STDBY b18, WWDG_SW b19). */
#define OPTR_USER_SAFE 0x000F7700u

#define L5U5_COMMON                                                                                \
    .stub = "l4x", .loader_setup = loader_setup, .erased = 0xFF, .sr = FLASH_NSSR,                 \
    .cr = FLASH_NSCR, .sr_eop = FLASH_NSSR_EOP, .sr_flags = sr_flags,                              \
    .keys = {{FLASH_NSKEYR, FLASH_KEY1, FLASH_KEY2, FLASH_NSCR_LOCK}}, .cr_lock = FLASH_NSCR_LOCK, \
    .rdp_off = FLASH_OPTR, .rdp_mask = FLASH_OPTR_RDP, .rdp_clear = RDP_LEVEL0,                    \
    .bank_code_shift = 8, .erase = erase, .mass_erase = mass_erase, .prepare = prepare,            \
    .cr_program = FLASH_NSCR_PG, .store_width = 4,                                                 \
    .opt = {.level_byte = {RDP_LEVEL0, RDP_LEVEL1},                                                \
            .user_mask = OPTR_USER_SAFE,                                                           \
            .op_ms = 200,                                                                          \
            .regress_ms = 1000,                                                                    \
            .read = opt_read,                                                                      \
            .write = opt_write,                                                                    \
            .optkeyr = FLASH_OPTKEYR,                                                              \
            .lock_reg = FLASH_NSCR,                                                                \
            .lock_bit = FLASH_NSCR_OPTLOCK,                                                        \
            .optkeys = {FLASH_OPTKEY1, FLASH_OPTKEY2},                                             \
            .obl_reg = FLASH_NSCR,                                                                 \
            .obl_bit = FLASH_NSCR_OBL_LAUNCH,                                                      \
            .confirm = "trustzone"}

/* Times with margin: L5 page erase 22 ms typ (DS12736), U5 8 KiB page erase
 * 1.5 ms typ, 3.4 ms max, mass erase per bank 1.4 s max (DS13737). */
const fl_family fl_family_l5 = {
    L5U5_COMMON,
    .name = "STM32L5 flash interface (non-secure)",
    .program_unit = 8,
    .alt_layout = alt_layout_l5,
    .sr_busy = FLASH_NSSR_BSY,
    .erase_ms = 250,
    .mass_ms = 500,
};

const fl_family fl_family_u5 = {
    L5U5_COMMON,
    .name = "STM32U5 flash interface (non-secure)",
    .program_unit = 16,
    .alt_layout = alt_layout_u5,
    .sr_busy = FLASH_NSSR_BSY | FLASH_NSSR_WDW,
    .erase_ms = 250,
    .mass_ms = 3000,
};
