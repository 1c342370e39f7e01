/*
 * daemon/recipe: a job's recipe, checked once. Each case is a request the
 * old daemon accepted and should not have (issue 12's validation gaps), or
 * one it must keep accepting.
 */
#include "recipe.h"
#include "views.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static image *img_16k(void)
{
    static uint8_t bytes[16384];
    image *img = NULL;
    char why[128];
    assert_int_equal(
        image_load_mem(bytes, sizeof bytes, IMAGE_FMT_BIN, 0x08000000u, &img, why, sizeof why),
        IMG_OK);
    return img;
}

/* Parses text; returns the error and leaves msg. */
static recipe_err parse(const char *text, job_recipe *r, char *msg, size_t n)
{
    json_error_t je;
    json_t *req = json_loads(text, 0, &je);
    if (!req)
        fail_msg("bad test JSON: %s: %s", text, je.text);
    image *img = img_16k();
    recipe_err e = recipe_parse(req, img, r, msg, n);
    json_decref(req);
    image_free(img);
    return e;
}

#define BASE "\"image\":\"x\",\"chip\":\"stm32f103rb\","

static void refused(const char *text, recipe_err want, const char *needle)
{
    job_recipe r;
    char msg[512] = "";
    recipe_err e = parse(text, &r, msg, sizeof msg);
    if (e != want)
        fail_msg("%s: got %d (%s), want %d", text, e, msg, want);
    if (!strstr(msg, needle))
        fail_msg("%s: message \"%s\" does not say \"%s\"", text, msg, needle);
    assert_null(r.probes);
}

static void test_validation_gaps(void **state)
{
    (void)state;
    /* width 4294967297 was truncated to 1: the board got a 1-byte serial */
    refused("{" BASE "\"count\":1,\"serial\":{\"addr\":\"0x0800FC00\",\"width\":4294967297}}",
            RECIPE_E_BAD_REQUEST, "width");
    /* start past what 4 bytes hold */
    refused("{" BASE "\"count\":1,\"serial\":{\"addr\":\"0x0800FC00\",\"start\":4294967296}}",
            RECIPE_E_BAD_REQUEST, "4294967295");
    /* INT64_MAX as a start of an 8-byte serial fits one unit, not two */
    refused("{" BASE "\"count\":2,\"serial\":{\"addr\":\"0x0800FC00\",\"width\":8,"
            "\"start\":9223372036854775807}}",
            RECIPE_E_BAD_REQUEST, "count");
    /* start + (count-1)*step past the width */
    refused("{" BASE "\"count\":11,\"serial\":{\"addr\":\"0x0800FC00\",\"format\":\"ascii-dec\","
            "\"width\":2,\"start\":90,\"step\":1}}",
            RECIPE_E_BAD_REQUEST, "99");
    /* a step of 0 hands everyone the same number */
    refused("{" BASE "\"count\":2,\"serial\":{\"addr\":\"0x0800FC00\",\"step\":0}}",
            RECIPE_E_BAD_REQUEST, "step");
    /* an empty probe list made a job that could never run */
    refused("{" BASE "\"count\":1,\"probes\":[]}", RECIPE_E_BAD_REQUEST, "at least one probe");
    refused("{" BASE "\"count\":1,\"probes\":[\"A\",\"a\"]}", RECIPE_E_BAD_REQUEST, "twice");
    refused("{" BASE "\"count\":0}", RECIPE_E_BAD_REQUEST, "count");
    refused("{" BASE "\"count\":1,\"colour\":\"red\"}", RECIPE_E_BAD_REQUEST, "colour");
    refused("{" BASE "\"count\":1,\"serial\":{\"addr\":\"0x0800FC00\",\"series\":\"a b\"}}",
            RECIPE_E_BAD_REQUEST, "series");
    refused("{" BASE "\"count\":1,\"serial\":{\"addr\":\"0x0800FC00\",\"series\":\"\"}}",
            RECIPE_E_BAD_REQUEST, "series");
    refused("{" BASE "\"count\":1,\"serial\":{\"addr\":\"-1\"}}", RECIPE_E_BAD_REQUEST, "addr");
    /* outside the F103RB's 128 KiB */
    refused("{" BASE "\"count\":1,\"serial\":{\"addr\":\"0x08020000\"}}", RECIPE_E_UNPROCESSABLE,
            "not in the chip's flash");
    refused("{\"image\":\"x\",\"chip\":\"stm32x999\",\"count\":1}", RECIPE_E_UNPROCESSABLE,
            "flashline chips");
    refused("{\"image\":\"x\",\"count\":1}", RECIPE_E_BAD_REQUEST, "\"chip\"");
}

/* An RDP write on a TrustZone part needs its confirm word; elsewhere none. */
static void test_trustzone_confirm(void **state)
{
    (void)state;
    refused("{\"image\":\"x\",\"chip\":\"stm32u585zi\",\"count\":1,\"option_bytes\":{\"rdp\":1}}",
            RECIPE_E_UNPROCESSABLE, "\"confirm\": \"trustzone\"");
    refused("{\"image\":\"x\",\"family\":\"l5\",\"count\":1,"
            "\"option_bytes\":{\"rdp\":0,\"confirm\":\"yes\"}}",
            RECIPE_E_UNPROCESSABLE, "TrustZone");
    refused("{" BASE "\"count\":1,\"option_bytes\":{\"rdp\":1,\"confirm\":7}}",
            RECIPE_E_BAD_REQUEST, "confirm");
    job_recipe r;
    char msg[512] = "";
    assert_int_equal(parse("{\"image\":\"x\",\"chip\":\"stm32u585zi\",\"count\":1,"
                           "\"option_bytes\":{\"rdp\":1,\"confirm\":\"trustzone\"}}",
                           &r, msg, sizeof msg),
                     RECIPE_OK);
    assert_int_equal(r.rdp, 1);
    assert_string_equal(r.confirm, "trustzone");
    recipe_clear(&r);
    /* No option write, no word asked for; and an F1 asks for none. */
    assert_int_equal(
        parse("{\"image\":\"x\",\"chip\":\"stm32u585zi\",\"count\":1}", &r, msg, sizeof msg),
        RECIPE_OK);
    recipe_clear(&r);
    assert_int_equal(
        parse("{" BASE "\"count\":1,\"option_bytes\":{\"rdp\":1}}", &r, msg, sizeof msg),
        RECIPE_OK);
    recipe_clear(&r);
}

static void test_serial_series(void **state)
{
    (void)state;
    job_recipe r;
    char msg[512] = "";
    /* no start: continue the address+format's default series */
    assert_int_equal(
        parse("{" BASE "\"count\":3,\"serial\":{\"addr\":\"0x0800fc00\"}}", &r, msg, sizeof msg),
        RECIPE_OK);
    assert_true(r.has_serial);
    assert_true(r.serial_continue);
    assert_string_equal(r.series, "0x0800FC00/u32le");
    assert_int_equal(r.serial_max, 4294967295);
    recipe_clear(&r);
    /* a named series and an explicit start */
    assert_int_equal(
        parse("{" BASE "\"continuous\":true,\"serial\":{\"addr\":134282240,"
              "\"format\":\"ascii-hex\",\"width\":6,\"start\":16,\"series\":\"board-A\"}"
              ",\"probes\":[\"P1\",\"P2\"]}",
              &r, msg, sizeof msg),
        RECIPE_OK);
    assert_false(r.serial_continue);
    assert_string_equal(r.series, "board-A");
    assert_int_equal(r.serial.start, 16);
    assert_int_equal(r.serial_max, 0xFFFFFF);
    assert_int_equal(r.count, -1);
    assert_int_equal(r.nprobes, 2);
    assert_string_equal(r.probes[1], "P2");
    recipe_clear(&r);
    /* the last unit exactly at the top fits */
    assert_int_equal(parse("{" BASE "\"count\":10,\"serial\":{\"addr\":\"0x0800FC00\",\"format\":"
                           "\"ascii-dec\",\"width\":2,\"start\":90}}",
                           &r, msg, sizeof msg),
                     RECIPE_OK);
    recipe_clear(&r);
}

static void test_serial_max(void **state)
{
    (void)state;
    serial_spec s = {.format = SERIAL_U32LE, .width = 1};
    assert_int_equal(recipe_serial_max(&s), 255);
    s.width = 8;
    assert_int_equal(recipe_serial_max(&s), INT64_MAX);
    s = (serial_spec){.format = SERIAL_ASCII_DEC, .width = 18};
    assert_int_equal(recipe_serial_max(&s), 999999999999999999);
    s.width = 19;
    assert_int_equal(recipe_serial_max(&s), INT64_MAX);
    s = (serial_spec){.format = SERIAL_ASCII_HEX, .width = 15};
    assert_int_equal(recipe_serial_max(&s), 0xFFFFFFFFFFFFFFF);
    s.width = 16;
    assert_int_equal(recipe_serial_max(&s), INT64_MAX);
}

/* A reason cut at 255 bytes inside a UTF-8 character vanished from the
 * probe's JSON: jansson refuses invalid UTF-8. */
/* An ordering code picks its row by the size letter, also sizes that are
 * not powers of two (F 768 KiB, H 1.5 MiB); a family takes the largest of
 * its parts; an unknown code is refused naming the families. */
static void test_chip_rows(void **state)
{
    (void)state;
    static const struct {
        const char *chip, *family;
        uint16_t dev_id;
        uint32_t kib;
    } cases[] = {
        {"stm32f103c8", NULL, 0x410, 64},   {"stm32f103ze", NULL, 0x414, 512},
        {"stm32f103zf", NULL, 0x430, 768},  {"stm32f413zh", NULL, 0x463, 1536},
        {"stm32f407vg", NULL, 0x413, 1024}, {"stm32f030f4", NULL, 0x444, 16},
        {"stm32f030cc", NULL, 0x442, 256},  {NULL, "f4", 0x419, 2048},
        {NULL, "STM32F0", 0x442, 256},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[200], msg[512] = "";
        snprintf(text, sizeof text, "{\"image\":\"x\",\"%s\":\"%s\",\"count\":1}",
                 cases[i].chip ? "chip" : "family",
                 cases[i].chip ? cases[i].chip : cases[i].family);
        job_recipe r;
        if (parse(text, &r, msg, sizeof msg) != RECIPE_OK)
            fail_msg("%s: %s", text, msg);
        assert_non_null(r.row);
        if (r.row->dev_id != cases[i].dev_id || r.flash_size != cases[i].kib * 1024u)
            fail_msg("%s: row 0x%03X with %u KiB, want 0x%03X with %u KiB", text, r.row->dev_id,
                     r.flash_size / 1024u, cases[i].dev_id, cases[i].kib);
        recipe_clear(&r);
    }
    refused("{\"image\":\"x\",\"chip\":\"stm32f999zz\",\"count\":1}", RECIPE_E_UNPROCESSABLE,
            "f0, f1, f2");
}

static void test_utf8_cut(void **state)
{
    (void)state;
    char src[300];
    memset(src, 'a', 254);
    strcpy(src + 254, "\xC3\xA9tage"); /* é straddles bytes 254-255 */
    char dst[256];
    view_copy_utf8(dst, sizeof dst, src);
    assert_int_equal(strlen(dst), 254);
    json_t *j = json_string(dst);
    assert_non_null(j);
    json_decref(j);
    view_copy_utf8(dst, 7,
                   "ab\xE2\x82\xAC"
                   "cd"); /* € is 3 bytes: whole or not at all */
    assert_string_equal(dst, "ab\xE2\x82\xAC"
                             "c");
    view_copy_utf8(dst, 5,
                   "ab\xE2\x82\xAC"
                   "cd");
    assert_string_equal(dst, "ab");
    view_copy_utf8(dst, 8, "short");
    assert_string_equal(dst, "short");
}

/* A message cut to its 512 bytes inside a UTF-8 character made the API's
 * JSON answer fail (500 instead of 400): the cut drops the whole character
 * (seen while writing fuzz.recipe, whose UTF-8 check refuses it). */
static void test_msg_cut_utf8(void **state)
{
    (void)state;
    char text[1024] = "{" BASE "\"count\":1,\"";
    for (int i = 0; i < 200; i++)
        strcat(text, "\xE2\x82\xAC"); /* € */
    strcat(text, "\":1}");
    job_recipe r;
    char msg[512] = "";
    assert_int_equal(parse(text, &r, msg, sizeof msg), RECIPE_E_BAD_REQUEST);
    assert_in_range(strlen(msg), 500, 511);
    json_t *j = json_string(msg);
    assert_non_null(j);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation_gaps),   cmocka_unit_test(test_serial_series),
        cmocka_unit_test(test_serial_max),        cmocka_unit_test(test_utf8_cut),
        cmocka_unit_test(test_msg_cut_utf8),      cmocka_unit_test(test_chip_rows),
        cmocka_unit_test(test_trustzone_confirm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
