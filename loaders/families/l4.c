/*
 * The L4 generation of flash interfaces: the L4 (RM0351 3.3 sequences, 3.4
 * option bytes, 3.7 registers) and the parts that took its design over:
 * L4+ (RM0432), G4 (RM0440), G0 (RM0444/RM0454), C0 (RM0490), U0 (RM0503),
 * WB (RM0434) and WL (RM0453/RM0461). Pages are numbered per bank (PNB)
 * with a bank bit; 64-bit double words with ECC are programmed by two word
 * stores (stub_l4x, told where the registers and bits are). What differs
 * is data: the descriptor (busy bits: CFGBSY on G0/C0/U0/WB/WL, PESD on
 * WB/WL), and the variant below (the bank bit, the mass erase, the option
 * block, FLASH_ACR.EMPTY). The controller's base is the line's (WB/WL at
 * 0x58004000).
 */
#include "flash_internal.h"

/* Register offsets (RM0351 3.7). */
#define FLASH_KEYR    0x08u
#define FLASH_OPTKEYR 0x0Cu
#define FLASH_SR      0x10u
#define FLASH_CR      0x14u
#define FLASH_OPTR    0x20u
#define FLASH_WRP1AR  0x2Cu

/* FLASH_SR (RM0351 3.7.5). */
#define FLASH_SR_EOP     (1u << 0)
#define FLASH_SR_OPERR   (1u << 1)
#define FLASH_SR_PROGERR (1u << 3)
#define FLASH_SR_WRPERR  (1u << 4)
#define FLASH_SR_PGAERR  (1u << 5)
#define FLASH_SR_SIZERR  (1u << 6)
#define FLASH_SR_PGSERR  (1u << 7)
#define FLASH_SR_MISERR  (1u << 8)
#define FLASH_SR_FASTERR (1u << 9)
#define FLASH_SR_RDERR   (1u << 14)
#define FLASH_SR_OPTVERR (1u << 15)
#define FLASH_SR_BSY     (1u << 16) /* BSY1 on G0 */
/* G0B/G0C second bank busy (RM0444 3.7.4), configuration busy on G0, C0,
 * U0, WB and WL (RM0444 3.7.4, RM0434 3.10.4), programming/erase suspended
 * on WB/WL while the second core holds the flash (RM0434 3.10.4). */
#define FLASH_SR_BSY2   (1u << 17)
#define FLASH_SR_CFGBSY (1u << 18)
#define FLASH_SR_PESD   (1u << 19)

/* FLASH_ACR.EMPTY (RM0444 3.7.1): set at option load when the first word of
 * main flash read erased; boot from main flash is refused while it is set,
 * and it is not updated after that: software clears it once it programmed
 * the boot vector. */
#define FLASH_ACR          0x00u
#define FLASH_ACR_EMPTY_G0 (1u << 16)

/* FLASH_CR (RM0351 3.7.6). */
#define FLASH_CR_PG         (1u << 0)
#define FLASH_CR_PER        (1u << 1)
#define FLASH_CR_MER1       (1u << 2)
#define FLASH_CR_PNB_SHIFT  3
#define FLASH_CR_BKER_SHIFT 11
#define FLASH_CR_BKER_G0    (1u << 13) /* G0B/G0C (RM0444 3.7.5) */
#define FLASH_CR_MER2       (1u << 15)
#define FLASH_CR_STRT       (1u << 16)
#define FLASH_CR_OPTSTRT    (1u << 17)
#define FLASH_CR_OBL_LAUNCH (1u << 27)
#define FLASH_CR_OPTLOCK    (1u << 30)
#define FLASH_CR_LOCK       (1u << 31)

#define FLASH_KEY1    0x45670123u
#define FLASH_KEY2    0xCDEF89ABu
#define FLASH_OPTKEY1 0x08192A3Bu
#define FLASH_OPTKEY2 0x4C5D6E7Fu

#define FLASH_OPTR_RDP  0xFFu
#define FLASH_OPTR_USER 0x0FBF7700u /* the bits software may change (RM0351 3.7.8) */
#define RDP_LEVEL0      0xAAu
#define RDP_LEVEL1      0xBBu
#define OPT_BLOCK_L4    0x1FFF7800u /* OPTR's double word: value, complement (RM0351 3.4.1) */

/* OPTVERR is about option loading, not an operation: not an error here. */
static const fl_flag sr_flags[] = {
    {FLASH_SR_OPERR, "OPERR", FL_E_FLASH, "the operation failed; power-cycle the board and retry"},
    {FLASH_SR_PROGERR, "PROGERR", FL_E_FLASH,
     "programmed a double word that was not erased; erase the page and retry"},
    {FLASH_SR_WRPERR, "WRPERR", FL_E_PROTECTED,
     "the page is write-protected; shrink its WRP area (or regress RDP)"},
    {FLASH_SR_PGAERR, "PGAERR", FL_E_FLASH, "misaligned program; report it, a loader bug"},
    {FLASH_SR_SIZERR, "SIZERR", FL_E_FLASH, "wrong program size; report it, a loader bug"},
    {FLASH_SR_PGSERR, "PGSERR", FL_E_FLASH,
     "programming sequence error; reset the board and retry"},
    {FLASH_SR_MISERR, "MISERR", FL_E_FLASH, "fast programming data miss; retry"},
    {FLASH_SR_FASTERR, "FASTERR", FL_E_FLASH, "fast programming error; retry"},
    {FLASH_SR_RDERR, "RDERR", FL_E_PROTECTED, "read of a PCROP area; clear PCROP"},
    {0, NULL, FL_OK, NULL},
};

/* What differs between the variants beyond the descriptor's fields. */
typedef struct l4_variant {
    uint32_t cr_bker;   /* the CR bit that selects bank 2 for a page erase */
    uint32_t opt_block; /* OPTR's double word (value, complement) in the option area, 0: none */
    uint32_t wrp1ar;    /* FLASH_WRP1AR offset */
    uint32_t acr_empty; /* FLASH_ACR.EMPTY, 0: the variant has none */
    /* The OPTR bit that selects the row's other bank layout (fl_chip.alt),
     * and whether set or clear selects it. */
    uint32_t optr_layout;
    bool layout_alt_when_set;
} l4_variant;

static const l4_variant *variant_of(const fl_target *t)
{
    return fl_family_of(t)->variant;
}

/* RM0351 3.3.6: PER, PNB (page in its bank), the bank bit, STRT. */
static fl_err erase(fl_target *t, const fl_unit *u)
{
    uint32_t cr = FLASH_CR_PER | u->index_in_bank << FLASH_CR_PNB_SHIFT |
                  (u->bank ? variant_of(t)->cr_bker : 0);
    return fl_ctrl_run(t, 0, cr, FLASH_CR_STRT, fl_family_of(t)->erase_ms, "page erase", u->addr);
}

/* RM0351 3.3.6 "Mass erase": MER1 and MER2 erase both banks at once (MER2
 * is reserved where there is one bank, and MER1 alone erases it). */
static fl_err mass_erase(fl_target *t)
{
    uint32_t cr = FLASH_CR_MER1 | (fl_chip_banks(t->chip, t->flash_size) > 1 ? FLASH_CR_MER2 : 0);
    return fl_ctrl_run(t, 0, cr, FLASH_CR_STRT, fl_family_of(t)->mass_ms, "mass erase",
                       t->chip->line->flash_base);
}

/* L47x/L49x below 1 MiB: DUALBANK (OPTR b21) = 1 makes two banks; L4+ and
 * G4 category 3: DBANK (b22) = 0 makes one bank of double-size pages;
 * G0B/G0C: DUAL_BANK (b21) = 1 makes two banks (RM0351 3.7.8, RM0432
 * 3.7.8, RM0440 3.7.8, RM0444 3.7.8). */
static fl_err alt_layout(fl_target *t, bool *alt)
{
    const l4_variant *v = variant_of(t);
    return fl_reg_bit(t, FLASH_OPTR, v->optr_layout, v->layout_alt_when_set, alt);
}

/* Clear EMPTY once the first word of main flash holds code: otherwise the
 * part boots its system memory at the next reset (RM0444 3.7.1, 2.5). */
static fl_err settle(fl_target *t)
{
    uint32_t bit = variant_of(t)->acr_empty, acr = 0, first = 0;
    if (!bit)
        return FL_OK;
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_ACR), &acr));
    if (!(acr & bit))
        return FL_OK;
    PD_TRY(t, pd_read32(t->probe, t->chip->line->flash_base, &first));
    if (first == 0xFFFFFFFFu)
        return FL_OK; /* still empty: EMPTY is right */
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, 0, FLASH_ACR), acr & ~bit));
    return FL_OK;
}

/* stub_l4x: the L4's registers and bits. */
static void loader_setup(const fl_target *t, fl_loader_ctl *ctl)
{
    const fl_family *f = fl_family_of(t);
    ctl->l4.sr_off = f->sr;
    ctl->l4.cr_off = f->cr;
    ctl->l4.sr_busy = f->sr_busy;
    ctl->l4.sr_errors = fl_sr_errors(f);
    ctl->l4.sr_eop = f->sr_eop;
    ctl->l4.cr_pg = FLASH_CR_PG;
    ctl->l4.cr_per = FLASH_CR_PER;
    ctl->l4.cr_strt = FLASH_CR_STRT;
    ctl->l4.cr_bker = variant_of(t)->cr_bker;
    ctl->l4.pnb_shift = FLASH_CR_PNB_SHIFT;
    ctl->l4.prog_unit = f->program_unit;
}

/* ---- option bytes (RM0351 3.4.2, 3.7.8) -------------------------------------- */

static fl_err opt_read(fl_target *t, fl_opt_now *now)
{
    const l4_variant *v = variant_of(t);
    uint32_t optr = 0, wrp = 0, sr = 0, block[2] = {0};
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTR), &optr));
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, v->wrp1ar), &wrp));
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_SR), &sr));
    if (v->opt_block)
        PD_TRY(t, pd_mem_read(t->probe, v->opt_block, block, sizeof block));
    else
        block[0] = optr, block[1] = ~optr; /* what is loaded stands for the block */
    now->loaded = (fl_options){.rdp = fl_rdp_level((uint8_t)(optr & FLASH_OPTR_RDP)),
                               .user = optr & ~FLASH_OPTR_RDP,
                               .wrp = wrp,
                               .valid = !(sr & FLASH_SR_OPTVERR)};
    bool ok = block[1] == ~block[0];
    now->block_rdp = ok ? fl_rdp_level((uint8_t)block[0]) : 1;
    now->block_user = ok ? block[0] & ~FLASH_OPTR_RDP : ~0u;
    return FL_OK;
}

static fl_err opt_write(fl_target *t, const fl_opt_now *now, int level, uint32_t user)
{
    const fl_opt_family *o = &fl_family_of(t)->opt;
    fl_err e = fl_opt_unlock(t);
    if (e)
        return e;
    /* RM0351 3.4.2: clear stale flags (else PGSERR), write OPTR, OPTSTRT,
     * wait BSY. OPTVERR left from a bad load is cleared too. */
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, 0, FLASH_SR),
                         fl_sr_errors(fl_family_of(t)) | FLASH_SR_OPTVERR));
    uint32_t v = (user & ~FLASH_OPTR_RDP) | o->level_byte[level];
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, 0, FLASH_OPTR), v));
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, 0, FLASH_CR), FLASH_CR_OPTSTRT));
    bool regress = level == 0 && now->loaded.rdp == 1;
    return fl_wait_idle(t, 0, regress ? o->regress_ms : o->op_ms,
                        regress ? "RDP regression (mass erase)" : "option byte program",
                        fl_reg(t, 0, FLASH_OPTR));
}

/* What every variant shares: registers, keys, sequences, option access. */
#define L4G_COMMON                                                                                 \
    .stub = "l4x", .loader_setup = loader_setup, .erased = 0xFF, .program_unit = 8,                \
    .sr = FLASH_SR, .cr = FLASH_CR, .sr_eop = FLASH_SR_EOP, .sr_flags = sr_flags,                  \
    .keys = {{FLASH_KEYR, FLASH_KEY1, FLASH_KEY2, FLASH_CR_LOCK}}, .cr_lock = FLASH_CR_LOCK,       \
    .rdp_off = FLASH_OPTR, .rdp_mask = FLASH_OPTR_RDP, .rdp_clear = RDP_LEVEL0,                    \
    .bank_code_shift = 8, .erase = erase, .mass_erase = mass_erase, .settle = settle,              \
    .alt_layout = alt_layout, .cr_program = FLASH_CR_PG, .store_width = 4

#define L4G_OPT                                                                                    \
    .level_byte = {RDP_LEVEL0, RDP_LEVEL1}, .read = opt_read, .write = opt_write,                  \
    .optkeyr = FLASH_OPTKEYR, .lock_reg = FLASH_CR, .lock_bit = FLASH_CR_OPTLOCK,                  \
    .optkeys = {FLASH_OPTKEY1, FLASH_OPTKEY2}, .obl_reg = FLASH_CR, .obl_bit = FLASH_CR_OBL_LAUNCH

static const l4_variant l4 = {.cr_bker = 1u << FLASH_CR_BKER_SHIFT,
                              .opt_block = OPT_BLOCK_L4,
                              .wrp1ar = FLASH_WRP1AR,
                              .optr_layout = 1u << 21,
                              .layout_alt_when_set = true};

/* Times with margin over DS10198 Table 63: page erase 24.47 ms max, mass
 * erase 24.59 ms max. L4+ (DS12023) and G4 (DS12288) pages, 4 or 8 KiB,
 * stay within 100 ms. */
const fl_family fl_family_l4 = {
    L4G_COMMON,
    .name = "STM32L4 flash interface",
    .sr_busy = FLASH_SR_BSY,
    .erase_ms = 250,
    .mass_ms = 250,
    .opt = {L4G_OPT, .user_mask = FLASH_OPTR_USER, .op_ms = 100, .regress_ms = 200},
    .variant = &l4,
};

/* L4+ and G4: DBANK (b22) = 0 selects the one-bank layout; the option
 * block as the L4's. */
static const l4_variant l4p = {.cr_bker = 1u << FLASH_CR_BKER_SHIFT,
                               .opt_block = OPT_BLOCK_L4,
                               .wrp1ar = FLASH_WRP1AR,
                               .optr_layout = 1u << 22,
                               .layout_alt_when_set = false};

const fl_family fl_family_l4p = {
    L4G_COMMON,
    .name = "STM32L4+/G4 flash interface",
    .sr_busy = FLASH_SR_BSY,
    .erase_ms = 250,
    .mass_ms = 250,
    .opt = {L4G_OPT, .user_mask = FLASH_OPTR_USER, .op_ms = 100, .regress_ms = 200},
    .variant = &l4p,
};

/* G0, C0, U0: one or (G0B/G0C) two banks, BKER at b13, CFGBSY, EMPTY.
 * The option block is not read (its address differs between the lines):
 * what OPTR shows loaded stands for it, so a change always loads. User
 * option bits: everything above RDP that the RMs name (RM0444 3.7.8). */
static const l4_variant g0 = {.cr_bker = FLASH_CR_BKER_G0,
                              .wrp1ar = FLASH_WRP1AR,
                              .acr_empty = FLASH_ACR_EMPTY_G0,
                              .optr_layout = 1u << 21,
                              .layout_alt_when_set = true};

/* Times: page erase 40 ms max, mass erase 40 ms max (DS12232 G071 Table
 * 42), with margin. */
const fl_family fl_family_g0 = {
    L4G_COMMON,
    .name = "STM32G0/C0/U0 flash interface",
    .sr_busy = FLASH_SR_BSY | FLASH_SR_BSY2 | FLASH_SR_CFGBSY,
    .erase_ms = 250,
    .mass_ms = 250,
    .opt = {L4G_OPT, .user_mask = 0xFFFFFF00u, .op_ms = 100, .regress_ms = 200},
    .variant = &g0,
};

/* WB and WL: the controller at 0x58004000 (the line's), CFGBSY and PESD
 * (CPU2 holding the flash) as busy, one bank. */
static const l4_variant wb = {.wrp1ar = FLASH_WRP1AR, .acr_empty = FLASH_ACR_EMPTY_G0};

/* Times: WB 4 KiB page erase 22 ms typ, mass 22 ms (DS11929 Table 65), with
 * margin. */
const fl_family fl_family_wb = {
    L4G_COMMON,
    .name = "STM32WB/WL flash interface",
    .sr_busy = FLASH_SR_BSY | FLASH_SR_CFGBSY | FLASH_SR_PESD,
    .erase_ms = 250,
    .mass_ms = 250,
    .opt = {L4G_OPT, .user_mask = 0xFFFFFF00u, .op_ms = 100, .regress_ms = 200},
    .variant = &wb,
};
