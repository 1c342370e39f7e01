/*
 * STM32H7 embedded flash (RM0433 chapter 4 for H742/H743/H750/H753, RM0468
 * chapter 4 for H72x/H73x; same registers and sequences). What sets it
 * apart from the F4 controller it descends from:
 *
 * - one register block per bank: KEYR, CR, SR and CCR of bank 2 sit 0x100
 *   above bank 1's (FLASH_KEYR2 0x104, CR2 0x10C, SR2 0x110, CCR2 0x114);
 *   the chip row gives that as bank2_regs, and fl_reg()/fl_bank_of() pick
 *   the block of the bank a sector or address is in. Each bank unlocks on
 *   its own. The option registers exist once, in bank 1's block.
 * - the program unit is a 256-bit flash word (32 bytes, with 10 ECC bits):
 *   PG set, eight 32-bit stores fill the write buffer, the controller
 *   writes the word once it is full (or when CR.FW forces a partial one),
 *   and SR.QW shows a write queued or running. A flash word takes one
 *   write after an erase: a second one corrupts its ECC.
 * - SR is read-only; its flags are cleared by writing 1 to the same bit in
 *   CCR (the descriptor's sr_clear).
 * - LOCK is CR bit 0 (F4: bit 31), and START bit 7.
 * - options are written into OPTSR_PRG and applied by OPTCR.OPTSTART;
 *   OPTSR_CUR shows what is in force (RDP in bits 15:8).
 *
 * Sectors are 128 KiB, 8 per bank, numbered per bank (CR.SNB 0-7 in the
 * bank's own CR). Erase and program run at x64 parallelism (PSIZE = 3),
 * what OpenOCD and stlink use; the H743 datasheet gives 1 s typ / 2 s max
 * for a 128 KiB sector at x64 (1.1 / 2.2 s at x32).
 *
 * H7Ax/H7Bx (RM0455, DEV_ID 0x480) have the same controller with other CR
 * bit positions (no PSIZE; FW b4, START b5, SNB b12:6), 128 sectors of
 * 8 KiB per bank and 128-bit flash words: a second descriptor below, its
 * differences as variant data (h7_variant) for these functions and for
 * stub_h7 (fl_loader_h7).
 *
 * The core is a Cortex-M7 as on the F7: its L1 caches cache AXI flash
 * reads once firmware enables them, so prepare() turns them off; the
 * stub runs in DTCM (0x20000000), which the M7 fetches instructions from
 * (Cortex-M7 TRM 5.1: the TCMs serve the instruction and the data side)
 * and which is never cached (TRM 5.8.1).
 */
#include "flash_internal.h"
#include "h7.h"

#include <string.h>

/* Register offsets from a bank's block (RM0433 4.9, FLASH registers). */
#define FLASH_KEYR      0x04u
#define FLASH_OPTKEYR   0x08u
#define FLASH_CR        0x0Cu
#define FLASH_SR        0x10u
#define FLASH_CCR       0x14u
#define FLASH_OPTCR     0x18u
#define FLASH_OPTSR_CUR 0x1Cu
#define FLASH_OPTSR_PRG 0x20u
#define FLASH_OPTCCR    0x24u

/* FLASH_CR1/CR2 (RM0433 4.9, FLASH_CR1): LOCK, PG, SER and BER are where
 * they are on every H7. */
#define FLASH_CR_LOCK (1u << 0)
#define FLASH_CR_PG   (1u << 1)
#define FLASH_CR_SER  (1u << 2)
#define FLASH_CR_BER  (1u << 3)
/* H74x/H75x, H72x/H73x (RM0433, RM0468): PSIZE b5:4, FW b6, START b7, SNB
 * b10:8 (8 sectors a bank). */
#define FLASH_CR_PSIZE_X64 (3u << 4)
#define FLASH_CR_FW        (1u << 6)
#define FLASH_CR_START     (1u << 7)
#define FLASH_CR_SNB_SHIFT 8
#define FLASH_CR_SNB_MASK  0x7u
/* H7Ax/H7Bx (RM0455 FLASH_CR1): no PSIZE, FW b4, START b5, SNB b12:6 (128
 * sectors a bank). Checked against the SVD-derived tables of stm32-rs and
 * OpenOCD's stm32h7a_h7bxx_compute_flash_cr (docs/reference). */
#define FLASH_CR_AB_FW        (1u << 4)
#define FLASH_CR_AB_START     (1u << 5)
#define FLASH_CR_AB_SNB_SHIFT 6
#define FLASH_CR_AB_SNB_MASK  0x7Fu

/* FLASH_SR1/SR2 (RM0433 4.9, FLASH_SR1): BSY while an operation runs, QW
 * while one waits in the queue or runs, WBNE while the write buffer holds
 * part of a flash word (not busy: it waits for the rest, or for FW). */
#define FLASH_SR_BSY      (1u << 0)
#define FLASH_SR_WBNE     (1u << 1)
#define FLASH_SR_QW       (1u << 2)
#define FLASH_SR_EOP      (1u << 16)
#define FLASH_SR_WRPERR   (1u << 17)
#define FLASH_SR_PGSERR   (1u << 18)
#define FLASH_SR_STRBERR  (1u << 19)
#define FLASH_SR_INCERR   (1u << 21)
#define FLASH_SR_OPERR    (1u << 22)
#define FLASH_SR_RDPERR   (1u << 23)
#define FLASH_SR_RDSERR   (1u << 24)
#define FLASH_SR_SNECCERR (1u << 25)
#define FLASH_SR_DBECCERR (1u << 26)
#define FLASH_SR_CRCRDERR (1u << 28)

/* FLASH_OPTCR (RM0433 4.9, FLASH_OPTCR): SWAP_BANK b31 is the bank swap in
 * force (read-only; OPTSR's SWAP_BANK_OPT reaches it at the next reset). */
#define FLASH_OPTCR_OPTLOCK   (1u << 0)
#define FLASH_OPTCR_OPTSTART  (1u << 1)
#define FLASH_OPTCR_SWAP_BANK (1u << 31)

/* FLASH_OPTSR_CUR/PRG (RM0433 4.9): OPT_BUSY b0 (CUR only), BOR_LEV b3:2,
 * IWDG1_SW b4, NRST_STOP_D1 b6, NRST_STBY_D1 b7, RDP b15:8 (0xAA level 0,
 * 0xCC level 2, any other level 1), FZ_IWDG_STOP b17, FZ_IWDG_SDBY b18,
 * ST_RAM_SIZE b20:19, SECURITY b21, IO_HSLV b29, OPTCHANGEERR b30 (CUR
 * only), SWAP_BANK_OPT b31. */
#define FLASH_OPTSR_OPT_BUSY     (1u << 0)
#define FLASH_OPTSR_RDP_SHIFT    8
#define FLASH_OPTSR_RDP_MASK     0xFF00u
#define FLASH_OPTSR_OPTCHANGEERR (1u << 30)
#define FLASH_OPTSR_SWAP_BANK    (1u << 31)
/* What software may change: BOR_LEV, IWDG1_SW, NRST_STOP_D1, NRST_STBY_D1,
 * FZ_IWDG_STOP, FZ_IWDG_SDBY. Not SECURITY (it cannot be cleared again),
 * IO_HSLV (only for a 2.7 V-max supply: set at 3.3 V it can damage the
 * I/Os), ST_RAM_SIZE or SWAP_BANK_OPT (they change the memory map). */
#define FLASH_OPTSR_USER 0x000600DCu

/* FLASH_OPTCCR (RM0433 4.9): CLR_OPTCHANGEERR b30. */
#define FLASH_OPTCCR_CLR_OPTCHANGEERR (1u << 30)

/* Keys (RM0433 4.9, FLASH_KEYR1 and FLASH_OPTKEYR): as on the F4. */
#define FLASH_KEY1    0x45670123u
#define FLASH_KEY2    0xCDEF89ABu
#define FLASH_OPTKEY1 0x08192A3Bu
#define FLASH_OPTKEY2 0x4C5D6E7Fu

#define RDP_LEVEL0 0xAAu
#define RDP_LEVEL1 0x55u /* any byte but 0xAA and 0xCC */

/* RM0433 4.6 (FLASH error management). */
static const fl_flag sr_flags[] = {
    {FLASH_SR_WRPERR, "WRPERR", FL_E_PROTECTED,
     "the sector is write-protected; clear its WPSN option bit (or regress RDP)"},
    {FLASH_SR_PGSERR, "PGSERR", FL_E_FLASH,
     "programming sequence error (a store with PG clear, or an erase while the write buffer "
     "held data); reset the board and retry"},
    {FLASH_SR_STRBERR, "STRBERR", FL_E_FLASH,
     "a byte of a flash word was written twice before the word was programmed; report it, "
     "this is a loader bug"},
    {FLASH_SR_INCERR, "INCERR", FL_E_FLASH,
     "a store went to another flash word before the last one was complete; report it, this is "
     "a loader bug"},
    {FLASH_SR_OPERR, "OPERR", FL_E_FLASH,
     "the write or erase failed; power-cycle the board and retry, then reject it"},
    {FLASH_SR_RDPERR, "RDPERR", FL_E_PROTECTED,
     "read of a PCROP or readout-protected area; remove the protection (or regress RDP)"},
    {FLASH_SR_RDSERR, "RDSERR", FL_E_PROTECTED,
     "read of a secure-only area; the part's secure area must be removed by its owner"},
    {FLASH_SR_SNECCERR, "SNECCERR", FL_E_FLASH,
     "a single-bit ECC error was corrected on a read (a flash word written twice, or a worn "
     "cell); erase the sector and program it again"},
    {FLASH_SR_DBECCERR, "DBECCERR", FL_E_FLASH,
     "a double-bit ECC error on a read (a flash word written twice without an erase, or a "
     "damaged cell); erase the sector and retry, then reject the board"},
    {FLASH_SR_CRCRDERR, "CRCRDERR", FL_E_PROTECTED,
     "the flash CRC unit read a protected area; remove the protection"},
    {0, NULL, FL_OK, NULL},
};

/* What differs between the H7 flash interfaces beyond the descriptor's
 * fields: the CR bits of an erase and of a forced write, and where SNB is. */
typedef struct h7_variant {
    uint32_t cr_psize; /* PSIZE x64 with PG/SER/BER; 0: the variant has none */
    uint32_t cr_fw, cr_start;
    uint32_t snb_shift, snb_mask;
} h7_variant;

static const h7_variant *variant_of(const fl_target *t)
{
    return fl_family_of(t)->variant;
}

/* RM0433 4.3 (sector erase), RM0455 4.3: SER, SNB (the sector in its
 * bank), PSIZE where there is one, then START, in the CR of the sector's
 * bank. */
static fl_err erase(fl_target *t, const fl_unit *u)
{
    const h7_variant *v = variant_of(t);
    uint32_t cr = FLASH_CR_SER | (u->index_in_bank & v->snb_mask) << v->snb_shift | v->cr_psize;
    return fl_ctrl_run(t, fl_bank_of(t, u->addr), cr, v->cr_start, fl_family_of(t)->erase_ms,
                       "sector erase", u->addr);
}

/* Bank erase (RM0433 4.3): BER and START in each bank's CR. Each bank has
 * its own controller, so both erases are started before either is waited
 * for: a full erase takes one bank's time, not two (ST's HAL does the same
 * for a two-bank sector erase, docs/reference/stm32-h-series.md 3).
 * OPTCR.MER would erase both too, but through the option register, with
 * the errors in two SRs all the same. Only the banks the part has: the
 * 128 KiB H7B0 is bank 1 alone. Both are waited for even when one fails,
 * so that neither is left running; the first error is the one reported. */
static fl_err mass_erase(fl_target *t)
{
    const h7_variant *v = variant_of(t);
    uint32_t banks = fl_chip_banks(t->chip, t->flash_size), started = 0;
    fl_err e = FL_OK;
    for (uint32_t bank = 0; bank < banks && !e; bank++) {
        e = fl_ctrl_start(t, bank, FLASH_CR_BER | v->cr_psize, v->cr_start);
        started += !e;
    }
    for (uint32_t bank = 0; bank < started; bank++) {
        uint32_t addr = t->chip->line->flash_base + (bank ? t->chip->bank2_start : 0);
        char first[sizeof t->msg];
        memcpy(first, t->msg, sizeof first);
        fl_err w = fl_ctrl_finish(t, bank, fl_family_of(t)->mass_ms, "bank erase", addr);
        if (e)
            memcpy(t->msg, first, sizeof first); /* keep the first error's message */
        else
            e = w;
    }
    return e;
}

/* stub_h7 takes the variant's CR bits and flash word from the control
 * block. */
static void loader_setup(const fl_target *t, fl_loader_ctl *ctl)
{
    const fl_family *f = fl_family_of(t);
    const h7_variant *v = variant_of(t);
    ctl->h7.cr_program = f->cr_program;
    ctl->h7.cr_erase = FLASH_CR_SER | v->cr_psize;
    ctl->h7.cr_fw = v->cr_fw;
    ctl->h7.cr_start = v->cr_start;
    ctl->h7.snb_shift = v->snb_shift;
    ctl->h7.snb_mask = v->snb_mask;
    ctl->h7.word = f->program_unit;
}

/* Bank swap (RM0433 4.3, "flash bank and register swapping"; ST's "How to
 * configure swap bank on STM32H7"): with OPTCR.SWAP_BANK set, bank 2 is
 * at 0x08000000 and bank 1 at 0x08100000. Which register block then
 * serves which address was not established in this work, so Flashline
 * refuses rather than erase the wrong bank's sectors. OPTSR_CUR's
 * SWAP_BANK_OPT differing from it is a swap that the next reset applies:
 * what Flashline programs would move to the other address, refused too. */
const char *fl_h7_swap_refusal(uint32_t optcr, uint32_t optsr_cur)
{
    bool now = optcr & FLASH_OPTCR_SWAP_BANK, next = optsr_cur & FLASH_OPTSR_SWAP_BANK;
    if (now)
        return "the flash banks are swapped (FLASH_OPTCR.SWAP_BANK = 1: bank 2 answers at "
               "0x08000000, bank 1 at 0x08100000), which Flashline does not program: its sector "
               "numbers and register blocks assume the banks in place. Clear SWAP_BANK_OPT "
               "(STM32CubeProgrammer option bytes, or the firmware that set it), reset, and retry";
    if (next)
        return "a bank swap is pending (FLASH_OPTSR_CUR.SWAP_BANK_OPT = 1, FLASH_OPTCR.SWAP_BANK = "
               "0): after the next reset the banks trade addresses and what Flashline programs at "
               "0x08000000 would answer at 0x08100000. Clear SWAP_BANK_OPT (STM32CubeProgrammer "
               "option bytes), reset, and retry";
    return NULL;
}

/* The Cortex-M7's L1 caches (SCB->CCR IC b17, DC b16, Cortex-M7 TRM
 * 4.3.5) cache AXI flash reads once firmware enables them: the stub's
 * read-back and CRC would see lines from before an erase. And the MPU
 * (MPU_CTRL.ENABLE b0, ARMv7-M ARM B3.5.8) applies to TCM accesses too
 * (Cortex-M7 TRM 5.8.1): a firmware region marking 0x20000000
 * execute-never would fault the stub. Both go off; the next reset brings
 * back what firmware sets. The H7 flash interface has no ART of its own. */
#define SCB_CCR         0xE000ED14u
#define SCB_CCR_DC      (1u << 16)
#define SCB_CCR_IC      (1u << 17)
#define MPU_CTRL        0xE000ED94u
#define MPU_CTRL_ENABLE (1u << 0)

static fl_err prepare(fl_target *t)
{
    /* Only a die with two register blocks can swap its banks: not the
     * H72x/H73x (one bank; what bit 31 of their OPTCR/OPTSR holds was not
     * checked, so it is not read there). */
    if (fl_reg_blocks(t) == 2) {
        uint32_t optcr = 0, optsr = 0;
        PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTCR), &optcr));
        PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTSR_CUR), &optsr));
        const char *why = fl_h7_swap_refusal(optcr, optsr);
        if (why)
            return fl_fail(t, FL_E_PROTECTED, "%s: %s", t->chip->name, why);
    }
    uint32_t ccr = 0, mpu = 0;
    PD_TRY(t, pd_read32(t->probe, SCB_CCR, &ccr));
    if (ccr & (SCB_CCR_DC | SCB_CCR_IC))
        PD_TRY(t, pd_write32(t->probe, SCB_CCR, ccr & ~(SCB_CCR_DC | SCB_CCR_IC)));
    PD_TRY(t, pd_read32(t->probe, MPU_CTRL, &mpu));
    if (mpu & MPU_CTRL_ENABLE)
        PD_TRY(t, pd_write32(t->probe, MPU_CTRL, mpu & ~MPU_CTRL_ENABLE));
    return FL_OK;
}

/* ---- option bytes (RM0433 4.4, option byte modification) ---------------------- */

static fl_err opt_read(fl_target *t, fl_opt_now *now)
{
    uint32_t cur = 0, prg = 0;
    uint32_t mask = fl_family_of(t)->opt.user_mask;
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTSR_CUR), &cur));
    PD_TRY(t, pd_read32(t->probe, fl_reg(t, 0, FLASH_OPTSR_PRG), &prg));
    /* CUR is what is in force, PRG what the next OPTSTART applies. */
    now->loaded = (fl_options){
        .rdp = fl_rdp_level((uint8_t)(cur >> FLASH_OPTSR_RDP_SHIFT)),
        .user = cur & mask,
        .wrp = 0,
        .valid = true,
    };
    now->block_rdp = fl_rdp_level((uint8_t)(prg >> FLASH_OPTSR_RDP_SHIFT));
    now->block_user = prg & mask;
    return FL_OK;
}

/* Wait for OPTSR_CUR.OPT_BUSY to fall after OPTSTART, then check
 * OPTCHANGEERR (an option change the controller refused). */
static fl_err opt_wait(fl_target *t, uint32_t timeout_ms, const char *what)
{
    uint32_t at = fl_reg(t, 0, FLASH_OPTSR_CUR), cur = 0;
    uint64_t start = fl_now_ms();
    for (;;) {
        PD_TRY(t, pd_read32(t->probe, at, &cur));
        if (!(cur & FLASH_OPTSR_OPT_BUSY))
            break;
        if (fl_now_ms() - start > timeout_ms + 1000u)
            return fl_fail(t, FL_E_TIMEOUT,
                           "%s: option bytes still busy after %u ms (FLASH_OPTSR_CUR 0x%08X); "
                           "power-cycle the board and retry",
                           what, (unsigned)(fl_now_ms() - start), cur);
        fl_sleep_ms(1);
    }
    if (cur & FLASH_OPTSR_OPTCHANGEERR) {
        PD_TRY(t, pd_write32(t->probe, fl_reg(t, 0, FLASH_OPTCCR), FLASH_OPTCCR_CLR_OPTCHANGEERR));
        return fl_fail(t, FL_E_PROTECTED,
                       "%s refused: FLASH_OPTSR_CUR 0x%08X has OPTCHANGEERR (a value the "
                       "controller does not take, or a protected option); nothing changed",
                       what, cur);
    }
    return FL_OK;
}

static fl_err opt_write(fl_target *t, const fl_opt_now *now, int level, uint32_t user)
{
    const fl_opt_family *o = &fl_family_of(t)->opt;
    fl_err e = fl_opt_unlock(t);
    if (e)
        return e;
    PD_TRY(t, pd_write32(t->probe, fl_reg(t, 0, FLASH_OPTCCR), FLASH_OPTCCR_CLR_OPTCHANGEERR));
    uint32_t prg = 0, at = fl_reg(t, 0, FLASH_OPTSR_PRG);
    PD_TRY(t, pd_read32(t->probe, at, &prg));
    uint32_t v = (prg & ~(FLASH_OPTSR_RDP_MASK | o->user_mask)) |
                 (uint32_t)o->level_byte[level] << FLASH_OPTSR_RDP_SHIFT | (user & o->user_mask);
    PD_TRY(t, pd_write32(t->probe, at, v));
    uint32_t optcr = 0, cr_at = fl_reg(t, 0, FLASH_OPTCR);
    PD_TRY(t, pd_read32(t->probe, cr_at, &optcr));
    PD_TRY(t, pd_write32(t->probe, cr_at, optcr | FLASH_OPTCR_OPTSTART));
    bool regress = level == 0 && now->loaded.rdp == 1;
    e = opt_wait(t, regress ? o->regress_ms : o->op_ms,
                 regress ? "RDP regression (mass erase)" : "option byte program");
    PD_TRY(t, pd_write32(t->probe, cr_at, (optcr & ~FLASH_OPTCR_OPTSTART) | FLASH_OPTCR_OPTLOCK));
    return e;
}

/* What both interfaces share: registers, flags, keys, RDP, options. */
#define H7_COMMON                                                                                  \
    .stub = "h7", .loader_setup = loader_setup, .erased = 0xFF, .sr = FLASH_SR, .cr = FLASH_CR,    \
    .sr_busy = FLASH_SR_BSY | FLASH_SR_QW, .sr_eop = FLASH_SR_EOP, .sr_flags = sr_flags,           \
    .sr_clear = FLASH_CCR, .keys = {{FLASH_KEYR, FLASH_KEY1, FLASH_KEY2, FLASH_CR_LOCK}},          \
    .cr_lock = FLASH_CR_LOCK, .rdp_off = FLASH_OPTSR_CUR, .rdp_mask = FLASH_OPTSR_RDP_MASK,        \
    .rdp_clear = RDP_LEVEL0 << FLASH_OPTSR_RDP_SHIFT, .bank_code_shift = 8, .erase = erase,        \
    .mass_erase = mass_erase, .prepare = prepare, .store_width = 4

#define H7_OPT                                                                                     \
    .level_byte = {RDP_LEVEL0, RDP_LEVEL1}, .read = opt_read, .write = opt_write,                  \
    .optkeyr = FLASH_OPTKEYR, .lock_reg = FLASH_OPTCR, .lock_bit = FLASH_OPTCR_OPTLOCK,            \
    .optkeys = {FLASH_OPTKEY1, FLASH_OPTKEY2}

/* Times with margin: a 128 KiB sector erases in 2 s max at x64 (H743
 * datasheet, flash characteristics); a bank erase is given 30 s,
 * OpenOCD's mass-erase timeout (the datasheet's figure unread), an RDP
 * regression, which erases both banks, twice that. OPTSTART without a
 * regression rewrites the option words only. The options are in force
 * after OPTSTART; the engine still resets the chip (obl_bit 0) so that RDP
 * applies to the debug port and the check reads them as the next boot
 * will. */
static const h7_variant h74 = {
    .cr_psize = FLASH_CR_PSIZE_X64,
    .cr_fw = FLASH_CR_FW,
    .cr_start = FLASH_CR_START,
    .snb_shift = FLASH_CR_SNB_SHIFT,
    .snb_mask = FLASH_CR_SNB_MASK,
};

const fl_family fl_family_h7 = {
    H7_COMMON,
    .name = "STM32H7 flash interface",
    .program_unit = 32,
    .erase_ms = 4000,
    .mass_ms = 30000,
    .cr_program = FLASH_CR_PG | FLASH_CR_PSIZE_X64,
    .opt = {H7_OPT, .user_mask = FLASH_OPTSR_USER, .op_ms = 1000, .regress_ms = 60000},
    .variant = &h74,
};

/* H7Ax/H7Bx (RM0455): 16-byte flash words (OpenOCD's block_size 16), PG
 * alone programs (no PSIZE). The 8 KiB sector's erase time was not read
 * (the H7A3 datasheet): the timeout is the H74x's, ample for a sector 16
 * times smaller [U]; the bank erase keeps 30 s. */
static const h7_variant h7ab = {
    .cr_psize = 0,
    .cr_fw = FLASH_CR_AB_FW,
    .cr_start = FLASH_CR_AB_START,
    .snb_shift = FLASH_CR_AB_SNB_SHIFT,
    .snb_mask = FLASH_CR_AB_SNB_MASK,
};

const fl_family fl_family_h7ab = {
    H7_COMMON,
    .name = "STM32H7A/B flash interface",
    .program_unit = 16,
    .erase_ms = 4000,
    .mass_ms = 30000,
    .cr_program = FLASH_CR_PG,
    .opt = {H7_OPT, .user_mask = FLASH_OPTSR_USER, .op_ms = 1000, .regress_ms = 60000},
    .variant = &h7ab,
};
