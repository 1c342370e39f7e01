#define _DEFAULT_SOURCE /* mkstemps */
/* jobs/image: every format read into exact segments, the same firmware in
 * four formats giving one SHA-256 (checked against sha256sum), and every
 * kind of hostile input answered with the right typed error and a message.
 * The reference firmware (FW_*) is built by arm-none-eabi-gcc and converted
 * by arm-none-eabi-objcopy: see CMakeLists.txt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"

/* ---- helpers ---------------------------------------------------------- */

static uint8_t *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Loads, checks the error code and that the message contains `want`
 * (case-sensitive), returns the image (NULL on failure). */
static image *load_expect(const void *buf, size_t len, image_format fmt, uint32_t base,
                          img_err want_err, const char *want)
{
    char msg[256];
    memset(msg, 'x', sizeof msg);
    image *img = (image *)0x1;
    img_err e = image_load_mem(buf, len, fmt, base, &img, msg, sizeof msg);
    if (e != want_err || (want && !strstr(msg, want))) {
        print_error("got %s (%s), wanted %s containing \"%s\"\n", img_err_name(e), msg,
                    img_err_name(want_err), want ? want : "");
        fail();
    }
    assert_non_null(memchr(msg, '\0', sizeof msg));
    if (e == IMG_OK) {
        assert_non_null(img);
        assert_string_equal(msg, "");
    } else {
        assert_null(img);
        assert_true(strlen(msg) > 20); /* says what is wrong and what to do */
    }
    return img;
}

static image *load_text(const char *text, image_format fmt, img_err want_err, const char *want)
{
    return load_expect(text, strlen(text), fmt, 0, want_err, want);
}

static void expect_seg(const image *img, size_t i, uint32_t addr, const uint8_t *bytes,
                       uint32_t len)
{
    image_segment s;
    assert_true(image_segment_get(img, i, &s));
    assert_int_equal(s.address, addr);
    assert_int_equal(s.length, len);
    assert_memory_equal(s.data, bytes, len);
}

/* Appends one Intel HEX record with its checksum (two's complement of the
 * byte sum, Intel HEX-86 spec) to out. */
static void ihex(char *out, uint8_t type, uint16_t off, const uint8_t *d, size_t n)
{
    char *p = out + strlen(out);
    unsigned sum = (unsigned)n + (off >> 8) + (off & 0xFF) + type;
    p += sprintf(p, ":%02X%04X%02X", (unsigned)n, off, type);
    for (size_t i = 0; i < n; i++) {
        p += sprintf(p, "%02X", d[i]);
        sum += d[i];
    }
    sprintf(p, "%02X\n", (0x100 - (sum & 0xFF)) & 0xFF);
}

static void ihex_u16(char *out, uint8_t type, uint16_t v)
{
    uint8_t d[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    ihex(out, type, 0, d, 2);
}

/* Appends one S-record: count covers address, data and checksum; the
 * checksum is the ones' complement of the low byte of the sum (srec(5)). */
static void srec(char *out, int type, uint32_t addr, const uint8_t *d, size_t n)
{
    static const int alen[10] = {2, 2, 3, 4, 2, 2, 3, 4, 3, 2};
    int al = alen[type];
    char *p = out + strlen(out);
    unsigned count = (unsigned)(al + n + 1), sum = count;
    p += sprintf(p, "S%d%02X", type, count);
    for (int i = al - 1; i >= 0; i--) {
        uint8_t b = (uint8_t)(addr >> (8 * i));
        p += sprintf(p, "%02X", b);
        sum += b;
    }
    for (size_t i = 0; i < n; i++) {
        p += sprintf(p, "%02X", d[i]);
        sum += d[i];
    }
    sprintf(p, "%02X\n", ~sum & 0xFF);
}

static const uint8_t B8[8] = {1, 2, 3, 4, 5, 6, 7, 8};

/* ---- raw binary ------------------------------------------------------- */

static void test_bin(void **state)
{
    (void)state;
    image *img = load_expect(B8, 8, IMAGE_FMT_BIN, 0x08000000, IMG_OK, NULL);
    assert_int_equal(image_get_format(img), IMAGE_FMT_BIN);
    assert_int_equal(image_segment_count(img), 1);
    expect_seg(img, 0, 0x08000000, B8, 8);
    image_segment s;
    assert_false(image_segment_get(img, 1, &s));
    assert_int_equal(image_size_bytes(img), 8);
    assert_int_equal(image_lowest_address(img), 0x08000000);
    assert_int_equal(image_end_address(img), 0x08000008);
    assert_true(image_fits(img, 0x08000000, 0x08000008));
    assert_false(image_fits(img, 0x08000000, 0x08000007));
    assert_false(image_fits(img, 0x08000001, 0x08100000));
    assert_false(image_entry(img, NULL));
    image_free(img);

    /* ends exactly at 4 GiB: legal */
    img = load_expect(B8, 8, IMAGE_FMT_BIN, 0xFFFFFFF8u, IMG_OK, NULL);
    assert_int_equal(image_end_address(img), UINT64_C(0x100000000));
    image_free(img);
    load_expect(B8, 8, IMAGE_FMT_BIN, 0xFFFFFFF9u, IMG_E_RANGE, "4 GiB");
    load_expect(B8, 0, IMAGE_FMT_BIN, 0x08000000, IMG_E_EMPTY, "empty");
    load_expect("", 0, IMAGE_FMT_AUTO, 0, IMG_E_EMPTY, "empty");
}

/* Big but legal: exactly the 16 MiB cap, then one byte more. */
static void test_bin_cap(void **state)
{
    (void)state;
    size_t n = IMAGE_MAX_BYTES;
    uint8_t *buf = malloc(n + 1);
    assert_non_null(buf);
    for (size_t i = 0; i < n + 1; i++)
        buf[i] = (uint8_t)(i * 7 + (i >> 16));
    image *img = load_expect(buf, n, IMAGE_FMT_BIN, 0x90000000u, IMG_OK, NULL);
    assert_int_equal(image_segment_count(img), 1);
    expect_seg(img, 0, 0x90000000u, buf, (uint32_t)n);
    image_free(img);
    load_expect(buf, n + 1, IMAGE_FMT_BIN, 0x90000000u, IMG_E_TOO_BIG, "16 MiB");
    free(buf);
}

/* ---- Intel HEX -------------------------------------------------------- */

static void test_ihex_linear(void **state)
{
    (void)state;
    char t[2048] = "";
    ihex_u16(t, 0x04, 0x0800);
    ihex(t, 0x00, 0x0004, B8 + 4, 4); /* out of order on purpose */
    ihex(t, 0x00, 0x0000, B8, 4);
    strcat(t, "\r\n"); /* blank line, CRLF */
    const uint8_t ab[2] = {0xAA, 0xBB};
    ihex(t, 0x00, 0x0100, ab, 2);
    const uint8_t eip[4] = {0x08, 0x00, 0x01, 0x01};
    ihex(t, 0x05, 0, eip, 4);
    ihex(t, 0x01, 0, NULL, 0);
    image *img = load_text(t, IMAGE_FMT_AUTO, IMG_OK, NULL);
    assert_int_equal(image_get_format(img), IMAGE_FMT_IHEX);
    assert_int_equal(image_segment_count(img), 2);
    expect_seg(img, 0, 0x08000000, B8, 8); /* two records merged */
    expect_seg(img, 1, 0x08000100, ab, 2);
    uint32_t entry = 0;
    assert_true(image_entry(img, &entry));
    assert_int_equal(entry, 0x08000101);
    image_free(img);

    /* lower-case digits and trailing blanks are accepted */
    img = load_text(":0400000001020304f2  \n:00000001ff\n", IMAGE_FMT_IHEX, IMG_OK, NULL);
    expect_seg(img, 0, 0, B8, 4);
    image_free(img);

    /* linear addressing runs on across a 64 KiB boundary */
    t[0] = '\0';
    ihex_u16(t, 0x04, 0x0800);
    ihex(t, 0x00, 0xFFFC, B8, 8);
    ihex(t, 0x01, 0, NULL, 0);
    img = load_text(t, IMAGE_FMT_IHEX, IMG_OK, NULL);
    expect_seg(img, 0, 0x0800FFFC, B8, 8);
    image_free(img);
}

static void test_ihex_segment(void **state)
{
    (void)state;
    char t[1024] = "";
    ihex_u16(t, 0x02, 0x1000); /* USBA: base 0x10000 */
    ihex(t, 0x00, 0x0010, B8, 3);
    const uint8_t csip[4] = {0x00, 0x01, 0x00, 0x02};
    ihex(t, 0x03, 0, csip, 4);
    ihex_u16(t, 0x04, 0x0002); /* back to linear: 0x20000 */
    ihex(t, 0x00, 0x0000, B8 + 3, 2);
    ihex(t, 0x01, 0, NULL, 0);
    image *img = load_text(t, IMAGE_FMT_IHEX, IMG_OK, NULL);
    assert_int_equal(image_segment_count(img), 2);
    expect_seg(img, 0, 0x10010, B8, 3);
    expect_seg(img, 1, 0x20000, B8 + 3, 2);
    uint32_t entry;
    assert_true(image_entry(img, &entry));
    assert_int_equal(entry, 0x12); /* CS*16 + IP */
    image_free(img);

    /* segment-mode offsets that would wrap inside the segment are refused */
    t[0] = '\0';
    ihex_u16(t, 0x02, 0x1000);
    ihex(t, 0x00, 0xFFFE, B8, 4);
    ihex(t, 0x01, 0, NULL, 0);
    load_text(t, IMAGE_FMT_IHEX, IMG_E_RANGE, "64 KiB segment");
}

static void test_ihex_hostile(void **state)
{
    (void)state;
    char t[4096];

    /* bad checksum: names the line, the found and the expected value */
    t[0] = '\0';
    ihex(t, 0x00, 0, B8, 4);
    ihex(t, 0x00, 4, B8 + 4, 4);
    ihex(t, 0x01, 0, NULL, 0);
    char *l2 = strchr(t, '\n') + 1;
    char good[3] = {l2[17], l2[18], 0};
    unsigned expected = (unsigned)strtoul(good, NULL, 16);
    unsigned found = (expected + 1) & 0xFF;
    char hx[3];
    sprintf(hx, "%02X", found);
    l2[17] = hx[0];
    l2[18] = hx[1];
    char want[128];
    sprintf(want, "line 2: checksum 0x%02X, expected 0x%02X: the file is damaged", found, expected);
    load_text(t, IMAGE_FMT_IHEX, IMG_E_CHECKSUM, want);

    load_text(":0400000001G20304F2\n:00000001FF\n", IMAGE_FMT_IHEX, IMG_E_FORMAT,
              "line 1 column 12: 'G' is not a hex digit");
    load_text(":04000000010203\0", IMAGE_FMT_IHEX, IMG_E_FORMAT, "length field");
    char nul[] = ":0400000001020304F2\n:00000001FF\n";
    nul[5] = '\0';
    load_expect(nul, sizeof nul - 1, IMAGE_FMT_IHEX, 0, IMG_E_FORMAT, "\\x00 is not a hex digit");
    /* missing EOF: a truncated file */
    load_text(":0400000001020304F2\n", IMAGE_FMT_IHEX, IMG_E_FORMAT, "no end-of-file record");
    /* cut in the middle of a record */
    load_text(":0400000001020304F2\n:0", IMAGE_FMT_IHEX, IMG_E_FORMAT, "line 2: record cut short");
    /* records after EOF */
    load_text(":00000001FF\n:0400000001020304F2\n", IMAGE_FMT_IHEX, IMG_E_FORMAT,
              "line 2: data after the end-of-file record on line 1");
    /* length fields that lie, both ways */
    load_text(":1000000001020304E6\n:00000001FF\n", IMAGE_FMT_IHEX, IMG_E_FORMAT,
              "says 16 data bytes but the record holds 4");
    load_text(":0200000001020304F8\n:00000001FF\n", IMAGE_FMT_IHEX, IMG_E_FORMAT,
              "says 2 data bytes but the record holds 4");
    /* addresses that wrap past 4 GiB */
    t[0] = '\0';
    ihex_u16(t, 0x04, 0xFFFF);
    ihex(t, 0x00, 0xFFFC, B8, 8);
    ihex(t, 0x01, 0, NULL, 0);
    load_text(t, IMAGE_FMT_IHEX, IMG_E_RANGE, "line 2: 8 bytes at 0xFFFFFFFC run past the end");
    /* overlapping data */
    t[0] = '\0';
    ihex(t, 0x00, 0x0000, B8, 8);
    ihex(t, 0x00, 0x0010, B8, 4);
    ihex(t, 0x00, 0x0006, B8, 4);
    ihex(t, 0x01, 0, NULL, 0);
    load_text(t, IMAGE_FMT_IHEX, IMG_E_OVERLAP,
              "line 3 writes 0x00000006..0x00000009 but line 1 already wrote");
    /* unknown record type, wrong length for a type, not ':' */
    load_text(":0000000AF6\n:00000001FF\n", IMAGE_FMT_IHEX, IMG_E_FORMAT, "unknown record type 0A");
    load_text(":0400000408000000F0\n:00000001FF\n", IMAGE_FMT_IHEX, IMG_E_FORMAT,
              "type 04 must hold 2 bytes, not 4");
    load_text("hello\n", IMAGE_FMT_IHEX, IMG_E_FORMAT, "line 1 starts with 'h', not ':'");
    /* over-long line */
    memset(t, '0', 700);
    t[0] = ':';
    strcpy(t + 700, "\n:00000001FF\n");
    load_text(t, IMAGE_FMT_IHEX, IMG_E_FORMAT, "more than any Intel HEX record");
    /* nothing to program */
    load_text(":00000001FF\n", IMAGE_FMT_IHEX, IMG_E_EMPTY, "no data");
    t[0] = '\0';
    ihex_u16(t, 0x04, 0x0800);
    ihex(t, 0x00, 0, NULL, 0);
    ihex(t, 0x01, 0, NULL, 0);
    load_text(t, IMAGE_FMT_IHEX, IMG_E_EMPTY, "no data");
}

/* ~1 MiB across 16 extended-linear-address blocks: the same bytes and
 * hash as the raw binary. */
static void test_ihex_big(void **state)
{
    (void)state;
    const size_t n = 1u << 20;
    uint8_t *bin = malloc(n);
    assert_non_null(bin);
    for (size_t i = 0; i < n; i++)
        bin[i] = (uint8_t)(i ^ (i >> 8) ^ (i >> 13));
    size_t cap = n / 32 * 80 + 4096;
    char *t = malloc(cap);
    assert_non_null(t);
    t[0] = '\0';
    char *end = t;
    for (size_t off = 0; off < n; off += 32) {
        uint32_t a = 0x08000000u + (uint32_t)off;
        if ((a & 0xFFFF) == 0)
            ihex_u16(end, 0x04, (uint16_t)(a >> 16));
        end += strlen(end);
        ihex(end, 0x00, (uint16_t)a, bin + off, 32);
        end += strlen(end);
    }
    ihex(end, 0x01, 0, NULL, 0);
    image *h = load_text(t, IMAGE_FMT_AUTO, IMG_OK, NULL);
    image *b = load_expect(bin, n, IMAGE_FMT_BIN, 0x08000000u, IMG_OK, NULL);
    assert_int_equal(image_segment_count(h), 1);
    expect_seg(h, 0, 0x08000000u, bin, (uint32_t)n);
    uint8_t s1[32], s2[32];
    image_sha256(h, s1);
    image_sha256(b, s2);
    assert_memory_equal(s1, s2, 32);
    image_free(h);
    image_free(b);
    free(t);
    free(bin);
}

/* ---- S-record --------------------------------------------------------- */

static void test_srec(void **state)
{
    (void)state;
    char t[2048] = "";
    srec(t, 0, 0, (const uint8_t *)"HDR", 3);
    srec(t, 1, 0x1234, B8, 3);
    srec(t, 2, 0x123456, B8 + 3, 2);
    srec(t, 3, 0x08000004, B8 + 4, 4);
    srec(t, 3, 0x08000000, B8, 4);
    srec(t, 5, 4, NULL, 0);
    srec(t, 7, 0x08000001, NULL, 0);
    image *img = load_text(t, IMAGE_FMT_AUTO, IMG_OK, NULL);
    assert_int_equal(image_get_format(img), IMAGE_FMT_SREC);
    assert_int_equal(image_segment_count(img), 3);
    expect_seg(img, 0, 0x1234, B8, 3);
    expect_seg(img, 1, 0x123456, B8 + 3, 2);
    expect_seg(img, 2, 0x08000000, B8, 8);
    uint32_t entry;
    assert_true(image_entry(img, &entry));
    assert_int_equal(entry, 0x08000001);
    image_free(img);

    /* S9 terminates S1 files; no count record is needed */
    t[0] = '\0';
    srec(t, 1, 0xFFFC, B8, 8); /* 16-bit address, data runs on past 64 KiB */
    srec(t, 9, 0, NULL, 0);
    img = load_text(t, IMAGE_FMT_SREC, IMG_OK, NULL);
    expect_seg(img, 0, 0xFFFC, B8, 8);
    image_free(img);
}

static void test_srec_hostile(void **state)
{
    (void)state;
    char t[4096];

    t[0] = '\0';
    srec(t, 0, 0, NULL, 0);
    srec(t, 3, 0x08000000, B8, 8);
    srec(t, 7, 0x08000000, NULL, 0);
    char *l2 = strchr(t, '\n') + 1;
    char *cs = strchr(l2, '\n') - 2;
    char good[3] = {cs[0], cs[1], 0};
    unsigned expected = (unsigned)strtoul(good, NULL, 16), found = expected ^ 0x10;
    char hx[3];
    sprintf(hx, "%02X", found);
    cs[0] = hx[0];
    cs[1] = hx[1];
    char want[128];
    sprintf(want, "line 2: checksum 0x%02X, expected 0x%02X", found, expected);
    load_text(t, IMAGE_FMT_SREC, IMG_E_CHECKSUM, want);

    load_text("S1060000010Z03F3\nS9030000FC\n", IMAGE_FMT_SREC, IMG_E_FORMAT,
              "line 1 column 12: 'Z' is not a hex digit");
    load_text("S1060000010203F3\n", IMAGE_FMT_SREC, IMG_E_FORMAT, "no termination record");
    load_text("S1060000010203F3\nS10600", IMAGE_FMT_SREC, IMG_E_FORMAT,
              "line 2: S1 record cut short");
    load_text("S9030000FC\nS1060000010203F3\n", IMAGE_FMT_SREC, IMG_E_FORMAT,
              "line 2: data after the termination record on line 1");
    load_text("S1090000010203F3\nS9030000FC\n", IMAGE_FMT_SREC, IMG_E_FORMAT,
              "count field says 9 bytes follow but the record holds 6");
    load_text("S1030000FC\nS9030000FC\n", IMAGE_FMT_SREC, IMG_E_EMPTY, "no data");
    load_text("S4030000FC\n", IMAGE_FMT_SREC, IMG_E_FORMAT, "S4 is a reserved");
    load_text("X1060000010203F3\n", IMAGE_FMT_SREC, IMG_E_FORMAT, "does not start with S0");
    t[0] = '\0';
    srec(t, 1, 0, B8, 3);
    srec(t, 1, 3, B8, 3);
    srec(t, 5, 3, NULL, 0);
    srec(t, 9, 0, NULL, 0);
    load_text(t, IMAGE_FMT_SREC, IMG_E_FORMAT,
              "says 3 data records came before it, but there were 2");
    t[0] = '\0';
    srec(t, 3, 0xFFFFFFFCu, B8, 8);
    srec(t, 7, 0, NULL, 0);
    load_text(t, IMAGE_FMT_SREC, IMG_E_RANGE, "4 GiB");
    t[0] = '\0';
    srec(t, 2, 0x100, B8, 8);
    srec(t, 2, 0x104, B8, 8);
    srec(t, 8, 0, NULL, 0);
    load_text(t, IMAGE_FMT_SREC, IMG_E_OVERLAP, "line 2 writes 0x00000104..0x0000010B");
    /* a count too small for the S3 address */
    load_text("S30300FC\nS70500000000FA\n", IMAGE_FMT_SREC, IMG_E_FORMAT, "cut short");
    load_text("S00300", IMAGE_FMT_SREC, IMG_E_FORMAT, "cut short");
}

/* ---- ELF and cross-format -------------------------------------------- */

static void test_elf_reference(void **state)
{
    (void)state;
    size_t blen, elen;
    uint8_t *bin = read_whole(FW_BIN, &blen);
    uint8_t *elf = read_whole(FW_ELF, &elen);

    /* The reference ELF has code+rodata and the .data load image as two
     * PT_LOAD segments (the latter at p_paddr in flash, p_vaddr in RAM). */
    Elf32_Ehdr eh;
    memcpy(&eh, elf, sizeof eh);
    int nload = 0;
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf32_Phdr ph;
        memcpy(&ph, elf + eh.e_phoff + (size_t)i * eh.e_phentsize, sizeof ph);
        if (ph.p_type == PT_LOAD && ph.p_filesz > 0) {
            nload++;
            assert_true(ph.p_paddr >= 0x08000000u && ph.p_paddr < 0x08010000u);
            if (nload == 2)
                assert_int_equal(ph.p_vaddr, 0x20000000u);
        }
    }
    assert_int_equal(nload, 2);

    image *img = load_expect(elf, elen, IMAGE_FMT_AUTO, 0, IMG_OK, NULL);
    assert_int_equal(image_get_format(img), IMAGE_FMT_ELF);
    assert_int_equal(image_segment_count(img), 1); /* merged at the LMA */
    expect_seg(img, 0, 0x08000000u, bin, (uint32_t)blen);
    uint32_t entry;
    assert_true(image_entry(img, &entry));
    assert_int_equal(entry, eh.e_entry);
    assert_true(entry & 1); /* Thumb */
    assert_true(image_fits(img, 0x08000000u, 0x08010000u));
    assert_false(image_fits(img, 0x20000000u, 0x20002000u));
    image_free(img);
    free(bin);
    free(elf);
}

static void test_four_formats_one_hash(void **state)
{
    (void)state;
    const char *paths[4] = {FW_BIN, FW_HEX, FW_SREC, FW_ELF};
    const image_format fmts[4] = {IMAGE_FMT_BIN, IMAGE_FMT_IHEX, IMAGE_FMT_SREC, IMAGE_FMT_ELF};
    char hex[4][65];
    uint32_t entries[4];
    for (int i = 0; i < 4; i++) {
        char msg[256];
        image *img = NULL;
        img_err e = image_load_file(paths[i], IMAGE_FMT_AUTO, 0x08000000u, &img, msg, sizeof msg);
        if (e != IMG_OK)
            print_error("%s: %s\n", paths[i], msg);
        assert_int_equal(e, IMG_OK);
        assert_int_equal(image_get_format(img), fmts[i]);
        image_sha256_hex(img, hex[i]);
        uint8_t raw[32];
        image_sha256(img, raw);
        char again[65];
        for (int k = 0; k < 32; k++)
            sprintf(again + 2 * k, "%02x", raw[k]);
        assert_string_equal(again, hex[i]);
        entries[i] = 0;
        assert_true(image_entry(img, &entries[i]) == (i != 0));
        image_free(img);
    }
    for (int i = 1; i < 4; i++)
        assert_string_equal(hex[0], hex[i]);
    assert_int_equal(entries[1], entries[3]); /* objcopy's 05 record = e_entry */
    assert_int_equal(entries[2], entries[3]); /* S7 = e_entry */

    /* Independently: the canonical form (LE address, LE length, bytes)
     * written here and hashed by coreutils' sha256sum. */
    size_t blen;
    uint8_t *bin = read_whole(FW_BIN, &blen);
    char canon[512];
    snprintf(canon, sizeof canon, "%s/canonical.bin", FW_TMPDIR);
    FILE *f = fopen(canon, "wb");
    assert_non_null(f);
    uint8_t hdr[8] = {0x00,
                      0x00,
                      0x00,
                      0x08,
                      (uint8_t)blen,
                      (uint8_t)(blen >> 8),
                      (uint8_t)(blen >> 16),
                      (uint8_t)(blen >> 24)};
    assert_int_equal(fwrite(hdr, 1, 8, f), 8);
    assert_int_equal(fwrite(bin, 1, blen, f), blen);
    fclose(f);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", canon);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[65] = "";
    assert_non_null(fgets(out, sizeof out, p));
    assert_int_equal(pclose(p), 0);
    assert_string_equal(out, hex[0]);
    free(bin);
}

/* Known answers, computed with:
 *   printf '\x00\x00\x00\x08\x03\x00\x00\x00\x01\x02\x03' | sha256sum
 *   printf '...same...\x00\x01\x00\x08\x02\x00\x00\x00\xaa\xbb' | sha256sum */
static void test_known_sha256(void **state)
{
    (void)state;
    const uint8_t b3[3] = {1, 2, 3};
    char hex[65];
    image *img = load_expect(b3, 3, IMAGE_FMT_BIN, 0x08000000u, IMG_OK, NULL);
    image_sha256_hex(img, hex);
    assert_string_equal(hex, "19c31880c4d694ccae2a67ff04da086e81f041276158bc4f86320d47f4897f88");
    image_free(img);

    char t[512] = "";
    const uint8_t ab[2] = {0xAA, 0xBB};
    ihex_u16(t, 0x04, 0x0800);
    ihex(t, 0x00, 0x0100, ab, 2);
    ihex(t, 0x00, 0x0000, b3, 3);
    ihex(t, 0x01, 0, NULL, 0);
    img = load_text(t, IMAGE_FMT_IHEX, IMG_OK, NULL);
    image_sha256_hex(img, hex);
    assert_string_equal(hex, "1c92428eb488ee0d53d0e3c9a3ec254d65f0b75f341fe1ebe67dc4922de6f405");
    image_free(img);
}

static size_t load_phdr(const uint8_t *elf, int i, Elf32_Phdr *ph)
{
    Elf32_Ehdr eh;
    memcpy(&eh, elf, sizeof eh);
    size_t off = eh.e_phoff + (size_t)i * eh.e_phentsize;
    memcpy(ph, elf + off, sizeof *ph);
    return off;
}

static void test_elf_hostile(void **state)
{
    (void)state;
    size_t elen;
    uint8_t *ref = read_whole(FW_ELF, &elen);
    uint8_t *e = malloc(elen);
    assert_non_null(e);

    /* a host program: 64-bit, not ARM */
    char msg[256];
    image *img = NULL;
    img_err err = image_load_file("/proc/self/exe", IMAGE_FMT_AUTO, 0, &img, msg, sizeof msg);
    if (err == IMG_E_IO) { /* /proc/self/exe reports size 0 on some kernels? then skip */
        print_message("skipping host-ELF check: %s\n", msg);
    } else {
        assert_int_equal(err, IMG_E_ARCH);
        assert_non_null(strstr(msg, "not ARM Cortex-M"));
#if defined(__x86_64__)
        assert_non_null(strstr(msg, "ELF is for x86-64 (64-bit, little-endian)"));
#endif
    }

    memcpy(e, ref, elen);
    uint16_t m = EM_386;
    memcpy(e + offsetof(Elf32_Ehdr, e_machine), &m, 2);
    load_expect(e, elen, IMAGE_FMT_ELF, 0, IMG_E_ARCH,
                "ELF is for Intel 80386 (32-bit, "
                "little-endian), not ARM Cortex-M");
    memcpy(e, ref, elen);
    e[EI_DATA] = ELFDATA2MSB;
    load_expect(e, elen, IMAGE_FMT_ELF, 0, IMG_E_ARCH, "big-endian), not ARM Cortex-M");
    memcpy(e, ref, elen);
    e[EI_CLASS] = ELFCLASS64;
    char m64[256];
    img = NULL;
    err = image_load_mem(e, elen, IMAGE_FMT_ELF, 0, &img, m64, sizeof m64);
    assert_null(img);
    assert_true(err == IMG_E_ARCH || err == IMG_E_FORMAT);
    if (err == IMG_E_ARCH)
        assert_non_null(strstr(m64, "64-bit"));
    e[EI_CLASS] = 7;
    load_expect(e, elen, IMAGE_FMT_ELF, 0, IMG_E_FORMAT, "invalid class 7 or byte order 1");

    /* truncated */
    load_expect(ref, 30, IMAGE_FMT_ELF, 0, IMG_E_FORMAT, "truncated");
    load_expect(ref, 4, IMAGE_FMT_AUTO, 0, IMG_E_FORMAT, NULL);
    Elf32_Phdr ph;
    load_phdr(ref, 0, &ph);
    err = image_load_mem(ref, ph.p_offset + 8, IMAGE_FMT_ELF, 0, &img, msg, sizeof msg);
    assert_int_equal(err, IMG_E_FORMAT);
    assert_null(img);

    /* find the two PT_LOADs */
    Elf32_Ehdr eh;
    memcpy(&eh, ref, sizeof eh);
    size_t off[2] = {0, 0};
    int k = 0;
    for (int i = 0; i < eh.e_phnum && k < 2; i++) {
        size_t o = load_phdr(ref, i, &ph);
        if (ph.p_type == PT_LOAD && ph.p_filesz > 0)
            off[k++] = o;
    }
    assert_int_equal(k, 2);
    Elf32_Phdr p0, p1;
    memcpy(&p0, ref + off[0], sizeof p0);
    memcpy(&p1, ref + off[1], sizeof p1);

    /* a length field that lies */
    memcpy(e, ref, elen);
    ph = p0;
    ph.p_filesz = ph.p_memsz = 0x00F00000u;
    memcpy(e + off[0], &ph, sizeof ph);
    load_expect(e, elen, IMAGE_FMT_ELF, 0, IMG_E_FORMAT, "it is truncated or damaged");
    memcpy(e, ref, elen);
    ph = p0;
    ph.p_memsz = ph.p_filesz - 1;
    memcpy(e + off[0], &ph, sizeof ph);
    load_expect(e, elen, IMAGE_FMT_ELF, 0, IMG_E_FORMAT, "only");

    /* an address that wraps past 4 GiB */
    memcpy(e, ref, elen);
    ph = p0;
    ph.p_paddr = 0xFFFFFFF0u;
    memcpy(e + off[0], &ph, sizeof ph);
    load_expect(e, elen, IMAGE_FMT_ELF, 0, IMG_E_RANGE, "4 GiB");

    /* overlapping segments */
    memcpy(e, ref, elen);
    ph = p1;
    ph.p_paddr = p0.p_paddr + 4;
    memcpy(e + off[1], &ph, sizeof ph);
    load_expect(e, elen, IMAGE_FMT_ELF, 0, IMG_E_OVERLAP, "overlapping data");

    /* nothing loadable */
    memcpy(e, ref, elen);
    for (int i = 0; i < 2; i++) {
        ph = i ? p1 : p0;
        ph.p_type = PT_NULL;
        memcpy(e + off[i], &ph, sizeof ph);
    }
    load_expect(e, elen, IMAGE_FMT_ELF, 0, IMG_E_EMPTY, "no data");

    /* The cap counts the whole image, not one piece: two program headers
     * of 9 MiB each (sharing the same file bytes) make 18 MiB. */
    {
        size_t big = 9u << 20, blen2 = elen + big;
        uint8_t *b2 = calloc(1, blen2);
        assert_non_null(b2);
        memcpy(b2, ref, elen);
        for (int i = 0; i < 2; i++) {
            ph = i ? p1 : p0;
            ph.p_offset = (uint32_t)elen;
            ph.p_filesz = ph.p_memsz = (uint32_t)big;
            ph.p_paddr = 0x08000000u + (uint32_t)i * 0x01000000u;
            memcpy(b2 + off[i], &ph, sizeof ph);
        }
        load_expect(b2, blen2, IMAGE_FMT_ELF, 0, IMG_E_TOO_BIG,
                    "more than 16777216 bytes (16 MiB)");
        free(b2);
    }

    /* an object file, not a linked program */
    size_t olen;
    uint8_t *obj = read_whole(FW_OBJ, &olen);
    load_expect(obj, olen, IMAGE_FMT_AUTO, 0, IMG_E_FORMAT, "relocatable object");
    free(obj);

    /* the caller's buffer is never modified */
    memcpy(e, ref, elen);
    e[EI_DATA] = ELFDATA2MSB;
    uint8_t *copy = malloc(elen);
    assert_non_null(copy);
    memcpy(copy, e, elen);
    load_expect(e, elen, IMAGE_FMT_ELF, 0, IMG_E_ARCH, NULL);
    assert_memory_equal(copy, e, elen);
    free(copy);
    free(e);
    free(ref);
}

/* ---- detection, override, files, arguments --------------------------- */

static void test_detect_and_override(void **state)
{
    (void)state;
    assert_int_equal(image_detect_format("\x7f"
                                         "ELF\x01",
                                         5),
                     IMAGE_FMT_ELF);
    assert_int_equal(image_detect_format(":00000001FF", 11), IMAGE_FMT_IHEX);
    assert_int_equal(image_detect_format("S9030000FC", 10), IMAGE_FMT_SREC);
    assert_int_equal(image_detect_format("SX", 2), IMAGE_FMT_BIN);
    assert_int_equal(image_detect_format("\x00\x20\x00\x20", 4), IMAGE_FMT_BIN);
    assert_int_equal(image_detect_format(NULL, 0), IMAGE_FMT_BIN);

    /* an explicit format wins over the content */
    const char *t = ":00000001FF\n";
    image *img = load_expect(t, strlen(t), IMAGE_FMT_BIN, 0x1000, IMG_OK, NULL);
    expect_seg(img, 0, 0x1000, (const uint8_t *)t, (uint32_t)strlen(t));
    image_free(img);
    load_text(":00000001FF\n", IMAGE_FMT_SREC, IMG_E_FORMAT, "not an S-record file");
    load_text("S9030000FC\n", IMAGE_FMT_ELF, IMG_E_FORMAT, "not an ELF file");
}

static void test_files_and_args(void **state)
{
    (void)state;
    char msg[256];
    image *img = (image *)0x1;
    assert_int_equal(
        image_load_file("/nonexistent/fw.hex", IMAGE_FMT_AUTO, 0, &img, msg, sizeof msg), IMG_E_IO);
    assert_null(img);
    assert_non_null(strstr(msg, "cannot open '/nonexistent/fw.hex'"));
    assert_int_equal(image_load_file("/", IMAGE_FMT_AUTO, 0, &img, msg, sizeof msg), IMG_E_IO);
    assert_non_null(strstr(msg, "not a regular file"));
    /* Raw bytes that start like a text format: named .bin they load raw
     * (the same bytes under another name still read as Intel HEX). */
    static const uint8_t colon[] = {':', 0xFB, 0x10, 0x00, 'S', '1', 0x7F, 0x00};
    char bin[] = "/tmp/flashline-test-XXXXXX.BIN", other[] = "/tmp/flashline-test-XXXXXX";
    int fd1 = mkstemps(bin, 4), fd2 = mkstemp(other);
    assert_true(fd1 >= 0 && fd2 >= 0);
    assert_int_equal(write(fd1, colon, sizeof colon), (ssize_t)sizeof colon);
    assert_int_equal(write(fd2, colon, sizeof colon), (ssize_t)sizeof colon);
    close(fd1);
    close(fd2);
    assert_int_equal(image_load_file(bin, IMAGE_FMT_AUTO, 0x08000000u, &img, msg, sizeof msg),
                     IMG_OK);
    assert_int_equal(image_get_format(img), IMAGE_FMT_BIN);
    expect_seg(img, 0, 0x08000000u, colon, sizeof colon);
    image_free(img);
    assert_int_equal(image_load_file(other, IMAGE_FMT_AUTO, 0x08000000u, &img, msg, sizeof msg),
                     IMG_E_FORMAT);
    assert_non_null(strstr(msg, "hex digit"));
    unlink(bin);
    unlink(other);
    /* a NULL or tiny message buffer is fine */
    assert_int_equal(image_load_mem("S4", 2, IMAGE_FMT_SREC, 0, &img, NULL, 0), IMG_E_FORMAT);
    char small[8];
    assert_int_equal(image_load_mem("S4", 2, IMAGE_FMT_SREC, 0, &img, small, sizeof small),
                     IMG_E_FORMAT);
    assert_int_equal(strlen(small), 7);
    assert_int_equal(image_load_mem(NULL, 4, IMAGE_FMT_BIN, 0, &img, msg, sizeof msg), IMG_E_ARG);
    assert_int_equal(image_load_mem(B8, 4, (image_format)42, 0, &img, msg, sizeof msg), IMG_E_ARG);
    assert_int_equal(image_load_mem(B8, 4, IMAGE_FMT_BIN, 0, NULL, msg, sizeof msg), IMG_E_ARG);
    /* input over the 128 MiB input cap is refused before any parsing */
    uint8_t *huge = calloc(1, (size_t)IMAGE_MAX_INPUT_BYTES + 1);
    assert_non_null(huge);
    assert_int_equal(image_load_mem(huge, (size_t)IMAGE_MAX_INPUT_BYTES + 1, IMAGE_FMT_AUTO, 0,
                                    &img, msg, sizeof msg),
                     IMG_E_TOO_BIG);
    assert_non_null(strstr(msg, "128 MiB"));
    free(huge);
    image_free(NULL);
    assert_string_equal(img_err_name(IMG_E_CHECKSUM), "checksum");
    assert_string_equal(image_format_name(IMAGE_FMT_SREC), "S-record");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bin),
        cmocka_unit_test(test_bin_cap),
        cmocka_unit_test(test_ihex_linear),
        cmocka_unit_test(test_ihex_segment),
        cmocka_unit_test(test_ihex_hostile),
        cmocka_unit_test(test_ihex_big),
        cmocka_unit_test(test_srec),
        cmocka_unit_test(test_srec_hostile),
        cmocka_unit_test(test_elf_reference),
        cmocka_unit_test(test_four_formats_one_hash),
        cmocka_unit_test(test_known_sha256),
        cmocka_unit_test(test_elf_hostile),
        cmocka_unit_test(test_detect_and_override),
        cmocka_unit_test(test_files_and_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
