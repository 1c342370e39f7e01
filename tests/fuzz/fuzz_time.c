/*
 * libFuzzer harness for util/iso8601: any text given to iso8601_parse is
 * either refused (and *ms untouched) or a time that formats again and
 * parses back to itself; any int64_t given to iso8601_format either fails
 * outside years 0000..9999 or writes exactly 24 characters that parse back
 * to it, and an accepted text agrees field by field with the format of
 * its time (check_fields). The output buffer is exactly ISO8601_LEN bytes
 * on the heap, so an overflow is an ASan report.
 *
 * Input: the first 8 bytes (little-endian) are the number to format, the
 * whole input as a string is the text to parse.
 */
#include "iso8601.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIRST_MS INT64_C(-62167219200000) /* 0000-01-01T00:00:00.000Z */
#define LAST_MS  INT64_C(253402300799999) /* 9999-12-31T23:59:59.999Z */

static void check_format(int64_t x)
{
    char *out = malloc(ISO8601_LEN);
    if (!out)
        return;
    bool ok = iso8601_format(x, out);
    if (ok != (x >= FIRST_MS && x <= LAST_MS))
        abort();
    if (!ok) {
        if (out[0] != '\0')
            abort();
        free(out);
        return;
    }
    int64_t back = x + 1;
    if (strlen(out) != 24 || out[23] != 'Z' || !iso8601_parse(out, &back) || back != x)
        abort();
    free(out);
}

/* An accepted text says the same as its format: the date and time fields
 * as written (UTC) and the fraction's first three digits; with an offset,
 * the same local time read as UTC, moved by the offset. */
static void check_fields(const char *s, int64_t ms, const char *out)
{
    size_t n = strlen(s);
    if (n == 10) { /* a day: its midnight */
        if (memcmp(s, out, 10) != 0 || strcmp(out + 10, "T00:00:00.000Z") != 0)
            abort();
        return;
    }
    if (n < 20)
        abort(); /* nothing shorter than "YYYY-MM-DDTHH:MM:SSZ" is a time */
    char frac[4] = "000";
    if (s[19] == '.')
        for (int i = 0; i < 3 && s[20 + i] >= '0' && s[20 + i] <= '9'; i++)
            frac[i] = s[20 + i];
    if (s[n - 1] == 'Z') {
        if (memcmp(s, out, 19) != 0 || memcmp(out + 20, frac, 3) != 0)
            abort();
        return;
    }
    /* "...±HH:MM": the same text with Z instead is the local time. */
    char *z = strdup(s);
    if (!z)
        return;
    strcpy(z + n - 6, "Z");
    int64_t local;
    if (!iso8601_parse(z, &local))
        abort();
    int east = ((s[n - 5] - '0') * 10 + (s[n - 4] - '0')) * 3600 +
               ((s[n - 2] - '0') * 10 + (s[n - 1] - '0')) * 60;
    if (s[n - 6] == '-')
        east = -east;
    else if (s[n - 6] != '+')
        abort();
    if (ms != local - (int64_t)east * 1000)
        abort();
    free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 8) {
        uint64_t u = 0;
        for (int i = 0; i < 8; i++)
            u |= (uint64_t)data[i] << (8 * i);
        check_format((int64_t)u);
        /* Near the ends of the range too, where a random int64 rarely lands. */
        check_format(FIRST_MS + (int64_t)(u % 4096) - 2048);
        check_format(LAST_MS + (int64_t)(u % 4096) - 2048);
        check_format((int64_t)(u % (uint64_t)(LAST_MS - FIRST_MS + 1)) + FIRST_MS);
    }
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms = INT64_MIN;
    if (iso8601_parse(s, &ms)) {
        if (ms < FIRST_MS || ms > LAST_MS)
            abort();
        char out[ISO8601_LEN];
        int64_t back = ms + 1;
        if (!iso8601_format(ms, out) || !iso8601_parse(out, &back) || back != ms)
            abort();
        check_fields(s, ms, out);
    } else if (ms != INT64_MIN) {
        abort(); /* refused but written */
    }
    free(s);
    return 0;
}
