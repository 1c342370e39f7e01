/*
 * The STM32H7 flash-interface variants as data for flash_h7.c.
 *
 * Timings, typical values per program/erase parallelism x8/x16/x32/x64:
 * DS12110 (STM32H743xI/G) "Flash memory programming" characteristics:
 * flash word (266 bits with ECC) programming 290/180/130/100 us; 128 KiB
 * sector erase 2/1.8/1.1/1 s; bank (mass) erase 13/8/6/5 s [U: figures as
 * remembered from DS12110, not re-read in this session; the maxima are
 * about twice these]. DS13313 (STM32H723/733) is taken to give the same
 * figures [U: not read]. The option change time is not given: 10 ms [U].
 */
#include "flash_h7.h"

#define US 1000ull
#define MS 1000000ull

/* H742/H743/H750/H753 (RM0433): two banks of 8 x 128 KiB sectors at 2 MiB
 * (bank 2 from 0x08100000); FLASH_ACR resets to 0x37 (LATENCY 7,
 * WRHIGHFREQ 3, RM0433 4.9.1); FLASH_OPTSR factory value 0x1606AAF0 (RDP
 * 0xAA, IWDG1_SW, NRST_STOP_D1, NRST_STBY_D1, FZ_IWDG_STOP/SDBY set [U:
 * the reserved bits as read on parts]); FLASH_BOOT_CUR 0x1FF00800
 * (BOOT_ADD0 0x0800 -> 0x08000000, BOOT_ADD1 0x1FF0 -> 0x1FF00000). */
const h7_variant sim_h7_var_h743 = {
    .banks = 2,
    .word_bytes = 32,
    .sector_bytes = 128 * 1024,
    .acr_reset = 0x37,
    .optsr_factory = 0x1606AAF0u,
    .boot_factory = 0x1FF00800u,
    .t_prog_ns = {290 * US, 180 * US, 130 * US, 100 * US},
    .t_sector_ns = {2000 * MS, 1800 * MS, 1100 * MS, 1000 * MS},
    .t_bank_ns = {13000 * MS, 8000 * MS, 6000 * MS, 5000 * MS},
    .t_opt_ns = 10 * MS,
};

/* H723/H725/H730/H733 (RM0468): one bank of 8 x 128 KiB sectors at 1 MiB;
 * FLASH_ACR resets to 0x13 (LATENCY 3, WRHIGHFREQ 1, RM0468 4.9.1 [U]);
 * options as the H743 [U]. */
const h7_variant sim_h7_var_h723 = {
    .banks = 1,
    .word_bytes = 32,
    .sector_bytes = 128 * 1024,
    .acr_reset = 0x13,
    .optsr_factory = 0x1606AAF0u,
    .boot_factory = 0x1FF00800u,
    .t_prog_ns = {290 * US, 180 * US, 130 * US, 100 * US},
    .t_sector_ns = {2000 * MS, 1800 * MS, 1100 * MS, 1000 * MS},
    .t_bank_ns = {13000 * MS, 8000 * MS, 6000 * MS, 5000 * MS},
    .t_opt_ns = 10 * MS,
};

/* H750xB (RM0433, 0x450 die at 128 KiB): one sector, in bank 1 only. */
const h7_variant sim_h7_var_h750 = {
    .banks = 1,
    .word_bytes = 32,
    .sector_bytes = 128 * 1024,
    .acr_reset = 0x37,
    .optsr_factory = 0x1606AAF0u,
    .boot_factory = 0x1FF00800u,
    .t_prog_ns = {290 * US, 180 * US, 130 * US, 100 * US},
    .t_sector_ns = {2000 * MS, 1800 * MS, 1100 * MS, 1000 * MS},
    .t_bank_ns = {13000 * MS, 8000 * MS, 6000 * MS, 5000 * MS},
    .t_opt_ns = 10 * MS,
};
