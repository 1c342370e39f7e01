/*
 * The state of one virtual board, shared by the board core (board.c), the
 * system control space (scs.c) and the APB peripherals (periph.c). Flash
 * controllers do not see it: they go through board_internal.h.
 */
#ifndef FLASHLINE_SIM_TARGET_BOARD_STATE_H
#define FLASHLINE_SIM_TARGET_BOARD_STATE_H

#include "board_internal.h"

#include <stdatomic.h>

/* Why the last uc_emu_start returned, set from inside hooks. */
enum stop_reason {
    STOP_NONE,
    STOP_BKPT,
    STOP_EXC_RETURN,
    STOP_SVC,
    STOP_FAULT,
};

/* Exception numbers (ARMv7-M B1.5.2). */
enum { EXC_NMI = 2, EXC_HARDFAULT = 3, EXC_SVCALL = 11, EXC_SYSTICK = 15 };

struct sim_board {
    const sim_chip *chip;
    const flash_ctrl_ops *fops;
    void *fstate;
    uc_engine *uc;
    uc_hook hooks[8];

    uint8_t *flash;      /* main array, chip->flash_size bytes */
    uint8_t *flash_view; /* the array as the bus reads it (clock.c garbles it
                            when the wait states are too few); Unicorn maps
                            this one */
    uint8_t *sram;       /* SRAM1 (+ SRAM2 right after it on L4) */
    uint8_t *ram[4];     /* chip->ram[] blocks */
    uint8_t *sys[3];
    uint8_t *eeprom; /* 4 KiB mapping, eeprom_size valid */
    uint32_t uid[3];
    uint64_t rng;

    /* time */
    uint64_t now_ps;
    uint64_t cycle_ps;
    uint64_t stop_at_ps; /* the block hook stops the core here */
    uint64_t flash_busy_until;
    double speed;
    uint64_t pace_vt_ps;   /* pacing anchor: virtual time ... */
    uint64_t pace_wall_ns; /* ... and the wall clock at that moment */
    atomic_bool interrupt;
    uint64_t instructions;

    /* translated code that must be dropped before the core runs again: one
     * range per 128 MiB region, so that the boot alias at 0, flash at
     * 0x08000000 and SRAM stay apart (one range across them meant walking
     * 128 MiB of pages for every flushed flash write) */
    uint32_t dirty_lo[32], dirty_hi[32];

    /* core and debug state */
    bool powered;
    bool nrst; /* NRST held low */
    bool halted;
    bool locked_up;
    bool reset_pending; /* SYSRESETREQ / OBL_LAUNCH / watchdog */
    bool debugger_attached;
    enum stop_reason stop;
    int fault_exc; /* exception to enter after STOP_FAULT */
    bool bus_fault_pending;
    uint32_t dhcsr_ctrl; /* C_DEBUGEN | C_HALT | C_STEP | C_MASKINTS */
    bool s_reset_st, s_retire_st;
    uint32_t dcrdr, demcr, dfsr, cfsr, hfsr, bfar, vtor, aircr_prigroup, scr, shcsr;
    uint32_t fp_ctrl, fp_comp[8], dwt_ctrl, dwt_comp[4][3];
    uint64_t dwt_cyc_base_ps; /* CYCCNT = (now - base) / cycle */
    uint32_t dbgmcu_cr, dbgmcu_fz1, dbgmcu_fz2;

    /* SysTick (ARMv7-M B3.3) */
    uint32_t syst_csr, syst_rvr;
    uint64_t syst_base_ps; /* when the counter last loaded RVR */
    uint32_t syst_cvr_at_base;
    bool systick_pending;

    /* IWDG (RM0008 19.4): counting, reload value, prescaler, unlocked */
    bool iwdg_on;
    uint32_t iwdg_pr, iwdg_rlr, iwdg_kr_unlocked;
    uint64_t iwdg_reload_ps;  /* virtual time of the last reload */
    uint64_t iwdg_frozen_ps;  /* time spent frozen since the last reload */
    uint64_t iwdg_halt_since; /* when a frozen halt began, or UINT64_MAX */
    uint32_t rcc_csr_flags;   /* reset-cause flags as RCC_CSR shows them */
    uint32_t rcc[256];        /* the RCC block as software last wrote it */

    /* clock tree (clock.c) */
    struct sim_clock {
        uint64_t hsi_ready_at, msi_ready_at; /* UINT64_MAX while off */
        uint64_t pll_on_at;                  /* UINT64_MAX while PLLON is clear */
        uint64_t sw_at;                      /* when RCC_CFGR.SW last changed */
        unsigned sws;                        /* SYSCLK source in use (SW code) */
        uint64_t hclk_hz;
        unsigned latency; /* FLASH_ACR.LATENCY */
        bool overclocked; /* HCLK above what LATENCY allows: reads go wrong */
    } clk;

    /* injected faults */
    bool fault_firmware, fault_watchdog, fault_swd_locked;
    bool bad_cell;
    uint32_t bad_cell_addr;
};

/* scs.c: the private peripheral bus (SCS, SysTick, DWT, FPB, DBGMCU). */
uint32_t scs_read(sim_board *b, uint32_t addr, bus_master who, bool *ok);
void scs_write(sim_board *b, uint32_t addr, uint32_t value, uint32_t mask, bus_master who,
               bool *ok);
void scs_reset(sim_board *b, bool power_on);
uint64_t systick_next_event(const sim_board *b);
void systick_service(sim_board *b);
/* Freeze the counter's value at now; call before the core stops or starts. */
void systick_snapshot(sim_board *b);
uint32_t dbgmcu_read(sim_board *b, uint32_t addr);
/* Bytes of the DBGMCU block from idcode_addr (0x20, or up to the freeze
 * register holding the IWDG bit: H7 APB4FZ1 at +0x54). */
uint32_t dbgmcu_span(const sim_chip *c);
void dbgmcu_write(sim_board *b, uint32_t addr, uint32_t value, uint32_t mask);

/* periph.c: the APB/AHB peripherals the board models. */
uint32_t periph_read(sim_board *b, uint32_t addr, bus_master who, bool *ok);
void periph_write(sim_board *b, uint32_t addr, uint32_t value, uint32_t mask, bus_master who,
                  bool *ok);
void periph_reset(sim_board *b, bool power_on);
uint64_t iwdg_expiry(const sim_board *b);
bool iwdg_frozen(const sim_board *b);
void iwdg_halt_changed(sim_board *b);

/* clock.c: RCC clocks, HCLK and flash wait states. */
void rcc_reset(sim_board *b);
uint32_t rcc_read(sim_board *b, uint32_t off);
void rcc_write(sim_board *b, uint32_t off, uint32_t value, uint32_t mask);
/* When the SYSCLK switch that SW asks for will happen (UINT64_MAX: none). */
uint64_t clock_next_event(const sim_board *b);
void clock_service(sim_board *b);
/* Recompute HCLK (cycle_ps) and whether flash reads are garbled. */
void clock_update(sim_board *b);
/* Refresh flash_view[off, off+len) from the array. */
void clock_view_sync(sim_board *b, uint32_t off, uint32_t len);

/* ---- the board itself: board.c, board_core.c, board_bus.c ------------------ */

#define PERIPH_BASE 0x40000000u
#define PERIPH_SIZE 0x20000000u
#define PPB_BASE    0xE0000000u
#define PPB_SIZE    0x00100000u
#define UNTIL_NEVER 0xFFFFFFFFu /* PC is always even: never reached */

/* Debug and fault status bits (ARMv7-M Architecture Reference Manual:
 * DFSR, CFSR, HFSR). */
#define DFSR_HALTED (1u << 0)
#define DFSR_BKPT   (1u << 1)
#define DFSR_VCATCH (1u << 3)

#define CFSR_IBUSERR     (1u << 8)
#define CFSR_PRECISERR   (1u << 9)
#define CFSR_IMPRECISERR (1u << 10)
#define CFSR_BFARVALID   (1u << 15)
#define CFSR_UNDEFINSTR  (1u << 16)
#define CFSR_INVSTATE    (1u << 17)
#define HFSR_FORCED      (1u << 30)

#define XPSR_T (1u << 24)

/* Reset-cause flags of RCC_CSR as RM0008 7.3.10 places them (the model
 * uses these bits on every part). */
#define RCC_PINRSTF (1u << 26)
#define RCC_PORRSTF (1u << 27)
#define RCC_SFTRSTF (1u << 28)

/* What an address is on the bus. */
enum region_kind { R_NONE, R_FLASH, R_SRAM, R_SYS, R_EEPROM, R_PERIPH, R_PPB };

/* board.c: translated code over addr..addr+len-1 must go before the core
 * runs again. */
void board_mark_dirty(sim_board *b, uint32_t addr, uint32_t len);

/* board_core.c: core services used by scs.c, and the core's side of the
 * board. */
void board_halt(sim_board *b, uint32_t dfsr_reason);
void board_resume(sim_board *b);
void board_system_reset(sim_board *b);
sim_err board_core_reg_read(sim_board *b, unsigned regsel, uint32_t *v);
sim_err board_core_reg_write(sim_board *b, unsigned regsel, uint32_t v);
uint32_t board_reg_get(sim_board *b, int reg);
void board_exception_enter(sim_board *b, int exc);
void board_exception_return(sim_board *b);
/* A bus fault for the core at addr: precise (BFAR valid) or imprecise. */
void board_raise_bus_fault(sim_board *b, uint32_t addr, bool precise);
/* Reset the core (and the peripherals; the flash controller reloads its
 * options); cause goes to RCC_CSR. */
void board_core_reset(sim_board *b, bool power_on, uint32_t cause);
void board_power_on_reset(sim_board *b);
/* board.c: a read of main flash at addr waits while the array (or the
 * bank holding addr, flash_ctrl_ops.read_ready_ps) is busy. */
void board_flash_read_wait(sim_board *b, uint32_t addr);
/* Map the memory map into Unicorn and install the hooks. */
uc_err board_map_all(sim_board *b);
/* Bytes allocated and mapped for the data EEPROM: its size in whole 4 KiB
 * pages (L0 cat 5 6 KiB, L1 up to 16 KiB). */
static inline uint32_t board_eeprom_map_size(const sim_chip *c)
{
    return (c->eeprom_size + 0xFFFu) & ~0xFFFu;
}

/* board_bus.c: the bus, as both masters see it. */
/* What addr..addr+width-1 is; *mem points at its bytes for memories, and
 * *flash_addr is the address the flash controller sees (the boot alias
 * translated). */
enum region_kind board_decode(sim_board *b, uint32_t addr, unsigned width, uint8_t **mem,
                              uint32_t *flash_addr);
bool board_device_read(sim_board *b, enum region_kind k, uint32_t addr, unsigned width,
                       bus_master who, uint32_t *out);
bool board_device_write(sim_board *b, enum region_kind k, uint32_t addr, unsigned width,
                        bus_master who, uint32_t v);
bool board_bus_read(sim_board *b, bus_master who, uint32_t addr, unsigned width, uint32_t *out);
bool board_bus_write(sim_board *b, bus_master who, uint32_t addr, unsigned width, uint32_t v);

#endif
