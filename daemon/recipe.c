/*
 * A job's recipe from JSON (recipe.h). Every check the API used to repeat
 * lives here, once.
 */
#define _DEFAULT_SOURCE /* strcasecmp */
#include "recipe.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static recipe_err fail(char *msg, size_t n, recipe_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A message cut to fit its buffer ends on a whole UTF-8 character: the API
 * sends it back in JSON, and jansson refuses a cut one (the client got 500
 * "out of memory building the answer" for a long unknown field name). */
static void utf8_trim_cut(char *msg)
{
    size_t len = strlen(msg), lead = len, cont = 0;
    while (lead > 0 && cont < 3 && ((unsigned char)msg[lead - 1] & 0xC0) == 0x80) {
        lead--;
        cont++;
    }
    if (lead == 0 || (unsigned char)msg[lead - 1] < 0xC0)
        return; /* ASCII last, or no lead byte to judge by */
    unsigned char c = (unsigned char)msg[lead - 1];
    size_t want = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    if (cont < want)
        msg[lead - 1] = '\0';
}

static recipe_err fail(char *msg, size_t n, recipe_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    if (n > 0 && k >= 0 && (size_t)k >= n)
        utf8_trim_cut(msg);
    return e;
}

/* Only these keys may appear in obj: a typo must not silently drop a
 * setting the operator meant. */
static recipe_err only_keys(const json_t *obj, const char *const *keys, const char *where,
                            char *msg, size_t n)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i]; i++)
            known |= strcmp(k, keys[i]) == 0;
        if (!known)
            return fail(msg, n, RECIPE_E_BAD_REQUEST, "unknown field \"%s\" in %s", k, where);
    }
    return RECIPE_OK;
}

/* An integer field in [lo, hi]; absent leaves *out alone. */
static recipe_err int_field(const json_t *obj, const char *key, int64_t lo, int64_t hi,
                            const char *where, int64_t *out, char *msg, size_t n)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return RECIPE_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return fail(msg, n, RECIPE_E_BAD_REQUEST,
                    "%s\"%s\" must be an integer from %" PRId64 " to %" PRId64, where, key, lo, hi);
    *out = json_integer_value(v);
    return RECIPE_OK;
}

static bool parse_u32(const json_t *v, uint32_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 0xFFFFFFFFll) {
        *out = (uint32_t)json_integer_value(v);
        return true;
    }
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || !end || *end || end == s || x > 0xFFFFFFFFull)
        return false;
    *out = (uint32_t)x;
    return true;
}

/* The chip table row an ordering code or a family names, for the checks
 * made before any board is seen: does the image fit, is the serial address
 * in flash. */
static const fl_chip *chip_for(const char *chip, const char *family, uint32_t *flash_size)
{
    const fl_chip *best = NULL;
    for (size_t i = 0; fl_chip_at(i); i++) {
        const fl_chip *c = fl_chip_at(i);
        if (family) {
            /* A family: the largest of its parts, so that every image
             * that fits one of them passes here; the board decides. */
            if (fl_chip_matches_family(c, family) &&
                (!best || c->flash_size_max > best->flash_size_max))
                best = c;
            continue;
        }
        if (!chip || !fl_chip_has_part(c, chip))
            continue;
        /* The ordering code's size letter picks the row among those that
         * share its prefix (stm32f103c8: medium density, stm32f103ze: high
         * density); without one, the largest. */
        uint32_t size = fl_part_flash_size(chip);
        if (size == 0) {
            if (!best || c->flash_size_max > best->flash_size_max)
                best = c;
        } else if (size <= c->flash_size_max && fl_chip_unit_count(c, size) > 0) {
            *flash_size = size;
            return c;
        }
    }
    if (best)
        *flash_size = best->flash_size_max;
    return best;
}

int64_t recipe_serial_max(const serial_spec *s)
{
    unsigned digits_per_byte = 0;
    int64_t base = 0;
    switch (s->format) {
    case SERIAL_U32LE:
        if (s->width >= 8)
            return INT64_MAX;
        return (int64_t)((UINT64_C(1) << (8 * s->width)) - 1);
    case SERIAL_ASCII_DEC:
        base = 10;
        digits_per_byte = 1;
        break;
    case SERIAL_ASCII_HEX:
        base = 16;
        digits_per_byte = 1;
        break;
    }
    /* base^width - 1, stopping before it would pass INT64_MAX. */
    int64_t v = 1;
    for (unsigned i = 0; i < s->width * digits_per_byte; i++) {
        if (v > INT64_MAX / base)
            return INT64_MAX;
        v *= base;
    }
    return v - 1;
}

void recipe_default_series(const serial_spec *s, char out[RECIPE_SERIES_LEN])
{
    snprintf(out, RECIPE_SERIES_LEN, "0x%08" PRIX32 "/%s", s->addr, serial_format_name(s->format));
}

/* A series name: printable ASCII without spaces or quotes, so that it reads
 * the same in logs, URLs and CSV. */
static bool series_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= RECIPE_SERIES_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '"' || s[i] == '\'' || s[i] == '\\')
            return false;
    return true;
}

static recipe_err parse_serial(const json_t *v, job_recipe *r, char *msg, size_t n)
{
    static const char *const skeys[] = {"addr", "width", "format", "start", "step", "series", NULL};
    if (!json_is_object(v))
        return fail(msg, n, RECIPE_E_BAD_REQUEST, "\"serial\" must be an object");
    recipe_err e = only_keys(v, skeys, "serial", msg, n);
    if (e)
        return e;
    serial_spec *sp = &r->serial;
    *sp = (serial_spec){.format = SERIAL_U32LE, .width = 4, .step = 1};
    const json_t *f = json_object_get(v, "format");
    if (f && (!json_is_string(f) || !serial_format_parse(json_string_value(f), &sp->format)))
        return fail(msg, n, RECIPE_E_BAD_REQUEST,
                    "serial \"format\" must be \"u32le\", \"ascii-dec\" or \"ascii-hex\"");
    if (sp->format != SERIAL_U32LE)
        sp->width = 8;
    if (!parse_u32(json_object_get(v, "addr"), &sp->addr))
        return fail(msg, n, RECIPE_E_BAD_REQUEST,
                    "serial \"addr\" is required: the flash address, e.g. \"0x0800FC00\"");
    int64_t width = sp->width, start = 0, step = 1;
    if ((e = int_field(v, "width", 1, SERIAL_MAX_WIDTH, "serial ", &width, msg, n)) ||
        (e = int_field(v, "start", 0, INT64_MAX, "serial ", &start, msg, n)) ||
        (e = int_field(v, "step", 1, INT64_MAX, "serial ", &step, msg, n)))
        return e;
    sp->width = (unsigned)width;
    sp->start = start;
    sp->step = step;
    char why[160];
    if (!serial_spec_check(sp, why, sizeof why))
        return fail(msg, n, RECIPE_E_BAD_REQUEST, "%s", why);
    r->serial_max = recipe_serial_max(sp);
    r->serial_continue = json_object_get(v, "start") == NULL;
    if (sp->start > r->serial_max)
        return fail(msg, n, RECIPE_E_BAD_REQUEST,
                    "serial \"start\" %" PRId64 " does not fit %u %s: the largest is %" PRId64,
                    sp->start, sp->width, sp->format == SERIAL_U32LE ? "bytes" : "characters",
                    r->serial_max);
    /* Every unit the job asks for must get a number that fits: start +
     * (count - 1) * step <= max, checked without overflowing. A continuous
     * job is stopped when its series runs out (the store says so). */
    if (r->count > 0 && !r->serial_continue &&
        (uint64_t)(r->count - 1) > (uint64_t)(r->serial_max - sp->start) / (uint64_t)sp->step)
        return fail(msg, n, RECIPE_E_BAD_REQUEST,
                    "%" PRId64 " units from serial %" PRId64 " in steps of %" PRId64
                    " pass %" PRId64 ", the largest number %u %s hold: lower \"count\" or "
                    "\"start\", or widen the format",
                    r->count, sp->start, sp->step, r->serial_max, sp->width,
                    sp->format == SERIAL_U32LE ? "bytes" : "characters");
    const json_t *series = json_object_get(v, "series");
    if (series) {
        if (!json_is_string(series) || !series_name_ok(json_string_value(series)))
            return fail(msg, n, RECIPE_E_BAD_REQUEST,
                        "serial \"series\" must be a name of 1 to %d printable characters "
                        "without spaces or quotes",
                        RECIPE_SERIES_LEN - 1);
        snprintf(r->series, sizeof r->series, "%s", json_string_value(series));
    } else {
        recipe_default_series(sp, r->series);
    }
    if (sp->addr < r->row->line->flash_base ||
        (uint64_t)sp->addr + sp->width > (uint64_t)r->row->line->flash_base + r->flash_size ||
        sp->addr % fl_chip_program_unit(r->row))
        return fail(msg, n, RECIPE_E_UNPROCESSABLE,
                    "the serial number at 0x%08X+%u is not in the chip's flash (or not "
                    "aligned to its %u-byte program unit)",
                    sp->addr, sp->width, fl_chip_program_unit(r->row));
    r->has_serial = true;
    return RECIPE_OK;
}

static recipe_err parse_probes(const json_t *pr, job_recipe *r, char *msg, size_t n)
{
    if (!pr)
        return RECIPE_OK;
    if (!json_is_array(pr))
        return fail(msg, n, RECIPE_E_BAD_REQUEST, "\"probes\" must be an array of serials");
    size_t np = json_array_size(pr);
    if (np == 0)
        return fail(msg, n, RECIPE_E_BAD_REQUEST,
                    "\"probes\" is empty, so the job could never run: name at least one probe, "
                    "or leave \"probes\" out to use every free probe");
    if (np > RECIPE_PROBES_MAX)
        return fail(msg, n, RECIPE_E_BAD_REQUEST, "\"probes\" names more than %d probes",
                    RECIPE_PROBES_MAX);
    r->probes = calloc(np, sizeof *r->probes);
    if (!r->probes)
        return fail(msg, n, RECIPE_E_NOMEM, "out of memory");
    for (size_t i = 0; i < np; i++) {
        const char *ser = json_string_value(json_array_get(pr, i));
        if (!ser || !*ser || strlen(ser) >= RECIPE_PROBE_LEN)
            return fail(msg, n, RECIPE_E_BAD_REQUEST,
                        "\"probes\" must be an array of probe serials (1 to %d characters)",
                        RECIPE_PROBE_LEN - 1);
        for (size_t k = 0; k < r->nprobes; k++)
            if (strcasecmp(r->probes[k], ser) == 0)
                return fail(msg, n, RECIPE_E_BAD_REQUEST, "\"probes\" names %s twice", ser);
        snprintf(r->probes[r->nprobes++], RECIPE_PROBE_LEN, "%s", ser);
    }
    r->probes_given = true;
    return RECIPE_OK;
}

static recipe_err parse_options(const json_t *req, job_recipe *r, char *msg, size_t n)
{
    const json_t *v = json_object_get(req, "erase");
    if (v) {
        const char *t = json_string_value(v);
        if (!t || (strcmp(t, "auto") && strcmp(t, "chip")))
            return fail(msg, n, RECIPE_E_BAD_REQUEST, "\"erase\" must be \"auto\" or \"chip\"");
        r->erase = strcmp(t, "chip") == 0 ? PLAN_ERASE_CHIP : PLAN_ERASE_AUTO;
    }
    v = json_object_get(req, "verify");
    if (v) {
        const char *t = json_string_value(v);
        if (t && strcmp(t, "crc") == 0)
            r->verify = UNIT_VERIFY_CRC;
        else if (t && strcmp(t, "read") == 0)
            r->verify = UNIT_VERIFY_READ;
        else if (t && strcmp(t, "none") == 0)
            r->verify = UNIT_VERIFY_NONE;
        else
            return fail(msg, n, RECIPE_E_BAD_REQUEST,
                        "\"verify\" must be \"crc\", \"read\" or \"none\"");
    }
    v = json_object_get(req, "reset_run");
    if (v && !json_is_boolean(v))
        return fail(msg, n, RECIPE_E_BAD_REQUEST, "\"reset_run\" must be true or false");
    if (v)
        r->reset_run = json_is_true(v);
    v = json_object_get(req, "option_bytes");
    if (v) {
        static const char *const okeys[] = {"rdp", "confirm", NULL};
        recipe_err e;
        if (!json_is_object(v))
            return fail(msg, n, RECIPE_E_BAD_REQUEST, "\"option_bytes\" must be an object");
        if ((e = only_keys(v, okeys, "option_bytes", msg, n)))
            return e;
        const json_t *rdp = json_object_get(v, "rdp");
        if (rdp &&
            (!json_is_integer(rdp) || json_integer_value(rdp) < 0 || json_integer_value(rdp) > 1))
            return fail(msg, n, RECIPE_E_BAD_REQUEST,
                        "\"rdp\" must be 0 or 1 (level 2 is permanent and not offered)");
        if (rdp)
            r->rdp = (int)json_integer_value(rdp);
        const json_t *confirm = json_object_get(v, "confirm");
        if (confirm &&
            (!json_is_string(confirm) || strlen(json_string_value(confirm)) >= sizeof r->confirm))
            return fail(msg, n, RECIPE_E_BAD_REQUEST,
                        "\"confirm\" must be a short word (the one an error asked for)");
        if (confirm)
            snprintf(r->confirm, sizeof r->confirm, "%s", json_string_value(confirm));
    }
    v = json_object_get(req, "name");
    if (v && (!json_is_string(v) || strlen(json_string_value(v)) > RECIPE_NAME_MAX))
        return fail(msg, n, RECIPE_E_BAD_REQUEST, "\"name\" must be a string of up to %d bytes",
                    RECIPE_NAME_MAX);
    if (v)
        snprintf(r->name, sizeof r->name, "%s", json_string_value(v));
    return RECIPE_OK;
}

static recipe_err parse_all(const json_t *req, const image *img, job_recipe *r, char *msg, size_t n)
{
    static const char *const keys[] = {"image",  "chip",   "family", "count",        "continuous",
                                       "erase",  "verify", "serial", "option_bytes", "reset_run",
                                       "probes", "name",   NULL};
    if (!json_is_object(req))
        return fail(msg, n, RECIPE_E_BAD_REQUEST, "the job must be a JSON object");
    recipe_err e = only_keys(req, keys, "the job", msg, n);
    if (e)
        return e;
    const json_t *chip = json_object_get(req, "chip"), *family = json_object_get(req, "family");
    if ((chip && !json_is_string(chip)) || (family && !json_is_string(family)) ||
        (!chip && !family) || (chip && family))
        return fail(msg, n, RECIPE_E_BAD_REQUEST,
                    "give the expected board as \"chip\" (e.g. \"stm32f103rb\") or \"family\" "
                    "(e.g. \"f1\"), one of the two");
    const char *cname = chip ? json_string_value(chip) : NULL;
    const char *fname = family ? json_string_value(family) : NULL;
    if ((cname && strlen(cname) >= sizeof r->chip) || (fname && strlen(fname) >= sizeof r->family))
        return fail(msg, n, RECIPE_E_BAD_REQUEST, "\"%s\" is too long for a chip or family name",
                    cname ? "chip" : "family");
    r->row = chip_for(cname, fname, &r->flash_size);
    if (!r->row) {
        /* From the chip table, so that a new row is named without
         * editing this file; the ordering codes are too many for one
         * message. */
        char known[256];
        fl_lines_list(known, sizeof known, true);
        return fail(msg, n, RECIPE_E_UNPROCESSABLE,
                    "unknown %s \"%s\": Flashline programs the families %s (`flashline chips` "
                    "lists every ordering code)",
                    cname ? "chip" : "family", cname ? cname : fname, known);
    }
    snprintf(r->chip, sizeof r->chip, "%s", cname ? cname : "");
    snprintf(r->family, sizeof r->family, "%s", fname ? fname : "");
    if (!image_fits(img, r->row->line->flash_base, r->row->line->flash_base + r->flash_size))
        return fail(msg, n, RECIPE_E_UNPROCESSABLE,
                    "the image (0x%08X..0x%08llX) does not fit the %u KiB of flash at 0x%08X "
                    "of a %s: check the image and the chip",
                    image_lowest_address(img), (unsigned long long)image_end_address(img) - 1,
                    r->flash_size / 1024, r->row->line->flash_base, cname ? cname : fname);

    const json_t *count = json_object_get(req, "count"), *cont = json_object_get(req, "continuous");
    if (cont && !json_is_boolean(cont))
        return fail(msg, n, RECIPE_E_BAD_REQUEST, "\"continuous\" must be true or false");
    bool continuous = json_is_true(cont);
    if (continuous == (count != NULL))
        return fail(msg, n, RECIPE_E_BAD_REQUEST,
                    "say how many units: \"count\": N, or \"continuous\": true (not both)");
    r->count = -1;
    if (count && (e = int_field(req, "count", 1, 100000000, "", &r->count, msg, n)))
        return e;
    if ((e = parse_options(req, r, msg, n)))
        return e;
    /* Refused here, before any board, as well as by the engine. */
    const char *word = fl_chip_option_confirm(r->row);
    if (r->rdp >= 0 && word && strcmp(r->confirm, word) != 0)
        return fail(msg, n, RECIPE_E_UNPROCESSABLE,
                    "a %s is a TrustZone part, where a wrong option byte can lock it for good: "
                    "to write its RDP level, add \"confirm\": \"%s\" to \"option_bytes\"",
                    cname ? cname : fname, word);
    const json_t *v = json_object_get(req, "serial");
    if (v && !json_is_null(v) && (e = parse_serial(v, r, msg, n)))
        return e;
    return parse_probes(json_object_get(req, "probes"), r, msg, n);
}

recipe_err recipe_parse(const json_t *req, const image *img, job_recipe *r, char *msg,
                        size_t msglen)
{
    *r = (job_recipe){.erase = PLAN_ERASE_AUTO,
                      .verify = UNIT_VERIFY_CRC,
                      .rdp = -1,
                      .reset_run = true,
                      .count = -1};
    recipe_err e = parse_all(req, img, r, msg, msglen);
    if (e != RECIPE_OK)
        recipe_clear(r);
    return e;
}

void recipe_clear(job_recipe *r)
{
    free(r->probes);
    r->probes = NULL;
    r->nprobes = 0;
    r->probes_given = false;
}
