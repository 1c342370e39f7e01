/* ISO 8601 codec (iso8601.h). The calendar is libc's: gmtime_r splits a
 * time_t into fields and timegm joins them, so no day-count arithmetic of
 * our own. timegm is a glibc/BSD extension (POSIX only from Issue 8). */
#define _DEFAULT_SOURCE

#include "iso8601.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Every int64_t ms count that reaches gmtime_r/timegm here is within
 * years 0000..9999, which needs more than 32 bits of seconds. */
_Static_assert(sizeof(time_t) >= 8, "iso8601 needs a 64-bit time_t");

/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the instants a
 * four-digit year can write. */
#define MIN_MS INT64_C(-62167219200000)
#define MAX_MS INT64_C(253402300799999)

bool iso8601_format(int64_t ms, char out[ISO8601_LEN])
{
    out[0] = '\0';
    if (ms < MIN_MS || ms > MAX_MS)
        return false;
    /* Floor division: -1 ms is 999 ms into the second before the epoch. */
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        secs--;
        frac += 1000;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return false;
    int n = snprintf(out, ISO8601_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    if (n < 0 || n >= ISO8601_LEN) {
        out[0] = '\0';
        return false;
    }
    return true;
}

/* Exactly n ASCII digits at *p (isdigit() would follow the locale);
 * advances *p past them. */
static bool digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        x = x * 10 + (c - '0');
    }
    *p += n;
    *v = x;
    return true;
}

static bool literal(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* ".f..." (1 to 9 digits) -> milliseconds, truncated; none: 0. */
static bool fraction(const char **p, int *ms)
{
    *ms = 0;
    if (!literal(p, '.'))
        return true;
    int n = 0;
    while (**p >= '0' && **p <= '9') {
        if (n < 3)
            *ms = *ms * 10 + (**p - '0');
        n++;
        (*p)++;
    }
    if (n == 0 || n > 9)
        return false;
    for (int i = n; i < 3; i++)
        *ms *= 10;
    return true;
}

/* "Z" or "±HH:MM" -> seconds east of UTC. */
static bool zone(const char **p, int *east)
{
    if (literal(p, 'Z')) {
        *east = 0;
        return true;
    }
    int sign = **p == '+' ? 1 : **p == '-' ? -1 : 0, h, m;
    if (sign == 0)
        return false;
    (*p)++;
    if (!digits(p, 2, &h) || !literal(p, ':') || !digits(p, 2, &m) || h > 23 || m > 59)
        return false;
    *east = sign * (h * 3600 + m * 60);
    return true;
}

bool iso8601_parse(const char *s, int64_t *ms)
{
    if (!s)
        return false;
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, east = 0;
    if (!digits(&p, 4, &y) || !literal(&p, '-') || !digits(&p, 2, &mo) || !literal(&p, '-') ||
        !digits(&p, 2, &d))
        return false;
    if (*p != '\0') {
        if (!literal(&p, 'T') || !digits(&p, 2, &h) || !literal(&p, ':') || !digits(&p, 2, &mi) ||
            !literal(&p, ':') || !digits(&p, 2, &sec) || !fraction(&p, &frac) || !zone(&p, &east) ||
            *p != '\0')
            return false;
    }
    /* A leap second (:60) has no time_t of its own: refused, not folded
     * into the next minute. */
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec,
                    .tm_isdst = 0};
    time_t t = timegm(&tm);
    /* timegm normalises an impossible date (02-30 becomes 03-02) instead of
     * failing: a day that moved did not exist. */
    if (tm.tm_mday != d || tm.tm_mon != mo - 1)
        return false;
    int64_t v = ((int64_t)t - east) * 1000 + frac;
    if (v < MIN_MS || v > MAX_MS)
        return false;
    *ms = v;
    return true;
}
