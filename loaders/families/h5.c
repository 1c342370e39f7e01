/*
 * STM32H5 embedded flash (RM0481 chapter 7 for H56x/H57x and H52x/H53x,
 * RM0492 chapter 7 for the H503), driven through its non-secure registers.
 * It takes from both of its elders and is neither:
 *
 * - the TrustZone layout of the L5/U5 (l5.c): non-secure and secure key,
 *   status and control registers side by side, but NSKEYR at 0x04 (L5/U5:
 *   0x08), OPTKEYR 0x0C, OPTCR 0x1C, NSSR 0x20, NSCR 0x28;
 * - the H7's control bits (h7.c): LOCK is NSCR bit 0, START bit 5, sectors
 *   by SER and SNB (b12:6, numbered per bank) with BKSEL (b31) for bank
 *   2, BER for a bank; NSSR is read-only and its flags are cleared by
 *   writing 1 to the same bit of NSCCR (0x30, the descriptor's sr_clear);
 * - the program unit is a 128-bit quad word with its ECC, written once
 *   after an erase: PG set, four 32-bit stores, the controller writes the
 *   word once the buffer is full (NSSR.WBNE while it is not, DBNE while the
 *   data waits, BSY while the write runs).
 *
 * Flash is two banks of half its size each on every part (CMSIS
 * FLASH_BANK_SIZE = FLASH_SIZE >> 1), in 8 KiB sectors: the H503's 2 x 8,
 * the H52x/H53x's 2 x 32, the H56x/H57x's 2 x 128 (FLASH_SECTOR_NB). The
 * sequence fits stub_l4x once it knows where the bits are and that flags
 * clear in NSCCR (loader_setup).
 *
 * Protection is a product state (OPTSR_CUR.PRODUCT_STATE b15:8), not an
 * RDP level: fl_identify names it and counts anything but Open (0xED) as
 * protected. Flashline writes no H5 option bytes yet: a product-state
 * change can close the debug port for good, and a regression erases the
 * chip, so opt.write refuses every change (docs/reference/
 * stm32-h-series.md, H5 section). Parts with TrustZone enabled
 * (OPTSR2_CUR.TZEN not 0xC3), swapped banks or EDATA sectors are refused
 * before the first erase (prepare), as l5.c refuses TZEN = 1.
 */
#include "flash_internal.h"

#include <stdio.h>

/* Non-secure register offsets (RM0481 7.11, RM0492 7.11; CMSIS
 * FLASH_TypeDef of stm32h563xx.h and stm32h503xx.h). */
#define FLASH_NSKEYR      0x04u
#define FLASH_OPTKEYR     0x0Cu
#define FLASH_OPTCR       0x1Cu
#define FLASH_NSSR        0x20u
#define FLASH_NSCR        0x28u
#define FLASH_NSCCR       0x30u
#define FLASH_OPTSR_CUR   0x50u
#define FLASH_OPTSR_PRG   0x54u
#define FLASH_OPTSR2_CUR  0x70u
#define FLASH_EDATA1R_CUR 0xF0u
#define FLASH_EDATA2R_CUR 0x1F0u

/* FLASH_NSSR (RM0481 7.11, FLASH_NSSR): BSY while an operation runs, WBNE
 * while the write buffer holds part of a quad word, DBNE while data waits
 * to be written; the error flags, read-only here. OBKERR and OBKWERR
 * (the option-byte key area) are not on the H503. */
#define FLASH_NSSR_BSY          (1u << 0)
#define FLASH_NSSR_WBNE         (1u << 1)
#define FLASH_NSSR_DBNE         (1u << 3)
#define FLASH_NSSR_EOP          (1u << 16)
#define FLASH_NSSR_WRPERR       (1u << 17)
#define FLASH_NSSR_PGSERR       (1u << 18)
#define FLASH_NSSR_STRBERR      (1u << 19)
#define FLASH_NSSR_INCERR       (1u << 20) /* the H7's is b21 */
#define FLASH_NSSR_OBKERR       (1u << 21)
#define FLASH_NSSR_OBKWERR      (1u << 22)
#define FLASH_NSSR_OPTCHANGEERR (1u << 23)

/* FLASH_NSCR (RM0481 7.11, FLASH_NSCR). */
#define FLASH_NSCR_LOCK      (1u << 0)
#define FLASH_NSCR_PG        (1u << 1)
#define FLASH_NSCR_SER       (1u << 2)
#define FLASH_NSCR_BER       (1u << 3)
#define FLASH_NSCR_FW        (1u << 4)
#define FLASH_NSCR_START     (1u << 5)
#define FLASH_NSCR_SNB_SHIFT 6 /* SNB b12:6, the sector in its bank */
#define FLASH_NSCR_MER       (1u << 15)
#define FLASH_NSCR_BKSEL     (1u << 31)

/* FLASH_OPTCR (RM0481 7.11): OPTLOCK b0, OPTSTART b1, SWAP_BANK b31 (the
 * swap in force: bank 2 mapped at 0x08000000). */
#define FLASH_OPTCR_OPTLOCK   (1u << 0)
#define FLASH_OPTCR_SWAP_BANK (1u << 31)

/* FLASH_OPTSR_CUR/PRG (RM0481 7.11): BOR_LEV b1:0, BORH_EN b2, IWDG_SW b3,
 * WWDG_SW b4, NRST_STOP b6, NRST_STDBY b7, PRODUCT_STATE b15:8,
 * IO_VDD_HSLV b16, IO_VDDIO2_HSLV b17, IWDG_STOP b20, IWDG_STDBY b21,
 * BOOT_UBE b29:22, SWAP_BANK b31. */
#define FLASH_OPTSR_PRODUCT_STATE_SHIFT 8
#define FLASH_OPTSR_PRODUCT_STATE       0xFF00u
/* The reset and watchdog options (BOR_LEV, BORH_EN, IWDG_SW, WWDG_SW,
 * NRST_STOP, NRST_STDBY, IWDG_STOP, IWDG_STDBY): what opt.read reports as
 * the user options. Not the I/O high-speed-at-low-voltage bits (they can
 * damage I/Os at 3.3 V), BOOT_UBE or SWAP_BANK (they change what boots). */
#define FLASH_OPTSR_USER 0x003000DFu

/* Product states (RM0481 and RM0492, product life cycle; the values as
 * OpenOCD's stm32h5x driver and its target script name them). */
#define PSTATE_OPEN             0xEDu
#define PSTATE_PROVISIONING     0x17u
#define PSTATE_IROT_PROVISIONED 0x2Eu
#define PSTATE_TZ_CLOSED        0xC6u
#define PSTATE_CLOSED           0x72u
#define PSTATE_LOCKED           0x5Cu
#define PSTATE_REGRESSION       0x9Au
#define PSTATE_NS_REGRESSION    0xA3u

/* FLASH_OPTSR2_CUR.TZEN b31:24 (RM0481 7.11): 0xC3 TrustZone disabled,
 * 0xB4 enabled. */
#define FLASH_OPTSR2_TZEN_SHIFT 24
#define TZEN_DISABLED           0xC3u

/* FLASH_EDATAnR_CUR (RM0481 7.11): EDATA_EN b15 turns the last sectors of
 * the bank into the high-cycle data area (mapped at 0x09000000). */
#define FLASH_EDATAR_EDATA_EN (1u << 15)

#define FLASH_KEY1    0x45670123u
#define FLASH_KEY2    0xCDEF89ABu
#define FLASH_OPTKEY1 0x08192A3Bu
#define FLASH_OPTKEY2 0x4C5D6E7Fu

/* What sets the variants apart: TrustZone and the EDATA area exist on
 * H52x/H53x/H56x/H57x, not on the H503. */
typedef struct h5_variant {
    bool trustzone, edata;
} h5_variant;

/* RM0481 7.6 (FLASH error management). */
#define FLAGS_COMMON                                                                               \
    {FLASH_NSSR_WRPERR, "WRPERR", FL_E_PROTECTED,                                                  \
     "the sector is write-protected (its WRP option bit), in the hide-protection area or "         \
     "secure; remove that protection"},                                                            \
        {FLASH_NSSR_PGSERR, "PGSERR", FL_E_FLASH,                                                  \
         "programming sequence error (a store with PG clear, or an erase while data waited in "    \
         "the write buffer); reset the board and retry"},                                          \
        {FLASH_NSSR_STRBERR, "STRBERR", FL_E_FLASH,                                                \
         "a byte of a quad word was written twice before the word was programmed; report it, "     \
         "this is a loader bug"},                                                                  \
        {FLASH_NSSR_INCERR, "INCERR", FL_E_FLASH,                                                  \
         "a store went to another quad word before the last one was complete; report it, this "    \
         "is a loader bug"},                                                                       \
    {                                                                                              \
        FLASH_NSSR_OPTCHANGEERR, "OPTCHANGEERR", FL_E_PROTECTED,                                   \
            "the option bytes refused a change (a product-state transition or value the part "     \
            "does "                                                                                \
            "not allow); nothing changed"                                                          \
    }

static const fl_flag sr_flags_h5[] = {
    FLAGS_COMMON,
    {FLASH_NSSR_OBKERR, "OBKERR", FL_E_PROTECTED,
     "an access to the option-byte keys the product state does not allow; Flashline does not "
     "use them: power-cycle the board and report it"},
    {FLASH_NSSR_OBKWERR, "OBKWERR", FL_E_PROTECTED,
     "a write to the option-byte keys was refused; Flashline does not use them: power-cycle the "
     "board and report it"},
    {0, NULL, FL_OK, NULL},
};

static const fl_flag sr_flags_h503[] = {
    FLAGS_COMMON,
    {0, NULL, FL_OK, NULL},
};

static const char *pstate_name(uint32_t ps)
{
    switch (ps) {
    case PSTATE_OPEN:
        return "Open";
    case PSTATE_PROVISIONING:
        return "Provisioning";
    case PSTATE_IROT_PROVISIONED:
        return "iROT-Provisioned";
    case PSTATE_TZ_CLOSED:
        return "TZ-Closed";
    case PSTATE_CLOSED:
        return "Closed";
    case PSTATE_LOCKED:
        return "Locked";
    case PSTATE_REGRESSION:
        return "Regression";
    case PSTATE_NS_REGRESSION:
        return "NS-Regression";
    default:
        return "unknown";
    }
}

/* fl_family.protection: OPTSR_CUR as a person reads it. */
static void protection(uint32_t optsr, char *buf, size_t n)
{
    uint32_t ps = (optsr & FLASH_OPTSR_PRODUCT_STATE) >> FLASH_OPTSR_PRODUCT_STATE_SHIFT;
    snprintf(buf, n, "product state %s (0x%02X)", pstate_name(ps), (unsigned)ps);
}

/* Before the first erase (the prepare hook): refuse what Flashline would
 * half-write. TrustZone on: the secure part of flash and its registers are
 * out of a non-secure debugger's reach. SWAP_BANK: BKSEL names the
 * physical bank, so an erase by address would hit the other bank's sector
 * (as on the U5 [U for the H5]). EDATA: the bank's last sectors left the
 * 0x08000000 map for 0x09000000. */
static fl_err prepare(fl_target *t)
{
    const h5_variant *v = fl_family_of(t)->variant;
    uint32_t optcr = 0;
    if (v->trustzone) {
        uint32_t optsr2 = 0;
        PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTSR2_CUR), &optsr2));
        uint32_t tzen = optsr2 >> FLASH_OPTSR2_TZEN_SHIFT;
        if (tzen != TZEN_DISABLED)
            return fl_fail(t, FL_E_PROTECTED,
                           "%s has TrustZone enabled (FLASH_OPTSR2_CUR.TZEN 0x%02X, not 0xC3): "
                           "Flashline programs only non-secure parts; disable TrustZone (in "
                           "product state Open, which erases the secure flash) or program it "
                           "with a secure-aware tool",
                           t->chip->name, (unsigned)tzen);
    }
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTCR), &optcr));
    if (optcr & FLASH_OPTCR_SWAP_BANK)
        return fl_fail(t, FL_E_PROTECTED,
                       "%s runs with its banks swapped (FLASH_OPTCR.SWAP_BANK = 1): Flashline "
                       "erases sectors by their place at reset with SWAP_BANK = 0; clear "
                       "SWAP_BANK in the option bytes (STM32CubeProgrammer) and retry",
                       t->chip->name);
    if (v->edata) {
        static const uint32_t edata[2] = {FLASH_EDATA1R_CUR, FLASH_EDATA2R_CUR};
        for (int bank = 0; bank < 2; bank++) {
            uint32_t r = 0;
            PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, edata[bank]), &r));
            if (r & FLASH_EDATAR_EDATA_EN)
                return fl_fail(t, FL_E_PROTECTED,
                               "%s keeps high-cycle data sectors in bank %d "
                               "(FLASH_EDATA%dR_CUR 0x%08X): the bank's last sectors are not "
                               "main flash; Flashline does not program such parts yet, clear "
                               "EDATA_EN (STM32CubeProgrammer) or use a tool that knows EDATA",
                               t->chip->name, bank + 1, bank + 1, r);
        }
    }
    return FL_OK;
}

/* RM0481 7.3 (sector erase): SER, SNB (the sector in its bank), BKSEL for
 * bank 2, then START; wait for BSY. */
static fl_err erase(fl_target *t, const fl_unit *u)
{
    uint32_t cr = FLASH_NSCR_SER | u->index_in_bank << FLASH_NSCR_SNB_SHIFT |
                  (u->bank ? FLASH_NSCR_BKSEL : 0);
    return fl_ctrl_run(t, 0, cr, FLASH_NSCR_START, fl_family_of(t)->erase_ms, "sector erase",
                       u->addr);
}

/* RM0481 7.3 (bank erase): BER with BKSEL per bank, then START. NSCR.MER
 * erases both at once; one bank at a time keeps every wait's timeout to a
 * bank and its errors named by bank (OpenOCD's driver marks its MER path
 * as not working). */
static fl_err mass_erase(fl_target *t)
{
    uint32_t banks = fl_chip_banks(t->chip, t->flash_size);
    for (uint32_t bank = 0; bank < banks; bank++) {
        uint32_t addr = t->chip->line->flash_base + bank * (t->flash_size / banks);
        fl_err e = fl_ctrl_run(t, 0, FLASH_NSCR_BER | (bank ? FLASH_NSCR_BKSEL : 0),
                               FLASH_NSCR_START, fl_family_of(t)->mass_ms, "bank erase", addr);
        if (e)
            return e;
    }
    return FL_OK;
}

/* stub_l4x: where the bits are, and that flags are cleared in NSCCR. */
static void loader_setup(const fl_target *t, fl_loader_ctl *ctl)
{
    const fl_family *f = fl_family_of(t);
    ctl->l4 = (fl_loader_l4){.sr_off = FLASH_NSSR,
                             .cr_off = FLASH_NSCR,
                             .sr_busy = f->sr_busy,
                             .sr_errors = fl_sr_errors(f),
                             .sr_eop = FLASH_NSSR_EOP,
                             .cr_pg = FLASH_NSCR_PG,
                             .cr_per = FLASH_NSCR_SER,
                             .cr_strt = FLASH_NSCR_START,
                             .cr_bker = FLASH_NSCR_BKSEL,
                             .pnb_shift = FLASH_NSCR_SNB_SHIFT,
                             .prog_unit = f->program_unit,
                             .sr_clear_off = FLASH_NSCCR};
}

/* ---- option bytes: read and shown, never written (yet) ------------------- */

/* The product state as the engines' RDP level: Open 0, Locked 2 (for
 * good), any other state 1 (protected). */
static int pstate_level(uint32_t optsr)
{
    uint32_t ps = (optsr & FLASH_OPTSR_PRODUCT_STATE) >> FLASH_OPTSR_PRODUCT_STATE_SHIFT;
    return ps == PSTATE_OPEN ? 0 : ps == PSTATE_LOCKED ? 2 : 1;
}

static fl_err opt_read(fl_target *t, fl_opt_now *now)
{
    uint32_t cur = 0, prg = 0;
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTSR_CUR), &cur));
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTSR_PRG), &prg));
    now->loaded = (fl_options){
        .rdp = pstate_level(cur), .user = cur & FLASH_OPTSR_USER, .wrp = 0, .valid = true};
    now->block_rdp = pstate_level(prg);
    now->block_user = prg & FLASH_OPTSR_USER;
    return FL_OK;
}

/* Every change refused: the product state is a one-way life cycle (Open
 * -> Provisioning -> Closed/Locked, back only through a regression that
 * erases the chip, with keys provisioned before), and Flashline does not
 * drive it yet. options.c calls this only when something would change. */
static fl_err opt_write(fl_target *t, const fl_opt_now *now, int level, uint32_t user)
{
    (void)now;
    char state[48];
    uint32_t cur = 0;
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTSR_CUR), &cur));
    protection(cur, state, sizeof state);
    return fl_fail(t, FL_E_ARG,
                   "%s has a product state (now %s), not RDP levels: Flashline does not write "
                   "STM32H5 option bytes (asked: level %d, user 0x%08X), because a product-state "
                   "change can close the debug port for good and a regression erases the chip; "
                   "use STM32CubeProgrammer; nothing written",
                   t->chip->name, state, level, user);
}

/* Times with margin: no H5 datasheet figure was read (docs/reference/
 * stm32-h-series.md, H5 section); OpenOCD waits 250 ms for an erase and
 * probe-rs's flash algorithm 400 ms for an 8 KiB sector. A bank erase is
 * given 20 s per bank, an [U] bound. */
#define H5_COMMON                                                                                  \
    .stub = "l4x", .loader_setup = loader_setup, .erased = 0xFF, .program_unit = 16,               \
    .sr = FLASH_NSSR, .cr = FLASH_NSCR,                                                            \
    .sr_busy = FLASH_NSSR_BSY | FLASH_NSSR_WBNE | FLASH_NSSR_DBNE, .sr_eop = FLASH_NSSR_EOP,       \
    .sr_clear = FLASH_NSCCR, .keys = {{FLASH_NSKEYR, FLASH_KEY1, FLASH_KEY2, FLASH_NSCR_LOCK}},    \
    .cr_lock = FLASH_NSCR_LOCK, .rdp_off = FLASH_OPTSR_CUR, .rdp_mask = FLASH_OPTSR_PRODUCT_STATE, \
    .rdp_clear = PSTATE_OPEN << FLASH_OPTSR_PRODUCT_STATE_SHIFT, .protection = protection,         \
    .bank_code_shift = 8, .erase_ms = 500, .mass_ms = 20000, .erase = erase,                       \
    .mass_erase = mass_erase, .prepare = prepare, .cr_program = FLASH_NSCR_PG, .store_width = 4,   \
    .opt = {.level_byte = {PSTATE_OPEN, PSTATE_PROVISIONING},                                      \
            .user_mask = FLASH_OPTSR_USER,                                                         \
            .op_ms = 1000,                                                                         \
            .regress_ms = 60000,                                                                   \
            .read = opt_read,                                                                      \
            .write = opt_write,                                                                    \
            .optkeyr = FLASH_OPTKEYR,                                                              \
            .lock_reg = FLASH_OPTCR,                                                               \
            .lock_bit = FLASH_OPTCR_OPTLOCK,                                                       \
            .optkeys = {FLASH_OPTKEY1, FLASH_OPTKEY2}}

static const h5_variant v_h5 = {.trustzone = true, .edata = true};
static const h5_variant v_h503 = {.trustzone = false, .edata = false};

const fl_family fl_family_h5 = {
    H5_COMMON,
    .name = "STM32H5 flash interface (non-secure)",
    .sr_flags = sr_flags_h5,
    .variant = &v_h5,
};

const fl_family fl_family_h503 = {
    H5_COMMON,
    .name = "STM32H503 flash interface",
    .sr_flags = sr_flags_h503,
    .variant = &v_h503,
};
