/*
 * The parts' variants of the L0/L1 NVM model (flash_l0.c): what each
 * category's NVM differs in, as data, with the sources of each figure.
 */
#include "flash_l0.h"

/* ---- the variants ---------------------------------------------------------- */

/* L0 ACR: LATENCY, PRFTEN, SLEEP_PD, RUN_PD, DISAB_BUF, PRE_READ (RM0377
 * 3.7.1). L1 ACR: LATENCY, PRFTEN, ACC64 b2, SLEEP_PD, RUN_PD (RM0038
 * 3.9.1). */
#define L0_ACR   0x7Bu
#define L1_ACR   0x1Fu
#define L1_ACC64 (1u << 2)
#define L0_USER  0x8070u /* nBOOT1, nRST_STDBY, nRST_STOP, IWDG_SW [U] */
#define L1_USER  0x0070u /* nRST_STDBY, nRST_STOP, IWDG_SW, BOR off [U] */
#define OPS(v)                                                                                     \
    {                                                                                              \
        .state_size = sizeof(l0_state), .factory = l0_factory, .reset = l0_reset,                  \
        .reg_read = l0_reg_read, .reg_write = l0_reg_write, .mem_write = l0_mem_write,             \
        .read_protected = l0_read_protected, .inject_stale_errors = l0_inject_stale_errors,        \
        .inject_rdp1 = l0_inject_rdp1, .latency = l0_latency, .timing = l0_timing,                 \
        .variant = &(v),                                                                           \
    }

/* L0 categories 1-3 (RM0377 3.3.1 Table 5-7): up to 64 KiB, 16 sectors,
 * WRP in the word at 0x1FF80008 and FLASH_WRPR b15:0. */
static const l0_variant l0 = {
    .hp_words = 16,
    .sr_w1c = SR_W1C_L0,
    .notzero = true,
    .nzdisable = true,
    .acr_writable = L0_ACR,
    .nwrp_opt = 1,
    .wrp_opt = {0x08},
    .nwrpr = 1,
    .wrpr = {0x20},
    .factory_user = L0_USER,
    .tprog_ns = TPROG_L0_NS,
};

/* L0 category 5 (RM0377 Table 8, stm32l073xx.h): 192 KiB in two banks
 * (read-while-write, not modelled: a busy NVM stalls every flash read, the
 * stricter behaviour), 48 sectors: WRP01/WRP23 -> FLASH_WRPR b31:0, WRP45 ->
 * FLASH_WRPR2 (0x80) b15:0. */
static const l0_variant l0_cat5 = {
    .hp_words = 16,
    .sr_w1c = SR_W1C_L0,
    .notzero = true,
    .nzdisable = true,
    .acr_writable = L0_ACR,
    .nwrp_opt = 3,
    .wrp_opt = {0x08, 0x0C, 0x10},
    .nwrpr = 2,
    .wrpr = {0x20, 0x80},
    .factory_user = L0_USER,
    .tprog_ns = TPROG_L0_NS,
};

/* L1 (RM0038, stm32l152xb/xc/xe.h): 32-word half pages, ACC64, WRPR1 0x20,
 * WRPR2 0x80, WRPR3 0x84, WRPR4 0x88 from the option words WRP01 ...
 * WRP1415 (16 sectors of 4 KiB each). */
#define L1_VARIANT(nopt, nreg, par, cell)                                                          \
    {                                                                                              \
        .hp_words = 32, .sr_w1c = SR_W1C_L1, .acr_writable = L1_ACR, .acr_acc64 = L1_ACC64,        \
        .parallbank = par, .nwrp_opt = nopt,                                                       \
        .wrp_opt = {0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C, 0x80, 0x84}, .nwrpr = nreg,                \
        .wrpr = {0x20, 0x80, 0x84, 0x88}, .factory_user = L1_USER, .tprog_ns = TPROG_L1_NS,        \
        .size_cell = cell,                                                                         \
    }

static const l0_variant l1_cat1 = L1_VARIANT(2, 1, false, SIZE_KIB);      /* 0x416, 128 KiB */
static const l0_variant l1_cat2 = L1_VARIANT(2, 1, false, SIZE_LOW_BYTE); /* 0x429 */
static const l0_variant l1_cat3 = L1_VARIANT(4, 2, false, SIZE_KIB);      /* 0x427, 256 KiB */
static const l0_variant l1_cat4 = L1_VARIANT(6, 3, true, SIZE_CODE_436);  /* 0x436, 384 KiB */
static const l0_variant l1_cat5 = L1_VARIANT(8, 4, true, SIZE_KIB);       /* 0x437, 512 KiB */

const flash_ctrl_ops sim_flash_l0 = OPS(l0);
const flash_ctrl_ops sim_flash_l0_cat5 = OPS(l0_cat5);
const flash_ctrl_ops sim_flash_l1_cat1 = OPS(l1_cat1);
const flash_ctrl_ops sim_flash_l1_cat2 = OPS(l1_cat2);
const flash_ctrl_ops sim_flash_l1_cat3 = OPS(l1_cat3);
const flash_ctrl_ops sim_flash_l1_cat4 = OPS(l1_cat4);
const flash_ctrl_ops sim_flash_l1_cat5 = OPS(l1_cat5);
