/*
 * The variant data of the F2/F4/F7 flash interface model (flash_f4.c):
 * what differs between the parts that share that controller. flash_f4.c
 * holds the F4 variants and the functions, flash_f7.c the F7 variants.
 * Nothing outside those two files includes this.
 */
#ifndef FLASHLINE_SIM_TARGET_FLASH_F4_H
#define FLASHLINE_SIM_TARGET_FLASH_F4_H

#include "flash_common.h"

/* Erase times in ms by PSIZE x8/x16/x32/x64; columns: the sector size
 * classes (f4_sector.cls), then a one-bank mass erase (0: the sum of the
 * bank's sectors). */
typedef uint32_t f4_erase_ms[4][4];

/* One sector: where it is in its bank, and its erase-time class (a column
 * of the layout's f4_erase_ms). */
typedef struct f4_sector {
    uint32_t off, len;
    uint8_t cls;
} f4_sector;

/* One organization of main flash. A bank holds the first sectors of the
 * table that fit in it (the part's flash size from the row, halved when
 * there are two banks); bank 2 repeats bank 1's sectors from the middle of
 * main flash, its sectors numbered after bank 1's and selected with
 * SNB = 0x10 | n. */
typedef struct f4_layout {
    const f4_sector *sectors;
    unsigned max_sectors; /* entries in sectors[] */
    bool dual;            /* two banks */
    uint8_t wrp_shift;    /* sector n is protected by nWRP bit n >> wrp_shift */
    uint8_t wrp_last;     /* 0, or the last nWRP bit: later sectors share it */
    const f4_erase_ms *erase;
} f4_layout;

/* An ART accelerator style reset bit (F7 FLASH_ACR.ARTRST) that only takes
 * while its enable bit is clear. */
typedef struct f4_acr_gate {
    uint32_t rst, en;
} f4_acr_gate;

typedef struct f4_variant {
    /* layout[0]; on a part with optcr_ndbank, layout[0] when that option
     * bit is 0 (dual bank) and layout[1] when it is 1, as loaded with the
     * option bytes at reset. */
    const f4_layout *layout[2];
    uint32_t optcr_ndbank;
    uint32_t cr_snb;   /* FLASH_CR.SNB as wide as the part implements it */
    uint32_t cr_mer2;  /* FLASH_CR bit erasing bank 2 (F42x MER1, F76x MER2) */
    uint32_t acr_rw;   /* FLASH_ACR bits software writes */
    f4_acr_gate art;   /* zero: none */
    uint32_t optcr_rw; /* OPTCR bits software writes */
    uint32_t optcr_factory;
    uint32_t optcr_sprmod; /* SPRMOD (PCROP mode select), 0: none */
    /* OPTCR1: its writable bits (0: no OPTCR1, reads 0), factory value,
     * and where its two halves live in the option image (0: not stored) */
    uint32_t optcr1_rw, optcr1_factory;
    uint32_t opt1_lo, opt1_hi;
    bool optcr1_nwrp; /* OPTCR1 b27:16 is bank 2's nWRP (F42x) */
    /* option image of OPTCR: b15:0 at +0, b31:16 at +8, each followed by
     * its complement */
    uint32_t opt_base;
    /* OTP: data blocks from otp_base, one lock byte per block from
     * otp_lock, up to otp_end */
    uint32_t otp_base, otp_lock, otp_end, otp_block;
} f4_variant;

/* flash_f4_var.c */
extern const f4_variant f4_var_f446, f4_var_f42x_dual, f4_var_f2, f4_var_f412, f4_var_f42x,
    f4_var_f413;
/* flash_f7.c */
extern const f4_variant f4_var_f74x, f4_var_f76x, f4_var_f72x;

#endif
