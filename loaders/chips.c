/*
 * What the chip table answers (chips.h): lookups, erase-unit layouts and
 * ordering-code matching, over the rows in chip_table.c.
 */
#include "chips.h"
#include "family.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The rows (chip_table.c). */
extern const fl_chip fl_chip_rows[];
extern const size_t fl_chip_nrows;
#define NCHIPS fl_chip_nrows
#define chips  fl_chip_rows

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

const char *fl_chip_option_confirm(const fl_chip *c)
{
    return c->line->family->opt.confirm;
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

uint32_t fl_chip_banks(const fl_chip *c, uint32_t flash_size)
{
    return c->banks == 2 && flash_size >= c->dual_from ? 2 : 1;
}

static bool valid_size(const fl_chip *c, uint32_t flash_size)
{
    uint32_t banks = fl_chip_banks(c, flash_size);
    if (c->bank2_at && banks == 2 && flash_size / 2 != c->bank2_at)
        return false; /* bank 2 after a gap: not modelled */
    return flash_size && flash_size <= c->flash_size_max && flash_size % banks == 0;
}

uint32_t fl_chip_unit_count(const fl_chip *c, uint32_t flash_size)
{
    if (!valid_size(c, flash_size))
        return 0;
    uint32_t banks = fl_chip_banks(c, flash_size);
    return units_in_bank(c, flash_size / banks) * banks;
}

bool fl_chip_unit(const fl_chip *c, uint32_t flash_size, uint32_t i, fl_unit *out)
{
    uint32_t banks = fl_chip_banks(c, flash_size);
    uint32_t per_bank = fl_chip_unit_count(c, flash_size) / banks;
    if (per_bank == 0 || i >= per_bank * banks)
        return false;
    uint32_t bank = i / per_bank, k = i % per_bank;
    uint32_t addr = c->line->flash_base + bank * (flash_size / banks);
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

/* Length of the row's part prefix that part starts with; 0 for none. */
static size_t part_prefix(const fl_chip *c, const char *part)
{
    const char *p = c->parts;
    while (p && *p) {
        size_t n = strcspn(p, ";");
        if (strlen(part) >= n && strncasecmp(part, p, n) == 0)
            return n;
        p += n + (p[n] == ';');
    }
    return 0;
}

bool fl_chip_has_part(const fl_chip *c, const char *part)
{
    return part_prefix(c, part) != 0;
}

uint32_t fl_part_flash_size(const char *part)
{
    /* "stm32" and four characters of line ("f103"), then the pin-count
     * letter, then the size letter. */
    if (strlen(part) < 11 || strncasecmp(part, "stm32", 5) != 0)
        return 0;
    return flash_code_kib(part[10]) * 1024u;
}

bool fl_chip_matches_part(const fl_chip *c, uint32_t flash_size, const char *part, char *why,
                          size_t whylen)
{
    size_t n = part_prefix(c, part);
    if (n == 0) {
        snprintf(why, whylen, "the board is a %s, not a %s", c->name, part);
        return false;
    }
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

bool fl_chip_matches_family(const fl_chip *c, const char *family)
{
    const char *name = c->line->name; /* "STM32F1" */
    return strcasecmp(family, name) == 0 || strcasecmp(family, c->line->id) == 0;
}
