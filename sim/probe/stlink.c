/*
 * The ST-LINK protocol engine: what an ST-LINK/V2, V2-1 or V3 firmware does
 * with the host's bulk transfers, wired to one virtual board.
 *
 * Sources (the public projects each fact was read from):
 *   S17 = stlink-org/stlink v1.7.0: src/stlink-lib/usb.c, src/common.c,
 *         inc/stlink.h, src/stlink-lib/flash_loader.c
 *   O12 = openocd-org/openocd v0.12.0: src/jtag/drivers/stlink_usb.c
 * Facts marked [U] are not documented anywhere we could read; they are our
 * choice, made so that both hosts work.
 *
 * Framing. Every command is a 16-byte OUT transfer (S17 fill_command /
 * STLINK_CMD_SIZE; O12 STLINK_CMD_SIZE_V2). A write command is followed by
 * its data phase on the same OUT endpoint, sized by the command's u16 length
 * field (neither host sends zero-length packets, so the length is the only
 * delimiter). Replies go out on the IN endpoint; their length is fixed per
 * command and must be exact: O12's async path fails a transfer that gets
 * more bytes than it asked for (LIBUSB_TRANSFER_OVERFLOW), and S17 reads the
 * length it expects. Commands without a reply (EXIT, DFU_EXIT, WRITEMEM)
 * leave nothing pending.
 *
 * Timing model. Each command costs USB time + SWD time (+ any time the
 * board itself spent, e.g. stalled on busy flash or a reset pulse):
 *  - USB full speed (V2, V2-1): bulk traffic moves in 1 ms frames, at most
 *    19 bulk transactions of 64 bytes per frame (USB 2.0 spec 5.8.4, table
 *    5-9). A command and its reply or data phase are counted in 64-byte
 *    packets; the command costs ceil(packets / 19) frames, at least one: a
 *    short command/reply round trip is ~1 ms on a real full-speed ST-LINK.
 *  - USB high speed (V3): 125 us microframes, at most 13 bulk transactions
 *    of 512 bytes per microframe (table 5-10); at least two microframes
 *    (the OUT and the IN of a round trip).
 *  - SWD: every DP/AP transaction is 8 request bits + turnaround + 3 ACK
 *    bits + 32 data bits + parity + turnaround = 46 clocks (ADIv5.2 B4.2),
 *    plus 2 idle clocks the firmware leaves between transactions. A memory
 *    command costs CSW + TAR set-up, one DRW transaction per access, a TAR
 *    reload at every 1 KiB auto-increment boundary (ADIv5 TAR wrap, O12
 *    stlink_usb_read_ap_mem comment) and RDBUFF for reads. A core register
 *    access goes through DCRSR/DHCSR/DCRDR (ARMv7-M C1.6): ~10 transactions.
 *    ENTER adds the line reset and JTAG-to-SWD sequence (2 x 50 + 16 clocks).
 *    The clock is the SWD_SET_FREQ divisor table (O12 stlink_khz_to_speed_
 *    map_swd) or the V3 SET_COM_FREQ kHz.
 * USB and SWD are added, not overlapped: simple, and a little pessimistic
 * for long writes where the real firmware streams.
 * The engine lets the board's clock advance by USB + SWD after executing
 * the command's target accesses, so a core the command let run runs while
 * the reply travels back.
 */
#include "stlink_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- little helpers ------------------------------------------------------- */

uint16_t stl_get16(const uint8_t *b)
{
    return (uint16_t)(b[0] | b[1] << 8);
}

uint32_t stl_get32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

void stl_put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

void stl_put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

/* Start a stl_reply of n bytes, zero-filled. n never exceeds REPLY_MAX. */
uint8_t *stl_reply(stlink_probe *p, size_t n)
{
    if (n > REPLY_MAX)
        n = REPLY_MAX;
    memset(p->reply, 0, n);
    p->reply_len = n;
    p->reply_off = 0;
    p->reply_pending = n > 0;
    return p->reply;
}

/* A 2-byte status stl_reply (the second byte's meaning is unknown [U]: 0). */
void stl_reply_status(stlink_probe *p, uint8_t status)
{
    stl_reply(p, 2)[0] = status;
}

static uint8_t idle_mode(stlink_kind kind)
{
    /* After plug-in a V2 sits in "DFU" mode (both hosts then send DFU_EXIT:
     * S17 stlink_open_usb, O12 stlink_usb_exit_mode; blackmagic PR #543:
     * "V2 devices after power on are in DFU mode"); probes with mass storage
     * report MASS (stlink issue #1138 log: V3 "current mode: mass"). */
    return kind == STLINK_V2 ? STLINK_DEV_DFU_MODE : STLINK_DEV_MASS_MODE;
}

bool stl_is_v3(const stlink_probe *p)
{
    return p->kind == STLINK_V3;
}

void stl_swd_xfers(stlink_probe *p, uint64_t n)
{
    p->swd_clocks += n * SWD_XFER_CLOCKS;
}

/* Let ns pass on the board. sim_board_advance() returns early when the core
 * halts; the probe's time goes on regardless, so ask again (a few times at
 * most: a sim_board_interrupt() makes it return without progress). */
void stl_board_pass(sim_board *b, uint64_t ns)
{
    if (!b || ns == 0)
        return;
    uint64_t target = sim_board_now_ns(b) + ns;
    for (int i = 0; i < 4; i++) {
        uint64_t now = sim_board_now_ns(b);
        if (now >= target)
            break;
        sim_board_advance(b, target - now);
        if (sim_board_now_ns(b) == now)
            break;
    }
}

/* ---- cost ------------------------------------------------------------------ */

static uint64_t packets(size_t bytes, unsigned mps)
{
    return ((uint64_t)bytes + mps - 1) / mps;
}

static uint64_t usb_ns(const stlink_probe *p, size_t out_bytes, size_t in_bytes)
{
    bool hs = stl_is_v3(p);
    unsigned mps = hs ? HS_PACKET : FS_PACKET;
    uint64_t per_slot = hs ? HS_PACKETS_PER_SLOT : FS_PACKETS_PER_SLOT;
    uint64_t slot_ns = hs ? HS_UFRAME_NS : FS_FRAME_NS;
    uint64_t min_slots = hs ? 2 : 1;
    uint64_t n = packets(out_bytes, mps) + packets(in_bytes, mps);
    uint64_t slots = (n + per_slot - 1) / per_slot;
    if (slots < min_slots)
        slots = min_slots;
    return slots * slot_ns;
}

static uint64_t swd_ns(const stlink_probe *p)
{
    uint32_t khz = p->swd_khz ? p->swd_khz : 1;
    return p->swd_clocks * 1000000ull / khz;
}

/* Run the assembled command (and its data phase) and account its time. */
static void execute(stlink_probe *p)
{
    sim_board *b = p->board;
    uint64_t t0 = b ? sim_board_now_ns(b) : 0;
    p->swd_clocks = 0;
    p->reply_len = p->reply_off = 0;
    p->reply_pending = false;
    stl_dispatch(p);
    uint64_t spent = b ? sim_board_now_ns(b) - t0 : 0; /* stalls, reset pulse */
    uint64_t own = usb_ns(p, STLINK_CMD_SIZE + p->data_len, p->reply_len) + swd_ns(p);
    stl_board_pass(b, own);
    p->cost_ns = own + spent;
    p->data_len = p->data_got = 0;
}

/* ---- public API --------------------------------------------------------------- */

static bool serial_ok(const char *s)
{
    if (!s)
        return false;
    for (size_t i = 0; i < STLINK_SERIAL_LEN; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F')))
            return false;
    }
    return s[STLINK_SERIAL_LEN] == '\0';
}

static void firmware_boot(stlink_probe *p)
{
    p->mode = idle_mode(p->kind);
    p->wedged = false;
    p->wedge_out_taken = false;
    /* Power-on clocks: 1.8 MHz on V2 (O12 map "1800 default"); V3 [U]. */
    p->swd_khz = stl_is_v3(p) ? 1000u : 1800u;
    p->jtag_khz = stl_is_v3(p) ? 8000u : 1125u;
    p->trace_on = false;
    p->rw_status = STLINK_DEBUG_ERR_OK;
    p->rw_fault_addr = 0;
    p->dp_ctrl = 0;
    p->dp_select = 0;
    p->ap_csw = AHBAP_CSW_INIT;
    p->ap_tar = 0;
    p->dp_rdbuff = 0;
    p->data_len = p->data_got = 0;
    p->reply_len = p->reply_off = 0;
    p->reply_pending = false;
    if (p->nrst_low && p->board)
        sim_board_nrst(p->board, false);
    p->nrst_low = false;
}

stlink_probe *stlink_probe_new(stlink_kind kind, const char *serial, sim_board *board)
{
    if ((kind != STLINK_V2 && kind != STLINK_V2_1 && kind != STLINK_V3) || !serial_ok(serial))
        return NULL;
    stlink_probe *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->data = malloc(DATA_MAX);
    p->reply = malloc(REPLY_MAX);
    if (!p->data || !p->reply) {
        stlink_probe_free(p);
        return NULL;
    }
    p->kind = kind;
    memcpy(p->serial, serial, STLINK_SERIAL_LEN + 1);
    p->board = board;
    firmware_boot(p);
    return p;
}

void stlink_probe_free(stlink_probe *p)
{
    if (!p)
        return;
    free(p->data);
    free(p->reply);
    free(p);
}

stlink_kind stlink_probe_kind(const stlink_probe *p)
{
    return p->kind;
}

const char *stlink_probe_serial(const stlink_probe *p)
{
    return p->serial;
}

uint16_t stlink_probe_pid(const stlink_probe *p)
{
    /* S17 usb.h / O12 PID defines: V2 0x3748, V2-1 0x374B, V3S 0x374F. */
    switch (p->kind) {
    case STLINK_V2:
        return 0x3748;
    case STLINK_V2_1:
        return 0x374B;
    case STLINK_V3:
        return 0x374F;
    }
    return 0;
}

uint8_t stlink_probe_ep_out(const stlink_probe *p)
{
    /* S17 stlink_open_usb / O12 stlink_usb_usb_open: OUT 0x02 on V1/V2,
     * 0x01 on V2-1 and V3. */
    return p->kind == STLINK_V2 ? 0x02 : 0x01;
}

uint8_t stlink_probe_ep_in(const stlink_probe *p)
{
    (void)p;
    return 0x81;
}

uint8_t stlink_probe_ep_trace(const stlink_probe *p)
{
    return p->kind == STLINK_V2 ? 0x83 : 0x82;
}

uint16_t stlink_probe_max_packet(const stlink_probe *p)
{
    return stl_is_v3(p) ? HS_PACKET : FS_PACKET;
}

void stlink_probe_attach(stlink_probe *p, sim_board *board)
{
    if (p->nrst_low && p->board)
        sim_board_nrst(p->board, false);
    p->nrst_low = false;
    p->board = board;
}

sim_board *stlink_probe_board(const stlink_probe *p)
{
    return p->board;
}

int stlink_probe_out(stlink_probe *p, const uint8_t *data, size_t len)
{
    if (p->wedged) {
        /* The firmware hangs. The USB peripheral still takes one OUT
         * transfer into its endpoint buffer; nobody re-arms the endpoint,
         * so every later OUT is NAKed (the host's transfer times out). */
        if (p->wedge_out_taken)
            return -1;
        p->wedge_out_taken = true;
        return 0;
    }
    if (!data && len)
        return -1;
    if (p->data_got < p->data_len) {
        /* The data phase of the pending write command. */
        size_t due = p->data_len - p->data_got;
        if (len > due)
            return -1;
        if (len == 0)
            return 0;
        memcpy(p->data + p->data_got, data, len);
        p->data_got += len;
        if (p->data_got == p->data_len)
            execute(p);
        return 0;
    }
    if (len < STLINK_CMD_SIZE)
        return -1;
    size_t dlen = 0;
    bool has_data = stl_starts_data_phase(data, &dlen);
    if (len > STLINK_CMD_SIZE && (!has_data || len - STLINK_CMD_SIZE > dlen))
        return -1;
    /* A new command: whatever the host did not read of the last stl_reply is
     * dropped with it. */
    memcpy(p->cmd, data, STLINK_CMD_SIZE);
    p->reply_pending = false;
    p->reply_len = p->reply_off = 0;
    p->data_len = has_data ? dlen : 0;
    p->data_got = len - STLINK_CMD_SIZE;
    if (p->data_got)
        memcpy(p->data, data + STLINK_CMD_SIZE, p->data_got);
    if (p->data_got == p->data_len)
        execute(p);
    return 0;
}

int stlink_probe_in(stlink_probe *p, uint8_t *buf, size_t maxlen)
{
    if (p->wedged || !p->reply_pending)
        return -1;
    size_t left = p->reply_len - p->reply_off;
    size_t n = left < maxlen ? left : maxlen;
    if (n && buf)
        memcpy(buf, p->reply + p->reply_off, n);
    else
        n = 0;
    p->reply_off += n;
    if (p->reply_off >= p->reply_len)
        p->reply_pending = false;
    return (int)n;
}

bool stlink_probe_reply_pending(const stlink_probe *p)
{
    return !p->wedged && p->reply_pending;
}

size_t stlink_probe_data_due(const stlink_probe *p)
{
    return p->data_len - p->data_got;
}

uint64_t stlink_probe_last_cost_ns(const stlink_probe *p)
{
    return p->cost_ns;
}

void stlink_probe_idle(stlink_probe *p, uint64_t ns)
{
    stl_board_pass(p->board, ns);
}

uint8_t stlink_probe_mode(const stlink_probe *p)
{
    return p->mode;
}

uint32_t stlink_probe_swd_khz(const stlink_probe *p)
{
    return p->swd_khz;
}

bool stlink_probe_wedged(const stlink_probe *p)
{
    return p->wedged;
}

unsigned stlink_probe_loader_runs(const stlink_probe *p)
{
    return p->loader_runs;
}

unsigned stlink_probe_loader_failures(const stlink_probe *p)
{
    return p->loader_fails;
}

void stlink_probe_wedge(stlink_probe *p)
{
    p->wedged = true;
    p->wedge_out_taken = false;
    p->reply_pending = false;
    p->data_len = p->data_got = 0;
}

void stlink_probe_wedge_hard(stlink_probe *p)
{
    stlink_probe_wedge(p);
    p->hard_wedge = true;
}

bool stlink_probe_hard_wedged(const stlink_probe *p)
{
    return p->hard_wedge;
}

void stlink_probe_usb_reset(stlink_probe *p)
{
    /* A bus reset is handled by the firmware's own USB stack: firmware that
     * hung with its interrupts masked never runs that handler. */
    if (p->hard_wedge)
        return;
    firmware_boot(p);
}

void stlink_probe_power_on(stlink_probe *p)
{
    p->hard_wedge = false;
    firmware_boot(p);
}

void stlink_probe_loader_fail(stlink_probe *p, stlink_loader_fail mode)
{
    p->loader_mode = mode;
    p->alt_sessions = 0;
    p->session_failing = false; /* the next debug session is the first to fail */
}
