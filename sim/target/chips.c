/*
 * The chip table's lookup: the rows of every series (chips_<series>.c) in
 * one index, and ordering codes resolved into concrete parts (see
 * chip_table.h for the data and where it comes from).
 *
 * sim_chip_find() takes
 *  - the name of a row ("stm32f103rb"): that row itself;
 *  - any ordering code of a modelled line, prefix + pin-count letter +
 *    flash-size letter ("stm32f103c8", "stm32f401ve"): the row of its die
 *    with the flash size the letter gives and the SRAM of that part, named
 *    generically with ST's "x" for the package ("stm32f103x8"). Upper case
 *    is accepted too. A line with a suffix (the L1 "-A" parts) takes it
 *    after the size letter, without the dash ("stm32l152rba" ->
 *    "stm32l152xba").
 * Anything else is not a modelled part: NULL, and sim_chip_known() says
 * what is.
 */
#include "chip_table.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const sim_chip_series *const series[] = {
    &sim_series_f1,   &sim_series_f4,  &sim_series_l,   &sim_series_f0f3,
    &sim_series_f7,   &sim_series_l4g, &sim_series_l01, &sim_series_l5u5,
    &sim_series_c0u0, &sim_series_l4p, &sim_series_h7,  &sim_series_h5};
#define NSERIES (sizeof series / sizeof series[0])

const sim_chip *sim_chip_at(size_t index)
{
    for (size_t s = 0; s < NSERIES; s++) {
        if (index < series[s]->nrows)
            return &series[s]->rows[index];
        index -= series[s]->nrows;
    }
    return NULL;
}

/* The flash-size letter of ST's ordering codes (every datasheet's
 * "ordering information scheme"). */
uint32_t sim_flash_kib_of(char code)
{
    switch (code) {
    case '3':
        return 8;
    case '4':
        return 16;
    case '6':
        return 32;
    case '8':
        return 64;
    case 'b':
        return 128;
    case 'c':
        return 256;
    case 'd':
        return 384;
    case 'e':
        return 512;
    case 'f':
        return 768;
    case 'g':
        return 1024;
    case 'h':
        return 1536;
    case 'i':
        return 2048;
    case 'j':
        return 4096;
    case 'z':
        return 192;
    default:
        return 0;
    }
}

/* Pin-count letters of the ordering codes (f 20, g 28, k 32, t 36, s 44,
 * c 48, r 64, m 80, o 90, v 100, q 132, z 144, i 176, b 208, n 216, and
 * the ball-grid and chip-scale ones), and "x" for any of them. */
static bool pin_letter(char c)
{
    return c && strchr("abcefghijkmnopqrstuvxyz", c) != NULL;
}

/* ---- the resolved parts ---------------------------------------------------- */

#define NAME_MAX_LEN 24
#define PARTS_MAX    512 /* every (line, size) of every series; test_chip_table checks they fit */

typedef struct part {
    sim_chip chip;
    char name[NAME_MAX_LEN];
} part;

static part parts[PARTS_MAX];
static size_t nparts;
static pthread_once_t parts_once = PTHREAD_ONCE_INIT;

/* Every (line, size) as a concrete row, built once: the rows handed out
 * must outlive every board made of them. */
static void build_parts(void)
{
    for (size_t s = 0; s < NSERIES; s++)
        for (size_t l = 0; l < series[s]->nlines; l++) {
            const sim_part_line *line = &series[s]->lines[l];
            for (size_t k = 0; k < SIM_PART_SIZES && line->size[k].code; k++) {
                const sim_part_size *z = &line->size[k];
                if (nparts == PARTS_MAX || !z->die)
                    return; /* the table test counts them: cannot happen */
                part *p = &parts[nparts++];
                p->chip = *z->die;
                int head = (int)strcspn(line->prefix, "-");
                const char *tail = line->prefix[head] ? line->prefix + head + 1 : "";
                snprintf(p->name, sizeof p->name, "%.*sx%c%s", head, line->prefix, z->code, tail);
                p->chip.name = p->name;
                /* The row's own size letter gives the row's flash size: ST
                 * gives a letter an odd size on some lines (WB10/WB15: "C"
                 * = 320 KiB, DS13258 ordering information); the row holds
                 * it. Other letters take the usual table. */
                size_t dn = strlen(z->die->name);
                p->chip.flash_size = z->die->name[dn - 1] == z->code
                                         ? z->die->flash_size
                                         : sim_flash_kib_of(z->code) * 1024;
                p->chip.sram_size = (uint32_t)z->sram_kib * 1024;
                if (z->flash)
                    p->chip.flash = z->flash;
            }
        }
}

const sim_chip *sim_chip_find(const char *name)
{
    if (!name)
        return NULL;
    char low[NAME_MAX_LEN];
    size_t n = strlen(name);
    if (n >= sizeof low)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    for (size_t i = 0; sim_chip_at(i); i++)
        if (strcmp(sim_chip_at(i)->name, low) == 0)
            return sim_chip_at(i);
    /* prefix + pin-count letter + flash-size letter (+ a line's suffix of
     * up to two letters) */
    pthread_once(&parts_once, build_parts);
    for (size_t sfx = 0; sfx <= 2 && sfx + 3 <= n; sfx++) {
        size_t at = n - sfx - 2;
        if (!pin_letter(low[at]) || !sim_flash_kib_of(low[at + 1]))
            continue;
        char pin = low[at];
        low[at] = 'x';
        for (size_t i = 0; i < nparts; i++)
            if (strcmp(parts[i].name, low) == 0)
                return &parts[i].chip;
        low[at] = pin;
    }
    return NULL;
}

/* Append to buf as snprintf would, keeping count past the end. */
static void put(char *buf, size_t len, size_t *used, const char *a, const char *prefix, char code,
                bool with_prefix)
{
    char *at = buf && *used < len ? buf + *used : NULL;
    int head = (int)strcspn(prefix, "-");
    const char *tail = prefix[head] ? prefix + head + 1 : "";
    int w = snprintf(at, at ? len - *used : 0, "%s%.*sx%c%s", a, with_prefix ? head : 0, prefix,
                     code, tail);
    if (w > 0)
        *used += (size_t)w;
}

size_t sim_chip_known(char *buf, size_t len)
{
    size_t used = 0;
    if (buf && len)
        buf[0] = 0;
    for (size_t s = 0; s < NSERIES; s++)
        for (size_t l = 0; l < series[s]->nlines; l++) {
            const sim_part_line *line = &series[s]->lines[l];
            for (size_t k = 0; k < SIM_PART_SIZES && line->size[k].code; k++)
                put(buf, len, &used,
                    k      ? "/"
                    : used ? ", "
                           : "",
                    line->prefix, line->size[k].code, k == 0);
        }
    return used;
}
