/* The content hash: SHA-256 (FIPS 180-4) through OpenSSL's EVP interface over
 * the canonical form documented in image.h: per segment in address order,
 * uint32 LE address, uint32 LE length, then the bytes. Fixed-width
 * little-endian headers make the form unambiguous and easy to reproduce
 * with any tool (the test rebuilds it and runs sha256sum over it). */
#include "image_internal.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <string.h>

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

img_err img_hash_compute(image *img, char *msg, size_t msglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < img->nseg; i++) {
        uint8_t hdr[8];
        le32(hdr, img->segs[i].address);
        le32(hdr + 4, img->segs[i].length);
        ok = EVP_DigestUpdate(ctx, hdr, sizeof hdr) == 1 &&
             EVP_DigestUpdate(ctx, img->segs[i].data, img->segs[i].length) == 1;
    }
    unsigned int outlen = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, img->sha256, &outlen) == 1 && outlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        char ebuf[160];
        ERR_error_string_n(ERR_get_error(), ebuf, sizeof ebuf);
        return img_fail(msg, msglen, IMG_E_NOMEM,
                        "OpenSSL could not compute the SHA-256 (%s): the machine is out of memory "
                        "or OpenSSL is broken",
                        ebuf);
    }
    return IMG_OK;
}

void image_sha256(const image *img, uint8_t out[32])
{
    memcpy(out, img->sha256, 32);
}

void image_sha256_hex(const image *img, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[img->sha256[i] >> 4];
        out[2 * i + 1] = hex[img->sha256[i] & 15];
    }
    out[64] = '\0';
}
