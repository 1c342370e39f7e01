/*
 * Chip rows. Sources: the reference manuals' memory-organisation tables
 * (RM0008 3.3.1 table 3, RM0390 3.3 table 4, RM0367 3.3.1, RM0351 3.3.1
 * table 9) and DBGMCU/UID/flash-size addresses from the CMSIS device headers
 * (stm32f103xb.h, stm32f446xx.h, stm32l053xx.h, stm32l476xx.h). Only the four parts the
 * line is proven on are listed; adding a row is adding a tested chip.
 */
#include "chips.h"
#include "family.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/*
 * Fast clocks for the loader. Flash wait states go up before the clock
 * does and come down after it (each RM's "increasing/decreasing the CPU
 * frequency" sequence); APB prescalers keep the buses in spec. The reset
 * voltage range is enough on every part (F446 PWR_CR.VOS resets to scale
 * 1, L476 PWR_CR1.VOS to range 1, the L053 stays in range 2 at 16 MHz).
 */

/* F1, RM0008 7.3.2 and 3.3.3: PLL = HSI/2 x 16 = 64 MHz, 2 wait states
 * (48-72 MHz), APB1 /2 (36 MHz max). HSI stays on: flash programming needs
 * it (RM0008 3.3.3 note). */
static const fl_clock_step clock_f1[] = {
    {0x40022000u, 0x7u, 0x2u, 0},                           /* FLASH_ACR.LATENCY = 2 */
    {0x40021004u, 0x003F0700u, (14u << 18) | (4u << 8), 0}, /* PLLMUL x16, PLLSRC HSI/2, PPRE1 /2 */
    {0x40021000u, 1u << 24, 1u << 24, 1},                   /* PLLON, wait PLLRDY */
    {0x40021004u, 0x3u, 0x2u, 2},                           /* SW = PLL, wait SWS */
    {0, 0, 0, 0},
};

/* F446, RM0390 6.3.2 and 3.4.1 table 5 (2.7-3.6 V): PLL = HSI/8 x 168 / 2
 * = 168 MHz (VCO input 2 MHz, VCO 336 MHz), 5 wait states, APB1 /4 (45 MHz
 * max), APB2 /2 (90 MHz max). */
static const fl_clock_step clock_f4[] = {
    {0x40023C00u, 0xFu, 0x5u, 0}, /* FLASH_ACR.LATENCY = 5 */
    {0x40023804u, 0x7F437FFFu, 8u | (168u << 6) | (7u << 24) | (2u << 28), 0}, /* PLLCFGR */
    {0x40023800u, 1u << 24, 1u << 24, 1},                                      /* PLLON */
    {0x40023808u, 0xFCF0u, (5u << 10) | (4u << 13), 0}, /* HPRE /1, PPRE1 /4, PPRE2 /2 */
    {0x40023808u, 0x3u, 0x2u, 2},                       /* SW = PLL */
    {0, 0, 0, 0},
};

/* L053, RM0367 7.3.1 and 3.3.1 table 13: HSI16 as SYSCLK, 1 wait state
 * (range 2 allows 16 MHz with one). */
static const fl_clock_step clock_l0[] = {
    {0x40022000u, 0x1u, 0x1u, 0},  /* FLASH_ACR.LATENCY = 1 */
    {0x40021000u, 0x1u, 0x1u, 2},  /* HSI16ON, wait HSI16RDYF */
    {0x4002100Cu, 0xF0u, 0x0u, 0}, /* HPRE /1 */
    {0x4002100Cu, 0x3u, 0x1u, 2},  /* SW = HSI16 */
    {0, 0, 0, 0},
};

/* L476, RM0351 6.4.4 and 3.3.3 table 11 (range 1): PLL = HSI16 x 10 / 2 =
 * 80 MHz (VCO 160 MHz), 4 wait states. */
static const fl_clock_step clock_l4[] = {
    {0x40022000u, 0x7u, 0x4u, 0},       /* FLASH_ACR.LATENCY = 4 */
    {0x40021000u, 1u << 8, 1u << 8, 2}, /* HSION, wait HSIRDY */
    {0x4002100Cu, 0x07007F73u, 2u | (10u << 8) | (1u << 24),
     0},                                  /* PLLCFGR: HSI16, M 1, N 10, R 2, REN */
    {0x40021000u, 1u << 24, 1u << 24, 1}, /* PLLON, wait PLLRDY */
    {0x40021008u, 0x3FF0u, 0x0u, 0},      /* HPRE, PPRE1, PPRE2 /1 */
    {0x40021008u, 0x3u, 0x3u, 2},         /* SW = PLL */
    {0, 0, 0, 0},
};

/* The controller families (loaders/families/). */
extern const fl_family fl_family_f1, fl_family_f4, fl_family_l0, fl_family_l4;

/* ---- lines --------------------------------------------------------------- */

/* RM0008 31.6.1 (DBGMCU_CR DBG_IWDG_STOP b8), 3.1 (flash size register
 * 0x1FFFF7E0, unique ID 0x1FFFF7E8). */
static const fl_line line_f1 = {
    .name = "STM32F1",
    .id = "f1",
    .family = &fl_family_f1,
    .idcode_addr = 0xE0042000u,
    .flash_base = 0x08000000u,
    .flash_regs = 0x40022000u,
    .flash_size_reg = 0x1FFFF7E0u,
    .uid_addr = {0x1FFFF7E8u, 0x1FFFF7ECu, 0x1FFFF7F0u},
    .wdg_freeze_reg = 0xE0042004u,
    .wdg_freeze_bit = 1u << 8,
    .fast_clock = clock_f1,
    .fast_clock_hz = 64000000,
    .rcc_cfgr = 0x40021004u,
};

/* RM0390 33.16.4 (DBGMCU_APB1_FZ DBG_IWDG_STOP b12), 39.1-39.2 (unique ID,
 * flash size). */
static const fl_line line_f446 = {
    .name = "STM32F4",
    .id = "f4",
    .family = &fl_family_f4,
    .idcode_addr = 0xE0042000u,
    .flash_base = 0x08000000u,
    .flash_regs = 0x40023C00u,
    .flash_size_reg = 0x1FFF7A22u,
    .uid_addr = {0x1FFF7A10u, 0x1FFF7A14u, 0x1FFF7A18u},
    .wdg_freeze_reg = 0xE0042008u,
    .wdg_freeze_bit = 1u << 12,
    .fast_clock = clock_f4,
    .fast_clock_hz = 168000000,
    .rcc_cfgr = 0x40023808u,
};

/* RM0367 27.9.5 (DBG_APB1_FZ at 0x40015808, DBG_IWDG_STOP b12), 28.1-28.2;
 * the unique ID is not contiguous on the L0. */
static const fl_line line_l0 = {
    .name = "STM32L0",
    .id = "l0",
    .family = &fl_family_l0,
    .idcode_addr = 0x40015800u,
    .flash_base = 0x08000000u,
    .flash_regs = 0x40022000u,
    .flash_size_reg = 0x1FF8007Cu,
    .uid_addr = {0x1FF80050u, 0x1FF80054u, 0x1FF80064u},
    .wdg_freeze_reg = 0x40015808u,
    .wdg_freeze_bit = 1u << 12,
    .fast_clock = clock_l0,
    .fast_clock_hz = 16000000,
    .rcc_cfgr = 0x4002100Cu,
};

/* RM0351 46.16.4 (DBGMCU_APB1FZR1 DBG_IWDG_STOP b12), 47.1-47.2. */
static const fl_line line_l4 = {
    .name = "STM32L4",
    .id = "l4",
    .family = &fl_family_l4,
    .idcode_addr = 0xE0042000u,
    .flash_base = 0x08000000u,
    .flash_regs = 0x40022000u,
    .flash_size_reg = 0x1FFF75E0u,
    .uid_addr = {0x1FFF7590u, 0x1FFF7594u, 0x1FFF7598u},
    .wdg_freeze_reg = 0xE0042008u,
    .wdg_freeze_bit = 1u << 12,
    .fast_clock = clock_l4,
    .fast_clock_hz = 80000000,
    .rcc_cfgr = 0x40021008u,
};

/* ---- devices ------------------------------------------------------------- */

static const fl_chip chips[] = {
    {
        .dev_id = 0x410,
        .name = "STM32F10x medium density",
        .line = &line_f1,
        .parts = "stm32f101;stm32f102;stm32f103",
        .flash_size_max = 128 * 1024,
        .units = {{0, 1024}}, /* 1 KiB pages */
        .banks = 1,
        .sram_base = 0x20000000u,
        .sram_size = 20 * 1024,
    },
    {
        .dev_id = 0x421,
        .name = "STM32F446",
        .line = &line_f446,
        .parts = "stm32f446",
        .flash_size_max = 512 * 1024,
        .units = {{4, 16 * 1024}, {1, 64 * 1024}, {0, 128 * 1024}},
        .banks = 1,
        .sram_base = 0x20000000u,
        .sram_size = 128 * 1024,
    },
    {
        .dev_id = 0x417,
        .name = "STM32L05x/L06x (category 3)",
        .line = &line_l0,
        .parts = "stm32l051;stm32l052;stm32l053;stm32l062;stm32l063",
        .flash_size_max = 64 * 1024,
        .units = {{0, 128}}, /* 128-byte pages */
        .banks = 1,
        .sram_base = 0x20000000u,
        .sram_size = 8 * 1024,
    },
    {
        .dev_id = 0x415,
        .name = "STM32L47x/L48x",
        .line = &line_l4,
        .parts = "stm32l475;stm32l476;stm32l486",
        .flash_size_max = 1024 * 1024,
        .units = {{0, 2048}}, /* 2 KiB pages, numbered per bank */
        .banks = 2,
        .sram_base = 0x20000000u,
        .sram_size = 96 * 1024,
    },
};

#define NCHIPS (sizeof chips / sizeof chips[0])

const fl_chip *fl_chip_by_dev_id(uint16_t dev_id)
{
    for (size_t i = 0; i < NCHIPS; i++)
        if (chips[i].dev_id == dev_id)
            return &chips[i];
    return NULL;
}

const fl_chip *fl_chip_at(size_t i)
{
    return i < NCHIPS ? &chips[i] : NULL;
}

const char *fl_chip_stub(const fl_chip *c)
{
    return c->line->family->stub;
}

uint32_t fl_chip_program_unit(const fl_chip *c)
{
    return c->line->family->program_unit;
}

uint8_t fl_chip_erased(const fl_chip *c)
{
    return c->line->family->erased;
}

const char *fl_chip_line_short(const fl_chip *c)
{
    return c->line->id;
}

void fl_lines_list(char *buf, size_t n, bool lower)
{
    size_t used = 0;
    if (n)
        buf[0] = '\0';
    for (size_t i = 0; i < NCHIPS; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen |= strcmp(chips[j].line->name, chips[i].line->name) == 0;
        if (seen)
            continue;
        const char *name = lower ? fl_chip_line_short(&chips[i]) : chips[i].line->name;
        int k = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", name);
        if (k < 0 || (size_t)k >= n - used)
            return;
        used += (size_t)k;
    }
}

/* Units in one bank of bank_size bytes; 0 when the runs do not tile it. */
static uint32_t units_in_bank(const fl_chip *c, uint32_t bank_size)
{
    uint32_t n = 0, covered = 0;
    for (size_t r = 0; r < 3 && c->units[r].size && covered < bank_size; r++) {
        const fl_unit_run *run = &c->units[r];
        uint32_t left = bank_size - covered;
        uint32_t take = run->count ? run->count : left / run->size;
        if ((uint64_t)take * run->size > left)
            take = left / run->size;
        n += take;
        covered += take * run->size;
    }
    return covered == bank_size ? n : 0;
}

static bool valid_size(const fl_chip *c, uint32_t flash_size)
{
    return flash_size && flash_size <= c->flash_size_max && flash_size % c->banks == 0;
}

uint32_t fl_chip_unit_count(const fl_chip *c, uint32_t flash_size)
{
    if (!valid_size(c, flash_size))
        return 0;
    return units_in_bank(c, flash_size / c->banks) * c->banks;
}

bool fl_chip_unit(const fl_chip *c, uint32_t flash_size, uint32_t i, fl_unit *out)
{
    uint32_t per_bank = fl_chip_unit_count(c, flash_size) / c->banks;
    if (per_bank == 0 || i >= per_bank * c->banks)
        return false;
    uint32_t bank = i / per_bank, k = i % per_bank;
    uint32_t addr = c->line->flash_base + bank * (flash_size / c->banks);
    for (size_t r = 0; r < 3 && c->units[r].size; r++) {
        const fl_unit_run *run = &c->units[r];
        uint32_t take = run->count ? run->count : per_bank;
        if (k < take) {
            *out = (fl_unit){i, addr + k * run->size, run->size, bank, i % per_bank};
            return true;
        }
        k -= take;
        addr += take * run->size;
    }
    return false;
}

bool fl_chip_unit_at(const fl_chip *c, uint32_t flash_size, uint32_t addr, fl_unit *out)
{
    uint32_t n = fl_chip_unit_count(c, flash_size);
    if (n == 0 || addr < c->line->flash_base || addr - c->line->flash_base >= flash_size)
        return false;
    /* Units are in address order: binary search. */
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        fl_unit u;
        fl_chip_unit(c, flash_size, mid, &u);
        if (addr < u.addr)
            hi = mid;
        else if (addr - u.addr >= u.size)
            lo = mid + 1;
        else {
            *out = u;
            return true;
        }
    }
    return false;
}

/* Flash-size letter of an STM32 ordering code, in KiB (datasheets'
 * "Ordering information" tables); 0 for a letter we do not know. */
static uint32_t flash_code_kib(char c)
{
    static const struct {
        char code;
        uint32_t kib;
    } codes[] = {{'4', 16},  {'6', 32},  {'8', 64},  {'b', 128},  {'z', 192},  {'c', 256},
                 {'d', 384}, {'e', 512}, {'f', 768}, {'g', 1024}, {'h', 1536}, {'i', 2048}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == tolower((unsigned char)c))
            return codes[i].kib;
    return 0;
}

bool fl_chip_matches_part(const fl_chip *c, uint32_t flash_size, const char *part, char *why,
                          size_t whylen)
{
    const char *p = c->parts;
    while (p && *p) {
        size_t n = strcspn(p, ";");
        if (strlen(part) >= n && strncasecmp(part, p, n) == 0) {
            /* After the prefix: the pin-count letter, then the flash code. */
            const char *rest = part + n;
            if (strlen(rest) < 2 || tolower((unsigned char)rest[1]) == 'x')
                return true;
            uint32_t kib = flash_code_kib(rest[1]);
            if (kib == 0 || kib * 1024u == flash_size)
                return true;
            snprintf(why, whylen, "%s has %u KiB of flash, the board %u KiB", part, kib,
                     flash_size / 1024u);
            return false;
        }
        p += n + (p[n] == ';');
    }
    snprintf(why, whylen, "the board is a %s, not a %s", c->name, part);
    return false;
}

bool fl_chip_matches_family(const fl_chip *c, const char *family)
{
    const char *name = c->line->name; /* "STM32F1" */
    return strcasecmp(family, name) == 0 || strcasecmp(family, c->line->id) == 0;
}
