/*
 * Private to sim/probe: what the parts of the virtual ST-LINK share (the
 * probe's state, protocol constants, and the helpers each part offers the
 * others). stlink.c: framing, cost, the public API; stlink_target.c: target
 * access; stlink_mem.c: memory and DAP commands; stlink_cmd.c: the command
 * set and dispatch.
 */
#ifndef FLASHLINE_SIM_PROBE_STLINK_INTERNAL_H
#define FLASHLINE_SIM_PROBE_STLINK_INTERNAL_H

#include "stlink.h"
#include "stlink_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

void stl_board_pass(sim_board *b, uint64_t ns);
void stl_cmd_read_mem(stlink_probe *p, unsigned width, bool inc);
void stl_cmd_write_mem(stlink_probe *p, unsigned width, bool inc);
uint8_t stl_core_reg_read(stlink_probe *p, unsigned regsel, uint32_t *v);
uint8_t stl_core_reg_write(stlink_probe *p, unsigned regsel, uint32_t v);
uint8_t stl_dap_access(stlink_probe *p, uint16_t port, uint16_t reg, bool write, uint32_t *v);
uint8_t stl_debugreg_read(stlink_probe *p, uint32_t addr, uint32_t *v);
uint8_t stl_debugreg_write(stlink_probe *p, uint32_t addr, uint32_t v);
void stl_dispatch(stlink_probe *p);
uint16_t stl_get16(const uint8_t *b);
uint32_t stl_get32(const uint8_t *b);
bool stl_in_debug(const stlink_probe *p);
bool stl_is_v3(const stlink_probe *p);
sim_err stl_link_check(stlink_probe *p);
sim_err stl_mem_write(stlink_probe *p, uint32_t addr, const uint8_t *buf, size_t len,
                      unsigned width, uint32_t *fault);
void stl_put16(uint8_t *b, uint16_t v);
void stl_put32(uint8_t *b, uint32_t v);
uint8_t *stl_reply(stlink_probe *p, size_t n);
void stl_reply_status(stlink_probe *p, uint8_t status);
bool stl_starts_data_phase(const uint8_t *cmd, size_t *len);
uint8_t stl_status_of(sim_err e);
void stl_swd_xfers(stlink_probe *p, uint64_t n);

#endif
