/*
 * STM32F7 flash interface at 0x40023C00: the F2/F4 controller of
 * flash_f4.c with other data (RM0385 section 3 for F74x/F75x, RM0410
 * section 3 for F76x/F77x, RM0431 section 3 for F72x/F73x). The functions
 * are flash_f4.c's; this file holds what the F7 parts change.
 *
 * What differs from the F4 and how the data says it:
 *  - Organization (RM0385 3.3.1, RM0431 3.3.1): F74x/F75x 4 x 32 KiB,
 *    128 KiB, then 256 KiB sectors; F72x/F73x the F4 shape 4 x 16 KiB,
 *    64 KiB, 128 KiB. The part's flash size (its row) decides how many
 *    sectors exist.
 *  - F76x/F77x (RM0410 3.3.1, 3.4): option bit nDBANK (OPTCR b29, factory
 *    1) selects single bank (4 x 32 KiB, 128 KiB, 256 KiB sectors) or dual
 *    bank (per bank 4 x 16 KiB, 64 KiB, 128 KiB sectors; bank 2 from the
 *    middle of main flash, its sectors erased with SNB = 0x10 | n; MER b2
 *    erases bank 1, MER2 b15 bank 2). The organization in force is the one
 *    loaded with the option bytes at reset: programming nDBANK changes the
 *    option image and OPTCR, not the organization, until the next reset.
 *    In dual-bank mode one nWRP bit covers two sectors (bit i: sectors 2i
 *    and 2i + 1 of the 24) [U: from OpenOCD's stm32f2x.c, RM0410 table not
 *    read].
 *  - FLASH_CR.SNB is 4 bits (b6:3) on F74x/F75x and F72x/F73x, 5 bits
 *    (b7:3) on F76x/F77x. b7 is reserved on the former: a write of SNB =
 *    0x10 | n selects sector n there [U: an unimplemented bit reads 0; the
 *    stricter reading, as it erases a sector a host did not mean].
 *  - FLASH_SR b7 is ERSERR (erase sequence error) in the F4's PGSERR
 *    place with the same cause: a store while the control register is not
 *    set up for it (RM0385 3.7.4, "set by hardware when a write access to
 *    the flash memory is performed by the code while the control register
 *    has not been correctly configured"). b8 RDERR exists on the F72x only
 *    (PCROP, RM0431 3.7.4); PCROP is not modelled, so it never rises.
 *  - FLASH_ACR (RM0410 3.7.1): LATENCY b3:0, PRFTEN b8, ARTEN b9, ARTRST
 *    b11. ARTRST resets the ART accelerator and is only taken while ARTEN
 *    is 0 (RM0410 3.5.2: the ART must be disabled before it is reset).
 *  - FLASH_OPTCR (RM0385 3.7.7, RM0410 3.7.7): OPTLOCK b0, OPTSTRT b1,
 *    BOR_LEV b3:2, WWDG_SW b4, IWDG_SW b5, nRST_STOP b6, nRST_STDBY b7, RDP
 *    b15:8, nWRP b23:16 (F76x b27:16), nDBOOT b28 and nDBANK b29 (F76x),
 *    IWDG_STDBY b30, IWDG_STOP b31. Reset values 0xC0FFAAFD (F74x, F72x)
 *    and 0xFFFFAAFD (F76x). No SPRMOD: b31 is IWDG_STOP. RDP as on the F4:
 *    0xAA level 0, 0xCC level 2, else level 1; 1 -> 0 mass-erases.
 *  - FLASH_OPTCR1 (RM0385 3.7.8): BOOT_ADD0 b15:0, BOOT_ADD1 b31:16, reset
 *    value 0x00400080 (boot from 0x00200000, the ITCM alias of flash, and
 *    0x00100000, system memory). Stored and reloaded; the board does not
 *    boot from them (it boots from its alias at 0) [U].
 *  - Option image at 0x1FFF0000 (RM0385 3.4.1; fact sheet section 7, [U]
 *    layout): OPTCR b15:0 at +0, b31:16 at +8, OPTCR1 b15:0 at +0x10,
 *    b31:16 at +0x18, each half-word followed by its complement.
 *  - OTP: F74x/F76x 16 blocks of 64 bytes at 0x1FF0F000, lock bytes from
 *    0x1FF0F400 (32 bytes, the first 16 used [U]); F72x 16 blocks of 32
 *    bytes at 0x1FF07800, lock bytes at 0x1FF07A00 (CMSIS FLASH_OTP_BASE).
 *
 * Main flash is also read through the ITCM interface at 0x00200000: that
 * alias is the row's itcm_flash_base and the board's (board_bus.c).
 *
 * Timing [U]: DS10916 (F746), DS11532 (F767) and DS11853 (F722) were not
 * read. Word programming 16 us as on the F4. Sector erase: the F4's
 * DS10693 figures for the 16/64/128 KiB sectors (F72x, F76x dual bank);
 * for 32/128/256 KiB sectors typical values chosen in the same
 * proportions, x32: 300 ms, 1 s, 2 s (x8 500 ms, 2 s, 4 s; x16 350 ms,
 * 1.3 s, 2.6 s). A bank's mass erase is the sum of its sectors (x32:
 * 8.2 s for 1 MiB of 32/128/256 KiB sectors).
 */
#include "flash_f4.h"

/* 16/64/128 KiB sectors (DS10693 figures, see flash_f4.c), mass erase as
 * the sum of a bank's sectors. */
static const f4_erase_ms erase_small = {
    {400, 1200, 2000, 0},
    {300, 700, 1300, 0},
    {250, 550, 1000, 0},
    {250, 550, 1000, 0},
};

/* 32/128/256 KiB sectors [U, see the header]. */
static const f4_erase_ms erase_large = {
    {500, 2000, 4000, 0},
    {350, 1300, 2600, 0},
    {300, 1000, 2000, 0},
    {300, 1000, 2000, 0},
};

/* 4 x 16 KiB, 64 KiB, 7 x 128 KiB: F72x/F73x (8 used at 512 KiB), and each
 * bank of a dual-bank F76x/F77x. */
static const f4_sector sectors_16k[12] = {
    {0x00000, 0x4000, 0},  {0x04000, 0x4000, 0},  {0x08000, 0x4000, 0},  {0x0C000, 0x4000, 0},
    {0x10000, 0x10000, 1}, {0x20000, 0x20000, 2}, {0x40000, 0x20000, 2}, {0x60000, 0x20000, 2},
    {0x80000, 0x20000, 2}, {0xA0000, 0x20000, 2}, {0xC0000, 0x20000, 2}, {0xE0000, 0x20000, 2},
};

/* 4 x 32 KiB, 128 KiB, 7 x 256 KiB: F74x/F75x (8 used at 1 MiB) and a
 * single-bank F76x/F77x (12 at 2 MiB). */
static const f4_sector sectors_32k[12] = {
    {0x000000, 0x8000, 0},  {0x008000, 0x8000, 0},  {0x010000, 0x8000, 0},  {0x018000, 0x8000, 0},
    {0x020000, 0x20000, 1}, {0x040000, 0x40000, 2}, {0x080000, 0x40000, 2}, {0x0C0000, 0x40000, 2},
    {0x100000, 0x40000, 2}, {0x140000, 0x40000, 2}, {0x180000, 0x40000, 2}, {0x1C0000, 0x40000, 2},
};

static const f4_layout single_32k = {
    .sectors = sectors_32k,
    .max_sectors = 12,
    .erase = &erase_large,
};

static const f4_layout single_16k = {
    .sectors = sectors_16k,
    .max_sectors = 12,
    .erase = &erase_small,
};

static const f4_layout dual_16k = {
    .sectors = sectors_16k,
    .max_sectors = 12,
    .dual = true,
    .wrp_shift = 1,
    .erase = &erase_small,
};

#define ACR_LATENCY 0x0Fu
#define ACR_PRFTEN  (1u << 8)
#define ACR_ARTEN   (1u << 9)
#define ACR_ARTRST  (1u << 11)

/* What all three share: ACR and the ART rule, OPTCR1 as boot addresses,
 * the option image. */
#define F7_COMMON                                                                                  \
    .acr_rw = ACR_LATENCY | ACR_PRFTEN | ACR_ARTEN | ACR_ARTRST,                                   \
    .art = {.rst = ACR_ARTRST, .en = ACR_ARTEN}, .optcr1_rw = 0xFFFFFFFFu,                         \
    .optcr1_factory = 0x00400080u, .opt_base = 0x1FFF0000u, .opt1_lo = 0x1FFF0010u,                \
    .opt1_hi = 0x1FFF0018u

/* F74x/F75x (RM0385). */
const f4_variant f4_var_f74x = {
    .layout = {&single_32k},
    .cr_snb = 0xFu << 3,
    .optcr_rw = 0xC0FFFFFCu,
    .optcr_factory = 0xC0FFAAFDu,
    F7_COMMON,
    .otp_base = 0x1FF0F000u,
    .otp_lock = 0x1FF0F400u,
    .otp_end = 0x1FF0F420u,
    .otp_block = 64,
};

/* F76x/F77x (RM0410): layout[0] with nDBANK = 0, layout[1] with 1. */
const f4_variant f4_var_f76x = {
    .layout = {&dual_16k, &single_32k},
    .optcr_ndbank = 1u << 29,
    .cr_snb = 0x1Fu << 3,
    .cr_mer2 = 1u << 15,
    .optcr_rw = 0xFFFFFFFCu,
    .optcr_factory = 0xFFFFAAFDu,
    F7_COMMON,
    .otp_base = 0x1FF0F000u,
    .otp_lock = 0x1FF0F400u,
    .otp_end = 0x1FF0F420u,
    .otp_block = 64,
};

/* F72x/F73x (RM0431). OPTCR2 (PCROP, 0x1C) is not modelled: it reads 0. */
const f4_variant f4_var_f72x = {
    .layout = {&single_16k},
    .cr_snb = 0xFu << 3,
    .optcr_rw = 0xC0FFFFFCu,
    .optcr_factory = 0xC0FFAAFDu,
    F7_COMMON,
    .otp_base = 0x1FF07800u,
    .otp_lock = 0x1FF07A00u,
    .otp_end = 0x1FF07A10u,
    .otp_block = 32,
};
