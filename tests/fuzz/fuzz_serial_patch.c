/*
 * libFuzzer harness for a unit's serial number: jobs/serial (spec check and
 * encoding) and jobs/image_patch (writing it into the image). From the
 * input: a source image of up to four chunks (the first loaded as raw
 * binary, the rest patched in, so image_patch also builds it), a spec, and
 * a value. Checked against models computed here:
 *  - serial_spec_check accepts exactly the specs serial.h describes;
 *  - serial_encode accepts exactly the values that fit, and its bytes are
 *    the value in the spec's format; its text is the recorded value;
 *  - the patched image holds the serial's bytes at spec.addr and, at every
 *    other address, exactly the source's bytes: nothing lost, nothing added.
 */
#include "image.h"
#include "serial.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WRITES 5
/* As unit_outcome.serial_text (jobs/unit.h), which records the text. A
 * 32-character text serial once lost its last digit in 32 bytes. */
#define TEXT_LEN SERIAL_TEXT_LEN

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static uint64_t take(input *in, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes && in->n; i++, in->p++, in->n--)
        v |= (uint64_t)*in->p << (8 * i);
    return v;
}

/* The model of an image: the writes that made it, later ones on top. */
typedef struct write {
    uint64_t addr;
    size_t len;
    const uint8_t *bytes;
} write;

typedef struct model {
    write w[MAX_WRITES];
    int n;
} model;

static bool model_byte(const model *m, uint64_t addr, uint8_t *b)
{
    for (int i = m->n - 1; i >= 0; i--)
        if (addr >= m->w[i].addr && addr < m->w[i].addr + m->w[i].len) {
            *b = m->w[i].bytes[addr - m->w[i].addr];
            return true;
        }
    return false;
}

/* Distinct addresses the writes cover: the union of their intervals. */
static uint64_t model_size(const model *m)
{
    write w[MAX_WRITES];
    memcpy(w, m->w, sizeof w);
    for (int i = 1; i < m->n; i++)
        for (int j = i; j > 0 && w[j].addr < w[j - 1].addr; j--) {
            write t = w[j];
            w[j] = w[j - 1];
            w[j - 1] = t;
        }
    uint64_t total = 0, covered_to = 0;
    for (int i = 0; i < m->n; i++) {
        uint64_t from = w[i].addr > covered_to ? w[i].addr : covered_to;
        uint64_t end = w[i].addr + w[i].len;
        if (end > from)
            total += end - from;
        if (end > covered_to)
            covered_to = end;
    }
    return total;
}

/* The image holds exactly the model's bytes. */
static void check_image(const image *img, const model *m)
{
    uint64_t total = 0, prev_end = 0;
    size_t n = image_segment_count(img);
    for (size_t i = 0; i < n; i++) {
        image_segment s;
        if (!image_segment_get(img, i, &s) || s.length == 0)
            abort();
        if (i > 0 && s.address <= prev_end) /* sorted, apart, merged */
            abort();
        prev_end = (uint64_t)s.address + s.length;
        for (uint32_t k = 0; k < s.length; k++) {
            uint8_t want;
            if (!model_byte(m, (uint64_t)s.address + k, &want) || s.data[k] != want)
                abort();
        }
        total += s.length;
    }
    if (total != model_size(m) || total != image_size_bytes(img))
        abort();
}

/* Digits of v in base (10 or 16). */
static unsigned digits(uint64_t v, unsigned base)
{
    unsigned d = 1;
    while (v >= base) {
        v /= base;
        d++;
    }
    return d;
}

static void check_encoding(const serial_spec *s, int64_t value, const uint8_t *out,
                           const char *text)
{
    uint64_t v = 0;
    if (s->format == SERIAL_U32LE) {
        for (unsigned i = 0; i < s->width; i++)
            v |= (uint64_t)out[i] << (8 * i);
        char want[24];
        snprintf(want, sizeof want, "%" PRId64, value);
        if (strcmp(text, want) != 0)
            abort();
    } else {
        unsigned base = s->format == SERIAL_ASCII_DEC ? 10 : 16;
        for (unsigned i = 0; i < s->width; i++) {
            char c = (char)out[i];
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                : 99;
            if (d >= base || (i + 19 < s->width && d != 0)) /* zero-padded */
                abort();
            v = v * base + d;
        }
        /* The recorded text is what was written. */
        if (strlen(text) != s->width || memcmp(text, out, s->width) != 0)
            abort();
    }
    if (v != (uint64_t)value)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size};
    static const uint32_t anchors[] = {0x00000000u, 0x08000000u, 0x20000000u, 0xFFFFF000u};
    model m = {.n = 0};
    uint8_t *pool = malloc(MAX_WRITES * 512);
    if (!pool)
        return 0;
    char msg[256];

    /* The source image. */
    image *img = NULL;
    int chunks = 1 + (int)(take(&in, 1) % 4);
    for (int c = 0; c < chunks; c++) {
        uint64_t addr = anchors[take(&in, 1) % 4] + take(&in, 2) % 8192;
        size_t len = 1 + (size_t)(take(&in, 2) % 512);
        if (addr >= (UINT64_C(1) << 32))
            addr -= 8192;
        if (addr + len > (UINT64_C(1) << 32))
            len = (size_t)((UINT64_C(1) << 32) - addr);
        if (len == 0)
            continue;
        uint8_t *bytes = pool + m.n * 512;
        for (size_t i = 0; i < len; i++)
            bytes[i] = (uint8_t)(in.n ? take(&in, 1) : i * 7);
        image *next = NULL;
        img_err e =
            img ? image_patch(img, (uint32_t)addr, bytes, len, &next, msg, sizeof msg)
                : image_load_mem(bytes, len, IMAGE_FMT_BIN, (uint32_t)addr, &next, msg, sizeof msg);
        if (e != IMG_OK)
            abort(); /* every chunk lies below 4 GiB and is small */
        m.w[m.n++] = (write){addr, len, bytes};
        check_image(next, &m);
        image_free(img);
        img = next;
    }

    /* The spec: near a chunk (to overlap its edges) or anywhere. */
    serial_spec s;
    uint64_t mode = take(&in, 1);
    if (mode % 2 && m.n)
        s.addr = (uint32_t)(m.w[mode / 2 % (uint64_t)m.n].addr + (uint64_t)(int16_t)take(&in, 2));
    else
        s.addr = (uint32_t)take(&in, 4);
    s.width = (unsigned)(take(&in, 1) % 40);
    s.format = (serial_format)(take(&in, 1) % 4);
    s.start = (int64_t)take(&in, 8);
    s.step = (int64_t)take(&in, 8);
    if (mode & 0x80) { /* small and valid, where the interesting widths are */
        s.start = (int64_t)((uint64_t)s.start % 100000);
        s.step = 1 + (int64_t)((uint64_t)s.step % 1000);
    }
    bool width_ok = s.format == SERIAL_U32LE
                        ? (s.width == 1 || s.width == 2 || s.width == 4 || s.width == 8)
                        : (s.width >= 1 && s.width <= SERIAL_MAX_WIDTH);
    bool want_ok =
        (unsigned)s.format <= SERIAL_ASCII_HEX && width_ok && s.start >= 0 && s.step >= 1;
    msg[0] = '\0';
    if (serial_spec_check(&s, msg, sizeof msg) != want_ok || (!want_ok && !msg[0]))
        abort();

    if (want_ok && img) {
        /* The n-th unit's value, as the store hands them out; or any. */
        uint64_t nth = take(&in, 2);
        int64_t value;
        if (mode & 0x40)
            value = (int64_t)take(&in, 8);
        else if (__builtin_mul_overflow((int64_t)nth, s.step, &value) ||
                 __builtin_add_overflow(value, s.start, &value))
            value = s.start;
        bool fits = value >= 0;
        if (fits && s.format == SERIAL_U32LE)
            fits = s.width == 8 || (uint64_t)value >> (8 * s.width) == 0;
        else if (fits)
            fits = digits((uint64_t)value, s.format == SERIAL_ASCII_DEC ? 10 : 16) <= s.width;
        /* Exactly the sizes the unit uses, on the heap: an overrun is an
         * ASan report. */
        uint8_t *out = malloc(SERIAL_MAX_WIDTH);
        char *text = malloc(TEXT_LEN);
        if (!out || !text)
            abort();
        msg[0] = '\0';
        bool ok = serial_encode(&s, value, out, text, TEXT_LEN, msg, sizeof msg);
        if (ok != fits || (!ok && !msg[0]))
            abort();
        if (ok) {
            check_encoding(&s, value, out, text);
            image *patched = NULL;
            img_err e = image_patch(img, s.addr, out, s.width, &patched, msg, sizeof msg);
            if ((uint64_t)s.addr + s.width > (UINT64_C(1) << 32)) {
                if (e != IMG_E_RANGE || patched)
                    abort();
            } else {
                if (e != IMG_OK)
                    abort();
                /* Same content, same hash; new content, a new hash. */
                bool same = true;
                for (unsigned k = 0; k < s.width && same; k++) {
                    uint8_t b;
                    same = model_byte(&m, (uint64_t)s.addr + k, &b) && b == out[k];
                }
                m.w[m.n++] = (write){s.addr, s.width, out};
                check_image(patched, &m);
                uint8_t src_hash[32], new_hash[32];
                image_sha256(img, src_hash);
                image_sha256(patched, new_hash);
                if ((memcmp(src_hash, new_hash, 32) == 0) != same)
                    abort();
                image_free(patched);
            }
        }
        free(out);
        free(text);
    }
    image_free(img);
    free(pool);
    return 0;
}
