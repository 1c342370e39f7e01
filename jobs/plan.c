/* The flash plan (see plan.h). */
#include "plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct step_store {
    plan_step step;
    uint8_t *content;
    plan_range *ranges;
} step_store;

struct flash_plan {
    step_store *steps;
    size_t n;
    uint64_t program_bytes;
};

static img_err say(char *msg, size_t n, img_err e, const char *fmt, ...)
{
    if (msg && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, n, fmt, ap);
        va_end(ap);
    }
    return e;
}

void plan_free(flash_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->steps[i].content);
        free(p->steps[i].ranges);
    }
    free(p->steps);
    free(p);
}

/* Fill a step's content and ranges from the image segments overlapping it. */
static img_err fill_step(step_store *s, const image *img, uint32_t unit_pu, uint8_t erased)
{
    const fl_unit *u = &s->step.unit;
    s->content = malloc(u->size);
    if (!s->content)
        return IMG_E_NOMEM;
    memset(s->content, erased, u->size);
    size_t cap = 0;
    for (size_t i = 0; i < image_segment_count(img); i++) {
        image_segment seg;
        image_segment_get(img, i, &seg);
        uint64_t lo = seg.address > u->addr ? seg.address : u->addr;
        uint64_t hi = (uint64_t)seg.address + seg.length;
        if (hi > (uint64_t)u->addr + u->size)
            hi = (uint64_t)u->addr + u->size;
        if (lo >= hi)
            continue;
        memcpy(s->content + (lo - u->addr), seg.data + (lo - seg.address), (size_t)(hi - lo));
        /* Program whole program units: the padding holds the erased value,
         * which programming leaves as it is. */
        uint32_t a = (uint32_t)lo & ~(unit_pu - 1);
        uint64_t b = (hi + unit_pu - 1) & ~(uint64_t)(unit_pu - 1);
        if (s->step.nranges &&
            s->ranges[s->step.nranges - 1].addr + s->ranges[s->step.nranges - 1].len >= a) {
            plan_range *last = &s->ranges[s->step.nranges - 1];
            last->len = (uint32_t)(b - last->addr); /* touching or sharing a unit: merge */
            continue;
        }
        if (s->step.nranges == cap) {
            cap = cap ? 2 * cap : 4;
            plan_range *r = realloc(s->ranges, cap * sizeof *r);
            if (!r)
                return IMG_E_NOMEM;
            s->ranges = r;
        }
        s->ranges[s->step.nranges++] = (plan_range){a, (uint32_t)(b - a)};
        s->step.touched = true;
    }
    s->step.content = s->content;
    s->step.ranges = s->ranges;
    s->step.crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), s->content, u->size);
    return IMG_OK;
}

img_err plan_build(const image *img, const fl_chip *chip, uint32_t flash_size, plan_erase mode,
                   flash_plan **out, char *msg, size_t msglen)
{
    *out = NULL;
    uint32_t nunits = fl_chip_unit_count(chip, flash_size);
    if (!img || nunits == 0)
        return say(msg, msglen, IMG_E_ARG, "no image, or %u bytes is not a valid flash size",
                   flash_size);
    uint64_t lo = chip->line->flash_base, hi = (uint64_t)chip->line->flash_base + flash_size;
    for (size_t i = 0; i < image_segment_count(img); i++) {
        image_segment seg;
        image_segment_get(img, i, &seg);
        uint64_t end = (uint64_t)seg.address + seg.length;
        if (seg.address < lo || end > hi)
            return say(msg, msglen, IMG_E_RANGE,
                       "the image has bytes at 0x%08X-0x%08llX, not inside the %u KiB of flash "
                       "of this %s (0x%08X-0x%08llX); check the link address or the chip",
                       seg.address, (unsigned long long)end - 1, flash_size / 1024, chip->name,
                       chip->line->flash_base, (unsigned long long)hi - 1);
    }
    flash_plan *p = calloc(1, sizeof *p);
    if (!p)
        return IMG_E_NOMEM;
    p->steps = calloc(nunits, sizeof *p->steps);
    if (!p->steps) {
        free(p);
        return IMG_E_NOMEM;
    }
    for (uint32_t k = 0; k < nunits; k++) {
        fl_unit u;
        fl_chip_unit(chip, flash_size, k, &u);
        bool touches = false;
        for (size_t i = 0; i < image_segment_count(img) && !touches; i++) {
            image_segment seg;
            image_segment_get(img, i, &seg);
            touches = seg.address < (uint64_t)u.addr + u.size &&
                      (uint64_t)seg.address + seg.length > u.addr;
        }
        if (!touches && mode == PLAN_ERASE_AUTO)
            continue;
        step_store *s = &p->steps[p->n++];
        s->step.unit = u;
        img_err e = fill_step(s, img, fl_chip_program_unit(chip), fl_chip_erased(chip));
        if (e) {
            plan_free(p);
            return say(msg, msglen, e, "out of memory while planning");
        }
        for (size_t r = 0; r < s->step.nranges; r++)
            p->program_bytes += s->step.ranges[r].len;
    }
    *out = p;
    if (msg && msglen)
        msg[0] = 0;
    return IMG_OK;
}

size_t plan_step_count(const flash_plan *p)
{
    return p->n;
}

const plan_step *plan_step_at(const flash_plan *p, size_t i)
{
    return i < p->n ? &p->steps[i].step : NULL;
}

uint64_t plan_program_bytes(const flash_plan *p)
{
    return p->program_bytes;
}
