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
#include "stlink.h"
#include "stlink_proto.h"

#include <stdlib.h>
#include <string.h>

#define DATA_MAX  65535u         /* a data phase is sized by a u16 */
#define REPLY_MAX (65535u + 16u) /* the longest reply is a READMEM of 65535 */

/* Debug registers (ARMv7-M C1.6, S17 inc/stm32.h / O12 armv7m.h). */
#define REG_CPUID      0xE000ED00u
#define REG_AIRCR      0xE000ED0Cu
#define REG_DHCSR      0xE000EDF0u
#define DHCSR_KEY      0xA05F0000u
#define C_DEBUGEN      (1u << 0)
#define C_HALT         (1u << 1)
#define C_STEP         (1u << 2)
#define C_MASKINTS     (1u << 3)
#define AIRCR_SYSRESET 0x05FA0004u /* VECTKEY | SYSRESETREQ */

/* ADIv5 DP CTRL/STAT bits (ADIv5.2 B2.2.4). */
#define CS_ORUNDETECT   (1u << 0)
#define CS_STICKYORUN   (1u << 1)
#define CS_STICKYCMP    (1u << 4)
#define CS_STICKYERR    (1u << 5)
#define CS_WDATAERR     (1u << 7)
#define CS_CDBGPWRUPREQ (1u << 28)
#define CS_CDBGPWRUPACK (1u << 29)
#define CS_CSYSPWRUPREQ (1u << 30)
#define CS_CSYSPWRUPACK (1u << 31)

/* Timing constants (see the model above). */
#define FS_FRAME_NS         1000000ull
#define FS_PACKET           64u
#define FS_PACKETS_PER_SLOT 19u
#define HS_UFRAME_NS        125000ull
#define HS_PACKET           512u
#define HS_PACKETS_PER_SLOT 13u
#define SWD_XFER_CLOCKS     48u        /* 46-clock transaction + 2 idle */
#define SWD_ENTER_CLOCKS    116u       /* line reset, JTAG-to-SWD, line reset */
#define NRST_PULSE_NS       1000000ull /* [U] width of DRIVE_NRST pulse */

/* Firmware identity: V2J37S7 (ST-LINK/V2; the sheet's example bytes 29 47),
 * V2J37M26 (ST-LINK/V2-1: the MSD version sits in the low six bits, which
 * O12 decodes as JxMy because y is not a SWIM-only value), V3J7S1 (STLINK-V3:
 * the st-flash log in stlink issue #1138 shows PID 0x374F, J7, S1); the V3's
 * M3 and B3 are [U]. */
#define V2_JTAG   37u
#define V2_SWIM   7u
#define V21_MSD   26u
#define V3_JTAG   7u
#define V3_SWIM   1u
#define V3_MSD    3u
#define V3_BRIDGE 3u

/* Target voltage: the probe's ADC reads the 1.2 V reference ("factor") and
 * half the target supply; host computes mV = 2400 * reading / factor (S17
 * _stlink_usb_target_voltage; O12 stlink_usb_check_voltage: 2 * reading *
 * 1.2 / factor). S17 1.7.0 divides by factor unchecked, so it is never 0.
 * 1600 makes 3300 mV come out exact in both tools [U: real ~1490-1650]. */
#define VOLT_FACTOR 1600u

/* Transfer limits: O12 STLINK_MAX_RW8 (64) / STLINKV3_MAX_RW8 (512) for
 * 8-bit accesses; STLINK_DATA_SIZE (6144) is the firmware's buffer, the
 * longest 16/32-bit read either host sends (S17 reads <= 0x1800). Writes
 * may use the whole u16: st-flash writes 16-32 KiB in one WRITEMEM_32BIT
 * on F2/F4/F7/L4 (S17 stlink_flashloader_write). */
#define RW8_MAX_FS  64u
#define RW8_MAX_HS  512u
#define READ_MAX_V2 6144u

/* AHB-AP identification (ARM DDI0337 / DDI0432 AHB-AP IDR values). */
#define AHBAP_IDR_M3   0x24770011u
#define AHBAP_IDR_M0P  0x04770031u
#define AHBAP_BASE     0xE00FF003u
#define AHBAP_CSW_INIT 0x23000052u /* word size, single increment */

/* SWD clock divisor table (O12 stlink_khz_to_speed_map_swd; S17 inc/stlink.h
 * STLINK_SWDCLK_*_DIVISOR). */
static const struct {
    uint16_t divisor;
    uint16_t khz;
} swd_div_table[] = {
    {0, 4000}, {1, 1800}, {2, 1200}, {3, 950},  {7, 480},  {15, 240},
    {31, 125}, {40, 100}, {79, 50},  {158, 25}, {265, 15}, {798, 5},
};

/* STLINK-V3 GET_COM_FREQ lists [U: as OpenOCD debug logs of V3J7 show]. */
static const uint32_t v3_swd_khz[] = {24000, 8000, 3300, 1000, 200, 50, 5};
static const uint32_t v3_jtag_khz[] = {21333, 16000, 12000, 8000, 6000, 4000, 2000, 1000, 512, 256};

struct stlink_probe {
    stlink_kind kind;
    char serial[STLINK_SERIAL_LEN + 1];
    sim_board *board;

    /* firmware state */
    uint8_t mode;
    bool wedged;
    bool wedge_out_taken; /* the one OUT a hung firmware's endpoint takes */
    bool hard_wedge;      /* hung so that only a power cycle restarts it */
    bool nrst_low;        /* the probe drives NRST low */
    uint32_t swd_khz, jtag_khz;
    bool trace_on;
    uint8_t rw_status; /* of the last memory command */
    uint32_t rw_fault_addr;

    /* the DAP as READ/WRITE_DAP_REG see it */
    uint32_t dp_ctrl; /* request bits and sticky flags of CTRL/STAT */
    uint32_t dp_select;
    uint32_t ap_csw, ap_tar;
    uint32_t dp_rdbuff;

    /* the command in progress */
    uint8_t cmd[STLINK_CMD_SIZE];
    size_t data_len, data_got;
    uint8_t *data;

    /* the reply */
    uint8_t *reply;
    size_t reply_len, reply_off;
    bool reply_pending;

    /* faults */
    stlink_loader_fail loader_mode;
    unsigned loader_runs, loader_fails, alt_sessions;
    bool session_failing; /* ALTERNATE: this debug session's loaders fail */

    /* cost of the command in progress, then of the last one */
    uint64_t swd_clocks;
    uint64_t cost_ns;
};

/* ---- little helpers ------------------------------------------------------- */

static uint16_t get16(const uint8_t *b)
{
    return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t get32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

/* Start a reply of n bytes, zero-filled. n never exceeds REPLY_MAX. */
static uint8_t *reply(stlink_probe *p, size_t n)
{
    if (n > REPLY_MAX)
        n = REPLY_MAX;
    memset(p->reply, 0, n);
    p->reply_len = n;
    p->reply_off = 0;
    p->reply_pending = n > 0;
    return p->reply;
}

/* A 2-byte status reply (the second byte's meaning is unknown [U]: 0). */
static void reply_status(stlink_probe *p, uint8_t status)
{
    reply(p, 2)[0] = status;
}

static uint8_t idle_mode(stlink_kind kind)
{
    /* After plug-in a V2 sits in "DFU" mode (both hosts then send DFU_EXIT:
     * S17 stlink_open_usb, O12 stlink_usb_exit_mode; blackmagic PR #543:
     * "V2 devices after power on are in DFU mode"); probes with mass storage
     * report MASS (stlink issue #1138 log: V3 "current mode: mass"). */
    return kind == STLINK_V2 ? STLINK_DEV_DFU_MODE : STLINK_DEV_MASS_MODE;
}

static bool is_v3(const stlink_probe *p)
{
    return p->kind == STLINK_V3;
}

static void swd_xfers(stlink_probe *p, uint64_t n)
{
    p->swd_clocks += n * SWD_XFER_CLOCKS;
}

/* Let ns pass on the board. sim_board_advance() returns early when the core
 * halts; the probe's time goes on regardless, so ask again (a few times at
 * most: a sim_board_interrupt() makes it return without progress). */
static void board_pass(sim_board *b, uint64_t ns)
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

/* ---- target access, mapped to ST-LINK status codes ------------------------ */

/* How a board error reads as an ST-LINK status. A faulted AHB access is an
 * AP FAULT (what O12's comment on STLINK_SWD_AP_FAULT describes for reads
 * outside RAM); a DP that does not answer at all (no power, pins taken) is
 * a DP error [U: which of 0x15/0x16 real firmware reports; O12 fails on
 * both]; a register access on a running core is a plain FAULT. */
static uint8_t status_of(sim_err e)
{
    switch (e) {
    case SIM_OK:
        return STLINK_DEBUG_ERR_OK;
    case SIM_E_BUS:
        return STLINK_SWD_AP_FAULT;
    case SIM_E_NO_POWER:
    case SIM_E_NO_LINK:
        return STLINK_SWD_DP_ERROR;
    default:
        return STLINK_DEBUG_ERR_FAULT;
    }
}

static bool in_debug(const stlink_probe *p)
{
    return p->mode == STLINK_DEV_DEBUG_MODE;
}

/* Does the DP answer? Reads CPUID, which has no side effects (DHCSR would
 * clear its sticky S_RESET_ST). */
static sim_err link_check(stlink_probe *p)
{
    if (!p->board)
        return SIM_E_NO_POWER; /* nothing on the cable: no ACK, as unpowered */
    uint32_t v = 0;
    sim_err e = sim_board_read32(p->board, REG_CPUID, &v);
    return e == SIM_E_BUS ? SIM_OK : e;
}

static bool pc_in_sram(sim_board *b)
{
    uint32_t pc = 0;
    if (sim_board_reg_read(b, 15, &pc) != SIM_OK)
        return false;
    const sim_chip *c = sim_board_chip(b);
    uint64_t total = (uint64_t)c->sram_size + c->sram2_size;
    if (pc >= c->sram_base && pc - c->sram_base < total)
        return true;
    return c->sram2_size && pc >= c->sram2_base && pc - c->sram2_base < c->sram2_size;
}

static bool loader_should_fail(stlink_probe *p)
{
    switch (p->loader_mode) {
    case LOADER_FAIL_NONE:
        return false;
    case LOADER_FAIL_ONCE:
        p->loader_mode = LOADER_FAIL_NONE;
        return true;
    case LOADER_FAIL_ALTERNATE:
        return p->session_failing;
    case LOADER_FAIL_ALWAYS:
        return true;
    }
    return false;
}

/*
 * A write of v to DHCSR. If it lets a halted core whose PC is in SRAM run,
 * it starts a flash loader (S17 stlink_flash_loader_run: WREG R0-R3, PC,
 * then stlink_run(RUN_FLASH_LOADER) = DHCSR A05F0009; O12's algorithms the
 * same way through DHCSR). An injected failure makes the core take a bus
 * fault before its first block completes: advancing 1 ns lets the board
 * deliver it at the next block boundary, so not even a short loader reaches
 * its BKPT.
 */
static sim_err write_dhcsr(stlink_probe *p, uint32_t v)
{
    sim_board *b = p->board;
    bool lets_run = (v & 0xFFFF0000u) == DHCSR_KEY && (v & C_DEBUGEN) && !(v & (C_HALT | C_STEP));
    bool loader = lets_run && sim_board_halted(b) && pc_in_sram(b);
    sim_err e = sim_board_write32(b, REG_DHCSR, v);
    if (e != SIM_OK || !loader)
        return e;
    p->loader_runs++;
    if (loader_should_fail(p)) {
        p->loader_fails++;
        if (!sim_board_halted(b) && !sim_board_locked_up(b)) {
            sim_board_fault_now(b);
            sim_board_advance(b, 1);
        }
    }
    return e;
}

/* Memory write through the AHB-AP; a 32-bit write covering DHCSR goes
 * through write_dhcsr so that loader runs are seen however the host writes
 * it (O12 resumes with a 4-byte WRITEMEM_32BIT or WRITEDEBUGREG). */
static sim_err mem_write(stlink_probe *p, uint32_t addr, const uint8_t *buf, size_t len,
                         unsigned width, uint32_t *fault)
{
    sim_board *b = p->board;
    uint64_t end = (uint64_t)addr + len;
    if (width == 4 && addr <= REG_DHCSR && (uint64_t)REG_DHCSR + 4 <= end && !(addr & 3)) {
        size_t off = REG_DHCSR - addr;
        sim_err e = off ? sim_board_mem_write(b, addr, buf, off, 4, fault) : SIM_OK;
        if (e)
            return e;
        e = write_dhcsr(p, get32(buf + off));
        if (e) {
            *fault = REG_DHCSR;
            return e;
        }
        if (len > off + 4)
            return sim_board_mem_write(b, REG_DHCSR + 4, buf + off + 4, len - off - 4, 4, fault);
        return SIM_OK;
    }
    return sim_board_mem_write(b, addr, buf, len, width, fault);
}

static sim_err write_word(stlink_probe *p, uint32_t addr, uint32_t v)
{
    uint8_t buf[4];
    uint32_t fault = 0;
    put32(buf, v);
    return mem_write(p, addr, buf, 4, 4, &fault);
}

/* One 32-bit debug-register read or write (READ/WRITEDEBUGREG). */
static uint8_t debugreg_read(stlink_probe *p, uint32_t addr, uint32_t *v)
{
    *v = 0;
    if (!in_debug(p))
        return STLINK_DEBUG_ERR_FAULT;
    if (!p->board)
        return STLINK_SWD_DP_ERROR;
    swd_xfers(p, 4); /* CSW, TAR, DRW, RDBUFF */
    return status_of(sim_board_read32(p->board, addr, v));
}

static uint8_t debugreg_write(stlink_probe *p, uint32_t addr, uint32_t v)
{
    if (!in_debug(p))
        return STLINK_DEBUG_ERR_FAULT;
    if (!p->board)
        return STLINK_SWD_DP_ERROR;
    swd_xfers(p, 3); /* CSW, TAR, DRW */
    return status_of(write_word(p, addr, v));
}

static uint8_t core_reg_read(stlink_probe *p, unsigned regsel, uint32_t *v)
{
    *v = 0;
    if (!in_debug(p))
        return STLINK_DEBUG_ERR_FAULT;
    if (!p->board)
        return STLINK_SWD_DP_ERROR;
    swd_xfers(p, 11); /* DCRSR write, DHCSR.S_REGRDY read, DCRDR read */
    sim_err e = sim_board_reg_read(p->board, regsel, v);
    if (e)
        *v = 0;
    return status_of(e);
}

static uint8_t core_reg_write(stlink_probe *p, unsigned regsel, uint32_t v)
{
    if (!in_debug(p))
        return STLINK_DEBUG_ERR_FAULT;
    if (!p->board)
        return STLINK_SWD_DP_ERROR;
    swd_xfers(p, 10); /* DCRDR write, DCRSR write, DHCSR.S_REGRDY read */
    return status_of(sim_board_reg_write(p->board, regsel, v));
}

/* ---- memory commands ------------------------------------------------------ */

static unsigned rw8_max(const stlink_probe *p)
{
    /* O12 stlink_usb_block: 512 from V3J6 on, else 64. */
    return is_v3(p) ? RW8_MAX_HS : RW8_MAX_FS;
}

static unsigned read_max(const stlink_probe *p, unsigned width)
{
    if (width == 1)
        return rw8_max(p);
    return is_v3(p) ? DATA_MAX : READ_MAX_V2;
}

/* Check a memory command's parameters; returns the status to report, OK if
 * the access may go ahead. */
static uint8_t mem_check(const stlink_probe *p, uint32_t addr, size_t n, uint8_t ap, unsigned width,
                         size_t max)
{
    if (!in_debug(p))
        return STLINK_DEBUG_ERR_FAULT;
    if (ap != 0)
        return STLINK_BAD_AP_ERROR; /* a single AHB-AP (AP 0) on every STM32 here */
    if (n > max)
        return STLINK_DEBUG_ERR_FAULT;
    if (width > 1 && ((addr % width) || (n % width)))
        return STLINK_DEBUG_ERR_FAULT; /* O12 never sends these (ERROR_TARGET_UNALIGNED_ACCESS) */
    if (!p->board)
        return STLINK_SWD_DP_ERROR;
    return STLINK_DEBUG_ERR_OK;
}

static void rw_result(stlink_probe *p, uint8_t status, uint32_t fault)
{
    p->rw_status = status;
    p->rw_fault_addr = status == STLINK_DEBUG_ERR_OK ? 0 : fault;
    if (status == STLINK_SWD_AP_FAULT)
        p->dp_ctrl |= CS_STICKYERR;
}

/* Bus transactions a block access of `accesses` items over `bytes` costs. */
static uint64_t block_xfers(uint64_t accesses, uint64_t bytes, bool read)
{
    uint64_t tar_reloads = bytes ? (bytes - 1) / 1024 : 0;
    return 2 + accesses + tar_reloads + (read ? 1 : 0);
}

/* READMEM_8/16/32BIT and READMEM_32BIT_NO_ADDR_INC: n data bytes, no status
 * (S17 _stlink_usb_read_mem32; O12 stlink_usb_read_mem8/16/32). The status
 * goes to GETLASTRWSTATUS(2). */
static void cmd_read_mem(stlink_probe *p, unsigned width, bool inc)
{
    uint32_t addr = get32(p->cmd + 2);
    uint16_t n = get16(p->cmd + 6);
    uint8_t ap = p->cmd[8];
    /* O12 stlink_usb_read_mem8 asks for 2 bytes when it reads one ("we need
     * to fix read length for single bytes"): the firmware sends two. */
    size_t rlen = (width == 1 && n == 1) ? 2 : n;
    uint8_t *out = reply(p, rlen);
    p->dp_ctrl &= ~CS_STICKYERR; /* the firmware clears sticky flags itself */
    uint8_t st = mem_check(p, addr, n, ap, width, read_max(p, width));
    if (st != STLINK_DEBUG_ERR_OK || n == 0) {
        rw_result(p, st, addr);
        return;
    }
    uint32_t fault = addr;
    sim_err e = SIM_OK;
    if (inc) {
        e = sim_board_mem_read(p->board, addr, out, n, width, &fault);
    } else {
        for (size_t i = 0; i < n && e == SIM_OK; i += 4)
            e = sim_board_mem_read(p->board, addr, out + i, 4, 4, &fault);
    }
    uint64_t done = e == SIM_E_BUS ? (uint64_t)(fault - addr) / width + 1 : n / width;
    swd_xfers(p, block_xfers(done, n, true));
    if (e != SIM_OK && e != SIM_E_BUS)
        memset(out, 0, rlen);
    rw_result(p, status_of(e), fault);
}

/* WRITEMEM_*: the data phase has arrived in p->data. No reply (S17
 * _stlink_usb_write_mem32 reads nothing back; O12 then asks for the status). */
static void cmd_write_mem(stlink_probe *p, unsigned width, bool inc)
{
    uint32_t addr = get32(p->cmd + 2);
    uint16_t n = get16(p->cmd + 6);
    uint8_t ap = p->cmd[8];
    p->dp_ctrl &= ~CS_STICKYERR;
    uint8_t st = mem_check(p, addr, n, ap, width, width == 1 ? rw8_max(p) : DATA_MAX);
    if (st != STLINK_DEBUG_ERR_OK || n == 0) {
        rw_result(p, st, addr);
        return;
    }
    uint32_t fault = addr;
    sim_err e = SIM_OK;
    if (inc) {
        e = mem_write(p, addr, p->data, n, width, &fault);
    } else {
        for (size_t i = 0; i < n && e == SIM_OK; i += 4)
            e = mem_write(p, addr, p->data + i, 4, 4, &fault);
    }
    uint64_t done = e == SIM_E_BUS ? (uint64_t)(fault - addr) / width + 1 : n / width;
    swd_xfers(p, block_xfers(done, n, false));
    rw_result(p, status_of(e), fault);
}

/* ---- DAP register access (READ/WRITE_DAP_REG, O12 dapdirect driver) ------ */

static uint32_t ap_idr(const stlink_probe *p)
{
    return sim_board_chip(p->board)->armv6m ? AHBAP_IDR_M0P : AHBAP_IDR_M3;
}

static uint32_t dp_ctrl_stat(const stlink_probe *p)
{
    uint32_t v = p->dp_ctrl;
    if (v & CS_CDBGPWRUPREQ)
        v |= CS_CDBGPWRUPACK;
    if (v & CS_CSYSPWRUPREQ)
        v |= CS_CSYSPWRUPACK;
    return v;
}

/* An AP data access at TAR with CSW's size, then TAR auto-increment within
 * its 1 KiB window (ADIv5.2 C2.2.2). Data sits on the byte lanes of TAR. */
static uint8_t ap_drw(stlink_probe *p, uint32_t addr, bool write, uint32_t *v, bool inc)
{
    unsigned size = p->ap_csw & 7;
    unsigned width = size == 0 ? 1 : size == 1 ? 2 : 4;
    uint32_t a = width == 4 ? addr & ~3u : addr & ~(uint32_t)(width - 1);
    unsigned shift = 8 * (a & 3);
    uint8_t buf[4] = {0};
    uint32_t fault = 0;
    sim_err e;
    if (write) {
        uint32_t lane = *v >> shift;
        put32(buf, lane);
        e = mem_write(p, a, buf, width, width, &fault);
    } else {
        e = sim_board_mem_read(p->board, a, buf, width, width, &fault);
        *v = e == SIM_OK ? get32(buf) << shift : 0;
    }
    if (e == SIM_E_BUS)
        p->dp_ctrl |= CS_STICKYERR;
    if (inc && ((p->ap_csw >> 4) & 3) == 1)
        p->ap_tar = (p->ap_tar & ~0x3FFu) | ((p->ap_tar + width) & 0x3FFu);
    return status_of(e);
}

static uint8_t dap_access(stlink_probe *p, uint16_t port, uint16_t reg, bool write, uint32_t *v)
{
    if (!in_debug(p))
        return STLINK_DEBUG_ERR_FAULT;
    sim_err link = link_check(p);
    if (link != SIM_OK)
        return status_of(link);
    swd_xfers(p, write ? 1 : 2);
    if (port == STLINK_DEBUG_PORT_ACCESS) {
        switch (reg & 0xF) {
        case 0x0: /* IDCODE / ABORT */
            if (!write) {
                *v = sim_board_dp_idcode(p->board);
            } else {
                if (*v & (1u << 1))
                    p->dp_ctrl &= ~CS_STICKYCMP;
                if (*v & (1u << 2))
                    p->dp_ctrl &= ~CS_STICKYERR;
                if (*v & (1u << 3))
                    p->dp_ctrl &= ~CS_WDATAERR;
                if (*v & (1u << 4))
                    p->dp_ctrl &= ~CS_STICKYORUN;
            }
            return STLINK_DEBUG_ERR_OK;
        case 0x4: /* CTRL/STAT */
            if (write)
                p->dp_ctrl =
                    (p->dp_ctrl & (CS_STICKYERR | CS_STICKYCMP | CS_WDATAERR | CS_STICKYORUN)) |
                    (*v & (CS_CDBGPWRUPREQ | CS_CSYSPWRUPREQ | CS_ORUNDETECT));
            else
                *v = dp_ctrl_stat(p);
            return STLINK_DEBUG_ERR_OK;
        case 0x8: /* SELECT / RESEND */
            if (write)
                p->dp_select = *v;
            else
                *v = p->dp_rdbuff;
            return STLINK_DEBUG_ERR_OK;
        default: /* RDBUFF */
            if (!write)
                *v = p->dp_rdbuff;
            return STLINK_DEBUG_ERR_OK;
        }
    }
    if (port != 0)
        return STLINK_BAD_AP_ERROR;
    if (p->dp_ctrl & CS_STICKYERR)
        return STLINK_SWD_AP_STICKY_ERROR; /* until ABORT.STKERRCLR */
    uint8_t st = STLINK_DEBUG_ERR_OK;
    switch (reg & 0xFC) {
    case 0x00:
        if (write)
            p->ap_csw = (*v & 0x00FFFF7Fu) | (AHBAP_CSW_INIT & 0xFF000000u);
        else
            *v = p->ap_csw | (1u << 6); /* DeviceEn */
        break;
    case 0x04:
        if (write)
            p->ap_tar = *v;
        else
            *v = p->ap_tar;
        break;
    case 0x0C:
        st = ap_drw(p, p->ap_tar, write, v, true);
        break;
    case 0x10:
    case 0x14:
    case 0x18:
    case 0x1C: { /* banked data: word at TAR[31:4] + offset */
        uint32_t saved = p->ap_csw;
        p->ap_csw = (p->ap_csw & ~7u) | 2u;
        st = ap_drw(p, (p->ap_tar & ~0xFu) | (reg & 0xCu), write, v, false);
        p->ap_csw = saved;
        break;
    }
    case 0xF8:
        if (!write)
            *v = AHBAP_BASE;
        break;
    case 0xFC:
        if (!write)
            *v = ap_idr(p);
        break;
    default:
        if (!write)
            *v = 0;
        break;
    }
    if (!write)
        p->dp_rdbuff = *v;
    return st;
}

/* ---- the command set -------------------------------------------------------- */

static uint16_t version_word(const stlink_probe *p)
{
    /* GET_VERSION bytes 0-1 big-endian: V[15:12] J[11:6] S-or-MSD[5:0]
     * (S17 _parse_version; O12 stlink_usb_version). A V3 answers V3 J0 S0
     * here, which is what makes O12 send GET_VERSION_EX. */
    switch (p->kind) {
    case STLINK_V2:
        return (uint16_t)(2u << 12 | V2_JTAG << 6 | V2_SWIM);
    case STLINK_V2_1:
        return (uint16_t)(2u << 12 | V2_JTAG << 6 | V21_MSD);
    case STLINK_V3:
        return (uint16_t)(3u << 12);
    }
    return 0;
}

static void cmd_get_version(stlink_probe *p)
{
    uint8_t *r = reply(p, 6);
    uint16_t v = version_word(p);
    r[0] = (uint8_t)(v >> 8);
    r[1] = (uint8_t)v;
    put16(r + 2, STLINK_VID);
    put16(r + 4, stlink_probe_pid(p));
}

static void cmd_get_version_ex(stlink_probe *p)
{
    if (!is_v3(p)) {
        reply_status(p, STLINK_DEBUG_ERR_FAULT); /* V2 firmware has no such command */
        return;
    }
    /* O12 stlink_usb_version / S17 _parse_version: [0] V, [1] SWIM, [2] JTAG,
     * [3] MSD, [4] bridge, [8-9] VID, [10-11] PID; [5-7] unknown [U]: 0. */
    uint8_t *r = reply(p, 12);
    r[0] = 3;
    r[1] = V3_SWIM;
    r[2] = V3_JTAG;
    r[3] = V3_MSD;
    r[4] = V3_BRIDGE;
    put16(r + 8, STLINK_VID);
    put16(r + 10, stlink_probe_pid(p));
}

static void cmd_voltage(stlink_probe *p)
{
    unsigned mv = p->board ? sim_board_voltage_mv(p->board) : 0;
    uint8_t *r = reply(p, 8);
    put32(r, VOLT_FACTOR);
    put32(r + 4, (uint32_t)(((uint64_t)mv * VOLT_FACTOR + 1200) / 2400));
}

static void cmd_enter(stlink_probe *p)
{
    uint8_t how = p->cmd[2];
    bool v1 = p->cmd[1] == STLINK_DEBUG_APIV1_ENTER;
    if (how != STLINK_DEBUG_ENTER_SWD_NO_RESET && how != STLINK_DEBUG_ENTER_JTAG_NO_RESET &&
        how != STLINK_DEBUG_ENTER_JTAG_RESET) {
        if (!v1)
            reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
    /* The probe switches to debug mode whether or not a target answers; the
     * status says whether the DP did (no target: O12 logs "init mode failed
     * (unable to connect to the target)", which is ENTER failing). */
    if (p->mode != STLINK_DEV_DEBUG_MODE) {
        /* A new debug session. The field reports (#607, #356) fail every
         * other *invocation* of st-flash, each of which runs the loader once
         * per page: so ALTERNATE makes every loader run of every other
         * session fail, until the host leaves debug mode or resets the
         * probe, which is what replugging did for users. */
        p->session_failing = (p->alt_sessions++ % 2) == 0;
    }
    p->mode = STLINK_DEV_DEBUG_MODE;
    p->swd_clocks += SWD_ENTER_CLOCKS;
    swd_xfers(p, 3); /* IDCODE, CTRL/STAT power-up request, power-up poll */
    sim_err e = link_check(p);
    if (e == SIM_OK)
        p->dp_ctrl |= CS_CDBGPWRUPREQ | CS_CSYSPWRUPREQ;
    if (!v1) /* API v1 ENTER has no reply (S17 _stlink_usb_enter_swd_mode) */
        reply_status(p, status_of(e));
}

static void cmd_read_idcodes(stlink_probe *p)
{
    /* S17 _stlink_usb_core_id: 12 bytes, IDCODE at offset 4; O12
     * stlink_usb_idcode checks the status. Bytes 8-11 unknown [U]: 0. */
    uint8_t *r = reply(p, 12);
    if (!in_debug(p)) {
        r[0] = STLINK_DEBUG_ERR_FAULT;
        return;
    }
    swd_xfers(p, 1);
    sim_err e = link_check(p);
    r[0] = status_of(e);
    if (e == SIM_OK)
        put32(r + 4, sim_board_dp_idcode(p->board));
}

static void cmd_read_coreid_v1(stlink_probe *p)
{
    uint8_t *r = reply(p, 4);
    if (in_debug(p) && link_check(p) == SIM_OK) {
        swd_xfers(p, 1);
        put32(r, sim_board_dp_idcode(p->board));
    }
}

static void cmd_drive_nrst(stlink_probe *p)
{
    uint8_t how = p->cmd[2];
    if (how > STLINK_NRST_PULSE) {
        reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
    /* The probe drives its pin in any mode: both hosts assert NRST before
     * ENTER when connecting under reset (S17 stlink_target_connect; O12
     * stlink_usb_init_mode). */
    sim_board *b = p->board;
    if (how == STLINK_NRST_LOW || how == STLINK_NRST_PULSE) {
        p->nrst_low = true;
        if (b)
            sim_board_nrst(b, true);
    }
    if (how == STLINK_NRST_PULSE)
        board_pass(b, NRST_PULSE_NS);
    if (how == STLINK_NRST_HIGH || how == STLINK_NRST_PULSE) {
        p->nrst_low = false;
        if (b)
            sim_board_nrst(b, false);
    }
    reply_status(p, STLINK_DEBUG_ERR_OK);
}

static uint32_t divisor_khz(uint16_t div)
{
    for (size_t i = 0; i < sizeof swd_div_table / sizeof swd_div_table[0]; i++)
        if (swd_div_table[i].divisor == div)
            return swd_div_table[i].khz;
    /* Between table entries the clock is close to 4 MHz / (divisor + 1). */
    uint32_t khz = 4000u / ((uint32_t)div + 1u);
    return khz ? khz : 1;
}

static void cmd_swd_set_freq(stlink_probe *p)
{
    /* V2 from J22 (O12 STLINK_F_HAS_SWD_SET_FREQ; S17 _stlink_usb_set_swdclk
     * only for stlink_v == 2). STLINK-V3 uses SET_COM_FREQ instead. */
    if (is_v3(p)) {
        reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
    p->swd_khz = divisor_khz(get16(p->cmd + 2));
    reply_status(p, STLINK_DEBUG_ERR_OK);
}

static void cmd_jtag_set_freq(stlink_probe *p)
{
    if (is_v3(p)) {
        reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
    /* O12 stlink_khz_to_speed_map_jtag: kHz = 36000 / divisor. */
    uint16_t div = get16(p->cmd + 2);
    p->jtag_khz = div ? 36000u / div : 9000u;
    reply_status(p, STLINK_DEBUG_ERR_OK);
}

static void cmd_get_com_freq(stlink_probe *p)
{
    if (!is_v3(p)) {
        reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
    /* 52 bytes: status, [8] count, kHz list from [12] (O12 stlink_get_com_
     * freq; S17 _stlink_usb_set_swdclk). */
    bool jtag = p->cmd[2] != 0;
    const uint32_t *list = jtag ? v3_jtag_khz : v3_swd_khz;
    size_t n = jtag ? sizeof v3_jtag_khz / sizeof v3_jtag_khz[0]
                    : sizeof v3_swd_khz / sizeof v3_swd_khz[0];
    uint8_t *r = reply(p, 52);
    r[0] = STLINK_DEBUG_ERR_OK;
    r[8] = (uint8_t)n;
    for (size_t i = 0; i < n; i++)
        put32(r + 12 + 4 * i, list[i]);
}

static void cmd_set_com_freq(stlink_probe *p)
{
    if (!is_v3(p)) {
        reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
    bool jtag = p->cmd[2] != 0;
    uint32_t want = get32(p->cmd + 4);
    const uint32_t *list = jtag ? v3_jtag_khz : v3_swd_khz;
    size_t n = jtag ? sizeof v3_jtag_khz / sizeof v3_jtag_khz[0]
                    : sizeof v3_swd_khz / sizeof v3_swd_khz[0];
    /* The fastest supported clock not above the request, else the slowest. */
    uint32_t got = list[n - 1];
    for (size_t i = 0; i < n; i++)
        if (list[i] <= want) {
            got = list[i];
            break;
        }
    if (jtag)
        p->jtag_khz = got;
    else
        p->swd_khz = got;
    /* 8 bytes (O12 stlink_set_com_freq); [4-7] = the clock set [U]. */
    uint8_t *r = reply(p, 8);
    r[0] = STLINK_DEBUG_ERR_OK;
    put32(r + 4, got);
}

static void cmd_read_all_regs(stlink_probe *p, bool v1)
{
    /* r0-r15, xPSR, MSP, PSP, then the two words S17 calls rw and rw2
     * (its READREG 19 and 20): regsel order 0..20 (S17
     * _stlink_usb_read_all_regs). v1: 84 bytes; v2: status + 84. */
    size_t off = v1 ? 0 : 4;
    uint8_t *r = reply(p, off + 84);
    uint8_t st = STLINK_DEBUG_ERR_OK;
    for (unsigned i = 0; i <= 20; i++) {
        uint32_t v = 0;
        uint8_t s = core_reg_read(p, i, &v);
        if (i == 19 && s == STLINK_DEBUG_ERR_FAULT && in_debug(p))
            s = STLINK_DEBUG_ERR_OK; /* no such register on this core: reads 0 */
        if (s != STLINK_DEBUG_ERR_OK) {
            st = s;
            break;
        }
        put32(r + off + 4 * i, v);
    }
    if (st != STLINK_DEBUG_ERR_OK)
        memset(r, 0, off + 84);
    if (!v1)
        r[0] = st;
}

static void cmd_getstatus_v1(stlink_probe *p)
{
    bool halted = in_debug(p) && p->board && sim_board_halted(p->board);
    swd_xfers(p, 4);
    reply_status(p, halted ? STLINK_CORE_HALTED : STLINK_CORE_RUNNING);
}

static void cmd_lastrw(stlink_probe *p, bool v2)
{
    if (!v2) {
        reply_status(p, p->rw_status);
        return;
    }
    /* 12 bytes: status, then [U] the faulting address at 4. */
    uint8_t *r = reply(p, 12);
    r[0] = p->rw_status;
    put32(r + 4, p->rw_fault_addr);
}

static void cmd_trace(stlink_probe *p, uint8_t sub)
{
    switch (sub) {
    case STLINK_DEBUG_APIV2_START_TRACE_RX: {
        /* [2-3] buffer size, [4-7] SWO baud: up to 2 MHz on V2, 24 MHz on V3
         * (O12 STLINK_TRACE_MAX_HZ / STLINK_V3_TRACE_MAX_HZ). */
        uint32_t hz = get32(p->cmd + 4);
        uint32_t max = is_v3(p) ? 24000000u : 2000000u;
        bool ok = hz > 0 && hz <= max;
        p->trace_on = ok;
        reply_status(p, ok ? STLINK_DEBUG_ERR_OK : STLINK_DEBUG_ERR_FAULT);
        return;
    }
    case STLINK_DEBUG_APIV2_STOP_TRACE_RX:
        p->trace_on = false;
        reply_status(p, STLINK_DEBUG_ERR_OK);
        return;
    default: /* GET_TRACE_NB: u16 byte count; the board has no SWO: 0 */
        reply(p, 2);
        return;
    }
}

static void cmd_resetsys(stlink_probe *p)
{
    /* System reset through AIRCR.SYSRESETREQ (what stlink_soft_reset does by
     * hand); whether the core halts after it is DEMCR.VC_CORERESET's
     * business, as on silicon [U: real firmware's exact sequence]. */
    reply_status(p, debugreg_write(p, REG_AIRCR, AIRCR_SYSRESET));
}

static void cmd_v1_run(stlink_probe *p, uint32_t dhcsr)
{
    reply_status(p, debugreg_write(p, REG_DHCSR, DHCSR_KEY | dhcsr));
}

/* A write command: remember it and wait for its data phase. */
static bool starts_data_phase(const uint8_t *cmd, size_t *len)
{
    if (cmd[0] != STLINK_DEBUG_COMMAND)
        return false;
    switch (cmd[1]) {
    case STLINK_DEBUG_WRITEMEM_32BIT:
    case STLINK_DEBUG_WRITEMEM_8BIT:
    case STLINK_DEBUG_APIV2_WRITEMEM_16BIT:
    case STLINK_DEBUG_WRITEMEM_32BIT_NO_INC:
        *len = get16(cmd + 6);
        return true;
    default:
        return false;
    }
}

static void debug_command(stlink_probe *p)
{
    const uint8_t *c = p->cmd;
    uint32_t v = 0;
    uint8_t st;
    switch (c[1]) {
    case STLINK_DEBUG_GETSTATUS:
        cmd_getstatus_v1(p);
        return;
    case STLINK_DEBUG_FORCEDEBUG:
        cmd_v1_run(p, C_DEBUGEN | C_HALT);
        return;
    case STLINK_DEBUG_RUNCORE:
        cmd_v1_run(p, C_DEBUGEN);
        return;
    case STLINK_DEBUG_STEPCORE:
        cmd_v1_run(p, C_DEBUGEN | C_STEP | C_MASKINTS);
        return;
    case STLINK_DEBUG_APIV1_RESETSYS:
    case STLINK_DEBUG_APIV2_RESETSYS:
        cmd_resetsys(p);
        return;
    case STLINK_DEBUG_APIV1_READALLREGS:
        cmd_read_all_regs(p, true);
        return;
    case STLINK_DEBUG_APIV2_READALLREGS:
        cmd_read_all_regs(p, false);
        return;
    case STLINK_DEBUG_APIV1_READREG:
        core_reg_read(p, c[2], &v);
        put32(reply(p, 4), v);
        return;
    case STLINK_DEBUG_APIV2_READREG: {
        st = core_reg_read(p, c[2], &v);
        uint8_t *r = reply(p, 8);
        r[0] = st;
        put32(r + 4, v);
        return;
    }
    case STLINK_DEBUG_APIV1_WRITEREG:
    case STLINK_DEBUG_APIV2_WRITEREG:
        reply_status(p, core_reg_write(p, c[2], get32(c + 3)));
        return;
    case STLINK_DEBUG_READMEM_32BIT:
        cmd_read_mem(p, 4, true);
        return;
    case STLINK_DEBUG_READMEM_8BIT:
        cmd_read_mem(p, 1, true);
        return;
    case STLINK_DEBUG_APIV2_READMEM_16BIT:
        cmd_read_mem(p, 2, true);
        return;
    case STLINK_DEBUG_READMEM_32BIT_NO_INC:
        cmd_read_mem(p, 4, false);
        return;
    case STLINK_DEBUG_WRITEMEM_32BIT:
        cmd_write_mem(p, 4, true);
        return;
    case STLINK_DEBUG_WRITEMEM_8BIT:
        cmd_write_mem(p, 1, true);
        return;
    case STLINK_DEBUG_APIV2_WRITEMEM_16BIT:
        cmd_write_mem(p, 2, true);
        return;
    case STLINK_DEBUG_WRITEMEM_32BIT_NO_INC:
        cmd_write_mem(p, 4, false);
        return;
    case STLINK_DEBUG_APIV1_WRITEDEBUGREG:
    case STLINK_DEBUG_APIV2_WRITEDEBUGREG:
        reply_status(p, debugreg_write(p, get32(c + 2), get32(c + 6)));
        return;
    case STLINK_DEBUG_APIV2_READDEBUGREG: {
        st = debugreg_read(p, get32(c + 2), &v);
        uint8_t *r = reply(p, 8);
        r[0] = st;
        put32(r + 4, v);
        return;
    }
    case STLINK_DEBUG_APIV1_ENTER:
    case STLINK_DEBUG_APIV2_ENTER:
        cmd_enter(p);
        return;
    case STLINK_DEBUG_EXIT:
        /* No reply (S17 _stlink_usb_exit_debug_mode send_only; O12
         * stlink_usb_mode_leave). The target keeps its state. STLINK-V3
         * firmware hangs when told to leave a debug mode it is not in (the
         * reason O12 only sends EXIT from debug mode): model it as a wedge
         * that only a USB reset clears. */
        if (p->kind == STLINK_V3 && p->mode != STLINK_DEV_DEBUG_MODE) {
            stlink_probe_wedge(p);
            p->wedge_out_taken = true; /* this EXIT was the OUT that hung it */
            return;
        }
        p->mode = STLINK_DEV_MASS_MODE;
        return;
    case STLINK_DEBUG_READCOREID:
        cmd_read_coreid_v1(p);
        return;
    case STLINK_DEBUG_APIV2_READ_IDCODES:
        cmd_read_idcodes(p);
        return;
    case STLINK_DEBUG_APIV2_GETLASTRWSTATUS:
        cmd_lastrw(p, false);
        return;
    case STLINK_DEBUG_APIV2_GETLASTRWSTATUS2:
        cmd_lastrw(p, true);
        return;
    case STLINK_DEBUG_APIV2_DRIVE_NRST:
        cmd_drive_nrst(p);
        return;
    case STLINK_DEBUG_APIV2_START_TRACE_RX:
    case STLINK_DEBUG_APIV2_STOP_TRACE_RX:
    case STLINK_DEBUG_APIV2_GET_TRACE_NB:
        cmd_trace(p, c[1]);
        return;
    case STLINK_DEBUG_APIV2_SWD_SET_FREQ:
        cmd_swd_set_freq(p);
        return;
    case STLINK_DEBUG_APIV2_JTAG_SET_FREQ:
        cmd_jtag_set_freq(p);
        return;
    case STLINK_DEBUG_APIV2_READ_DAP_REG: {
        st = dap_access(p, get16(c + 2), get16(c + 4), false, &v);
        uint8_t *r = reply(p, 8);
        r[0] = st;
        put32(r + 4, st == STLINK_DEBUG_ERR_OK ? v : 0);
        return;
    }
    case STLINK_DEBUG_APIV2_WRITE_DAP_REG:
        v = get32(c + 6);
        reply_status(p, dap_access(p, get16(c + 2), get16(c + 4), true, &v));
        return;
    case STLINK_DEBUG_APIV2_INIT_AP:
    case STLINK_DEBUG_APIV2_CLOSE_AP_DBG:
        /* O12 stlink_usb_init_access_port / close_access_port: AP 0 only. */
        if (!in_debug(p))
            st = STLINK_DEBUG_ERR_FAULT;
        else
            st = c[2] == 0 ? STLINK_DEBUG_ERR_OK : STLINK_BAD_AP_ERROR;
        reply_status(p, st);
        return;
    case STLINK_APIV3_SET_COM_FREQ:
        cmd_set_com_freq(p);
        return;
    case STLINK_APIV3_GET_COM_FREQ:
        cmd_get_com_freq(p);
        return;
    default:
        reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
}

static void dispatch(stlink_probe *p)
{
    const uint8_t *c = p->cmd;
    switch (c[0]) {
    case STLINK_GET_VERSION:
        cmd_get_version(p);
        return;
    case STLINK_APIV3_GET_VERSION_EX:
        cmd_get_version_ex(p);
        return;
    case STLINK_GET_CURRENT_MODE:
        reply(p, 2)[0] = p->mode; /* byte 1 unknown [U]: 0 */
        return;
    case STLINK_GET_TARGET_VOLTAGE:
        cmd_voltage(p);
        return;
    case STLINK_DFU_COMMAND:
        if (c[1] == STLINK_DFU_EXIT) {
            /* No reply (S17 _stlink_usb_exit_dfu_mode send_only). */
            if (p->mode == STLINK_DEV_DFU_MODE)
                p->mode = STLINK_DEV_MASS_MODE;
            return;
        }
        reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    case STLINK_SWIM_COMMAND:
        if (c[1] == STLINK_SWIM_EXIT) {
            /* No reply (O12 stlink_usb_mode_leave). */
            if (p->mode == STLINK_DEV_SWIM_MODE)
                p->mode = STLINK_DEV_MASS_MODE;
            return;
        }
        reply_status(p, STLINK_DEBUG_ERR_FAULT); /* no SWIM target here */
        return;
    case STLINK_DEBUG_COMMAND:
        debug_command(p);
        return;
    default:
        reply_status(p, STLINK_DEBUG_ERR_FAULT);
        return;
    }
}

/* ---- cost ------------------------------------------------------------------ */

static uint64_t packets(size_t bytes, unsigned mps)
{
    return ((uint64_t)bytes + mps - 1) / mps;
}

static uint64_t usb_ns(const stlink_probe *p, size_t out_bytes, size_t in_bytes)
{
    bool hs = is_v3(p);
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
    dispatch(p);
    uint64_t spent = b ? sim_board_now_ns(b) - t0 : 0; /* stalls, reset pulse */
    uint64_t own = usb_ns(p, STLINK_CMD_SIZE + p->data_len, p->reply_len) + swd_ns(p);
    board_pass(b, own);
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
    p->swd_khz = is_v3(p) ? 1000u : 1800u;
    p->jtag_khz = is_v3(p) ? 8000u : 1125u;
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
    return is_v3(p) ? HS_PACKET : FS_PACKET;
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
    bool has_data = starts_data_phase(data, &dlen);
    if (len > STLINK_CMD_SIZE && (!has_data || len - STLINK_CMD_SIZE > dlen))
        return -1;
    /* A new command: whatever the host did not read of the last reply is
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
    board_pass(p->board, ns);
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
