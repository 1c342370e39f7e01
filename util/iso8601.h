/* ISO 8601 times as the API writes and reads them (docs/api.md), one codec
 * for the daemon and the client, on libc's gmtime_r/timegm.
 *
 * A time is an int64_t count of milliseconds since 1970-01-01T00:00:00Z,
 * leap seconds not counted (as time_t). Only the years 0000..9999 can be
 * written with the four-digit year of the format, so both directions are
 * limited to them: every time the parser accepts can be formatted again. */
#ifndef FLASHLINE_UTIL_ISO8601_H
#define FLASHLINE_UTIL_ISO8601_H

#include <stdbool.h>
#include <stdint.h>

/* "2026-12-07T14:16:57.123Z" is 24 characters; the rest is slack so that a
 * caller's buffer is never the reason a format fails. */
#define ISO8601_LEN 32

/* ms -> "YYYY-MM-DDTHH:MM:SS.mmmZ" in UTC, milliseconds always written.
 * Times before the epoch round down (-1 is 1969-12-31T23:59:59.999Z).
 * False, with out set to "", if the year is outside 0000..9999. */
bool iso8601_format(int64_t ms, char out[ISO8601_LEN]);

/* One of
 *   YYYY-MM-DD                       midnight UTC of that day
 *   YYYY-MM-DDTHH:MM:SS[.f...]Z      UTC
 *   YYYY-MM-DDTHH:MM:SS[.f...]±HH:MM that local time at that offset
 * -> ms since the epoch. The fraction has 1 to 9 digits; digits beyond the
 * millisecond are truncated (2026-...T00:00:00.9999Z is .999), never
 * rounded up into the next second. Every field must be in range (month 13,
 * 2026-02-30, hour 24, second 60 and offset +24:00 are refused), nothing
 * may follow, and the instant must fall within years 0000..9999 UTC.
 * False with *ms untouched otherwise. */
bool iso8601_parse(const char *s, int64_t *ms);

#endif
