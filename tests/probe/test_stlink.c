/*
 * The virtual ST-LINK, driven with the byte sequences the real hosts send
 * (stlink-protocol.md section 5: st-info --probe, st-flash write, OpenOCD
 * init) and checked on the virtual board behind it: identity and modes,
 * IDCODE and voltage, memory and register round trips, NRST, faults and
 * their status codes, the flash-loader failure fault, the wedge fault, the
 * timing model, and malformed input.
 */
#include "stlink.h"
#include "stlink_proto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

extern const unsigned char probe_loader_f1[];
extern const size_t probe_loader_f1_len;

#define SERIAL "303030303030303030303031"

#define DHCSR     0xE000EDF0u
#define DEMCR     0xE000EDFCu
#define AIRCR     0xE000ED0Cu
#define CPUID     0xE000ED00u
#define DFSR      0xE000ED30u
#define DBGMCU_ID 0xE0042000u
#define DBGMCU_CR 0xE0042004u
#define F1_FSIZE  0x1FFFF7E0u
#define SRAM      0x20000000u
#define SRAM_SIZE 0x5000u
#define FLASH     0x08000000u
#define F1_KEYR   0x40022004u
#define F1_SR     0x4002200Cu
#define F1_CR     0x40022010u
#define F1_AR     0x40022014u
#define IWDG_KR   0x40003000u

#define C_DEBUGEN  (1u << 0)
#define C_HALT     (1u << 1)
#define S_HALT     (1u << 17)
#define S_LOCKUP   (1u << 19)
#define S_RESET_ST (1u << 25)

typedef struct fx {
    sim_board *b;
    stlink_probe *p;
} fx;

static fx make(stlink_kind kind)
{
    fx f = {0};
    assert_int_equal(sim_board_create("stm32f103rb", 1, 0.0, &f.b), SIM_OK);
    f.p = stlink_probe_new(kind, SERIAL, f.b);
    assert_non_null(f.p);
    return f;
}

static void destroy(fx *f)
{
    stlink_probe_free(f->p);
    sim_board_destroy(f->b);
}

/* ---- the host side ---------------------------------------------------------- */

/*
 * One command as a host sends it: the 16-byte command, the data phase (in
 * chunks of `chunk` bytes, 0 = one transfer), then an IN transfer asking for
 * exactly `expect` bytes. Asserts the probe answers with exactly that many
 * and that nothing is left pending (or, for expect 0, that no reply exists).
 */
static void xfer_chunked(stlink_probe *p, const uint8_t *cmd, size_t cmdlen, const uint8_t *out,
                         size_t outlen, size_t chunk, uint8_t *in, size_t expect)
{
    uint8_t c[STLINK_CMD_SIZE] = {0};
    assert_true(cmdlen <= sizeof c);
    memcpy(c, cmd, cmdlen);
    assert_int_equal(stlink_probe_out(p, c, sizeof c), 0);
    for (size_t off = 0; off < outlen;) {
        size_t n = outlen - off;
        if (chunk && n > chunk)
            n = chunk;
        assert_int_equal(stlink_probe_out(p, out + off, n), 0);
        off += n;
    }
    assert_int_equal(stlink_probe_data_due(p), 0);
    if (expect == 0) {
        uint8_t scratch[8];
        assert_false(stlink_probe_reply_pending(p));
        assert_int_equal(stlink_probe_in(p, scratch, sizeof scratch), -1);
        return;
    }
    assert_true(stlink_probe_reply_pending(p));
    assert_int_equal(stlink_probe_in(p, in, expect), (int)expect);
    assert_false(stlink_probe_reply_pending(p));
}

static void xfer(stlink_probe *p, const uint8_t *cmd, size_t cmdlen, uint8_t *in, size_t expect)
{
    xfer_chunked(p, cmd, cmdlen, NULL, 0, 0, in, expect);
}

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void set32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

static uint8_t mode(stlink_probe *p)
{
    const uint8_t c[] = {STLINK_GET_CURRENT_MODE};
    uint8_t r[2];
    xfer(p, c, sizeof c, r, 2);
    return r[0];
}

static uint8_t status2(stlink_probe *p, const uint8_t *c, size_t n)
{
    uint8_t r[2];
    xfer(p, c, n, r, 2);
    return r[0];
}

static uint8_t enter_swd(stlink_probe *p)
{
    const uint8_t c[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_ENTER,
                         STLINK_DEBUG_ENTER_SWD_NO_RESET};
    return status2(p, c, sizeof c);
}

/* RD(a) = F2 36 a -> status + value at 4 (S17 _stlink_usb_read_debug32). */
static uint8_t rd_st(stlink_probe *p, uint32_t addr, uint32_t *v)
{
    uint8_t c[6] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_READDEBUGREG};
    uint8_t r[8];
    set32(c + 2, addr);
    xfer(p, c, sizeof c, r, 8);
    *v = le32(r + 4);
    return r[0];
}

static uint32_t rd(stlink_probe *p, uint32_t addr)
{
    uint32_t v = 0;
    assert_int_equal(rd_st(p, addr, &v), STLINK_DEBUG_ERR_OK);
    return v;
}

/* WR(a, v) = F2 35 a v -> status. */
static void wr(stlink_probe *p, uint32_t addr, uint32_t v)
{
    uint8_t c[10] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_WRITEDEBUGREG};
    set32(c + 2, addr);
    set32(c + 6, v);
    assert_int_equal(status2(p, c, sizeof c), STLINK_DEBUG_ERR_OK);
}

static uint32_t rreg(stlink_probe *p, uint8_t i)
{
    const uint8_t c[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_READREG, i};
    uint8_t r[8];
    xfer(p, c, sizeof c, r, 8);
    assert_int_equal(r[0], STLINK_DEBUG_ERR_OK);
    return le32(r + 4);
}

static void wreg(stlink_probe *p, uint8_t i, uint32_t v)
{
    uint8_t c[7] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_WRITEREG, i};
    set32(c + 3, v);
    assert_int_equal(status2(p, c, sizeof c), STLINK_DEBUG_ERR_OK);
}

static uint8_t nrst(stlink_probe *p, uint8_t how)
{
    const uint8_t c[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_DRIVE_NRST, how};
    return status2(p, c, sizeof c);
}

/* READMEM_x: the reply is the data, `expect` bytes. */
static void read_mem(stlink_probe *p, uint8_t sub, uint32_t addr, uint16_t n, uint8_t *buf,
                     size_t expect)
{
    uint8_t c[8] = {STLINK_DEBUG_COMMAND, sub};
    set32(c + 2, addr);
    c[6] = (uint8_t)n;
    c[7] = (uint8_t)(n >> 8);
    xfer(p, c, sizeof c, buf, expect);
}

static void write_mem(stlink_probe *p, uint8_t sub, uint32_t addr, const uint8_t *data, uint16_t n,
                      size_t chunk)
{
    uint8_t c[8] = {STLINK_DEBUG_COMMAND, sub};
    set32(c + 2, addr);
    c[6] = (uint8_t)n;
    c[7] = (uint8_t)(n >> 8);
    xfer_chunked(p, c, sizeof c, data, n, chunk, NULL, 0);
}

/* GETLASTRWSTATUS2 (F2 3E): 12 bytes, status first. */
static uint8_t lastrw2(stlink_probe *p, uint32_t *addr)
{
    const uint8_t c[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_GETLASTRWSTATUS2};
    uint8_t r[12];
    xfer(p, c, sizeof c, r, 12);
    if (addr)
        *addr = le32(r + 4);
    return r[0];
}

/* st-flash's reading of F7 (S17 _stlink_usb_target_voltage). */
static int voltage_mv_s17(stlink_probe *p)
{
    const uint8_t c[] = {STLINK_GET_TARGET_VOLTAGE};
    uint8_t r[8];
    xfer(p, c, sizeof c, r, 8);
    uint32_t factor = le32(r), reading = le32(r + 4);
    assert_true(factor != 0); /* 1.7.0 divides by it unchecked */
    return (int)(2400u * reading / factor);
}

/* The connect steps both hosts start with (S17 stlink_open_usb). */
static void open_and_enter(stlink_probe *p)
{
    uint8_t r[16];
    const uint8_t ver[] = {STLINK_GET_VERSION};
    xfer(p, ver, sizeof ver, r, 6);
    if (mode(p) == STLINK_DEV_DFU_MODE) {
        const uint8_t c[] = {STLINK_DFU_COMMAND, STLINK_DFU_EXIT};
        xfer(p, c, sizeof c, NULL, 0);
    }
    if (mode(p) != STLINK_DEV_DEBUG_MODE)
        assert_int_equal(enter_swd(p), STLINK_DEBUG_ERR_OK);
    assert_int_equal(mode(p), STLINK_DEV_DEBUG_MODE);
}

/* ---- identity and modes -------------------------------------------------- */

static void version_bytes_per_kind(void **state)
{
    (void)state;
    static const struct {
        stlink_kind kind;
        uint8_t f1[6];
        uint16_t pid;
        uint8_t ep_out;
        uint16_t mps;
    } want[] = {
        /* V2J37S7 (sheet 3.1 example bytes), V2J37M26, V3 (J=S=0 in F1). */
        {STLINK_V2, {0x29, 0x47, 0x83, 0x04, 0x48, 0x37}, 0x3748, 0x02, 64},
        {STLINK_V2_1, {0x29, 0x5A, 0x83, 0x04, 0x4B, 0x37}, 0x374B, 0x01, 64},
        {STLINK_V3, {0x30, 0x00, 0x83, 0x04, 0x4F, 0x37}, 0x374F, 0x01, 512},
    };
    for (size_t i = 0; i < 3; i++) {
        fx f = make(want[i].kind);
        uint8_t r[12];
        const uint8_t f1[] = {STLINK_GET_VERSION};
        xfer(f.p, f1, 1, r, 6);
        assert_memory_equal(r, want[i].f1, 6);
        assert_int_equal(stlink_probe_pid(f.p), want[i].pid);
        assert_int_equal(stlink_probe_ep_out(f.p), want[i].ep_out);
        assert_int_equal(stlink_probe_ep_in(f.p), 0x81);
        assert_int_equal(stlink_probe_max_packet(f.p), want[i].mps);
        assert_string_equal(stlink_probe_serial(f.p), SERIAL);
        const uint8_t fb[] = {STLINK_APIV3_GET_VERSION_EX};
        if (want[i].kind == STLINK_V3) {
            /* O12 stlink_usb_version: V, SWIM, JTAG, MSD, bridge, VID, PID. */
            const uint8_t ex[12] = {3, 1, 7, 3, 3, 0, 0, 0, 0x83, 0x04, 0x4F, 0x37};
            xfer(f.p, fb, 1, r, 12);
            assert_memory_equal(r, ex, 12);
        } else {
            xfer(f.p, fb, 1, r, 2);
            assert_int_equal(r[0], STLINK_DEBUG_ERR_FAULT);
        }
        destroy(&f);
    }
    /* Serials must be 24 upper-case hex characters. */
    assert_null(stlink_probe_new(STLINK_V2, "0123", NULL));
    assert_null(stlink_probe_new(STLINK_V2, "30303030303030303030303a", NULL));
    assert_null(stlink_probe_new(STLINK_V2, NULL, NULL));
}

static void mode_transitions(void **state)
{
    (void)state;
    fx f = make(STLINK_V2);
    assert_int_equal(mode(f.p), STLINK_DEV_DFU_MODE);
    const uint8_t dfu_exit[] = {STLINK_DFU_COMMAND, STLINK_DFU_EXIT};
    xfer(f.p, dfu_exit, 2, NULL, 0);
    assert_int_equal(mode(f.p), STLINK_DEV_MASS_MODE);
    assert_int_equal(enter_swd(f.p), STLINK_DEBUG_ERR_OK);
    assert_int_equal(mode(f.p), STLINK_DEV_DEBUG_MODE);
    const uint8_t exit_dbg[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_EXIT};
    xfer(f.p, exit_dbg, 2, NULL, 0);
    assert_int_equal(mode(f.p), STLINK_DEV_MASS_MODE);
    /* Debug commands outside debug mode fail without touching the board. */
    uint32_t v = 1;
    assert_int_equal(rd_st(f.p, CPUID, &v), STLINK_DEBUG_ERR_FAULT);
    assert_int_equal(v, 0);
    /* API v1 ENTER has no reply but enters too. */
    const uint8_t enter_v1[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV1_ENTER,
                                STLINK_DEBUG_ENTER_SWD_NO_RESET};
    xfer(f.p, enter_v1, 3, NULL, 0);
    assert_int_equal(mode(f.p), STLINK_DEV_DEBUG_MODE);
    /* A USB reset restarts the firmware: back to the plug-in mode. */
    stlink_probe_usb_reset(f.p);
    assert_int_equal(mode(f.p), STLINK_DEV_DFU_MODE);
    destroy(&f);

    fx g = make(STLINK_V2_1);
    assert_int_equal(mode(g.p), STLINK_DEV_MASS_MODE);
    destroy(&g);
    fx h = make(STLINK_V3);
    assert_int_equal(mode(h.p), STLINK_DEV_MASS_MODE);
    destroy(&h);
}

/* ---- st-info --probe (sheet 5.1) ---------------------------------------------- */

static void st_info_probe_sequence(void **state)
{
    (void)state;
    fx f = make(STLINK_V2);
    uint8_t r[16];
    /* 2: version; 3: DFU exit; 4: clock (V2 J>=22, freq 0 -> divisor 1). */
    const uint8_t ver[] = {STLINK_GET_VERSION};
    xfer(f.p, ver, 1, r, 6);
    assert_int_equal(mode(f.p), STLINK_DEV_DFU_MODE);
    const uint8_t dfu_exit[] = {STLINK_DFU_COMMAND, STLINK_DFU_EXIT};
    xfer(f.p, dfu_exit, 2, NULL, 0);
    const uint8_t clk[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_SWD_SET_FREQ, 1, 0};
    assert_int_equal(status2(f.p, clk, sizeof clk), STLINK_DEBUG_ERR_OK);
    assert_int_equal(stlink_probe_swd_khz(f.p), 1800);
    /* 5: enter SWD. */
    assert_int_not_equal(mode(f.p), STLINK_DEV_DEBUG_MODE);
    assert_int_equal(enter_swd(f.p), STLINK_DEBUG_ERR_OK);
    /* 6: reset AUTO: RD(DHCSR), NRST low, NRST high, RESETSYS, RD(DHCSR)
     * shows S_RESET_ST, then it clears. */
    rd(f.p, DHCSR);
    assert_int_equal(nrst(f.p, STLINK_NRST_LOW), STLINK_DEBUG_ERR_OK);
    assert_int_equal(nrst(f.p, STLINK_NRST_HIGH), STLINK_DEBUG_ERR_OK);
    const uint8_t resetsys[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_RESETSYS};
    assert_int_equal(status2(f.p, resetsys, 2), STLINK_DEBUG_ERR_OK);
    stlink_probe_idle(f.p, 10000000);
    assert_true(rd(f.p, DHCSR) & S_RESET_ST);
    int polls = 0;
    while (rd(f.p, DHCSR) & S_RESET_ST)
        assert_true(++polls < 500);
    /* 7: core ID. */
    const uint8_t ids[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_READ_IDCODES};
    xfer(f.p, ids, 2, r, 12);
    assert_int_equal(r[0], STLINK_DEBUG_ERR_OK);
    assert_int_equal(le32(r + 4), sim_board_dp_idcode(f.b));
    assert_int_equal(le32(r + 4), 0x1BA01477);
    /* 8-10: CPUID implementer, chip ID, flash size. */
    assert_int_equal((rd(f.p, CPUID) >> 24) & 0x7F, 0x41);
    assert_int_equal(rd(f.p, DBGMCU_ID) & 0xFFF, 0x410);
    assert_int_equal(rd(f.p, F1_FSIZE) & 0xFFFF, 128);
    /* Target voltage as st-flash computes it. */
    assert_int_equal(voltage_mv_s17(f.p), 3300);
    destroy(&f);
}

static void v3_clock_commands(void **state)
{
    (void)state;
    fx f = make(STLINK_V3);
    uint8_t r[52];
    /* S17 _stlink_usb_set_swdclk for V3: GET_COM_FREQ, then SET_COM_FREQ
     * with the entry nearest 1800 kHz. */
    const uint8_t get[] = {STLINK_DEBUG_COMMAND, STLINK_APIV3_GET_COM_FREQ, 0};
    xfer(f.p, get, sizeof get, r, 52);
    assert_int_equal(r[0], STLINK_DEBUG_ERR_OK);
    assert_true(r[8] > 0 && r[8] <= 10);
    bool has_1000 = false;
    for (unsigned i = 0; i < r[8]; i++)
        has_1000 |= le32(r + 12 + 4 * i) == 1000;
    assert_true(has_1000);
    uint8_t set[8] = {STLINK_DEBUG_COMMAND, STLINK_APIV3_SET_COM_FREQ, 0, 0};
    set32(set + 4, 1000);
    xfer(f.p, set, sizeof set, r, 8);
    assert_int_equal(r[0], STLINK_DEBUG_ERR_OK);
    assert_int_equal(stlink_probe_swd_khz(f.p), 1000);
    /* V3 does not know the V2 divisor command. */
    const uint8_t clk[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_SWD_SET_FREQ, 1, 0};
    assert_int_equal(status2(f.p, clk, sizeof clk), STLINK_DEBUG_ERR_FAULT);
    destroy(&f);

    /* ... and a V2 does not know the V3 ones. */
    fx g = make(STLINK_V2);
    xfer(g.p, get, sizeof get, r, 2);
    assert_int_equal(r[0], STLINK_DEBUG_ERR_FAULT);
    const uint8_t clk950[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_SWD_SET_FREQ, 3, 0};
    assert_int_equal(status2(g.p, clk950, sizeof clk950), STLINK_DEBUG_ERR_OK);
    assert_int_equal(stlink_probe_swd_khz(g.p), 950);
    destroy(&g);
}

/* ---- memory and registers ------------------------------------------------------ */

static void memory_round_trip(void **state)
{
    (void)state;
    fx f = make(STLINK_V2_1);
    open_and_enter(f.p);
    uint8_t data[256], back[256], board[256];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);

    /* 32-bit: data phase in 64-byte packets as the USB layer may deliver. */
    write_mem(f.p, STLINK_DEBUG_WRITEMEM_32BIT, SRAM + 0x100, data, 256, 64);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_OK);
    assert_int_equal(sim_board_mem_read(f.b, SRAM + 0x100, board, 256, 4, NULL), SIM_OK);
    assert_memory_equal(board, data, 256);
    read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, SRAM + 0x100, 256, back, 256);
    assert_memory_equal(back, data, 256);

    /* 16-bit. */
    write_mem(f.p, STLINK_DEBUG_APIV2_WRITEMEM_16BIT, SRAM + 0x202, data + 1, 6, 0);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_OK);
    assert_int_equal(sim_board_mem_read(f.b, SRAM + 0x202, board, 6, 1, NULL), SIM_OK);
    assert_memory_equal(board, data + 1, 6);
    read_mem(f.p, STLINK_DEBUG_APIV2_READMEM_16BIT, SRAM + 0x202, 6, back, 6);
    assert_memory_equal(back, data + 1, 6);

    /* 8-bit at an odd address; 64 bytes is the full-speed limit. */
    write_mem(f.p, STLINK_DEBUG_WRITEMEM_8BIT, SRAM + 0x301, data + 5, 64, 0);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_OK);
    assert_int_equal(sim_board_mem_read(f.b, SRAM + 0x301, board, 64, 1, NULL), SIM_OK);
    assert_memory_equal(board, data + 5, 64);
    read_mem(f.p, STLINK_DEBUG_READMEM_8BIT, SRAM + 0x301, 64, back, 64);
    assert_memory_equal(back, data + 5, 64);
    /* One byte comes back as two (O12 stlink_usb_read_mem8 asks for 2). */
    read_mem(f.p, STLINK_DEBUG_READMEM_8BIT, SRAM + 0x301, 1, back, 2);
    assert_int_equal(back[0], data[5]);

    /* WRITEDEBUGREG / READDEBUGREG are 32-bit memory accesses too. */
    wr(f.p, SRAM + 0x400, 0xCAFEF00Du);
    uint32_t w = 0;
    assert_int_equal(sim_board_read32(f.b, SRAM + 0x400, &w), SIM_OK);
    assert_int_equal(w, 0xCAFEF00Du);
    assert_int_equal(rd(f.p, SRAM + 0x400), 0xCAFEF00Du);
    destroy(&f);
}

static void big_write_in_one_command(void **state)
{
    (void)state;
    /* st-flash writes 16 KiB in ONE WRITEMEM_32BIT on F2/F4/L4 (sheet 4);
     * OpenOCD's async path may hand the data right after the command. */
    fx f = make(STLINK_V2);
    open_and_enter(f.p);
    size_t n = 16384;
    uint8_t *xfer_buf = malloc(STLINK_CMD_SIZE + n);
    uint8_t *board = malloc(n);
    assert_non_null(xfer_buf);
    assert_non_null(board);
    memset(xfer_buf, 0, STLINK_CMD_SIZE);
    xfer_buf[0] = STLINK_DEBUG_COMMAND;
    xfer_buf[1] = STLINK_DEBUG_WRITEMEM_32BIT;
    set32(xfer_buf + 2, SRAM);
    xfer_buf[6] = (uint8_t)n;
    xfer_buf[7] = (uint8_t)(n >> 8);
    for (size_t i = 0; i < n; i++)
        xfer_buf[STLINK_CMD_SIZE + i] = (uint8_t)(i ^ (i >> 8));
    /* Command plus the first 1000 data bytes in one transfer, the rest in
     * a second one. */
    assert_int_equal(stlink_probe_out(f.p, xfer_buf, STLINK_CMD_SIZE + 1000), 0);
    assert_int_equal(stlink_probe_data_due(f.p), n - 1000);
    /* One byte too many is refused, and changes nothing. */
    assert_int_equal(stlink_probe_out(f.p, xfer_buf + STLINK_CMD_SIZE + 1000, n - 1000 + 1), -1);
    assert_int_equal(stlink_probe_data_due(f.p), n - 1000);
    assert_int_equal(stlink_probe_out(f.p, xfer_buf + STLINK_CMD_SIZE + 1000, n - 1000), 0);
    assert_int_equal(stlink_probe_data_due(f.p), 0);
    assert_false(stlink_probe_reply_pending(f.p));
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_OK);
    assert_int_equal(sim_board_mem_read(f.b, SRAM, board, n, 4, NULL), SIM_OK);
    assert_memory_equal(board, xfer_buf + STLINK_CMD_SIZE, n);
    /* Read it back in S17's 0x1800-byte verify chunks. */
    uint8_t back[0x1800];
    for (size_t off = 0; off < n; off += sizeof back) {
        size_t len = n - off < sizeof back ? n - off : sizeof back;
        read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, SRAM + (uint32_t)off, (uint16_t)len, back, len);
        assert_memory_equal(back, board + off, len);
    }
    free(xfer_buf);
    free(board);
    destroy(&f);
}

static void register_round_trip(void **state)
{
    (void)state;
    fx f = make(STLINK_V2);
    open_and_enter(f.p);
    wr(f.p, DHCSR, 0xA05F0003u);
    assert_true(rd(f.p, DHCSR) & S_HALT);
    for (uint8_t i = 0; i <= 12; i++)
        wreg(f.p, i, 0x1000u * i + 0x55u);
    wreg(f.p, 13, SRAM + 0x800);
    wreg(f.p, 15, SRAM + 0x40);
    for (uint8_t i = 0; i <= 12; i++) {
        assert_int_equal(rreg(f.p, i), 0x1000u * i + 0x55u);
        uint32_t v = 0;
        assert_int_equal(sim_board_reg_read(f.b, i, &v), SIM_OK);
        assert_int_equal(v, 0x1000u * i + 0x55u);
    }
    assert_int_equal(rreg(f.p, 15), SRAM + 0x40);
    /* READALLREGS v2: status, r0-r15, xPSR, MSP, PSP, rw, rw2. */
    const uint8_t all[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_READALLREGS};
    uint8_t r[88];
    xfer(f.p, all, 2, r, 88);
    assert_int_equal(r[0], STLINK_DEBUG_ERR_OK);
    assert_int_equal(le32(r + 4 + 4 * 7), 0x7055u);
    assert_int_equal(le32(r + 4 + 4 * 13), SRAM + 0x800);
    assert_int_equal(le32(r + 4 + 4 * 15), SRAM + 0x40);
    assert_int_equal(le32(r + 4 + 4 * 17), SRAM + 0x800); /* MSP = SP */
    /* API v1 forms: READREG answers the bare value, READALLREGS 84 bytes. */
    const uint8_t rr1[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV1_READREG, 3};
    xfer(f.p, rr1, 3, r, 4);
    assert_int_equal(le32(r), 0x3055u);
    const uint8_t all1[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV1_READALLREGS};
    xfer(f.p, all1, 2, r, 84);
    assert_int_equal(le32(r + 4 * 3), 0x3055u);
    /* A running core's registers cannot be read. */
    wr(f.p, DHCSR, 0xA05F0001u);
    const uint8_t rr2[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_READREG, 0};
    xfer(f.p, rr2, 3, r, 8);
    assert_int_not_equal(r[0], STLINK_DEBUG_ERR_OK);
    destroy(&f);
}

static void nrst_pulse_resets_the_board(void **state)
{
    (void)state;
    fx f = make(STLINK_V2);
    open_and_enter(f.p);
    wr(f.p, DHCSR, 0xA05F0003u);
    wreg(f.p, 0, 0x12345678u);
    rd(f.p, DHCSR); /* clear S_RESET_ST */
    assert_false(rd(f.p, DHCSR) & S_RESET_ST);
    assert_int_equal(nrst(f.p, STLINK_NRST_PULSE), STLINK_DEBUG_ERR_OK);
    /* The reset happened: S_RESET_ST, core out of debug halt, R0 cleared. */
    uint32_t dhcsr = rd(f.p, DHCSR);
    assert_true(dhcsr & S_RESET_ST);
    assert_false(dhcsr & S_HALT);
    wr(f.p, DHCSR, 0xA05F0003u);
    assert_int_equal(rreg(f.p, 0), 0);
    /* NRST held low keeps the core in reset until released; works before
     * ENTER too (connect under reset). */
    const uint8_t exit_dbg[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_EXIT};
    xfer(f.p, exit_dbg, 2, NULL, 0);
    assert_int_equal(nrst(f.p, STLINK_NRST_LOW), STLINK_DEBUG_ERR_OK);
    assert_false(sim_board_halted(f.b));
    assert_int_equal(enter_swd(f.p), STLINK_DEBUG_ERR_OK);
    rd(f.p, DHCSR);
    assert_int_equal(nrst(f.p, STLINK_NRST_HIGH), STLINK_DEBUG_ERR_OK);
    assert_true(rd(f.p, DHCSR) & S_RESET_ST);
    /* A bad NRST argument is refused. */
    assert_int_equal(nrst(f.p, 7), STLINK_DEBUG_ERR_FAULT);
    destroy(&f);
}

static void resetsys_resets_through_aircr(void **state)
{
    (void)state;
    fx f = make(STLINK_V2);
    open_and_enter(f.p);
    wr(f.p, DHCSR, 0xA05F0003u);
    wr(f.p, DEMCR, 0x01000001u); /* TRCENA | VC_CORERESET: halt after reset */
    wreg(f.p, 1, 0xDEADBEEFu);
    rd(f.p, DHCSR);
    const uint8_t resetsys[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_RESETSYS};
    assert_int_equal(status2(f.p, resetsys, 2), STLINK_DEBUG_ERR_OK);
    uint32_t dhcsr = rd(f.p, DHCSR);
    assert_true(dhcsr & S_RESET_ST);
    assert_true(dhcsr & S_HALT);
    assert_true(rd(f.p, DFSR) & (1u << 3)); /* VCATCH */
    assert_int_equal(rreg(f.p, 1), 0);
    destroy(&f);
}

/* ---- faults and their status codes --------------------------------------------- */

static void faulting_reads_report_ap_fault(void **state)
{
    (void)state;
    fx f = make(STLINK_V2);
    open_and_enter(f.p);
    uint8_t buf[16];
    uint32_t where = 0;
    /* Unmapped: data comes anyway (st-flash reads what comes), the status
     * is in GETLASTRWSTATUS2 (OpenOCD asks for it). */
    read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, 0x60000000u, 4, buf, 4);
    assert_int_equal(le32(buf), 0);
    assert_int_equal(lastrw2(f.p, &where), STLINK_SWD_AP_FAULT);
    assert_int_equal(where, 0x60000000u);
    const uint8_t rw1[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_GETLASTRWSTATUS};
    assert_int_equal(status2(f.p, rw1, 2), STLINK_SWD_AP_FAULT);
    /* A read running off the end of SRAM: the first words are real. */
    assert_int_equal(sim_board_write32(f.b, SRAM + SRAM_SIZE - 8, 0x11111111u), SIM_OK);
    assert_int_equal(sim_board_write32(f.b, SRAM + SRAM_SIZE - 4, 0x22222222u), SIM_OK);
    read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, SRAM + SRAM_SIZE - 8, 16, buf, 16);
    assert_int_equal(le32(buf), 0x11111111u);
    assert_int_equal(le32(buf + 4), 0x22222222u);
    assert_int_equal(lastrw2(f.p, &where), STLINK_SWD_AP_FAULT);
    assert_int_equal(where, SRAM + SRAM_SIZE);
    /* The next good access reports OK again. */
    read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, SRAM, 4, buf, 4);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_OK);
    /* READDEBUGREG carries its own status; so does a faulted write. */
    uint32_t v = 1;
    assert_int_equal(rd_st(f.p, 0x60000000u, &v), STLINK_SWD_AP_FAULT);
    assert_int_equal(v, 0);
    const uint8_t word[4] = {1, 2, 3, 4};
    write_mem(f.p, STLINK_DEBUG_WRITEMEM_32BIT, 0x60000000u, word, 4, 0);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_SWD_AP_FAULT);
    destroy(&f);
}

static void no_target_and_no_power(void **state)
{
    (void)state;
    /* No board on the cable. */
    stlink_probe *p = stlink_probe_new(STLINK_V2, SERIAL, NULL);
    assert_non_null(p);
    assert_int_equal(voltage_mv_s17(p), 0);
    assert_int_equal(enter_swd(p), STLINK_SWD_DP_ERROR);
    const uint8_t ids[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_READ_IDCODES};
    uint8_t r[12];
    xfer(p, ids, 2, r, 12);
    assert_int_equal(r[0], STLINK_SWD_DP_ERROR);
    assert_int_equal(le32(r + 4), 0);
    read_mem(p, STLINK_DEBUG_READMEM_32BIT, CPUID, 4, r, 4);
    assert_int_equal(le32(r), 0);
    assert_int_equal(lastrw2(p, NULL), STLINK_SWD_DP_ERROR);
    assert_int_equal(nrst(p, STLINK_NRST_PULSE), STLINK_DEBUG_ERR_OK);
    stlink_probe_free(p);

    /* A board without power. */
    fx f = make(STLINK_V2_1);
    sim_board_power(f.b, false);
    assert_int_equal(voltage_mv_s17(f.p), 0);
    assert_int_equal(enter_swd(f.p), STLINK_SWD_DP_ERROR);
    uint32_t v;
    assert_int_equal(rd_st(f.p, CPUID, &v), STLINK_SWD_DP_ERROR);
    sim_board_power(f.b, true);
    assert_int_equal(enter_swd(f.p), STLINK_DEBUG_ERR_OK);
    assert_int_equal(rd(f.p, CPUID), sim_board_chip(f.b)->cpuid);
    destroy(&f);
}

static void dap_registers(void **state)
{
    (void)state;
    fx f = make(STLINK_V3);
    open_and_enter(f.p);
    uint8_t r[8];
    /* DP IDCODE. */
    uint8_t c[10] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_READ_DAP_REG, 0xFF, 0xFF, 0, 0};
    xfer(f.p, c, 6, r, 8);
    assert_int_equal(r[0], STLINK_DEBUG_ERR_OK);
    assert_int_equal(le32(r + 4), sim_board_dp_idcode(f.b));
    /* CTRL/STAT power-up request -> acknowledged. */
    uint8_t w[10] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_WRITE_DAP_REG, 0xFF, 0xFF, 4, 0};
    set32(w + 6, 0x50000000u);
    assert_int_equal(status2(f.p, w, 10), STLINK_DEBUG_ERR_OK);
    c[4] = 4;
    xfer(f.p, c, 6, r, 8);
    assert_int_equal(le32(r + 4) & 0xF0000000u, 0xF0000000u);
    /* AP 0: CSW word, TAR, DRW write then read back through the board. */
    uint8_t ap[10] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_WRITE_DAP_REG, 0, 0, 0x04, 0};
    set32(ap + 6, SRAM + 0x20);
    assert_int_equal(status2(f.p, ap, 10), STLINK_DEBUG_ERR_OK);
    ap[4] = 0x0C;
    set32(ap + 6, 0x13579BDFu);
    assert_int_equal(status2(f.p, ap, 10), STLINK_DEBUG_ERR_OK);
    uint32_t v = 0;
    assert_int_equal(sim_board_read32(f.b, SRAM + 0x20, &v), SIM_OK);
    assert_int_equal(v, 0x13579BDFu);
    /* TAR auto-incremented past the word. */
    uint8_t rap[6] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_READ_DAP_REG, 0, 0, 0x04, 0};
    xfer(f.p, rap, 6, r, 8);
    assert_int_equal(le32(r + 4), SRAM + 0x24);
    /* IDR names an AHB-AP. */
    rap[4] = 0xFC;
    xfer(f.p, rap, 6, r, 8);
    assert_int_equal(le32(r + 4) & 0x0FFFE00Fu, 0x04770001u);
    /* A faulting DRW sets STICKYERR; AP accesses then fail until ABORT. */
    ap[4] = 0x04;
    set32(ap + 6, 0x60000000u);
    assert_int_equal(status2(f.p, ap, 10), STLINK_DEBUG_ERR_OK);
    rap[4] = 0x0C;
    xfer(f.p, rap, 6, r, 8);
    assert_int_equal(r[0], STLINK_SWD_AP_FAULT);
    rap[4] = 0x04;
    xfer(f.p, rap, 6, r, 8);
    assert_int_equal(r[0], STLINK_SWD_AP_STICKY_ERROR);
    c[4] = 4;
    xfer(f.p, c, 6, r, 8);
    assert_true(le32(r + 4) & (1u << 5));
    w[4] = 0;
    set32(w + 6, 1u << 2); /* ABORT.STKERRCLR */
    assert_int_equal(status2(f.p, w, 10), STLINK_DEBUG_ERR_OK);
    xfer(f.p, rap, 6, r, 8);
    assert_int_equal(r[0], STLINK_DEBUG_ERR_OK);
    /* Another AP does not exist. */
    rap[2] = 1;
    xfer(f.p, rap, 6, r, 8);
    assert_int_equal(r[0], STLINK_BAD_AP_ERROR);
    destroy(&f);
}

/* ---- OpenOCD init (sheet 5.3) ------------------------------------------------------ */

static void openocd_init_sequence(void **state)
{
    (void)state;
    fx f = make(STLINK_V2_1);
    uint8_t r[64];
    /* 2: version; O12 decodes J37 M26 on a V2-1 PID (not SWIM-only). */
    const uint8_t ver[] = {STLINK_GET_VERSION};
    xfer(f.p, ver, 1, r, 6);
    uint16_t vw = (uint16_t)(r[0] << 8 | r[1]);
    assert_int_equal(vw >> 12, 2);
    assert_int_equal((vw >> 6) & 0x3F, 37);
    assert_int_equal(vw & 0x3F, 26);
    /* 3: init_mode: MODE (MASS: nothing to leave), MODE, voltage, clock,
     * ENTER, MODE. */
    assert_int_equal(mode(f.p), STLINK_DEV_MASS_MODE);
    assert_int_equal(mode(f.p), STLINK_DEV_MASS_MODE);
    const uint8_t volt[] = {STLINK_GET_TARGET_VOLTAGE};
    xfer(f.p, volt, 1, r, 8);
    double vt = 2.0 * le32(r + 4) * (1.2 / le32(r)); /* O12 stlink_usb_check_voltage */
    assert_true(vt > 3.29 && vt < 3.31);
    const uint8_t clk[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_SWD_SET_FREQ, 3, 0};
    assert_int_equal(status2(f.p, clk, sizeof clk), STLINK_DEBUG_ERR_OK);
    assert_int_equal(stlink_probe_swd_khz(f.p), 950);
    assert_int_equal(enter_swd(f.p), STLINK_DEBUG_ERR_OK);
    assert_int_equal(mode(f.p), STLINK_DEV_DEBUG_MODE);
    /* 4: INIT_AP 0, CPUID by 4-byte READMEM32 + RW status. */
    const uint8_t init_ap[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_INIT_AP, 0};
    assert_int_equal(status2(f.p, init_ap, 3), STLINK_DEBUG_ERR_OK);
    read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, CPUID, 4, r, 4);
    assert_int_equal(le32(r), sim_board_chip(f.b)->cpuid);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_OK);
    /* 5: deassert SRST. 6: IDCODE must be the F1's 0x1BA01477. */
    assert_int_equal(nrst(f.p, STLINK_NRST_HIGH), STLINK_DEBUG_ERR_OK);
    const uint8_t ids[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_READ_IDCODES};
    xfer(f.p, ids, 2, r, 12);
    assert_int_equal(r[0], STLINK_DEBUG_ERR_OK);
    assert_int_equal(le32(r + 4), 0x1BA01477u);
    /* 7: cortex_m_examine through 4-byte memory accesses: DHCSR gets
     * C_DEBUGEN, DEMCR TRCENA. */
    read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, DHCSR, 4, r, 4);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_OK);
    uint8_t word[4];
    set32(word, 0xA05F0001u);
    write_mem(f.p, STLINK_DEBUG_WRITEMEM_32BIT, DHCSR, word, 4, 0);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_OK);
    set32(word, 1u << 24);
    write_mem(f.p, STLINK_DEBUG_WRITEMEM_32BIT, DEMCR, word, 4, 0);
    uint32_t demcr = 0;
    assert_int_equal(sim_board_read32(f.b, DEMCR, &demcr), SIM_OK);
    assert_int_equal(demcr, 1u << 24);
    read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, 0xE0002000u, 4, r, 4); /* FP_CTRL */
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_OK);
    /* 8: poll, then halt: S_HALT is what O12 looks at. */
    assert_false(rd(f.p, DHCSR) & S_HALT);
    wr(f.p, DHCSR, 0xA05F0003u);
    assert_true(rd(f.p, DHCSR) & S_HALT);
    assert_true(sim_board_halted(f.b));
    for (uint8_t i = 0; i <= 20; i++) {
        const uint8_t c[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_READREG, i};
        xfer(f.p, c, 3, r, 8);
        assert_int_equal(r[0], i == 19 ? STLINK_DEBUG_ERR_FAULT : STLINK_DEBUG_ERR_OK);
    }
    /* OpenOCD's 16-bit and single-byte accesses. */
    const uint8_t half[2] = {0x34, 0x12};
    write_mem(f.p, STLINK_DEBUG_APIV2_WRITEMEM_16BIT, SRAM + 2, half, 2, 0);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_OK);
    read_mem(f.p, STLINK_DEBUG_READMEM_8BIT, SRAM + 3, 1, r, 2);
    assert_int_equal(r[0], 0x12);
    /* 9: quit. */
    assert_int_equal(mode(f.p), STLINK_DEV_DEBUG_MODE);
    const uint8_t exit_dbg[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_EXIT};
    xfer(f.p, exit_dbg, 2, NULL, 0);
    assert_int_not_equal(mode(f.p), STLINK_DEV_DEBUG_MODE);
    /* The core stays halted: EXIT leaves the target alone. */
    assert_true(sim_board_halted(f.b));
    destroy(&f);
}

/* ---- st-flash write (sheet 5.2) with a real flash loader --------------------------- */

#define LOADER_BUF (SRAM + 0x100u)

static void f1_wait_busy(stlink_probe *p)
{
    int polls = 0;
    while (rd(p, F1_SR) & 1u)
        assert_true(++polls < 1000);
}

static void f1_unlock(stlink_probe *p)
{
    if (rd(p, F1_CR) & (1u << 7)) {
        wr(p, F1_KEYR, 0x45670123u);
        wr(p, F1_KEYR, 0xCDEF89ABu);
        assert_false(rd(p, F1_CR) & (1u << 7));
    }
}

static void f1_erase_page(stlink_probe *p, uint32_t page)
{
    f1_wait_busy(p);
    wr(p, F1_SR, 0x14);
    f1_unlock(p);
    wr(p, F1_CR, (rd(p, F1_CR) & ~1u) | (1u << 1)); /* PER */
    wr(p, F1_AR, page);
    wr(p, F1_CR, rd(p, F1_CR) | (1u << 6)); /* STRT */
    f1_wait_busy(p);
    wr(p, F1_CR, (rd(p, F1_CR) & ~(1u << 1)) | (1u << 7)); /* clear PER, LOCK */
    assert_int_equal(rd(p, F1_SR) & 0x14, 0);
}

/* st-flash's loader start (sheet 5.2 step 7): halt, DMA off, the loader
 * code into SRAM by WRITEMEM_32BIT, status query. */
static void loader_start(stlink_probe *p)
{
    wr(p, DHCSR, 0xA05F0003u);
    wr(p, DHCSR, 0xA05F000Bu);
    f1_wait_busy(p);
    wr(p, F1_SR, 0x14);
    uint8_t code[128] = {0};
    size_t n = (probe_loader_f1_len + 3) & ~(size_t)3;
    assert_true(n <= sizeof code);
    memcpy(code, probe_loader_f1, probe_loader_f1_len);
    write_mem(p, STLINK_DEBUG_WRITEMEM_32BIT, SRAM, code, (uint16_t)n, 0);
    assert_int_equal(lastrw2(p, NULL), STLINK_DEBUG_ERR_OK);
}

/*
 * One loader run as S17 stlink_flash_loader_run does it: data to SRAM,
 * WREG r0-r3 and PC, IWDG reload, RREG(16) (T bit), DHCSR A05F0009, then
 * up to 500 ms of "sleep 10 ms, RD(DHCSR)" until C_HALT. Returns whether
 * the loader reached its BKPT with R2 in -7..0.
 */
static bool loader_run(fx *f, uint32_t dst, const uint8_t *data, uint16_t n)
{
    stlink_probe *p = f->p;
    f1_unlock(p);
    write_mem(p, STLINK_DEBUG_WRITEMEM_32BIT, LOADER_BUF, data, n, 0);
    wreg(p, 0, LOADER_BUF);
    wreg(p, 1, dst);
    wreg(p, 2, n);
    wreg(p, 3, 0);
    wreg(p, 15, SRAM);
    wr(p, IWDG_KR, 0xAAAA);
    uint32_t xpsr = rreg(p, 16);
    if (!(xpsr & (1u << 24)))
        wreg(p, 16, xpsr | (1u << 24));
    unsigned runs = stlink_probe_loader_runs(p);
    wr(p, DHCSR, 0xA05F0009u);
    assert_int_equal(stlink_probe_loader_runs(p), runs + 1);
    bool halted = false;
    for (int i = 0; i < 50 && !halted; i++) {
        stlink_probe_idle(p, 10000000);
        halted = rd(p, DHCSR) & C_HALT;
    }
    if (!halted)
        return false;
    int32_t r2 = (int32_t)rreg(p, 2);
    return r2 <= 0 && r2 >= -7;
}

static void page_pattern(uint8_t *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 13 + seed * 101 + 1);
}

static void st_flash_write_sequence(void **state)
{
    (void)state;
    fx f = make(STLINK_V2);
    /* 1-2: open (hot plug: no reset), DFU exit, clock, enter, IDs. */
    open_and_enter(f.p);
    const uint8_t ids[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_READ_IDCODES};
    uint8_t r[12];
    xfer(f.p, ids, 2, r, 12);
    assert_int_equal(rd(f.p, DBGMCU_ID) & 0xFFF, 0x410);
    /* 3-4: halt, freeze the watchdog in debug. */
    wr(f.p, DHCSR, 0xA05F0003u);
    wr(f.p, DBGMCU_CR, rd(f.p, DBGMCU_CR) | 0x300);
    assert_true(rd(f.p, DHCSR) & C_HALT);
    /* 6: erase the pages. */
    uint8_t img[2048];
    page_pattern(img, sizeof img, 0);
    f1_erase_page(f.p, FLASH);
    f1_erase_page(f.p, FLASH + 1024);
    const uint8_t *fl = sim_board_flash(f.b);
    for (size_t i = 0; i < sizeof img; i++)
        assert_int_equal(fl[i], 0xFF);
    /* 7-8: loader start, one run per page. */
    loader_start(f.p);
    for (uint32_t page = 0; page < 2; page++) {
        assert_true(loader_run(&f, FLASH + page * 1024, img + page * 1024, 1024));
        wr(f.p, F1_CR, rd(f.p, F1_CR) | (1u << 7));
    }
    assert_int_equal(stlink_probe_loader_runs(f.p), 2);
    assert_int_equal(stlink_probe_loader_failures(f.p), 0);
    assert_memory_equal(sim_board_flash(f.b), img, sizeof img);
    /* 9: SR check, DHCSR rewritten without MASKINTS (still halted). */
    assert_int_equal(rd(f.p, F1_SR) & 0x14, 0);
    uint32_t dhcsr = rd(f.p, DHCSR);
    wr(f.p, DHCSR, 0xA05F0000u | C_DEBUGEN | (dhcsr & ~(1u << 3)));
    assert_true(sim_board_halted(f.b));
    assert_int_equal(stlink_probe_loader_runs(f.p), 2); /* C_HALT kept: no run */
    /* 10: verify by READMEM_32BIT, no status query. */
    uint8_t back[1024];
    for (uint32_t off = 0; off < sizeof img; off += 1024) {
        read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, FLASH + off, 1024, back, 1024);
        assert_memory_equal(back, img + off, 1024);
    }
    /* 11-12: SP and PC from the new vectors, run, detach, exit. */
    wreg(f.p, 13, rd(f.p, FLASH));
    wreg(f.p, 15, rd(f.p, FLASH + 4));
    uint32_t xpsr = rreg(f.p, 16);
    wreg(f.p, 16, xpsr | (1u << 24));
    wr(f.p, DHCSR, 0xA05F0001u);
    assert_false(sim_board_halted(f.b));
    assert_int_equal(stlink_probe_loader_runs(f.p), 2); /* PC in flash: not a loader */
    wr(f.p, DHCSR, 0xA05F0000u);
    const uint8_t exit_dbg[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_EXIT};
    xfer(f.p, exit_dbg, 2, NULL, 0);
    destroy(&f);
}

static void loader_fail_alternate(void **state)
{
    (void)state;
    fx f = make(STLINK_V2);
    stlink_probe_loader_fail(f.p, LOADER_FAIL_ALTERNATE);
    const uint8_t exit_dbg[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_EXIT};
    uint8_t img[1024];
    unsigned runs = 0;
    /* Four debug sessions, as four st-flash invocations make, each running
     * the loader for two pages: every run of sessions 1 and 3 fails, every
     * run of sessions 2 and 4 works. */
    for (uint32_t session = 0; session < 4; session++) {
        open_and_enter(f.p);
        bool failing = session % 2 == 0;
        for (uint32_t k = 0; k < 2; k++, runs++) {
            wr(f.p, DHCSR, 0xA05F0003u); /* every attempt starts halted */
            wreg(f.p, 16, 1u << 24);
            uint32_t page = FLASH + 0x1000 + runs * 1024;
            f1_erase_page(f.p, page);
            loader_start(f.p);
            page_pattern(img, sizeof img, runs + 1);
            bool ok = loader_run(&f, page, img, sizeof img);
            assert_int_equal(ok, !failing);
            const uint8_t *fl = sim_board_flash(f.b) + (page - FLASH);
            if (ok) {
                assert_memory_equal(fl, img, sizeof img);
            } else {
                /* Never halted: the core faulted and (vectors erased)
                 * locked up; the page was not written. */
                uint32_t dhcsr = rd(f.p, DHCSR);
                assert_false(dhcsr & C_HALT);
                assert_false(dhcsr & S_HALT);
                assert_true(dhcsr & S_LOCKUP);
                assert_memory_not_equal(fl, img, sizeof img);
            }
        }
        xfer(f.p, exit_dbg, 2, NULL, 0); /* the tool exits: session over */
    }
    assert_int_equal(stlink_probe_loader_runs(f.p), 8);
    assert_int_equal(stlink_probe_loader_failures(f.p), 4);
    /* A USB reset also ends a session (what replugging did for users). */
    stlink_probe_loader_fail(f.p, LOADER_FAIL_ALTERNATE);
    open_and_enter(f.p);
    wr(f.p, DHCSR, 0xA05F0003u);
    wreg(f.p, 16, 1u << 24);
    f1_erase_page(f.p, FLASH + 0x4000);
    loader_start(f.p);
    assert_false(loader_run(&f, FLASH + 0x4000, img, sizeof img));
    stlink_probe_usb_reset(f.p);
    open_and_enter(f.p);
    wr(f.p, DHCSR, 0xA05F0003u);
    wreg(f.p, 16, 1u << 24);
    loader_start(f.p);
    assert_true(loader_run(&f, FLASH + 0x4000, img, sizeof img));
    destroy(&f);
}

static void loader_fail_once_and_always(void **state)
{
    (void)state;
    static const stlink_loader_fail modes[] = {LOADER_FAIL_ONCE, LOADER_FAIL_ALWAYS,
                                               LOADER_FAIL_NONE};
    static const bool expect[3][3] = {
        {false, true, true}, {false, false, false}, {true, true, true}};
    for (size_t m = 0; m < 3; m++) {
        fx f = make(STLINK_V2);
        open_and_enter(f.p);
        wr(f.p, DHCSR, 0xA05F0003u);
        stlink_probe_loader_fail(f.p, modes[m]);
        uint8_t img[64];
        for (uint32_t run = 0; run < 3; run++) {
            uint32_t page = FLASH + run * 1024;
            f1_erase_page(f.p, page);
            loader_start(f.p);
            page_pattern(img, sizeof img, run);
            assert_int_equal(loader_run(&f, page, img, sizeof img), expect[m][run]);
            if (!expect[m][run]) {
                wr(f.p, DHCSR, 0xA05F0003u);
                wreg(f.p, 16, 1u << 24);
            }
        }
        destroy(&f);
    }
}

static void loader_runs_seen_however_the_core_is_started(void **state)
{
    (void)state;
    fx f = make(STLINK_V2);
    open_and_enter(f.p);
    /* A BKPT loop in SRAM: 0xBE00 (BKPT), 0xE7FD (b .-2). */
    const uint8_t prog[4] = {0x00, 0xBE, 0xFD, 0xE7};
    wr(f.p, DHCSR, 0xA05F0003u);
    write_mem(f.p, STLINK_DEBUG_WRITEMEM_32BIT, SRAM, prog, 4, 0);
    wreg(f.p, 15, SRAM);
    wreg(f.p, 16, 1u << 24);
    /* OpenOCD resumes with a 4-byte WRITEMEM_32BIT to DHCSR. */
    uint8_t word[4];
    set32(word, 0xA05F0001u);
    write_mem(f.p, STLINK_DEBUG_WRITEMEM_32BIT, DHCSR, word, 4, 0);
    assert_int_equal(stlink_probe_loader_runs(f.p), 1);
    assert_true(rd(f.p, DHCSR) & S_HALT); /* reached the BKPT */
    /* API v1 RUNCORE. */
    wreg(f.p, 15, SRAM);
    const uint8_t run[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_RUNCORE};
    assert_int_equal(status2(f.p, run, 2), STLINK_DEBUG_ERR_OK);
    assert_int_equal(stlink_probe_loader_runs(f.p), 2);
    /* Stepping is not a run; neither is halting again. */
    wreg(f.p, 15, SRAM);
    wr(f.p, DHCSR, 0xA05F0005u);
    wr(f.p, DHCSR, 0xA05F0003u);
    assert_int_equal(stlink_probe_loader_runs(f.p), 2);
    /* v1 GETSTATUS says halted. */
    const uint8_t st[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_GETSTATUS};
    assert_int_equal(status2(f.p, st, 2), STLINK_CORE_HALTED);
    destroy(&f);
}

/* ---- wedge ---------------------------------------------------------------------------- */

/* STLINK-V3 firmware hangs on DEBUG_EXIT outside debug mode; V2 does not. */
static void v3_exit_outside_debug_mode_wedges(void **state)
{
    (void)state;
    const uint8_t exit_dbg[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_EXIT};
    uint8_t c[STLINK_CMD_SIZE] = {STLINK_GET_VERSION};
    uint8_t r[64];
    fx v2 = make(STLINK_V2);
    xfer(v2.p, exit_dbg, 2, NULL, 0);
    assert_false(stlink_probe_wedged(v2.p));
    xfer(v2.p, c, 1, r, 6);
    destroy(&v2);

    fx f = make(STLINK_V3);
    open_and_enter(f.p);
    xfer(f.p, exit_dbg, 2, NULL, 0); /* in debug mode: fine */
    assert_false(stlink_probe_wedged(f.p));
    xfer(f.p, exit_dbg, 2, NULL, 0); /* now outside it: the firmware hangs */
    assert_true(stlink_probe_wedged(f.p));
    assert_int_equal(stlink_probe_out(f.p, c, sizeof c), -1);
    assert_int_equal(stlink_probe_in(f.p, r, sizeof r), -1);
    stlink_probe_usb_reset(f.p);
    xfer(f.p, c, 1, r, 6);
    destroy(&f);
}

static void wedge_until_usb_reset(void **state)
{
    (void)state;
    fx f = make(STLINK_V2);
    open_and_enter(f.p);
    wr(f.p, DHCSR, 0xA05F0003u);
    wr(f.p, SRAM, 0x600DF00Du);
    stlink_probe_wedge(f.p);
    assert_true(stlink_probe_wedged(f.p));
    uint8_t c[STLINK_CMD_SIZE] = {STLINK_GET_VERSION};
    uint8_t r[64];
    /* The first OUT lands in the endpoint buffer; nothing answers. */
    uint8_t w[STLINK_CMD_SIZE] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_WRITEDEBUGREG};
    set32(w + 2, SRAM);
    set32(w + 6, 0xBAD0BAD0u);
    assert_int_equal(stlink_probe_out(f.p, w, sizeof w), 0);
    assert_false(stlink_probe_reply_pending(f.p));
    assert_int_equal(stlink_probe_in(f.p, r, sizeof r), -1);
    /* Later OUTs are NAKed until the bus reset. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(stlink_probe_out(f.p, c, sizeof c), -1);
        assert_false(stlink_probe_reply_pending(f.p));
        assert_int_equal(stlink_probe_in(f.p, r, sizeof r), -1);
    }
    uint32_t v = 0;
    assert_int_equal(sim_board_read32(f.b, SRAM, &v), SIM_OK);
    assert_int_equal(v, 0x600DF00Du);

    stlink_probe_usb_reset(f.p);
    assert_false(stlink_probe_wedged(f.p));
    xfer(f.p, c, 1, r, 6);
    assert_int_equal(r[0], 0x29);
    /* The firmware restarted, the board did not. */
    assert_int_equal(mode(f.p), STLINK_DEV_DFU_MODE);
    assert_true(sim_board_halted(f.b));
    assert_int_equal(sim_board_read32(f.b, SRAM, &v), SIM_OK);
    assert_int_equal(v, 0x600DF00Du);
    open_and_enter(f.p);
    assert_int_equal(rd(f.p, SRAM), 0x600DF00Du);
    destroy(&f);
}

/* ---- timing ------------------------------------------------------------------------------ */

static void timing_model(void **state)
{
    (void)state;
    fx f = make(STLINK_V2);
    open_and_enter(f.p);
    wr(f.p, DHCSR, 0xA05F0003u);
    /* A short command: one 1-ms full-speed frame plus a few SWD
     * transactions at 1.8 MHz; the board's clock moved by the same. */
    uint64_t t0 = sim_board_now_ns(f.b);
    rd(f.p, CPUID);
    uint64_t cost = stlink_probe_last_cost_ns(f.p);
    assert_int_equal(sim_board_now_ns(f.b) - t0, cost);
    assert_true(cost >= 1000000 && cost < 1300000);
    /* 6144-byte read: 97 packets = 6 frames, plus 1545 transactions. */
    uint8_t *buf = malloc(6144);
    assert_non_null(buf);
    read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, SRAM, 6144, buf, 6144);
    uint64_t big = stlink_probe_last_cost_ns(f.p);
    uint64_t swd = (2 + 1536 + 5 + 1) * 48ull * 1000000ull / 1800;
    assert_int_equal(big, 6000000 + swd);
    /* A faster SWD clock makes it cheaper. */
    const uint8_t clk[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_SWD_SET_FREQ, 0, 0};
    assert_int_equal(status2(f.p, clk, sizeof clk), STLINK_DEBUG_ERR_OK);
    read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, SRAM, 6144, buf, 6144);
    assert_true(stlink_probe_last_cost_ns(f.p) < big);
    free(buf);
    destroy(&f);

    /* High speed: a round trip is two 125-us microframes. */
    fx g = make(STLINK_V3);
    const uint8_t ver[] = {STLINK_GET_VERSION};
    uint8_t r[6];
    xfer(g.p, ver, 1, r, 6);
    assert_int_equal(stlink_probe_last_cost_ns(g.p), 250000);
    destroy(&g);
}

/* ---- malformed input ---------------------------------------------------------------------- */

static void malformed_commands(void **state)
{
    (void)state;
    fx f = make(STLINK_V2);
    uint8_t r[64];
    uint8_t c[STLINK_CMD_SIZE + 8] = {STLINK_GET_VERSION};
    /* Nothing asked yet: no reply. */
    assert_int_equal(stlink_probe_in(f.p, r, sizeof r), -1);
    /* Short and over-long command transfers are refused. */
    assert_int_equal(stlink_probe_out(f.p, c, 5), -1);
    assert_int_equal(stlink_probe_out(f.p, c, 0), -1);
    assert_int_equal(stlink_probe_out(f.p, c, STLINK_CMD_SIZE + 8), -1);
    assert_false(stlink_probe_reply_pending(f.p));
    /* Unknown top-level command and unknown sub-commands: FAULT status. */
    const uint8_t unk[] = {0x42};
    xfer(f.p, unk, 1, r, 2);
    assert_int_equal(r[0], STLINK_DEBUG_ERR_FAULT);
    const uint8_t unk2[] = {STLINK_DEBUG_COMMAND, 0x7F};
    xfer(f.p, unk2, 2, r, 2);
    assert_int_equal(r[0], STLINK_DEBUG_ERR_FAULT);
    const uint8_t unk3[] = {STLINK_DFU_COMMAND, 0x01};
    xfer(f.p, unk3, 2, r, 2);
    assert_int_equal(r[0], STLINK_DEBUG_ERR_FAULT);
    const uint8_t bad_enter[] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_APIV2_ENTER, 0x55};
    xfer(f.p, bad_enter, 3, r, 2);
    assert_int_equal(r[0], STLINK_DEBUG_ERR_FAULT);
    open_and_enter(f.p);
    /* A reply read in pieces; a new command drops the rest. */
    const uint8_t ver[] = {STLINK_GET_VERSION};
    memset(c, 0, sizeof c);
    memcpy(c, ver, 1);
    assert_int_equal(stlink_probe_out(f.p, c, STLINK_CMD_SIZE), 0);
    assert_int_equal(stlink_probe_in(f.p, r, 4), 4);
    assert_int_equal(stlink_probe_in(f.p, r + 4, 64), 2);
    assert_int_equal(stlink_probe_in(f.p, r, 64), -1);
    assert_int_equal(stlink_probe_out(f.p, c, STLINK_CMD_SIZE), 0);
    assert_int_equal(stlink_probe_in(f.p, r, 3), 3);
    assert_int_equal(mode(f.p), STLINK_DEV_DEBUG_MODE);
    /* Huge READMEM_32BIT on a V2: the whole length comes back, zeros, and
     * the status says FAULT; nothing breaks. */
    uint8_t *big = malloc(65535);
    assert_non_null(big);
    read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, SRAM, 0xFFFC, big, 0xFFFC);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_FAULT);
    read_mem(f.p, STLINK_DEBUG_READMEM_8BIT, SRAM, 0xFFFF, big, 0xFFFF);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_FAULT);
    /* 8-bit write over the limit: data consumed, memory untouched. */
    memset(big, 0xA5, 100);
    wr(f.p, SRAM, 0);
    write_mem(f.p, STLINK_DEBUG_WRITEMEM_8BIT, SRAM, big, 100, 0);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_FAULT);
    assert_int_equal(rd(f.p, SRAM), 0);
    /* Misaligned 32-bit access, bad AP. */
    read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, SRAM + 2, 4, r, 4);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_DEBUG_ERR_FAULT);
    uint8_t ap1[9] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_READMEM_32BIT};
    set32(ap1 + 2, SRAM);
    ap1[6] = 4;
    ap1[8] = 1;
    xfer(f.p, ap1, 9, r, 4);
    assert_int_equal(lastrw2(f.p, NULL), STLINK_BAD_AP_ERROR);
    /* A zero-length read has no data phase and no reply. */
    read_mem(f.p, STLINK_DEBUG_READMEM_32BIT, SRAM, 0, r, 0);
    /* A data phase longer than announced is refused as a whole. */
    uint8_t w[STLINK_CMD_SIZE + 8] = {STLINK_DEBUG_COMMAND, STLINK_DEBUG_WRITEMEM_32BIT};
    set32(w + 2, SRAM);
    w[6] = 4;
    assert_int_equal(stlink_probe_out(f.p, w, STLINK_CMD_SIZE + 8), -1);
    assert_int_equal(stlink_probe_data_due(f.p), 0);
    free(big);
    destroy(&f);
}

static void fuzzed_input_is_survived(void **state)
{
    (void)state;
    static const uint8_t firsts[] = {STLINK_GET_VERSION,          STLINK_DEBUG_COMMAND,
                                     STLINK_DEBUG_COMMAND,        STLINK_DEBUG_COMMAND,
                                     STLINK_GET_CURRENT_MODE,     STLINK_GET_TARGET_VOLTAGE,
                                     STLINK_APIV3_GET_VERSION_EX, STLINK_DFU_COMMAND,
                                     STLINK_SWIM_COMMAND,         0x00};
    static const uint8_t subs[] = {STLINK_DEBUG_APIV2_ENTER,
                                   STLINK_DEBUG_APIV2_ENTER,
                                   STLINK_DEBUG_APIV2_READ_IDCODES,
                                   STLINK_DEBUG_APIV2_RESETSYS,
                                   STLINK_DEBUG_APIV2_READREG,
                                   STLINK_DEBUG_APIV2_WRITEREG,
                                   STLINK_DEBUG_APIV2_WRITEDEBUGREG,
                                   STLINK_DEBUG_APIV2_READDEBUGREG,
                                   STLINK_DEBUG_APIV2_READALLREGS,
                                   STLINK_DEBUG_APIV2_GETLASTRWSTATUS2,
                                   STLINK_DEBUG_APIV2_DRIVE_NRST,
                                   STLINK_DEBUG_READMEM_32BIT,
                                   STLINK_DEBUG_WRITEMEM_32BIT,
                                   STLINK_DEBUG_READMEM_8BIT,
                                   STLINK_DEBUG_WRITEMEM_8BIT,
                                   STLINK_DEBUG_APIV2_READMEM_16BIT,
                                   STLINK_DEBUG_APIV2_WRITEMEM_16BIT,
                                   STLINK_DEBUG_WRITEMEM_32BIT_NO_INC,
                                   STLINK_DEBUG_READMEM_32BIT_NO_INC,
                                   STLINK_DEBUG_APIV2_READ_DAP_REG,
                                   STLINK_DEBUG_APIV2_WRITE_DAP_REG,
                                   STLINK_DEBUG_APIV2_SWD_SET_FREQ,
                                   STLINK_APIV3_SET_COM_FREQ,
                                   STLINK_APIV3_GET_COM_FREQ,
                                   STLINK_DEBUG_APIV2_START_TRACE_RX,
                                   STLINK_DEBUG_APIV2_GET_TRACE_NB,
                                   STLINK_DEBUG_RUNCORE,
                                   STLINK_DEBUG_STEPCORE,
                                   STLINK_DEBUG_APIV1_READALLREGS,
                                   STLINK_DEBUG_EXIT};
    unsigned statuses[256] = {0};
    for (int kind = 0; kind < 3; kind++) {
        fx f = make((stlink_kind)kind);
        uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(kind + 1);
        uint8_t *buf = malloc(70000);
        assert_non_null(buf);
        for (int i = 0; i < 3000; i++) {
            uint8_t c[STLINK_CMD_SIZE + 32];
            for (size_t k = 0; k < sizeof c; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                c[k] = (uint8_t)x;
            }
            c[0] = firsts[x % sizeof firsts];
            /* Mostly real sub-commands, addresses in SRAM or the SCS and
             * modest lengths, so that commands reach the board. */
            if (c[0] == STLINK_DEBUG_COMMAND && (x >> 20) % 4 != 0) {
                c[1] = subs[(x >> 50) % sizeof subs];
                if (c[1] == STLINK_DEBUG_APIV2_ENTER)
                    c[2] = STLINK_DEBUG_ENTER_SWD_NO_RESET;
                c[5] = (x >> 30) & 1 ? 0x20 : 0xE0;
                c[4] = 0;
                c[7] &= (x >> 33) & 1 ? 0xFF : 0x00;
            }
            size_t len = (x >> 40) % 8 == 0 ? (size_t)((x >> 44) % (sizeof c + 1)) : 16;
            int rc = stlink_probe_out(f.p, c, len);
            assert_true(rc == 0 || rc == -1);
            size_t due = stlink_probe_data_due(f.p);
            if (due) {
                memset(buf, (int)(x & 0xFF), due);
                size_t first = due > 100 ? due / 3 : due;
                assert_int_equal(stlink_probe_out(f.p, buf, first), 0);
                if (due > first)
                    assert_int_equal(stlink_probe_out(f.p, buf, due - first), 0);
            }
            if (stlink_probe_reply_pending(f.p)) {
                int n = stlink_probe_in(f.p, buf, 70000);
                assert_true(n >= 0 && n <= 65537);
                if (n > 0)
                    statuses[buf[0]]++;
            }
            assert_int_equal(stlink_probe_in(f.p, buf, 64), -1);
            if (i % 500 == 499) {
                stlink_probe_usb_reset(f.p);
                sim_board_power(f.b, false);
                sim_board_power(f.b, true);
            }
        }
        free(buf);
        destroy(&f);
    }
    /* The fuzzing reached the board: plenty of commands succeeded, and
     * AP faults were seen. */
    assert_true(statuses[STLINK_DEBUG_ERR_OK] > 200);
    assert_true(statuses[STLINK_SWD_AP_FAULT] > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_bytes_per_kind),
        cmocka_unit_test(mode_transitions),
        cmocka_unit_test(st_info_probe_sequence),
        cmocka_unit_test(v3_clock_commands),
        cmocka_unit_test(memory_round_trip),
        cmocka_unit_test(big_write_in_one_command),
        cmocka_unit_test(register_round_trip),
        cmocka_unit_test(nrst_pulse_resets_the_board),
        cmocka_unit_test(resetsys_resets_through_aircr),
        cmocka_unit_test(faulting_reads_report_ap_fault),
        cmocka_unit_test(no_target_and_no_power),
        cmocka_unit_test(dap_registers),
        cmocka_unit_test(openocd_init_sequence),
        cmocka_unit_test(st_flash_write_sequence),
        cmocka_unit_test(loader_fail_alternate),
        cmocka_unit_test(loader_fail_once_and_always),
        cmocka_unit_test(loader_runs_seen_however_the_core_is_started),
        cmocka_unit_test(wedge_until_usb_reset),
        cmocka_unit_test(v3_exit_outside_debug_mode_wedges),
        cmocka_unit_test(timing_model),
        cmocka_unit_test(malformed_commands),
        cmocka_unit_test(fuzzed_input_is_survived),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
