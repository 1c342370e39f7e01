/*
 * The flash plan: from an image and a chip's layout to the least work. One
 * step per erase unit the image touches, holding the unit's whole desired
 * content (image bytes over the erased value) and its CRC-32, so that an
 * executor can skip a unit whose CRC on the target already matches, and
 * otherwise erase it and program exactly the bytes the image gives. Pure
 * logic: nothing here touches a probe (probe-rs keeps planning apart from
 * execution for the same reason: every rule is testable without hardware).
 */
#ifndef FLASHLINE_JOBS_PLAN_H
#define FLASHLINE_JOBS_PLAN_H

#include "chips.h"
#include "image.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum plan_erase {
    PLAN_ERASE_AUTO, /* only units the image touches, skipping unchanged ones */
    PLAN_ERASE_CHIP, /* every unit of the chip, nothing skipped */
} plan_erase;

typedef struct plan_range {
    uint32_t addr, len; /* aligned to the chip's program unit */
} plan_range;

typedef struct plan_step {
    fl_unit unit;
    bool touched;           /* the image has bytes in this unit */
    uint32_t crc;           /* CRC-32 of `content` (zlib's) */
    const uint8_t *content; /* unit.size bytes: image over the erased value */
    size_t nranges;         /* where the image has bytes, padded to the program unit */
    const plan_range *ranges;
} plan_step;

typedef struct flash_plan flash_plan;

/* Build the plan. An image that does not fit the chip's flash is refused
 * with a message naming the first byte outside (IMG_E_RANGE). */
img_err plan_build(const image *img, const fl_chip *chip, uint32_t flash_size, plan_erase mode,
                   flash_plan **out, char *msg, size_t msglen);
void plan_free(flash_plan *p);
size_t plan_step_count(const flash_plan *p);
const plan_step *plan_step_at(const flash_plan *p, size_t i);
/* Bytes the plan programs (sum of its ranges). */
uint64_t plan_program_bytes(const flash_plan *p);

#endif
