/*
 * What every parser fuzzer checks: any input becomes either a well-formed
 * image or a typed error with a message, without crashing, leaking or
 * allocating without bound; the invariants of a loaded image hold.
 */
#ifndef FLASHLINE_TESTS_JOBS_FUZZ_CHECK_H
#define FLASHLINE_TESTS_JOBS_FUZZ_CHECK_H

#include "image.h"

#include <stdlib.h>
#include <string.h>

static inline int fuzz_check(const uint8_t *data, size_t size, image_format fmt)
{
    char msg[256];
    image *img = NULL;
    img_err e = image_load_mem(data, size, fmt, 0, &img, msg, sizeof msg);
    if (e != IMG_OK) {
        if (img != NULL || msg[0] == '\0')
            abort(); /* failures return no image and always say why */
        return 0;
    }
    size_t n = image_segment_count(img);
    uint64_t total = 0, prev_end = 0;
    for (size_t i = 0; i < n; i++) {
        image_segment s;
        if (!image_segment_get(img, i, &s) || s.length == 0)
            abort();
        /* sorted, non-overlapping, adjacent ones merged, within 4 GiB */
        if (i > 0 && s.address <= prev_end)
            abort();
        prev_end = (uint64_t)s.address + s.length;
        if (prev_end > UINT64_C(0x100000000))
            abort();
        total += s.length;
    }
    if (n == 0 || total != image_size_bytes(img) || total > IMAGE_MAX_BYTES)
        abort();
    char hex[65];
    image_sha256_hex(img, hex);
    if (strlen(hex) != 64)
        abort();
    image_free(img);
    return 0;
}

#endif
