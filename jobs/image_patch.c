/* image_patch: the image with a few bytes replaced, e.g. a unit's serial
 * number. Built through the same builder as the parsers, so the result obeys
 * the same rules (sorted, merged, hashed). */
#include "image_internal.h"

#include <stdlib.h>

img_err image_patch(const image *src, uint32_t addr, const uint8_t *bytes, size_t len, image **out,
                    char *msg, size_t msglen)
{
    if (!src || !out || (!bytes && len))
        return img_fail(msg, msglen, IMG_E_ARG, "image_patch: missing argument");
    *out = NULL;
    uint64_t end = (uint64_t)addr + len;
    if (end > (1ull << 32))
        return img_fail(msg, msglen, IMG_E_RANGE, "patch at 0x%08X+%zu runs past 4 GiB", addr, len);
    img_builder b = {.where_kind = "segment", .msg = msg, .msglen = msglen};
    img_err e = IMG_OK;
    for (size_t i = 0; e == IMG_OK && i < src->nseg; i++) {
        const image_segment *s = &src->segs[i];
        uint64_t s_end = (uint64_t)s->address + s->length;
        /* The parts of the segment before and after the patch. */
        if (s->address < addr)
            e = img_builder_add(&b, s->address, s->data,
                                (size_t)((s_end < addr ? s_end : addr) - s->address), (uint32_t)i);
        if (e == IMG_OK && s_end > end) {
            uint64_t from = s->address > end ? s->address : end;
            e = img_builder_add(&b, from, s->data + (from - s->address), (size_t)(s_end - from),
                                (uint32_t)i);
        }
    }
    if (e == IMG_OK && len)
        e = img_builder_add(&b, addr, bytes, len, (uint32_t)src->nseg);
    if (e == IMG_OK) {
        e = img_builder_finish(&b, src->format, out);
        if (e == IMG_OK) {
            (*out)->has_entry = src->has_entry;
            (*out)->entry = src->entry;
        }
    }
    free(b.data);
    free(b.pieces);
    return e;
}
