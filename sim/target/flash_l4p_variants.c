/*
 * More variants of the L4-generation flash controller (flash_l4.c) as
 * data: the L4+ (RM0432: STM32L4Rx/L4Sx 0x470, L4P5/L4Q5 0x471) and the
 * WB1x (RM0473: STM32WB10/WB15 0x494). Bit positions and field widths are
 * the CMSIS headers' (cmsis_device_l4 v1.7.4 stm32l4r5xx.h and
 * stm32l4p5xx.h; cmsis_device_wb stm32wb15xx.h): FLASH_CR_PNB_Msk,
 * FLASH_WRP1AR_WRP1A_STRT_Msk, FLASH_PCROP1SR_PCROP1_STRT_Msk,
 * FLASH_ACR_LATENCY_Msk, FLASH_SR_PEMPTY, FLASH_OPTR_*_Pos.
 *
 * What the l4_variant already expresses for the L4+ (no new model code):
 * - DBANK (OPTR b22) on the 2 MiB L4R/L4S and the 1 MiB L4P5/L4Q5, DB1M
 *   (OPTR b21) on the 1 MiB L4R/L4S and the 512 KiB L4P5 (the same bit,
 *   named for the 1 MiB die in both headers [U: RM0432 calls it DB1M on
 *   L4R and the fact sheet DB512K on L4P5]): set, two banks of 4 KiB
 *   pages, bank 2 from the middle of flash, BKER b11; clear, one bank of
 *   8 KiB pages (single_page_x2 on a row page size of 4 KiB).
 * - The program unit is the 64-bit double word in both modes (ST's HAL
 *   offers only double-word and fast programming on the L4+ whatever
 *   DBANK says; in single-bank mode the array is read 128 bits wide and
 *   PCROP counts in pairs of double words [U: RM0432 3.3.7 text not read,
 *   the Keil option-byte template's PCROP notes]). PCROP is not modelled.
 * What it cannot express, left out (flash_l4.c is not ours to change):
 * - the timing oracle counts erase units in the row's page size (4 KiB)
 *   also in single-bank mode, where a page is 8 KiB (as for the G4 cat 3);
 * - FLASH_CFGR (0x130, LVEN b0) is storage-less: reads 0, writes ignored.
 * Option image: 0x1FFF7800 (bank 1 words) and 0x1FFFF800 (bank 2), as
 * the L476 [U: RM0432 information block table not read]. Factory OPTR
 * 0xFFEFF8AA (DBANK and DB1M set: dual bank as shipped) [U: the value
 * Keil's template names as the register's reset value].
 */
#include "flash_l4.h"

#define B(n) (1u << (n))

/* DS10198 Table 63 typical values (the L476): DS12023 (L4R) and DS13258
 * (WB15) tables not read [U]. */
#define L4P_TIMES                                                                                  \
    .t_dw_ns = 81690, .t_row_ns = 1910000, .t_page_ns = 22020000, .t_mass_ns = 22130000

/* ACR of the L4+: LATENCY b3:0 (stm32l4r5xx.h FLASH_ACR_LATENCY_Msk 0xF),
 * PRFTEN b8, ICEN b9, DCEN b10, ICRST b11, DCRST b12, RUN_PD b13 (behind
 * PDKEYR), SLEEP_PD b14; reset ICEN | DCEN, 0 WS (MSI 4 MHz). */
#define L4P_ACR                                                                                    \
    .acr_writable = 0x7F0Fu, .acr_reset = 0x600u, .acr_run_pd = B(13), .pdkeyr = true,             \
    .latency_mask = 0xF

/* OPTR: RDP b7:0, BOR_LEV b10:8, nRST_STOP/STDBY/SHDW b14:12, IWDG_SW/
 * STOP/STDBY b18:16, WWDG_SW b19, BFB2 b20, DB1M b21, DBANK b22, nBOOT1
 * b23, SRAM2_PE b24, SRAM2_RST b25, nSWBOOT0 b26, nBOOT0 b27. PCROP start/
 * end 17 bits on the 2 MiB die, 16 on the 1 MiB one; WRP areas 8 / 7 bits
 * (one page index per bank). */
#define L4P_OPTR_RW 0x0FFF77FFu
#define L4P_OPT(pcrop, wrp)                                                                        \
    {                                                                                              \
        {0x20, 0x1FFF7800u, L4P_OPTR_RW, 0xFFEFF8AAu},                                             \
            {0x24, 0x1FFF7808u, (pcrop), 0xFFFFFFFFu},               /* PCROP1SR */                \
            {0x28, 0x1FFF7810u, 0x80000000u | (pcrop), 0x7FFF0000u}, /* PCROP1ER */                \
            {0x2C, 0x1FFF7818u, (wrp) << 16 | (wrp), 0xFF00FFFFu},   /* WRP1AR */                  \
            {0x30, 0x1FFF7820u, (wrp) << 16 | (wrp), 0xFF00FFFFu},   /* WRP1BR */                  \
            {0x44, 0x1FFFF808u, (pcrop), 0xFFFFFFFFu},               /* PCROP2SR */                \
            {0x48, 0x1FFFF810u, (pcrop), 0xFFFF0000u},               /* PCROP2ER */                \
            {0x4C, 0x1FFFF818u, (wrp) << 16 | (wrp), 0xFF00FFFFu},   /* WRP2AR */                  \
            {0x50, 0x1FFFF820u, (wrp) << 16 | (wrp), 0xFF00FFFFu},   /* WRP2BR */                  \
    }

static const l4_opt l4r_opt[] = L4P_OPT(0x1FFFFu, 0xFFu);
static const l4_opt l4p5_opt[] = L4P_OPT(0xFFFFu, 0x7Fu);

/* PNB b10:3 on the L4R/L4S (256 pages per bank or in the single bank),
 * b9:3 on the L4P5/L4Q5 (128); SR.PEMPTY b17; fast programming rows of 64
 * double words (HAL-L4 FLASH_NB_DOUBLE_WORDS_IN_ROW for L4R/L4S; the same
 * taken for L4P5 [U]). */
#define L4P_VARIANT(pnb, bank_bit, o)                                                              \
    {                                                                                              \
        .pnb_width = (pnb), .bker = B(11), .mer2 = B(15), .dbank = (bank_bit),                     \
        .single_page_x2 = true, L4P_ACR, .sr_pempty = B(17), .row_dw = 64, .opt = (o), .nopt = 9,  \
        .otp_base = 0x1FFF7000u, L4P_TIMES,                                                        \
    }

static const l4_variant l4r = L4P_VARIANT(8, B(22), l4r_opt);
static const l4_variant l4r_1m = L4P_VARIANT(8, B(21), l4r_opt);
static const l4_variant l4p5 = L4P_VARIANT(7, B(22), l4p5_opt);
static const l4_variant l4p5_512k = L4P_VARIANT(7, B(21), l4p5_opt);

const flash_ctrl_ops sim_flash_l4r = L4_OPS(&l4r);
const flash_ctrl_ops sim_flash_l4r_1m = L4_OPS(&l4r_1m);
const flash_ctrl_ops sim_flash_l4p5 = L4_OPS(&l4p5);
const flash_ctrl_ops sim_flash_l4p5_512k = L4_OPS(&l4p5_512k);

/* ---- STM32WB10/WB15 (0x494; RM0473 chapter 3, stm32wb15xx.h) -------------
 * The WB55 controller at 0x58004000 with 2 KiB pages (320 KiB: 160 pages,
 * PNB b10:3), PCROP 9 bits, WRP 8 bits, options at 0x1FFF7800 (the
 * header's OPTION_BYTE_BASE; its OPTION_BYTE_END_ADDR comment still names
 * the WB55's 0x1FFF8000 block [U]). OPTR: RDP, ESE b8 (read only), BOR_LEV
 * b11:9, nRST_STOP/STDBY/SHDW b14:12, IRHEN b15, IWDG_* b18:16, WWDG_SW
 * b19, NRST_MODE b22 and b28, nBOOT1 b23, SRAM2PE b24, SRAM2RST b25,
 * nSWBOOT0 b26, nBOOT0 b27, AGC_TRIM b31:29. Fast rows of 64 double words
 * (HAL-WB FLASH_NB_DOUBLE_WORDS_IN_ROW). Factory: security on with the
 * secure area from page 0x94 (the FUS in the top 24 KiB) and DDS [U: what
 * ST ships]; OPTVERR after every reset as on the WB55 [U: the WB1x errata
 * sheet not read; the stricter choice]. */
#define WB1X_ACR                                                                                   \
    .acr_writable = 0x9F07u, .acr_reset = 0x600u, .latency_mask = 7, .acr_empty = B(16),           \
    .acr_pes = B(15)

static const l4_opt wb1x_opt[] = {
    {0x20, 0x1FFF7800u, 0xFFCFFEFFu, 0x3DCFF1AAu}, /* OPTR: NRST_MODE 11, IRHEN 1 [U] */
    {0x24, 0x1FFF7808u, 0x000001FFu, 0xFFFFFFFFu}, /* PCROP1ASR */
    {0x28, 0x1FFF7810u, 0x800001FFu, 0x7FFF0000u}, /* PCROP1AER */
    {0x2C, 0x1FFF7818u, 0x00FF00FFu, 0xFF00FFFFu}, /* WRP1AR */
    {0x30, 0x1FFF7820u, 0x00FF00FFu, 0xFF00FFFFu}, /* WRP1BR */
    {0x34, 0x1FFF7828u, 0x000001FFu, 0xFFFFFFFFu}, /* PCROP1BSR */
    {0x38, 0x1FFF7830u, 0x000001FFu, 0xFFFF0000u}, /* PCROP1BER */
    {0x3C, 0x1FFF7838u, 0x00003FFFu, 0xFFFFFFFFu}, /* IPCCBR */
    {0x80, 0x1FFF7870u, 0x00000000u, 0x00001094u}, /* SFR */
    {0x84, 0x1FFF7878u, 0x00000000u, 0x0000FFFFu}, /* SRRVR */
};

static const l4_variant wb1x = {
    .pnb_width = 8,
    .banks = 1,
    .cfgbsy = B(18),
    .pesd = B(19),
    WB1X_ACR,
    .row_dw = 64,
    .opt = wb1x_opt,
    .nopt = 10,
    .otp_base = 0x1FFF7000u,
    .sfr_off = 0x80,
    .sfsa_mask = 0xFF,
    .optverr_always = true,
    .c2regs = true,
    L4P_TIMES,
};

const flash_ctrl_ops sim_flash_wb1x = L4_OPS(&wb1x);
