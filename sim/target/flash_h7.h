/*
 * The STM32H7 flash interface's variants (flash_h7.c is the model,
 * flash_h7_var.c the data). Included by those two files only.
 */
#ifndef FLASHLINE_SIM_TARGET_FLASH_H7_H
#define FLASHLINE_SIM_TARGET_FLASH_H7_H

#include "flash_common.h"

/* Flash words the model tracks (2 MiB of 16-byte words, the smallest). */
#define H7_WORDS_MAX (2u * 1024 * 1024 / 16)

typedef struct h7_variant {
    unsigned banks;        /* 1 or 2; bank 2 from the middle of flash */
    uint32_t word_bytes;   /* the flash word: 32 (256 bits) or 16 (128 bits) */
    uint32_t sector_bytes; /* 128 KiB, or 8 KiB on H7A/B */
    /* FLASH_CR: where the bits that moved are (RM0433 4.9.4 / RM0455
     * 4.9.4); psize: CR has PSIZE b5:4 (the H74x/H72x), the figures below
     * are then per PSIZE, else index 3 is used */
    bool psize;
    uint32_t cr_fw, cr_start;
    unsigned cr_snb_shift;
    uint32_t cr_snb_max; /* the largest sector number SNB/SSN can hold */
    uint32_t cr_ie;      /* CRC_EN and the interrupt enables */
    /* WPSN (one bit per sector) or WPSGN (one bit per group of 4 sectors) */
    unsigned wrp_group;
    unsigned wrp_bits;
    uint32_t optsr_writable; /* OPTSR_PRG bits an option change copies */
    uint32_t acr_reset;      /* FLASH_ACR after reset */
    uint32_t optsr_factory;  /* FLASH_OPTSR as shipped (RDP 0xAA) */
    uint32_t boot_factory;   /* FLASH_BOOT_CUR as shipped */
    uint32_t ecc_fa_mask;    /* FLASH_ECC_FA FAIL_ECC_ADDR: flash words in the bank */
    const char *mode;        /* the timing oracle's program unit */
    /* datasheet typical figures per CR.PSIZE (x8, x16, x32, x64) */
    uint64_t t_prog_ns[4];   /* one flash word */
    uint64_t t_sector_ns[4]; /* one sector */
    uint64_t t_bank_ns[4];   /* one bank (BER; OPTCR.MER runs both side by side) */
    uint64_t t_opt_ns;       /* an option change (OPTSTART) */
} h7_variant;

extern const h7_variant sim_h7_var_h743;
extern const h7_variant sim_h7_var_h723;
extern const h7_variant sim_h7_var_h750;
extern const h7_variant sim_h7_var_h7a3;
extern const h7_variant sim_h7_var_h7b0;

#endif
