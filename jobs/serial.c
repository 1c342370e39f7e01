#include "serial.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const names[] = {"u32le", "ascii-dec", "ascii-hex"};

bool serial_format_parse(const char *name, serial_format *out)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (name && strcmp(name, names[i]) == 0) {
            *out = (serial_format)i;
            return true;
        }
    return false;
}

const char *serial_format_name(serial_format f)
{
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "?";
}

bool serial_spec_check(const serial_spec *s, char *msg, size_t msglen)
{
    if (s->format == SERIAL_U32LE && s->width != 1 && s->width != 2 && s->width != 4 &&
        s->width != 8) {
        snprintf(msg, msglen, "serial width %u: u32le takes 1, 2, 4 or 8 bytes", s->width);
        return false;
    }
    if (s->format != SERIAL_U32LE && (s->width < 1 || s->width > SERIAL_MAX_WIDTH)) {
        snprintf(msg, msglen, "serial width %u: text serials take 1 to %d characters", s->width,
                 SERIAL_MAX_WIDTH);
        return false;
    }
    if ((unsigned)s->format > SERIAL_ASCII_HEX) {
        snprintf(msg, msglen, "unknown serial format: use u32le, ascii-dec or ascii-hex");
        return false;
    }
    if (s->start < 0 || s->step < 1) {
        snprintf(msg, msglen, "serial start must be >= 0 and step >= 1");
        return false;
    }
    return true;
}

/* The caller's text buffer is the mistake here, not the recipe. */
static bool text_too_long(int64_t value, size_t textlen, char *msg, size_t msglen)
{
    snprintf(msg, msglen,
             "the text of serial number %" PRId64 " does not fit %zu bytes; give SERIAL_TEXT_LEN",
             value, textlen);
    return false;
}

bool serial_encode(const serial_spec *s, int64_t value, uint8_t out[SERIAL_MAX_WIDTH], char *text,
                   size_t textlen, char *msg, size_t msglen)
{
    if (!serial_spec_check(s, msg, msglen))
        return false;
    uint64_t v = (uint64_t)value;
    if (value < 0 || (s->format == SERIAL_U32LE && s->width < 8 && v >> (8 * s->width) != 0)) {
        snprintf(msg, msglen, "serial number %" PRId64 " does not fit in %u bytes", value,
                 s->width);
        return false;
    }
    char digits[40];
    int n = 0;
    switch (s->format) {
    case SERIAL_U32LE:
        n = snprintf(text, textlen, "%" PRIu64, v);
        if (n < 0 || (size_t)n >= textlen)
            return text_too_long(value, textlen, msg, msglen);
        for (unsigned i = 0; i < s->width; i++)
            out[i] = (uint8_t)(v >> (8 * i));
        return true;
    case SERIAL_ASCII_DEC:
        n = snprintf(digits, sizeof digits, "%0*" PRIu64, (int)s->width, v);
        break;
    case SERIAL_ASCII_HEX:
        n = snprintf(digits, sizeof digits, "%0*" PRIX64, (int)s->width, v);
        break;
    }
    if (n < 0 || (unsigned)n > s->width) {
        snprintf(msg, msglen, "serial number %" PRId64 " needs %d characters, the recipe gives %u",
                 value, n, s->width);
        return false;
    }
    if (s->width >= textlen)
        return text_too_long(value, textlen, msg, msglen);
    memcpy(out, digits, s->width);
    snprintf(text, textlen, "%s", digits);
    return true;
}
