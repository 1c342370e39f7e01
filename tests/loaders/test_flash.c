/*
 * loaders/flash through the real probe driver on the virtual line (run by
 * flashline-sim with one probe per chip, serials below): identify, unlock,
 * erase, program through the stub with double buffering, CRC on the target,
 * read back over SWD. The virtual boards' flash is read back through the
 * probe, never taken from the loader's word.
 */
#include "flash.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "line.h"
#include <zlib.h>

typedef struct line_probe {
    const char *serial;
    uint16_t dev_id;
    uint32_t flash_size;
} line_probe;

static const line_probe line[] = {
    {"37FF71064E57343625231943", 0x410, 128 * 1024},
    {"0670FF555654857567033520", 0x421, 512 * 1024},
    {"51FF6B065177505544511187", 0x417, 64 * 1024},
    {"002F00283438510A33333639", 0x415, 1024 * 1024},
};

static void identifies_every_chip(void **state)
{
    (void)state;
    uint32_t first_uid[3] = {0};
    for (size_t i = 0; i < sizeof line / sizeof line[0]; i++) {
        pd_probe *p = line_connect(line[i].serial, false);
        fl_target t;
        check(&t, fl_identify(p, &t));
        assert_int_equal(t.idcode & 0xFFF, line[i].dev_id);
        assert_int_equal(t.flash_size, line[i].flash_size);
        assert_false(t.rdp);
        assert_true(t.uid[0] | t.uid[1] | t.uid[2]);
        if (i == 0)
            memcpy(first_uid, t.uid, sizeof first_uid);
        else
            assert_memory_not_equal(first_uid, t.uid, sizeof first_uid);
        pd_destroy(p);
    }
}

static void erases_programs_and_verifies_every_chip(void **state)
{
    (void)state;
    const size_t len = 20 * 1024 + 512; /* several stub buffers on every chip */
    uint8_t *img = malloc(len), *back = malloc(len);
    assert_non_null(img);
    assert_non_null(back);
    for (size_t i = 0; i < sizeof line / sizeof line[0]; i++) {
        for (size_t k = 0; k < len; k++)
            img[k] = (uint8_t)(k * 31 + i * 7 + (k >> 9));
        pd_probe *p = line_connect(line[i].serial, false);
        fl_target t;
        check(&t, fl_identify(p, &t));
        check(&t, fl_unlock(&t));
        /* Erase every unit the image touches, plus the next one. */
        fl_unit last;
        assert_true(fl_chip_unit_at(t.chip, t.flash_size, 0x08000000u + (uint32_t)len, &last));
        for (uint32_t u = 0; u <= last.index; u++)
            check(&t, fl_erase_unit(&t, u));
        check(&t, fl_program(&t, 0x08000000u, img, len, NULL, NULL));
        uint32_t crc = 0;
        check(&t, fl_crc32(&t, 0x08000000u, (uint32_t)len, &crc));
        assert_int_equal(crc, (uint32_t)crc32(crc32(0L, Z_NULL, 0), img, (uInt)len));
        assert_int_equal(pd_mem_read(p, 0x08000000u, back, len), PD_OK);
        assert_memory_equal(back, img, len);
        /* Just past the image the flash is still erased. */
        uint8_t after[4];
        assert_int_equal(pd_mem_read(p, 0x08000000u + (uint32_t)len, after, 4), PD_OK);
        for (int b = 0; b < 4; b++)
            assert_int_equal(after[b], fl_chip_erased(t.chip));
        check(&t, fl_lock(&t));
        pd_destroy(p);
    }
    free(img);
    free(back);
}

static void erasing_one_unit_leaves_its_neighbours(void **state)
{
    (void)state;
    pd_probe *p = line_connect(line[3].serial, false); /* L476: 2 KiB pages */
    fl_target t;
    check(&t, fl_identify(p, &t));
    check(&t, fl_unlock(&t));
    uint8_t page[2048];
    for (uint32_t u = 8; u < 11; u++)
        check(&t, fl_erase_unit(&t, u));
    memset(page, 0x3C, sizeof page);
    for (uint32_t u = 8; u < 11; u++)
        check(&t, fl_program(&t, 0x08000000u + u * 2048, page, sizeof page, NULL, NULL));
    check(&t, fl_erase_unit(&t, 9));
    uint8_t back[3 * 2048];
    assert_int_equal(pd_mem_read(p, 0x08000000u + 8 * 2048, back, sizeof back), PD_OK);
    for (size_t k = 0; k < sizeof back; k++)
        assert_int_equal(back[k], (k / 2048 == 1) ? 0xFF : 0x3C);
    /* Programming over a programmed double word is a flash error the stub
     * reports with its address. */
    assert_int_equal(fl_program(&t, 0x08000000u + 8 * 2048, page, 8, NULL, NULL), FL_E_FLASH);
    assert_non_null(strstr(t.msg, "0x08004000"));
    pd_destroy(p);
}

static void refuses_what_is_outside_flash(void **state)
{
    (void)state;
    pd_probe *p = line_connect(line[0].serial, false);
    fl_target t;
    check(&t, fl_identify(p, &t));
    uint8_t b[4] = {0};
    assert_int_equal(fl_program(&t, 0x08020000u, b, 4, NULL, NULL), FL_E_ARG);
    assert_int_equal(fl_program(&t, 0x08000001u, b, 2, NULL, NULL), FL_E_ARG);
    assert_int_equal(fl_erase_unit(&t, 128), FL_E_ARG);
    assert_non_null(strstr(t.msg, "does not exist"));
    pd_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identifies_every_chip),
        cmocka_unit_test(erases_programs_and_verifies_every_chip),
        cmocka_unit_test(erasing_one_unit_leaves_its_neighbours),
        cmocka_unit_test(refuses_what_is_outside_flash),
    };
    return cmocka_run_group_tests_name("loaders.flash", tests, NULL, NULL);
}
