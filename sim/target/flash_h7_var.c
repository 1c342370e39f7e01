/*
 * The STM32H7 flash-interface variants as data for flash_h7.c.
 *
 * H742/H743/H750/H753 timings, typical values per program/erase
 * parallelism x8/x16/x32/x64 (DS12110 Table 53 "Flash memory
 * programming", as quoted by a third-party note, see
 * docs/reference/stm32-h7-sim.md): flash word (266 bits with ECC)
 * programming 290/180/130/100 us (maxima 580/360/260/200); 128 KiB sector
 * erase 2/1.8/1.1/1 s (maxima 4/3.6/2.2/2). Bank (mass) erase 13/8/6/5 s
 * [U: not found in the texts read]. DS13313 (STM32H723/733) is taken to
 * give the same figures [U: not read]. The option change time is not
 * given: 10 ms [U].
 *
 * H7A3/H7B3/H7B0 (DS13195/DS13139, RM0455): 128-bit flash word, 8 KiB
 * sectors, no PSIZE; the datasheet figures were not found: 50 us per
 * flash word, 2 ms per sector, 256 ms per 1 MiB bank [U: placeholders of
 * the right order, marked as such wherever they are used].
 */
#include "flash_h7.h"

#define US 1000ull
#define MS 1000000ull

/* FLASH_CR of the H74x/H75x and H72x/H73x (RM0433 4.9.4, RM0468 4.9.4):
 * LOCK b0, PG b1, SER b2, BER b3, PSIZE b5:4, FW b6, START b7, SNB b10:8,
 * CRC_EN b15, interrupt enables b27:16 (OPERRIE b22 included); WPSN one bit
 * per 128 KiB sector; ECC_FA FAIL_ECC_ADDR b14:0. OPTSR_PRG: BOR_LEV b3:2,
 * IWDG1_SW b4, NRST_STOP_D1 b6, NRST_STBY_D1 b7, RDP b15:8, FZ_IWDG_STOP
 * b17, FZ_IWDG_SDBY b18, ST_RAM_SIZE b20:19, SECURITY b21, IO_HSLV b29,
 * SWAP_BANK_OPT b31. */
#define H74X_CONTROLLER                                                                            \
    .word_bytes = 32, .sector_bytes = 128 * 1024, .psize = true, .cr_fw = 1u << 6,                 \
    .cr_start = 1u << 7, .cr_snb_shift = 8, .cr_snb_max = 7, .cr_ie = 0x0FEF8000u, .wrp_group = 1, \
    .wrp_bits = 8, .optsr_writable = 0xA03EFFDCu, .ecc_fa_mask = 0x7FFFu, .mode = "x64",           \
    .boot_factory = 0x1FF00800u, .t_prog_ns = {290 * US, 180 * US, 130 * US, 100 * US},            \
    .t_sector_ns = {2000 * MS, 1800 * MS, 1100 * MS, 1000 * MS},                                   \
    .t_bank_ns = {13000 * MS, 8000 * MS, 6000 * MS, 5000 * MS}, .t_opt_ns = 10 * MS

/* H742/H743/H750/H753 (RM0433): two banks of 8 x 128 KiB sectors at 2 MiB
 * (bank 2 from 0x08100000); FLASH_ACR resets to 0x37 (LATENCY 7,
 * WRHIGHFREQ 3, RM0433 4.9.1); FLASH_OPTSR factory value 0x1606AAF0 (RDP
 * 0xAA, IWDG1_SW, NRST_STOP_D1, NRST_STBY_D1, FZ_IWDG_STOP/SDBY set [U:
 * the reserved bits as read on parts; no source found]); FLASH_BOOT_CUR
 * 0x1FF00800 (BOOT_ADD0 0x0800 -> 0x08000000, BOOT_ADD1 0x1FF0 ->
 * 0x1FF00000). */
const h7_variant sim_h7_var_h743 = {
    H74X_CONTROLLER,
    .banks = 2,
    .acr_reset = 0x37,
    .optsr_factory = 0x1606AAF0u,
};

/* H723/H725/H730/H733 (RM0468): one bank of 8 x 128 KiB sectors at 1 MiB;
 * FLASH_ACR resets to 0x13 (LATENCY 3, WRHIGHFREQ 1, RM0468 4.9.1 [U]);
 * options as the H743 [U]. */
const h7_variant sim_h7_var_h723 = {
    H74X_CONTROLLER,
    .banks = 1,
    .acr_reset = 0x13,
    .optsr_factory = 0x1606AAF0u,
};

/* H750xB (RM0433, 0x450 die at 128 KiB): one sector, in bank 1 only. */
const h7_variant sim_h7_var_h750 = {
    H74X_CONTROLLER,
    .banks = 1,
    .acr_reset = 0x37,
    .optsr_factory = 0x1606AAF0u,
};

/* FLASH_CR of the H7A3/H7B3/H7B0 (RM0455 4.9.4; the part's SVD): LOCK b0,
 * PG b1, SER b2, BER b3, FW b4, START b5, SSN b12:6 (128 sectors a bank),
 * no PSIZE, CRC_EN b15, interrupt enables b28:16 (no OPERRIE: SR b22 is
 * reserved); WPSGN one bit per group of 4 sectors, 32 bits a bank; ECC_FA
 * FAIL_ECC_ADDR b15:0. OPTSR_PRG as the H743 plus VDDMMC_HSLV b16
 * (VDDIO_HSLV at b29). FLASH_ACR resets to 0x13 (LATENCY 3, WRHIGHFREQ 1,
 * the SVD's reset value). */
#define H7AB_CONTROLLER                                                                            \
    .word_bytes = 16, .sector_bytes = 8 * 1024, .psize = false, .cr_fw = 1u << 4,                  \
    .cr_start = 1u << 5, .cr_snb_shift = 6, .cr_snb_max = 127, .cr_ie = 0x1FEF8000u,               \
    .wrp_group = 4, .wrp_bits = 32, .optsr_writable = 0xA03FFFDCu, .ecc_fa_mask = 0xFFFFu,         \
    .mode = "flash-word", .acr_reset = 0x13, .boot_factory = 0x1FF00800u,                          \
    .optsr_factory = 0x0006AAD0u, .t_prog_ns = {50 * US, 50 * US, 50 * US, 50 * US},               \
    .t_sector_ns = {2 * MS, 2 * MS, 2 * MS, 2 * MS},                                               \
    .t_bank_ns = {256 * MS, 256 * MS, 256 * MS, 256 * MS}, .t_opt_ns = 10 * MS

/* H7A3/H7B3 xI (RM0455): two banks of 128 x 8 KiB sectors at 2 MiB, bank
 * 2 from 0x08100000. OPTSR factory value: RDP 0xAA, IWDG_SW, NRST_STOP,
 * NRST_STBY, FZ_IWDG_STOP/SDBY [U: reserved bits read 0 here]. */
const h7_variant sim_h7_var_h7a3 = {
    H7AB_CONTROLLER,
    .banks = 2,
};

/* H7B0xB (128 KiB): one bank of 16 sectors (RM0455: "bank 1 is limited to
 * 16 sectors on STM32H7B0"). */
const h7_variant sim_h7_var_h7b0 = {
    H7AB_CONTROLLER,
    .banks = 1,
};
