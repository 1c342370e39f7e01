/*
 * The flash-loader stubs the build embeds, one per flash-controller family,
 * and where a host puts them. The control block layout is loader_abi.h.
 */
#ifndef FLASHLINE_LOADERS_STUBS_H
#define FLASHLINE_LOADERS_STUBS_H

#include "loader_abi.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fl_stub {
    const char *family; /* the stub file's name: stubs/stub_<family>.c */
    const unsigned char *code;
    size_t len;
} fl_stub;

/* The stub for a family; false when there is none. */
bool fl_stub_find(const char *family, fl_stub *out);

/* Where stubs run: code at the start of SRAM (linked there, 1 KiB at most:
 * the smallest parts, F030x4 and F101x4, have 4 KiB of SRAM in all). */
#define FL_STUB_BASE 0x20000000u
#define FL_STUB_MAX  0x400u

#endif
