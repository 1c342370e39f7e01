/*
 * Option bytes and readout protection, per family (see flash.h). Each
 * family reads its loaded options, writes a new option block, and loads it;
 * the common code decides what has to be written at all, because option
 * flash wears out after a few thousand cycles (DS5319 Table 29 gives 10
 * kcycles for the whole F103 flash) and a production line calls this for
 * every unit.
 *
 * References: RM0008 2.5 and 3.4.7-3.4.8 with PM0075 2.4-2.5 (F1), RM0090
 * 3.7 / RM0390 3.6-3.7 (F4), RM0367 3.4 and 3.7 (L0), RM0351 3.4 and 3.7
 * (L4).
 */
#define _POSIX_C_SOURCE 200809L
#include "flash_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DHCSR_KEY          0xA05F0000u
#define DHCSR_C_DEBUGEN    (1u << 0)
#define DEMCR_VC_CORERESET (1u << 0)
#define DEMCR_TRCENA       (1u << 24)

/* How long a system reset or OBL_LAUNCH may take to show on DHCSR. */
#define LOAD_WAIT_MS 2000u

/* ---- helpers (errors: flash_internal.h) ---------------------------------- */

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

static uint32_t reg(const fl_target *t, uint32_t off)
{
    return t->chip->flash_regs + off;
}

/* RDP byte -> level on the F2/F4/L0/L4 encoding: 0xAA level 0, 0xCC level
 * 2, anything else level 1 (RM0090 3.7.3, RM0367 3.4.1, RM0351 3.5.1). */
static int level_of(uint8_t rdp)
{
    return rdp == 0xAA ? 0 : rdp == 0xCC ? 2 : 1;
}

/* ---- the family table -------------------------------------------------------- */

/* What the chip has in force and what its option block holds (the block
 * loads at the next reset or OBL_LAUNCH; they differ after a write that
 * was not loaded yet). */
typedef struct opt_now {
    fl_options loaded;
    int block_rdp;
    uint32_t block_user; /* in fl_options.user's layout */
} opt_now;

typedef struct opt_family {
    uint32_t sr, busy, errors; /* FLASH_SR offset, BSY, error flags */
    uint32_t wrp_errors;       /* the flags that mean "protected" */
    uint8_t level_byte[2];     /* RDP byte written for level 0 and 1 */
    uint32_t user_mask;        /* bits of fl_options.user software may change */
    uint32_t op_ms;            /* an option write, by the datasheet, with margin */
    uint32_t regress_ms;       /* an option write that mass-erases (1 -> 0) */
    fl_err (*read)(fl_target *t, opt_now *now);
    fl_err (*write)(fl_target *t, const opt_now *now, int level, uint32_t user);
    /* Option unlock: two keys into OPTKEYR open the lock register's bit
     * (F1: set OPTWRE; the others: clear OPTLOCK). */
    uint32_t optkeyr, lock_reg, lock_bit, optkeys[2];
    bool lock_bit_opens;
    bool obl_launch; /* load with OBL_LAUNCH (else a system reset) */
    uint32_t obl_reg, obl_bit;
} opt_family;

static const opt_family *family_of(const fl_target *t);

/* Wait while BSY, then check the error flags; timeout_ms is the
 * controller's worst case, the deadline adds the link's own slowness. An
 * error is cleared and reported. */
static fl_err wait_idle(fl_target *t, uint32_t timeout_ms, const char *what)
{
    const opt_family *f = family_of(t);
    uint64_t start = fl_now_ms(), deadline = start + timeout_ms + 1000u;
    uint32_t sr = 0;
    for (;;) {
        PD_TRY(t, pd_read32(t->probe, reg(t, f->sr), &sr));
        if (!(sr & f->busy))
            break;
        if (fl_now_ms() > deadline)
            return fl_fail(t, FL_E_TIMEOUT,
                           "%s: flash still busy after %u ms (FLASH_SR 0x%08X); power-cycle the "
                           "board and read the options again before retrying",
                           what, (unsigned)(fl_now_ms() - start), sr);
        /* Long operations (an option erase, a mass erase) are polled gently:
         * the probe is shared with nothing, but the USB bus is. */
        if (fl_now_ms() - start > 5)
            sleep_ms(1);
    }
    if (sr & f->errors) {
        PD_TRY(t, pd_write32(t->probe, reg(t, f->sr), sr & f->errors));
        return fl_fail(t, (sr & f->wrp_errors) ? FL_E_PROTECTED : FL_E_FLASH,
                       "%s failed: FLASH_SR 0x%08X%s", what, sr,
                       (sr & f->wrp_errors) ? " (option bytes refused: level 2, or locked)"
                                            : "; power-cycle the board and retry");
    }
    return FL_OK;
}

/* Main lock first (fl_unlock: OPTKEYR only takes keys once CR/PECR is
 * unlocked, RM0008 3.3.3, RM0367 3.3.1, RM0351 3.3.5), then the option
 * keys, only when still locked: a key written to an open register is a
 * wrong sequence on F4/L0/L4 and locks it until reset. */
static fl_err opt_unlock(fl_target *t)
{
    const opt_family *f = family_of(t);
    fl_err e = fl_unlock(t);
    if (e)
        return e;
    uint32_t v = 0;
    PD_TRY(t, pd_read32(t->probe, reg(t, f->lock_reg), &v));
    if (((v & f->lock_bit) != 0) == f->lock_bit_opens) /* already open */
        return FL_OK;
    PD_TRY(t, pd_write32(t->probe, reg(t, f->optkeyr), f->optkeys[0]));
    PD_TRY(t, pd_write32(t->probe, reg(t, f->optkeyr), f->optkeys[1]));
    PD_TRY(t, pd_read32(t->probe, reg(t, f->lock_reg), &v));
    if (((v & f->lock_bit) != 0) != f->lock_bit_opens)
        return fl_fail(
            t, FL_E_PROTECTED,
            "option bytes stay locked after the OPTKEYR keys (0x%08X at 0x%08X); reset the "
            "board and retry",
            v, reg(t, f->lock_reg));
    return FL_OK;
}

/* ---- F1 (RM0008 3.4.7 OBR, 3.4.8 WRPR; PM0075 2.4-2.5) ------------------------- */

#define F1_OPTKEYR   0x08
#define F1_SR        0x0C
#define F1_CR        0x10
#define F1_OBR       0x1C
#define F1_WRPR      0x20
#define F1_CR_OPTPG  (1u << 4)
#define F1_CR_OPTER  (1u << 5)
#define F1_CR_STRT   (1u << 6)
#define F1_CR_OPTWRE (1u << 9)
#define F1_OPT_BASE  0x1FFFF800u /* RDP, USER, DATA0, DATA1, WRP0-3: value + complement */

static fl_err f1_read(fl_target *t, opt_now *now)
{
    uint32_t obr = 0, wrpr = 0;
    uint8_t block[16];
    PD_TRY(t, pd_read32(t->probe, reg(t, F1_OBR), &obr));
    PD_TRY(t, pd_read32(t->probe, reg(t, F1_WRPR), &wrpr));
    PD_TRY(t, pd_mem_read(t->probe, F1_OPT_BASE, block, sizeof block));
    /* OBR: OPTERR b0, RDPRT b1, USER b9:2 (RM0008 3.4.7). F1 RDP: 0xA5 is
     * unprotected, any other byte (the erased 0xFF too) protected. */
    now->loaded = (fl_options){
        .rdp = (obr >> 1) & 1, .user = (obr >> 2) & 0xFF, .wrp = wrpr, .valid = !(obr & 1)};
    now->block_rdp = block[0] == 0xA5 ? 0 : 1;
    now->block_user = block[2];
    return FL_OK;
}

/* PM0075 2.5: the block is erased as a whole (OPTER) and programmed by
 * half-words (OPTPG), the FPEC writing each complement itself; so any
 * change rewrites all eight bytes, each from what the block held. */
static fl_err f1_write(fl_target *t, const opt_now *now, int level, uint32_t user)
{
    if (!pd_get_limits(t->probe)->has_mem16)
        return fl_fail(
            t, FL_E_PROBE,
            "the F1 option bytes take half-word writes only, which this probe's firmware "
            "(V2 before J26) cannot do; update the ST-LINK firmware");
    uint8_t block[16];
    PD_TRY(t, pd_mem_read(t->probe, F1_OPT_BASE, block, sizeof block));
    uint8_t v[8];
    for (int i = 0; i < 8; i++)
        v[i] = block[2 * i];
    v[0] = family_of(t)->level_byte[level];
    v[1] = (uint8_t)user;
    fl_err e = opt_unlock(t);
    if (e)
        return e;
    /* OPTWRE is cleared by writing 0 to it: keep it set in every CR write. */
    PD_TRY(t, pd_write32(t->probe, reg(t, F1_CR), F1_CR_OPTWRE | F1_CR_OPTER));
    PD_TRY(t, pd_write32(t->probe, reg(t, F1_CR), F1_CR_OPTWRE | F1_CR_OPTER | F1_CR_STRT));
    e = wait_idle(t, family_of(t)->op_ms, "option byte erase");
    if (e == FL_OK)
        PD_TRY(t, pd_write32(t->probe, reg(t, F1_CR), F1_CR_OPTWRE | F1_CR_OPTPG));
    /* RDP first: writing 0xA5 over a protected chip mass-erases main flash
     * before the byte is programmed (PM0075 2.4.1). All eight, also the
     * 0xFF ones, so that every byte has its complement (OBR.OPTERR). */
    for (int i = 0; e == FL_OK && i < 8; i++) {
        uint16_t hw = v[i];
        PD_TRY(t, pd_mem_write_w(t->probe, 2, F1_OPT_BASE + 2u * (uint32_t)i, &hw, 2));
        bool erase = i == 0 && level == 0 && now->loaded.rdp;
        e = wait_idle(t, erase ? family_of(t)->regress_ms : family_of(t)->op_ms,
                      "option byte program");
    }
    /* CR = 0 drops OPTPG and OPTWRE. */
    PD_TRY(t, pd_write32(t->probe, reg(t, F1_CR), 0));
    return e;
}

/* ---- F4 (RM0390 3.6-3.7; RM0090 3.7 is the same design) ----------------------- */

#define F4_OPTKEYR        0x08
#define F4_CR             0x10
#define F4_OPTCR          0x14
#define F4_OPTCR_OPTLOCK  (1u << 0)
#define F4_OPTCR_OPTSTRT  (1u << 1)
#define F4_OPTCR_USER     0xECu /* BOR_LEV b3:2, WDG_SW b5, nRST_STOP b6, nRST_STDBY b7 */
#define F4_CR_PSIZE_X32   (2u << 8)
#define F4_LEVEL1_BYTE    0x55u /* any byte but 0xAA and 0xCC: the HAL's value */
#define F4_OPTCR_RDP_MASK 0xFF00u

static fl_err f4_read(fl_target *t, opt_now *now)
{
    uint32_t optcr = 0;
    PD_TRY(t, pd_read32(t->probe, reg(t, F4_OPTCR), &optcr));
    /* OPTCR shows the option bytes as loaded at reset and, after an
     * OPTSTRT, as programmed (RM0090 3.9.10): the block and the loaded
     * state are not told apart; set_rdp always loads after writing. */
    now->loaded = (fl_options){.rdp = level_of((uint8_t)(optcr >> 8)),
                               .user = optcr & F4_OPTCR_USER,
                               .wrp = (optcr >> 16) & 0x80FFu,
                               .valid = true};
    now->block_rdp = now->loaded.rdp;
    now->block_user = now->loaded.user;
    return FL_OK;
}

static fl_err f4_write(fl_target *t, const opt_now *now, int level, uint32_t user)
{
    /* CR unlocked too: PSIZE sets the erase parallelism (RM0090 3.6.2), and
     * a 1 -> 0 regression mass-erases during OPTSTRT: x32 (2.7-3.6 V, as
     * for programming) makes that erase 4 s instead of 8 s (DS10693) [U:
     * that the regression erase honours PSIZE]. */
    fl_err e = opt_unlock(t);
    if (e)
        return e;
    PD_TRY(t, pd_write32(t->probe, reg(t, F4_CR), F4_CR_PSIZE_X32));
    uint32_t optcr = 0;
    PD_TRY(t, pd_read32(t->probe, reg(t, F4_OPTCR), &optcr));
    uint32_t v = (optcr & ~(F4_OPTCR_RDP_MASK | F4_OPTCR_USER | F4_OPTCR_OPTSTRT)) |
                 (uint32_t)family_of(t)->level_byte[level] << 8 | (user & F4_OPTCR_USER);
    /* RM0090 3.7.2: write OPTCR, then set OPTSTRT, wait BSY. */
    PD_TRY(t, pd_write32(t->probe, reg(t, F4_OPTCR), v));
    PD_TRY(t, pd_write32(t->probe, reg(t, F4_OPTCR), v | F4_OPTCR_OPTSTRT));
    bool regress = level == 0 && now->loaded.rdp == 1;
    e = wait_idle(t, regress ? family_of(t)->regress_ms : family_of(t)->op_ms,
                  regress ? "RDP regression (mass erase)" : "option byte program");
    PD_TRY(t, pd_write32(t->probe, reg(t, F4_OPTCR), v | F4_OPTCR_OPTLOCK));
    PD_TRY(t, pd_write32(t->probe, reg(t, F4_CR), 0));
    return e;
}

/* ---- L0 (RM0367 3.4.1 RDP, 3.7.4-3.7.5 option bytes, 3.7.8 PECR) ----------------- */

#define L0_PECR            0x04
#define L0_OPTKEYR         0x14
#define L0_SR              0x18
#define L0_OPTR            0x1C
#define L0_WRPR            0x20
#define L0_PECR_OPTLOCK    (1u << 2)
#define L0_PECR_OBL_LAUNCH (1u << 18)
#define L0_SR_OPTVERR      (1u << 11)
#define L0_OPT_RDP         0x1FF80000u /* RDPROT b7:0, WPRMOD b8; complement in b31:16 */
#define L0_OPT_USER        0x1FF80004u

static uint32_t l0_word(uint16_t v)
{
    return (uint32_t)(uint16_t)~v << 16 | v;
}

static fl_err l0_read(fl_target *t, opt_now *now)
{
    uint32_t optr = 0, wrpr = 0, sr = 0, w_rdp = 0, w_user = 0;
    PD_TRY(t, pd_read32(t->probe, reg(t, L0_OPTR), &optr));
    PD_TRY(t, pd_read32(t->probe, reg(t, L0_WRPR), &wrpr));
    PD_TRY(t, pd_read32(t->probe, reg(t, L0_SR), &sr));
    PD_TRY(t, pd_read32(t->probe, L0_OPT_RDP, &w_rdp));
    PD_TRY(t, pd_read32(t->probe, L0_OPT_USER, &w_user));
    now->loaded = (fl_options){.rdp = level_of((uint8_t)optr),
                               .user = optr >> 16,
                               .wrp = wrpr,
                               .valid = !(sr & L0_SR_OPTVERR)};
    /* A word whose complement does not match loads as level 1 (OPTVERR). */
    bool ok = (w_rdp >> 16) == (~w_rdp & 0xFFFFu);
    now->block_rdp = ok ? level_of((uint8_t)w_rdp) : 1;
    now->block_user = (w_user >> 16) == (~w_user & 0xFFFFu) ? w_user & 0xFFFFu : ~0u;
    return FL_OK;
}

/* RM0367 3.7.5: after PELOCK and OPTLOCK are clear, each option word is
 * one 32-bit store of (~v << 16) | v; the interface erases the old word
 * itself. Only the words that change are written. */
static fl_err l0_write(fl_target *t, const opt_now *now, int level, uint32_t user)
{
    fl_err e = opt_unlock(t);
    if (e)
        return e;
    /* A stale OPTVERR is no error of ours. */
    PD_TRY(t, pd_write32(t->probe, reg(t, L0_SR), family_of(t)->errors | L0_SR_OPTVERR));
    if (now->block_rdp != level) {
        uint32_t w = 0;
        PD_TRY(t, pd_read32(t->probe, L0_OPT_RDP, &w));
        uint16_t v = (uint16_t)((w & 0x0100u) | family_of(t)->level_byte[level]); /* keep WPRMOD */
        PD_TRY(t, pd_write32(t->probe, L0_OPT_RDP, l0_word(v)));
        bool regress = level == 0 && now->loaded.rdp == 1;
        e = wait_idle(t, regress ? family_of(t)->regress_ms : family_of(t)->op_ms,
                      regress ? "RDP regression (mass erase)" : "RDP option write");
        if (e)
            return e;
    }
    if (now->block_user != user) {
        PD_TRY(t, pd_write32(t->probe, L0_OPT_USER, l0_word((uint16_t)user)));
        e = wait_idle(t, family_of(t)->op_ms, "USER option write");
    }
    return e;
}

/* ---- L4 (RM0351 3.4.2 option bytes programming, 3.7.8 OPTR) ---------------------- */

#define L4_OPTKEYR       0x0C
#define L4_SR            0x10
#define L4_CR            0x14
#define L4_OPTR          0x20
#define L4_WRP1AR        0x2C
#define L4_CR_OPTSTRT    (1u << 17)
#define L4_CR_OBL_LAUNCH (1u << 27)
#define L4_CR_OPTLOCK    (1u << 30)
#define L4_SR_OPTVERR    (1u << 15)
#define L4_OPT_BLOCK     0x1FFF7800u /* OPTR's double word: value, complement */

static fl_err l4_read(fl_target *t, opt_now *now)
{
    uint32_t optr = 0, wrp = 0, sr = 0, block[2] = {0};
    PD_TRY(t, pd_read32(t->probe, reg(t, L4_OPTR), &optr));
    PD_TRY(t, pd_read32(t->probe, reg(t, L4_WRP1AR), &wrp));
    PD_TRY(t, pd_read32(t->probe, reg(t, L4_SR), &sr));
    PD_TRY(t, pd_mem_read(t->probe, L4_OPT_BLOCK, block, sizeof block));
    now->loaded = (fl_options){.rdp = level_of((uint8_t)optr),
                               .user = optr & ~0xFFu,
                               .wrp = wrp,
                               .valid = !(sr & L4_SR_OPTVERR)};
    bool ok = block[1] == ~block[0];
    now->block_rdp = ok ? level_of((uint8_t)block[0]) : 1;
    now->block_user = ok ? block[0] & ~0xFFu : ~0u;
    return FL_OK;
}

static fl_err l4_write(fl_target *t, const opt_now *now, int level, uint32_t user)
{
    fl_err e = opt_unlock(t);
    if (e)
        return e;
    /* RM0351 3.4.2: clear stale flags (else PGSERR), write OPTR, OPTSTRT,
     * wait BSY. OPTVERR left from a bad load is cleared too. */
    PD_TRY(t, pd_write32(t->probe, reg(t, L4_SR), family_of(t)->errors | L4_SR_OPTVERR));
    uint32_t v = (user & ~0xFFu) | family_of(t)->level_byte[level];
    PD_TRY(t, pd_write32(t->probe, reg(t, L4_OPTR), v));
    PD_TRY(t, pd_write32(t->probe, reg(t, L4_CR), L4_CR_OPTSTRT));
    bool regress = level == 0 && now->loaded.rdp == 1;
    return wait_idle(t, regress ? family_of(t)->regress_ms : family_of(t)->op_ms,
                     regress ? "RDP regression (mass erase)" : "option byte program");
}

/* Option-write times, with margin over the datasheets: F1 option erase is
 * a page erase, 40 ms max (DS5319 Table 28), and a 1 -> 0 regression adds
 * a mass erase (40 ms); F4 OPTSTRT erases the user sector, and a
 * regression a whole 512 KiB (8 s max at x32, DS10693; OpenOCD allows 33
 * s); L0 tprog 3.94 ms max per word, twice when the word is erased first,
 * plus program memory and data EEPROM on a regression; L4 a page erase
 * (24.47 ms max) plus a mass erase (24.59 ms, DS10198 Table 63). */
static const opt_family families[] = {
    [FL_FAMILY_F1] = {.sr = F1_SR,
                      .busy = 1u << 0,
                      .errors = 0x14u,
                      .wrp_errors = 1u << 4,
                      .level_byte = {0xA5, 0x00},
                      .user_mask = 0xFFu,
                      .op_ms = 100,
                      .regress_ms = 200,
                      .read = f1_read,
                      .write = f1_write,
                      .optkeyr = F1_OPTKEYR,
                      .lock_reg = F1_CR,
                      .lock_bit = F1_CR_OPTWRE,
                      .optkeys = {0x45670123u, 0xCDEF89ABu},
                      .lock_bit_opens = true},
    [FL_FAMILY_F4] = {.sr = 0x0C,
                      .busy = 1u << 16,
                      .errors = 0x1F2u,
                      .wrp_errors = 1u << 4,
                      .level_byte = {0xAA, F4_LEVEL1_BYTE},
                      .user_mask = F4_OPTCR_USER,
                      .op_ms = 2000,
                      .regress_ms = 33000,
                      .read = f4_read,
                      .write = f4_write,
                      .optkeyr = F4_OPTKEYR,
                      .lock_reg = F4_OPTCR,
                      .lock_bit = F4_OPTCR_OPTLOCK,
                      .optkeys = {0x08192A3Bu, 0x4C5D6E7Fu}},
    [FL_FAMILY_L0] = {.sr = L0_SR,
                      .busy = 1u << 0,
                      .errors = 0x32700u,
                      .wrp_errors = 1u << 8,
                      .level_byte = {0xAA, 0xBB},
                      .user_mask = 0x807Fu,
                      .op_ms = 20,
                      .regress_ms = 100,
                      .read = l0_read,
                      .write = l0_write,
                      .optkeyr = L0_OPTKEYR,
                      .lock_reg = L0_PECR,
                      .lock_bit = L0_PECR_OPTLOCK,
                      .optkeys = {0xFBEAD9C8u, 0x24252627u},
                      .obl_launch = true,
                      .obl_reg = L0_PECR,
                      .obl_bit = L0_PECR_OBL_LAUNCH},
    [FL_FAMILY_L4] = {.sr = L4_SR,
                      .busy = 1u << 16,
                      .errors = 0x3FAu,
                      .wrp_errors = 1u << 4,
                      .level_byte = {0xAA, 0xBB},
                      .user_mask = 0x0FBF7700u,
                      .op_ms = 100,
                      .regress_ms = 200,
                      .read = l4_read,
                      .write = l4_write,
                      .optkeyr = L4_OPTKEYR,
                      .lock_reg = L4_CR,
                      .lock_bit = L4_CR_OPTLOCK,
                      .optkeys = {0x08192A3Bu, 0x4C5D6E7Fu},
                      .obl_launch = true,
                      .obl_reg = L4_CR,
                      .obl_bit = L4_CR_OBL_LAUNCH},
};

static const opt_family *family_of(const fl_target *t)
{
    return &families[t->chip->family];
}

/* ---- loading the options, and coming back ------------------------------------- */

/* Halted, identified and unlocked again after the chip reset; t is
 * refreshed (fl_identify clears it). */
static fl_err reattach(fl_target *t)
{
    pd_probe *p = t->probe;
    pd_err pe = pd_halt(p);
    if (pe != PD_OK) {
        /* The reset may have dropped the debug link (OBL_LAUNCH on real L0
         * parts does): enter SWD again. */
        pe = pd_enter_swd(p);
        if (pe == PD_OK)
            pe = pd_halt(p);
    }
    if (pe != PD_OK)
        return fl_probe_fail(t, pe);
    fl_err e = fl_identify(p, t);
    return e ? e : fl_unlock(t);
}

/* F1 and F4: the option bytes load at a system reset (PM0075 2.5; RM0090
 * 3.9.10). L0 and L4: OBL_LAUNCH reloads them and resets the chip (RM0367
 * 3.7.8, RM0351 3.7.5). Either way the core is caught at its reset vector
 * (DEMCR.VC_CORERESET) so that no firmware runs in between. */
static fl_err load_options(fl_target *t)
{
    const opt_family *f = family_of(t);
    pd_probe *p = t->probe;
    if (!f->obl_launch) {
        PD_TRY(t, pd_reset(p, true));
        return reattach(t);
    }
    /* OBL_LAUNCH is only taken with OPTLOCK clear (RM0367 3.7.8, RM0351
     * 3.7.5); the block may have been written by an earlier call that
     * never got to load it. */
    fl_err e = opt_unlock(t);
    if (e)
        return e;
    uint32_t demcr = 0, dh = 0, v = 0;
    PD_TRY(t, pd_read32(p, PD_DEMCR, &demcr));
    PD_TRY(t, pd_write32(p, PD_DHCSR, DHCSR_KEY | DHCSR_C_DEBUGEN | PD_DHCSR_C_HALT));
    PD_TRY(t, pd_write32(p, PD_DEMCR, demcr | DEMCR_TRCENA | DEMCR_VC_CORERESET));
    PD_TRY(t, pd_dhcsr(p, &dh)); /* clears a stale S_RESET_ST */
    PD_TRY(t, pd_read32(p, reg(t, f->obl_reg), &v));
    /* The reset may cut this very write short: a target-side status is
     * fine as long as the reset shows on DHCSR. */
    pd_err pe = pd_write32(p, reg(t, f->obl_reg), v | f->obl_bit);
    if (pe != PD_OK && pe != PD_E_TARGET)
        return fl_probe_fail(t, pe);
    uint64_t deadline = fl_now_ms() + LOAD_WAIT_MS;
    uint32_t seen = 0;
    for (;;) {
        pe = pd_dhcsr(p, &dh);
        if (pe == PD_OK) {
            seen |= dh;
            if ((seen & PD_DHCSR_S_RST) && (dh & PD_DHCSR_S_HALT))
                break;
        } else if (pd_enter_swd(p) != PD_OK && fl_now_ms() > deadline) {
            return fl_probe_fail(t, pe);
        }
        if (fl_now_ms() > deadline)
            return fl_fail(
                t, FL_E_TIMEOUT,
                "the chip did not reset after OBL_LAUNCH (DHCSR 0x%08X); power-cycle the "
                "board to load the option bytes",
                dh);
        sleep_ms(1);
    }
    PD_TRY(t, pd_write32(p, PD_DEMCR, (demcr | DEMCR_TRCENA) & ~DEMCR_VC_CORERESET));
    return reattach(t);
}

/* ---- the API -------------------------------------------------------------------- */

fl_err fl_options_read(fl_target *t, fl_options *out)
{
    opt_now now;
    fl_err e = family_of(t)->read(t, &now);
    if (e == FL_OK)
        *out = now.loaded;
    return e;
}

/* Write what differs from (level, user), then load and check. */
static fl_err change(fl_target *t, int level, uint32_t user, const char *what)
{
    const opt_family *f = family_of(t);
    opt_now now;
    fl_err e = f->read(t, &now);
    if (e)
        return e;
    if (now.loaded.rdp == 2 || now.block_rdp == 2)
        return fl_fail(t, FL_E_PROTECTED,
                       "%s is at RDP level 2: its option bytes can never change again",
                       t->chip->name);
    /* F4 OPTCR and L4 OPTR read back what was written even before it is
     * loaded, so ask the bus which level is in force: a debugger read of
     * main flash is refused exactly at level 1 (RM0008 4.3.1 [PM0075
     * 2.4.1], RM0090 3.7.3, RM0367 3.4.1, RM0351 3.5.1). */
    uint32_t word = 0;
    pd_err pe = pd_read32(t->probe, t->chip->flash_base, &word);
    if (pe != PD_OK && pe != PD_E_TARGET)
        return fl_probe_fail(t, pe);
    if (now.loaded.rdp != (pe == PD_OK ? 0 : 1))
        now.loaded.rdp = pe == PD_OK ? 0 : 1;
    bool write = now.block_rdp != level || now.block_user != user;
    bool load = write || now.loaded.rdp != level || now.loaded.user != user;
    if (!load) {
        fl_fail(t, FL_OK, "%s already in force; nothing written", what);
        return FL_OK;
    }
    if (write && (e = f->write(t, &now, level, user)) != FL_OK)
        return e;
    if ((e = load_options(t)) != FL_OK)
        return e;
    fl_options after;
    if ((e = fl_options_read(t, &after)) != FL_OK)
        return e;
    if (after.rdp != level || after.user != user)
        return fl_fail(
            t, FL_E_VERIFY,
            "option bytes did not take: RDP level %d, user 0x%08X after loading (wanted %d, "
            "0x%08X); power-cycle the board and read them again",
            after.rdp, after.user, level, user);
    fl_fail(t, FL_OK, "%s: option bytes %s and loaded%s", what,
            write ? "written" : "already written",
            level == 0 && now.loaded.rdp == 1 ? "; main flash was mass-erased" : "");
    return FL_OK;
}

fl_err fl_options_set_rdp(fl_target *t, int level)
{
    if (level == 2)
        return fl_fail(t, FL_E_ARG,
                       "RDP level 2 is permanent (debug port and option bytes locked for good); "
                       "refused, nothing written");
    if (level != 0 && level != 1)
        return fl_fail(t, FL_E_ARG, "RDP level %d does not exist; use 0 or 1", level);
    fl_options cur;
    fl_err e = fl_options_read(t, &cur);
    if (e)
        return e;
    char what[32];
    snprintf(what, sizeof what, "RDP level %d", level);
    return change(t, level, cur.user, what);
}

fl_err fl_options_write_user(fl_target *t, uint32_t user)
{
    const opt_family *f = family_of(t);
    fl_options cur;
    fl_err e = fl_options_read(t, &cur);
    if (e)
        return e;
    if ((user ^ cur.user) & ~f->user_mask)
        return fl_fail(t, FL_E_ARG,
                       "user option value 0x%08X changes bits outside %s's user options (mask "
                       "0x%08X, now 0x%08X); nothing written",
                       user, fl_family_name(t->chip->family), f->user_mask, cur.user);
    if (cur.rdp == 2)
        return fl_fail(t, FL_E_PROTECTED,
                       "%s is at RDP level 2: its option bytes can never change again",
                       t->chip->name);
    return change(t, cur.rdp, user, "user option bytes");
}
