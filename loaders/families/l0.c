/*
 * STM32L0 non-volatile memory interface: RM0367 3.3 (sequences), 3.4
 * (protections), 3.7 (registers); and the L1's (RM0038 3.3-3.9), the same
 * design at 0x40023C00 (the line's base) with 256-byte pages, 32-word half
 * pages and its own status flags (fl_family_l1). PECR holds both the lock bits (PELOCK
 * b0, PRGLOCK b1, OPTLOCK b2), opened by two key sequences in turn, and
 * the operation bits, so operation writes keep the lock bits as read.
 * Erased cells read 0x00. There is no mass erase of main flash.
 */
#include "flash_internal.h"

/* Register offsets (RM0367 3.7). */
#define FLASH_PECR    0x04u
#define FLASH_PEKEYR  0x0Cu
#define FLASH_PRGKEYR 0x10u
#define FLASH_OPTKEYR 0x14u
#define FLASH_SR      0x18u
#define FLASH_OPTR    0x1Cu
#define FLASH_WRPR    0x20u

/* FLASH_PECR (RM0367 3.7.2). */
#define FLASH_PECR_PELOCK     (1u << 0)
#define FLASH_PECR_PRGLOCK    (1u << 1)
#define FLASH_PECR_OPTLOCK    (1u << 2)
#define FLASH_PECR_PROG       (1u << 3)
#define FLASH_PECR_ERASE      (1u << 9)
#define FLASH_PECR_FPRG       (1u << 10)
#define FLASH_PECR_OBL_LAUNCH (1u << 18)

/* FLASH_SR (RM0367 3.7.8). */
#define FLASH_SR_BSY        (1u << 0)
#define FLASH_SR_EOP        (1u << 1)
#define FLASH_SR_WRPERR     (1u << 8)
#define FLASH_SR_PGAERR     (1u << 9)
#define FLASH_SR_SIZERR     (1u << 10)
#define FLASH_SR_OPTVERR    (1u << 11)
#define FLASH_SR_RDERR      (1u << 13)
#define FLASH_SR_NOTZEROERR (1u << 16)
#define FLASH_SR_FWWERR     (1u << 17)

/* Keys (RM0367 3.3.4 "Unlocking"). */
#define PEKEY1  0x89ABCDEFu
#define PEKEY2  0x02030405u
#define PRGKEY1 0x8C9DAEBFu
#define PRGKEY2 0x13141516u
#define OPTKEY1 0xFBEAD9C8u
#define OPTKEY2 0x24252627u

/* Option words in flash: value in b15:0, complement in b31:16 (RM0367
 * 3.4.1 and 3.7.4-3.7.5). RDP: RDPROT b7:0, WPRMOD b8. */
#define OPT_RDP        0x1FF80000u
#define OPT_USER       0x1FF80004u
#define OPT_RDP_WPRMOD 0x0100u
#define OPT_USER_BITS                                                                              \
    0x807Fu /* BOR_LEV b3:0, IWDG_SW b4, nRST_STOP b5, nRST_STDBY b6, nBOOT1 b15 */
#define RDP_LEVEL0        0xAAu
#define RDP_LEVEL1        0xBBu
#define FLASH_OPTR_RDPROT 0xFFu

/* OPTVERR is about option loading, not an operation: not an error here. */
static const fl_flag sr_flags[] = {
    {FLASH_SR_WRPERR, "WRPERR", FL_E_PROTECTED,
     "the sector is write-protected; clear its WRP option bit (or regress RDP)"},
    {FLASH_SR_PGAERR, "PGAERR", FL_E_FLASH,
     "misaligned half-page program; report it, a loader bug"},
    {FLASH_SR_SIZERR, "SIZERR", FL_E_FLASH, "wrong program size; report it, a loader bug"},
    {FLASH_SR_RDERR, "RDERR", FL_E_PROTECTED, "read of a PCROP sector; clear PCROP"},
    {FLASH_SR_NOTZEROERR, "NOTZEROERR", FL_E_FLASH,
     "programmed a word that was not erased; erase the page and retry"},
    {FLASH_SR_FWWERR, "FWWERR", FL_E_FLASH,
     "flash was read while a half page was loaded; reset the board and retry"},
    {0, NULL, FL_OK, NULL},
};

/* RM0367 3.3.4 "Page erase": ERASE and PROG, then a write of 0 into the
 * page starts it. */
static fl_err erase(fl_target *t, const fl_unit *u)
{
    uint32_t pecr = fl_reg(t, 0, FLASH_PECR), v = 0;
    PD_TRY(t, pd_read32(t->probe, pecr, &v));
    PD_TRY(t, pd_write32(t->probe, pecr, v | FLASH_PECR_ERASE | FLASH_PECR_PROG));
    PD_TRY(t, pd_write32(t->probe, u->addr, 0));
    fl_err e = fl_wait_idle(t, 0, fl_family_of(t)->erase_ms, "page erase", u->addr);
    PD_TRY(t, pd_write32(t->probe, pecr, v & ~(FLASH_PECR_ERASE | FLASH_PECR_PROG)));
    return e;
}

/* ---- option bytes ------------------------------------------------------------ */

static uint32_t opt_word(uint16_t v)
{
    return (uint32_t)(uint16_t)~v << 16 | v;
}

static bool opt_word_ok(uint32_t w)
{
    return (w >> 16) == (~w & 0xFFFFu);
}

static fl_err opt_read(fl_target *t, fl_opt_now *now)
{
    uint32_t optr = 0, wrpr = 0, sr = 0, w_rdp = 0, w_user = 0;
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTR), &optr));
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_WRPR), &wrpr));
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_SR), &sr));
    PD_TRY(t, pd_read32(t->probe, OPT_RDP, &w_rdp));
    PD_TRY(t, pd_read32(t->probe, OPT_USER, &w_user));
    now->loaded = (fl_options){.rdp = fl_rdp_level((uint8_t)(optr & FLASH_OPTR_RDPROT)),
                               .user = optr >> 16,
                               .wrp = wrpr,
                               .valid = !(sr & FLASH_SR_OPTVERR)};
    /* A word whose complement does not match loads as level 1 (OPTVERR). */
    now->block_rdp = opt_word_ok(w_rdp) ? fl_rdp_level((uint8_t)w_rdp) : 1;
    now->block_user = opt_word_ok(w_user) ? w_user & 0xFFFFu : ~0u;
    return FL_OK;
}

/* RM0367 3.7.5: after PELOCK and OPTLOCK are clear, each option word is
 * one 32-bit store of (~v << 16) | v; the interface erases the old word
 * itself. Only the words that change are written. */
static fl_err opt_write(fl_target *t, const fl_opt_now *now, int level, uint32_t user)
{
    const fl_opt_family *o = &fl_family_of(t)->opt;
    fl_err e = fl_opt_unlock(t);
    if (e)
        return e;
    /* A stale OPTVERR is no error of ours. */
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, 0, FLASH_SR), FLASH_SR_OPTVERR));
    if (now->block_rdp != level) {
        uint32_t w = 0;
        PD_TRY(t, pd_read32(t->probe, OPT_RDP, &w));
        uint16_t v = (uint16_t)((w & OPT_RDP_WPRMOD) | o->level_byte[level]);
        PD_TRY(t, pd_write32(t->probe, OPT_RDP, opt_word(v)));
        bool regress = level == 0 && now->loaded.rdp == 1;
        e = fl_wait_idle(t, 0, regress ? o->regress_ms : o->op_ms,
                         regress ? "RDP regression (mass erase)" : "RDP option write", OPT_RDP);
        if (e)
            return e;
    }
    if (now->block_user != user) {
        PD_TRY(t, pd_write32(t->probe, OPT_USER, opt_word((uint16_t)user)));
        e = fl_wait_idle(t, 0, o->op_ms, "USER option write", OPT_USER);
    }
    return e;
}

/* Times: tprog 3.94 ms max per word (DS10152 Table 42), twice when the
 * word is erased first; a page erase is one tprog; a regression also
 * erases program memory and data EEPROM. */
/* stub_l0: the half page of this family. */
static void loader_setup(const fl_target *t, fl_loader_ctl *ctl)
{
    ctl->half_page = fl_family_of(t)->half_page;
}

/* What L0 and L1 share. */
#define NVM_COMMON                                                                                 \
    .stub = "l0", .loader_setup = loader_setup, .erased = 0x00, .program_unit = 4, .sr = FLASH_SR, \
    .cr = FLASH_PECR, .sr_busy = FLASH_SR_BSY, .sr_eop = FLASH_SR_EOP,                             \
    .keys = {{FLASH_PEKEYR, PEKEY1, PEKEY2, FLASH_PECR_PELOCK},                                    \
             {FLASH_PRGKEYR, PRGKEY1, PRGKEY2, FLASH_PECR_PRGLOCK}},                               \
    .cr_lock = FLASH_PECR_PELOCK | FLASH_PECR_PRGLOCK,                                             \
    .cr_keep = FLASH_PECR_PELOCK | FLASH_PECR_PRGLOCK | FLASH_PECR_OPTLOCK, .rdp_off = FLASH_OPTR, \
    .rdp_mask = FLASH_OPTR_RDPROT, .rdp_clear = RDP_LEVEL0, .bank_code_shift = 8, .erase_ms = 100, \
    .mass_ms = 0, .erase = erase, .mass_erase = NULL,                                              \
    .cr_program = 0 /* word stores program by themselves */, .store_width = 4,                     \
    .cr_half_page = FLASH_PECR_FPRG | FLASH_PECR_PROG

#define NVM_OPT                                                                                    \
    .level_byte = {RDP_LEVEL0, RDP_LEVEL1}, .op_ms = 20, .regress_ms = 100, .read = opt_read,      \
    .write = opt_write, .optkeyr = FLASH_OPTKEYR, .lock_reg = FLASH_PECR,                          \
    .lock_bit = FLASH_PECR_OPTLOCK, .optkeys = {OPTKEY1, OPTKEY2}, .obl_reg = FLASH_PECR,          \
    .obl_bit = FLASH_PECR_OBL_LAUNCH

const fl_family fl_family_l0 = {
    NVM_COMMON,
    .name = "STM32L0 NVM interface",
    .sr_flags = sr_flags,
    .half_page = 64,
    .opt = {NVM_OPT, .user_mask = OPT_USER_BITS},
};

/* L1 FLASH_SR (RM0038 3.9.8): no NOTZEROERR or FWWERR; OPTVERRUSR b12. */
static const fl_flag sr_flags_l1[] = {
    {FLASH_SR_WRPERR, "WRPERR", FL_E_PROTECTED,
     "the sector is write-protected; clear its WRP option bit (or regress RDP)"},
    {FLASH_SR_PGAERR, "PGAERR", FL_E_FLASH,
     "misaligned half-page program; report it, a loader bug"},
    {FLASH_SR_SIZERR, "SIZERR", FL_E_FLASH, "wrong program size; report it, a loader bug"},
    {FLASH_SR_RDERR, "RDERR", FL_E_PROTECTED, "read of a PCROP sector; clear PCROP"},
    {0, NULL, FL_OK, NULL},
};

/* L1 user options in OBR b23:16 (RM0038 3.9.9): BOR_LEV b3:0, IWDG_SW b4,
 * nRST_STOP b5, nRST_STDBY b6, BFB2 b7. Times: tprog and page erase 3.94
 * ms max (DS6876 Table 43). */
const fl_family fl_family_l1 = {
    NVM_COMMON,       .name = "STM32L1 NVM interface",      .sr_flags = sr_flags_l1,
    .half_page = 128, .opt = {NVM_OPT, .user_mask = 0xFFu},
};
