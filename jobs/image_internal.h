/* Private to the image readers: the builder every format parser feeds, and
 * the small helpers they share. Not installed, not for other rooms. */
#ifndef FLASHLINE_JOBS_IMAGE_INTERNAL_H
#define FLASHLINE_JOBS_IMAGE_INTERNAL_H

#include "image.h"

/* One piece of data as the file gave it, before sorting and merging. */
typedef struct {
    uint64_t addr; /* 64-bit so that a wrap past 4 GiB is visible */
    uint32_t len;
    uint32_t off;   /* offset into the builder's data arena */
    uint32_t where; /* line number or program header index, for messages */
} img_piece;

typedef struct {
    uint8_t *data; /* arena: pieces' bytes in file order */
    size_t data_len, data_cap;
    img_piece *pieces;
    size_t npieces, pieces_cap;
    const char *where_kind; /* "line", "program header" */
    bool has_entry;
    uint32_t entry;
    char *msg;
    size_t msglen;
} img_builder;

struct image {
    image_format format;
    size_t nseg;
    image_segment *segs;
    uint8_t *data; /* all segments' bytes, in address order */
    uint32_t total;
    bool has_entry;
    uint32_t entry;
    uint8_t sha256[32];
};

/* Writes the message (if msg is usable) and returns e. */
img_err img_fail(char *msg, size_t msglen, img_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Adds len bytes at addr; refuses wraps past 4 GiB and totals over the cap. */
img_err img_builder_add(img_builder *b, uint64_t addr, const uint8_t *bytes, size_t len,
                        uint32_t where);

/* Sorts, refuses overlaps, merges adjacent pieces into a new image. */
img_err img_builder_finish(img_builder *b, image_format fmt, image **out);
/* Text formats: the next line of buf starting at *pos, without its line end
 * and trailing blanks. Returns false at the end of the buffer. */
bool img_next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *linelen);

/* Decodes n hex digit pairs from s into out. Returns the index of the first
 * bad character, or -1 when all are hex digits. */
long img_hex_decode(const char *s, size_t ndigits, uint8_t *out);

/* Prints c for a message: itself if printable, else \xNN. */
void img_char_repr(char c, char out[8]);

img_err img_parse_bin(img_builder *b, const uint8_t *buf, size_t len, uint32_t base);
img_err img_parse_ihex(img_builder *b, const char *buf, size_t len);
img_err img_parse_srec(img_builder *b, const char *buf, size_t len);
img_err img_parse_elf(img_builder *b, const uint8_t *buf, size_t len);

/* Computes img->sha256 over the canonical form (see image.h). */
img_err img_hash_compute(image *img, char *msg, size_t msglen);

#endif
