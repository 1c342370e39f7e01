/* Firmware images: raw binary, Intel HEX, Motorola S-record and ELF, read
 * into a sparse, sorted list of segments, with a SHA-256 content hash.
 *
 * An image is immutable once loaded; every function here is safe to call
 * from any thread on distinct images, and on the same image for reading.
 * Nothing here keeps global mutable state.
 *
 * Content hash (what image_sha256() returns): SHA-256 over the canonical
 * form of the image, which is, for every segment in ascending address order
 * (segments never overlap and adjacent ones are always merged, so the form is
 * unique for a given set of programmed bytes):
 *
 *     uint32 address, little-endian
 *     uint32 length,  little-endian
 *     length bytes of data
 *
 * So the same firmware gives the same hash whether it arrives as .bin (at
 * the right base), .hex, .srec or .elf; header records, symbol tables,
 * debug info and entry points do not enter the hash.
 */
#ifndef FLASHLINE_JOBS_IMAGE_H
#define FLASHLINE_JOBS_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest image accepted, in programmed bytes. The biggest STM32 has 4 MiB of
 * flash; 16 MiB leaves room for external-flash images yet bounds memory. */
#define IMAGE_MAX_BYTES (16u * 1024u * 1024u)
/* Largest input accepted (a text encoding or an ELF with debug info is much
 * bigger than the bytes it programs). */
#define IMAGE_MAX_INPUT_BYTES (128u * 1024u * 1024u)
/* Largest number of separate pieces of data before merging; bounds the
 * bookkeeping for files made of many tiny scattered records. */
#define IMAGE_MAX_PIECES (1u << 20)

typedef enum {
    IMG_OK = 0,
    IMG_E_IO,       /* the file could not be opened or read */
    IMG_E_FORMAT,   /* malformed: bad syntax, bad hex digit, lying length, missing EOF... */
    IMG_E_CHECKSUM, /* a record's checksum does not match its contents */
    IMG_E_OVERLAP,  /* two pieces of data claim the same address */
    IMG_E_RANGE,    /* an address runs past 4 GiB (or past its 64 KiB segment) */
    IMG_E_ARCH,     /* ELF for another machine, class or byte order */
    IMG_E_TOO_BIG,  /* more than IMAGE_MAX_BYTES of data, or input too large */
    IMG_E_EMPTY,    /* no bytes to program */
    IMG_E_NOMEM,    /* out of memory (or the crypto library failed) */
    IMG_E_ARG,      /* invalid argument from the caller (NULL buffer, bad format) */
} img_err;

typedef enum {
    IMAGE_FMT_AUTO = 0, /* detect by content; anything unrecognised is raw binary */
    IMAGE_FMT_BIN,
    IMAGE_FMT_IHEX,
    IMAGE_FMT_SREC,
    IMAGE_FMT_ELF,
} image_format;

typedef struct image image;

typedef struct {
    uint32_t address;    /* first byte's address */
    uint32_t length;     /* > 0; address + length <= 2^32 */
    const uint8_t *data; /* owned by the image */
} image_segment;

/* Load from memory (daemon uploads, fuzzers). `fmt` may be IMAGE_FMT_AUTO;
 * `bin_base` is the load address of raw binary input and ignored otherwise.
 * On success *out owns a new image (free with image_free) and msg is "".
 * On failure *out is NULL and msg (if not NULL, msglen > 0) says what is
 * wrong and what to do. */
img_err image_load_mem(const void *buf, size_t len, image_format fmt, uint32_t bin_base,
                       image **out, char *msg, size_t msglen);

/* Same, from a regular file. With IMAGE_FMT_AUTO a name ending in .bin
 * (any case) means raw binary unless the content is ELF. */
img_err image_load_file(const char *path, image_format fmt, uint32_t bin_base, image **out,
                        char *msg, size_t msglen);

void image_free(image *img);

/* The format the content looks like (never IMAGE_FMT_AUTO): ELF magic,
 * ':' (Intel HEX), 'S' + digit (S-record), else raw binary. */
image_format image_detect_format(const void *buf, size_t len);

image_format image_get_format(const image *img);
size_t image_segment_count(const image *img);
/* Segment i (0-based, ascending address); false if i is out of range. */
bool image_segment_get(const image *img, size_t i, image_segment *out);
/* Total programmed bytes (sum of segment lengths). */
uint32_t image_size_bytes(const image *img);
uint32_t image_lowest_address(const image *img);
/* One past the highest programmed byte (can be 2^32). */
uint64_t image_end_address(const image *img);
/* Entry point if the file gives one (HEX 03/05, S7/S8/S9, ELF e_entry). */
bool image_entry(const image *img, uint32_t *entry);
/* True if every programmed byte lies in [lo, hi_exclusive). */
bool image_fits(const image *img, uint32_t lo, uint32_t hi_exclusive);

/* Content hash, computed at load (see the canonical form above). */
void image_sha256(const image *img, uint8_t out[32]);
/* Same as 64 lowercase hex digits plus NUL. */
void image_sha256_hex(const image *img, char out[65]);

/* A new image: src with len bytes at addr written over it (added where src
 * has none). For serial numbers and calibration data put in per unit; the
 * result has its own content hash. */
img_err image_patch(const image *src, uint32_t addr, const uint8_t *bytes, size_t len, image **out,
                    char *msg, size_t msglen);

const char *img_err_name(img_err e);
const char *image_format_name(image_format fmt);

#ifdef __cplusplus
}
#endif

#endif
