/* Raw binary: the file is the bytes, loaded at a base address the caller
 * gives (a .bin carries no addresses of its own). */
#include "image_internal.h"

img_err img_parse_bin(img_builder *b, const uint8_t *buf, size_t len, uint32_t base)
{
    if ((uint64_t)base + len > UINT64_C(0x100000000))
        return img_fail(b->msg, b->msglen, IMG_E_RANGE,
                        "%zu bytes loaded at 0x%08X run past the end of the 4 GiB address space: "
                        "check the base address",
                        len, base);
    return img_builder_add(b, base, buf, len, 0);
}
