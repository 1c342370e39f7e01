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

/* Where stubs run: code at the start of SRAM (linked there, 2 KiB at most). */
#define FL_STUB_BASE 0x20000000u
#define FL_STUB_MAX  0x800u

#endif
