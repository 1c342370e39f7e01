/*
 * STM32F1 flash program/erase controller (FPEC): RM0008 3.3-3.4 and 3.4.1-
 * 3.4.8 (registers), PM0075 2.3-2.5 (sequences, option bytes). XL-density
 * parts (RM0008 3.3.3 "XL-density devices") have a second register block
 * for bank 2 at +0x40 (FLASH_KEYR2, SR2, CR2, AR2), given by the chip row.
 */
#include "flash_internal.h"

#include <string.h>

/* Register offsets (RM0008 3.4). */
#define FLASH_KEYR    0x04u
#define FLASH_OPTKEYR 0x08u
#define FLASH_SR      0x0Cu
#define FLASH_CR      0x10u
#define FLASH_AR      0x14u
#define FLASH_OBR     0x1Cu
#define FLASH_WRPR    0x20u

/* FLASH_SR (RM0008 3.4.3). */
#define FLASH_SR_BSY      (1u << 0)
#define FLASH_SR_PGERR    (1u << 2)
#define FLASH_SR_WRPRTERR (1u << 4)
#define FLASH_SR_EOP      (1u << 5)

/* FLASH_CR (RM0008 3.4.4). */
#define FLASH_CR_PG     (1u << 0)
#define FLASH_CR_PER    (1u << 1)
#define FLASH_CR_MER    (1u << 2)
#define FLASH_CR_OPTPG  (1u << 4)
#define FLASH_CR_OPTER  (1u << 5)
#define FLASH_CR_STRT   (1u << 6)
#define FLASH_CR_LOCK   (1u << 7)
#define FLASH_CR_OPTWRE (1u << 9)

/* FLASH_OBR (RM0008 3.4.7): OPTERR b0, RDPRT b1, USER b9:2. */
#define FLASH_OBR_OPTERR     (1u << 0)
#define FLASH_OBR_RDPRT      (1u << 1)
#define FLASH_OBR_USER_SHIFT 2
#define FLASH_OBR_USER_MASK  0xFFu

/* F0/F3 (RM0091 4.1, 4.4.5-4.4.6; RM0316 4.5.5): FLASH_CR.OBL_LAUNCH b13
 * reloads the option bytes and resets the chip; FLASH_OBR holds RDPRT in
 * b2:1 (b1 level 1, b2 level 2) and the USER byte in b15:8; the RDP byte
 * is 0xAA for level 0, 0xCC for level 2, anything else level 1. */
#define FLASH_CR_OBL_LAUNCH       (1u << 13)
#define FLASH_OBR_RDPRT_F0        (3u << 1)
#define FLASH_OBR_RDPRT_LEVEL2_F0 (1u << 2)
#define FLASH_OBR_USER_SHIFT_F0   8

/* FPEC keys (RM0008 3.3.1; the same pair opens OPTWRE through OPTKEYR). */
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu

/* The option block: RDP, USER, DATA0, DATA1, WRP0-3, each byte followed
 * by its complement (PM0075 2.5). RDP 0xA5 is level 0, any other byte
 * (the erased 0xFF too) level 1. */
#define OPT_BASE       0x1FFFF800u
#define OPT_RDP_LEVEL0 0xA5u

static const fl_flag sr_flags[] = {
    {FLASH_SR_PGERR, "PGERR", FL_E_FLASH,
     "programmed a half-word that was not erased; erase the page and retry"},
    {FLASH_SR_WRPRTERR, "WRPRTERR", FL_E_PROTECTED,
     "the page is write-protected; clear its WRP option bit (or regress RDP)"},
    {0, NULL, FL_OK, NULL},
};

/* RM0008 3.3.4 / PM0075 2.3.4: PER, AR = an address in the page, STRT. */
static fl_err erase(fl_target *t, const fl_unit *u)
{
    uint32_t bank = fl_bank_of(t, u->addr);
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, bank, FLASH_CR), FLASH_CR_PER));
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, bank, FLASH_AR), u->addr));
    return fl_ctrl_run(t, bank, FLASH_CR_PER, FLASH_CR_STRT, fl_family_of(t)->erase_ms,
                       "page erase", u->addr);
}

/* PM0075 2.3.5: MER, STRT; XL parts erase each bank through its block.
 * stlink notes the F030 drops MER when PG is set: fl_ctrl_run writes CR
 * whole, PG clear. */
static fl_err mass_erase(fl_target *t)
{
    fl_err e = FL_OK;
    for (uint32_t bank = 0; e == FL_OK && bank < fl_reg_blocks(t); bank++)
        e = fl_ctrl_run(t, bank, FLASH_CR_MER, FLASH_CR_STRT, fl_family_of(t)->mass_ms,
                        "mass erase", t->chip->line->flash_base);
    return e;
}

/* ---- option bytes --------------------------------------------------------- */

/* Reads OBR, WRPR and the option block. */
static fl_err opt_regs(fl_target *t, uint32_t *obr, fl_opt_now *now, uint8_t block[16])
{
    uint32_t wrpr = 0;
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OBR), obr));
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_WRPR), &wrpr));
    PD_TRY(t, pd_mem_read(t->probe, OPT_BASE, block, 16));
    now->loaded.wrp = wrpr;
    now->loaded.valid = !(*obr & FLASH_OBR_OPTERR);
    now->block_user = block[2];
    return FL_OK;
}

static fl_err opt_read(fl_target *t, fl_opt_now *now)
{
    uint32_t obr = 0;
    uint8_t block[16];
    fl_err e = opt_regs(t, &obr, now, block);
    if (e)
        return e;
    now->loaded.rdp = (obr & FLASH_OBR_RDPRT) ? 1 : 0;
    now->loaded.user = (obr >> FLASH_OBR_USER_SHIFT) & FLASH_OBR_USER_MASK;
    now->block_rdp = block[0] == OPT_RDP_LEVEL0 ? 0 : 1;
    return FL_OK;
}

static fl_err opt_read_f0(fl_target *t, fl_opt_now *now)
{
    uint32_t obr = 0;
    uint8_t block[16];
    fl_err e = opt_regs(t, &obr, now, block);
    if (e)
        return e;
    now->loaded.rdp = (obr & FLASH_OBR_RDPRT_LEVEL2_F0) ? 2 : (obr & FLASH_OBR_RDPRT_F0) ? 1 : 0;
    now->loaded.user = (obr >> FLASH_OBR_USER_SHIFT_F0) & FLASH_OBR_USER_MASK;
    now->block_rdp = fl_rdp_level(block[0]);
    return FL_OK;
}

/* PM0075 2.5: the block is erased as a whole (OPTER) and programmed by
 * half-words (OPTPG), the FPEC writing each complement itself; so any
 * change rewrites all eight bytes, each from what the block held. */
static fl_err opt_write(fl_target *t, const fl_opt_now *now, int level, uint32_t user)
{
    const fl_opt_family *o = &fl_family_of(t)->opt;
    if (!pd_get_limits(t->probe)->has_mem16)
        return fl_fail(t, FL_E_PROBE,
                       "the option bytes take half-word writes only, which this probe's firmware "
                       "(V2 before J26) cannot do; update the ST-LINK firmware");
    uint8_t block[16];
    PD_TRY(t, pd_mem_read(t->probe, OPT_BASE, block, sizeof block));
    uint8_t v[8];
    for (int i = 0; i < 8; i++)
        v[i] = block[2 * i];
    v[0] = o->level_byte[level];
    v[1] = (uint8_t)user;
    fl_err e = fl_opt_unlock(t);
    if (e)
        return e;
    /* OPTWRE is cleared by writing 0 to it: keep it set in every CR write. */
    uint32_t cr = fl_reg(t, 0, FLASH_CR);
    PD_TRY(t, pd_write32(t->probe, cr, FLASH_CR_OPTWRE | FLASH_CR_OPTER));
    PD_TRY(t, pd_write32(t->probe, cr, FLASH_CR_OPTWRE | FLASH_CR_OPTER | FLASH_CR_STRT));
    e = fl_wait_idle(t, 0, o->op_ms, "option byte erase", OPT_BASE);
    if (e == FL_OK)
        PD_TRY(t, pd_write32(t->probe, cr, FLASH_CR_OPTWRE | FLASH_CR_OPTPG));
    /* RDP first: writing 0xA5 over a protected chip mass-erases main flash
     * before the byte is programmed (PM0075 2.4.1). All eight, also the
     * 0xFF ones, so that every byte has its complement (OBR.OPTERR). */
    for (int i = 0; e == FL_OK && i < 8; i++) {
        uint16_t hw = v[i];
        uint32_t at = OPT_BASE + 2u * (uint32_t)i;
        PD_TRY(t, pd_mem_write_w(t->probe, 2, at, &hw, 2));
        bool regress = i == 0 && level == 0 && now->loaded.rdp;
        e = fl_wait_idle(t, 0, regress ? o->regress_ms : o->op_ms, "option byte program", at);
    }
    /* CR = 0 drops OPTPG and OPTWRE. */
    PD_TRY(t, pd_write32(t->probe, cr, 0));
    return e;
}

/* What the F1 and F0/F3 descriptors share. Times, with margin over DS5319
 * Table 28 (page erase 40 ms max, mass erase 40 ms max, half-word 70 us
 * max; XL parts erase 2 KiB pages, still within 40 ms, DS5792 Table 28),
 * DS9773 (F072) and DS9118 (F303xC) Table 38 (page and mass erase 40 ms
 * max, half-word 40 us max). */
#define FPEC_COMMON                                                                                \
    .stub = "f1", .erased = 0xFF, .program_unit = 2, .sr = FLASH_SR, .cr = FLASH_CR,               \
    .sr_busy = FLASH_SR_BSY, .sr_eop = FLASH_SR_EOP, .sr_flags = sr_flags,                         \
    .keys = {{FLASH_KEYR, FLASH_KEY1, FLASH_KEY2, FLASH_CR_LOCK}}, .cr_lock = FLASH_CR_LOCK,       \
    .rdp_off = FLASH_OBR, .rdp_clear = 0, .bank_code_shift = 8, .erase_ms = 200, .mass_ms = 200,   \
    .erase = erase, .mass_erase = mass_erase, .cr_program = FLASH_CR_PG, .store_width = 2

#define FPEC_OPT                                                                                   \
    .user_mask = 0xFFu, .op_ms = 100, .regress_ms = 200, .write = opt_write,                       \
    .optkeyr = FLASH_OPTKEYR, .lock_reg = FLASH_CR, .lock_bit = FLASH_CR_OPTWRE,                   \
    .optkeys = {FLASH_KEY1, FLASH_KEY2}, .lock_bit_opens = true

const fl_family fl_family_f1 = {
    FPEC_COMMON,
    .name = "STM32F1 FPEC",
    .rdp_mask = FLASH_OBR_RDPRT,
    .opt = {FPEC_OPT, .level_byte = {OPT_RDP_LEVEL0, 0x00}, .read = opt_read},
};

/* F0 and F3: F1's controller with OBL_LAUNCH and the F0 option layout. */
const fl_family fl_family_f0 = {
    FPEC_COMMON,
    .name = "STM32F0/F3 FPEC",
    .rdp_mask = FLASH_OBR_RDPRT_F0,
    .opt = {FPEC_OPT, .level_byte = {0xAA, 0xBB}, .read = opt_read_f0, .obl_reg = FLASH_CR,
            .obl_bit = FLASH_CR_OBL_LAUNCH},
};
