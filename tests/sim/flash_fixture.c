#include "flash_fixture.h"

#include <stdlib.h>
#include <string.h>

int fixture_setup(void **state)
{
    const fixture_chip *chip = *state;
    assert_non_null(chip);
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->chip = chip;
    assert_int_equal(sim_board_create(chip->name, chip->seed, 0.0, &f->b), SIM_OK);
    f->expect = malloc(chip->flash_size);
    assert_non_null(f->expect);
    memset(f->expect, chip->erased, chip->flash_size);
    thumb_load(f->b, chip->prog, *chip->prog_len);
    *state = f;
    return 0;
}

int fixture_teardown(void **state)
{
    fixture *f = *state;
    sim_board_destroy(f->b);
    free(f->expect);
    free(f);
    return 0;
}

uint32_t call(fixture *f, uint32_t op, uint32_t a, uint32_t b, uint32_t c)
{
    return thumb_call(f->b, op, a, b, c);
}

uint64_t timed(fixture *f, uint32_t op, uint32_t a, uint32_t b, uint32_t c, uint32_t *r)
{
    uint64_t t0 = sim_board_now_ns(f->b);
    *r = call(f, op, a, b, c);
    return sim_board_now_ns(f->b) - t0;
}

void call_no_return(fixture *f, uint32_t op, uint32_t a, uint32_t b, uint32_t c)
{
    const uint32_t args[4] = {op, a, b, c};
    uint32_t r = 0;
    assert_false(thumb_run(f->b, args, true, 1000000, &r));
}

void call_faults(fixture *f, uint32_t op, uint32_t a, uint32_t b, uint32_t c)
{
    call_no_return(f, op, a, b, c);
    assert_true(sim_board_locked_up(f->b));
}

uint32_t sr(fixture *f)
{
    return rd32(f->b, f->chip->sr_addr);
}

void clear_sr(fixture *f)
{
    wr32(f->b, f->chip->sr_addr, f->chip->sr_clear);
    assert_int_equal(sr(f) & ~f->chip->sr_ignore, f->chip->sr_idle);
}

void check_flash(fixture *f)
{
    const fixture_chip *c = f->chip;
    const uint8_t *got = sim_board_flash(f->b);
    for (uint32_t i = 0; i < c->flash_size; i++)
        if (got[i] != f->expect[i]) {
            print_error("flash differs at 0x%08x: 0x%02x, expected 0x%02x\n", c->flash_base + i,
                        got[i], f->expect[i]);
            fail();
        }
}

void preload_expect(fixture *f, uint32_t addr, uint32_t len)
{
    uint32_t off = addr - f->chip->flash_base;
    assert_int_equal(sim_board_preload(f->b, addr, f->expect + off, len), SIM_OK);
}

void expect_word(fixture *f, uint32_t addr, uint32_t v)
{
    uint8_t *p = f->expect + (addr - f->chip->flash_base);
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void advance_to(fixture *f, uint64_t t_ns)
{
    uint64_t now = sim_board_now_ns(f->b);
    if (t_ns > now)
        assert_int_equal(sim_board_advance(f->b, t_ns - now), SIM_OK);
}

uint32_t busy_for(fixture *f, uint64_t t0, uint64_t t1, uint64_t dur)
{
    uint32_t bsy = f->chip->sr_bsy;
    assert_true(t1 - t0 + 1000 < dur);
    assert_true(sr(f) & bsy);
    advance_to(f, t0 + dur - 1000);
    assert_true(sr(f) & bsy);
    advance_to(f, t1 + dur);
    return sr(f);
}

void nrst_pulse(fixture *f)
{
    sim_board_nrst(f->b, true);
    sim_board_nrst(f->b, false);
}
