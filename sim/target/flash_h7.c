/*
 * The STM32H7 embedded flash interface (FLASH @ 0x52002000) of the
 * H742/H743/H750/H753 (RM0433 section 4), H723/H725/H730/H733 (RM0468
 * section 4) and H7A3/H7B3/H7B0 (RM0455 section 4): one set of
 * KEYR/CR/SR/CCR per bank, a flash word (256 bits; 128 bits on H7A/B)
 * written through a write buffer, 128 KiB sectors (8 KiB on H7A/B), option
 * bytes as registers (OPTSR_CUR/OPTSR_PRG). The variants (one or two
 * banks, word and sector size, the CR bits that moved, reset values,
 * datasheet timings) are data in flash_h7_var.c.
 *
 * Sources: RM0433 4.3 (functional description), 4.5 (option bytes), 4.7
 * (errors) and 4.9 (register descriptions and map); the CMSIS header
 * stm32h743xx.h for offsets and bit positions. [U] marks a rule the texts
 * read did not settle: the stricter choice a programmer can observe.
 *
 * Model overview
 * - Registers: ACR 0x00, KEYR 0x04, OPTKEYR 0x08, CR 0x0C, SR 0x10, CCR
 *   0x14, OPTCR 0x18, OPTSR_CUR 0x1C, OPTSR_PRG 0x20, OPTCCR 0x24,
 *   PRAR/SCAR 0x28-0x34, WPSN_CUR 0x38, WPSN_PRG 0x3C, BOOT_CUR 0x40,
 *   BOOT_PRG 0x44, ECC_FA 0x60. Bank 2's KEYR/CR/SR/CCR/PRAR/SCAR/WPSN/
 *   ECC_FA are at +0x100; the others appear there again (RM0433 4.9.x
 *   register map). On a one-bank part the bank-2 registers read 0 and
 *   ignore writes [U].
 * - KEYR: 0x45670123 then 0xCDEF89AB clears CR.LOCK; a wrong key (or any
 *   write out of turn) is a bus error and CR stays locked until reset
 *   (RM0433 4.5.1). OPTKEYR: 0x08192A3B then 0x4C5D6E7F clears
 *   OPTCR.OPTLOCK, likewise.
 * - Programming (4.3.9): with CR.PG set, stores of any width (1, 2, 4
 *   bytes) fill the bank's write buffer for one flash word (32 or 16
 *   bytes, aligned). The word is programmed once all its bytes are in (SR.QW and
 *   BSY for t_prog), or when CR.FW forces a partial word (bytes not written
 *   program as 0xFF). SR.WBNE while the buffer holds part of a word.
 *   Errors (4.7), each discarding the buffer: a store without PG (or with
 *   SER/BER) is PGSERR; a store into another flash word before the current
 *   one is complete is INCERR; a byte written twice in the buffer is
 *   STRBERR; clearing PG while WBNE is PGSERR; a store into a sector whose
 *   WPSN bit is 0 is WRPERR.
 * - A flash word is written once after an erase (ECC, 4.3.9: a word that
 *   is not virgin must not be programmed again, its ECC would be
 *   inconsistent and read as an ECC error). Programming it again leaves
 *   the cells as they were and sets DBECCERR with ECC_FA at once [U: the
 *   manual reports it at the next read]. "Virgin" is tracked per word, not
 *   by content: a word programmed with all ones is no longer virgin.
 * - Any error flag left set refuses the next store or erase with PGSERR
 *   [U]; flags stay until cleared through CCR (write 1, same positions).
 * - Erase (4.3.10): SER + SNB + START erases a sector, BER + START the
 *   bank; START with both, or with PG, is PGSERR [U]; START with neither
 *   does nothing. OPTCR.MER erases both banks (needs both CRs unlocked
 *   [U]). EOP at the end of every program and erase. PSIZE (CR b5:4, reset
 *   x64) picks the datasheet figure of each operation.
 * - Busy (RM0433 "Overview of FLASH operations": thanks to the dual bank
 *   architecture a write or erase runs on one bank while a read or another
 *   program/erase runs on the other; read-while-write only between
 *   banks): each bank has its own operation, BSY/QW/EOP and end time. A
 *   store or CR write to a bank waits on the bus while that bank is busy
 *   [U: silicon queues it, QW]; the other bank is free. A read of flash
 *   waits only for its own bank (read_ready_ps). An option change waits
 *   for both banks and holds reads of both while it runs [U].
 * - Options (4.4): OPTSR_PRG (writable with OPTLOCK clear), OPTCR.OPTSTART
 *   copies it to OPTSR_CUR at once, OPT_BUSY (OPTSR_CUR b0) for t_opt.
 *   RDP (b15:8): 0xAA level 0, 0xCC level 2, others level 1. From level 2
 *   nothing changes and OPTCHANGEERR (b30) is set; 1 -> 0 erases both
 *   banks first (t_bank more). Level 1 refuses the debugger's reads of
 *   flash, and program/erase while a debugger is attached (WRPERR [U]).
 *   WPSN_PRG and BOOT_PRG are copied likewise. The option image is not
 *   memory-mapped.
 * - ECC on reads (4.3.9 / 4.7, "ECC errors"): a word marked by the fault
 *   SIM_FAULT_ECC_SINGLE reads right and sets SNECCERR, one marked
 *   SIM_FAULT_ECC_DOUBLE sets DBECCERR and the read is a bus error, from
 *   the core and the debugger alike; ECC_FA takes the failing word's index
 *   in its bank only while no ECC flag is set (the first one is kept), and
 *   clears with the last ECC flag. An erase removes the marks. A word
 *   programmed twice is reported at once (above), not at its next read.
 *   CRC, PCROP (PRAR), secure areas (SCAR) and the H7A/B OTP (OPTCR.PG_OTP)
 *   are not modelled: their registers keep factory values.
 */
#include "flash_h7.h"

#include <string.h>

/* ---- registers (RM0433 4.9) ----------------------------------------------- */
#define REG_ACR       0x00
#define REG_KEYR      0x04
#define REG_OPTKEYR   0x08
#define REG_CR        0x0C
#define REG_SR        0x10
#define REG_CCR       0x14
#define REG_OPTCR     0x18
#define REG_OPTSR_CUR 0x1C
#define REG_OPTSR_PRG 0x20
#define REG_OPTCCR    0x24
#define REG_PRAR_CUR  0x28
#define REG_PRAR_PRG  0x2C
#define REG_SCAR_CUR  0x30
#define REG_SCAR_PRG  0x34
#define REG_WPSN_CUR  0x38
#define REG_WPSN_PRG  0x3C
#define REG_BOOT_CUR  0x40
#define REG_BOOT_PRG  0x44
#define REG_ECC_FA    0x60

/* FLASH_CR (4.9.4) */
#define CR_LOCK        (1u << 0)
#define CR_PG          (1u << 1)
#define CR_SER         (1u << 2)
#define CR_BER         (1u << 3)
#define CR_PSIZE_SHIFT 4
#define CR_PSIZE       (3u << CR_PSIZE_SHIFT) /* H74x/H72x only */
/* FW, START, SNB/SSN and the interrupt enables: per variant */

/* FLASH_SR (4.9.5); FLASH_CCR (4.9.6) clears the same positions */
#define SR_BSY      (1u << 0)
#define SR_WBNE     (1u << 1)
#define SR_QW       (1u << 2)
#define SR_EOP      (1u << 16)
#define SR_WRPERR   (1u << 17)
#define SR_PGSERR   (1u << 18)
#define SR_STRBERR  (1u << 19)
#define SR_INCERR   (1u << 21)
#define SR_OPERR    (1u << 22)
#define SR_RDPERR   (1u << 23)
#define SR_RDSERR   (1u << 24)
#define SR_SNECCERR (1u << 25)
#define SR_DBECCERR (1u << 26)
#define SR_CRCEND   (1u << 27)
#define SR_ERRORS                                                                                  \
    (SR_WRPERR | SR_PGSERR | SR_STRBERR | SR_INCERR | SR_OPERR | SR_RDPERR | SR_RDSERR |           \
     SR_SNECCERR | SR_DBECCERR)
#define SR_LATCHED (SR_EOP | SR_ERRORS | SR_CRCEND)
/* the errors that refuse the next operation [U] */
#define SR_BLOCKING (SR_WRPERR | SR_PGSERR | SR_STRBERR | SR_INCERR | SR_OPERR)

/* FLASH_OPTCR (4.9.8), FLASH_OPTSR_CUR (4.9.9), FLASH_OPTCCR (4.9.11) */
#define OPTCR_OPTLOCK           (1u << 0)
#define OPTCR_OPTSTART          (1u << 1)
#define OPTCR_MER               (1u << 4)
#define OPTCR_OPTCHANGEERRIE    (1u << 30)
#define OPTCR_SWAP_BANK         (1u << 31)
#define OPTSR_OPT_BUSY          (1u << 0)
#define OPTSR_RDP_SHIFT         8
#define OPTSR_RDP               (0xFFu << OPTSR_RDP_SHIFT)
#define OPTSR_OPTCHANGEERR      (1u << 30)
#define OPTCCR_CLR_OPTCHANGEERR (1u << 30)
/* the OPTSR bits an option change copies: per variant (optsr_writable) */

#define KEY1    0x45670123u
#define KEY2    0xCDEF89ABu
#define OPTKEY1 0x08192A3Bu
#define OPTKEY2 0x4C5D6E7Fu

#define WORD_MAX 32u
#define ECC_MAX  8u /* words marked with an ECC error at once */

typedef struct h7_bank {
    uint32_t cr, sr, ecc_fa;
    uint32_t wpsn_cur, wpsn_prg;
    flash_keyseq keys;
    uint32_t wb_addr; /* the flash word being filled */
    uint32_t wb_have; /* bytes of it written (bit i: byte i) */
    uint8_t wb[WORD_MAX];
    flash_op op;
} h7_bank;

typedef struct h7_state {
    uint32_t acr;
    h7_bank bank[2];
    uint32_t optcr;
    flash_keyseq optkeys;
    uint32_t opt_stored; /* OPTSR as programmed (power-on loads it) */
    uint32_t optsr_cur, optsr_prg;
    uint32_t boot_cur, boot_prg;
    flash_op opt_op;
    /* words that read with an ECC error (SIM_FAULT_ECC_*): flash offsets */
    uint32_t ecc_off[ECC_MAX];
    bool ecc_double[ECC_MAX];
    unsigned ecc_n;
    /* one bit per flash word: programmed since its last erase */
    uint8_t written[H7_WORDS_MAX / 8];
} h7_state;

static const h7_variant *var(const sim_board *b)
{
    return sim_board_chip(b)->flash->variant;
}

static uint32_t bank_size(const sim_board *b)
{
    return sim_board_chip(b)->flash_size / var(b)->banks;
}

static unsigned sectors(const sim_board *b)
{
    uint32_t n = bank_size(b) / var(b)->sector_bytes;
    return n ? n : 1;
}

static unsigned rdp_level(const h7_state *st)
{
    return flash_rdp_level((uint8_t)(st->optsr_cur >> OPTSR_RDP_SHIFT));
}

/* The datasheet figure's index: CR.PSIZE, or x64's slot without PSIZE. */
static unsigned psize(const sim_board *b, const h7_bank *k)
{
    return var(b)->psize ? (k->cr & CR_PSIZE) >> CR_PSIZE_SHIFT : 3;
}

/* ---- operations, one per bank (read-while-write between banks) ------------- */

static bool op_running(const sim_board *b, const flash_op *op)
{
    return op->pending && sim_now_ps(b) < op->end_ps;
}

/* Start an operation of ns on op; the board's busy time covers it. */
static void op_begin(sim_board *b, flash_op *op, uint64_t ns, flash_area area, uint32_t addr,
                     uint32_t len)
{
    op->pending = true;
    op->end_ps = sim_now_ps(b) + ns * PS_PER_NS;
    op->area = area;
    op->addr = addr;
    op->len = len;
    sim_flash_busy_extend(b, op->end_ps);
}

static bool op_ended(const sim_board *b, flash_op *op)
{
    if (!op->pending || sim_now_ps(b) < op->end_ps)
        return false;
    flash_op_forget(op);
    return true;
}

static void sync(sim_board *b, h7_state *st)
{
    for (unsigned i = 0; i < 2; i++)
        if (op_ended(b, &st->bank[i].op))
            st->bank[i].sr |= SR_EOP;
    op_ended(b, &st->opt_op);
}

/* When bank i (or, i = 2, both) and any option change are done, in ps. */
static uint64_t free_at(const sim_board *b, const h7_state *st, unsigned i)
{
    uint64_t t = sim_now_ps(b);
    for (unsigned k = 0; k < 2; k++)
        if ((i == 2 || i == k) && op_running(b, &st->bank[k].op) && st->bank[k].op.end_ps > t)
            t = st->bank[k].op.end_ps;
    if (op_running(b, &st->opt_op) && st->opt_op.end_ps > t)
        t = st->opt_op.end_ps;
    return t;
}

/* The bus waits for bank i (2: both), then what ended is settled. */
static void wait_bank(sim_board *b, h7_state *st, unsigned i)
{
    sim_stall_until(b, free_at(b, st, i));
    sync(b, st);
}

static bool bit_get(const h7_state *st, uint32_t i)
{
    return st->written[i / 8] >> (i % 8) & 1;
}

static void bits_set(h7_state *st, uint32_t i, bool on)
{
    if (on)
        st->written[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        st->written[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

/* Erase [off, off + len) of main flash: cells and the virgin marks. */
static void erase_range(sim_board *b, h7_state *st, uint32_t off, uint32_t len)
{
    const sim_chip *c = sim_board_chip(b);
    uint32_t w = var(b)->word_bytes;
    flash_erase_main(b, c->flash_base + off, len);
    for (uint32_t i = off / w; i < (off + len) / w; i++)
        bits_set(st, i, false);
    unsigned n = 0;
    for (unsigned i = 0; i < st->ecc_n; i++)
        if (st->ecc_off[i] < off || st->ecc_off[i] >= off + len) {
            st->ecc_off[n] = st->ecc_off[i];
            st->ecc_double[n++] = st->ecc_double[i];
        }
    st->ecc_n = n;
}

static void wb_discard(h7_bank *k)
{
    k->wb_have = 0;
}

static void fail(h7_bank *k, uint32_t flags)
{
    k->sr |= flags;
    wb_discard(k);
}

static bool refused_by_rdp(sim_board *b, h7_state *st)
{
    return rdp_level(st) != 0 && sim_debugger_attached(b);
}

/* Is sector n of the bank write-protected (WPSN_CUR nWRPSn = 0, or on
 * H7A/B WPSGN_CUR WRPSGn = 0 for its group of 4 sectors)? */
static bool sector_protected(const sim_board *b, const h7_bank *k, unsigned n)
{
    return !(k->wpsn_cur >> (n / var(b)->wrp_group) & 1);
}

static uint32_t wrp_mask(const sim_board *b)
{
    unsigned n = var(b)->wrp_bits;
    return n >= 32 ? 0xFFFFFFFFu : (1u << n) - 1;
}

static unsigned bank_of(const sim_board *b, uint32_t off)
{
    return off / bank_size(b) ? 1 : 0;
}

/* The ECC error address register: the word's index in its bank. */
static void ecc_latch(const sim_board *b, h7_bank *k, uint32_t off, uint32_t flag)
{
    if (!(k->sr & (SR_SNECCERR | SR_DBECCERR)))
        k->ecc_fa = (off % bank_size(b)) / var(b)->word_bytes & var(b)->ecc_fa_mask;
    k->sr |= flag;
}

/* ---- programming ----------------------------------------------------------- */

/* Program the buffered word (missing bytes as 0xFF). */
static void program_word(sim_board *b, h7_state *st, h7_bank *k)
{
    const sim_chip *c = sim_board_chip(b);
    const h7_variant *v = var(b);
    uint32_t w = v->word_bytes;
    uint32_t off = k->wb_addr - c->flash_base;
    uint32_t idx = off / w;
    uint8_t data[WORD_MAX];
    for (uint32_t i = 0; i < w; i++)
        data[i] = (k->wb_have >> i & 1) ? k->wb[i] : 0xFF;
    wb_discard(k);
    if (bit_get(st, idx)) {
        /* not virgin: the cells keep their bits, the ECC no longer
         * matches (4.3.9) [U: reported at once] */
        ecc_latch(b, k, off, SR_DBECCERR);
    } else if (!sim_flash_cell_bad(b, k->wb_addr, w)) {
        memcpy(sim_flash_ptr(b) + off, data, w);
        sim_flash_changed(b, k->wb_addr, w);
    }
    bits_set(st, idx, true);
    op_begin(b, &k->op, v->t_prog_ns[psize(b, k)], FLASH_AREA_MAIN, c->flash_base + idx * w, w);
}

static bool h7_mem_write(sim_board *b, void *vst, bus_master who, uint32_t addr, uint32_t value,
                         unsigned size)
{
    (void)who;
    h7_state *st = vst;
    const sim_chip *c = sim_board_chip(b);
    const h7_variant *v = var(b);
    if (!flash_in_main(c, addr, size))
        return false; /* system memory: read-only, bus error [U] */
    uint32_t off = addr - c->flash_base;
    wait_bank(b, st, bank_of(b, off));
    h7_bank *k = &st->bank[bank_of(b, off)];
    if ((k->cr & (CR_LOCK | CR_PG)) != CR_PG || (k->cr & (CR_SER | CR_BER)) ||
        (k->sr & SR_BLOCKING)) {
        fail(k, SR_PGSERR);
        return true;
    }
    if (refused_by_rdp(b, st) || sector_protected(b, k, (off % bank_size(b)) / v->sector_bytes)) {
        fail(k, SR_WRPERR);
        return true;
    }
    uint32_t word = addr & ~(v->word_bytes - 1);
    if (k->wb_have && word != k->wb_addr) {
        fail(k, SR_INCERR);
        return true;
    }
    uint32_t pos = addr - word;
    uint32_t lanes = ((1u << size) - 1) << pos;
    if (k->wb_have & lanes) {
        fail(k, SR_STRBERR);
        return true;
    }
    k->wb_addr = word;
    k->wb_have |= lanes;
    for (unsigned i = 0; i < size; i++)
        k->wb[pos + i] = (uint8_t)(value >> (8 * i));
    uint32_t full = v->word_bytes == 32 ? 0xFFFFFFFFu : (1u << v->word_bytes) - 1;
    if (k->wb_have == full)
        program_word(b, st, k);
    return true;
}

/* ---- erase ------------------------------------------------------------------- */

static void start_erase(sim_board *b, h7_state *st, unsigned bi)
{
    h7_bank *k = &st->bank[bi];
    const h7_variant *v = var(b);
    uint32_t sel = k->cr & (CR_PG | CR_SER | CR_BER);
    if (!(sel & (CR_SER | CR_BER)))
        return; /* START alone: nothing [U] */
    if (sel != CR_SER && sel != CR_BER) {
        fail(k, SR_PGSERR);
        return;
    }
    if (k->sr & SR_BLOCKING) {
        fail(k, SR_PGSERR);
        return;
    }
    if (refused_by_rdp(b, st)) {
        fail(k, SR_WRPERR);
        return;
    }
    uint32_t base = bi * bank_size(b);
    if (sel == CR_BER) {
        for (unsigned n = 0; n < sectors(b); n++)
            if (sector_protected(b, k, n)) {
                fail(k, SR_WRPERR);
                return;
            }
        erase_range(b, st, base, bank_size(b));
        op_begin(b, &k->op, v->t_bank_ns[psize(b, k)], FLASH_AREA_MAIN,
                 sim_board_chip(b)->flash_base + base, bank_size(b));
        return;
    }
    unsigned snb = (k->cr >> v->cr_snb_shift) & v->cr_snb_max;
    if (snb >= sectors(b)) {
        fail(k, SR_PGSERR); /* no such sector [U] */
        return;
    }
    if (sector_protected(b, k, snb)) {
        fail(k, SR_WRPERR);
        return;
    }
    uint32_t len = v->sector_bytes < bank_size(b) ? v->sector_bytes : bank_size(b);
    erase_range(b, st, base + snb * v->sector_bytes, len);
    op_begin(b, &k->op, v->t_sector_ns[psize(b, k)], FLASH_AREA_MAIN,
             sim_board_chip(b)->flash_base + base + snb * v->sector_bytes, len);
}

static void cr_write(sim_board *b, h7_state *st, unsigned bi, uint32_t value, uint32_t mask)
{
    h7_bank *k = &st->bank[bi];
    const h7_variant *var_ = var(b);
    uint32_t v = value & mask;
    wait_bank(b, st, bi); /* CR waits while the bank is busy [U] */
    if (k->cr & CR_LOCK) {
        k->cr |= v & CR_LOCK;
        return;
    }
    uint32_t before = k->cr;
    uint32_t writable = CR_LOCK | CR_PG | CR_SER | CR_BER | (var_->psize ? CR_PSIZE : 0) |
                        var_->cr_snb_max << var_->cr_snb_shift | var_->cr_ie;
    k->cr = flash_masked(k->cr, writable, value, mask);
    if ((before & CR_PG) && !(k->cr & CR_PG) && k->wb_have)
        fail(k, SR_PGSERR); /* PG cleared with a word half written */
    if ((v & var_->cr_fw) && k->wb_have && (k->cr & CR_PG))
        program_word(b, st, k); /* FW: program what the buffer holds */
    if (v & var_->cr_start)
        start_erase(b, st, bi);
    if (v & CR_LOCK) {
        k->cr |= CR_LOCK;
        wb_discard(k);
        flash_key_restart(&k->keys);
    }
}

/* ---- options ----------------------------------------------------------------- */

static void opt_start(sim_board *b, h7_state *st)
{
    const sim_chip *c = sim_board_chip(b);
    const h7_variant *v = var(b);
    wait_bank(b, st, 2);
    unsigned from = rdp_level(st);
    unsigned to = flash_rdp_level((uint8_t)(st->optsr_prg >> OPTSR_RDP_SHIFT));
    if (from == 2) {
        st->optsr_cur |= OPTSR_OPTCHANGEERR;
        return;
    }
    uint64_t ns = v->t_opt_ns;
    if (from == 1 && to == 0) { /* regression: both banks erased (4.5.3) */
        erase_range(b, st, 0, c->flash_size);
        ns += v->t_bank_ns[3];
    }
    uint32_t keep = st->optsr_cur & ~v->optsr_writable;
    st->optsr_cur = keep | (st->optsr_prg & v->optsr_writable);
    st->opt_stored = st->optsr_cur & ~(OPTSR_OPT_BUSY | OPTSR_OPTCHANGEERR);
    for (unsigned i = 0; i < v->banks; i++)
        st->bank[i].wpsn_cur = st->bank[i].wpsn_prg;
    st->boot_cur = st->boot_prg;
    op_begin(b, &st->opt_op, ns, FLASH_AREA_NONE, 0, 0);
}

/* OPTCR.MER: both banks at once (4.3.10), CR1 and CR2 unlocked [U]; each
 * bank erases side by side with the other, busy for one bank erase. */
static void mass_erase(sim_board *b, h7_state *st)
{
    const h7_variant *v = var(b);
    wait_bank(b, st, 2);
    for (unsigned i = 0; i < v->banks; i++)
        if (st->bank[i].cr & CR_LOCK || st->bank[i].sr & SR_BLOCKING) {
            fail(&st->bank[i], SR_PGSERR);
            return;
        }
    if (refused_by_rdp(b, st)) {
        fail(&st->bank[0], SR_WRPERR);
        return;
    }
    erase_range(b, st, 0, sim_board_chip(b)->flash_size);
    for (unsigned i = 0; i < v->banks; i++)
        op_begin(b, &st->bank[i].op, v->t_bank_ns[psize(b, &st->bank[i])], FLASH_AREA_MAIN,
                 sim_board_chip(b)->flash_base + i * bank_size(b), bank_size(b));
}

/* ---- flash_ctrl_ops ------------------------------------------------------------- */

static void h7_factory(sim_board *b, void *vst)
{
    h7_state *st = vst;
    st->opt_stored = var(b)->optsr_factory;
    for (unsigned i = 0; i < 2; i++)
        st->bank[i].wpsn_cur = st->bank[i].wpsn_prg = i < var(b)->banks ? wrp_mask(b) : 0;
    st->boot_cur = st->boot_prg = var(b)->boot_factory;
}

static void h7_reset(sim_board *b, void *vst, bool power_on)
{
    h7_state *st = vst;
    for (unsigned i = 0; i < 2; i++) {
        h7_bank *k = &st->bank[i];
        flash_op_cut_short(b, &k->op);
        flash_op_forget(&k->op);
        k->cr = i < var(b)->banks ? CR_LOCK | (var(b)->psize ? CR_PSIZE : 0) : 0;
        k->sr = 0;
        k->keys = (flash_keyseq){0};
        k->wpsn_prg = k->wpsn_cur;
        wb_discard(k);
    }
    flash_op_forget(&st->opt_op);
    if (power_on)
        st->ecc_n = 0; /* [U] the marks model a disturbed cell until power-off */
    if (power_on)
        st->optsr_cur = st->opt_stored;
    st->optsr_cur &= ~OPTSR_OPT_BUSY;
    st->optsr_prg = st->optsr_cur & ~OPTSR_OPTCHANGEERR;
    st->boot_prg = st->boot_cur;
    st->optcr = OPTCR_OPTLOCK;
    st->optkeys = (flash_keyseq){0};
    st->acr = var(b)->acr_reset;
}

static uint32_t h7_reg_read(sim_board *b, void *vst, uint32_t offset)
{
    h7_state *st = vst;
    const h7_variant *v = var(b);
    sync(b, st);
    unsigned bi = offset >> 8;
    uint32_t r = offset & 0xFF;
    if (bi > 1)
        return 0;
    h7_bank *k = &st->bank[bi];
    bool here = bi < v->banks;
    bool busy = op_running(b, &k->op);
    switch (r) {
    case REG_ACR:
        return st->acr;
    case REG_CR:
        return here ? k->cr : 0;
    case REG_SR:
        if (!here)
            return 0;
        return k->sr | (busy ? SR_BSY | SR_QW : 0) | (k->wb_have ? SR_WBNE : 0);
    case REG_OPTCR:
        return st->optcr;
    case REG_OPTSR_CUR:
        return st->optsr_cur | (op_running(b, &st->opt_op) ? OPTSR_OPT_BUSY : 0);
    case REG_OPTSR_PRG:
        return st->optsr_prg;
    case REG_PRAR_CUR:
    case REG_PRAR_PRG:
    case REG_SCAR_CUR:
    case REG_SCAR_PRG:
        return here ? 0x000000FFu : 0; /* start > end: no area [U] */
    case REG_WPSN_CUR:
        return here ? k->wpsn_cur : 0;
    case REG_WPSN_PRG:
        return here ? k->wpsn_prg : 0;
    case REG_BOOT_CUR:
        return st->boot_cur;
    case REG_BOOT_PRG:
        return st->boot_prg;
    case REG_ECC_FA:
        return here ? k->ecc_fa : 0;
    default:
        return 0; /* keys write-only; CRC not modelled */
    }
}

static bool h7_reg_write(sim_board *b, void *vst, uint32_t offset, uint32_t value, uint32_t mask)
{
    h7_state *st = vst;
    const h7_variant *v = var(b);
    sync(b, st);
    unsigned bi = offset >> 8;
    uint32_t r = offset & 0xFF;
    if (bi > 1)
        return true;
    h7_bank *k = &st->bank[bi];
    bool here = bi < v->banks;
    bool opt_open = !(st->optcr & OPTCR_OPTLOCK);
    switch (r) {
    case REG_ACR:
        st->acr = flash_masked(st->acr, 0x3Fu, value, mask); /* WRHIGHFREQ, LATENCY */
        sim_clock_changed(b);
        return true;
    case REG_KEYR:
        if (!here)
            return true;
        return flash_key_unlock(&k->keys, &k->cr, CR_LOCK, true, KEY1, KEY2, value, mask);
    case REG_OPTKEYR:
        return flash_key_unlock(&st->optkeys, &st->optcr, OPTCR_OPTLOCK, true, OPTKEY1, OPTKEY2,
                                value, mask);
    case REG_CR:
        if (here)
            cr_write(b, st, bi, value, mask);
        return true;
    case REG_CCR:
        if (here) {
            flash_w1c(&k->sr, SR_LATCHED, value, mask);
            if (!(k->sr & (SR_SNECCERR | SR_DBECCERR)))
                k->ecc_fa = 0; /* cleared with the last ECC flag */
        }
        return true;
    case REG_OPTCR: {
        uint32_t v32 = value & mask;
        if (!opt_open) {
            return true;
        }
        st->optcr = flash_masked(st->optcr, OPTCR_OPTCHANGEERRIE | OPTCR_SWAP_BANK, value, mask);
        if (v32 & OPTCR_MER)
            mass_erase(b, st);
        if (v32 & OPTCR_OPTSTART)
            opt_start(b, st);
        if (v32 & OPTCR_OPTLOCK) {
            st->optcr |= OPTCR_OPTLOCK;
            flash_key_restart(&st->optkeys);
        }
        return true;
    }
    case REG_OPTSR_PRG:
        if (opt_open)
            st->optsr_prg = flash_masked(st->optsr_prg, v->optsr_writable, value, mask);
        return true;
    case REG_OPTCCR:
        if (value & mask & OPTCCR_CLR_OPTCHANGEERR)
            st->optsr_cur &= ~OPTSR_OPTCHANGEERR;
        return true;
    case REG_WPSN_PRG:
        if (opt_open && here)
            k->wpsn_prg = flash_masked(k->wpsn_prg, wrp_mask(b), value, mask);
        return true;
    case REG_BOOT_PRG:
        if (opt_open)
            st->boot_prg = flash_masked(st->boot_prg, 0xFFFFFFFFu, value, mask);
        return true;
    default:
        return true; /* CRC, PRAR/SCAR_PRG: not modelled [U] */
    }
}

static bool h7_read_protected(sim_board *b, void *vst)
{
    (void)b;
    return rdp_level(vst) != 0;
}

static void h7_inject_stale_errors(sim_board *b, void *vst)
{
    (void)b;
    ((h7_state *)vst)->bank[0].sr |= SR_PGSERR | SR_INCERR;
}

static void h7_inject_rdp1(sim_board *b, void *vst)
{
    (void)b;
    h7_state *st = vst;
    st->opt_stored = (st->opt_stored & ~OPTSR_RDP) | 0xBBu << OPTSR_RDP_SHIFT;
}

static unsigned h7_latency(sim_board *b, void *vst)
{
    (void)b;
    return ((h7_state *)vst)->acr & 0xFu; /* LATENCY b3:0 */
}

/* A read of flash at addr waits for its own bank (and an option change). */
static uint64_t h7_read_ready_ps(sim_board *b, void *vst, uint32_t addr)
{
    h7_state *st = vst;
    return free_at(b, st, bank_of(b, addr - sim_board_chip(b)->flash_base));
}

/* A read of a word marked with an ECC error (SIM_FAULT_ECC_*): SNECCERR
 * and the right data, or DBECCERR and a bus error (RM0433 4.7). */
static bool h7_read_check(sim_board *b, void *vst, bus_master who, uint32_t addr, unsigned size)
{
    (void)who;
    (void)size;
    h7_state *st = vst;
    if (!st->ecc_n)
        return true;
    uint32_t w = var(b)->word_bytes;
    uint32_t off = (addr - sim_board_chip(b)->flash_base) / w * w;
    for (unsigned i = 0; i < st->ecc_n; i++)
        if (st->ecc_off[i] == off) {
            h7_bank *k = &st->bank[bank_of(b, off)];
            ecc_latch(b, k, off, st->ecc_double[i] ? SR_DBECCERR : SR_SNECCERR);
            return !st->ecc_double[i];
        }
    return true;
}

static bool h7_inject_ecc(sim_board *b, void *vst, uint32_t addr, bool twice)
{
    h7_state *st = vst;
    uint32_t w = var(b)->word_bytes;
    uint32_t off = (addr - sim_board_chip(b)->flash_base) / w * w;
    unsigned i = 0;
    while (i < st->ecc_n && st->ecc_off[i] != off)
        i++;
    if (i == ECC_MAX)
        return false;
    st->ecc_off[i] = off;
    st->ecc_double[i] = twice;
    if (i == st->ecc_n)
        st->ecc_n++;
    return true;
}

/* Timing oracle: flash words at x64 (PSIZE's reset value, 4.9.4; the only
 * figure on H7A/B), sectors one by one. The cheapest full erase of the
 * banks a range touches is one bank erase: BER on each bank (the banks
 * erase side by side, "Overview of FLASH operations") or OPTCR.MER, the
 * same length either way. */
static void h7_timing(sim_board *b, void *st, uint32_t addr, uint32_t len, sim_flash_timing *out)
{
    (void)st;
    const sim_chip *c = sim_board_chip(b);
    const h7_variant *v = var(b);
    uint32_t off = addr - c->flash_base;
    uint32_t sec = v->sector_bytes < bank_size(b) ? v->sector_bytes : bank_size(b);
    out->mode = v->mode;
    out->unit_bytes = v->word_bytes;
    out->units = flash_units_touched(off, len, v->word_bytes);
    out->program_ns = out->units * v->t_prog_ns[3];
    out->erase_units = flash_units_touched(off, len, sec);
    out->erase_ns = out->erase_units * v->t_sector_ns[3];
    out->mass_ns = v->t_bank_ns[3];
}

#define H7_OPS(v)                                                                                  \
    {                                                                                              \
        .state_size = sizeof(h7_state), .factory = h7_factory, .reset = h7_reset,                  \
        .reg_read = h7_reg_read, .reg_write = h7_reg_write, .mem_write = h7_mem_write,             \
        .read_protected = h7_read_protected, .inject_stale_errors = h7_inject_stale_errors,        \
        .inject_rdp1 = h7_inject_rdp1, .latency = h7_latency, .timing = h7_timing,                 \
        .read_ready_ps = h7_read_ready_ps, .read_check = h7_read_check,                            \
        .inject_ecc = h7_inject_ecc, .variant = &(v),                                              \
    }

const flash_ctrl_ops sim_flash_h743 = H7_OPS(sim_h7_var_h743);
const flash_ctrl_ops sim_flash_h723 = H7_OPS(sim_h7_var_h723);
const flash_ctrl_ops sim_flash_h750 = H7_OPS(sim_h7_var_h750);
const flash_ctrl_ops sim_flash_h7a3 = H7_OPS(sim_h7_var_h7a3);
const flash_ctrl_ops sim_flash_h7b0 = H7_OPS(sim_h7_var_h7b0);
