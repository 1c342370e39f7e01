/*
 * The flash plan: which units an image touches, what each must hold, which
 * bytes get programmed (padded to the program unit), and what is refused.
 */
#include "plan.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

static image *hex_image(const char *text)
{
    image *img = NULL;
    char msg[256];
    if (image_load_mem(text, strlen(text), IMAGE_FMT_IHEX, 0, &img, msg, sizeof msg) != IMG_OK)
        fail_msg("%s", msg);
    return img;
}

static image *bin_image(const uint8_t *data, size_t len, uint32_t base)
{
    image *img = NULL;
    char msg[256];
    if (image_load_mem(data, len, IMAGE_FMT_BIN, base, &img, msg, sizeof msg) != IMG_OK)
        fail_msg("%s", msg);
    return img;
}

static void touched_pages_only_f1(void **state)
{
    (void)state;
    const fl_chip *f1 = fl_chip_by_dev_id(0x410);
    /* 3 bytes at 0x08000401 and 4 at 0x080007FE: pages 1 and 2 (1 KiB). */
    image *img = hex_image(":020000040800F2\n"
                           ":03040100AABBCCC7\n"
                           ":0407FE00112233444D\n"
                           ":00000001FF\n");
    flash_plan *p = NULL;
    char msg[256];
    assert_int_equal(plan_build(img, f1, 128 * 1024, PLAN_ERASE_AUTO, &p, msg, sizeof msg), IMG_OK);
    assert_int_equal(plan_step_count(p), 2);
    const plan_step *s1 = plan_step_at(p, 0), *s2 = plan_step_at(p, 1);
    assert_int_equal(s1->unit.index, 1);
    assert_int_equal(s2->unit.index, 2);
    /* Content: image bytes over 0xFF. */
    assert_int_equal(s1->content[0], 0xFF);
    assert_int_equal(s1->content[1], 0xAA);
    assert_int_equal(s1->content[3], 0xCC);
    assert_int_equal(s1->content[4], 0xFF);
    assert_int_equal(s1->content[0x3FE], 0x11);
    assert_int_equal(s1->content[0x3FF], 0x22);
    assert_int_equal(s2->content[0], 0x33);
    assert_int_equal(s2->content[1], 0x44);
    /* Ranges padded to half-words. */
    assert_int_equal(s1->nranges, 2);
    assert_int_equal(s1->ranges[0].addr, 0x08000400);
    assert_int_equal(s1->ranges[0].len, 4);
    assert_int_equal(s1->ranges[1].addr, 0x080007FE);
    assert_int_equal(s1->ranges[1].len, 2);
    assert_int_equal(s2->nranges, 1);
    assert_int_equal(s2->ranges[0].addr, 0x08000800);
    assert_int_equal(s2->ranges[0].len, 2);
    assert_int_equal(plan_program_bytes(p), 8);
    assert_int_equal(s1->crc, (uint32_t)crc32(crc32(0, Z_NULL, 0), s1->content, 1024));
    plan_free(p);
    image_free(img);
}

static void sectors_and_chip_erase_f4(void **state)
{
    (void)state;
    const fl_chip *f4 = fl_chip_by_dev_id(0x421);
    uint8_t data[70 * 1024];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)i;
    /* 70 KiB from 0x0800C000: sector 3 (16 KiB) and sector 4 (64 KiB). */
    image *img = bin_image(data, sizeof data, 0x0800C000);
    flash_plan *p = NULL;
    assert_int_equal(plan_build(img, f4, 512 * 1024, PLAN_ERASE_AUTO, &p, NULL, 0), IMG_OK);
    assert_int_equal(plan_step_count(p), 2);
    assert_int_equal(plan_step_at(p, 0)->unit.index, 3);
    assert_int_equal(plan_step_at(p, 1)->unit.index, 4);
    assert_int_equal(plan_step_at(p, 1)->ranges[0].len, 54 * 1024);
    assert_int_equal(plan_program_bytes(p), sizeof data);
    plan_free(p);
    assert_int_equal(plan_build(img, f4, 512 * 1024, PLAN_ERASE_CHIP, &p, NULL, 0), IMG_OK);
    assert_int_equal(plan_step_count(p), 8);
    assert_false(plan_step_at(p, 0)->touched);
    assert_true(plan_step_at(p, 3)->touched);
    plan_free(p);
    image_free(img);
}

static void l0_erased_is_zero_and_l4_pads_double_words(void **state)
{
    (void)state;
    const fl_chip *l0 = fl_chip_by_dev_id(0x417), *l4 = fl_chip_by_dev_id(0x415);
    const uint8_t three[3] = {1, 2, 3};
    image *img = bin_image(three, 3, 0x08000082);
    flash_plan *p = NULL;
    assert_int_equal(plan_build(img, l0, 64 * 1024, PLAN_ERASE_AUTO, &p, NULL, 0), IMG_OK);
    const plan_step *s = plan_step_at(p, 0);
    assert_int_equal(s->unit.index, 1); /* 128-byte pages */
    assert_int_equal(s->content[0], 0x00);
    assert_int_equal(s->content[2], 1);
    assert_int_equal(s->ranges[0].addr, 0x08000080);
    assert_int_equal(s->ranges[0].len, 8); /* words: 0x80-0x87 */
    plan_free(p);
    image_free(img);
    img = bin_image(three, 3, 0x08080006); /* bank 2, page 0 */
    assert_int_equal(plan_build(img, l4, 1024 * 1024, PLAN_ERASE_AUTO, &p, NULL, 0), IMG_OK);
    s = plan_step_at(p, 0);
    assert_int_equal(s->unit.bank, 1);
    assert_int_equal(s->unit.index_in_bank, 0);
    assert_int_equal(s->ranges[0].addr, 0x08080000);
    assert_int_equal(s->ranges[0].len, 16); /* 0x...06-0x...08 spans two double words */
    plan_free(p);
    image_free(img);
}

static void images_outside_flash_are_refused(void **state)
{
    (void)state;
    const fl_chip *f1 = fl_chip_by_dev_id(0x410);
    uint8_t data[16] = {0};
    char msg[256];
    flash_plan *p = (flash_plan *)1;
    image *img = bin_image(data, sizeof data, 0x0801FFF8); /* runs 8 bytes past 128 KiB */
    assert_int_equal(plan_build(img, f1, 128 * 1024, PLAN_ERASE_AUTO, &p, msg, sizeof msg),
                     IMG_E_RANGE);
    assert_null(p);
    assert_non_null(strstr(msg, "0x0801FFF8"));
    assert_non_null(strstr(msg, "128 KiB"));
    image_free(img);
    img = bin_image(data, sizeof data, 0x20000000); /* a RAM image */
    assert_int_equal(plan_build(img, f1, 128 * 1024, PLAN_ERASE_AUTO, &p, msg, sizeof msg),
                     IMG_E_RANGE);
    image_free(img);
    /* The same image fits a 64 KiB-smaller part? No: the size decides. */
    img = bin_image(data, sizeof data, 0x08010000);
    assert_int_equal(plan_build(img, f1, 64 * 1024, PLAN_ERASE_AUTO, &p, msg, sizeof msg),
                     IMG_E_RANGE);
    assert_int_equal(plan_build(img, f1, 128 * 1024, PLAN_ERASE_AUTO, &p, msg, sizeof msg), IMG_OK);
    plan_free(p);
    image_free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(touched_pages_only_f1),
        cmocka_unit_test(sectors_and_chip_erase_f4),
        cmocka_unit_test(l0_erased_is_zero_and_l4_pads_double_words),
        cmocka_unit_test(images_outside_flash_are_refused),
    };
    return cmocka_run_group_tests_name("jobs.plan", tests, NULL, NULL);
}
