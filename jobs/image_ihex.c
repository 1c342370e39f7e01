/* Intel HEX, after "Hexadecimal Object File Format Specification", Intel,
 * revision A, 1988 (the Intel HEX-86/32 spec).
 *
 * A record is ':' LL AAAA TT DD... CC in hex digit pairs: LL data bytes,
 * 16-bit big-endian offset AAAA, type TT, and a checksum CC chosen so that
 * all bytes of the record, CC included, sum to 0 modulo 256.
 *   00 data          01 end of file (LL = 0)
 *   02 extended segment address (USBA; address = USBA*16 + ((AAAA+i) mod 64K))
 *   03 start segment address (CS:IP)
 *   04 extended linear address (ULBA; address = ULBA<<16 + AAAA + i)
 *   05 start linear address (EIP)
 * The spec lets segment-mode offsets wrap inside their 64 KiB segment and
 * linear addresses wrap modulo 4 GiB; no real firmware does either on
 * purpose, so both are refused as damage rather than silently folded. */
#include "image_internal.h"

/* ':' + 2 * (LL AAAA TT + 255 data + CC) */
#define IHEX_MAX_DIGITS (2 * (4 + 255 + 1))

static uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

img_err img_parse_ihex(img_builder *b, const char *buf, size_t len)
{
    size_t pos = 0;
    const char *line;
    size_t n;
    uint32_t lineno = 0, eof_line = 0;
    bool segment_mode = false;
    uint32_t base = 0; /* USBA*16 in segment mode, ULBA<<16 in linear mode */
    uint8_t rec[IHEX_MAX_DIGITS / 2];

    while (img_next_line(buf, len, &pos, &line, &n)) {
        lineno++;
        if (n == 0)
            continue;
        if (eof_line)
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u: data after the end-of-file record on line %u: the file is "
                            "damaged or several files were joined; export it again",
                            lineno, eof_line);
        if (line[0] != ':') {
            char c[8];
            img_char_repr(line[0], c);
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u starts with %s, not ':': this is not an Intel HEX file, or "
                            "it is damaged; export it again",
                            lineno, c);
        }
        const char *digits = line + 1;
        size_t nd = n - 1;
        if (nd > IHEX_MAX_DIGITS)
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u: %zu hex digits, more than any Intel HEX record can hold "
                            "(%d): the file is damaged; export it again",
                            lineno, nd, IHEX_MAX_DIGITS);
        /* nd <= IHEX_MAX_DIGITS, even: an odd count still fits rec. */
        long bad = img_hex_decode(digits, nd, rec);
        if (bad >= 0) {
            char c[8];
            img_char_repr(digits[bad], c);
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u column %ld: %s is not a hex digit: the file is damaged; "
                            "export it again",
                            lineno, bad + 2, c);
        }
        if (nd < 10 || (nd & 1))
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u: record cut short (%zu hex digits; a record is an even "
                            "number, at least 10): the file is truncated or damaged; export it "
                            "again",
                            lineno, nd);
        size_t nbytes = nd / 2;
        uint32_t ll = rec[0];
        if (nbytes != ll + 5u)
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u: the length field says %u data bytes but the record holds "
                            "%zu: the file is damaged; export it again",
                            lineno, ll, nbytes - 5);
        uint8_t sum = 0;
        for (size_t i = 0; i + 1 < nbytes; i++)
            sum = (uint8_t)(sum + rec[i]);
        uint8_t expected = (uint8_t)(0x100 - sum), found = rec[nbytes - 1];
        if (expected != found)
            return img_fail(b->msg, b->msglen, IMG_E_CHECKSUM,
                            "line %u: checksum 0x%02X, expected 0x%02X: the file is damaged; "
                            "export it again",
                            lineno, found, expected);

        uint32_t off = be16(rec + 1);
        uint8_t type = rec[3];
        const uint8_t *data = rec + 4;
        static const uint8_t want_len[] = {0xFF, 0, 2, 4, 2, 4}; /* 0xFF: any */
        if (type <= 5 && want_len[type] != 0xFF && ll != want_len[type])
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u: record type %02X must hold %u bytes, not %u: the file is "
                            "damaged; export it again",
                            lineno, type, want_len[type], ll);
        img_err e;
        switch (type) {
        case 0x00:
            if (segment_mode && off + ll > 0x10000u)
                return img_fail(b->msg, b->msglen, IMG_E_RANGE,
                                "line %u: %u bytes at offset 0x%04X wrap past the end of their "
                                "64 KiB segment (type 02 addressing): the file is damaged or "
                                "made for x86 real mode; export it again",
                                lineno, ll, off);
            e = img_builder_add(b, (uint64_t)base + off, data, ll, lineno);
            if (e != IMG_OK)
                return e;
            break;
        case 0x01:
            eof_line = lineno;
            break;
        case 0x02:
            segment_mode = true;
            base = be16(data) << 4;
            break;
        case 0x03:
            b->has_entry = true;
            b->entry = (be16(data) << 4) + be16(data + 2);
            break;
        case 0x04:
            segment_mode = false;
            base = be16(data) << 16;
            break;
        case 0x05:
            b->has_entry = true;
            b->entry = be32(data);
            break;
        default:
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u: unknown record type %02X (Intel HEX has 00 to 05): the file "
                            "is damaged or not Intel HEX",
                            lineno, type);
        }
    }
    if (!eof_line)
        return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                        "no end-of-file record (:00000001FF) after line %u: the file is "
                        "truncated; export it again",
                        lineno);
    return IMG_OK;
}
