/*
 * The pure parts of the flash family descriptors (loaders/families/), no
 * probe needed: where each bank's registers are, how a unit is coded for
 * the controller and the stub, what the status flags mean, how RDP reads.
 * Mostly the H7 (h7.c), whose controller differs most from the others:
 * a register block per bank, flags cleared in CCR, 32-byte flash words;
 * and the H5 (h5.c): H7-like bits in a TrustZone layout, product states.
 */
#include "family.h"
#include "families/h7.h"
#include "stubs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static fl_target target_of(uint16_t dev_id, uint32_t flash_size)
{
    fl_target t;
    memset(&t, 0, sizeof t);
    t.chip = fl_chip_by_dev_id(dev_id);
    assert_non_null(t.chip);
    t.flash_size = flash_size;
    return t;
}

/* RM0433 4.9: KEYR 0x04, CR 0x0C, SR 0x10, CCR 0x14 per bank, bank 2's
 * 0x100 above bank 1's; SR is read-only, CCR clears its flags. */
static void h7_bank_registers(void **state)
{
    (void)state;
    fl_target t = target_of(0x450, 2048 * 1024);
    const fl_family *f = t.chip->line->family;
    assert_int_equal(fl_reg_blocks(&t), 2);
    assert_int_equal(fl_reg(&t, 0, f->keys[0].keyr), 0x52002004);
    assert_int_equal(fl_reg(&t, 1, f->keys[0].keyr), 0x52002104);
    assert_int_equal(fl_reg(&t, 0, f->cr), 0x5200200C);
    assert_int_equal(fl_reg(&t, 1, f->cr), 0x5200210C);
    assert_int_equal(fl_reg(&t, 0, f->sr), 0x52002010);
    assert_int_equal(fl_reg(&t, 1, f->sr), 0x52002110);
    assert_int_equal(fl_sr_clear_reg(&t, 0), 0x52002014);
    assert_int_equal(fl_sr_clear_reg(&t, 1), 0x52002114);
    assert_int_equal(f->keys[0].key1, 0x45670123);
    assert_int_equal(f->keys[0].key2, 0xCDEF89AB);
    assert_int_equal(f->keys[0].lock_bit, 1u << 0); /* LOCK is CR bit 0 */
    assert_int_equal(f->cr_lock, 1u << 0);
    assert_int_equal(fl_bank_of(&t, 0x08000000), 0);
    assert_int_equal(fl_bank_of(&t, 0x080FFFE0), 0);
    assert_int_equal(fl_bank_of(&t, 0x08100000), 1);
    assert_int_equal(fl_bank_of(&t, 0x081FFFE0), 1);
    /* Options exist once, in bank 1's block. */
    assert_int_equal(fl_reg(&t, 0, f->opt.optkeyr), 0x52002008);
    assert_int_equal(fl_reg(&t, 0, f->opt.lock_reg), 0x52002018);
    assert_int_equal(f->opt.optkeys[0], 0x08192A3B);
    assert_int_equal(f->opt.optkeys[1], 0x4C5D6E7F);
    assert_int_equal(f->opt.obl_bit, 0); /* loaded by a reset (OPTSTART applies them) */
    /* H72x: one bank, one block. */
    fl_target h723 = target_of(0x483, 1024 * 1024);
    assert_int_equal(fl_reg_blocks(&h723), 1);
    assert_int_equal(fl_bank_of(&h723, 0x080E0000), 0);
}

/* What the stub is told per unit: index in bank | bank << shift; the H7
 * stub takes SNB from the low 3 bits and the bank from the address, which
 * must agree. */
static void h7_unit_codes(void **state)
{
    (void)state;
    fl_target t = target_of(0x450, 2048 * 1024);
    const fl_family *f = t.chip->line->family;
    for (uint32_t i = 0; i < 16; i++) {
        fl_unit u;
        assert_true(fl_chip_unit(t.chip, t.flash_size, i, &u));
        uint32_t code = u.index_in_bank | u.bank << f->bank_code_shift;
        assert_int_equal(code & 7u, i % 8);               /* SNB */
        assert_int_equal(code >> 8, i / 8);               /* bank */
        assert_int_equal(fl_bank_of(&t, u.addr), u.bank); /* its registers */
        assert_int_equal(u.addr % f->program_unit, 0);
    }
}

/* RM0433 4.6 / 4.9 FLASH_SR1: the error flags, typed, each with advice;
 * busy and end-of-operation are not errors; the stub's mask is the same. */
static void h7_status_flags(void **state)
{
    (void)state;
    fl_target t = target_of(0x450, 2048 * 1024);
    const fl_family *f = t.chip->line->family;
    assert_int_equal(fl_sr_errors(f), 0x17EE0000);       /* = stub_h7.c SR_ERRORS */
    assert_int_equal(f->sr_busy, (1u << 0) | (1u << 2)); /* BSY, QW (not WBNE) */
    assert_int_equal(f->sr_eop, 1u << 16);
    assert_int_equal(fl_sr_errors(f) & (f->sr_busy | f->sr_eop), 0);
    char why[2000];
    assert_int_equal(fl_flags_describe(&t, 1u << 17, why, sizeof why), FL_E_PROTECTED);
    assert_non_null(strstr(why, "WRPERR"));
    assert_int_equal(fl_flags_describe(&t, (1u << 18) | (1u << 21), why, sizeof why), FL_E_FLASH);
    assert_non_null(strstr(why, "PGSERR"));
    assert_non_null(strstr(why, "INCERR"));
    assert_int_equal(fl_flags_describe(&t, (1u << 26) | (1u << 17), why, sizeof why),
                     FL_E_PROTECTED); /* protection wins over the rest */
    assert_non_null(strstr(why, "DBECCERR"));
    assert_int_equal(fl_flags_describe(&t, (1u << 0) | (1u << 2) | (1u << 16), why, sizeof why),
                     FL_OK);
    assert_string_equal(why, "");
    static const char *const names[] = {"STRBERR",  "OPERR",    "RDPERR",  "RDSERR",
                                        "SNECCERR", "CRCRDERR", "DBECCERR"};
    assert_int_equal(fl_flags_describe(&t, fl_sr_errors(f), why, sizeof why), FL_E_PROTECTED);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strstr(why, names[i]))
            fail_msg("%s missing from \"%s\"", names[i], why);
}

/* RDP in OPTSR_CUR bits 15:8: 0xAA level 0, 0xCC level 2, others 1; the
 * level-1 byte written is neither; user writes keep clear of the options
 * that change the part for good or its memory map. */
static void h7_rdp_and_options(void **state)
{
    (void)state;
    fl_target t = target_of(0x483, 1024 * 1024);
    const fl_family *f = t.chip->line->family;
    assert_int_equal(f->rdp_off, 0x1C); /* OPTSR_CUR */
    static const struct {
        uint32_t optsr;
        bool protected_;
        int level;
    } cases[] = {
        {0x1606AAF0u, false, 0}, {0x1606BBF0u, true, 1},  {0x160655F0u, true, 1},
        {0x1606CCF0u, true, 2},  {0x0000AA00u, false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal((cases[i].optsr & f->rdp_mask) != f->rdp_clear, cases[i].protected_);
        assert_int_equal(fl_rdp_level((uint8_t)(cases[i].optsr >> 8)), cases[i].level);
    }
    assert_int_equal(f->opt.level_byte[0], 0xAA);
    assert_int_equal(fl_rdp_level(f->opt.level_byte[1]), 1);
    uint32_t never = 0xFF00u     /* RDP: through set_rdp only */
                     | 1u << 0   /* OPT_BUSY */
                     | 3u << 19  /* ST_RAM_SIZE */
                     | 1u << 21  /* SECURITY */
                     | 1u << 29  /* IO_HSLV */
                     | 1u << 30  /* OPTCHANGEERR */
                     | 1u << 31; /* SWAP_BANK_OPT */
    assert_int_equal(f->opt.user_mask & never, 0);
    assert_int_not_equal(f->opt.user_mask & (1u << 4), 0); /* IWDG1_SW */
    assert_null(f->opt.confirm);
}

/* Flash words: the host pads to 32 bytes, the stub fits its slot. */
static void h7_program_unit_and_stub(void **state)
{
    (void)state;
    const fl_family *f = fl_chip_by_dev_id(0x450)->line->family;
    assert_int_equal(f->program_unit, 32);
    assert_int_equal(f->store_width, 4);
    assert_int_equal(f->cr_program, (1u << 1) | (3u << 4)); /* PG, PSIZE x64 */
    fl_stub stub;
    assert_true(fl_stub_find(f->stub, &stub));
    assert_true(stub.len > 0 && stub.len <= FL_STUB_MAX);
    assert_non_null(f->erase);
    assert_non_null(f->mass_erase);
    assert_non_null(f->prepare);
}

/* STM32H5 (RM0481 7.11, CMSIS FLASH_TypeDef): one non-secure register
 * block for both banks: NSKEYR 0x04 (not the L5/U5's 0x08), OPTKEYR 0x0C,
 * OPTCR 0x1C, NSSR 0x20, NSCR 0x28, NSCCR 0x30 (NSSR's flags cleared
 * there), OPTSR_CUR 0x50; LOCK is NSCR bit 0. */
static void h5_registers(void **state)
{
    (void)state;
    static const uint16_t ids[] = {0x484, 0x478, 0x474};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        fl_target t = target_of(ids[i], fl_chip_by_dev_id(ids[i])->flash_size_max);
        const fl_family *f = t.chip->line->family;
        assert_int_equal(fl_reg_blocks(&t), 1);
        assert_int_equal(fl_reg(&t, 0, f->keys[0].keyr), 0x40022004);
        assert_int_equal(f->keys[0].key1, 0x45670123);
        assert_int_equal(f->keys[0].key2, 0xCDEF89AB);
        assert_int_equal(f->keys[0].lock_bit, 1u << 0);
        assert_int_equal(f->keys[1].keyr, 0); /* one sequence */
        assert_int_equal(f->cr_lock, 1u << 0);
        assert_int_equal(fl_reg(&t, 0, f->sr), 0x40022020);
        assert_int_equal(fl_reg(&t, 0, f->cr), 0x40022028);
        assert_int_equal(fl_sr_clear_reg(&t, 0), 0x40022030);
        assert_int_equal(fl_reg(&t, 0, f->rdp_off), 0x40022050);
        assert_int_equal(fl_reg(&t, 0, f->opt.optkeyr), 0x4002200C);
        assert_int_equal(fl_reg(&t, 0, f->opt.lock_reg), 0x4002201C);
        assert_int_equal(f->opt.lock_bit, 1u << 0); /* OPTLOCK */
        assert_int_equal(f->opt.optkeys[0], 0x08192A3B);
        assert_int_equal(f->opt.optkeys[1], 0x4C5D6E7F);
        assert_int_equal(f->program_unit, 16); /* quad word */
        assert_int_equal(f->cr_program, 1u << 1);
        assert_int_equal(f->store_width, 4);
        assert_non_null(f->prepare);
        assert_non_null(f->mass_erase);
        assert_null(f->opt.confirm); /* every option change refused instead */
        /* stub_l4x told where the bits are: SER b2, SNB from b6, BKSEL
         * b31, START b5, PG b1, flags cleared in NSCCR. */
        fl_loader_ctl ctl;
        memset(&ctl, 0, sizeof ctl);
        assert_non_null(f->loader_setup);
        f->loader_setup(&t, &ctl);
        assert_int_equal(ctl.l4.sr_off, 0x20);
        assert_int_equal(ctl.l4.cr_off, 0x28);
        assert_int_equal(ctl.l4.sr_clear_off, 0x30);
        assert_int_equal(ctl.l4.cr_pg, 1u << 1);
        assert_int_equal(ctl.l4.cr_per, 1u << 2);
        assert_int_equal(ctl.l4.cr_strt, 1u << 5);
        assert_int_equal(ctl.l4.cr_bker, 1u << 31);
        assert_int_equal(ctl.l4.pnb_shift, 6);
        assert_int_equal(ctl.l4.prog_unit, 16);
        assert_int_equal(ctl.l4.sr_eop, 1u << 16);
        assert_int_equal(ctl.l4.sr_errors, fl_sr_errors(f));
        assert_int_equal(ctl.l4.sr_busy, (1u << 0) | (1u << 1) | (1u << 3)); /* BSY WBNE DBNE */
    }
}

/* Sector codes: SNB is the sector in its bank (7 bits: 128 per bank on
 * the 2 MiB parts), the bank in bit 8 of the code the stub gets (BKSEL). */
static void h5_sector_codes(void **state)
{
    (void)state;
    fl_target t = target_of(0x484, 2048 * 1024);
    const fl_family *f = t.chip->line->family;
    for (uint32_t i = 0; i < 256; i++) {
        fl_unit u;
        assert_true(fl_chip_unit(t.chip, t.flash_size, i, &u));
        uint32_t code = u.index_in_bank | u.bank << f->bank_code_shift;
        assert_int_equal(code & 0xFFu, i % 128);
        assert_true((code & 0xFFu) < 128); /* fits SNB b12:6 */
        assert_int_equal(code >> 8, i / 128);
        assert_int_equal(u.addr, 0x08000000 + i * 8192);
        assert_int_equal(fl_bank_of(&t, u.addr), 0); /* one register block */
    }
    fl_target h503 = target_of(0x474, 128 * 1024);
    fl_unit u;
    assert_true(fl_chip_unit(h503.chip, h503.flash_size, 15, &u));
    assert_int_equal(u.index_in_bank | u.bank << f->bank_code_shift, (1u << 8) | 7u);
}

/* The product state (OPTSR_CUR b15:8) is what protection means on the
 * H5: only Open (0xED) is unprotected; the names follow RM0481's product
 * life cycle (values as OpenOCD's stm32h5x driver). */
static void h5_product_states(void **state)
{
    (void)state;
    fl_target t = target_of(0x484, 2048 * 1024);
    const fl_family *f = t.chip->line->family;
    assert_int_equal(f->rdp_mask, 0xFF00);
    assert_int_equal(f->rdp_clear, 0xED00);
    assert_non_null(f->protection);
    static const struct {
        uint8_t ps;
        const char *name;
    } cases[] = {
        {0xED, "Open"},       {0x17, "Provisioning"},  {0x2E, "iROT-Provisioned"},
        {0xC6, "TZ-Closed"},  {0x72, "Closed"},        {0x5C, "Locked"},
        {0x9A, "Regression"}, {0xA3, "NS-Regression"},
    };
    char buf[48], want[48];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* Other OPTSR bits around it (BOR_LEV, IWDG_SW, SWAP_BANK) do not
         * matter. */
        uint32_t optsr = 0x8030001Bu | (uint32_t)cases[i].ps << 8;
        f->protection(optsr, buf, sizeof buf);
        snprintf(want, sizeof want, "product state %s (0x%02X)", cases[i].name, cases[i].ps);
        assert_string_equal(buf, want);
        assert_int_equal((optsr & f->rdp_mask) != f->rdp_clear, cases[i].ps != 0xED);
    }
    f->protection(0x4200u, buf, sizeof buf);
    assert_string_equal(buf, "product state unknown (0x42)");
    /* The H503 reads the same way. */
    const fl_family *h503 = fl_chip_by_dev_id(0x474)->line->family;
    h503->protection(0xED00u, buf, sizeof buf);
    assert_string_equal(buf, "product state Open (0xED)");
    /* User options: reset and watchdog bits only, never the product
     * state, BOOT_UBE, SWAP_BANK or the I/O high-speed bits. */
    uint32_t never = 0xFF00u | 0x3FC00000u | 1u << 31 | 3u << 16;
    assert_int_equal(f->opt.user_mask & never, 0);
    assert_int_not_equal(f->opt.user_mask & (1u << 3), 0); /* IWDG_SW */
}

/* RM0481 7.11 FLASH_NSSR: the error flags, typed; INCERR is b20 (the
 * H7's b21); OBKERR/OBKWERR only where there are option-byte keys. */
static void h5_status_flags(void **state)
{
    (void)state;
    fl_target t = target_of(0x484, 2048 * 1024);
    const fl_family *f = t.chip->line->family;
    assert_int_equal(fl_sr_errors(f), 0x00FE0000); /* WRPERR..OPTCHANGEERR b17-b23 */
    assert_int_equal(f->sr_eop, 1u << 16);
    assert_int_equal(f->sr_clear, 0x30);
    char why[2000];
    assert_int_equal(fl_flags_describe(&t, 1u << 17, why, sizeof why), FL_E_PROTECTED);
    assert_non_null(strstr(why, "WRPERR"));
    assert_int_equal(fl_flags_describe(&t, (1u << 18) | (1u << 20), why, sizeof why), FL_E_FLASH);
    assert_non_null(strstr(why, "PGSERR"));
    assert_non_null(strstr(why, "INCERR"));
    assert_int_equal(fl_flags_describe(&t, 1u << 19, why, sizeof why), FL_E_FLASH);
    assert_non_null(strstr(why, "STRBERR"));
    assert_int_equal(fl_flags_describe(&t, 1u << 23, why, sizeof why), FL_E_PROTECTED);
    assert_non_null(strstr(why, "OPTCHANGEERR"));
    assert_int_equal(fl_flags_describe(&t, (1u << 21) | (1u << 22), why, sizeof why),
                     FL_E_PROTECTED);
    assert_non_null(strstr(why, "OBKERR"));
    assert_non_null(strstr(why, "OBKWERR"));
    assert_int_equal(
        fl_flags_describe(&t, (1u << 0) | (1u << 1) | (1u << 3) | (1u << 16), why, sizeof why),
        FL_OK);
    fl_target h503 = target_of(0x474, 128 * 1024);
    const fl_family *g = h503.chip->line->family;
    assert_int_equal(fl_sr_errors(g), 0x009E0000); /* no OBKERR, OBKWERR */
    assert_int_equal(fl_flags_describe(&h503, 1u << 20, why, sizeof why), FL_E_FLASH);
    assert_non_null(strstr(why, "INCERR"));
}

/* Every family: its flags clear where it says (SR itself unless it names
 * a clear register), errors apart from busy/EOP, a stub that fits. */
static void every_family_is_consistent(void **state)
{
    (void)state;
    for (size_t i = 0; fl_chip_at(i); i++) {
        fl_target t;
        memset(&t, 0, sizeof t);
        t.chip = fl_chip_at(i);
        const fl_family *f = t.chip->line->family;
        uint32_t want = fl_reg(&t, 0, f->sr_clear ? f->sr_clear : f->sr);
        assert_int_equal(fl_sr_clear_reg(&t, 0), want);
        assert_int_equal(fl_sr_errors(f) & (f->sr_busy | f->sr_eop), 0);
        assert_true(f->program_unit >= 2 && (f->program_unit & (f->program_unit - 1)) == 0);
        fl_stub stub;
        if (!fl_stub_find(f->stub, &stub))
            fail_msg("%s: no stub \"%s\"", f->name, f->stub);
        assert_true(stub.len <= FL_STUB_MAX);
    }
}

/* The control block stub_h7 gets from each H7 descriptor: the variant's
 * CR bits and flash word (loader_abi.h fl_loader_h7). H74x (RM0433):
 * PSIZE x64 b5:4 with PG and SER, FW b6, START b7, SNB b10:8, 32 bytes.
 * H7Ax/H7Bx (RM0455): no PSIZE, FW b4, START b5, SNB b12:6, 16 bytes. */
static fl_loader_ctl h7_ctl(uint16_t dev_id, uint32_t flash_size)
{
    fl_target t = target_of(dev_id, flash_size);
    const fl_family *f = t.chip->line->family;
    fl_loader_ctl ctl;
    memset(&ctl, 0, sizeof ctl);
    assert_non_null(f->loader_setup);
    f->loader_setup(&t, &ctl);
    return ctl;
}

static void h7ab_register_bits(void **state)
{
    (void)state;
    fl_loader_ctl h74 = h7_ctl(0x450, 2048 * 1024), ab = h7_ctl(0x480, 2048 * 1024);
    assert_int_equal(h74.h7.cr_program, (1u << 1) | (3u << 4));
    assert_int_equal(h74.h7.cr_erase, (1u << 2) | (3u << 4));
    assert_int_equal(h74.h7.cr_fw, 1u << 6);
    assert_int_equal(h74.h7.cr_start, 1u << 7);
    assert_int_equal(h74.h7.snb_shift, 8);
    assert_int_equal(h74.h7.snb_mask, 0x7);
    assert_int_equal(h74.h7.word, 32);
    assert_int_equal(ab.h7.cr_program, 1u << 1); /* PG alone */
    assert_int_equal(ab.h7.cr_erase, 1u << 2);   /* SER alone */
    assert_int_equal(ab.h7.cr_fw, 1u << 4);
    assert_int_equal(ab.h7.cr_start, 1u << 5);
    assert_int_equal(ab.h7.snb_shift, 6);
    assert_int_equal(ab.h7.snb_mask, 0x7F);
    assert_int_equal(ab.h7.word, 16);
    /* SNB b12:6 holds every sector of a bank and nothing above it. */
    assert_int_equal(ab.h7.snb_mask << ab.h7.snb_shift, 0x1FC0);
    assert_int_equal((ab.h7.snb_mask << ab.h7.snb_shift) &
                         (ab.h7.cr_erase | ab.h7.cr_start | ab.h7.cr_fw | ab.h7.cr_program),
                     0);
    assert_int_equal((h74.h7.snb_mask << h74.h7.snb_shift) &
                         (h74.h7.cr_erase | h74.h7.cr_start | h74.h7.cr_fw | h74.h7.cr_program),
                     0);

    /* Same registers, flags, keys and options as the other H7s. */
    fl_target t = target_of(0x480, 2048 * 1024), h743 = target_of(0x450, 2048 * 1024);
    const fl_family *f = t.chip->line->family, *g = h743.chip->line->family;
    assert_int_equal(fl_reg_blocks(&t), 2);
    assert_int_equal(fl_reg(&t, 1, f->cr), 0x5200210C);
    assert_int_equal(fl_sr_clear_reg(&t, 1), 0x52002114);
    assert_int_equal(fl_bank_of(&t, 0x080FFFF0), 0);
    assert_int_equal(fl_bank_of(&t, 0x08100000), 1);
    assert_int_equal(fl_sr_errors(f), fl_sr_errors(g));
    assert_int_equal(f->sr_busy, g->sr_busy);
    assert_int_equal(f->rdp_off, g->rdp_off);
    assert_int_equal(f->opt.user_mask, g->opt.user_mask);
    assert_int_equal(f->program_unit, 16);
    assert_int_equal(f->cr_program, 1u << 1);
    assert_string_equal(f->stub, g->stub);
    assert_ptr_equal(f->mass_erase, g->mass_erase);
    assert_ptr_equal(f->prepare, g->prepare);
}

/* Sector codes per bank on the H7A/B: SNB 0-127 in each bank's own CR,
 * the bank from the address; what stub_h7 makes of the code fits SNB. */
static void h7ab_unit_codes(void **state)
{
    (void)state;
    fl_target t = target_of(0x480, 2048 * 1024);
    const fl_family *f = t.chip->line->family;
    fl_loader_ctl ctl = h7_ctl(0x480, 2048 * 1024);
    for (uint32_t i = 0; i < 256; i++) {
        fl_unit u;
        assert_true(fl_chip_unit(t.chip, t.flash_size, i, &u));
        uint32_t code = u.index_in_bank | u.bank << f->bank_code_shift;
        assert_int_equal(code & ctl.h7.snb_mask, i % 128);
        assert_int_equal(code >> f->bank_code_shift, i / 128);
        assert_int_equal(fl_bank_of(&t, u.addr), u.bank);
        assert_int_equal(u.addr % f->program_unit, 0);
        assert_int_equal(u.size % f->program_unit, 0);
    }
    /* The H7B0's 128 KiB: bank 1 only, 16 sectors. */
    fl_target b0 = target_of(0x480, 128 * 1024);
    assert_int_equal(fl_chip_unit_count(b0.chip, b0.flash_size), 16);
    fl_unit last;
    assert_true(fl_chip_unit(b0.chip, b0.flash_size, 15, &last));
    assert_int_equal(last.bank, 0);
    assert_int_equal(fl_bank_of(&b0, last.addr), 0);
}

/* Bank swap (FLASH_OPTCR.SWAP_BANK b31 in force, FLASH_OPTSR_CUR
 * .SWAP_BANK_OPT b31 for the next reset): refused, swapped or pending,
 * with what it means and what to do; the other bits do not matter. */
static void h7_swap_refusal(void **state)
{
    (void)state;
    assert_null(fl_h7_swap_refusal(0x00000001u, 0x1606AAF0u)); /* OPTLOCK, RDP 0 */
    assert_null(fl_h7_swap_refusal(0x7FFFFFFFu, 0x7FFFFFFFu));
    const char *now = fl_h7_swap_refusal(0x80000001u, 0x9606AAF0u);
    assert_non_null(now);
    assert_non_null(strstr(now, "swapped"));
    assert_non_null(strstr(now, "SWAP_BANK_OPT"));
    assert_non_null(strstr(now, "reset"));
    /* In force but being undone at the next reset: still swapped now. */
    assert_ptr_equal(fl_h7_swap_refusal(0x80000001u, 0x1606AAF0u), now);
    const char *next = fl_h7_swap_refusal(0x00000001u, 0x9606AAF0u);
    assert_non_null(next);
    assert_ptr_not_equal(next, now);
    assert_non_null(strstr(next, "pending"));
    assert_non_null(strstr(next, "0x08100000"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(h7_bank_registers),
        cmocka_unit_test(h7_unit_codes),
        cmocka_unit_test(h7_status_flags),
        cmocka_unit_test(h7_rdp_and_options),
        cmocka_unit_test(h7_program_unit_and_stub),
        cmocka_unit_test(h5_registers),
        cmocka_unit_test(h5_sector_codes),
        cmocka_unit_test(h5_product_states),
        cmocka_unit_test(h5_status_flags),
        cmocka_unit_test(h7ab_register_bits),
        cmocka_unit_test(h7ab_unit_codes),
        cmocka_unit_test(h7_swap_refusal),
        cmocka_unit_test(every_family_is_consistent),
    };
    return cmocka_run_group_tests_name("loaders.family", tests, NULL, NULL);
}
