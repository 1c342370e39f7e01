/*
 * The pure part of the H7 family file that tests check on its own
 * (tests/loaders/test_family.c); the engines know only the descriptors.
 *
 * Private to loaders/.
 */
#ifndef FLASHLINE_LOADERS_FAMILIES_H7_H
#define FLASHLINE_LOADERS_FAMILIES_H7_H

#include <stdint.h>

/* Why the H7 flash cannot be programmed with these FLASH_OPTCR and
 * FLASH_OPTSR_CUR values (banks swapped, or a swap pending), as advice for
 * a person; NULL when nothing stands in the way. */
const char *fl_h7_swap_refusal(uint32_t optcr, uint32_t optsr_cur);

#endif
