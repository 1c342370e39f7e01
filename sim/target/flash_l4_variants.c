/*
 * The variants of the L4-generation flash controller (flash_l4.c) as data:
 * register bits that moved, bank layouts, option registers and their
 * factory values, timings. Bit positions and field widths are from the
 * CMSIS device headers named at each block (FLASH_CR_PNB_Msk,
 * FLASH_WRP1AR_WRP1A_STRT_Msk, FLASH_SR_*_Pos, FLASH_ACR_*_Pos,
 * FLASH_OPTR_*_Pos); factory option values are [U] unless a manual is
 * named (they are what public tools write back as "defaults"). Timings:
 * DS10198 Table 63 for the L476; the other families' datasheet tables were
 * not read and reuse those figures [U] (G0: 85 us per double word, from a
 * driver quoting the G030 datasheet [U]).
 */
#include "flash_l4.h"

#define B(n) (1u << (n))

/* DS10198 Table 63 typical values. */
#define L4_TIMES .t_dw_ns = 81690, .t_row_ns = 1910000, .t_page_ns = 22020000, .t_mass_ns = 22130000

/* ACR of the L4/L4+/G4: LATENCY, PRFTEN b8, ICEN b9, DCEN b10, ICRST b11,
 * DCRST b12, RUN_PD b13 (behind PDKEYR), SLEEP_PD b14; reset ICEN|DCEN. */
#define L4_ACR                                                                                     \
    .acr_writable = 0x7F07u, .acr_reset = 0x600u, .acr_run_pd = B(13), .pdkeyr = true,             \
    .latency_mask = 7

/* ---- STM32L476/L486 (0x415) and L496/L4A6 (0x461): two banks of 2 KiB pages
 * (stm32l476xx.h, stm32l496xx.h) -------------------------------------------- */

static const l4_opt l476_opt[] = {
    /* RDP 0xAA, BOR_LEV 0, nRST_* 1, IWDG/WWDG software, DUALBANK 1, BFB2 0,
     * nBOOT1 1, SRAM2 parity off, SRAM2 erased on reset: 0xFFEFF8AA. */
    {0x20, 0x1FFF7800u, 0x0FBF77FFu, 0xFFEFF8AAu},
    {0x24, 0x1FFF7808u, 0x0000FFFFu, 0xFFFFFFFFu}, /* PCROP1SR */
    {0x28, 0x1FFF7810u, 0x8000FFFFu, 0x7FFF0000u}, /* PCROP1ER */
    /* WRP area: STRT b7:0 > END b23:16 means no protection. */
    {0x2C, 0x1FFF7818u, 0x00FF00FFu, 0xFF00FFFFu}, /* WRP1AR */
    {0x30, 0x1FFF7820u, 0x00FF00FFu, 0xFF00FFFFu}, /* WRP1BR */
    {0x44, 0x1FFFF808u, 0x0000FFFFu, 0xFFFFFFFFu}, /* PCROP2SR */
    {0x48, 0x1FFFF810u, 0x0000FFFFu, 0xFFFF0000u}, /* PCROP2ER */
    {0x4C, 0x1FFFF818u, 0x00FF00FFu, 0xFF00FFFFu}, /* WRP2AR */
    {0x50, 0x1FFFF820u, 0x00FF00FFu, 0xFF00FFFFu}, /* WRP2BR */
};

static const l4_variant l476 = {
    .pnb_width = 8,
    .bker = B(11),
    .mer2 = B(15),
    .banks = 2,
    L4_ACR,
    .row_dw = 32, /* HAL FLASH_NB_DOUBLE_WORDS_IN_ROW */
    .opt = l476_opt,
    .nopt = 9,
    .otp_base = 0x1FFF7000u,
    L4_TIMES,
};

const flash_ctrl_ops sim_flash_l4 = L4_OPS(&l476);

/* ---- STM32L41x/L42x (0x464), L43x/L44x (0x435), L45x/L46x (0x462): one
 * bank of 2 KiB pages; PNB and the WRP fields are 6, 7 and 8 bits wide
 * (stm32l412xx.h, stm32l431xx.h, stm32l452xx.h). OPTR as the L476 without
 * BFB2/DUALBANK (RM0394 3.7.8). ------------------------------------------ */

#define L4S_OPT(wrp)                                                                               \
    {                                                                                              \
        {0x20, 0x1FFF7800u, 0x0F8F77FFu, 0xFFEFF8AAu},                                             \
            {0x24, 0x1FFF7808u, 0x0000FFFFu, 0xFFFFFFFFu},                                         \
            {0x28, 0x1FFF7810u, 0x8000FFFFu, 0x7FFF0000u},                                         \
            {0x2C, 0x1FFF7818u, (wrp) << 16 | (wrp), 0xFF00FFFFu},                                 \
            {0x30, 0x1FFF7820u, (wrp) << 16 | (wrp), 0xFF00FFFFu},                                 \
    }

static const l4_opt l41x_opt[] = L4S_OPT(0x3Fu);
static const l4_opt l43x_opt[] = L4S_OPT(0x7Fu);
static const l4_opt l45x_opt[] = L4S_OPT(0xFFu);

/* SR.PEMPTY b17 on these dies (stm32l412xx.h, stm32l431xx.h, stm32l452xx.h
 * FLASH_SR_PEMPTY; not on the L47x/L49x). */
#define L4S_VARIANT(pnb, o)                                                                        \
    {                                                                                              \
        .pnb_width = (pnb), .banks = 1, L4_ACR, .sr_pempty = B(17), .row_dw = 32, .opt = (o),      \
        .nopt = 5, .otp_base = 0x1FFF7000u, L4_TIMES,                                              \
    }

static const l4_variant l41x = L4S_VARIANT(6, l41x_opt);
static const l4_variant l43x = L4S_VARIANT(7, l43x_opt);
static const l4_variant l45x = L4S_VARIANT(8, l45x_opt);

const flash_ctrl_ops sim_flash_l41x = L4_OPS(&l41x);
const flash_ctrl_ops sim_flash_l43x = L4_OPS(&l43x);
const flash_ctrl_ops sim_flash_l45x = L4_OPS(&l45x);

/* ---- STM32G0 (RM0444 chapter 3; stm32g031xx.h, stm32g071xx.h,
 * stm32g0b1xx.h): no PDKEYR, ACR.PROGEMPTY b16, SR.BSY1 b16, CFGBSY b18,
 * PNB b12:3 on every part, WRP fields 5 bits (G03x-G06x), 6 bits (G07x/
 * G08x), 7 bits (G0Bx/G0Cx). OPTR: RDP, BOR_EN b8, BORR_LEV b10:9,
 * BORF_LEV b12:11, nRST_STOP/STDBY/SHDW b15:13, IWDG_SW/STOP/STDBY b18:16,
 * WWDG_SW b19, RAM_PARITY_CHECK b22, nBOOT_SEL b24, nBOOT1 b25, nBOOT0 b26,
 * NRST_MODE b28:27, IRHEN b29; G0B adds nSWAP_BANK b20, DUAL_BANK b21. --- */

/* ACR: LATENCY b2:0, PRFTEN b8, ICEN b9, ICRST b11, DBG_SWEN b18; reset
 * ICEN | DBG_SWEN [U: reset value]. */
#define G0_ACR .acr_writable = 0x40B07u, .acr_reset = 0x40200u, .latency_mask = 7

#define G0_OPT(wrp, optr_rw)                                                                       \
    {                                                                                              \
        {0x20, 0x1FFF7800u, (optr_rw), 0xFFFFFEAAu},                                               \
            {0x24, 0x1FFF7808u, 0x000001FFu, 0xFFFFFFFFu}, /* PCROP1ASR */                         \
            {0x28, 0x1FFF7810u, 0x800001FFu, 0x7FFF0000u}, /* PCROP1AER */                         \
            {0x2C, 0x1FFF7818u, (wrp) << 16 | (wrp), 0xFF00FFFFu},                                 \
            {0x30, 0x1FFF7820u, (wrp) << 16 | (wrp), 0xFF00FFFFu},                                 \
            {0x34, 0x1FFF7828u, 0x000001FFu, 0xFFFFFFFFu}, /* PCROP1BSR */                         \
            {0x38, 0x1FFF7830u, 0x000001FFu, 0xFFFF0000u}, /* PCROP1BER */                         \
    }

static const l4_opt g0_opt5[] = G0_OPT(0x1Fu, 0x3F4FFFFFu);
static const l4_opt g0_opt6[] = G0_OPT(0x3Fu, 0x3F4FFFFFu);

/* G0 timings: 64-bit programming 85 us, page erase 22 ms [U: a driver
 * quoting the G030 datasheet]; fast row and mass erase as the L4 [U]. */
#define G0_TIMES .t_dw_ns = 85000, .t_row_ns = 1910000, .t_page_ns = 22000000, .t_mass_ns = 22130000

#define G0_VARIANT(o)                                                                              \
    {                                                                                              \
        .pnb_width = 10, .banks = 1, .cfgbsy = B(18), G0_ACR, .acr_empty = B(16), .row_dw = 32,    \
        .opt = (o), .nopt = 7, .otp_base = 0x1FFF7000u, G0_TIMES,                                  \
    }

static const l4_variant g0_small = G0_VARIANT(g0_opt5);
static const l4_variant g07x = G0_VARIANT(g0_opt6);

const flash_ctrl_ops sim_flash_g0 = L4_OPS(&g0_small);
const flash_ctrl_ops sim_flash_g07x = L4_OPS(&g07x);

/* ---- STM32G4 (RM0440 chapter 5; stm32g431xx.h, stm32g474xx.h,
 * stm32g491xx.h): the L4 register set with LATENCY b3:0 and DBG_SWEN b18 in
 * ACR, no CFGBSY and no EMPTY bit; cat 2 PNB/WRP 6 bits, cat 3 7 bits with
 * BKER b11, MER2 b15 and OPTR.DBANK b22 (1: two banks of 2 KiB pages, bank
 * 2 at 0x08040000; 0: one bank of 4 KiB pages), cat 4 PNB 8 bits, WRP 7
 * bits [U: as the header gives]. Fast programming rows of 64 double words
 * (RM0440 3.3.7). With DBANK 0, MER1 or MER2 alone is a PGSERR (RM0440
 * 3.3.6). OPTR: RDP, BOR_LEV b10:8, nRST_* b14:12,
 * IWDG_* b18:16, WWDG_SW b19, BFB2 b20 and DBANK b22 (cat 3), nBOOT1 b23,
 * SRAM_PE b24, CCMSRAM_RST b25, nSWBOOT0 b26, nBOOT0 b27, NRST_MODE
 * b29:28, IRHEN b30. -------------------------------------------------------- */

/* ACR reset: 1 wait state (RM0440 3.3.3), ICEN, DCEN, DBG_SWEN [U]. */
#define G4_ACR                                                                                     \
    .acr_writable = 0x47F0Fu, .acr_reset = 0x40601u, .acr_run_pd = B(13), .pdkeyr = true,          \
    .latency_mask = 0xF

#define G4_OPT(wrp, optr_rw)                                                                       \
    {0x20, 0x1FFF7800u, (optr_rw), 0xFFEFF8AAu}, {0x24, 0x1FFF7808u, 0x0000FFFFu, 0xFFFFFFFFu},    \
        {0x28, 0x1FFF7810u, 0x8000FFFFu, 0x7FFF0000u},                                             \
        {0x2C, 0x1FFF7818u, (wrp) << 16 | (wrp), 0xFF00FFFFu},                                     \
    {                                                                                              \
        0x30, 0x1FFF7820u, (wrp) << 16 | (wrp), 0xFF00FFFFu                                        \
    }

static const l4_opt g4c2_opt[] = {G4_OPT(0x3Fu, 0x7F8F77FFu)};
static const l4_opt g4c4_opt[] = {G4_OPT(0x7Fu, 0x7F8F77FFu)};
static const l4_opt g4c3_opt[] = {
    G4_OPT(0x7Fu, 0x7FDF77FFu),
    {0x44, 0x1FFFF808u, 0x0000FFFFu, 0xFFFFFFFFu}, /* PCROP2SR */
    {0x48, 0x1FFFF810u, 0x0000FFFFu, 0xFFFF0000u}, /* PCROP2ER */
    {0x4C, 0x1FFFF818u, 0x007F007Fu, 0xFF00FFFFu}, /* WRP2AR */
    {0x50, 0x1FFFF820u, 0x007F007Fu, 0xFF00FFFFu}, /* WRP2BR */
};

static const l4_variant g4c2 = {
    .pnb_width = 6,
    .banks = 1,
    G4_ACR,
    .row_dw = 32,
    .opt = g4c2_opt,
    .nopt = 5,
    .otp_base = 0x1FFF7000u,
    L4_TIMES,
};
static const l4_variant g4c4 = {
    .pnb_width = 8,
    .banks = 1,
    G4_ACR,
    .row_dw = 32,
    .opt = g4c4_opt,
    .nopt = 5,
    .otp_base = 0x1FFF7000u,
    L4_TIMES,
};
static const l4_variant g4c3 = {
    .pnb_width = 7,
    .bker = B(11),
    .mer2 = B(15),
    .dbank = B(22),
    .single_page_x2 = true,
    .bank2_off = 0x40000,
    .single_mer_both = true,
    G4_ACR,
    .row_dw = 64,
    .opt = g4c3_opt,
    .nopt = 9,
    .otp_base = 0x1FFF7000u,
    L4_TIMES,
};

const flash_ctrl_ops sim_flash_g4c2 = L4_OPS(&g4c2);
const flash_ctrl_ops sim_flash_g4c3 = L4_OPS(&g4c3);
const flash_ctrl_ops sim_flash_g4c4 = L4_OPS(&g4c4);

/* ---- STM32WB (RM0434 chapter 3; stm32wb55xx.h) and STM32WL (RM0453
 * chapter 3; stm32wl55xx.h): FLASH at 0x58004000; ACR PES b15, EMPTY b16,
 * no PDKEYR; SR OPTNV b13, CFGBSY b18, PESD b19; CPU2 registers C2ACR
 * 0x5C, C2SR 0x60, C2CR 0x64; SFR 0x80 (SFSA b7:0 on WB, b6:0 on WL; FSD,
 * DDS), SRRVR 0x84. WB55: 4 KiB pages, PNB 8 bits, fast row 64 double
 * words (HAL FLASH_NB_DOUBLE_WORDS_IN_ROW); WL: 2 KiB pages, PNB 7 bits,
 * 32 double words. Options image at 0x1FFF8000 (WB) / 0x1FFF7800 (WL). --- */

#define WBL_ACR                                                                                    \
    .acr_writable = 0x9F07u, .acr_reset = 0x600u, .latency_mask = 7, .acr_empty = B(16),           \
    .acr_pes = B(15)

/* WB OPTR: RDP, ESE b8 (read only), BOR_LEV b11:9, nRST_* b14:12, IWDG_*
 * b18:16, WWDG_SW b19, nBOOT1 b23, SRAM2PE b24, SRAM2RST b25, nSWBOOT0 b26,
 * nBOOT0 b27, AGC_TRIM b31:29. Factory SFR: SFSA 0xF4 (the wireless stack
 * and FUS at the top of a WB55xG's 1 MiB) with DDS [U: depends on the
 * firmware ST ships]. SFR/SRRVR are CPU2's: not writable here [U]. */
static const l4_opt wb_opt[] = {
    {0x20, 0x1FFF8000u, 0xEF8F7EFFu, 0x2D8F71AAu},
    {0x24, 0x1FFF8008u, 0x000001FFu, 0xFFFFFFFFu},
    {0x28, 0x1FFF8010u, 0x800001FFu, 0x7FFF0000u},
    {0x2C, 0x1FFF8018u, 0x00FF00FFu, 0xFF00FFFFu},
    {0x30, 0x1FFF8020u, 0x00FF00FFu, 0xFF00FFFFu},
    {0x34, 0x1FFF8028u, 0x000001FFu, 0xFFFFFFFFu},
    {0x38, 0x1FFF8030u, 0x000001FFu, 0xFFFF0000u},
    {0x3C, 0x1FFF8038u, 0x00003FFFu, 0xFFFFFFFFu}, /* IPCCBR */
    {0x80, 0x1FFF8070u, 0x00000000u, 0x000010F4u}, /* SFR */
    {0x84, 0x1FFF8078u, 0x00000000u, 0x0000FFFFu}, /* SRRVR */
};

static const l4_variant wb = {
    .pnb_width = 8,
    .banks = 1,
    .cfgbsy = B(18),
    .pesd = B(19),
    WBL_ACR,
    .row_dw = 64,
    .opt = wb_opt,
    .nopt = 10,
    .otp_base = 0x1FFF7000u,
    .sfr_off = 0x80,
    .sfsa_mask = 0xFF,
    .optverr_always = true,
    .c2regs = true,
    L4_TIMES,
};

/* WL OPTR: RDP, ESE b8 (read only), BOR_LEV b11:9, nRST_* b14:12, IWDG_*
 * b18:16, WWDG_SW b19, nBOOT1 b23, SRAM2_PE b24, SRAM_RST b25, nSWBOOT0 b26,
 * nBOOT0 b27, BOOT_LOCK b30, C2BOOT_LOCK b31; shipped with security off
 * (ESE 0). */
static const l4_opt wl_opt[] = {
    {0x20, 0x1FFF7800u, 0xCF8F7EFFu, 0x3FEFF0AAu}, {0x24, 0x1FFF7808u, 0x000000FFu, 0xFFFFFFFFu},
    {0x28, 0x1FFF7810u, 0x800000FFu, 0x7FFF0000u}, {0x2C, 0x1FFF7818u, 0x007F007Fu, 0xFF00FFFFu},
    {0x30, 0x1FFF7820u, 0x007F007Fu, 0xFF00FFFFu}, {0x34, 0x1FFF7828u, 0x000000FFu, 0xFFFFFFFFu},
    {0x38, 0x1FFF7830u, 0x000000FFu, 0xFFFF0000u}, {0x3C, 0x1FFF7838u, 0x00003FFFu, 0xFFFFFFFFu},
    {0x80, 0x1FFF7870u, 0x00000000u, 0x0000107Fu}, {0x84, 0x1FFF7878u, 0x00000000u, 0x0000FFFFu},
};

static const l4_variant wl = {
    .pnb_width = 7,
    .banks = 1,
    .cfgbsy = B(18),
    .pesd = B(19),
    WBL_ACR,
    .row_dw = 32,
    .opt = wl_opt,
    .nopt = 10,
    .otp_base = 0x1FFF7000u,
    .sfr_off = 0x80,
    .sfsa_mask = 0x7F,
    .c2regs = true,
    L4_TIMES,
};

const flash_ctrl_ops sim_flash_wb = L4_OPS(&wb);
const flash_ctrl_ops sim_flash_wl = L4_OPS(&wl);

/* ---- STM32G0B0/G0B1/G0C1 (0x467; RM0444 3.3.1, 3.7.4-3.7.5;
 * stm32g0b1xx.h): the G0 controller with a second bank. CR.BKER b13
 * selects the bank of a page erase (PNB counted within the bank, as
 * HAL-G0 FLASH_PageErase and OpenOCD do; RM0444 Rev 5's 256-based bank-2
 * numbering is not accepted [U]), MER2 b15 erases bank 2, SR.BSY2 b17
 * shows an operation in bank 2. OPTR.DUAL_BANK b21 (as loaded) gives two
 * banks of half the flash each, bank 2 from the middle; shipped with
 * DUAL_BANK and nSWAP_BANK set [U: factory value]; nSWAP_BANK (b20) is
 * stored, the swap itself not modelled. WRP fields 7 bits; bank 2's
 * WRP2AR/WRP2BR (0x4C/0x50) at [U] image addresses; PCROP2x not
 * modelled. ---------------------------------------------------------------- */

static const l4_opt g0b_opt[] = {
    {0x20, 0x1FFF7800u, 0x3F7FFFFFu, 0xFFFFFEAAu},
    {0x24, 0x1FFF7808u, 0x000001FFu, 0xFFFFFFFFu}, /* PCROP1ASR */
    {0x28, 0x1FFF7810u, 0x800001FFu, 0x7FFF0000u}, /* PCROP1AER */
    {0x2C, 0x1FFF7818u, 0x007F007Fu, 0xFF00FFFFu}, /* WRP1AR */
    {0x30, 0x1FFF7820u, 0x007F007Fu, 0xFF00FFFFu}, /* WRP1BR */
    {0x34, 0x1FFF7828u, 0x000001FFu, 0xFFFFFFFFu}, /* PCROP1BSR */
    {0x38, 0x1FFF7830u, 0x000001FFu, 0xFFFF0000u}, /* PCROP1BER */
    {0x4C, 0x1FFF7858u, 0x007F007Fu, 0xFF00FFFFu}, /* WRP2AR [U: image address] */
    {0x50, 0x1FFF7860u, 0x007F007Fu, 0xFF00FFFFu}, /* WRP2BR [U: image address] */
};

static const l4_variant g0b = {
    .pnb_width = 10,
    .bker = B(13),
    .mer2 = B(15),
    .dbank = B(21),
    .bsy2 = B(17),
    .cfgbsy = B(18),
    G0_ACR,
    .acr_empty = B(16),
    .row_dw = 32,
    .opt = g0b_opt,
    .nopt = 9,
    .otp_base = 0x1FFF7000u,
    G0_TIMES,
};

const flash_ctrl_ops sim_flash_g0b = L4_OPS(&g0b);

/* ---- STM32C0 (RM0490 Rev 5 chapter 4; stm32c011xx.h, stm32c031xx.h,
 * stm32c071xx.h): the G0 register set without ECCR, one bank of 2 KiB
 * pages, 64-bit reads without ECC (4.2) but the same "program a double
 * word once" rule (PROGERR, 4.3.6), CFGBSY b18, ACR.EMPTY b16, fast rows
 * of 32 double words (4.3.6). PNB is 4 bits on the C011/C031 and 6 on the
 * C071 (headers' FLASH_CR_PNB_Msk); the C051 and C091/C092, which have no
 * header in cmsis_device_c0 v1.2.0, get RM0490 4.7.5's PNB[6:0]. ACR
 * resets to 0x00040600 (+ EMPTY; 4.7.1). Option image 0x1FFF7800 (4.4.1
 * Table 18): OPTR factory 0x3FFFFEAA (RDP 0xAA, BOR_EN 0, reserved b20
 * taken as 1 [U]); PCROP1A/B, WRP1A/B with fields as wide as each part's
 * header (the RM's 9/7 bits for C051/C09x); SECR (SEC_SIZE, BOOT_LOCK b16)
 * at 0x1FFF7870, factory 0. The C0 datasheets' flash timings were not
 * read: G0's figures [U]. ----------------------------------------------------- */

#define C0_ACR .acr_writable = 0x40B07u, .acr_reset = 0x40600u, .latency_mask = 7

/* OPTR writable bits: RDP..WWDG_SW b19:0, HSE_NOT_REMAPPED b21 (not on the
 * C011), RAM_PARITY_CHECK b22, SECURE_MUXING_EN b23, NBOOT_SEL/NBOOT1/
 * NBOOT0 b26:24, NRST_MODE b28:27, IRHEN b29, FDCAN_BL_CK b31:30 (C09x). */
#define C0_OPT(optr_rw, pcrop, wrp, sec)                                                           \
    {                                                                                              \
        {0x20, 0x1FFF7800u, (optr_rw), 0x3FFFFEAAu}, {0x24, 0x1FFF7808u, (pcrop), 0xFFFFFFFFu},    \
            {0x28, 0x1FFF7810u, 0x80000000u | (pcrop), 0x7FFF0000u},                               \
            {0x2C, 0x1FFF7818u, (wrp) << 16 | (wrp), 0xFF00FFFFu},                                 \
            {0x30, 0x1FFF7820u, (wrp) << 16 | (wrp), 0xFF00FFFFu},                                 \
            {0x34, 0x1FFF7828u, (pcrop), 0xFFFFFFFFu}, {0x38, 0x1FFF7830u, (pcrop), 0xFFFF0000u},  \
            {0x80, 0x1FFF7870u, 0x00010000u | (sec), 0x00000000u},                                 \
    }

static const l4_opt c011_opt[] = C0_OPT(0x3FCFFFFFu, 0x3Fu, 0x0Fu, 0x1Fu);
static const l4_opt c031_opt[] = C0_OPT(0x3FEFFFFFu, 0x3Fu, 0x0Fu, 0x1Fu);
static const l4_opt c071_opt[] = C0_OPT(0x3FEFFFFFu, 0xFFu, 0x3Fu, 0x3Fu);
static const l4_opt c09x_opt[] = C0_OPT(0xFFEFFFFFu, 0x1FFu, 0x7Fu, 0x7Fu);

#define C0_VARIANT(pnb, o)                                                                         \
    {                                                                                              \
        .pnb_width = (pnb), .banks = 1, .cfgbsy = B(18), C0_ACR, .acr_empty = B(16), .row_dw = 32, \
        .opt = (o), .nopt = 8, .otp_base = 0x1FFF7000u, G0_TIMES,                                  \
    }

static const l4_variant c011 = C0_VARIANT(4, c011_opt);
static const l4_variant c031 = C0_VARIANT(4, c031_opt);
static const l4_variant c071 = C0_VARIANT(6, c071_opt);
static const l4_variant c09x = C0_VARIANT(7, c09x_opt);

const flash_ctrl_ops sim_flash_c011 = L4_OPS(&c011);
const flash_ctrl_ops sim_flash_c031 = L4_OPS(&c031);
const flash_ctrl_ops sim_flash_c071 = L4_OPS(&c071);
const flash_ctrl_ops sim_flash_c0_rm = L4_OPS(&c09x);

/* ---- STM32U0 (RM0503 chapter 3; stm32u031xx.h, stm32u083xx.h): one bank
 * of 2 KiB pages, PNB 7 bits on both dies, ECCR, no PCROP and no RDERR;
 * SR CFGBSY b18, ACR.EMPTY b16 and DBG_SWEN b18 as the G0; reset ACR as
 * the G0's [U]. OPTR: RDP, BOR_EN b8, BORR_LEV b10:9, BORF_LEV b12:11,
 * nRST_* b15:13, IWDG_* b18:16, WWDG_SW b19, BDRST b21, RAM_PARITY_CHECK
 * b22, BKPSRAM_HW_ERASE b23, nBOOT_SEL/nBOOT1/nBOOT0 b26:24, NRST_MODE
 * b28:27, IRHEN b29; factory 0x3FFFFEAA and the option image at
 * 0x1FFF7800 [U: RM0503's option-byte table not read]. WRP1AR/WRP1BR:
 * 7-bit page fields [U: the header masks 16 bits]. OEM keys, HDP and SECR
 * are not modelled. Timings: G0's [U]. ---------------------------------------- */

static const l4_opt u0_opt[] = {
    {0x20, 0x1FFF7800u, 0x3FEFFFFFu, 0x3FFFFEAAu},
    {0x2C, 0x1FFF7818u, 0x007F007Fu, 0xFF00FFFFu}, /* WRP1AR */
    {0x30, 0x1FFF7820u, 0x007F007Fu, 0xFF00FFFFu}, /* WRP1BR */
};

static const l4_variant u0 = {
    .pnb_width = 7,
    .banks = 1,
    .cfgbsy = B(18),
    G0_ACR,
    .acr_empty = B(16),
    .row_dw = 32,
    .opt = u0_opt,
    .nopt = 3,
    .otp_base = 0x1FFF6800u, /* stm32u083xx.h FLASH_OTP_BASE */
    G0_TIMES,
};

const flash_ctrl_ops sim_flash_u0 = L4_OPS(&u0);
