/*
 * STM32F2/F4/F7 flash interface: RM0033 2.3-2.9 (F2), RM0090 3.5-3.9 (F405-
 * F439), RM0390 3.5-3.8 (F446); the other F4 manuals (RM0368, RM0383,
 * RM0401, RM0402, RM0430, RM0386) describe the same registers. Sectors
 * are erased by number (CR.SNB); on dual-bank parts bank 2's sectors are
 * numbered from 0x10 (SNB bit 4, RM0090 3.9.8), which bank_code_shift 4
 * gives the stub and the erase below. Programming and erasing run at x32
 * parallelism (PSIZE = 2), which needs 2.7-3.6 V (RM0090 3.5.2 table 7).
 *
 * The F7 (RM0410 3.7, RM0385 3.7, RM0431 3.7) has the same registers and
 * sequences; fl_family_f7 differs in data: SR b7 is ERSERR (erase sequence
 * error) where F2/F4 have PGSERR, the user option bits add WWDG_SW b4,
 * IWDG_STDBY b30 and IWDG_STOP b31, and its largest sectors are 256 KiB.
 * Flash is also mapped at 0x00200000 (ITCM); the loader uses the AXIM
 * address 0x08000000 only.
 */
#include "flash_internal.h"

/* Register offsets (RM0090 3.9). */
#define FLASH_KEYR    0x04u
#define FLASH_OPTKEYR 0x08u
#define FLASH_SR      0x0Cu
#define FLASH_CR      0x10u
#define FLASH_OPTCR   0x14u

/* FLASH_SR (RM0090 3.9.4). */
#define FLASH_SR_EOP    (1u << 0)
#define FLASH_SR_OPERR  (1u << 1)
#define FLASH_SR_WRPERR (1u << 4)
#define FLASH_SR_PGAERR (1u << 5)
#define FLASH_SR_PGPERR (1u << 6)
#define FLASH_SR_PGSERR (1u << 7)
#define FLASH_SR_RDERR  (1u << 8)
#define FLASH_SR_BSY    (1u << 16)

/* FLASH_CR (RM0090 3.9.5). */
#define FLASH_CR_PG        (1u << 0)
#define FLASH_CR_SER       (1u << 1)
#define FLASH_CR_MER       (1u << 2)
#define FLASH_CR_SNB_SHIFT 3
#define FLASH_CR_PSIZE_X32 (2u << 8)
#define FLASH_CR_MER1      (1u << 15) /* bank 2 on dual-bank parts */
#define FLASH_CR_STRT      (1u << 16)
#define FLASH_CR_LOCK      (1u << 31)

/* FLASH_OPTCR (RM0090 3.9.6). */
#define FLASH_OPTCR_OPTLOCK   (1u << 0)
#define FLASH_OPTCR_OPTSTRT   (1u << 1)
#define FLASH_OPTCR_USER      0xECu /* BOR_LEV b3:2, WDG_SW b5, nRST_STOP b6, nRST_STDBY b7 */
#define FLASH_OPTCR_RDP_SHIFT 8
#define FLASH_OPTCR_RDP_MASK  0xFF00u
#define FLASH_OPTCR_NWRP      0x0FFF0000u
#define FLASH_OPTCR_SPRMOD    (1u << 31)

/* Keys (RM0090 3.6.1, 3.7.2). */
#define FLASH_KEY1    0x45670123u
#define FLASH_KEY2    0xCDEF89ABu
#define FLASH_OPTKEY1 0x08192A3Bu
#define FLASH_OPTKEY2 0x4C5D6E7Fu

#define RDP_LEVEL0 0xAAu
#define RDP_LEVEL1 0x55u /* any byte but 0xAA and 0xCC: the HAL's value */

static const fl_flag sr_flags[] = {
    {FLASH_SR_OPERR, "OPERR", FL_E_FLASH, "the operation failed; power-cycle the board and retry"},
    {FLASH_SR_WRPERR, "WRPERR", FL_E_PROTECTED,
     "the sector is write-protected; set its nWRP option bit (or regress RDP)"},
    {FLASH_SR_PGAERR, "PGAERR", FL_E_FLASH,
     "a program crossed a 128-bit row; report it, this is a loader bug"},
    {FLASH_SR_PGPERR, "PGPERR", FL_E_FLASH,
     "the program width did not match PSIZE; the supply may be below 2.7 V"},
    {FLASH_SR_PGSERR, "PGSERR", FL_E_FLASH,
     "programming sequence error; reset the board and retry"},
    {FLASH_SR_RDERR, "RDERR", FL_E_PROTECTED, "read of a PCROP sector; clear PCROP"},
    {0, NULL, FL_OK, NULL},
};

/* FLASH_SR of the F7 (RM0410 3.7.5): ERSERR b7 in place of PGSERR. */
#define FLASH_SR_ERSERR (1u << 7)
static const fl_flag sr_flags_f7[] = {
    {FLASH_SR_OPERR, "OPERR", FL_E_FLASH, "the operation failed; power-cycle the board and retry"},
    {FLASH_SR_WRPERR, "WRPERR", FL_E_PROTECTED,
     "the sector is write-protected; set its nWRP option bit (or regress RDP)"},
    {FLASH_SR_PGAERR, "PGAERR", FL_E_FLASH,
     "a program crossed a 128-bit row; report it, this is a loader bug"},
    {FLASH_SR_PGPERR, "PGPERR", FL_E_FLASH,
     "the program width did not match PSIZE; the supply may be below 2.7 V"},
    {FLASH_SR_ERSERR, "ERSERR", FL_E_FLASH, "erase sequence error; reset the board and retry"},
    {FLASH_SR_RDERR, "RDERR", FL_E_PROTECTED, "read of a PCROP sector; clear PCROP"},
    {0, NULL, FL_OK, NULL},
};

/* F7 user option bits in FLASH_OPTCR (RM0410 3.7.7): BOR_LEV b3:2,
 * WWDG_SW b4, IWDG_SW b5, nRST_STOP b6, nRST_STDBY b7, IWDG_STDBY b30,
 * IWDG_STOP b31. nDBANK b29 and nDBOOT b28 change the sector map and the
 * boot and are left alone. */
#define FLASH_OPTCR_USER_F7 0xC00000FCu

static uint32_t snb(const fl_unit *u)
{
    return u->index_in_bank | u->bank << 4;
}

/* RM0090 3.6.3: SER, SNB, PSIZE (the erase parallelism), STRT. */
static fl_err erase(fl_target *t, const fl_unit *u)
{
    uint32_t cr = FLASH_CR_SER | snb(u) << FLASH_CR_SNB_SHIFT | FLASH_CR_PSIZE_X32;
    return fl_ctrl_run(t, 0, cr, FLASH_CR_STRT, fl_family_of(t)->erase_ms, "sector erase", u->addr);
}

/* RM0090 3.6.3: MER (bank 1), MER1 (bank 2 of dual-bank parts). */
static fl_err mass_erase(fl_target *t)
{
    uint32_t cr = FLASH_CR_MER | FLASH_CR_PSIZE_X32 |
                  (fl_chip_banks(t->chip, t->flash_size) > 1 ? FLASH_CR_MER1 : 0);
    return fl_ctrl_run(t, 0, cr, FLASH_CR_STRT, fl_family_of(t)->mass_ms, "mass erase",
                       t->chip->line->flash_base);
}

/* F42x/F43x and F469/F479 with 1 MiB: FLASH_OPTCR.DB1M (b30) makes two
 * banks of 512 KiB (RM0090 3.9.10). */
#define FLASH_OPTCR_DB1M (1u << 30)
/* F76x/F77x: FLASH_OPTCR.nDBANK (b29) clear makes two banks (RM0410
 * 3.3.2). */
#define FLASH_OPTCR_NDBANK (1u << 29)

static fl_err dual_bank_f4(fl_target *t, bool *dual)
{
    return fl_reg_bit(t, FLASH_OPTCR, FLASH_OPTCR_DB1M, true, dual);
}

static fl_err dual_bank_f7(fl_target *t, bool *dual)
{
    return fl_reg_bit(t, FLASH_OPTCR, FLASH_OPTCR_NDBANK, false, dual);
}

/* FLASH_ACR (RM0090 3.9.1, RM0033 2.9.1): the instruction and data caches
 * of the flash interface. Firmware (ST's HAL by default) turns them on; a
 * line cached before an erase would be read back by the loader's CRC after
 * it, so they go off and are reset while the loader works (RM0090 3.5.2:
 * "the cache content must be flushed"). The next reset turns them back to
 * firmware. */
#define FLASH_ACR       0x00u
#define FLASH_ACR_ICEN  (1u << 9)
#define FLASH_ACR_DCEN  (1u << 10)
#define FLASH_ACR_ICRST (1u << 11)
#define FLASH_ACR_DCRST (1u << 12)

static fl_err prepare_f4(fl_target *t)
{
    uint32_t acr = 0, at = fl_reg(t, 0, FLASH_ACR);
    PD_TRY(t, pd_read32(t->probe, at, &acr));
    if (!(acr & (FLASH_ACR_ICEN | FLASH_ACR_DCEN)))
        return FL_OK; /* off since reset: nothing cached */
    acr &= ~(FLASH_ACR_ICEN | FLASH_ACR_DCEN);
    PD_TRY(t, pd_write32(t->probe, at, acr));
    PD_TRY(t, pd_write32(t->probe, at, acr | FLASH_ACR_ICRST | FLASH_ACR_DCRST));
    PD_TRY(t, pd_write32(t->probe, at, acr));
    return FL_OK;
}

/* F7 (RM0410 3.7.1): the ART accelerator on the ITCM path, reset only
 * while off (ARTEN b9, ARTRST b11); and the Cortex-M7's own L1 caches,
 * which cache AXIM flash reads once firmware enables them (ARMv7-M ARM
 * B2.2.7; SCB->CCR IC b17, DC b16, Cortex-M7 TRM 4.3.5). With them off the
 * core reads flash itself; the loader's buffers sit in DTCM, which is
 * never cached. */
#define FLASH_ACR_ARTEN  (1u << 9)
#define FLASH_ACR_ARTRST (1u << 11)
#define SCB_CCR          0xE000ED14u
#define SCB_CCR_DC       (1u << 16)
#define SCB_CCR_IC       (1u << 17)

static fl_err prepare_f7(fl_target *t)
{
    uint32_t acr = 0, ccr = 0, at = fl_reg(t, 0, FLASH_ACR);
    PD_TRY(t, pd_read32(t->probe, SCB_CCR, &ccr));
    if (ccr & (SCB_CCR_DC | SCB_CCR_IC))
        PD_TRY(t, pd_write32(t->probe, SCB_CCR, ccr & ~(SCB_CCR_DC | SCB_CCR_IC)));
    PD_TRY(t, pd_read32(t->probe, at, &acr));
    if (!(acr & FLASH_ACR_ARTEN))
        return FL_OK;
    acr &= ~FLASH_ACR_ARTEN;
    PD_TRY(t, pd_write32(t->probe, at, acr));
    PD_TRY(t, pd_write32(t->probe, at, acr | FLASH_ACR_ARTRST));
    PD_TRY(t, pd_write32(t->probe, at, acr));
    return FL_OK;
}

/* ---- option bytes (RM0090 3.7) ---------------------------------------------- */

static fl_err opt_read(fl_target *t, fl_opt_now *now)
{
    uint32_t optcr = 0;
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTCR), &optcr));
    /* OPTCR shows the option bytes as loaded at reset and, after an
     * OPTSTRT, as programmed (RM0090 3.9.10): the block and the loaded
     * state are not told apart; a change always loads after writing. */
    now->loaded = (fl_options){
        .rdp = fl_rdp_level((uint8_t)(optcr >> FLASH_OPTCR_RDP_SHIFT)),
        .user = optcr & fl_family_of(t)->opt.user_mask,
        .wrp = (optcr & (FLASH_OPTCR_NWRP | FLASH_OPTCR_SPRMOD)) >> 16,
        .valid = true,
    };
    now->block_rdp = now->loaded.rdp;
    now->block_user = now->loaded.user;
    return FL_OK;
}

static fl_err opt_write(fl_target *t, const fl_opt_now *now, int level, uint32_t user)
{
    const fl_opt_family *o = &fl_family_of(t)->opt;
    /* CR unlocked too: PSIZE sets the erase parallelism (RM0090 3.6.2),
     * and a 1 -> 0 regression mass-erases during OPTSTRT. */
    fl_err e = fl_opt_unlock(t);
    if (e)
        return e;
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, 0, FLASH_CR), FLASH_CR_PSIZE_X32));
    uint32_t optcr = 0, at = fl_reg(t, 0, FLASH_OPTCR);
    PD_TRY(t, pd_read32(t->probe, at, &optcr));
    uint32_t v = (optcr & ~(FLASH_OPTCR_RDP_MASK | o->user_mask | FLASH_OPTCR_OPTSTRT)) |
                 (uint32_t)o->level_byte[level] << FLASH_OPTCR_RDP_SHIFT | (user & o->user_mask);
    /* RM0090 3.7.2: write OPTCR, then set OPTSTRT, wait BSY. */
    PD_TRY(t, pd_write32(t->probe, at, v));
    PD_TRY(t, pd_write32(t->probe, at, v | FLASH_OPTCR_OPTSTRT));
    bool regress = level == 0 && now->loaded.rdp == 1;
    e = fl_wait_idle(t, 0, regress ? o->regress_ms : o->op_ms,
                     regress ? "RDP regression (mass erase)" : "option byte program", at);
    PD_TRY(t, pd_write32(t->probe, at, v | FLASH_OPTCR_OPTLOCK));
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, 0, FLASH_CR), 0));
    return e;
}

/* What the F2/F4 and F7 descriptors share: the registers, keys, sequences
 * and option-byte access. */
#define FPEC4_COMMON                                                                               \
    .stub = "f4", .erased = 0xFF, .program_unit = 4, .sr = FLASH_SR, .cr = FLASH_CR,               \
    .sr_busy = FLASH_SR_BSY, .sr_eop = FLASH_SR_EOP,                                               \
    .keys = {{FLASH_KEYR, FLASH_KEY1, FLASH_KEY2, FLASH_CR_LOCK}}, .cr_lock = FLASH_CR_LOCK,       \
    .rdp_off = FLASH_OPTCR, .rdp_mask = FLASH_OPTCR_RDP_MASK,                                      \
    .rdp_clear = RDP_LEVEL0 << FLASH_OPTCR_RDP_SHIFT, .bank_code_shift = 4, .erase = erase,        \
    .mass_erase = mass_erase, .cr_program = FLASH_CR_PG | FLASH_CR_PSIZE_X32, .store_width = 4

#define FPEC4_OPT                                                                                  \
    .level_byte = {RDP_LEVEL0, RDP_LEVEL1}, .op_ms = 2000, .read = opt_read, .write = opt_write,   \
    .optkeyr = FLASH_OPTKEYR, .lock_reg = FLASH_OPTCR, .lock_bit = FLASH_OPTCR_OPTLOCK,            \
    .optkeys = {FLASH_OPTKEY1, FLASH_OPTKEY2}

/* Times: a 128 KiB sector erases in 2 s max at x32 (DS8626 F407 Table 43:
 * 4 s with margin for x8 parts sharing the row); mass erase 16 s max for 1
 * MiB at x32 (DS8626), 32 s for 2 MiB (DS9405 F429); OPTSTRT erases the
 * option sector, a regression the whole array. */
const fl_family fl_family_f4 = {
    FPEC4_COMMON,          .name = "STM32F2/F4 flash interface",
    .sr_flags = sr_flags,  .erase_ms = 4000,
    .mass_ms = 33000,      .alt_layout = dual_bank_f4,
    .prepare = prepare_f4, .opt = {FPEC4_OPT, .user_mask = FLASH_OPTCR_USER, .regress_ms = 33000},
};

/* Times: a 256 KiB sector erases in 4 s max at x32 (DS10916 F746 Table
 * 51: 128 KiB 2 s), mass erase 16 s max per MiB. */
const fl_family fl_family_f7 = {
    FPEC4_COMMON,
    .name = "STM32F7 flash interface",
    .sr_flags = sr_flags_f7,
    .erase_ms = 8000,
    .mass_ms = 40000,
    .alt_layout = dual_bank_f7,
    .prepare = prepare_f7,
    .opt = {FPEC4_OPT, .user_mask = FLASH_OPTCR_USER_F7, .regress_ms = 40000},
};
