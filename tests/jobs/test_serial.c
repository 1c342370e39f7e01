/*
 * jobs/serial: which specs are accepted, and the bytes and text of a value
 * in each format, worked out by hand.
 */
#include "serial.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static void test_spec_check(void **state)
{
    (void)state;
    char msg[160];
    static const serial_spec good[] = {
        {.format = SERIAL_U32LE, .width = 1, .start = 0, .step = 1},
        {.format = SERIAL_U32LE, .width = 8, .start = 5, .step = 3},
        {.format = SERIAL_ASCII_DEC, .width = 1, .start = 0, .step = 1},
        {.format = SERIAL_ASCII_HEX, .width = SERIAL_MAX_WIDTH, .start = 0, .step = 1},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(serial_spec_check(&good[i], msg, sizeof msg));
    static const serial_spec bad[] = {
        {.format = SERIAL_U32LE, .width = 3, .step = 1},
        {.format = SERIAL_U32LE, .width = 0, .step = 1},
        {.format = SERIAL_ASCII_DEC, .width = 0, .step = 1},
        {.format = SERIAL_ASCII_DEC, .width = SERIAL_MAX_WIDTH + 1, .step = 1},
        {.format = (serial_format)3, .width = 4, .step = 1},
        {.format = SERIAL_U32LE, .width = 4, .start = -1, .step = 1},
        {.format = SERIAL_U32LE, .width = 4, .step = 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = '\0';
        if (serial_spec_check(&bad[i], msg, sizeof msg))
            fail_msg("bad spec %zu accepted", i);
        assert_true(strlen(msg) > 0);
    }
}

static void encodes(serial_format f, unsigned width, int64_t value, const void *bytes,
                    const char *text)
{
    serial_spec s = {.format = f, .width = width, .step = 1};
    uint8_t out[SERIAL_MAX_WIDTH];
    char t[SERIAL_TEXT_LEN], msg[160];
    if (!serial_encode(&s, value, out, t, sizeof t, msg, sizeof msg))
        fail_msg("%lld refused: %s", (long long)value, msg);
    assert_memory_equal(out, bytes, width);
    assert_string_equal(t, text);
}

static void refuses(serial_format f, unsigned width, int64_t value, size_t textlen)
{
    serial_spec s = {.format = f, .width = width, .step = 1};
    uint8_t out[SERIAL_MAX_WIDTH];
    char t[SERIAL_TEXT_LEN], msg[160] = "";
    if (serial_encode(&s, value, out, t, textlen, msg, sizeof msg))
        fail_msg("%lld in width %u accepted", (long long)value, width);
    assert_true(strlen(msg) > 0);
}

static void test_encode(void **state)
{
    (void)state;
    encodes(SERIAL_U32LE, 4, 0x12345678, "\x78\x56\x34\x12", "305419896");
    encodes(SERIAL_U32LE, 1, 255, "\xff", "255");
    encodes(SERIAL_U32LE, 8, INT64_MAX, "\xff\xff\xff\xff\xff\xff\xff\x7f", "9223372036854775807");
    encodes(SERIAL_ASCII_DEC, 8, 1014, "00001014", "00001014");
    encodes(SERIAL_ASCII_HEX, 4, 0xBEEF, "BEEF", "BEEF");
    /* The widest text serial keeps every digit in its text (it lost the
     * last one in a 32-byte buffer: fuzz.serial_patch). */
    encodes(SERIAL_ASCII_DEC, SERIAL_MAX_WIDTH, 1, "00000000000000000000000000000001",
            "00000000000000000000000000000001");

    refuses(SERIAL_U32LE, 1, 256, SERIAL_TEXT_LEN);
    refuses(SERIAL_U32LE, 4, -1, SERIAL_TEXT_LEN);
    refuses(SERIAL_ASCII_DEC, 3, 1000, SERIAL_TEXT_LEN);
    refuses(SERIAL_ASCII_HEX, 2, 0x100, SERIAL_TEXT_LEN);
    /* A text buffer too small is refused, not cut short. */
    refuses(SERIAL_ASCII_DEC, 8, 1014, 8);
    refuses(SERIAL_U32LE, 4, 305419896, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_check),
        cmocka_unit_test(test_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
