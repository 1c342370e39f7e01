/*
 * The L0/L1 NVM interface: PECR, three key registers, erased cells reading
 * 0x00. The STM32L0 (FLASH @ 0x40022000, every category) and the STM32L1
 * (FLASH @ 0x40023C00, categories 1 to 6) are variants of one design; what
 * differs is data (l0_variant below): the half-page size, which SR flags
 * exist, ACR.ACC64, the write-protection words and registers, PARALLBANK on
 * dual-bank L1 parts, the flash-size cell's encoding, tprog.
 *
 * Sources: RM0367/RM0377 (L0x3/L0x1) chapter 3, RM0038 (L1) chapter 3, the
 * CMSIS headers stm32l053xx.h, stm32l011xx.h, stm32l073xx.h, stm32l152xb.h,
 * stm32l152xc.h, stm32l152xe.h (FLASH_TypeDef, OB_TypeDef, bit positions),
 * RM0038 for the lock-bit side effects. [U] marks a rule the primary text
 * did not settle; the choice made is always the stricter one a programmer
 * can observe.
 *
 * Model overview
 * - Three locks, opened in order: PEKEYR clears PELOCK (PECR and data EEPROM),
 *   then PRGKEYR clears PRGLOCK (program memory) and OPTKEYR clears OPTLOCK
 *   (option bytes). A wrong key, a key register written out of turn or a third
 *   write after a successful unlock is answered with a bus error and the lock
 *   stays set until the next reset (RM0367/RM0038 FLASH_PECR lock-bit descriptions).
 * - Program memory: a 32-bit store programs one word (no PROG bit); FPRG+PROG
 *   and 16 (L0) or 32 (L1) word stores program a half page (64 B / 128 B);
 *   ERASE+PROG and a store into a page erase that page (128 B L0, 256 B L1).
 *   Erased cells read 0x00. Each of these keeps BSY for one tprog; a store
 *   while BSY waits on the bus. On L0, programming a word that is not zero
 *   fails with NOTZEROERR and writes nothing; the L1 has no such check
 *   (RM0038 SR has no NOTZEROERR): its cells take the OR [U].
 * - L1 dual bank (cat 4, 5, 6): with PECR.PARALLBANK an erase or a half page
 *   takes one page / half page in bank 1, then one in bank 2, and does both
 *   in one tprog (RM0038 "parallel" operations); a second address outside
 *   bank 2 is PGAERR [U].
 * - L1 ACR: LATENCY and PRFTEN take only while ACC64 is set (RM0038 3.9.1).
 * - Data EEPROM: byte/half-word/word stores once PELOCK is clear; the
 *   interface erases the word first when it is not zero (one or two tprog).
 * - Option bytes (user area 0x1FF80000-0x1FF8001F): word stores of
 *   (~v << 16) | v after OPTKEYR; loaded at power-on or PECR.OBL_LAUNCH, which
 *   also resets the chip.
 */
#include "flash_l0.h"

#include <string.h>

/* ---- registers (RM0367 FLASH register map, offsets) --------------------- */
#define REG_ACR     0x00
#define REG_PECR    0x04
#define REG_PDKEYR  0x08
#define REG_PEKEYR  0x0C
#define REG_PRGKEYR 0x10
#define REG_OPTKEYR 0x14
#define REG_SR      0x18
#define REG_OPTR    0x1C
#define REG_WRPR    0x20

#define ACR_LATENCY (1u << 0)
#define ACR_PRFTEN  (1u << 1)
#define ACR_RUN_PD  (1u << 4) /* L0 and L1 */

#define PECR_PELOCK     (1u << 0)
#define PECR_PRGLOCK    (1u << 1)
#define PECR_OPTLOCK    (1u << 2)
#define PECR_PROG       (1u << 3)
#define PECR_DATA       (1u << 4)
#define PECR_FIX        (1u << 8) /* L1: FTDW, same meaning */
#define PECR_ERASE      (1u << 9)
#define PECR_FPRG       (1u << 10)
#define PECR_PARALLBANK (1u << 15) /* L1 cat 4, 5, 6 */
#define PECR_EOPIE      (1u << 16)
#define PECR_ERRIE      (1u << 17)
#define PECR_OBL_LAUNCH (1u << 18)
#define PECR_NZDISABLE  (1u << 23)
#define PECR_LOCKS      (PECR_PELOCK | PECR_PRGLOCK | PECR_OPTLOCK)
/* Bits that select an operation: "writable only when no program or erase
 * operation is ongoing" and "cleared when PELOCK is set" (RM0038/RM0367 PECR). */
#define PECR_OPSEL (PECR_PROG | PECR_DATA | PECR_FIX | PECR_ERASE | PECR_FPRG)
#define PECR_CFG   (PECR_OPSEL | PECR_EOPIE | PECR_ERRIE)

#define SR_BSY   (1u << 0)
#define SR_ENDHV (1u << 2)
#define SR_READY (1u << 3)

#define PEKEY1  0x89ABCDEFu
#define PEKEY2  0x02030405u
#define PRGKEY1 0x8C9DAEBFu
#define PRGKEY2 0x13141516u
#define OPTKEY1 0xFBEAD9C8u
#define OPTKEY2 0x24252627u
#define PDKEY1  0x04152637u
#define PDKEY2  0xFAFBFCFDu

/* ---- memory layout (RM0377 Table 5, RM0038 Table 5-9) ---------------------- */
#define OPT_BASE     0x1FF80000u      /* user option bytes */
#define OPT_SIZE     0x88u            /* up to WRP1415 at +0x84 (L1 cat 5) */
#define OPT_RDP      (OPT_BASE + 0x0) /* RDPROT b7:0, WPRMOD b8 (+ complement) */
#define OPT_USER     (OPT_BASE + 0x4) /* BOR_LEV, IWDG_SW, nRST_STOP, nRST_STDBY, nBOOT1/BFB2 */
#define OPT_USER_END 0x20u            /* L0 user option words; L1 RDP, USER, WRP01-WRP1011 */
#define SECTOR_SIZE  4096u            /* write-protection unit, L0 and L1 */
#define OPTR_WPRMOD  (1u << 8)

/* Factory option image [U: exact shipped USER value]: level 0, WPRMOD 0,
 * BOR off, IWDG/nRST_STOP/nRST_STDBY = 1 (software watchdog, no reset on
 * Stop/Standby), L0 nBOOT1 = 1 -> L0 OPTR 0x807000AA; no write protection. */
#define FACTORY_RDP 0x00AAu

/* ---- helpers --------------------------------------------------------------- */

static const l0_variant *var(const sim_board *b)
{
    return sim_board_chip(b)->flash->variant;
}

static uint32_t opt_word(uint16_t v)
{
    return ((uint32_t)(uint16_t)~v << 16) | v;
}

static uint8_t rdp_level_byte(const l0_state *st)
{
    return (uint8_t)(st->optr & 0xFF);
}

/* RM0367 read protection and SR.WRPERR causes: with RDP set, program/erase of the program
 * memory and data EEPROM are refused while a debugger is connected (and when
 * booting from SRAM or system memory, which the board does not model). */
static bool rdp_blocks_writes(const sim_board *b, const l0_state *st)
{
    return rdp_level_byte(st) != FLASH_RDP_LEVEL0 && sim_debugger_attached(b);
}

static bool in_eeprom(const sim_chip *c, uint32_t addr)
{
    return c->eeprom_size && flash_in_range(addr, 1, c->eeprom_base, c->eeprom_size);
}

/* Write protection: WRPR bit n protects 4 KiB sector n when WPRMOD = 0
 * (RM0367 FLASH_WRPR). With WPRMOD = 1 the bits select PCROP sectors instead; read
 * protection of code is not modelled (the board owns reads). */
static bool sector_protected(const sim_chip *c, const l0_state *st, uint32_t addr)
{
    if (st->optr & OPTR_WPRMOD)
        return false;
    uint32_t sector = (addr - c->flash_base) / SECTOR_SIZE;
    return sector < 32 * (WRP_WORDS / 2) && (st->wrp[sector / 32] >> (sector % 32)) & 1u;
}

static void set_error(l0_state *st, uint32_t flags)
{
    st->sr |= flags;
    /* Any error abandons a half page being loaded (HAL ramfunc: "start
     * over" after PGAERR). */
    st->hp_count = 0;
    st->par_erase = false;
}

/* Complete an operation whose BSY time is over: EOP is set "if the high
 * voltage stops being applied and programming has not been aborted"
 * (RM0038/RM0367 SR.EOP); unlike L4 it does not depend on EOPIE, which only
 * enables the interrupt. */
static void sync(sim_board *b, l0_state *st)
{
    if (flash_op_ended(b, &st->op))
        st->sr |= SR_EOP;
}

static void stall_if_busy(sim_board *b, l0_state *st)
{
    flash_stall_if_busy(b);
    sync(b, st);
}

/* PELOCK set by software or by a failed unlock: locks everything and clears
 * the operation selection bits (RM0038 PECR: PRGLOCK/OPTLOCK "set when PELOCK
 * is set"; PROG, DATA, FIX/FTDW, ERASE, FPRG "cleared when PELOCK is set").
 * OpenOCD and st-flash rely on this: they leave ERASE|PROG behind and only
 * relock. */
static void lock_all(l0_state *st)
{
    st->pecr |= PECR_LOCKS;
    st->pecr &= ~PECR_OPSEL;
    flash_key_restart(&st->pe_keys);
    flash_key_restart(&st->prg_keys);
    flash_key_restart(&st->opt_keys);
    st->hp_count = 0;
    st->par_erase = false;
}

/* ---- option bytes ------------------------------------------------------------ */

/* Load OPTR/WRPR from the option image (power-on reset, OBL_LAUNCH). Each word
 * holds the value in b15:0 and its complement in b31:16; a mismatch sets
 * OPTVERR (RM0367 SR.OPTVERR) and, for the RDP word, falls back to level 1
 * [U: which default the other options take]. */
static void load_options(sim_board *b, l0_state *st)
{
    const l0_variant *v = var(b);
    uint8_t *img = sim_board_info_ptr(b, OPT_BASE, OPT_SIZE);
    st->opt_invalid = false;
    memset(st->wrp, 0, sizeof st->wrp);
    if (!img) {
        st->optr = FACTORY_RDP | (uint32_t)v->factory_user << 16;
        return;
    }
    uint32_t w_rdp = flash_le32(img + 0), w_user = flash_le32(img + 4);
    uint16_t rdp = (uint16_t)w_rdp, user = (uint16_t)w_user;
    if ((uint16_t)(w_rdp >> 16) != (uint16_t)~rdp) {
        st->opt_invalid = true;
        rdp = 0x00; /* neither 0xAA nor 0xCC: level 1 */
    }
    if ((uint16_t)(w_user >> 16) != (uint16_t)~user)
        st->opt_invalid = true;
    /* WRP words: 16 sectors each, in order (OB_TypeDef WRP01, WRP23, ...) */
    for (unsigned i = 0; i < v->nwrp_opt; i++) {
        uint32_t w = flash_le32(img + v->wrp_opt[i]);
        uint16_t wrp = (uint16_t)w;
        if ((uint16_t)(w >> 16) != (uint16_t)~wrp)
            st->opt_invalid = true;
        st->wrp[i / 2] |= (uint32_t)wrp << (16 * (i % 2));
    }
    st->optr = (uint32_t)rdp | (uint32_t)user << 16;
}

/* The flash-size cell as the part presents it (RM0038 "Flash size
 * register"; HAL-L1 FLASH_SIZE / FLASH_SIZE_RAW). */
static void write_size_cell(sim_board *b)
{
    const sim_chip *c = sim_board_chip(b);
    uint8_t *p = sim_board_info_ptr(b, c->flash_size_reg, 2);
    uint16_t kib = (uint16_t)(c->flash_size / 1024);
    if (!p)
        return;
    switch (var(b)->size_cell) {
    case SIZE_CODE_436:
        flash_put_le16(p, kib == 256 ? 1 : 0);
        break;
    case SIZE_LOW_BYTE:
        flash_put_le16(p, (uint16_t)(0xFF00u | (kib & 0xFFu)));
        break;
    case SIZE_KIB:
    default:
        break; /* the board wrote KiB already */
    }
}

/* ---- flash_ctrl_ops ------------------------------------------------------------ */

void l0_factory(sim_board *b, void *vst)
{
    l0_state *st = vst;
    uint8_t *img = sim_board_info_ptr(b, OPT_BASE, OPT_SIZE);
    const l0_variant *v = var(b);
    if (img) {
        memset(img, 0, OPT_USER_END); /* erased option words read 0 */
        flash_put_le32(img + 0, opt_word(FACTORY_RDP));
        flash_put_le32(img + 4, opt_word(v->factory_user));
        for (unsigned i = 0; i < v->nwrp_opt; i++)
            flash_put_le32(img + v->wrp_opt[i], opt_word(0));
    }
    write_size_cell(b);
    load_options(b, st);
}

void l0_reset(sim_board *b, void *vst, bool power_on)
{
    l0_state *st = vst;
    /* A reset in the middle of a program/erase leaves the cells it was
     * changing in an undefined state. */
    flash_op_cut_short(b, &st->op);
    bool reload = power_on || st->obl_pending;
    st->acr = 0;
    st->pecr = PECR_LOCKS; /* reset value 0x00000007 */
    st->pe_keys = st->prg_keys = st->opt_keys = (flash_keyseq){0};
    st->pd = (flash_run_pd){0};
    st->hp_count = 0;
    st->par_erase = false;
    flash_op_forget(&st->op);
    st->obl_pending = false;
    if (reload)
        load_options(b, st);
    /* OPTVERR "reverts to 1 at each system reset" while the options stay
     * invalid (RM0038 SR.OPTVERR). */
    st->sr = st->opt_invalid ? SR_OPTVERR : 0;
}

uint32_t l0_reg_read(sim_board *b, void *vst, uint32_t offset)
{
    l0_state *st = vst;
    sync(b, st);
    switch (offset) {
    case REG_ACR:
        return st->acr;
    case REG_PECR:
        return st->pecr;
    case REG_SR: {
        bool busy = sim_flash_busy(b);
        /* READY: the NVM is not in power-down (the board has no low-power
         * modes). ENDHV: no high voltage applied. Reset value 0x0000000C. */
        return st->sr | SR_READY | (busy ? SR_BSY : SR_ENDHV);
    }
    case REG_OPTR:
        return st->optr;
    default:
        for (unsigned i = 0; i < var(b)->nwrpr; i++)
            if (offset == var(b)->wrpr[i])
                return st->wrp[i];
        return 0; /* key registers are write-only; reserved space */
    }
}

/*
 * One key register clearing lock_bit in PECR. prereq is false when the
 * register is not accessible yet (PRGKEYR/OPTKEYR before PELOCK is clear):
 * treated as a wrong sequence [U: bus error vs ignored], as are a partial
 * word and a third access after the unlock. A wrong PEKEYR sequence locks
 * everything. Returns false for a bus error.
 */
static bool key_write(l0_state *st, flash_keyseq *k, uint32_t lock_bit, uint32_t key1,
                      uint32_t key2, bool prereq, uint32_t value, uint32_t mask)
{
    if (flash_key_unlock(k, &st->pecr, lock_bit, prereq, key1, key2, value, mask))
        return true;
    if (lock_bit == PECR_PELOCK)
        lock_all(st);
    return false;
}

static void obl_launch(sim_board *b, l0_state *st)
{
    /* RM0367 PECR.OBL_LAUNCH: reloads the option bytes and generates a
     * system reset (the debug link drops; OpenOCD re-halts afterwards). */
    st->pecr |= PECR_OBL_LAUNCH;
    st->obl_pending = true;
    sim_board_request_reset(b);
}

bool l0_reg_write(sim_board *b, void *vst, uint32_t offset, uint32_t value, uint32_t mask)
{
    l0_state *st = vst;
    sync(b, st);
    uint32_t v = value & mask;
    switch (offset) {
    case REG_ACR: {
        const l0_variant *var_ = var(b);
        uint32_t before = st->acr;
        st->acr = flash_run_pd_acr(&st->pd, st->acr, var_->acr_writable, ACR_RUN_PD, value, mask);
        /* RM0038 3.9.1: LATENCY and PRFTEN can be written only while ACC64
         * is set, and not in the same store that sets it [U: judged on
         * ACC64 before the store, the stricter reading]; ACC64 cannot be
         * cleared while LATENCY or PRFTEN is set [U]. */
        if (var_->acr_acc64) {
            uint32_t gated = ACR_LATENCY | ACR_PRFTEN;
            if (!(before & var_->acr_acc64))
                st->acr = (st->acr & ~gated) | (before & gated);
            if (st->acr & gated)
                st->acr |= var_->acr_acc64;
        }
        sim_clock_changed(b); /* HCLK may now be too fast, or fine again */
        return true;
    }
    case REG_PECR: {
        /* The operation selection bits are "writable only when no program or
         * erase operation is ongoing". A write while BSY waits on the bus
         * until the NVM is idle [U: stall vs ignore]: OpenOCD's stm32lx
         * mass_erase writes OBL_LAUNCH right after an option write without
         * polling BSY, and works on silicon, so the write cannot be lost. */
        stall_if_busy(b, st);
        uint32_t before = st->pecr;
        /* With PELOCK set nothing but the lock bits can be written. */
        if (!(before & PECR_PELOCK)) {
            uint32_t cfg = PECR_CFG | (var(b)->nzdisable ? PECR_NZDISABLE : 0) |
                           (var(b)->parallbank ? PECR_PARALLBANK : 0);
            st->pecr = flash_masked(st->pecr, cfg, value, mask);
            if ((st->pecr ^ before) & (PECR_FPRG | PECR_PROG | PECR_ERASE | PECR_PARALLBANK)) {
                st->hp_count = 0; /* leaving half-page mode drops the latch */
                st->par_erase = false;
            }
            if ((v & PECR_OBL_LAUNCH) && !(before & PECR_OPTLOCK))
                obl_launch(b, st);
        }
        /* Lock bits "can only be written to 1". */
        if (v & PECR_PELOCK)
            lock_all(st);
        if (v & PECR_PRGLOCK) {
            st->pecr |= PECR_PRGLOCK;
            flash_key_restart(&st->prg_keys);
        }
        if (v & PECR_OPTLOCK) {
            st->pecr |= PECR_OPTLOCK;
            flash_key_restart(&st->opt_keys);
        }
        return true;
    }
    case REG_PDKEYR:
        /* Power-down keys only gate ACR.RUN_PD; a wrong key restarts the
         * sequence [U: no bus error documented]. */
        flash_run_pd_key(&st->pd, PDKEY1, PDKEY2, value, mask);
        return true;
    case REG_PEKEYR:
        return key_write(st, &st->pe_keys, PECR_PELOCK, PEKEY1, PEKEY2, true, value, mask);
    case REG_PRGKEYR:
        return key_write(st, &st->prg_keys, PECR_PRGLOCK, PRGKEY1, PRGKEY2,
                         !(st->pecr & PECR_PELOCK), value, mask);
    case REG_OPTKEYR:
        return key_write(st, &st->opt_keys, PECR_OPTLOCK, OPTKEY1, OPTKEY2,
                         !(st->pecr & PECR_PELOCK), value, mask);
    case REG_SR:
        flash_w1c(&st->sr, var(b)->sr_w1c, value, mask);
        return true;
    default:
        return true; /* OPTR, WRPR read-only; reserved space ignores writes */
    }
}

/* ---- program memory -------------------------------------------------------- */

/* Program n words at addr (already checked). Cells that do not take a program
 * (SIM_FAULT_BAD_CELL) keep their content; the controller still reports
 * success, as a marginal cell does: only a verify catches it. With NZDISABLE
 * the non-zero check is off and a program can only set more bits (erased
 * cells are 0 on L0), hence the OR. */
static void program_words(sim_board *b, uint32_t addr, const uint32_t *w, unsigned n)
{
    const sim_chip *c = sim_board_chip(b);
    uint8_t *p = sim_flash_ptr(b) + (addr - c->flash_base);
    for (unsigned i = 0; i < n; i++) {
        if (sim_flash_cell_bad(b, addr + 4 * i, 4))
            continue;
        flash_put_le32(p + 4 * i, flash_le32(p + 4 * i) | w[i]);
    }
    sim_flash_changed(b, addr, 4 * n);
}

static bool words_zero(sim_board *b, uint32_t addr, unsigned n)
{
    const sim_chip *c = sim_board_chip(b);
    const uint8_t *p = sim_flash_ptr(b) + (addr - c->flash_base);
    for (unsigned i = 0; i < 4 * n; i++)
        if (p[i])
            return false;
    return true;
}

/* Checks of one program (a word, or one half page), without starting it.
 * NOTZEROERR (L0): the target is not erased and the interface cannot erase
 * it first (RM0377 SR.NOTZEROERR). Whether the write still happens is not
 * stated [U]; here it is dropped (the array keeps its content, EOP stays
 * clear), so that a missed erase always shows up in a verify. NZDISABLE
 * suppresses the check (and the flag). The L1 has no such check: the cells
 * take the OR of old and new data, which only a verify catches [U]. */
static bool program_allowed(sim_board *b, l0_state *st, uint32_t addr, unsigned n)
{
    const sim_chip *c = sim_board_chip(b);
    if (sector_protected(c, st, addr)) {
        set_error(st, SR_WRPERR);
        return false;
    }
    if (var(b)->notzero && !(st->pecr & PECR_NZDISABLE) && !words_zero(b, addr, n)) {
        set_error(st, SR_NOTZEROERR);
        return false;
    }
    return true;
}

static void program_checked(sim_board *b, l0_state *st, uint32_t addr, const uint32_t *w,
                            unsigned n)
{
    if (!program_allowed(b, st, addr, n))
        return;
    program_words(b, addr, w, n);
    flash_op_begin(b, &st->op, var(b)->tprog_ns, FLASH_AREA_MAIN, addr, 4 * n);
}

/* Dual-bank L1: bank 2 starts at half the flash (RM0038 Table 7-9,
 * stm32l152xe.h FLASH_BANK2_BASE for 512 KiB; 192 KiB banks on 0x436). */
static bool in_bank2(const sim_chip *c, uint32_t addr)
{
    return addr - c->flash_base >= c->flash_size / 2;
}

static void erase_page(sim_board *b, l0_state *st, uint32_t addr)
{
    const sim_chip *c = sim_board_chip(b);
    uint32_t page = addr & ~(c->page_size - 1);
    if (sector_protected(c, st, page)) {
        set_error(st, SR_WRPERR);
        return;
    }
    if (st->pecr & PECR_PARALLBANK) {
        /* Parallel erase: a page of bank 1, then one of bank 2; both erase
         * in one tprog when the second arrives (RM0038 "parallel page
         * erase"). Anything else is PGAERR [U]. */
        if (!st->par_erase) {
            if (in_bank2(c, page)) {
                set_error(st, SR_PGAERR);
                return;
            }
            st->par_erase = true;
            st->par_page = page;
            return;
        }
        st->par_erase = false;
        if (!in_bank2(c, page)) {
            set_error(st, SR_PGAERR);
            return;
        }
        flash_erase_main(b, st->par_page, c->page_size);
        flash_erase_main(b, page, c->page_size);
        /* a reset cuts the bank 2 page short; bank 1's is treated as done */
        flash_op_begin(b, &st->op, var(b)->tprog_ns, FLASH_AREA_MAIN, page, c->page_size);
        return;
    }
    flash_erase_main(b, page, c->page_size);
    flash_op_begin(b, &st->op, var(b)->tprog_ns, FLASH_AREA_MAIN, page, c->page_size);
}

/* Half page: word stores fill a latch in order; the first of each half page
 * must be aligned to it and all of them inside it, else PGAERR and the latch
 * is abandoned (RM0377/RM0038 half-page programming, SR.PGAERR). The L0 HAL
 * stores all words to the first address, loaders increment the address: both
 * land in order. With PARALLBANK a half page in bank 1 and then one in bank 2
 * are loaded (RM0038 parallel half-page programming). The array write starts
 * after the last word and takes one tprog for one or both half pages. */
static void half_page_word(sim_board *b, l0_state *st, uint32_t addr, uint32_t value)
{
    const sim_chip *c = sim_board_chip(b);
    unsigned n = var(b)->hp_words;
    uint32_t hp_bytes = 4 * n;
    bool par = st->pecr & PECR_PARALLBANK;
    unsigned half = st->hp_count / n;
    if (st->hp_count % n == 0) {
        if ((addr & (hp_bytes - 1)) || (par && in_bank2(c, addr) != (half == 1))) {
            set_error(st, SR_PGAERR);
            return;
        }
        st->hp_base[half] = addr;
    } else if ((addr & ~(hp_bytes - 1)) != st->hp_base[half]) {
        set_error(st, SR_PGAERR);
        return;
    }
    st->hp_data[st->hp_count++] = value;
    if (st->hp_count < (par ? 2 : 1) * n)
        return;
    st->hp_count = 0;
    unsigned halves = par ? 2 : 1;
    for (unsigned h = 0; h < halves; h++)
        if (!program_allowed(b, st, st->hp_base[h], n))
            return;
    for (unsigned h = 0; h < halves; h++)
        program_words(b, st->hp_base[h], st->hp_data + h * n, n);
    flash_op_begin(b, &st->op, var(b)->tprog_ns, FLASH_AREA_MAIN, st->hp_base[halves - 1],
                   hp_bytes);
}

static void store_main(sim_board *b, l0_state *st, uint32_t addr, uint32_t value, unsigned size)
{
    /* WRPERR: program memory not unlocked (PELOCK and PRGLOCK), or RDP with
     * a debugger (RM0377 SR.WRPERR cause list). */
    if (st->pecr & (PECR_PELOCK | PECR_PRGLOCK)) {
        set_error(st, SR_WRPERR);
        return;
    }
    if (rdp_blocks_writes(b, st)) {
        set_error(st, SR_WRPERR);
        return;
    }
    /* Program memory is written by words only (RM0377 "NVM main
     * features": word or half-page programming). */
    if (size != 4 || (addr & 3)) {
        set_error(st, SR_SIZERR);
        return;
    }
    uint32_t sel = st->pecr & (PECR_PROG | PECR_ERASE | PECR_FPRG);
    if (sel == (PECR_PROG | PECR_ERASE)) {
        /* Page erase: ERASE+PROG, then a word store anywhere in the page (HAL
         * and OpenOCD store 0 to its first word; the value is ignored [U]). */
        erase_page(b, st, addr);
        return;
    }
    if (sel == (PECR_PROG | PECR_FPRG)) {
        half_page_word(b, st, addr, value);
        return;
    }
    if (sel == 0 || sel == PECR_PROG) {
        /* Word programming needs no PROG bit (RM0038 PECR.PROG: "except in
         * the case of word programming"). */
        program_checked(b, st, addr, &value, 1);
        return;
    }
    /* FPRG or ERASE without PROG (or with each other): program memory not
     * selected for this operation [U: flag]; nothing is written. */
    set_error(st, SR_WRPERR);
}

/* ---- data EEPROM and option bytes ------------------------------------------ */

static void store_eeprom(sim_board *b, l0_state *st, uint32_t addr, uint32_t value, unsigned size)
{
    /* Data EEPROM is writable once PELOCK is clear (RM0038 PECR.PELOCK:
     * "When this bit is cleared, write access to the data EEPROM is
     * allowed"). */
    if ((st->pecr & PECR_PELOCK) || rdp_blocks_writes(b, st)) {
        set_error(st, SR_WRPERR);
        return;
    }
    if (addr & (size - 1)) {
        set_error(st, SR_SIZERR);
        return;
    }
    uint32_t word_addr = addr & ~3u;
    uint8_t *w = sim_board_info_ptr(b, word_addr, 4);
    if (!w)
        return;
    uint32_t sel = st->pecr & (PECR_ERASE | PECR_DATA | PECR_FPRG);
    if (sel == (PECR_ERASE | PECR_DATA)) {
        /* Word erase of the data EEPROM: ERASE+DATA and a word store. */
        if (size != 4) {
            set_error(st, SR_SIZERR);
            return;
        }
        flash_put_le32(w, 0);
        flash_op_begin(b, &st->op, var(b)->tprog_ns, FLASH_AREA_INFO, word_addr, 4);
        return;
    }
    if (sel & (PECR_ERASE | PECR_FPRG)) {
        set_error(st, SR_WRPERR); /* [U] no double-word / erase mode here */
        return;
    }
    /* Byte, half-word or word write: the interface erases the word first
     * when it is not zero, or always with FIX = 1 (RM0367 PECR.FIX): one or
     * two tprog [U for the exact split]. The result is simply the new data. */
    bool need_erase = (st->pecr & PECR_FIX) || flash_le32(w) != 0;
    uint8_t *p = w + (addr - word_addr);
    for (unsigned i = 0; i < size; i++)
        p[i] = (uint8_t)(value >> (8 * i));
    uint64_t tprog = var(b)->tprog_ns;
    flash_op_begin(b, &st->op, need_erase ? 2 * tprog : tprog, FLASH_AREA_INFO, word_addr, 4);
}

static void store_option(sim_board *b, l0_state *st, uint32_t addr, uint32_t value, unsigned size)
{
    const sim_chip *c = sim_board_chip(b);
    if (st->pecr & (PECR_PELOCK | PECR_OPTLOCK)) {
        set_error(st, SR_WRPERR);
        return;
    }
    /* Option bytes are written by words (RM0367 "NVM main features"). */
    if (size != 4 || (addr & 3)) {
        set_error(st, SR_SIZERR);
        return;
    }
    /* Level 2 freezes the options for good. Level 1 still lets a debugger
     * rewrite them: that is the documented way back to level 0. */
    if (rdp_level_byte(st) == FLASH_RDP_LEVEL2) {
        set_error(st, SR_WRPERR);
        return;
    }
    uint8_t *w = sim_board_info_ptr(b, addr, 4);
    if (!w)
        return;
    /* ERASE selects a word erase of the option area (RM0038 PECR.ERASE:
     * "Double Word Erase on the data EEPROM and the option byte block"). A
     * write over a non-zero word erases it first, like data EEPROM [U]. */
    bool erase_only = st->pecr & PECR_ERASE;
    if (erase_only)
        value = 0;
    bool need_erase = !erase_only && flash_le32(w) != 0;
    flash_put_le32(w, value);
    uint64_t tprog = var(b)->tprog_ns;
    uint64_t ns = need_erase ? 2 * tprog : tprog;
    /* RDP level 1 -> 0: writing level 0 (with a valid complement) while
     * level 1 is loaded mass-erases program memory and data EEPROM (RM0367
     * 3.4.1; OpenOCD's "mass_erase" relies on it). Duration [U]: one more
     * tprog per array. */
    uint16_t lo = (uint16_t)value;
    if (addr == OPT_RDP && rdp_level_byte(st) != FLASH_RDP_LEVEL0 &&
        (uint8_t)lo == FLASH_RDP_LEVEL0 && (uint16_t)(value >> 16) == (uint16_t)~lo) {
        flash_erase_main(b, c->flash_base, c->flash_size);
        uint8_t *ee = sim_board_info_ptr(b, c->eeprom_base, c->eeprom_size);
        if (ee)
            memset(ee, 0, c->eeprom_size);
        ns += 2 * tprog;
    }
    /* A reset before the end corrupts the option word being written (after
     * a level 1 -> 0 mass erase, the arrays are already blank). */
    flash_op_begin(b, &st->op, ns, FLASH_AREA_INFO, addr, 4);
}

/* The user option words (RM0377 Table 5: 8 words at 0x1FF80000; RM0038
 * OB_TypeDef: RDP to WRP1011, and WRP1213/WRP1415 at +0x80 on cat 5); the
 * rest of the block (UID, flash size, factory bytes) refuses stores. */
static bool is_user_option(const l0_variant *v, uint32_t addr)
{
    if (flash_in_range(addr, 1, OPT_BASE, OPT_USER_END))
        return true;
    for (unsigned i = 0; i < v->nwrp_opt; i++)
        if (flash_in_range(addr, 1, OPT_BASE + v->wrp_opt[i], 4))
            return true;
    return false;
}

bool l0_mem_write(sim_board *b, void *vst, bus_master who, uint32_t addr, uint32_t value,
                  unsigned size)
{
    (void)who;
    l0_state *st = vst;
    const sim_chip *c = sim_board_chip(b);
    /* A store while the NVM is busy waits on the bus until it is free. */
    stall_if_busy(b, st);
    if (flash_in_main(c, addr, 1))
        store_main(b, st, addr, value, size);
    else if (in_eeprom(c, addr))
        store_eeprom(b, st, addr, value, size);
    else if (is_user_option(var(b), addr))
        store_option(b, st, addr, value, size);
    else
        /* System memory and factory option bytes: WRPERR (RM0367 SR.WRPERR causes). */
        set_error(st, SR_WRPERR);
    return true;
}

bool l0_read_protected(sim_board *b, void *vst)
{
    (void)b;
    const l0_state *st = vst;
    return rdp_level_byte(st) != FLASH_RDP_LEVEL0;
}

void l0_inject_stale_errors(sim_board *b, void *vst)
{
    (void)b;
    l0_state *st = vst; /* flags both designs have */
    st->sr |= SR_PGAERR | SR_SIZERR;
}

void l0_inject_rdp1(sim_board *b, void *vst)
{
    (void)vst;
    uint8_t *img = sim_board_info_ptr(b, OPT_RDP, 4);
    if (!img)
        return;
    /* Keep WPRMOD, set RDPROT to 0xBB (the HAL's level 1 value). */
    uint16_t v = (uint16_t)((flash_le32(img) & 0xFF00u) | 0xBBu);
    flash_put_le32(img, opt_word(v));
}

unsigned l0_latency(sim_board *b, void *st)
{
    (void)b;
    /* RM0377 3.7.1, RM0038 3.9.1: LATENCY b0 */
    return ((l0_state *)st)->acr & ACR_LATENCY;
}

/* Timing oracle: half-page programs (FPRG + PROG, a half page in one
 * tprog: the fastest the interface offers, as loaders use it), page
 * erases one by one (each a tprog). The NVM interface has no mass erase
 * (only the RDP regression erases everything): mass_ns 0. */
void l0_timing(sim_board *b, void *st, uint32_t addr, uint32_t len, sim_flash_timing *out)
{
    (void)st;
    const sim_chip *c = sim_board_chip(b);
    const l0_variant *v = c->flash->variant;
    uint32_t off = addr - c->flash_base, hp = v->hp_words * 4u;
    out->mode = "half-page";
    out->unit_bytes = hp;
    out->units = flash_units_touched(off, len, hp);
    out->program_ns = out->units * v->tprog_ns;
    out->erase_units = flash_units_touched(off, len, c->page_size);
    out->erase_ns = out->erase_units * v->tprog_ns;
    out->mass_ns = 0;
}
