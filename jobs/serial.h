/*
 * jobs/serial: the serial number a recipe writes into every unit's flash.
 * The value comes from the audit store (never reused); this file only says
 * how a value becomes bytes at an address, so the daemon, the client and the
 * tests agree on it.
 */
#ifndef FLASHLINE_JOBS_SERIAL_H
#define FLASHLINE_JOBS_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum serial_format {
    SERIAL_U32LE,     /* little-endian integer, width 1, 2, 4 or 8 bytes */
    SERIAL_ASCII_DEC, /* zero-padded decimal digits, width characters */
    SERIAL_ASCII_HEX, /* zero-padded upper-case hex digits, width characters */
} serial_format;

#define SERIAL_MAX_WIDTH 32
/* Room for any serial's text and its NUL: SERIAL_MAX_WIDTH characters, or
 * the 20 digits of a u64. */
#define SERIAL_TEXT_LEN (SERIAL_MAX_WIDTH + 1)

typedef struct serial_spec {
    uint32_t addr;
    unsigned width;
    serial_format format;
    int64_t start, step;
} serial_spec;

/* "u32le", "ascii-dec", "ascii-hex" <-> the enum; false for anything else. */
bool serial_format_parse(const char *name, serial_format *out);
const char *serial_format_name(serial_format f);

/* Checks a spec (width fits the format, start >= 0, step >= 1); on failure
 * msg says what is wrong. */
bool serial_spec_check(const serial_spec *s, char *msg, size_t msglen);

/* The bytes for `value` (spec->width of them) and its text as recorded in
 * the audit log (give SERIAL_TEXT_LEN bytes). False (msg says why) when the
 * value does not fit the width, or the text does not fit textlen: a text cut
 * short would record another serial number than the one written. */
bool serial_encode(const serial_spec *s, int64_t value, uint8_t out[SERIAL_MAX_WIDTH], char *text,
                   size_t textlen, char *msg, size_t msglen);

#endif
