/* Motorola S-record, after srec(5) (the "Motorola S-record" man page of the
 * SRecord package and the original Motorola M68000 family reference).
 *
 * A record is 'S' type CC AA.. DD.. KK: CC counts the bytes of address,
 * data and checksum; KK is the ones' complement of the low byte of the sum
 * of CC, address and data bytes.
 *   S0 header (16-bit address 0, free text)      S4 reserved
 *   S1/S2/S3 data, 16/24/32-bit address           S5/S6 record count, 16/24-bit
 *   S7/S8/S9 termination with 32/24/16-bit start address
 * The count records hold the number of S1/S2/S3 records before them; a
 * mismatch means records were lost, so it is an error. */
#include "image_internal.h"

/* 2 * (count byte + up to 255 bytes it counts) */
#define SREC_MAX_DIGITS (2 * 256)

img_err img_parse_srec(img_builder *b, const char *buf, size_t len)
{
    /* Address bytes per record type; 0 marks S4 (reserved). */
    static const uint8_t addr_len[10] = {2, 2, 3, 4, 0, 2, 3, 4, 3, 2};
    size_t pos = 0;
    const char *line;
    size_t n;
    uint32_t lineno = 0, term_line = 0, ndata = 0;
    uint8_t rec[SREC_MAX_DIGITS / 2];

    while (img_next_line(buf, len, &pos, &line, &n)) {
        lineno++;
        if (n == 0)
            continue;
        if (term_line)
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u: data after the termination record on line %u: the file is "
                            "damaged or several files were joined; export it again",
                            lineno, term_line);
        if (n < 2 || line[0] != 'S' || line[1] < '0' || line[1] > '9') {
            char c[8];
            img_char_repr(line[0], c);
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u does not start with S0 to S9 (starts with %s): this is not an "
                            "S-record file, or it is damaged; export it again",
                            lineno, c);
        }
        int type = line[1] - '0';
        if (type == 4)
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u: S4 is a reserved record type: the file is damaged or not a "
                            "Motorola S-record file",
                            lineno);
        const char *digits = line + 2;
        size_t nd = n - 2;
        if (nd > SREC_MAX_DIGITS)
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u: %zu hex digits, more than any S-record can hold (%d): the "
                            "file is damaged; export it again",
                            lineno, nd, SREC_MAX_DIGITS);
        long bad = img_hex_decode(digits, nd, rec); /* nd <= max, even: odd fits rec */
        if (bad >= 0) {
            char c[8];
            img_char_repr(digits[bad], c);
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u column %ld: %s is not a hex digit: the file is damaged; "
                            "export it again",
                            lineno, bad + 3, c);
        }
        unsigned alen = addr_len[type];
        if (nd & 1 || nd / 2 < 2u + alen)
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u: S%d record cut short (%zu hex digits, it needs an even "
                            "number and at least %u): the file is truncated or damaged; export "
                            "it again",
                            lineno, type, nd, 2 * (2 + alen));
        size_t nbytes = nd / 2;
        uint32_t count = rec[0];
        if (nbytes != count + 1u)
            return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                            "line %u: the count field says %u bytes follow but the record holds "
                            "%zu: the file is damaged; export it again",
                            lineno, count, nbytes - 1);
        uint8_t sum = 0;
        for (size_t i = 0; i + 1 < nbytes; i++)
            sum = (uint8_t)(sum + rec[i]);
        uint8_t expected = (uint8_t)~sum, found = rec[nbytes - 1];
        if (expected != found)
            return img_fail(b->msg, b->msglen, IMG_E_CHECKSUM,
                            "line %u: checksum 0x%02X, expected 0x%02X: the file is damaged; "
                            "export it again",
                            lineno, found, expected);

        uint32_t addr = 0;
        for (unsigned i = 0; i < alen; i++)
            addr = addr << 8 | rec[1 + i];
        const uint8_t *data = rec + 1 + alen;
        size_t dlen = count - alen - 1;
        img_err e;
        switch (type) {
        case 0:
            break; /* header text: informative only */
        case 1:
        case 2:
        case 3:
            e = img_builder_add(b, addr, data, dlen, lineno);
            if (e != IMG_OK)
                return e;
            ndata++;
            break;
        case 5:
        case 6:
            if (addr != ndata)
                return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                                "line %u: the S%d count record says %u data records came before "
                                "it, but there were %u: records were lost or added; export the "
                                "file again",
                                lineno, type, addr, ndata);
            break;
        default: /* 7, 8, 9 */
            b->has_entry = true;
            b->entry = addr;
            term_line = lineno;
            break;
        }
    }
    if (!term_line)
        return img_fail(b->msg, b->msglen, IMG_E_FORMAT,
                        "no termination record (S7, S8 or S9) after line %u: the file is "
                        "truncated; export it again",
                        lineno);
    return IMG_OK;
}
