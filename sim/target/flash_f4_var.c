/*
 * The F2 and F4 variants of the F2/F4/F7 flash interface model
 * (flash_f4.c holds the functions, flash_f7.c the F7 variants; the
 * structure is flash_f4.h's). Each variant names its sector layout, its
 * FLASH_CR.SNB width, its FLASH_ACR and FLASH_OPTCR bits, its option
 * image and OTP. A part has the sectors of its layout that fit its flash
 * size (the row's), so one variant serves every size of a die.
 *
 * Timing: DS10693 (STM32F446xC/E datasheet), table "Flash memory
 * programming": sector erase 16 KiB 400/300/250 ms, 64 KiB 1200/700/550
 * ms, 128 KiB 2/1.3/1 s and mass erase 8/5.5/4 s for x8/x16/x32 (the
 * F411's DS10314 Table 45 has the same x32 figures); x64 (external VPP) is
 * given the x32 figures [U]. The other F2/F4 datasheets' figures were not
 * read: their layouts use the F446's sector figures and a bank's mass
 * erase is the sum of its sectors [U].
 */
#include "flash_f4.h"

/* DS10693 "Flash memory programming" (see the header comment): 16 KiB,
 * 64 KiB, 128 KiB sector and mass. */
static const f4_erase_ms ds10693 = {
    {400, 1200, 2000, 8000},
    {300, 700, 1300, 5500},
    {250, 550, 1000, 4000},
    {250, 550, 1000, 4000},
};
/* The same sector figures without a bank figure. */
static const f4_erase_ms ds10693_sectors = {
    {400, 1200, 2000, 0},
    {300, 700, 1300, 0},
    {250, 550, 1000, 0},
    {250, 550, 1000, 0},
};

/* The sectors of one bank: 4 x 16 KiB, 64 KiB, then 128 KiB ones (RM0390
 * 3.3: the F446's 8; RM0090 3.3: 12 per bank on the 2 MiB F42x/F43x; 16
 * on the 1.5 MiB F413/F423, fact sheet 3.5). */
static const f4_sector sectors_128k[16] = {
    {0x00000, 0x4000, 0},   {0x04000, 0x4000, 0},   {0x08000, 0x4000, 0},   {0x0C000, 0x4000, 0},
    {0x10000, 0x10000, 1},  {0x20000, 0x20000, 2},  {0x40000, 0x20000, 2},  {0x60000, 0x20000, 2},
    {0x80000, 0x20000, 2},  {0xA0000, 0x20000, 2},  {0xC0000, 0x20000, 2},  {0xE0000, 0x20000, 2},
    {0x100000, 0x20000, 2}, {0x120000, 0x20000, 2}, {0x140000, 0x20000, 2}, {0x160000, 0x20000, 2},
};

static const f4_layout f4_single = {
    .sectors = sectors_128k,
    .max_sectors = 12,
    .erase = &ds10693,
};

/* F42x/F43x with 2 MiB: two banks of 12 sectors. The F446's sector figures
 * [U: the F42x/F43x datasheet's were not read]; a bank's mass erase is the
 * sum of its sectors. */
static const f4_layout f42x_dual_layout = {
    .sectors = sectors_128k,
    .max_sectors = 12,
    .dual = true,
    .erase = &ds10693_sectors,
};

/* The F446's sector figures without its mass-erase figure: a bank's mass
 * erase is the sum of its sectors [U: the F2/F40x/F412/F42x datasheets'
 * figures were not read]. */
static const f4_layout f4_single_sum = {
    .sectors = sectors_128k,
    .max_sectors = 12,
    .erase = &ds10693_sectors,
};

/* F4 option image, user configuration sector (RM0090 Table 15), and OTP:
 * 16 blocks of 32 bytes, then 16 lock bytes (RM0090 3.8). */
#define F4_OPT_OTP                                                                                 \
    .opt_base = 0x1FFFC000u, .otp_base = 0x1FFF7800u, .otp_lock = 0x1FFF7A00u,                     \
    .otp_end = 0x1FFF7A10u, .otp_block = 32

/* F446 (RM0390 3.3, 3.8): 512 KiB in 8 sectors, one bank. SNB b7:3 (RM0390:
 * b6:3; CMSIS, RM0090: b7:3). ACR: LATENCY b3:0, PRFTEN, ICEN, DCEN, ICRST,
 * DCRST (ICRST/DCRST only act while the cache is off; nothing to model).
 * OPTCR: BOR_LEV, WDG_SW, nRST_STOP, nRST_STDBY, RDP, nWRP b23:16, SPRMOD
 * b31 (b4 and b30:24 reserved); RM0390 FLASH_OPTCR reset value 0x0FFFAAED:
 * level 0, no sector protected, BOR off, software watchdog, no reset on
 * Stop/Standby. */
const f4_variant f4_var_f446 = {
    .layout = {&f4_single},
    .cr_snb = 0x1Fu << 3,
    .acr_rw = 0x1F0Fu,
    .optcr_rw = 0x80FFFFECu,
    .optcr_factory = 0x0FFFAAEDu,
    .optcr_sprmod = 1u << 31,
    F4_OPT_OTP,
};

/* F42x/F43x with 2 MiB (RM0090 3.3, 3.9): two banks of 12 sectors from
 * 0x08000000 and 0x08100000, MER1 b15. OPTCR adds BFB2 b4, nWRP b27:16
 * and DB1M b30; OPTCR1 (reset value 0x0FFF0000) holds bank 2's nWRP
 * b27:16, its image at 0x1FFEC008. */
const f4_variant f4_var_f42x_dual = {
    .layout = {&f42x_dual_layout},
    .cr_snb = 0x1Fu << 3,
    .cr_mer2 = 1u << 15,
    .acr_rw = 0x1F0Fu,
    .optcr_rw = 0xCFFFFFFCu,
    .optcr_factory = 0x0FFFAAEDu,
    .optcr_sprmod = 1u << 31,
    .optcr1_rw = 0x0FFF0000u,
    .optcr1_factory = 0x0FFF0000u,
    .opt1_hi = 0x1FFEC008u,
    .optcr1_nwrp = true,
    F4_OPT_OTP,
};

/* F205/F207/F215/F217 (RM0033 2.3.3, 2.3.7) and F405/F407/F415/F417
 * (RM0090 3.3, 3.9.10): up to 12 sectors in one bank; OPTCR BOR_LEV,
 * WDG_SW, nRST_STOP, nRST_STDBY, RDP, nWRP b27:16, no PCROP (b31:28
 * reserved) [fact sheet 4.2]; reset value 0x0FFFAAED. */
const f4_variant f4_var_f2 = {
    .layout = {&f4_single_sum},
    .cr_snb = 0x1Fu << 3,
    .acr_rw = 0x1F0Fu,
    .optcr_rw = 0x0FFFFFECu,
    .optcr_factory = 0x0FFFAAEDu,
    F4_OPT_OTP,
};

/* F412 (RM0402 3.3, 3.8): 12 sectors, OPTCR with nWRP b27:16 and SPRMOD
 * b31 [fact sheet 4.2]. */
const f4_variant f4_var_f412 = {
    .layout = {&f4_single_sum},
    .cr_snb = 0x1Fu << 3,
    .acr_rw = 0x1F0Fu,
    .optcr_rw = 0x8FFFFFECu,
    .optcr_factory = 0x0FFFAAEDu,
    .optcr_sprmod = 1u << 31,
    F4_OPT_OTP,
};

/* F42x/F43x and F469/F479 with 512 KiB or 1 MiB (RM0090 3.3 Table 5): one
 * bank of up to 12 sectors; OPTCR as the dual-bank parts' (BFB2, nWRP
 * b27:16, DB1M, SPRMOD). DB1M's two-bank layout of the 1 MiB parts is
 * not modelled: set, it changes nothing [U]. */
const f4_variant f4_var_f42x = {
    .layout = {&f4_single_sum},
    .cr_snb = 0x1Fu << 3,
    .acr_rw = 0x1F0Fu,
    .optcr_rw = 0xCFFFFFFCu,
    .optcr_factory = 0x0FFFAAEDu,
    .optcr_sprmod = 1u << 31,
    F4_OPT_OTP,
};

/* F413/F423 (0x463; fact sheet 3.5, 4.2): one bank of up to 16 sectors
 * (4 x 16 KiB, 64 KiB, 11 x 128 KiB at 1.5 MiB; 0-11 on the 1 MiB xG).
 * FLASH_CR.SNB is 4 bits, b6:3 (CMSIS F413 header mask 0x0F): b7 is not
 * implemented and a write of SNB = 0x10 | n selects sector n [U: the
 * stricter reading, as for the F74x]. OPTCR: BOR_LEV b3:2, WDG_SW b5,
 * nRST_STOP b6, nRST_STDBY b7, RDP b15:8, nWRP b30:16 (15 bits: sectors
 * 14 and 15 share nWRP14, CMSIS FLASH_OPTCR_nWRP_14 = FLASH_OPTCR_nWRP_15),
 * SPRMOD b31 (the F413 has PCROP and RDERR, fact sheet 4.2; RM0430 not
 * read [U]); reset value 0x7FFFAAED [U: RM0430 FLASH_OPTCR not read; all
 * 15 nWRP bits 1, the F4 user bits]. ACR LATENCY b2:0 (fact sheet 4.2).
 * Erase figures: the F446's, a mass erase the sum of the sectors [U]. */
static const f4_layout f413_layout = {
    .sectors = sectors_128k,
    .max_sectors = 16,
    .wrp_last = 14,
    .erase = &ds10693_sectors,
};

const f4_variant f4_var_f413 = {
    .layout = {&f413_layout},
    .cr_snb = 0xFu << 3,
    .acr_rw = 0x1F07u,
    .optcr_rw = 0xFFFFFFECu,
    .optcr_factory = 0x7FFFAAEDu,
    .optcr_sprmod = 1u << 31,
    F4_OPT_OTP,
};
