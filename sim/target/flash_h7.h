/*
 * The STM32H7 flash interface's variants (flash_h7.c is the model,
 * flash_h7_var.c the data). Included by those two files only.
 */
#ifndef FLASHLINE_SIM_TARGET_FLASH_H7_H
#define FLASHLINE_SIM_TARGET_FLASH_H7_H

#include "flash_common.h"

/* Flash words the model tracks (2 MiB of 32-byte words). */
#define H7_WORDS_MAX (2u * 1024 * 1024 / 32)

typedef struct h7_variant {
    unsigned banks;         /* 1 or 2; bank 2 from the middle of flash */
    uint32_t word_bytes;    /* the flash word: 32 (256 bits) */
    uint32_t sector_bytes;  /* 128 KiB */
    uint32_t acr_reset;     /* FLASH_ACR after reset */
    uint32_t optsr_factory; /* FLASH_OPTSR as shipped (RDP 0xAA) */
    uint32_t boot_factory;  /* FLASH_BOOT_CUR as shipped */
    /* datasheet typical figures per CR.PSIZE (x8, x16, x32, x64) */
    uint64_t t_prog_ns[4];   /* one flash word */
    uint64_t t_sector_ns[4]; /* one sector */
    uint64_t t_bank_ns[4];   /* one bank (BER), or both (OPTCR.MER) */
    uint64_t t_opt_ns;       /* an option change (OPTSTART) */
} h7_variant;

extern const h7_variant sim_h7_var_h743;
extern const h7_variant sim_h7_var_h723;
extern const h7_variant sim_h7_var_h750;

#endif
