/*
 * The STM32H5 embedded flash interface (FLASH, non-secure registers at
 * 0x40022000), as a non-secure debugger sees it with TrustZone disabled:
 * the H56x/H57x and H52x/H53x of RM0481 and the H503 of RM0492, chapter
 * "Embedded flash memory (FLASH)" (RM0481 section 7). Register offsets,
 * bits and reset values as the ST SVD files and the CMSIS header
 * stm32h563xx.h give them; [U] marks a rule the texts read did not settle
 * (the stricter choice a programmer can observe). The layout is the L5's
 * TrustZone register set with H7-style bits: neither model fits, so this is
 * a design of its own (docs/reference/stm32-h5-sim.md).
 *
 * Registers: ACR 0x00 (LATENCY b3:0, WRHIGHFREQ b5:4, PRFTEN b8; reset
 * 0x13), NSKEYR 0x04, SECKEYR 0x08, OPTKEYR 0x0C, NSOBKKEYR 0x10, OPSR
 * 0x18, OPTCR 0x1C (OPTLOCK b0, OPTSTART b1, SWAP_BANK b31), NSSR 0x20,
 * SECSR 0x24, NSCR 0x28, SECCR 0x2C, NSCCR 0x30, SECCCR 0x34, PRIVCFGR
 * 0x3C, OPTSR_CUR 0x50, OPTSR_PRG 0x54, OPTSR2_CUR 0x70, OPTSR2_PRG 0x74,
 * NSBOOTR_CUR/PRG 0x80/0x84, WRP1R_CUR/PRG 0xE8/0xEC, ECCCORR 0x100,
 * ECCDETR 0x104, ECCDR 0x108, WRP2R_CUR/PRG 0x1E8/0x1EC. The secure
 * registers (SECKEYR, SECSR, SECCR, SECCCR) read 0 and ignore writes here
 * [U]; OBK, OTP lock, HDP, EPOCH, watermarks and privilege bitmaps are not
 * modelled (read 0, writes ignored).
 *
 * Rules modelled:
 * - NSKEYR 0x45670123 then 0xCDEF89AB clears NSCR.LOCK; a wrong key, or
 *   the sequence while unlocked, is a bus error and NSCR stays locked until
 *   reset. OPTKEYR 0x08192A3B then 0x4C5D6E7F clears OPTCR.OPTLOCK alike.
 * - Programming: with NSCR.PG set, stores of any width fill the one write
 *   buffer (both banks share it) for a 128-bit quad-word, 16-byte aligned;
 *   NSSR.WBNE while it is partly filled; the quad-word programs when its 16
 *   bytes are in, or when NSCR.FW forces it (bytes not written program as
 *   ones). Errors, each emptying the buffer: a store without PG, or with
 *   SER/BER/MER, is PGSERR; a store into another quad-word before the
 *   buffer is complete is INCERR; a byte written twice in the buffer is
 *   STRBERR; clearing PG with the buffer not empty is PGSERR [U]; a store
 *   into a write-protected sector group (WRPxR_CUR bit n = 0: sectors 4n to
 *   4n + 3) is WRPERR.
 * - A quad-word is written once after an erase: its ECC covers the 128 bits
 *   (RM0481 7.3: programming a non-virgin quad-word again is not allowed).
 *   Programming it again leaves the cells as they were and reports a double
 *   ECC error at once: FLASH_ECCDETR.ECCD (b31) with ADDR_ECC (b15:0, the
 *   quad-word's index in its bank) and BK_ECC (b22) [U: silicon reports it
 *   when the word is next read, with an NMI]. ECCD is cleared by writing 1.
 *   Virgin is tracked per quad-word, not by content.
 * - Any error flag left set refuses the next store or erase with PGSERR
 *   [U]; NSSR flags stay until cleared through NSCCR (write 1, same bit).
 * - Erase: SER + SNB (b12:6) + STRT erases an 8 KiB sector of the bank
 *   BKSEL (b31) names; BER + STRT the bank BKSEL names; MER + STRT both
 *   banks. Two of SER/BER/MER, or PG with one, is PGSERR; STRT with none
 *   does nothing [U]; an SNB past the bank's last sector is PGSERR [U]; a
 *   protected sector (group) in the range is WRPERR. BKSEL selects the
 *   physical bank whatever SWAP_BANK says.
 * - EOP at the end of every program and erase; NSSR.BSY while one runs (the
 *   whole array: one operation at a time, reads of either bank stall [U:
 *   silicon reads one bank while the other is busy]); stores and NSCR
 *   writes wait on the bus until BSY falls [U].
 * - Options: OPTSR_PRG, OPTSR2_PRG, NSBOOTR_PRG and WRPxR_PRG take writes
 *   while OPTLOCK is clear and no option change runs; OPTCR.OPTSTART
 *   checks and applies them (OPTSTART and BSY for t_opt). SWAP_BANK takes
 *   effect at the next reset (OPTCR.SWAP_BANK shows the swap in force):
 *   then bank 2 is read at 0x08000000. OPTSTART is refused while
 *   NSSR.OPTCHANGEERR is set. Refused with OPTCHANGEERR, nothing applied:
 *   a PRODUCT_STATE (OPTSR b15:8) that is not a code of RM0481 7.6.11 or
 *   not a forward step from the present one (Open 0xED -> Provisioning
 *   0x17, iROT-Provisioned 0x2E, TZ-Closed 0xC6, Closed 0x72; those ->
 *   Closed/TZ-Closed/Locked 0x5C; regressions 0x9A/0xA3 need the debug
 *   authentication, not modelled [U]); TZEN (OPTSR2 b31:24) other than
 *   0xC3 (disabled) or 0xB4 (enabled), set outside the Open state, or
 *   cleared (only a regression clears it [U]).
 * - Product state: in Closed, Locked and iROT-Provisioned (and any code
 *   that is not a state) the debugger cannot read flash and its program/
 *   erase attempts fail with WRPERR [U: silicon closes the AP itself]. With
 *   TZEN = 0xB4 the factory secure watermarks cover the flash [U], so a
 *   non-secure program or erase is WRPERR.
 *
 * Timings [U: DS14258/DS14539 "Flash memory characteristics" not read; a
 * 128-bit word and 8 KiB sector as on other 40 nm ST flash]: 50 us per
 * quad-word, 2 ms per sector, a bank erase the sum of its sectors, MER
 * both banks one after the other, 20 ms per option change.
 */
#include "flash_common.h"

#include <string.h>

/* ---- registers (RM0481 7.9 register map) ------------------------------------ */
#define REG_ACR        0x000
#define REG_NSKEYR     0x004
#define REG_OPTKEYR    0x00C
#define REG_OPTCR      0x01C
#define REG_NSSR       0x020
#define REG_NSCR       0x028
#define REG_NSCCR      0x030
#define REG_PRIVCFGR   0x03C
#define REG_OPTSR_CUR  0x050
#define REG_OPTSR_PRG  0x054
#define REG_OPTSR2_CUR 0x070
#define REG_OPTSR2_PRG 0x074
#define REG_NSBOOT_CUR 0x080
#define REG_NSBOOT_PRG 0x084
#define REG_WRP1R_CUR  0x0E8
#define REG_WRP1R_PRG  0x0EC
#define REG_ECCCORR    0x100
#define REG_ECCDETR    0x104
#define REG_WRP2R_CUR  0x1E8
#define REG_WRP2R_PRG  0x1EC

/* FLASH_NSCR */
#define CR_LOCK      (1u << 0)
#define CR_PG        (1u << 1)
#define CR_SER       (1u << 2)
#define CR_BER       (1u << 3)
#define CR_FW        (1u << 4)
#define CR_STRT      (1u << 5)
#define CR_SNB_SHIFT 6
#define CR_SNB       (0x7Fu << CR_SNB_SHIFT)
#define CR_MER       (1u << 15)
#define CR_IE        0x00FF0000u /* EOPIE b16 .. OPTCHANGEERRIE b23 */
#define CR_BKSEL     (1u << 31)

/* FLASH_NSSR; FLASH_NSCCR clears the flags b23:16 at the same positions */
#define SR_BSY          (1u << 0)
#define SR_WBNE         (1u << 1)
#define SR_EOP          (1u << 16)
#define SR_WRPERR       (1u << 17)
#define SR_PGSERR       (1u << 18)
#define SR_STRBERR      (1u << 19)
#define SR_INCERR       (1u << 20)
#define SR_OBKERR       (1u << 21)
#define SR_OBKWERR      (1u << 22)
#define SR_OPTCHANGEERR (1u << 23)
#define SR_LATCHED      0x00FF0000u
#define SR_BLOCKING     (SR_WRPERR | SR_PGSERR | SR_STRBERR | SR_INCERR | SR_OPTCHANGEERR)

/* FLASH_OPTCR, FLASH_OPTSR_x, FLASH_OPTSR2_x */
#define OPTCR_OPTLOCK   (1u << 0)
#define OPTCR_OPTSTART  (1u << 1)
#define OPTCR_SWAP_BANK (1u << 31)
#define OPTSR_PS_SHIFT  8
#define OPTSR_SWAP_BANK (1u << 31)
/* BOR_LEV, BORH_EN, IWDG_SW, WWDG_SW, NRST_STOP, NRST_STDBY, PRODUCT_STATE,
 * IO_VDD_HSLV, IO_VDDIO2_HSLV, IWDG_STOP, IWDG_STDBY, BOOT_UBE, SWAP_BANK */
#define OPTSR_WRITABLE 0xBFF3FFDFu
/* SRAM1_3_RST, SRAM2_RST, BKPRAM_ECC, SRAM3_ECC, SRAM2_ECC, USBPD_DIS, TZEN */
#define OPTSR2_WRITABLE   0xFF00017Cu
#define OPTSR2_TZEN_SHIFT 24
#define TZEN_OFF          0xC3u
#define TZEN_ON           0xB4u

/* FLASH_ECCDETR */
#define ECCD       (1u << 31)
#define ECC_BK     (1u << 22)
#define ECCC       (1u << 30) /* FLASH_ECCCORR */
#define ECCCORR_IE (1u << 25)

/* Product states (RM0481 7.6.11, OPTSR PRODUCT_STATE) */
#define PS_OPEN          0xEDu
#define PS_PROVISIONING  0x17u
#define PS_IROT_PROVISIO 0x2Eu
#define PS_TZ_CLOSED     0xC6u
#define PS_CLOSED        0x72u
#define PS_LOCKED        0x5Cu

#define KEY1    0x45670123u
#define KEY2    0xCDEF89ABu
#define OPTKEY1 0x08192A3Bu
#define OPTKEY2 0x4C5D6E7Fu

#define QW        16u          /* the 128-bit quad-word */
#define SECTOR    (8u * 1024u) /* 8 KiB sectors */
#define WORDS_MAX (2u * 1024u * 1024u / QW)

typedef struct h5_variant {
    uint32_t optsr_factory, optsr2_factory, nsboot_factory;
    uint64_t t_prog_ns, t_sector_ns, t_opt_ns;
} h5_variant;

typedef struct h5_state {
    uint32_t acr, cr, sr, privcfgr;
    flash_keyseq keys, optkeys;
    uint32_t optcr;
    /* the option bytes as programmed (power-on loads them) and in force */
    uint32_t optsr_stored, optsr2_stored, nsboot_stored, wrp_stored[2];
    uint32_t optsr_cur, optsr_prg, optsr2_cur, optsr2_prg;
    uint32_t nsboot_cur, nsboot_prg, wrp_cur[2], wrp_prg[2];
    uint32_t ecccorr, eccdetr;
    bool swapped; /* SWAP_BANK in force since the last reset */
    flash_op op, opt_op;
    uint32_t wb_addr, wb_have; /* the quad-word being filled; bit i: byte i */
    uint8_t wb[QW];
    uint8_t written[WORDS_MAX / 8]; /* per quad-word (address order): not virgin */
} h5_state;

static const h5_variant *var(const sim_board *b)
{
    return sim_board_chip(b)->flash->variant;
}

static uint32_t bank_size(const sim_board *b)
{
    return sim_board_chip(b)->flash_size / 2;
}

static unsigned sectors(const sim_board *b)
{
    return bank_size(b) / SECTOR;
}

static uint8_t pstate(const h5_state *st)
{
    return (uint8_t)(st->optsr_cur >> OPTSR_PS_SHIFT);
}

static bool tz_enabled(const h5_state *st)
{
    return (uint8_t)(st->optsr2_cur >> OPTSR2_TZEN_SHIFT) != TZEN_OFF;
}

/* Debug closed: the debugger reads no flash (RM0481 7.6.11) [U for
 * iROT-Provisioned and codes that are no state]. */
static bool debug_closed(const h5_state *st)
{
    uint8_t p = pstate(st);
    return p != PS_OPEN && p != PS_PROVISIONING && p != PS_TZ_CLOSED;
}

static void sync(sim_board *b, h5_state *st)
{
    if (flash_op_ended(b, &st->op))
        st->sr |= SR_EOP;
    flash_op_ended(b, &st->opt_op);
}

static void wait_free(sim_board *b, h5_state *st)
{
    if (flash_stall_if_busy(b))
        sync(b, st);
}

static bool bit_get(const h5_state *st, uint32_t i)
{
    return st->written[i / 8] >> (i % 8) & 1;
}

static void bit_put(h5_state *st, uint32_t i, bool on)
{
    if (on)
        st->written[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        st->written[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

static void fail(h5_state *st, uint32_t flags)
{
    st->sr |= flags;
    st->wb_have = 0;
}

/* The address half where physical bank p lies now. */
static uint32_t bank_off(const sim_board *b, const h5_state *st, unsigned p)
{
    return (p ^ (st->swapped ? 1u : 0u)) * bank_size(b);
}

/* Erase [off, off + len) of main flash (address order). */
static void erase_range(sim_board *b, h5_state *st, uint32_t off, uint32_t len)
{
    flash_erase_main(b, sim_board_chip(b)->flash_base + off, len);
    for (uint32_t i = off / QW; i < (off + len) / QW; i++)
        bit_put(st, i, false);
}

/* Sector n of physical bank p is write-protected (WRPxR_CUR group bit 0). */
static bool sector_protected(const h5_state *st, unsigned p, unsigned n)
{
    return !(st->wrp_cur[p] >> (n / 4) & 1);
}

/* Program/erase refused whatever the sector: TrustZone on (all secure [U])
 * or the debugger attached in a debug-closed state. */
static bool refused(sim_board *b, const h5_state *st)
{
    return tz_enabled(st) || (debug_closed(st) && sim_debugger_attached(b));
}

/* ---- programming ---------------------------------------------------------- */

static void program_word(sim_board *b, h5_state *st)
{
    const sim_chip *c = sim_board_chip(b);
    uint32_t off = st->wb_addr - c->flash_base;
    uint32_t idx = off / QW;
    uint8_t data[QW];
    for (uint32_t i = 0; i < QW; i++)
        data[i] = (st->wb_have >> i & 1) ? st->wb[i] : 0xFF;
    st->wb_have = 0;
    if (bit_get(st, idx)) {
        /* not virgin: the ECC no longer matches (RM0481 7.3) [U: at once];
         * only the first address is kept while ECCD is set */
        if (!(st->eccdetr & ECCD)) {
            unsigned p = (off / bank_size(b)) ^ (st->swapped ? 1u : 0u);
            st->eccdetr = ECCD | (p ? ECC_BK : 0) | ((off % bank_size(b)) / QW & 0xFFFFu);
        }
    } else if (!sim_flash_cell_bad(b, st->wb_addr, QW)) {
        memcpy(sim_flash_ptr(b) + off, data, QW);
        sim_flash_changed(b, st->wb_addr, QW);
    }
    bit_put(st, idx, true);
    flash_op_begin(b, &st->op, var(b)->t_prog_ns, FLASH_AREA_MAIN, st->wb_addr, QW);
}

static bool h5_mem_write(sim_board *b, void *vst, bus_master who, uint32_t addr, uint32_t value,
                         unsigned size)
{
    (void)who;
    h5_state *st = vst;
    const sim_chip *c = sim_board_chip(b);
    wait_free(b, st);
    if (!flash_in_main(c, addr, size))
        return false; /* OTP (16-bit words) and system memory: not modelled [U] */
    uint32_t off = addr - c->flash_base;
    if ((st->cr & (CR_LOCK | CR_PG)) != CR_PG || (st->cr & (CR_SER | CR_BER | CR_MER)) ||
        (st->sr & SR_BLOCKING)) {
        fail(st, SR_PGSERR);
        return true;
    }
    unsigned p = (off / bank_size(b)) ^ (st->swapped ? 1u : 0u);
    if (refused(b, st) || sector_protected(st, p, (off % bank_size(b)) / SECTOR)) {
        fail(st, SR_WRPERR);
        return true;
    }
    uint32_t word = addr & ~(QW - 1);
    if (st->wb_have && word != st->wb_addr) {
        fail(st, SR_INCERR);
        return true;
    }
    uint32_t pos = addr - word;
    uint32_t lanes = ((1u << size) - 1) << pos;
    if (st->wb_have & lanes) {
        fail(st, SR_STRBERR);
        return true;
    }
    st->wb_addr = word;
    st->wb_have |= lanes;
    for (unsigned i = 0; i < size; i++)
        st->wb[pos + i] = (uint8_t)(value >> (8 * i));
    if (st->wb_have == 0xFFFFu)
        program_word(b, st);
    return true;
}

/* ---- erase ------------------------------------------------------------------ */

static bool range_protected(const h5_state *st, unsigned p, unsigned n_sectors)
{
    for (unsigned n = 0; n < n_sectors; n++)
        if (sector_protected(st, p, n))
            return true;
    return false;
}

static void start_erase(sim_board *b, h5_state *st)
{
    const sim_chip *c = sim_board_chip(b);
    const h5_variant *v = var(b);
    uint32_t sel = st->cr & (CR_PG | CR_SER | CR_BER | CR_MER);
    if (!(sel & (CR_SER | CR_BER | CR_MER)))
        return; /* STRT alone: nothing [U] */
    if ((sel != CR_SER && sel != CR_BER && sel != CR_MER) || (st->sr & SR_BLOCKING)) {
        fail(st, SR_PGSERR);
        return;
    }
    if (refused(b, st)) {
        fail(st, SR_WRPERR);
        return;
    }
    unsigned p = st->cr & CR_BKSEL ? 1 : 0;
    unsigned n = sectors(b);
    if (sel == CR_MER) {
        if (range_protected(st, 0, n) || range_protected(st, 1, n)) {
            fail(st, SR_WRPERR);
            return;
        }
        erase_range(b, st, 0, c->flash_size);
        flash_op_begin(b, &st->op, 2ull * n * v->t_sector_ns, FLASH_AREA_MAIN, c->flash_base,
                       c->flash_size);
        return;
    }
    uint32_t base = bank_off(b, st, p);
    if (sel == CR_BER) {
        if (range_protected(st, p, n)) {
            fail(st, SR_WRPERR);
            return;
        }
        erase_range(b, st, base, bank_size(b));
        flash_op_begin(b, &st->op, (uint64_t)n * v->t_sector_ns, FLASH_AREA_MAIN,
                       c->flash_base + base, bank_size(b));
        return;
    }
    unsigned snb = (st->cr & CR_SNB) >> CR_SNB_SHIFT;
    if (snb >= n) {
        fail(st, SR_PGSERR); /* no such sector [U] */
        return;
    }
    if (sector_protected(st, p, snb)) {
        fail(st, SR_WRPERR);
        return;
    }
    erase_range(b, st, base + snb * SECTOR, SECTOR);
    flash_op_begin(b, &st->op, v->t_sector_ns, FLASH_AREA_MAIN, c->flash_base + base + snb * SECTOR,
                   SECTOR);
}

static void cr_write(sim_board *b, h5_state *st, uint32_t value, uint32_t mask)
{
    uint32_t v = value & mask;
    wait_free(b, st);
    if (st->cr & CR_LOCK)
        return; /* only the key sequence opens NSCR */
    uint32_t before = st->cr;
    uint32_t writable = CR_LOCK | CR_PG | CR_SER | CR_BER | CR_SNB | CR_MER | CR_IE | CR_BKSEL;
    st->cr = flash_masked(st->cr, writable, value, mask);
    if ((before & CR_PG) && !(st->cr & CR_PG) && st->wb_have)
        fail(st, SR_PGSERR); /* PG cleared with a quad-word half written [U] */
    if ((v & CR_FW) && st->wb_have && (st->cr & CR_PG))
        program_word(b, st); /* FW: program what the buffer holds */
    if (v & CR_STRT)
        start_erase(b, st);
    if (v & CR_LOCK) {
        st->cr |= CR_LOCK;
        st->wb_have = 0;
        flash_key_restart(&st->keys);
    }
}

/* ---- options ------------------------------------------------------------------ */

static bool ps_known(uint8_t p)
{
    return p == PS_OPEN || p == PS_PROVISIONING || p == PS_IROT_PROVISIO || p == PS_TZ_CLOSED ||
           p == PS_CLOSED || p == PS_LOCKED;
}

/* May the product state go from a to z by an option change (see the header)? */
static bool ps_step_ok(uint8_t a, uint8_t z, bool tz)
{
    if (a == z)
        return true;
    if (!ps_known(z) || z == PS_OPEN || (z == PS_TZ_CLOSED && !tz))
        return false;
    switch (a) {
    case PS_OPEN:
        return z != PS_LOCKED;
    case PS_PROVISIONING:
    case PS_IROT_PROVISIO:
        return z == PS_TZ_CLOSED || z == PS_CLOSED || z == PS_LOCKED;
    case PS_TZ_CLOSED:
    case PS_CLOSED:
        return z == PS_LOCKED || z == PS_CLOSED;
    default:
        return false; /* Locked, regressions, no state */
    }
}

static void opt_start(sim_board *b, h5_state *st)
{
    wait_free(b, st);
    if (st->sr & SR_OPTCHANGEERR)
        return; /* "OPTSTRT cannot be set while OPTCHANGEERR is set" */
    uint8_t tz_old = (uint8_t)(st->optsr2_cur >> OPTSR2_TZEN_SHIFT);
    uint8_t tz_new = (uint8_t)(st->optsr2_prg >> OPTSR2_TZEN_SHIFT);
    uint8_t ps_new = (uint8_t)(st->optsr_prg >> OPTSR_PS_SHIFT);
    bool tz_ok = (tz_new == TZEN_OFF || tz_new == TZEN_ON) &&
                 (tz_new == tz_old || (tz_new == TZEN_ON && pstate(st) == PS_OPEN));
    if (!tz_ok || !ps_step_ok(pstate(st), ps_new, tz_new == TZEN_ON)) {
        st->sr |= SR_OPTCHANGEERR;
        return;
    }
    st->optsr_cur = (st->optsr_cur & ~OPTSR_WRITABLE) | (st->optsr_prg & OPTSR_WRITABLE);
    st->optsr2_cur = (st->optsr2_cur & ~OPTSR2_WRITABLE) | (st->optsr2_prg & OPTSR2_WRITABLE);
    st->nsboot_cur = st->nsboot_prg;
    st->wrp_cur[0] = st->wrp_prg[0];
    st->wrp_cur[1] = st->wrp_prg[1];
    st->optsr_stored = st->optsr_cur;
    st->optsr2_stored = st->optsr2_cur;
    st->nsboot_stored = st->nsboot_cur;
    st->wrp_stored[0] = st->wrp_cur[0];
    st->wrp_stored[1] = st->wrp_cur[1];
    flash_op_begin(b, &st->opt_op, var(b)->t_opt_ns, FLASH_AREA_NONE, 0, 0);
}

static bool opt_open(sim_board *b, const h5_state *st)
{
    return !(st->optcr & OPTCR_OPTLOCK) && !(st->opt_op.pending && sim_flash_busy(b));
}

/* SWAP_BANK in force changed at reset: the banks trade address halves (the
 * array here is in address order). */
static void apply_swap(sim_board *b, h5_state *st, bool swap)
{
    if (swap == st->swapped)
        return;
    st->swapped = swap;
    const sim_chip *c = sim_board_chip(b);
    uint32_t half = bank_size(b);
    uint8_t *a = sim_flash_ptr(b);
    uint8_t tmp[256];
    for (uint32_t i = 0; i < half; i += sizeof tmp) {
        memcpy(tmp, a + i, sizeof tmp);
        memcpy(a + i, a + half + i, sizeof tmp);
        memcpy(a + half + i, tmp, sizeof tmp);
    }
    sim_flash_changed(b, c->flash_base, c->flash_size);
    uint32_t words = half / QW;
    for (uint32_t i = 0; i < words; i++) {
        bool lo = bit_get(st, i), hi = bit_get(st, words + i);
        bit_put(st, i, hi);
        bit_put(st, words + i, lo);
    }
}

/* ---- flash_ctrl_ops ----------------------------------------------------------- */

static void h5_factory(sim_board *b, void *vst)
{
    h5_state *st = vst;
    st->optsr_stored = var(b)->optsr_factory;
    st->optsr2_stored = var(b)->optsr2_factory;
    st->nsboot_stored = var(b)->nsboot_factory;
    st->wrp_stored[0] = st->wrp_stored[1] = 0xFFFFFFFFu;
}

static void h5_reset(sim_board *b, void *vst, bool power_on)
{
    h5_state *st = vst;
    flash_op_cut_short(b, &st->op);
    flash_op_forget(&st->op);
    flash_op_forget(&st->opt_op);
    if (power_on) {
        st->optsr_cur = st->optsr_stored;
        st->optsr2_cur = st->optsr2_stored;
        st->nsboot_cur = st->nsboot_stored;
        st->wrp_cur[0] = st->wrp_stored[0];
        st->wrp_cur[1] = st->wrp_stored[1];
    }
    apply_swap(b, st, st->optsr_cur & OPTSR_SWAP_BANK);
    st->optsr_prg = st->optsr_cur;
    st->optsr2_prg = st->optsr2_cur;
    st->nsboot_prg = st->nsboot_cur;
    st->wrp_prg[0] = st->wrp_cur[0];
    st->wrp_prg[1] = st->wrp_cur[1];
    st->acr = 0x13; /* LATENCY 3, WRHIGHFREQ 1 */
    st->cr = CR_LOCK;
    st->sr = 0;
    st->privcfgr = 0;
    st->optcr = OPTCR_OPTLOCK;
    st->keys = st->optkeys = (flash_keyseq){0};
    st->ecccorr = st->eccdetr = 0;
    st->wb_have = 0;
}

static uint32_t h5_reg_read(sim_board *b, void *vst, uint32_t offset)
{
    h5_state *st = vst;
    sync(b, st);
    bool busy = sim_flash_busy(b) && (st->op.pending || st->opt_op.pending);
    switch (offset) {
    case REG_ACR:
        return st->acr;
    case REG_OPTCR:
        return st->optcr | (st->swapped ? OPTCR_SWAP_BANK : 0) |
               (st->opt_op.pending && busy ? OPTCR_OPTSTART : 0);
    case REG_NSSR:
        return st->sr | (busy ? SR_BSY : 0) | (st->wb_have ? SR_WBNE : 0);
    case REG_NSCR:
        return st->cr;
    case REG_PRIVCFGR:
        return st->privcfgr;
    case REG_OPTSR_CUR:
        return st->optsr_cur;
    case REG_OPTSR_PRG:
        return st->optsr_prg;
    case REG_OPTSR2_CUR:
        return st->optsr2_cur;
    case REG_OPTSR2_PRG:
        return st->optsr2_prg;
    case REG_NSBOOT_CUR:
        return st->nsboot_cur;
    case REG_NSBOOT_PRG:
        return st->nsboot_prg;
    case REG_WRP1R_CUR:
        return st->wrp_cur[0];
    case REG_WRP1R_PRG:
        return st->wrp_prg[0];
    case REG_WRP2R_CUR:
        return st->wrp_cur[1];
    case REG_WRP2R_PRG:
        return st->wrp_prg[1];
    case REG_ECCCORR:
        return st->ecccorr;
    case REG_ECCDETR:
        return st->eccdetr;
    default:
        return 0; /* keys write-only; secure and unmodelled registers [U] */
    }
}

static bool h5_reg_write(sim_board *b, void *vst, uint32_t offset, uint32_t value, uint32_t mask)
{
    h5_state *st = vst;
    sync(b, st);
    bool open = opt_open(b, st);
    switch (offset) {
    case REG_ACR:
        st->acr = flash_masked(st->acr, 0x13Fu, value, mask); /* LATENCY, WRHIGHFREQ, PRFTEN */
        sim_clock_changed(b);
        return true;
    case REG_NSKEYR:
        return flash_key_unlock(&st->keys, &st->cr, CR_LOCK, true, KEY1, KEY2, value, mask);
    case REG_OPTKEYR:
        return flash_key_unlock(&st->optkeys, &st->optcr, OPTCR_OPTLOCK, true, OPTKEY1, OPTKEY2,
                                value, mask);
    case REG_NSCR:
        cr_write(b, st, value, mask);
        return true;
    case REG_NSCCR:
        flash_w1c(&st->sr, SR_LATCHED, value, mask);
        return true;
    case REG_PRIVCFGR:
        st->privcfgr = flash_masked(st->privcfgr, 3u, value, mask);
        return true;
    case REG_OPTCR:
        if (st->optcr & OPTCR_OPTLOCK)
            return true;
        if (value & mask & OPTCR_OPTSTART)
            opt_start(b, st);
        if (value & mask & OPTCR_OPTLOCK) {
            st->optcr |= OPTCR_OPTLOCK;
            flash_key_restart(&st->optkeys);
        }
        return true;
    case REG_OPTSR_PRG:
        if (open)
            st->optsr_prg = flash_masked(st->optsr_prg, OPTSR_WRITABLE, value, mask);
        return true;
    case REG_OPTSR2_PRG:
        if (open)
            st->optsr2_prg = flash_masked(st->optsr2_prg, OPTSR2_WRITABLE, value, mask);
        return true;
    case REG_NSBOOT_PRG:
        if (open)
            st->nsboot_prg = flash_masked(st->nsboot_prg, 0xFFFFFFFFu, value, mask);
        return true;
    case REG_WRP1R_PRG:
    case REG_WRP2R_PRG:
        if (open)
            st->wrp_prg[offset == REG_WRP2R_PRG] =
                flash_masked(st->wrp_prg[offset == REG_WRP2R_PRG], 0xFFFFFFFFu, value, mask);
        return true;
    case REG_ECCCORR:
        if (value & mask & ECCC)
            st->ecccorr = 0;
        st->ecccorr = flash_masked(st->ecccorr, ECCCORR_IE, value, mask);
        return true;
    case REG_ECCDETR:
        if (value & mask & ECCD)
            st->eccdetr = 0; /* ADDR_ECC goes with the flag */
        return true;
    default:
        return true; /* secure and unmodelled registers: ignored [U] */
    }
}

static bool h5_read_protected(sim_board *b, void *vst)
{
    (void)b;
    return debug_closed(vst);
}

static void h5_inject_stale_errors(sim_board *b, void *vst)
{
    (void)b;
    ((h5_state *)vst)->sr |= SR_PGSERR | SR_INCERR;
}

/* "RDP level 1": the Closed product state, in force from the next power-on. */
static void h5_inject_rdp1(sim_board *b, void *vst)
{
    (void)b;
    h5_state *st = vst;
    st->optsr_stored = (st->optsr_stored & ~(0xFFu << OPTSR_PS_SHIFT)) | PS_CLOSED
                                                                             << OPTSR_PS_SHIFT;
}

static unsigned h5_latency(sim_board *b, void *vst)
{
    (void)b;
    return ((h5_state *)vst)->acr & 0xFu;
}

/* Timing oracle: quad-words one after the other, 8 KiB sectors one by one;
 * the cheapest full erase is BER of the one bank the range touches, or MER
 * for both. */
static void h5_timing(sim_board *b, void *st, uint32_t addr, uint32_t len, sim_flash_timing *out)
{
    (void)st;
    const h5_variant *v = var(b);
    uint32_t off = addr - sim_board_chip(b)->flash_base;
    uint32_t half = bank_size(b);
    out->mode = "quad-word";
    out->unit_bytes = QW;
    out->units = flash_units_touched(off, len, QW);
    out->program_ns = out->units * v->t_prog_ns;
    out->erase_units = flash_units_touched(off, len, SECTOR);
    out->erase_ns = out->erase_units * v->t_sector_ns;
    unsigned banks = (off < half ? 1u : 0u) + (off + len > half ? 1u : 0u);
    out->mass_ns = banks * (uint64_t)sectors(b) * v->t_sector_ns;
}

#define US 1000ull
#define MS 1000000ull

/* H56x/H57x, H52x/H53x and H503 alike. OPTSR factory: IWDG_SW, WWDG_SW,
 * NRST_STOP, NRST_STDBY, PRODUCT_STATE Open 0xED, IWDG_STOP, IWDG_STDBY,
 * BOOT_UBE 0xB4, SWAP_BANK 0 [U: reserved bits and defaults];
 * OPTSR2: SRAM1_3_RST, SRAM2_RST, the SRAM ECC disables, USBPD_DIS, TZEN
 * 0xC3 (disabled) [U]; NSBOOTR: NSBOOTADD 0x080000 (0x08000000), NSBOOT_LOCK
 * 0xC3 (unlocked) [U]. */
static const h5_variant h5 = {
    .optsr_factory = 0x2D30EDD8u,
    .optsr2_factory = 0xC300017Cu,
    .nsboot_factory = 0x080000C3u,
    .t_prog_ns = 50 * US,
    .t_sector_ns = 2 * MS,
    .t_opt_ns = 20 * MS,
};

const flash_ctrl_ops sim_flash_h5 = {
    .state_size = sizeof(h5_state),
    .factory = h5_factory,
    .reset = h5_reset,
    .reg_read = h5_reg_read,
    .reg_write = h5_reg_write,
    .mem_write = h5_mem_write,
    .read_protected = h5_read_protected,
    .inject_stale_errors = h5_inject_stale_errors,
    .inject_rdp1 = h5_inject_rdp1,
    .latency = h5_latency,
    .timing = h5_timing,
    .variant = &h5,
};
