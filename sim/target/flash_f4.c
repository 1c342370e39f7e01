/*
 * STM32F446 flash interface at 0x40023C00 (RM0390 section 3; RM0090
 * section 3 describes the same design for the F405/F407 and is the text
 * quoted below where RM0390 was not at hand).
 *
 * What silicon does and therefore what this model does:
 *  - Unlock: KEY1 then KEY2 into KEYR clears CR.LOCK; a wrong sequence is a
 *    bus error and CR stays locked until reset (RM0090 3.6.1). Writing KEYR
 *    while CR is already unlocked is such a wrong sequence (OpenOCD's
 *    stm32f2x checks LOCK first because "writing on KEYR will fail").
 *    OPTKEYR opens OPTCR the same way (RM0090 3.7.2).
 *  - Program: PG=1 and PSIZE set, then stores of exactly the PSIZE width
 *    (RM0090 3.6.4). Other width: not written, PGPERR. Data crossing a
 *    128-bit row: PGAERR. Store with PG=0 (or CR locked): PGSERR. Protected
 *    sector: WRPERR. There is no "not erased" check: the cells keep the AND
 *    of old and new data ("successive write operations are possible ...
 *    when changing bits from 1 to 0").
 *  - Erase: SER + SNB + STRT, or MER + STRT; MER and SER together, an
 *    invalid SNB, or a protected sector: WRPERR, nothing erased (RM0090
 *    3.7.4). Neither MER nor SER: nothing, no flag (RM0090 3.6.3).
 *  - EOP is set only when EOPIE=1, OPERR only when ERRIE=1 (RM0090 3.9.5).
 *  - BSY: a write to CR stalls the bus until BSY clears (RM0090 3.6.1 note);
 *    so does a store to the busy array (reads stall in the board).
 *  - Options: OPTCR holds the loaded option bytes; writing it and setting
 *    OPTSTRT erases the user configuration sector and programs it from
 *    OPTCR (RM0090 3.7.2). RDP 0xAA is level 0, 0xCC level 2, anything else
 *    level 1; 1 -> 0 mass-erases main flash during the operation (RM0090
 *    3.7.3). Level 1 with a debugger attached: main flash cannot be read
 *    (the board refuses), programmed or erased (WRPERR, RM0090 3.7.4).
 *
 * Variants, as data (f4_variant, reached from the chip row's flash_ctrl_ops):
 * the sector table; F42x/F43x dual bank (RM0090 3.3 organization, 3.9.8
 * FLASH_CR, the OPTCR/OPTCR1 descriptions in 3.9):
 * 2 x 12 sectors, SNB b7:3 with SNB[4] selecting bank 2 (0b1xxxx = sector
 * 12 + xxxx; 12-15 and 28-31 not allowed), MER b2 erases bank 1, MER1 b15
 * bank 2, both the whole array; OPTCR1 (0x18) holds nWRP b27:16 of
 * sectors 12-23 (PCROP with SPRMOD, as in OPTCR), its image at 0x1FFEC008
 * when the row maps it; OPTCR gains DB1M b30 and BFB2 b4 as plain option
 * bits (their effects are not modelled). A bank mass erase takes the sum of
 * its sectors' erase times [U: no bank figure read].
 *
 * F2 and F405/F407 (RM0033, RM0090), F412 (RM0402) and the F42x/F469
 * parts of up to 1 MiB are single-bank variants of up to 12 sectors with
 * their own OPTCR masks (see their variants at the end of the file).
 *
 * The F7 parts (F74x/F75x, F76x/F77x, F72x/F73x) are variants of the same
 * design: their data and rules are in flash_f7.c, the code here follows it
 * (layout chosen from the option bytes at reset, narrower SNB, OPTCR1 as
 * boot addresses, the ART reset rule, other option and OTP addresses).
 *
 * Timing: DS10693 (STM32F446xC/E datasheet), table "Flash memory
 * programming": word program 16 us typical at any parallelism; sector erase
 * 16 KiB 400/300/250 ms, 64 KiB 1200/700/550 ms, 128 KiB 2/1.3/1 s and
 * mass erase 8/5.5/4 s for x8/x16/x32 (the F411's DS10314 Table 45 has the
 * same x32 figures). x64 needs the external VPP supply, which the datasheet
 * times separately; we use the x32 figures for it [U].
 */
#include "flash_f4.h"

#include <string.h>

/* Register offsets (RM0390 3.8) */
#define F4_ACR     0x00
#define F4_KEYR    0x04
#define F4_OPTKEYR 0x08
#define F4_SR      0x0C
#define F4_CR      0x10
#define F4_OPTCR   0x14
#define F4_OPTCR1  0x18

#define KEY1    0x45670123u
#define KEY2    0xCDEF89ABu
#define OPTKEY1 0x08192A3Bu
#define OPTKEY2 0x4C5D6E7Fu

#define SR_EOP    (1u << 0)
#define SR_OPERR  (1u << 1)
#define SR_WRPERR (1u << 4)
#define SR_PGAERR (1u << 5)
#define SR_PGPERR (1u << 6)
#define SR_PGSERR (1u << 7)
#define SR_RDERR  (1u << 8)
#define SR_BSY    (1u << 16)
#define SR_W1C    (SR_EOP | SR_OPERR | SR_WRPERR | SR_PGAERR | SR_PGPERR | SR_PGSERR | SR_RDERR)

#define CR_PG          (1u << 0)
#define CR_SER         (1u << 1)
#define CR_MER         (1u << 2)
#define CR_SNB_SHIFT   3
#define CR_PSIZE_SHIFT 8
#define CR_PSIZE       (3u << CR_PSIZE_SHIFT)
#define CR_STRT        (1u << 16)
#define CR_EOPIE       (1u << 24)
#define CR_ERRIE       (1u << 25)
#define CR_LOCK        (1u << 31)
#define CR_PLAIN       (CR_PG | CR_SER | CR_MER | CR_PSIZE | CR_EOPIE | CR_ERRIE)

#define OPTCR_OPTLOCK (1u << 0)
#define OPTCR_OPTSTRT (1u << 1)
/* Option image (the variant's opt_base): OPTCR b15:0 at +0 and b31:16 at
 * +8, each half-word followed by its complement. F4 (RM0090 Table 15): the
 * word at 0x1FFFC000 holds RDP and USER, the one at 0x1FFFC008 SPRMOD and
 * nWRP; the complements are our reading of public dumps [U]. */
#define OPT_SIZE 16u

#define T_PROG_NS 16000ull

typedef struct f4_state {
    uint32_t acr, cr, sr, optcr;
    uint8_t rdp;                /* RDP byte in force since the last reset */
    uint32_t wrp_live;          /* OPTCR b31:16 in force: nWRP acts at once (F411 bench) */
    uint32_t optcr1;            /* dual bank: OPTCR1 */
    uint32_t wrp2_live;         /* dual bank: OPTCR1 b27:16 in force */
    flash_keyseq keys, optkeys; /* KEYR, OPTKEYR */
    flash_op op;
    /* x64: the first word of a double word, waiting for the second */
    bool dw_pending;
    uint32_t dw_addr, dw_lo;
    /* The organization in force, chosen when the options were loaded. */
    const f4_layout *lay;
    unsigned nsec;      /* sectors per bank */
    uint32_t bank2_off; /* offset of bank 2 in main flash, 0: one bank */
} f4_state;

static const f4_variant *variant(const sim_board *b)
{
    return sim_board_chip(b)->flash->variant;
}

static unsigned nbanks(const f4_state *s)
{
    return s->bank2_off ? 2 : 1;
}

/* Sector n of the whole array (bank 2's sectors follow bank 1's). */
static f4_sector sector_at(const f4_state *s, unsigned n)
{
    f4_sector sec = s->lay->sectors[n % s->nsec];
    if (n >= s->nsec)
        sec.off += s->bank2_off;
    return sec;
}

static unsigned sector_of(const f4_state *s, uint32_t off)
{
    unsigned n = 0, total = s->nsec * nbanks(s);
    while (n + 1 < total && off >= sector_at(s, n + 1).off)
        n++;
    return n;
}

/* SNB -> sector, or -1 for a code the part does not allow. */
static int sector_of_snb(const f4_state *s, unsigned snb)
{
    if (nbanks(s) == 1)
        return snb < s->nsec ? (int)snb : -1;
    unsigned low = snb & 0xF;
    if (low >= s->nsec)
        return -1;
    return (int)((snb & 0x10 ? s->nsec : 0) + low);
}

/* The organization the loaded options select, and how many of its sectors
 * fit in a bank of this part. */
static void choose_layout(sim_board *b, f4_state *s)
{
    const f4_variant *v = variant(b);
    uint32_t size = sim_board_chip(b)->flash_size;
    s->lay = v->layout[v->optcr_ndbank && (s->optcr & v->optcr_ndbank) ? 1 : 0];
    uint32_t bank = s->lay->dual ? size / 2 : size;
    s->bank2_off = s->lay->dual ? bank : 0;
    s->nsec = 0;
    while (s->nsec < s->lay->max_sectors && s->lay->sectors[s->nsec].off < bank)
        s->nsec++;
}

static unsigned psize(const f4_state *s)
{
    return (s->cr & CR_PSIZE) >> CR_PSIZE_SHIFT;
}

static void settle(sim_board *b, f4_state *s)
{
    if (flash_op_ended(b, &s->op)) {
        s->cr &= ~CR_STRT;
        s->optcr &= ~OPTCR_OPTSTRT;
        if (s->cr & CR_EOPIE)
            s->sr |= SR_EOP;
    }
}

static void start_op(sim_board *b, f4_state *s, uint64_t ns)
{
    flash_op_begin(b, &s->op, ns, FLASH_AREA_NONE, 0, 0);
}

/* Error flags latch until written with 1; OPERR only with ERRIE. */
static void fail(f4_state *s, uint32_t flags)
{
    s->sr |= flags;
    if (s->cr & CR_ERRIE)
        s->sr |= SR_OPERR;
}

static bool read_protected(const f4_state *s)
{
    return s->rdp != FLASH_RDP_LEVEL0;
}

/* RM0090 3.7.4 note: at level 1 with the debug port connected, no sector
 * can be programmed or erased, even with nWRPi = 1. */
static bool rdp_blocks(sim_board *b, const f4_state *s)
{
    return read_protected(s) && sim_debugger_attached(b);
}

/* nWRPi = 0 protects sector i (i >> wrp_shift where one bit covers a pair,
 * F76x dual bank; the layout's last bit where later sectors share it,
 * F413 sectors 14 and 15); with SPRMOD = 1 the bits select PCROP, active high, and
 * a PCROP sector is write protected too (RM0090 3.7.4). F42x: bank 2's
 * sectors take their bits from OPTCR1, SPRMOD from OPTCR. */
static unsigned wrp_bit(const f4_state *s, unsigned sector)
{
    unsigned n = sector >> s->lay->wrp_shift;
    return s->lay->wrp_last && n > s->lay->wrp_last ? s->lay->wrp_last : n;
}

static bool sector_protected(const f4_variant *v, const f4_state *s, unsigned sector)
{
    uint32_t bits = s->wrp_live;
    unsigned n = wrp_bit(s, sector);
    if (v->optcr1_nwrp && sector >= s->nsec) {
        bits = s->wrp2_live;
        n = sector - s->nsec;
    }
    bool bit = (bits >> n) & 1;
    return (s->wrp_live & (v->optcr_sprmod >> 16)) ? bit : !bit;
}

/* A half-word of the option image followed by its complement. */
static void put_opt16(sim_board *b, uint32_t addr, uint16_t v)
{
    uint8_t *p = addr ? sim_board_info_ptr(b, addr, 4) : NULL;
    if (!p)
        return;
    flash_put_le16(p, v);
    flash_put_le16(p + 2, (uint16_t)~v);
}

static uint16_t get_opt16(sim_board *b, uint32_t addr, uint16_t dflt)
{
    const uint8_t *p = addr ? sim_board_info_ptr(b, addr, 4) : NULL;
    return p ? flash_le16(p) : dflt;
}

/* Write OPTCR's option fields into the image (b1:0 are controls). */
static void store_options(sim_board *b, uint32_t optcr)
{
    const f4_variant *v = variant(b);
    uint8_t *img = sim_board_info_ptr(b, v->opt_base, OPT_SIZE);
    if (img)
        memset(img, 0xFF, OPT_SIZE);
    put_opt16(b, v->opt_base, (uint16_t)(optcr & 0xFFFC));
    put_opt16(b, v->opt_base + 8, (uint16_t)(optcr >> 16));
}

/* OPTCR1's halves into their places in the image (F42x: bank 2's nWRP
 * only, complement after it [U, as for bank 1]). */
static void store_options1(sim_board *b, uint32_t optcr1)
{
    const f4_variant *v = variant(b);
    put_opt16(b, v->opt1_lo, (uint16_t)optcr1);
    put_opt16(b, v->opt1_hi, (uint16_t)(optcr1 >> 16));
}

static void load_options(sim_board *b, f4_state *s)
{
    const f4_variant *v = variant(b);
    uint16_t lo = get_opt16(b, v->opt_base, (uint16_t)v->optcr_factory);
    uint16_t hi = get_opt16(b, v->opt_base + 8, (uint16_t)(v->optcr_factory >> 16));
    /* "The option bits are loaded with values from flash memory at reset
     * release" (RM0090 3.9.9); OPTCR comes back locked. */
    s->optcr = (uint32_t)hi << 16 | (lo & 0xFFFCu) | OPTCR_OPTLOCK;
    s->rdp = (uint8_t)(lo >> 8);
    s->wrp_live = hi;
    /* OPTCR1: its factory value where the image does not hold it. */
    uint16_t lo1 = get_opt16(b, v->opt1_lo, (uint16_t)v->optcr1_factory);
    uint16_t hi1 = get_opt16(b, v->opt1_hi, (uint16_t)(v->optcr1_factory >> 16));
    s->optcr1 = ((uint32_t)hi1 << 16 | lo1) & v->optcr1_rw;
    s->wrp2_live = hi1;
    /* The organization (F76x nDBANK) follows the loaded options only. */
    choose_layout(b, s);
}

static void f4_factory(sim_board *b, void *st)
{
    (void)st;
    store_options(b, variant(b)->optcr_factory);
    store_options1(b, variant(b)->optcr1_factory);
}

static void f4_reset(sim_board *b, void *st, bool power_on)
{
    (void)power_on;
    f4_state *s = st;
    memset(s, 0, sizeof *s);
    s->cr = CR_LOCK;
    load_options(b, s);
}

static uint32_t f4_reg_read(sim_board *b, void *st, uint32_t offset)
{
    f4_state *s = st;
    settle(b, s);
    switch (offset) {
    case F4_ACR:
        return s->acr;
    case F4_SR:
        return s->sr | (sim_flash_busy(b) ? SR_BSY : 0);
    case F4_CR:
        return s->cr;
    case F4_OPTCR:
        return s->optcr;
    case F4_OPTCR1:
        return s->optcr1; /* 0 where absent (F446) */
    default:              /* KEYR, OPTKEYR (write-only) */
        return 0;
    }
}

/* Erase time of sector n, or of a mass erase of the given banks (bank k
 * in bit k). */
static uint64_t sector_ns(const f4_state *s, unsigned ps, unsigned n)
{
    return (*s->lay->erase)[ps][sector_at(s, n).cls] * 1000000ull;
}

static uint64_t mass_ns(const f4_state *s, unsigned ps, unsigned banks)
{
    unsigned nb = (banks & 1) + (banks >> 1 & 1);
    if ((*s->lay->erase)[ps][3])
        return nb * (*s->lay->erase)[ps][3] * 1000000ull;
    uint64_t ns = 0;
    for (unsigned n = 0; n < s->nsec; n++)
        ns += sector_ns(s, ps, n);
    return nb * ns;
}

static void start_erase(sim_board *b, f4_state *s)
{
    const sim_chip *c = sim_board_chip(b);
    const f4_variant *v = variant(b);
    unsigned ps = psize(s);
    /* MER: bank 1 (the whole array on a one-bank part); MER1/MER2: bank 2.
     * F76x in single-bank mode: MER2 alone erases nothing and raises no
     * flag, like a CR with neither MER nor SER [U: RM0410 describes MER2
     * for dual-bank mode only]. */
    unsigned banks =
        (s->cr & CR_MER ? 1u : 0) | (nbanks(s) == 2 && v->cr_mer2 && (s->cr & v->cr_mer2) ? 2u : 0);
    bool mer = banks != 0, ser = s->cr & CR_SER;
    if (!mer && !ser) {
        s->cr &= ~CR_STRT; /* "unpredictable ... without any error flag" */
        return;
    }
    int sector = sector_of_snb(s, (s->cr & v->cr_snb) >> CR_SNB_SHIFT);
    bool refused = (mer && ser) || rdp_blocks(b, s) || (ser && sector < 0);
    /* "a mass erase cannot be performed if one of the sectors is
     * write-protected" (RM0090 3.7.4) */
    for (unsigned n = 0; !refused && n < s->nsec * nbanks(s); n++)
        if (banks & (1u << (n / s->nsec)))
            refused = sector_protected(v, s, n);
    if (!refused && ser)
        refused = sector_protected(v, s, (unsigned)sector);
    if (refused) {
        fail(s, SR_WRPERR);
        s->cr &= ~CR_STRT;
        return;
    }
    if (mer) {
        uint32_t start = banks == 2 ? s->bank2_off : 0;
        uint32_t len = nbanks(s) == 1 || banks == 3 ? c->flash_size
                       : banks == 1                 ? s->bank2_off
                                                    : c->flash_size - s->bank2_off;
        flash_erase_main(b, c->flash_base + start, len);
        start_op(b, s, mass_ns(s, ps, banks));
    } else {
        f4_sector sec = sector_at(s, (unsigned)sector);
        flash_erase_main(b, c->flash_base + sec.off, sec.len);
        start_op(b, s, sector_ns(s, ps, (unsigned)sector));
    }
}

static void cr_write(sim_board *b, f4_state *s, uint32_t value, uint32_t mask)
{
    if (s->cr & CR_LOCK)
        return; /* FLASH_CR is not writable until unlocked (RM0090 3.6.1) */
    const f4_variant *v = variant(b);
    uint32_t w = value & mask;
    uint32_t cr = flash_masked(s->cr, CR_PLAIN | v->cr_snb | v->cr_mer2, value, mask);
    if (!(cr & CR_PG))
        s->dw_pending = false;
    if (w & CR_LOCK)
        cr |= CR_LOCK;
    s->cr = cr;
    if ((w & CR_STRT) && !(cr & CR_LOCK)) {
        s->cr |= CR_STRT; /* cleared by hardware when BSY falls */
        start_erase(b, s);
    }
}

/* OPTSTRT: erase the user configuration sector, program it from OPTCR. */
static void start_option_change(sim_board *b, f4_state *s)
{
    const sim_chip *c = sim_board_chip(b);
    const f4_variant *v = variant(b);
    const uint8_t *img = sim_board_info_ptr(b, v->opt_base, OPT_SIZE);
    uint8_t old_rdp = img ? img[1] : 0xFF;
    uint16_t old_hi = img ? flash_le16(img + 8) : (uint16_t)(v->optcr_factory >> 16);
    uint8_t new_rdp = (uint8_t)(s->optcr >> 8);
    uint16_t new_hi = (uint16_t)(s->optcr >> 16);
    uint16_t old_hi2 = (uint16_t)s->wrp2_live, new_hi2 = (uint16_t)(s->optcr1 >> 16);
    uint16_t nwrp = (uint16_t)((2u << wrp_bit(s, s->nsec - 1)) - 1); /* bank 1's bits */
    uint16_t sprmod = (uint16_t)(v->optcr_sprmod >> 16);
    bool regress = flash_rdp_level(old_rdp) == 1 && flash_rdp_level(new_rdp) == 0;
    /* Level 2: "user option bytes can no longer be changed" (RM0090 3.7.3);
     * the flag is our choice [U]. PCROP may only be dropped (SPRMOD cleared
     * or an active nWRPi bit cleared) together with an RDP 1 -> 0
     * regression, else WRPERR and nothing changes (RM0090 3.7.5). */
    bool refused = flash_rdp_level(s->rdp) == 2 || flash_rdp_level(old_rdp) == 2;
    if ((old_hi & sprmod) && !regress)
        refused |= !(new_hi & sprmod) || (old_hi & nwrp & ~new_hi) != 0 ||
                   (v->optcr1_nwrp && (old_hi2 & nwrp & ~new_hi2) != 0);
    if (refused) {
        fail(s, SR_WRPERR);
        s->optcr &= ~OPTCR_OPTSTRT;
        return;
    }
    /* Duration: DS10693 has no option-byte figure; the user configuration
     * sector is erased and programmed, taken as a smallest-sector erase at
     * the current parallelism [U]. */
    unsigned ps = psize(s);
    uint64_t ns = (*s->lay->erase)[ps][0] * 1000000ull;
    if (regress) {
        /* Level 1 -> 0: main flash is mass-erased first, whatever the write
         * protection (RM0090 3.7.3); the other options are kept. */
        flash_erase_main(b, c->flash_base, c->flash_size);
        ns += mass_ns(s, ps, nbanks(s) == 2 ? 3 : 1);
    }
    store_options(b, s->optcr);
    store_options1(b, s->optcr1);
    /* nWRP acts at once (F411 bench); RDP, USER, the boot addresses and
     * the bank organization at the next reset. */
    s->wrp_live = new_hi;
    if (v->optcr1_nwrp)
        s->wrp2_live = new_hi2;
    start_op(b, s, ns);
}

static void optcr_write(sim_board *b, f4_state *s, uint32_t value, uint32_t mask)
{
    if (s->optcr & OPTCR_OPTLOCK)
        return;
    uint32_t w = value & mask;
    s->optcr = flash_masked(s->optcr, variant(b)->optcr_rw, value, mask);
    if (w & OPTCR_OPTLOCK) {
        s->optcr |= OPTCR_OPTLOCK;
        flash_key_restart(&s->optkeys);
        return;
    }
    if (w & OPTCR_OPTSTRT) {
        s->optcr |= OPTCR_OPTSTRT;
        start_option_change(b, s);
    }
}

/* FLASH_ACR. F7: ARTRST takes only while ARTEN is clear (RM0410 3.5.2:
 * the ART accelerator can be reset only while it is disabled); a write
 * setting it while ARTEN = 1 leaves it as it was [U: what it reads back]. */
static void acr_write(sim_board *b, f4_state *s, uint32_t value, uint32_t mask)
{
    const f4_variant *v = variant(b);
    uint32_t rw = v->acr_rw;
    if (v->art.rst && (s->acr & v->art.en))
        rw &= ~v->art.rst;
    s->acr = flash_masked(s->acr, rw, value, mask);
}

static bool f4_reg_write(sim_board *b, void *st, uint32_t offset, uint32_t value, uint32_t mask)
{
    f4_state *s = st;
    settle(b, s);
    switch (offset) {
    case F4_ACR:
        acr_write(b, s, value, mask);
        sim_clock_changed(b); /* HCLK may now be too fast, or fine again */
        return true;
    /* KEY1 then KEY2, full-word writes only (RM0090 3.9.3 "word access"). Any
     * other write, including one while already unlocked, is a wrong
     * sequence: bus error, locked until reset. */
    case F4_KEYR:
        return flash_key_unlock(&s->keys, &s->cr, CR_LOCK, true, KEY1, KEY2, value, mask);
    case F4_OPTKEYR:
        return flash_key_unlock(&s->optkeys, &s->optcr, OPTCR_OPTLOCK, true, OPTKEY1, OPTKEY2,
                                value, mask);
    case F4_SR:
        flash_w1c(&s->sr, SR_W1C, value, mask);
        return true;
    case F4_CR:
    case F4_OPTCR:
        /* RM0090 3.6.1: a write to CR while BSY stalls the AHB until BSY
         * clears; OPTCR is taken to behave the same [U]. */
        if (flash_stall_if_busy(b))
            settle(b, s);
        if (offset == F4_CR)
            cr_write(b, s, value, mask);
        else
            optcr_write(b, s, value, mask);
        return true;
    case F4_OPTCR1:
        /* F42x dual bank: nWRP of bank 2; F7: BOOT_ADD0/1. Written while
         * OPTCR is unlocked and applied by OPTSTRT (RM0090 3.9, RM0410
         * 3.7.8 FLASH_OPTCR1); stalls like OPTCR [U]. */
        if (flash_stall_if_busy(b))
            settle(b, s);
        if (!(s->optcr & OPTCR_OPTLOCK))
            s->optcr1 = flash_masked(s->optcr1, variant(b)->optcr1_rw, value, mask);
        return true;
    default:
        return true;
    }
}

/* Program size bytes of data at cell (AND: bits only go 1 -> 0), unless
 * the cell is bad: then nothing changes and the controller still reports
 * success, as a bad cell does. */
static void program_cells(sim_board *b, f4_state *s, uint8_t *cell, uint32_t addr,
                          const uint8_t *data, unsigned size, bool main)
{
    if (!main || !sim_flash_cell_bad(b, addr, size)) {
        for (unsigned i = 0; i < size; i++)
            cell[i] &= data[i];
        if (main)
            sim_flash_changed(b, addr, size);
    }
    start_op(b, s, T_PROG_NS);
}

/* One store into main flash or OTP. */
static bool store(sim_board *b, f4_state *s, uint32_t addr, uint32_t value, unsigned size,
                  bool main)
{
    const sim_chip *c = sim_board_chip(b);
    unsigned ps = psize(s);
    uint32_t err = 0;
    if ((s->cr & CR_LOCK) || !(s->cr & CR_PG))
        err |= SR_PGSERR;
    /* x64 takes its double word as two word stores (the core has no 64-bit
     * bus access); other parallelisms take one store of their width. */
    if (size != (ps == 3 ? 4u : 1u << ps))
        err |= SR_PGPERR;
    if ((addr & 15) + size > 16)
        err |= SR_PGAERR;
    if (rdp_blocks(b, s))
        err |= SR_WRPERR;
    if (main && sector_protected(variant(b), s, sector_of(s, addr - c->flash_base)))
        err |= SR_WRPERR;
    if (!main) {
        /* OTP: the lock bytes themselves can be programmed; a data block
         * whose lock byte is 0x00 cannot. */
        const f4_variant *v = variant(b);
        uint8_t *lock = sim_board_info_ptr(b, v->otp_lock, v->otp_end - v->otp_lock);
        if (addr < v->otp_lock && lock && lock[(addr - v->otp_base) / v->otp_block] == 0x00)
            err |= SR_WRPERR;
    }
    if (err) {
        fail(s, err);
        s->dw_pending = false;
        return true;
    }
    uint8_t *cell =
        main ? sim_flash_ptr(b) + (addr - c->flash_base) : sim_board_info_ptr(b, addr, size);
    if (!cell)
        return false;
    uint8_t data[8];
    if (ps == 3) {
        if (!s->dw_pending) {
            /* A double word starting in the last word of a row would cross
             * it: PGAERR at once [U: which word raises it]. */
            if ((addr & 15) == 12) {
                fail(s, SR_PGAERR);
                return true;
            }
            s->dw_pending = true;
            s->dw_addr = addr;
            s->dw_lo = value;
            return true;
        }
        s->dw_pending = false;
        if (addr != s->dw_addr + 4) { /* second word not next to the first [U] */
            fail(s, SR_PGAERR);
            return true;
        }
        memcpy(data, &s->dw_lo, 4);
        memcpy(data + 4, &value, 4);
        addr = s->dw_addr;
        cell -= 4;
        size = 8;
    } else {
        memcpy(data, &value, size);
    }
    program_cells(b, s, cell, addr, data, size, main);
    return true;
}

static bool f4_mem_write(sim_board *b, void *st, bus_master who, uint32_t addr, uint32_t value,
                         unsigned size)
{
    (void)who;
    f4_state *s = st;
    const sim_chip *c = sim_board_chip(b);
    settle(b, s);
    /* Single bank: the interface takes the store when the array is free. */
    if (flash_stall_if_busy(b))
        settle(b, s);
    if (flash_in_main(c, addr, size))
        return store(b, s, addr, value, size, true);
    const f4_variant *v = variant(b);
    if (flash_in_range(addr, size, v->otp_base, v->otp_end - v->otp_base))
        return store(b, s, addr, value, size, false);
    /* System memory, the user configuration sector and the identity words
     * are never programmed by stores: PGSERR without PG, else WRPERR
     * ("a write operation is performed on system memory ... to the user
     * configuration sector", RM0090 3.7.4). */
    if ((s->cr & CR_LOCK) || !(s->cr & CR_PG))
        fail(s, SR_PGSERR);
    else
        fail(s, SR_WRPERR);
    return true;
}

static bool f4_read_protected(sim_board *b, void *st)
{
    (void)b;
    return read_protected(st);
}

static void f4_inject_stale_errors(sim_board *b, void *st)
{
    (void)b;
    f4_state *s = st;
    s->sr |= SR_PGSERR | SR_PGPERR | SR_PGAERR;
}

static void f4_inject_rdp1(sim_board *b, void *st)
{
    (void)st;
    /* RDP 0x55 (the HAL's OB_RDP_LEVEL_1) into the image, loaded at the
     * next reset like any option. */
    uint8_t *img = sim_board_info_ptr(b, variant(b)->opt_base, OPT_SIZE);
    if (!img)
        return;
    uint16_t lo = (uint16_t)((flash_le16(img) & 0x00FF) | 0x5500);
    flash_put_le16(img, lo);
    flash_put_le16(img + 2, (uint16_t)~lo);
}

static unsigned f4_latency(sim_board *b, void *st)
{
    (void)b;
    /* RM0390 3.8.1: LATENCY b3:0 */
    return ((f4_state *)st)->acr & 0xFu;
}

/* Timing oracle, at x32 (PSIZE 2: the parallelism for a 2.7-3.6 V supply,
 * the one hosts use without VPP): word programs of T_PROG_NS, the sectors
 * the range touches erased one by one, and a mass erase of the banks it
 * touches (MER, with MER1/MER2 where there are two banks) as start_erase()
 * times it, in the organization loaded at the last reset. */
static void f4_timing(sim_board *b, void *st, uint32_t addr, uint32_t len, sim_flash_timing *out)
{
    const f4_state *s = st;
    uint32_t off = addr - sim_board_chip(b)->flash_base;
    unsigned first = sector_of(s, off), last = sector_of(s, off + len - 1), banks = 0;
    out->mode = "x32";
    out->unit_bytes = 4;
    out->units = flash_units_touched(off, len, 4);
    out->program_ns = out->units * T_PROG_NS;
    out->erase_units = last - first + 1;
    for (unsigned n = first; n <= last; n++) {
        out->erase_ns += sector_ns(s, 2, n);
        banks |= 1u << (n / s->nsec);
    }
    out->mass_ns = mass_ns(s, 2, banks);
}

/* One flash_ctrl_ops per variant, all sharing the functions above. */
#define F4_OPS(var)                                                                                \
    {                                                                                              \
        .state_size = sizeof(f4_state), .factory = f4_factory, .reset = f4_reset,                  \
        .reg_read = f4_reg_read, .reg_write = f4_reg_write, .mem_write = f4_mem_write,             \
        .read_protected = f4_read_protected, .inject_stale_errors = f4_inject_stale_errors,        \
        .inject_rdp1 = f4_inject_rdp1, .latency = f4_latency, .timing = f4_timing,                 \
        .variant = &(var),                                                                         \
    }

const flash_ctrl_ops sim_flash_f4 = F4_OPS(f4_var_f446);
const flash_ctrl_ops sim_flash_f4_db = F4_OPS(f4_var_f42x_dual);
const flash_ctrl_ops sim_flash_f2 = F4_OPS(f4_var_f2);
const flash_ctrl_ops sim_flash_f412 = F4_OPS(f4_var_f412);
const flash_ctrl_ops sim_flash_f42x = F4_OPS(f4_var_f42x);
const flash_ctrl_ops sim_flash_f413 = F4_OPS(f4_var_f413);
const flash_ctrl_ops sim_flash_f7 = F4_OPS(f4_var_f74x);
const flash_ctrl_ops sim_flash_f7_76x = F4_OPS(f4_var_f76x);
const flash_ctrl_ops sim_flash_f7_72x = F4_OPS(f4_var_f72x);
