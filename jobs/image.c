/* Firmware images: format dispatch, the piece builder (bounds, sorting,
 * overlap detection, merging), file loading and accessors. The format
 * readers live in image_bin.c, image_ihex.c, image_srec.c, image_elf.c; the
 * hash in image_hash.c. */
#include "image_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

img_err img_fail(char *msg, size_t msglen, img_err e, const char *fmt, ...)
{
    if (msg && msglen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msglen, fmt, ap);
        va_end(ap);
    }
    return e;
}

static img_err too_big(img_builder *b)
{
    return img_fail(b->msg, b->msglen, IMG_E_TOO_BIG,
                    "the image holds more than %u bytes (16 MiB) of data, the most Flashline "
                    "accepts: no STM32 has that much flash; check this is the right file",
                    IMAGE_MAX_BYTES);
}

img_err img_builder_add(img_builder *b, uint64_t addr, const uint8_t *bytes, size_t len,
                        uint32_t where)
{
    if (len == 0)
        return IMG_OK;
    if (addr + len > UINT64_C(0x100000000))
        return img_fail(b->msg, b->msglen, IMG_E_RANGE,
                        "%s %u: %zu bytes at 0x%08llX run past the end of the 4 GiB address "
                        "space: the file is damaged or was made for another target",
                        b->where_kind, where, len, (unsigned long long)addr);
    if (len > IMAGE_MAX_BYTES || b->data_len + len > IMAGE_MAX_BYTES)
        return too_big(b);

    if (b->data_len + len > b->data_cap) {
        size_t cap = b->data_cap ? b->data_cap : 4096;
        while (cap < b->data_len + len)
            cap *= 2;
        if (cap > IMAGE_MAX_BYTES)
            cap = IMAGE_MAX_BYTES;
        uint8_t *p = realloc(b->data, cap);
        if (!p)
            return img_fail(b->msg, b->msglen, IMG_E_NOMEM, "out of memory reading the image");
        b->data = p;
        b->data_cap = cap;
    }

    /* Records usually follow each other: extend the last piece instead of
     * adding one, so bookkeeping stays small for ordinary files. */
    img_piece *last = b->npieces ? &b->pieces[b->npieces - 1] : NULL;
    if (last && last->addr + last->len == addr && last->off + last->len == b->data_len) {
        last->len += (uint32_t)len;
    } else {
        if (b->npieces == IMAGE_MAX_PIECES)
            return img_fail(b->msg, b->msglen, IMG_E_TOO_BIG,
                            "%s %u: the image is scattered over more than %u separate pieces, "
                            "the most Flashline accepts: check this is the right file",
                            b->where_kind, where, IMAGE_MAX_PIECES);
        if (b->npieces == b->pieces_cap) {
            size_t cap = b->pieces_cap ? b->pieces_cap * 2 : 64;
            img_piece *p = realloc(b->pieces, cap * sizeof *p);
            if (!p)
                return img_fail(b->msg, b->msglen, IMG_E_NOMEM, "out of memory reading the image");
            b->pieces = p;
            b->pieces_cap = cap;
        }
        b->pieces[b->npieces++] = (img_piece){
            .addr = addr, .len = (uint32_t)len, .off = (uint32_t)b->data_len, .where = where};
    }
    memcpy(b->data + b->data_len, bytes, len);
    b->data_len += len;
    return IMG_OK;
}

static int piece_cmp(const void *a, const void *b)
{
    const img_piece *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    /* Equal addresses overlap anyway; order by position in the file so
     * the message names them in a stable order. */
    return x->off < y->off ? -1 : (x->off > y->off);
}

/* Sorts, refuses overlaps, merges adjacent pieces into segments. */
img_err img_builder_finish(img_builder *b, image_format fmt, image **out)
{
    if (b->data_len == 0)
        return img_fail(b->msg, b->msglen, IMG_E_EMPTY,
                        "the %s file holds no data to program: check it is the firmware and "
                        "not an empty or header-only export",
                        image_format_name(fmt));

    qsort(b->pieces, b->npieces, sizeof *b->pieces, piece_cmp);
    size_t nseg = 1;
    for (size_t i = 1; i < b->npieces; i++) {
        const img_piece *p = &b->pieces[i - 1], *q = &b->pieces[i];
        uint64_t pend = p->addr + p->len;
        if (q->addr < pend)
            return img_fail(b->msg, b->msglen, IMG_E_OVERLAP,
                            "%s %u writes 0x%08llX..0x%08llX but %s %u already wrote "
                            "0x%08llX..0x%08llX: overlapping data, the file is damaged or two "
                            "images were joined; export it again",
                            b->where_kind, q->where, (unsigned long long)q->addr,
                            (unsigned long long)(q->addr + q->len - 1), b->where_kind, p->where,
                            (unsigned long long)p->addr, (unsigned long long)(pend - 1));
        if (q->addr != pend)
            nseg++;
    }

    image *img = calloc(1, sizeof *img);
    if (!img)
        return img_fail(b->msg, b->msglen, IMG_E_NOMEM, "out of memory reading the image");
    img->segs = calloc(nseg, sizeof *img->segs);
    img->data = malloc(b->data_len);
    if (!img->segs || !img->data) {
        image_free(img);
        return img_fail(b->msg, b->msglen, IMG_E_NOMEM, "out of memory reading the image");
    }
    img->format = fmt;
    img->total = (uint32_t)b->data_len;
    img->has_entry = b->has_entry;
    img->entry = b->entry;

    size_t at = 0, s = 0;
    for (size_t i = 0; i < b->npieces; i++) {
        const img_piece *p = &b->pieces[i];
        memcpy(img->data + at, b->data + p->off, p->len);
        if (i > 0 && img->segs[s].address + (uint64_t)img->segs[s].length == p->addr) {
            img->segs[s].length += p->len;
        } else {
            if (i > 0)
                s++;
            img->segs[s] = (image_segment){
                .address = (uint32_t)p->addr, .length = p->len, .data = img->data + at};
        }
        at += p->len;
    }
    img->nseg = nseg;

    img_err e = img_hash_compute(img, b->msg, b->msglen);
    if (e != IMG_OK) {
        image_free(img);
        return e;
    }
    *out = img;
    return IMG_OK;
}

bool img_next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *linelen)
{
    if (*pos >= len)
        return false;
    const char *start = buf + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - start) : len - *pos;
    *pos += n + (nl ? 1 : 0);
    /* CR of CRLF files and trailing blanks some editors leave. */
    while (n > 0 && (start[n - 1] == '\r' || start[n - 1] == ' ' || start[n - 1] == '\t'))
        n--;
    *line = start;
    *linelen = n;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

long img_hex_decode(const char *s, size_t ndigits, uint8_t *out)
{
    for (size_t i = 0; i < ndigits; i++) {
        int v = hexval(s[i]);
        if (v < 0)
            return (long)i;
        if (i & 1)
            out[i / 2] = (uint8_t)(out[i / 2] | v);
        else
            out[i / 2] = (uint8_t)(v << 4);
    }
    return -1;
}

void img_char_repr(char c, char out[8])
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x20 && u < 0x7F)
        snprintf(out, 8, "'%c'", c);
    else
        snprintf(out, 8, "\\x%02X", u);
}

image_format image_detect_format(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    if (!p || len == 0)
        return IMAGE_FMT_BIN;
    if (len >= 4 && p[0] == 0x7F && p[1] == 'E' && p[2] == 'L' && p[3] == 'F')
        return IMAGE_FMT_ELF;
    if (p[0] == ':')
        return IMAGE_FMT_IHEX;
    if (len >= 2 && p[0] == 'S' && p[1] >= '0' && p[1] <= '9')
        return IMAGE_FMT_SREC;
    return IMAGE_FMT_BIN;
}

img_err image_load_mem(const void *buf, size_t len, image_format fmt, uint32_t bin_base,
                       image **out, char *msg, size_t msglen)
{
    if (msg && msglen > 0)
        msg[0] = '\0';
    if (!out)
        return img_fail(msg, msglen, IMG_E_ARG, "no place to return the image (out is NULL)");
    *out = NULL;
    if (!buf && len > 0)
        return img_fail(msg, msglen, IMG_E_ARG, "no input buffer given");
    if (fmt == IMAGE_FMT_AUTO)
        fmt = image_detect_format(buf, len);
    if (fmt < IMAGE_FMT_BIN || fmt > IMAGE_FMT_ELF)
        return img_fail(msg, msglen, IMG_E_ARG, "unknown image format %d", (int)fmt);
    if (len == 0)
        return img_fail(msg, msglen, IMG_E_EMPTY,
                        "the file is empty: upload the firmware file itself");
    if (len > IMAGE_MAX_INPUT_BYTES)
        return img_fail(msg, msglen, IMG_E_TOO_BIG,
                        "the file is %zu bytes, more than the %u (128 MiB) Flashline accepts: "
                        "check this is the right file",
                        len, IMAGE_MAX_INPUT_BYTES);

    img_builder b = {.where_kind = "line", .msg = msg, .msglen = msglen};
    img_err e;
    switch (fmt) {
    case IMAGE_FMT_BIN:
        b.where_kind = "offset";
        e = img_parse_bin(&b, buf, len, bin_base);
        break;
    case IMAGE_FMT_IHEX:
        e = img_parse_ihex(&b, buf, len);
        break;
    case IMAGE_FMT_SREC:
        e = img_parse_srec(&b, buf, len);
        break;
    default:
        b.where_kind = "program header";
        e = img_parse_elf(&b, buf, len);
        break;
    }
    if (e == IMG_OK)
        e = img_builder_finish(&b, fmt, out);
    free(b.data);
    free(b.pieces);
    if (e == IMG_OK && msg && msglen > 0)
        msg[0] = '\0';
    return e;
}

img_err image_load_file(const char *path, image_format fmt, uint32_t bin_base, image **out,
                        char *msg, size_t msglen)
{
    char ebuf[128];
    if (out)
        *out = NULL;
    if (!path || !out)
        return img_fail(msg, msglen, IMG_E_ARG, "no file name or no place to return the image");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        if (strerror_r(err, ebuf, sizeof ebuf) != 0)
            snprintf(ebuf, sizeof ebuf, "error %d", err);
        return img_fail(msg, msglen, IMG_E_IO, "cannot open '%s': %s: check the path", path, ebuf);
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return img_fail(msg, msglen, IMG_E_IO, "'%s' is not a regular file: give a firmware file",
                        path);
    }
    if ((uint64_t)st.st_size > IMAGE_MAX_INPUT_BYTES) {
        close(fd);
        return img_fail(msg, msglen, IMG_E_TOO_BIG,
                        "'%s' is %lld bytes, more than the %u (128 MiB) Flashline accepts: check "
                        "this is the right file",
                        path, (long long)st.st_size, IMAGE_MAX_INPUT_BYTES);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return img_fail(msg, msglen, IMG_E_NOMEM, "out of memory reading '%s'", path);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : 0;
            close(fd);
            free(buf);
            if (err == 0)
                return img_fail(msg, msglen, IMG_E_IO,
                                "'%s' shrank while being read: is it still being written?", path);
            if (strerror_r(err, ebuf, sizeof ebuf) != 0)
                snprintf(ebuf, sizeof ebuf, "error %d", err);
            return img_fail(msg, msglen, IMG_E_IO, "cannot read '%s': %s", path, ebuf);
        }
        got += (size_t)n;
    }
    close(fd);
    /* A file named .bin is raw bytes even when its first byte happens to be
     * ':' or 'S' and a digit (1 in 256 of random test images, and a valid
     * vector table can start so too); only the ELF magic, which no vector
     * table has, still wins: programming an ELF file raw is never meant. */
    if (fmt == IMAGE_FMT_AUTO && image_detect_format(buf, size) != IMAGE_FMT_ELF) {
        size_t n = strlen(path);
        if (n >= 4 && strcasecmp(path + n - 4, ".bin") == 0)
            fmt = IMAGE_FMT_BIN;
    }
    img_err e = image_load_mem(buf, size, fmt, bin_base, out, msg, msglen);
    free(buf);
    return e;
}

void image_free(image *img)
{
    if (!img)
        return;
    free(img->segs);
    free(img->data);
    free(img);
}

image_format image_get_format(const image *img)
{
    return img->format;
}

size_t image_segment_count(const image *img)
{
    return img ? img->nseg : 0;
}

bool image_segment_get(const image *img, size_t i, image_segment *out)
{
    if (!img || i >= img->nseg)
        return false;
    *out = img->segs[i];
    return true;
}

uint32_t image_size_bytes(const image *img)
{
    return img->total;
}

uint32_t image_lowest_address(const image *img)
{
    return img->segs[0].address;
}

uint64_t image_end_address(const image *img)
{
    const image_segment *s = &img->segs[img->nseg - 1];
    return (uint64_t)s->address + s->length;
}

bool image_entry(const image *img, uint32_t *entry)
{
    if (img->has_entry && entry)
        *entry = img->entry;
    return img->has_entry;
}

bool image_fits(const image *img, uint32_t lo, uint32_t hi_exclusive)
{
    if (!img || img->nseg == 0)
        return false;
    return image_lowest_address(img) >= lo && image_end_address(img) <= hi_exclusive;
}

const char *img_err_name(img_err e)
{
    switch (e) {
    case IMG_OK:
        return "ok";
    case IMG_E_IO:
        return "io";
    case IMG_E_FORMAT:
        return "format";
    case IMG_E_CHECKSUM:
        return "checksum";
    case IMG_E_OVERLAP:
        return "overlap";
    case IMG_E_RANGE:
        return "range";
    case IMG_E_ARCH:
        return "arch";
    case IMG_E_TOO_BIG:
        return "too-big";
    case IMG_E_EMPTY:
        return "empty";
    case IMG_E_NOMEM:
        return "no-memory";
    case IMG_E_ARG:
        return "argument";
    }
    return "unknown";
}

const char *image_format_name(image_format fmt)
{
    switch (fmt) {
    case IMAGE_FMT_AUTO:
        return "auto";
    case IMAGE_FMT_BIN:
        return "raw binary";
    case IMAGE_FMT_IHEX:
        return "Intel HEX";
    case IMAGE_FMT_SREC:
        return "S-record";
    case IMAGE_FMT_ELF:
        return "ELF";
    }
    return "unknown";
}
