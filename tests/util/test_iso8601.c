/*
 * util/iso8601: both directions of the codec. Expected instants come from
 * GNU date (date -u -d '...' +%s), not from the code under test.
 */
#include "iso8601.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z. */
#define FIRST_MS INT64_C(-62167219200000)
#define LAST_MS  INT64_C(253402300799999)

static void formats_as(int64_t ms, const char *want)
{
    char b[ISO8601_LEN];
    if (!iso8601_format(ms, b))
        fail_msg("%lld not formatted", (long long)ms);
    assert_string_equal(b, want);
}

static void parses_as(const char *s, int64_t want)
{
    int64_t ms = 42;
    if (!iso8601_parse(s, &ms))
        fail_msg("\"%s\" refused", s);
    if (ms != want)
        fail_msg("\"%s\": %lld, not %lld", s, (long long)ms, (long long)want);
}

static void test_format(void **state)
{
    (void)state;
    formats_as(0, "1970-01-01T00:00:00.000Z");
    formats_as(INT64_C(1795621200123), "2026-11-25T15:40:00.123Z");
    formats_as(INT64_C(951782400000), "2000-02-29T00:00:00.000Z");    /* 400-year leap */
    formats_as(INT64_C(1709208000007), "2024-02-29T12:00:00.007Z");   /* 4-year leap */
    formats_as(INT64_C(-2203891200000), "1900-03-01T00:00:00.000Z");  /* 1900 had no Feb 29 */
    formats_as(INT64_C(-11670998400000), "1600-02-29T00:00:00.000Z"); /* before 1970 */
    /* Before the epoch the milliseconds count up from the earlier second. */
    formats_as(-1, "1969-12-31T23:59:59.999Z");
    formats_as(-999, "1969-12-31T23:59:59.001Z");
    formats_as(-1000, "1969-12-31T23:59:59.000Z");
    formats_as(-1001, "1969-12-31T23:59:58.999Z");
    formats_as(FIRST_MS, "0000-01-01T00:00:00.000Z");
    formats_as(LAST_MS, "9999-12-31T23:59:59.999Z");

    char b[ISO8601_LEN];
    memset(b, 'x', sizeof b);
    assert_false(iso8601_format(LAST_MS + 1, b)); /* year 10000 */
    assert_string_equal(b, "");
    assert_false(iso8601_format(FIRST_MS - 1, b)); /* year -1 */
    assert_false(iso8601_format(INT64_MAX, b));
    assert_false(iso8601_format(INT64_MIN, b));
}

static void test_parse(void **state)
{
    (void)state;
    parses_as("2026-11-25T15:40:00.123Z", INT64_C(1795621200123));
    parses_as("2026-11-25T15:40:00Z", INT64_C(1795621200000));
    parses_as("2026-11-25T15:40:00.1Z", INT64_C(1795621200100));
    parses_as("2026-11-25T15:40:00.12Z", INT64_C(1795621200120));
    parses_as("2026-11-25", INT64_C(1795564800000));
    parses_as("2000-02-29T00:00:00Z", INT64_C(951782400000));
    parses_as("1600-02-29", INT64_C(-11670998400000));
    parses_as("1969-12-31T23:59:59.999Z", -1);
    parses_as("0000-01-01T00:00:00Z", FIRST_MS);
    parses_as("9999-12-31T23:59:59.999Z", LAST_MS);
    /* Offsets: the local time at that offset. */
    parses_as("2026-11-25T15:40:00.123+00:00", INT64_C(1795621200123));
    parses_as("2026-11-25T15:40:00.123-00:00", INT64_C(1795621200123));
    parses_as("2026-11-25T16:40:00.123+01:00", INT64_C(1795621200123));
    parses_as("2026-11-25T10:10:00.123-05:30", INT64_C(1795621200123));
    parses_as("2026-11-26T05:39:00.123+13:59", INT64_C(1795621200123));
    parses_as("1970-01-01T00:59:59.999+01:00", -1);                 /* across the epoch */
    parses_as("2027-01-01T00:30:00+01:00", INT64_C(1798759800000)); /* into the year before */
    /* Sub-millisecond digits are truncated, never rounded into the next
     * second (or the next day). */
    parses_as("2026-11-25T15:40:00.123456789Z", INT64_C(1795621200123));
    parses_as("2026-11-25T15:40:00.9999Z", INT64_C(1795621200999));
    parses_as("2026-12-31T23:59:59.999999999Z", INT64_C(1798761599999));
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "yesterday",
        "2026-11-25T15:40:00",  /* no zone */
        "2026-02-30T00:00:00Z", /* no such day */
        "2026-04-31",
        "2025-02-29", /* not a leap year */
        "1900-02-29", /* century, not a leap year */
        "2026-13-01",
        "2026-00-10",
        "2026-01-00",
        "2026-01-32",
        "2026-11-25T24:00:00Z",
        "2026-11-25T15:60:00Z",
        "2026-11-25T15:40:60Z",  /* leap seconds have no time_t */
        "2026-11-25T15:40:00.Z", /* empty fraction */
        "2026-11-25T15:40:00.1234567890Z",
        "2026-11-25 15:40:00Z",
        "2026-11-25t15:40:00z",
        "2026-11-25T15:40:00Zjunk",
        "2026-11-25junk",
        "2026-11-25T",
        "2026-11-25T15:40Z",
        "2026-11-25T15:40:00+01", /* offset without minutes */
        "2026-11-25T15:40:00+0100",
        "2026-11-25T15:40:00+24:00",
        "2026-11-25T15:40:00+01:60",
        "2026-11-25T15:40:00+01:00Z",
        "2026-11-25T15:40:00 +01:00",
        "-2026-11-25",
        "+2026-11-25",
        "26-11-25",
        "20261125",
        "1795621200123", /* ms counts are the daemon's business */
        "2026-1-25",
        "2026-11-25T5:40:00Z",
        " 2026-11-25",
        "9999-12-31T23:59:59-00:01", /* year 10000 in UTC */
        "0000-01-01T00:00:00+00:01", /* year -1 in UTC */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 7;
        if (iso8601_parse(bad[i], &ms))
            fail_msg("accepted \"%s\" as %lld", bad[i], (long long)ms);
        assert_int_equal(ms, 7);
    }
    int64_t ms = 7;
    assert_false(iso8601_parse(NULL, &ms));
    /* A NUL inside is the end of the string: what follows is not seen. */
    assert_true(iso8601_parse("2026-11-25\0junk", &ms));
}

static void test_round_trip(void **state)
{
    (void)state;
    char b[ISO8601_LEN];
    /* A prime step wanders over every field, leap days and pre-1970 too. */
    for (int64_t t = FIRST_MS; t <= LAST_MS - INT64_C(86399999) * 997;
         t += INT64_C(86399999) * 997 + 7919) {
        int64_t back = t + 1;
        if (!iso8601_format(t, b) || !iso8601_parse(b, &back) || back != t)
            fail_msg("%lld -> \"%s\" -> %lld", (long long)t, b, (long long)back);
        assert_int_equal(strlen(b), 24);
    }
    /* Every millisecond around the epoch and around a leap day. */
    static const int64_t centres[] = {0, INT64_C(951868800000), FIRST_MS + 2000, LAST_MS - 2000};
    for (size_t c = 0; c < sizeof centres / sizeof centres[0]; c++) {
        for (int64_t t = centres[c] - 2000; t <= centres[c] + 2000; t++) {
            int64_t back = t + 1;
            if (!iso8601_format(t, b) || !iso8601_parse(b, &back) || back != t)
                fail_msg("%lld -> \"%s\" -> %lld", (long long)t, b, (long long)back);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
