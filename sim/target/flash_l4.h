/*
 * The L4-generation flash controller (flash_l4.c) and the data its
 * variants differ in (flash_l4_variants.c): STM32L4 (RM0351, RM0394),
 * L4+ (RM0432), G0 (RM0444), G4 (RM0440), WB (RM0434), WL (RM0453), C0
 * (RM0490), U0 (RM0503). They share the register block (KEYR 0x08,
 * OPTKEYR 0x0C, SR 0x10, CR 0x14, OPTR 0x20), the 64-bit double word with
 * 8 ECC bits, the error flags and the option-byte sequence; what moves is
 * described by an l4_variant reached from the row's flash_ctrl_ops.
 * Nothing outside flash_l4*.c includes this.
 */
#ifndef FLASHLINE_SIM_TARGET_FLASH_L4_H
#define FLASHLINE_SIM_TARGET_FLASH_L4_H

#include "flash_common.h"

#define L4_OPT_MAX 10

/* One option register and the double word of the option page behind it
 * (value in the low word, complement in the high word [U: layout]). */
typedef struct l4_opt {
    uint32_t reg;      /* register offset */
    uint32_t addr;     /* option page address */
    uint32_t writable; /* bits software may change */
    uint32_t factory;  /* as shipped */
} l4_opt;

typedef struct l4_variant {
    /* FLASH_CR: PNB width from b3, BKER and MER2 (0: none), further
     * writable bits (SEC_PROT...) stored without effect. */
    uint8_t pnb_width;
    uint32_t bker, mer2, cr_extra;
    /* Banks: `banks` when dbank is 0; else OPTR.dbank set = two banks.
     * single_page_x2: one bank has pages twice the row's page_size (G4
     * cat 3, L4+). bank2_off: offset of bank 2 (0: half the flash). */
    uint8_t banks;
    uint32_t dbank;
    bool single_page_x2;
    uint32_t bank2_off;
    /* One bank in force: MER1 and MER2 must be set together (G4 DBANK 0). */
    bool single_mer_both;
    /* PNB of a bank-2 page may also count from this (G0B RM0444 Rev 5
     * numbers bank-2 pages from 256) [U]; 0: no such numbering. */
    uint16_t bank2_pnb_base;
    /* FLASH_SR bits that exist on this variant (0: none). */
    uint32_t bsy2, cfgbsy, pesd;
    /* FLASH_ACR: writable bits, reset value, PDKEYR/RUN_PD, EMPTY. */
    uint32_t acr_writable, acr_reset, acr_run_pd;
    uint32_t latency_mask; /* ACR.LATENCY: b2:0, or b3:0 on the G4 */
    bool pdkeyr;
    uint32_t acr_empty; /* ACR.EMPTY (PROGEMPTY) */
    uint32_t sr_pempty; /* SR.PEMPTY (L4+) */
    uint32_t acr_pes;   /* ACR.PES (WB/WL) */
    /* Fast programming row, double words. */
    uint16_t row_dw;
    /* Option registers; opt[0] is OPTR. */
    const l4_opt *opt;
    uint8_t nopt;
    uint32_t otp_base;
    /* WB/WL secure area held by CPU2: SFR offset and its SFSA field
     * (page index); 0: none. */
    uint32_t sfr_off, sfsa_mask;
    /* OPTVERR is set after every reset (WB, ES0394 2.2.9 [U]). */
    bool optverr_always;
    /* CPU2 registers C2ACR 0x5C, C2SR 0x60, C2CR 0x64 (WB/WL): kept as
     * storage; C2ACR.PES counts for PESD. */
    bool c2regs;
    /* Datasheet typical timings. */
    uint32_t t_dw_ns, t_row_ns, t_page_ns, t_mass_ns;
} l4_variant;

/* The controller's state (one per board). */
typedef struct l4_state {
    uint32_t acr, sr, cr, eccr;
    uint32_t c2acr, c2sr, c2cr;
    uint32_t opt[L4_OPT_MAX]; /* option registers (what OPTSTRT will commit) */
    uint32_t eff[L4_OPT_MAX]; /* options in force (loaded at POR / OBL) */
    bool opt_invalid;         /* OPTVERR at the last load */
    bool obl_pending;
    bool empty;                 /* EMPTY as latched at the last option load */
    flash_keyseq keys, optkeys; /* KEYR, OPTKEYR */
    flash_run_pd pd;            /* PDKEYR and ACR.RUN_PD */
    /* Standard programming: first word of a double word received. */
    bool dw_pending;
    uint32_t dw_addr, dw_lo;
    /* Fast programming: row in progress. */
    bool fast_active;
    uint32_t fast_next; /* address the next store must have */
    unsigned fast_words;
    uint32_t fast_lo;
    uint64_t fast_last_ps;
    /* Bank mass-erased since the last non-fast program/erase in it. */
    bool bank_blank[2];
    /* Operation behind BSY, and the bank it works in. */
    flash_op op;
    unsigned op_bank;
    bool op_eopie;
    bool strt_active;
} l4_state;

/* The functions every variant's flash_ctrl_ops shares (flash_l4.c). */
void l4_factory(sim_board *b, void *st);
void l4_reset(sim_board *b, void *st, bool power_on);
uint32_t l4_reg_read(sim_board *b, void *st, uint32_t offset);
bool l4_reg_write(sim_board *b, void *st, uint32_t offset, uint32_t value, uint32_t mask);
bool l4_mem_write(sim_board *b, void *st, bus_master who, uint32_t addr, uint32_t value,
                  unsigned size);
bool l4_read_protected(sim_board *b, void *st);
void l4_inject_stale_errors(sim_board *b, void *st);
void l4_inject_rdp1(sim_board *b, void *st);
unsigned l4_latency(sim_board *b, void *st);
void l4_timing(sim_board *b, void *st, uint32_t addr, uint32_t len, sim_flash_timing *out);

#define L4_OPS(v)                                                                                  \
    {                                                                                              \
        .state_size = sizeof(l4_state), .factory = l4_factory, .reset = l4_reset,                  \
        .reg_read = l4_reg_read, .reg_write = l4_reg_write, .mem_write = l4_mem_write,             \
        .read_protected = l4_read_protected, .inject_stale_errors = l4_inject_stale_errors,        \
        .inject_rdp1 = l4_inject_rdp1, .latency = l4_latency, .timing = l4_timing, .variant = (v), \
    }

#endif
