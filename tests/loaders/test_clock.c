/*
 * loaders/clock through the real probe driver on the virtual line: the
 * core clock goes up from the reset oscillator by the chip row's steps,
 * flash still reads right at the raised clock (the virtual boards return
 * wrong bytes when the wait states are too few), the loader programs and
 * verifies there, and fl_clock_restore brings the reset configuration
 * back. A clock that firmware set is left alone.
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
    uint32_t cfgr;     /* RCC_CFGR */
    uint32_t sws_fast; /* RCC_CFGR.SWS at the fast clock */
    uint32_t acr;      /* FLASH_ACR */
    uint32_t latency_mask, latency_fast;
} line_probe;

static const line_probe line[] = {
    {"37FF71064E57343625231943", 0x40021004u, 2, 0x40022000u, 0x7, 2},
    {"0670FF555654857567033520", 0x40023808u, 2, 0x40023C00u, 0xF, 5},
    {"51FF6B065177505544511187", 0x4002100Cu, 1, 0x40022000u, 0x1, 1},
    {"002F00283438510A33333639", 0x40021008u, 3, 0x40022000u, 0x7, 4},
};

static uint32_t rd(pd_probe *p, uint32_t addr)
{
    uint32_t v = 0;
    assert_int_equal(pd_read32(p, addr, &v), PD_OK);
    return v;
}

static void raises_programs_at_speed_and_restores(void **state)
{
    (void)state;
    const size_t len = 8 * 1024;
    uint8_t *img = malloc(len), *back = malloc(len);
    assert_non_null(img);
    assert_non_null(back);
    for (size_t i = 0; i < sizeof line / sizeof line[0]; i++) {
        const line_probe *l = &line[i];
        for (size_t k = 0; k < len; k++)
            img[k] = (uint8_t)(k * 13 + i * 5 + (k >> 8));
        pd_probe *p = line_connect(l->serial, true);
        fl_target t;
        check(&t, fl_identify(p, &t));
        check(&t, fl_unlock(&t));
        uint32_t cfgr0 = rd(p, l->cfgr), acr0 = rd(p, l->acr);
        assert_int_equal((cfgr0 >> 2) & 3, 0);
        check(&t, fl_clock_raise(&t));
        assert_true(t.clock_raised);
        assert_int_equal((rd(p, l->cfgr) >> 2) & 3, l->sws_fast);
        assert_int_equal(rd(p, l->acr) & l->latency_mask, l->latency_fast);
        /* Raising twice changes nothing. */
        check(&t, fl_clock_raise(&t));
        assert_int_equal((rd(p, l->cfgr) >> 2) & 3, l->sws_fast);

        fl_unit last;
        assert_true(fl_chip_unit_at(t.chip, t.flash_size, 0x08000000u + (uint32_t)len - 1, &last));
        for (uint32_t u = 0; u <= last.index; u++)
            check(&t, fl_erase_unit(&t, u));
        check(&t, fl_program(&t, 0x08000000u, img, len, NULL, NULL));
        uint32_t crc = 0;
        check(&t, fl_crc32(&t, 0x08000000u, (uint32_t)len, &crc));
        assert_int_equal(crc, (uint32_t)crc32(crc32(0L, Z_NULL, 0), img, (uInt)len));
        assert_int_equal(pd_mem_read(p, 0x08000000u, back, len), PD_OK);
        assert_memory_equal(back, img, len);

        check(&t, fl_clock_restore(&t));
        assert_false(t.clock_raised);
        assert_int_equal(rd(p, l->cfgr), cfgr0);
        assert_int_equal(rd(p, l->acr), acr0);
        /* And the flash still reads the same at the reset clock. */
        assert_int_equal(pd_mem_read(p, 0x08000000u, back, len), PD_OK);
        assert_memory_equal(back, img, len);
        check(&t, fl_lock(&t));
        pd_destroy(p);
    }
    free(img);
    free(back);
}

/* Firmware that switched SYSCLK itself (here: to HSI16 on the L4, whose
 * reset clock is MSI) keeps its clock and its wait states. */
static void leaves_a_firmware_clock_alone(void **state)
{
    (void)state;
    const line_probe *l = &line[3];
    pd_probe *p = line_connect(l->serial, true);
    fl_target t;
    check(&t, fl_identify(p, &t));
    assert_int_equal(pd_write32(p, l->acr, (rd(p, l->acr) & ~7u) | 1u), PD_OK);
    assert_int_equal(pd_write32(p, 0x40021000u, rd(p, 0x40021000u) | (1u << 8)), PD_OK);
    int polls = 0;
    while (!(rd(p, 0x40021000u) & (1u << 10)) && polls++ < 100)
        ;
    assert_true(rd(p, 0x40021000u) & (1u << 10)); /* HSIRDY */
    assert_int_equal(pd_write32(p, l->cfgr, (rd(p, l->cfgr) & ~3u) | 1u), PD_OK);
    while (((rd(p, l->cfgr) >> 2) & 3) != 1 && polls++ < 200)
        ;
    assert_int_equal((rd(p, l->cfgr) >> 2) & 3, 1); /* SWS = HSI16 */
    uint32_t cfgr = rd(p, l->cfgr), acr = rd(p, l->acr), pllcfgr = rd(p, 0x4002100Cu);
    check(&t, fl_clock_raise(&t));
    assert_false(t.clock_raised);
    assert_int_equal(rd(p, l->cfgr), cfgr);
    assert_int_equal(rd(p, l->acr), acr);
    assert_int_equal(rd(p, 0x4002100Cu), pllcfgr);
    /* Restoring what was never raised is a no-op too. */
    check(&t, fl_clock_restore(&t));
    assert_int_equal(rd(p, l->cfgr), cfgr);
    /* A reset gives the reset clock back. */
    assert_int_equal(pd_reset(p, true), PD_OK);
    assert_int_equal((rd(p, l->cfgr) >> 2) & 3, 0);
    pd_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(raises_programs_at_speed_and_restores),
        cmocka_unit_test(leaves_a_firmware_clock_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
