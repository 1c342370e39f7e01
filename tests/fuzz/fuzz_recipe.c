/*
 * libFuzzer harness for a job's recipe (daemon/recipe): the JSON a client
 * posts to /v1/jobs, parsed as the API parses it (json_loadb with
 * JSON_REJECT_DUPLICATES) and checked against a fixed image. The first input
 * byte picks the image (byte % 3: '\t' 16 KiB at 0x08000000, '\n' 96 KiB at
 * 0x08000000, ' ' 1 KiB at 0x0807FC00, so a seed stays readable JSON); the
 * rest is the JSON text.
 *
 * Checked on every accepted recipe, against the request and the chip table:
 *  - one of chip and family, as the request names it, and a row that matches
 *    it; the image lies inside [flash_base, flash_base + flash_size);
 *  - count is -1 (continuous) or 1..100000000, as asked;
 *  - a serial: a width its format allows, step >= 1, start within
 *    serial_max, serial_max == recipe_serial_max and is exactly the largest
 *    value serial_encode accepts; start and (for a counted job with a start)
 *    the last unit's number encode; the field lies in flash, aligned to the
 *    program unit; the series is a printable name without spaces or quotes;
 *  - probes: 1..RECIPE_PROBES_MAX non-empty serials, none twice (ignoring
 *    case), as the request lists them; a name of at most RECIPE_NAME_MAX;
 *  - the same text parsed again gives the same recipe, and so does the
 *    recipe the station keeps (the request with its probes, dumped compact
 *    and sorted) parsed again after a restart.
 * On a refusal: a message that is non-empty, NUL-terminated within the
 * buffer, valid UTF-8 (the API sends it back in JSON: jansson refuses
 * anything else), and nothing left to free.
 */
#include "recipe.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* As the API's (daemon/api.c MSG_LEN) and the restart's (station.c). */
#define API_MSG_LEN     512
#define RESTART_MSG_LEN 256

static const image *test_image(unsigned which)
{
    static image *imgs[3];
    static const struct {
        uint32_t base, len;
    } shapes[3] = {{0x08000000u, 16 * 1024}, {0x08000000u, 96 * 1024}, {0x0807FC00u, 1024}};
    if (!imgs[which]) {
        uint8_t *bytes = malloc(shapes[which].len);
        char why[128];
        if (!bytes)
            abort();
        for (uint32_t i = 0; i < shapes[which].len; i++)
            bytes[i] = (uint8_t)(i * 13 + 5);
        if (image_load_mem(bytes, shapes[which].len, IMAGE_FMT_BIN, shapes[which].base,
                           &imgs[which], why, sizeof why) != IMG_OK)
            abort();
        free(bytes);
    }
    return imgs[which];
}

/* Strict UTF-8: no stray continuation bytes, no cut sequences, no overlong
 * forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_ok(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s++, need, min;
        uint32_t cp;
        if (c < 0x80)
            continue;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1, min = 0x80, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2, min = 0x800, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, min = 0x10000, cp = c & 0x07;
        else
            return false;
        for (unsigned i = 0; i < need; i++, s++) {
            if ((*s & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (*s & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
    }
    return true;
}

/* The oracle, said another way than recipe.c says it: the name is made of
 * the visible ASCII characters other than the three quoting ones. */
static bool series_printable(const char *s)
{
    static const char allowed[] = "!#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`"
                                  "abcdefghijklmnopqrstuvwxyz{|}~";
    size_t n = strlen(s);
    return n > 0 && n < RECIPE_SERIES_LEN && strspn(s, allowed) == n;
}

static bool encodes(const serial_spec *s, int64_t value)
{
    uint8_t out[SERIAL_MAX_WIDTH];
    char text[SERIAL_TEXT_LEN], why[160];
    return serial_encode(s, value, out, text, sizeof text, why, sizeof why);
}

static void check_serial(const json_t *js, const job_recipe *r)
{
    const serial_spec *s = &r->serial;
    const fl_chip *c = r->row;
    if (s->format != SERIAL_U32LE && s->format != SERIAL_ASCII_DEC && s->format != SERIAL_ASCII_HEX)
        abort();
    if (s->width < 1 || s->width > SERIAL_MAX_WIDTH)
        abort();
    if (s->format == SERIAL_U32LE && s->width != 1 && s->width != 2 && s->width != 4 &&
        s->width != 8)
        abort();
    if (!json_object_get(js, "width") && s->width != (s->format == SERIAL_U32LE ? 4u : 8u))
        abort();
    if (s->step < 1 || s->start < 0 || s->start > r->serial_max)
        abort();
    if (r->serial_max != recipe_serial_max(s) || r->serial_max < 1)
        abort();
    /* serial_max is the largest number the format holds: it encodes, the
     * next one does not. */
    if (!encodes(s, r->serial_max) || (r->serial_max < INT64_MAX && encodes(s, r->serial_max + 1)))
        abort();
    if (!encodes(s, s->start))
        abort();
    /* The start as asked, or 0 to continue the series from its cursor. */
    const json_t *start = json_object_get(js, "start");
    if (r->serial_continue != !start || (start && json_integer_value(start) != s->start) ||
        (!start && s->start != 0))
        abort();
    if (r->count > 0 && !r->serial_continue) {
        /* start + (count - 1) * step <= serial_max, without overflow. */
        uint64_t room = (uint64_t)(r->serial_max - s->start);
        uint64_t units = (uint64_t)(r->count - 1);
        if (units != 0 && room / units < (uint64_t)s->step)
            abort();
        int64_t last = s->start + (int64_t)(units * (uint64_t)s->step);
        if (last > r->serial_max || !encodes(s, last))
            abort();
    }
    /* In the flash the job's chip has, aligned to what it programs at once. */
    if (s->addr < c->line->flash_base ||
        (uint64_t)s->addr + s->width > (uint64_t)c->line->flash_base + r->flash_size ||
        s->addr % fl_chip_program_unit(c) != 0)
        abort();
    if (!series_printable(r->series))
        abort();
    const json_t *series = json_object_get(js, "series");
    if (series) {
        if (strcmp(json_string_value(series), r->series) != 0)
            abort();
    } else {
        char def[RECIPE_SERIES_LEN];
        recipe_default_series(s, def);
        if (strcmp(def, r->series) != 0)
            abort();
    }
}

static void check_accepted(const json_t *req, const image *img, const job_recipe *r)
{
    /* The board: one of chip and family, as the request says. */
    const json_t *chip = json_object_get(req, "chip"), *family = json_object_get(req, "family");
    if ((r->chip[0] != '\0') == (r->family[0] != '\0') || !chip == !family)
        abort();
    if (chip ? strcmp(r->chip, json_string_value(chip)) != 0
             : strcmp(r->family, json_string_value(family)) != 0)
        abort();
    const fl_chip *c = r->row;
    bool in_table = false;
    for (size_t i = 0; fl_chip_at(i); i++)
        in_table |= fl_chip_at(i) == c;
    if (!c || !in_table || r->flash_size == 0 || r->flash_size > c->flash_size_max)
        abort();
    char why[160];
    if (family ? !fl_chip_matches_family(c, r->family) || r->flash_size != c->flash_size_max
               : !fl_chip_matches_part(c, r->flash_size, r->chip, why, sizeof why))
        abort();
    /* The image inside the flash. */
    if (image_lowest_address(img) < c->line->flash_base ||
        image_end_address(img) > (uint64_t)c->line->flash_base + r->flash_size)
        abort();

    const json_t *count = json_object_get(req, "count");
    if (count && json_is_true(json_object_get(req, "continuous")))
        abort();
    if (count ? r->count < 1 || r->count > 100000000 || r->count != json_integer_value(count)
              : r->count != -1 || !json_is_true(json_object_get(req, "continuous")))
        abort();
    if ((r->erase != PLAN_ERASE_AUTO && r->erase != PLAN_ERASE_CHIP) ||
        (r->verify != UNIT_VERIFY_CRC && r->verify != UNIT_VERIFY_READ &&
         r->verify != UNIT_VERIFY_NONE) ||
        r->rdp < -1 || r->rdp > 1)
        abort();

    const json_t *js = json_object_get(req, "serial");
    if (r->has_serial != (js && !json_is_null(js)))
        abort();
    if (r->has_serial)
        check_serial(js, r);

    const json_t *probes = json_object_get(req, "probes");
    if (r->probes_given != (probes != NULL))
        abort();
    if (!r->probes_given && (r->probes || r->nprobes))
        abort();
    if (r->probes_given) {
        if (!r->probes || r->nprobes < 1 || r->nprobes > RECIPE_PROBES_MAX ||
            r->nprobes != json_array_size(probes))
            abort();
        for (size_t i = 0; i < r->nprobes; i++) {
            size_t n = strnlen(r->probes[i], RECIPE_PROBE_LEN);
            if (n == 0 || n >= RECIPE_PROBE_LEN ||
                strcmp(r->probes[i], json_string_value(json_array_get(probes, i))) != 0)
                abort();
            for (size_t k = 0; k < i; k++)
                if (strcasecmp(r->probes[k], r->probes[i]) == 0)
                    abort();
        }
    }

    const json_t *name = json_object_get(req, "name");
    if (strnlen(r->name, sizeof r->name) > RECIPE_NAME_MAX ||
        strcmp(r->name, name ? json_string_value(name) : "") != 0)
        abort();
}

static void check_refused(recipe_err e, const job_recipe *r, const char *msg, size_t msglen)
{
    if (e != RECIPE_E_BAD_REQUEST && e != RECIPE_E_UNPROCESSABLE && e != RECIPE_E_NOMEM)
        abort();
    size_t n = strnlen(msg, msglen);
    if (n == 0 || n == msglen || !utf8_ok(msg))
        abort();
    /* What the API does with it. */
    json_t *j = json_string(msg);
    if (!j)
        abort();
    json_decref(j);
    if (r->probes || r->nprobes || r->probes_given)
        abort();
}

/* Two parses agree, field by field; the probes only with probes_too (after
 * a restart of a job that named none, the station named them). */
static void same_recipe(const job_recipe *a, const job_recipe *b, bool probes_too)
{
    if (strcmp(a->name, b->name) || strcmp(a->chip, b->chip) || strcmp(a->family, b->family) ||
        a->row != b->row || a->flash_size != b->flash_size || a->count != b->count ||
        a->erase != b->erase || a->verify != b->verify || a->rdp != b->rdp ||
        a->reset_run != b->reset_run || a->has_serial != b->has_serial)
        abort();
    if (a->has_serial &&
        (a->serial.addr != b->serial.addr || a->serial.width != b->serial.width ||
         a->serial.format != b->serial.format || a->serial.start != b->serial.start ||
         a->serial.step != b->serial.step || strcmp(a->series, b->series) ||
         a->serial_continue != b->serial_continue || a->serial_max != b->serial_max))
        abort();
    if (!probes_too)
        return;
    if (a->probes_given != b->probes_given || a->nprobes != b->nprobes)
        abort();
    for (size_t i = 0; i < a->nprobes; i++)
        if (strcmp(a->probes[i], b->probes[i]) != 0)
            abort();
}

/* A message buffer of exactly n bytes on the heap, none of them NUL: a
 * message not written, or not terminated, shows. */
static char *msg_buf(size_t n)
{
    char *m = malloc(n);
    if (!m)
        abort();
    memset(m, 'M', n);
    return m;
}

/* What the station keeps (station.c kept_recipe) and parses after a
 * restart: the request with the job's probes, dumped compact and sorted. */
static void check_restart(const json_t *req, const image *img, const job_recipe *r)
{
    json_t *keep = json_deep_copy(req);
    json_t *probes = json_array();
    if (!keep || !probes)
        abort();
    if (r->probes_given)
        for (size_t i = 0; i < r->nprobes; i++)
            json_array_append_new(probes, json_string(r->probes[i]));
    else
        json_array_append_new(probes, json_string("066DFF485750717867114355"));
    json_object_set_new(keep, "probes", probes);
    char *text = json_dumps(keep, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(keep);
    if (!text)
        abort();
    json_error_t je;
    json_t *again = json_loads(text, 0, &je);
    free(text);
    if (!again)
        abort();
    job_recipe r2;
    char *msg = msg_buf(RESTART_MSG_LEN);
    if (recipe_parse(again, img, &r2, msg, RESTART_MSG_LEN) != RECIPE_OK)
        abort();
    same_recipe(r, &r2, r->probes_given);
    if (!r2.probes_given || r2.nprobes < 1)
        abort();
    recipe_clear(&r2);
    free(msg);
    json_decref(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const image *img = test_image(data[0] % 3);
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    json_error_t je;
    json_t *req = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!req)
        return 0;
    job_recipe r;
    char *msg = msg_buf(API_MSG_LEN);
    recipe_err e = recipe_parse(req, img, &r, msg, API_MSG_LEN);
    if (e == RECIPE_OK)
        check_accepted(req, img, &r);
    else
        check_refused(e, &r, msg, API_MSG_LEN);

    /* The same text again, from a new parse of it. */
    json_t *req2 = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!req2)
        abort();
    job_recipe r2;
    char *msg2 = msg_buf(API_MSG_LEN);
    recipe_err e2 = recipe_parse(req2, img, &r2, msg2, API_MSG_LEN);
    if (e2 != e)
        abort();
    if (e == RECIPE_OK) {
        same_recipe(&r, &r2, true);
        check_restart(req, img, &r);
    } else if (strcmp(msg, msg2) != 0) {
        abort();
    }

    recipe_clear(&r);
    recipe_clear(&r2);
    /* Clearing twice is harmless. */
    recipe_clear(&r);
    if (r.probes || r.nprobes || r.probes_given)
        abort();
    free(msg);
    free(msg2);
    json_decref(req);
    json_decref(req2);
    return 0;
}
