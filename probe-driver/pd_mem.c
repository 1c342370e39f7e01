/*
 * probe-driver: target access. Memory in the largest chunks each probe
 * takes, with the last-R/W status after every memory command; debug and core
 * registers; halt/run/step; system reset; NRST; connect under reset.
 *
 * Sources (the public projects each fact was read from):
 *   S17 = stlink-org/stlink v1.7.0: src/stlink-lib/usb.c
 *         (_stlink_usb_read_mem32, _stlink_usb_write_mem32/8,
 *         _stlink_usb_read_debug32, ...), src/common.c (stlink_reset,
 *         stlink_soft_reset)
 *   O12 = openocd-org/openocd v0.12.0: src/jtag/drivers/stlink_usb.c
 *         (stlink_usb_read_mem8/16/32, stlink_usb_get_rw_status,
 *         stlink_usb_block, stlink_usb_assert_srst), src/target/cortex_m.c
 *   ARMv7-M ARM C1.6 (DHCSR, DEMCR, AIRCR).
 */
#include "pd_internal.h"

#include <string.h>

#define CMD_DEBUG 0xF2

#define DBG_READMEM_32     0x07
#define DBG_WRITEMEM_32    0x08
#define DBG_READMEM_8      0x0C
#define DBG_WRITEMEM_8     0x0D
#define DBG_READREG        0x33
#define DBG_WRITEREG       0x34
#define DBG_WRITEDEBUGREG  0x35
#define DBG_READDEBUGREG   0x36
#define DBG_LASTRW_STATUS  0x3B
#define DBG_DRIVE_NRST     0x3C
#define DBG_LASTRW_STATUS2 0x3E
#define DBG_READMEM_16     0x47
#define DBG_WRITEMEM_16    0x48
#define DBG_INIT_AP        0x4B /* O12 STLINK_DEBUG_APIV2_INIT_AP */

/* ARMv7-M C1.6 / ARMv8-M D1.2: the core's debug registers in the PPB. */
#define PD_DCRSR     0xE000EDF4u
#define PD_DCRDR     0xE000EDF8u
#define DCRSR_REGWNR (1u << 16)
#define S_REGRDY     (1u << 16)
#define PD_CPUID     0xE000ED00u
#define PPB_BASE     0xE0000000u
#define PPB_SIZE     0x00100000u
#define REG_WAIT_MS  50u

#define DHCSR_KEY          0xA05F0000u
#define C_DEBUGEN          (1u << 0)
#define C_HALT             (1u << 1)
#define C_STEP             (1u << 2)
#define S_HALT             (1u << 17)
#define S_RESET_ST         (1u << 25)
#define DEMCR_VC_CORERESET (1u << 0)
#define DEMCR_TRCENA       (1u << 24)
#define AIRCR_SYSRESET     0x05FA0004u /* VECTKEY | SYSRESETREQ */

/* How long a halt, a step or a reset may take to show in DHCSR. S17 polls
 * S_RESET_ST for up to 500 ms after a reset (stlink_reset). */
#define HALT_WAIT_MS  500u
#define RESET_WAIT_MS 500u

#define WAIT_TRIES 5

static void cmd_init(uint8_t c[PD_CMD_SIZE], uint8_t sub)
{
    memset(c, 0, PD_CMD_SIZE);
    c[0] = CMD_DEBUG;
    c[1] = sub;
}

static bool is_wait(uint8_t s)
{
    return s == ST_SWD_AP_WAIT || s == ST_SWD_DP_WAIT;
}

/* AP-side faults (O12 STLINK_SWD_AP_*): the access itself failed. */
static bool is_ap_fault(uint8_t s)
{
    return (s >= 0x11 && s <= 0x13) || (s >= 0x18 && s <= 0x1D);
}

/* ---- memory ---------------------------------------------------------------------- */

static const char *mem_name(bool write, unsigned width)
{
    if (write)
        return width == 1 ? "WRITEMEM_8BIT" : width == 2 ? "WRITEMEM_16BIT" : "WRITEMEM_32BIT";
    return width == 1 ? "READMEM_8BIT" : width == 2 ? "READMEM_16BIT" : "READMEM_32BIT";
}

/* The status of the last memory command: GETLASTRWSTATUS2 (12 bytes) from
 * J15 and on V3, else GETLASTRWSTATUS (2 bytes) (O12
 * stlink_usb_get_rw_status). Bytes 4-7 of the 12-byte reply are unverified
 * on real firmware; the virtual probe puts the faulting address there, so it
 * is used only when it falls inside the chunk. */
static pd_err rw_status(pd_probe *p, uint8_t *status, uint32_t *fault_addr)
{
    uint8_t c[PD_CMD_SIZE], r[12];
    bool two = p->lim.has_rw_status2;
    cmd_init(c, two ? DBG_LASTRW_STATUS2 : DBG_LASTRW_STATUS);
    pd_err e =
        pd_xfer(p, two ? "GETLASTRWSTATUS2" : "GETLASTRWSTATUS", c, NULL, 0, r, two ? 12 : 2);
    if (e != PD_OK)
        return e;
    *status = r[0];
    *fault_addr = two ? pd_get32(r + 4) : 0;
    return PD_OK;
}

/* One memory command of n bytes (n within the probe's limit for width), then
 * its status; a WAIT re-sends the whole chunk (O12 does the same). */
static pd_err mem_chunk(pd_probe *p, bool write, unsigned width, uint32_t addr, uint8_t *buf,
                        size_t n)
{
    uint8_t c[PD_CMD_SIZE];
    uint8_t sub = write ? (width == 1   ? DBG_WRITEMEM_8
                           : width == 2 ? DBG_WRITEMEM_16
                                        : DBG_WRITEMEM_32)
                        : (width == 1   ? DBG_READMEM_8
                           : width == 2 ? DBG_READMEM_16
                                        : DBG_READMEM_32);
    const char *name = mem_name(write, width);
    unsigned backoff = 1;
    for (int attempt = 1;; attempt++) {
        cmd_init(c, sub);
        pd_put32(c + 2, addr);
        pd_put16(c + 6, (uint16_t)n);
        /* [8] the AP (0 but on the H5's AP1, O12 stlink_usb_read_mem32's
         * ap_num), [9..11] CSW bits: 0, as S17 and O12's HLA driver send. */
        c[8] = p->mem_ap;
        pd_err e;
        if (write) {
            e = pd_xfer(p, name, c, buf, n, NULL, 0);
        } else if (width == 1 && n == 1) {
            /* One byte is read as two (O12 stlink_usb_read_mem8: "we need to
             * fix read length for single bytes"). */
            uint8_t two[2];
            e = pd_xfer(p, name, c, NULL, 0, two, 2);
            if (e == PD_OK)
                buf[0] = two[0];
        } else {
            e = pd_xfer(p, name, c, NULL, 0, buf, n);
        }
        if (e != PD_OK)
            return e;
        if (p->ver.api < PD_API_V2)
            return PD_OK; /* API v1 has no R/W status (O12 forces OK) */
        uint8_t st = 0;
        uint32_t fault = 0;
        e = rw_status(p, &st, &fault);
        if (e != PD_OK)
            return e;
        if (st == ST_OK)
            return PD_OK;
        if (is_wait(st) && attempt < WAIT_TRIES) {
            pd_sleep_ms(backoff);
            backoff *= 2;
            continue;
        }
        if ((st == 0x19 || st == 0x1A) && attempt == 1 && pd_clear_sticky(p) == PD_OK) {
            /* A sticky flag left by an earlier fault blocks every AP access
             * until cleared: clear it through ABORT and try the chunk once
             * more (a fault of this chunk itself shows again). */
            continue;
        }
        uint32_t at = (fault >= addr && fault - addr < n) ? fault : addr;
        if (st == ST_FAULT)
            return pd_fail(p, PD_E_TARGET,
                           "refused %s of %zu bytes at 0x%08X (status 0x81 FAULT); enter SWD "
                           "first (pd_enter_swd), or reset the target",
                           write ? "a write" : "a read", n, addr);
        if (st >= 0x10 && st <= 0x1D)
            return pd_fail(p, PD_E_TARGET,
                           "%s of %zu bytes at 0x%08X failed at 0x%08X (SWD status 0x%02X); the "
                           "address is not mapped, protected or needs another access width: "
                           "check the address, or reset the target",
                           write ? "write" : "read", n, addr, at, st);
        return pd_status_fail(p, name, st);
    }
}

static pd_err check_range(pd_probe *p, const char *what, unsigned width, uint32_t addr,
                          const void *buf, size_t len)
{
    if (!p)
        return PD_E_ARG;
    if (len && !buf)
        return pd_fail(p, PD_E_ARG, "%s: NULL buffer; nothing was sent", what);
    if (width != 1 && width != 2 && width != 4)
        return pd_fail(p, PD_E_ARG, "%s: access width %u is not 1, 2 or 4; nothing was sent", what,
                       width);
    if ((addr % width) || (len % width))
        return pd_fail(p, PD_E_ARG,
                       "%s: address 0x%08X or length %zu is not a multiple of the access width "
                       "%u; nothing was sent",
                       what, addr, len, width);
    if ((uint64_t)addr + len > 0x100000000ull)
        return pd_fail(p, PD_E_ARG, "%s: 0x%08X + %zu runs past the end of the address space", what,
                       addr, len);
    if (!p->h)
        return pd_fail(p, PD_E_ARG, "is not open (%s); call pd_open first", what);
    if (width == 2 && !p->lim.has_mem16)
        return pd_fail(p, PD_E_PROTOCOL,
                       "firmware V%uJ%u has no 16-bit memory access (needs J26+ or V3); use 8 "
                       "or 32-bit",
                       p->ver.stlink, p->ver.jtag);
    return PD_OK;
}

static size_t chunk_max(const pd_probe *p, bool write, unsigned width)
{
    if (width == 1)
        return p->lim.rw8_max;
    return write ? p->lim.write32_max : p->lim.read32_max;
}

static pd_err mem_run(pd_probe *p, bool write, unsigned width, uint32_t addr, uint8_t *buf,
                      size_t len)
{
    size_t max = chunk_max(p, write, width);
    max -= max % width;
    while (len) {
        size_t n = len < max ? len : max;
        pd_err e = mem_chunk(p, write, width, addr, buf, n);
        if (e != PD_OK)
            return e;
        addr += (uint32_t)n;
        buf += n;
        len -= n;
    }
    return PD_OK;
}

pd_err pd_mem_read_w(pd_probe *p, unsigned width, uint32_t addr, void *buf, size_t len)
{
    pd_err e = check_range(p, "memory read", width, addr, buf, len);
    if (e == PD_OK)
        e = mem_run(p, false, width, addr, buf, len);
    if (e == PD_OK)
        pd_clear_msg(p);
    return e;
}

pd_err pd_mem_write_w(pd_probe *p, unsigned width, uint32_t addr, const void *buf, size_t len)
{
    pd_err e = check_range(p, "memory write", width, addr, buf, len);
    /* The transport never writes through buf; the cast only feeds the
     * shared chunk loop. */
    if (e == PD_OK)
        e = mem_run(p, true, width, addr, (uint8_t *)(uintptr_t)buf, len);
    if (e == PD_OK)
        pd_clear_msg(p);
    return e;
}

/* Unaligned head and tail with 8-bit accesses, the aligned middle with
 * 32-bit ones (O12 target_read_buffer / stlink_usb_read_mem do the same). */
static pd_err mem_any(pd_probe *p, bool write, uint32_t addr, uint8_t *buf, size_t len)
{
    pd_err e = check_range(p, write ? "memory write" : "memory read", 1, addr, buf, len);
    if (e != PD_OK)
        return e;
    size_t head = (4u - (addr & 3u)) & 3u;
    if (head > len)
        head = len;
    size_t body = (len - head) & ~(size_t)3;
    size_t tail = len - head - body;
    if (head && (e = mem_run(p, write, 1, addr, buf, head)) != PD_OK)
        return e;
    if (body && (e = mem_run(p, write, 4, addr + (uint32_t)head, buf + head, body)) != PD_OK)
        return e;
    if (tail && (e = mem_run(p, write, 1, addr + (uint32_t)(head + body), buf + head + body,
                             tail)) != PD_OK)
        return e;
    pd_clear_msg(p);
    return PD_OK;
}

pd_err pd_mem_read(pd_probe *p, uint32_t addr, void *buf, size_t len)
{
    return mem_any(p, false, addr, buf, len);
}

pd_err pd_mem_write(pd_probe *p, uint32_t addr, const void *buf, size_t len)
{
    return mem_any(p, true, addr, (uint8_t *)(uintptr_t)buf, len);
}

/* ---- debug and core registers --------------------------------------------------- */

static pd_err need_open(pd_probe *p, const char *what)
{
    if (!p)
        return PD_E_ARG;
    if (!p->h)
        return pd_fail(p, PD_E_ARG, "is not open (%s); call pd_open first", what);
    return PD_OK;
}

/* A word through a memory command on mem_ap (and its status). */
static pd_err word_via_mem(pd_probe *p, bool write, uint32_t addr, uint32_t *v)
{
    uint8_t b[4];
    if (write)
        pd_put32(b, *v);
    pd_err e = mem_chunk(p, write, 4, addr, b, 4);
    if (e == PD_OK && !write)
        *v = pd_get32(b);
    return e;
}

/* AP0 faulted on the core's own registers: the part's system bus may be on
 * AP1 (the STM32H5: AP0 is its debug APB-AP, the Cortex-M33 and memory are
 * behind the AHB-AP AP1, RM0481 "Debug"; OpenOCD's stm32h5x.cfg). Once per
 * debug session: open AP1 (INIT_AP, firmware J28+ or V3) and read CPUID
 * through it; keep it if that answers. */
static bool find_mem_ap(pd_probe *p)
{
    if (p->ap_probed || p->mem_ap || !p->lim.has_ap_init)
        return false;
    p->ap_probed = true;
    uint8_t c[PD_CMD_SIZE], r[2];
    cmd_init(c, DBG_INIT_AP);
    c[2] = 1;
    if (pd_cmd_status(p, "INIT_AP", c, r, sizeof r) != PD_OK)
        return false;
    p->mem_ap = 1;
    uint32_t cpuid = 0;
    if (word_via_mem(p, false, PD_CPUID, &cpuid) == PD_OK && cpuid != 0)
        return true;
    p->mem_ap = 0;
    return false;
}

static bool in_ppb(uint32_t addr)
{
    return addr - PPB_BASE < PPB_SIZE;
}

pd_err pd_read32(pd_probe *p, uint32_t addr, uint32_t *v)
{
    pd_err e = need_open(p, "READDEBUGREG");
    if (e != PD_OK)
        return e;
    if (!v || (addr & 3))
        return pd_fail(p, PD_E_ARG, "READDEBUGREG: address 0x%08X is not word aligned", addr);
    if (p->mem_ap) {
        e = word_via_mem(p, false, addr, v);
        if (e == PD_OK)
            pd_clear_msg(p);
        return e;
    }
    /* F2 36 a32 -> 8 bytes: status, value at 4 (S17 _stlink_usb_read_debug32,
     * O12 stlink_usb_read_reg... retried on WAIT). */
    uint8_t c[PD_CMD_SIZE], r[8];
    cmd_init(c, DBG_READDEBUGREG);
    pd_put32(c + 2, addr);
    e = pd_cmd_status(p, "READDEBUGREG", c, r, sizeof r);
    if (e == PD_E_TARGET && is_ap_fault(r[0]) && in_ppb(addr) && find_mem_ap(p))
        return pd_read32(p, addr, v);
    if (e == PD_E_TARGET && is_ap_fault(r[0]))
        return pd_fail(p, PD_E_TARGET,
                       "read of the word at 0x%08X failed (SWD status 0x%02X); "
                       "check the address, or reset the target",
                       addr, r[0]);
    if (e != PD_OK)
        return e;
    *v = pd_get32(r + 4);
    pd_clear_msg(p);
    return PD_OK;
}

pd_err pd_write32(pd_probe *p, uint32_t addr, uint32_t v)
{
    pd_err e = need_open(p, "WRITEDEBUGREG");
    if (e != PD_OK)
        return e;
    if (addr & 3)
        return pd_fail(p, PD_E_ARG, "WRITEDEBUGREG: address 0x%08X is not word aligned", addr);
    if (p->mem_ap) {
        e = word_via_mem(p, true, addr, &v);
        if (e == PD_OK)
            pd_clear_msg(p);
        return e;
    }
    uint8_t c[PD_CMD_SIZE], r[2];
    cmd_init(c, DBG_WRITEDEBUGREG);
    pd_put32(c + 2, addr);
    pd_put32(c + 6, v);
    e = pd_cmd_status(p, "WRITEDEBUGREG", c, r, sizeof r);
    if (e == PD_E_TARGET && is_ap_fault(r[0]) && in_ppb(addr) && find_mem_ap(p))
        return pd_write32(p, addr, v);
    if (e == PD_E_TARGET && is_ap_fault(r[0]))
        return pd_fail(p, PD_E_TARGET,
                       "write of the word at 0x%08X failed (SWD status 0x%02X); "
                       "check the address, or reset the target",
                       addr, r[0]);
    if (e == PD_OK)
        pd_clear_msg(p);
    return e;
}

/* A core register through DCRSR/DCRDR on mem_ap (ARMv7-M C1.6.3, ARMv8-M
 * D1.2.3): the firmware's READREG/WRITEREG reach the core through AP0
 * only. The core must be halted, as for those commands. */
static pd_err reg_via_mem(pd_probe *p, unsigned regsel, bool write, uint32_t *v)
{
    pd_err e = PD_OK;
    if (write)
        e = pd_write32(p, PD_DCRDR, *v);
    if (e == PD_OK)
        e = pd_write32(p, PD_DCRSR, (write ? DCRSR_REGWNR : 0) | regsel);
    uint64_t end = pd_now_ms() + REG_WAIT_MS;
    uint32_t dh = 0;
    while (e == PD_OK && (e = pd_read32(p, PD_DHCSR, &dh)) == PD_OK && !(dh & S_REGRDY)) {
        if (pd_now_ms() >= end)
            return pd_fail(p, PD_E_TARGET,
                           "core register %u: the core did not answer (DHCSR 0x%08X); halt it "
                           "and retry",
                           regsel, dh);
    }
    if (e == PD_OK && !write)
        e = pd_read32(p, PD_DCRDR, v);
    return e;
}

pd_err pd_read_reg(pd_probe *p, unsigned regsel, uint32_t *v)
{
    pd_err e = need_open(p, "READREG");
    if (e != PD_OK)
        return e;
    if (!v || regsel > 0x7F)
        return pd_fail(p, PD_E_ARG, "READREG: register selector %u is not 0-127", regsel);
    if (p->mem_ap)
        return reg_via_mem(p, regsel, false, v);
    /* F2 33 regsel -> 8 bytes: status, value at 4 (API v2 READREG). */
    uint8_t c[PD_CMD_SIZE], r[8];
    cmd_init(c, DBG_READREG);
    c[2] = (uint8_t)regsel;
    e = pd_cmd_status(p, "READREG", c, r, sizeof r);
    if (e != PD_OK)
        return e;
    *v = pd_get32(r + 4);
    pd_clear_msg(p);
    return PD_OK;
}

pd_err pd_write_reg(pd_probe *p, unsigned regsel, uint32_t v)
{
    pd_err e = need_open(p, "WRITEREG");
    if (e != PD_OK)
        return e;
    if (regsel > 0x7F)
        return pd_fail(p, PD_E_ARG, "WRITEREG: register selector %u is not 0-127", regsel);
    if (p->mem_ap)
        return reg_via_mem(p, regsel, true, &v);
    /* F2 34 regsel v32 -> 2 bytes status. */
    uint8_t c[PD_CMD_SIZE], r[2];
    cmd_init(c, DBG_WRITEREG);
    c[2] = (uint8_t)regsel;
    pd_put32(c + 3, v);
    e = pd_cmd_status(p, "WRITEREG", c, r, sizeof r);
    if (e == PD_OK)
        pd_clear_msg(p);
    return e;
}

/* ---- core control -------------------------------------------------------------- */

pd_err pd_dhcsr(pd_probe *p, uint32_t *dhcsr)
{
    return pd_read32(p, PD_DHCSR, dhcsr);
}

/* Poll DHCSR until (v & mask) == want or ms pass. *last gets the last value
 * read (S_RESET_ST is sticky and clears on read, so *seen ORs them all). */
static pd_err wait_dhcsr(pd_probe *p, uint32_t mask, uint32_t want, unsigned ms, uint32_t *seen)
{
    uint64_t end = pd_now_ms() + ms;
    uint32_t acc = 0;
    for (;;) {
        uint32_t v = 0;
        pd_err e = pd_read32(p, PD_DHCSR, &v);
        if (e != PD_OK)
            return e;
        acc |= v;
        if ((v & mask) == want) {
            if (seen)
                *seen = acc;
            return PD_OK;
        }
        if (pd_now_ms() >= end) {
            if (seen)
                *seen = acc;
            return pd_fail(p, PD_E_TARGET,
                           "core did not reach the expected state within %u ms (DHCSR 0x%08X); "
                           "reset the target or connect under reset",
                           ms, v);
        }
        pd_sleep_ms(1);
    }
}

pd_err pd_halt(pd_probe *p)
{
    pd_err e = pd_write32(p, PD_DHCSR, DHCSR_KEY | C_DEBUGEN | C_HALT);
    if (e == PD_OK)
        e = wait_dhcsr(p, S_HALT, S_HALT, HALT_WAIT_MS, NULL);
    if (e == PD_OK)
        pd_clear_msg(p);
    return e;
}

pd_err pd_run(pd_probe *p)
{
    /* Debug stays enabled, C_HALT/C_STEP cleared (S17 stlink_run). */
    return pd_write32(p, PD_DHCSR, DHCSR_KEY | C_DEBUGEN);
}

pd_err pd_step(pd_probe *p)
{
    uint32_t v = 0;
    pd_err e = pd_dhcsr(p, &v);
    if (e != PD_OK)
        return e;
    if (!(v & S_HALT))
        return pd_fail(p, PD_E_TARGET, "cannot step a running core (DHCSR 0x%08X); halt it first",
                       v);
    /* C_STEP with C_HALT clear runs one instruction and halts again
     * (ARMv7-M C1.6.2). */
    e = pd_write32(p, PD_DHCSR, DHCSR_KEY | C_DEBUGEN | C_STEP);
    if (e == PD_OK)
        e = wait_dhcsr(p, S_HALT, S_HALT, HALT_WAIT_MS, NULL);
    if (e == PD_OK)
        pd_clear_msg(p);
    return e;
}

pd_err pd_reset(pd_probe *p, bool halt)
{
    uint32_t demcr = 0, dh = 0;
    pd_err e = pd_read32(p, PD_DEMCR, &demcr);
    if (e != PD_OK)
        return e;
    if (halt) {
        /* Vector catch needs C_DEBUGEN (ARMv7-M C1.6.5); S17
         * stlink_soft_reset writes DHCSR A05F0003 and DEMCR first. */
        e = pd_write32(p, PD_DHCSR, DHCSR_KEY | C_DEBUGEN | C_HALT);
        if (e == PD_OK)
            e = pd_write32(p, PD_DEMCR, demcr | DEMCR_TRCENA | DEMCR_VC_CORERESET);
    } else {
        /* C_HALT survives a system reset: clear it, or the core stays
         * halted after the reset. */
        e = pd_write32(p, PD_DEMCR, demcr & ~DEMCR_VC_CORERESET);
        if (e == PD_OK)
            e = pd_write32(p, PD_DHCSR, DHCSR_KEY | C_DEBUGEN);
    }
    if (e == PD_OK)
        e = pd_dhcsr(p, &dh); /* clears a stale S_RESET_ST */
    if (e != PD_OK)
        return e;
    /* The reset may cut the AP transaction short: a target-side status on
     * this write is not a failure as long as DHCSR then shows the reset. */
    e = pd_write32(p, PD_AIRCR, AIRCR_SYSRESET);
    if (e != PD_OK && e != PD_E_TARGET)
        return e;
    uint32_t seen = 0;
    if (halt) {
        e = wait_dhcsr(p, S_HALT | S_RESET_ST, S_HALT, RESET_WAIT_MS, &seen);
        /* Restore DEMCR so that later resets run (keep TRCENA). */
        pd_err e2 = pd_write32(p, PD_DEMCR, (demcr | DEMCR_TRCENA) & ~DEMCR_VC_CORERESET);
        if (e == PD_OK)
            e = e2;
    } else {
        e = wait_dhcsr(p, S_RESET_ST, 0, RESET_WAIT_MS, &seen);
    }
    if (e != PD_OK)
        return e;
    if (!(seen & S_RESET_ST))
        return pd_fail(p, PD_E_TARGET,
                       "core did not reset (AIRCR.SYSRESETREQ; DHCSR never showed S_RESET_ST); "
                       "pulse NRST or power-cycle the target");
    pd_clear_msg(p);
    return PD_OK;
}

pd_err pd_drive_nrst(pd_probe *p, pd_nrst how)
{
    pd_err e = need_open(p, "DRIVE_NRST");
    if (e != PD_OK)
        return e;
    if (how != PD_NRST_LOW && how != PD_NRST_HIGH && how != PD_NRST_PULSE)
        return pd_fail(p, PD_E_ARG, "DRIVE_NRST: %d is not low, high or pulse", (int)how);
    /* F2 3C x: 0 low, 1 high, 2 pulse -> 2 bytes status (retried on WAIT). */
    uint8_t c[PD_CMD_SIZE], r[2];
    cmd_init(c, DBG_DRIVE_NRST);
    c[2] = (uint8_t)how;
    e = pd_cmd_status(p, "DRIVE_NRST", c, r, sizeof r);
    if (e == PD_OK)
        pd_clear_msg(p);
    return e;
}

pd_err pd_connect_under_reset(pd_probe *p)
{
    /* NRST low before ENTER (S17 stlink_target_connect UNDER_RESET; O12
     * stlink_usb_init_mode with srst asserted), then catch the core at its
     * reset vector and release NRST. */
    pd_err e = pd_drive_nrst(p, PD_NRST_LOW);
    if (e != PD_OK)
        return e;
    e = pd_enter_swd(p);
    uint32_t demcr = 0;
    if (e == PD_OK)
        e = pd_write32(p, PD_DHCSR, DHCSR_KEY | C_DEBUGEN | C_HALT);
    if (e == PD_OK)
        e = pd_read32(p, PD_DEMCR, &demcr);
    if (e == PD_OK)
        e = pd_write32(p, PD_DEMCR, demcr | DEMCR_TRCENA | DEMCR_VC_CORERESET);
    /* Release NRST whatever happened: a failed attempt must not leave the
     * target held in reset. Keep the first error's message. */
    char keep[PD_MSG_LEN];
    memcpy(keep, p->msg, sizeof keep);
    pd_err e2 = (e == PD_E_TIMEOUT || e == PD_E_GONE) ? e : pd_drive_nrst(p, PD_NRST_HIGH);
    if (e != PD_OK) {
        memcpy(p->msg, keep, sizeof keep);
        return e;
    }
    if (e2 != PD_OK)
        return e2;
    e = wait_dhcsr(p, S_HALT, S_HALT, HALT_WAIT_MS, NULL);
    if (e == PD_E_TARGET)
        return pd_fail(p, PD_E_TARGET,
                       "core did not halt after connect under reset; check that NRST is wired "
                       "to the probe");
    if (e != PD_OK)
        return e;
    e = pd_write32(p, PD_DEMCR, (demcr | DEMCR_TRCENA) & ~DEMCR_VC_CORERESET);
    if (e == PD_OK)
        pd_clear_msg(p);
    return e;
}
