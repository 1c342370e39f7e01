/*
 * sim/target: a virtual STM32 board whose Cortex-M core really executes code.
 *
 * This is the far side of the SWD cable. A virtual probe (sim/probe) drives a
 * board through this interface exactly as an ST-LINK drives silicon: memory
 * and register access through the AHB-AP, halting, reset lines, and the
 * passage of time. Tests drive it directly.
 *
 * Threading: a board belongs to one thread. The only call that may come from
 * another thread is sim_board_interrupt(), which makes a running
 * sim_board_advance() return early.
 *
 * Time: every board has its own virtual clock (picosecond resolution). It
 * moves forward only when something happens on the board: instructions
 * execute (one cycle per half-word of code at HCLK, which follows the RCC
 * registers; data reads of flash add FLASH_ACR.LATENCY cycles), a bus access
 * stalls on a busy flash, or the caller lets time pass with
 * sim_board_advance(). Everything is therefore deterministic for a given seed.
 * The speed factor only decides how much wall-clock time a board spends for
 * each virtual second: 1 = real time, 0 = never wait.
 */
#ifndef FLASHLINE_SIM_TARGET_BOARD_H
#define FLASHLINE_SIM_TARGET_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sim_err {
    SIM_OK = 0,
    SIM_E_ARG,        /* caller error: unknown chip, bad register, bad width */
    SIM_E_NOMEM,      /* host allocation failed */
    SIM_E_ENGINE,     /* the CPU emulator refused an operation */
    SIM_E_BUS,        /* the AHB access faulted (unmapped, wrong width, RDP) */
    SIM_E_NOT_HALTED, /* core register access needs a halted core (S_REGRDY) */
    SIM_E_NO_POWER,   /* the board has no power: SWD does not answer */
    SIM_E_NO_LINK,    /* SWD pins are unavailable (needs connect under reset) */
} sim_err;

const char *sim_err_str(sim_err err);

/* The models a chip row points at (defined inside sim/target). */
struct flash_ctrl_ops;
struct sim_clock_tree;

/*
 * Facts about one chip model, kept as data (see chips.c for sources). What
 * differs between families is in the models the row points at: the flash
 * controller (a flash_<design>.c) and the clock tree (clock_trees.c). No
 * code branches on the family.
 */
typedef struct sim_chip {
    const char *name;        /* "stm32f103rb" */
    const char *family_name; /* "STM32F1", for messages only */
    const struct flash_ctrl_ops *flash;
    const struct sim_clock_tree *clock;
    uint16_t dev_id; /* DBGMCU_IDCODE[11:0] */
    uint16_t rev_id; /* DBGMCU_IDCODE[31:16] */
    uint32_t idcode_addr;
    uint32_t cpuid;
    uint32_t dp_idcode; /* SW-DP IDCODE the probe reads on connect */
    int cpu_model;      /* unicorn UC_CPU_ARM_* */
    bool armv6m;
    uint32_t core_hz; /* reset clock (HSI/MSI) */
    uint32_t flash_base, flash_size;
    /* Main flash again at this address, read and execute only (the F7's
     * ITCM interface at 0x00200000); 0: no such alias. */
    uint32_t itcm_flash_base;
    uint8_t flash_erased; /* 0xFF, or 0x00 on L0 */
    uint32_t sram_base, sram_size;
    uint32_t sram2_base, sram2_size; /* separately mapped SRAM2 (L4), or 0 */
    /* Read-only system blocks (boot ROM, OTP, UID, flash size, option-byte
     * images), each 4 KiB aligned; size 0 ends the list. Stores into them go
     * to the flash controller (option programming) or fault. */
    struct sim_region {
        uint32_t base, size;
    } sys[3];
    uint32_t flash_size_reg; /* u16 in KiB */
    uint32_t uid_addr[3];
    uint32_t page_size;                /* erase unit (F4: smallest sector) */
    uint32_t eeprom_base, eeprom_size; /* L0 data EEPROM, or 0 */
    uint32_t flash_regs;               /* FLASH controller base */
    uint32_t dbgmcu_cr, dbgmcu_apb1_fz;
    uint32_t iwdg_freeze_bit; /* bit in dbgmcu_cr (F1) or apb1_fz */
    uint32_t rcc_base, rcc_csr;
    uint32_t lsi_hz;
    bool iwdg_winr; /* IWDG_WINR (offset 0x10, reset 0x0FFF) exists */
    /* Where the core fetches its vector table at reset (and what VTOR
     * resets to) when main flash is not aliased at 0: the H7's BOOT_ADD0
     * (0x08000000). 0: the boot alias of main flash at 0, as on F0-F7/L. */
    uint32_t boot_base;
    /* More RAM blocks, read/write/execute, zero at power-on (H7: ITCM at 0,
     * AXI SRAM, SRAM1-3, SRAM4); size 0 ends the list. */
    struct sim_region ram[4];
    uint32_t iwdg_base; /* IWDG (IWDG1 on H7); 0: 0x40003000 */
    /* The reset-cause register's bits when they are not RM0008's RCC_CSR
     * layout (RMVF b24, PINRSTF b26, PORRSTF b27, SFTRSTF b28, IWDGRSTF
     * b29): H7 RCC_RSR. NULL: that layout. */
    const struct sim_rst_bits {
        uint32_t rmvf, pin, por, sft, iwdg;
    } * rst_bits;
    /* The access port of the system bus (the AHB-AP the memory commands
     * name): 0 on most parts, 1 on the H5, whose AP0 is the debug APB-AP. */
    uint8_t mem_ap;
    /* Where the debug APB-AP (AP0 while mem_ap != 0) shows the DBGMCU
     * (H5: 0xE0044000, the same registers as at idcode_addr); 0: none. */
    uint32_t apb_dbgmcu;
} sim_chip;

/*
 * The chip table. sim_chip_find() takes a row's name or any ordering code
 * of a modelled part line ("stm32f407vg": prefix, pin-count letter, flash
 * size letter) and returns the part with the flash and SRAM that code
 * implies; NULL for anything else. sim_chip_at() walks the rows: one per
 * die, at its largest size (NULL past the end).
 */
const sim_chip *sim_chip_find(const char *name);
const sim_chip *sim_chip_at(size_t index);
/* The ordering codes sim_chip_find() takes, as "stm32f103x4/x6/x8/xb, ..."
 * ("x": any pin-count letter), into buf as snprintf does; returns the
 * length of the whole list. */
size_t sim_chip_known(char *buf, size_t len);

typedef struct sim_board sim_board;

/*
 * Create a powered board: flash blank, option bytes at factory values, core
 * held in its reset state and then released (running from the reset vector;
 * with blank flash that locks up at once, as real silicon does). seed makes
 * the unique ID and every injected fault reproducible.
 */
sim_err sim_board_create(const char *chip, uint64_t seed, double speed, sim_board **out);
/* The same for a row that need not be in the chip table: tests of model
 * variants whose parts have no row yet. The row must outlive the board. */
sim_err sim_board_create_row(const sim_chip *row, uint64_t seed, double speed, sim_board **out);
void sim_board_destroy(sim_board *b);

const sim_chip *sim_board_chip(const sim_board *b);
void sim_board_uid(const sim_board *b, uint32_t uid[3]);
void sim_board_set_speed(sim_board *b, double speed);

/* ---- time ---------------------------------------------------------------- */

uint64_t sim_board_now_ns(const sim_board *b);
/*
 * Let ns of virtual time pass. A running core executes meanwhile (taking
 * interrupts, faulting, hitting BKPT); peripherals (watchdog, SysTick, flash
 * operations) advance whether the core runs or not. Returns early, with the
 * clock where it stopped, when the core halts.
 */
sim_err sim_board_advance(sim_board *b, uint64_t ns);
/* Make a running sim_board_advance() return soon. Safe from any thread. */
void sim_board_interrupt(sim_board *b);

/* ---- debug access, as the AHB-AP and the SW-DP see it --------------------- */

uint32_t sim_board_dp_idcode(const sim_board *b);
/*
 * Memory access through the AHB-AP. width is 1, 2 or 4 bytes per access; len
 * must be a multiple of width. Each access costs bus time; an access to busy
 * flash stalls until the flash is done. SIM_E_BUS leaves *fault_addr (if
 * non-NULL) at the address that faulted; accesses before it took effect.
 */
sim_err sim_board_mem_read(sim_board *b, uint32_t addr, void *buf, size_t len, unsigned width,
                           uint32_t *fault_addr);
sim_err sim_board_mem_write(sim_board *b, uint32_t addr, const void *buf, size_t len,
                            unsigned width, uint32_t *fault_addr);
sim_err sim_board_read32(sim_board *b, uint32_t addr, uint32_t *v);
sim_err sim_board_write32(sim_board *b, uint32_t addr, uint32_t v);

/* Core registers by DCRSR REGSEL number (0-15, 16 xPSR, 17 MSP, 18 PSP,
 * 20 CONTROL|FAULTMASK|BASEPRI|PRIMASK). Needs a halted core. */
sim_err sim_board_reg_read(sim_board *b, unsigned regsel, uint32_t *v);
sim_err sim_board_reg_write(sim_board *b, unsigned regsel, uint32_t v);

bool sim_board_halted(const sim_board *b);
bool sim_board_locked_up(const sim_board *b);

/* NRST pin: asserted holds the whole chip in reset; release restarts it. */
void sim_board_nrst(sim_board *b, bool asserted);
/* Supply. Power off loses SRAM and registers; power on is a power-on reset. */
void sim_board_power(sim_board *b, bool on);
bool sim_board_powered(const sim_board *b);
/* Target voltage in millivolts as an ST-LINK measures it (0 when off). */
unsigned sim_board_voltage_mv(const sim_board *b);

/* ---- faults --------------------------------------------------------------- */

typedef enum sim_fault {
    /* Firmware in flash, running at connect, with a SysTick interrupt that
     * scribbles over R0-R3 and disturbs a flash loader unless C_MASKINTS. */
    SIM_FAULT_RUNNING_FIRMWARE,
    /* The independent watchdog started by hardware option: resets the chip
     * unless frozen through DBGMCU while the core is halted. */
    SIM_FAULT_WATCHDOG,
    /* SWD pins unavailable while the core runs (low-power mode / remapped
     * pins): only a connect under reset (NRST held) gets in. */
    SIM_FAULT_SWD_LOCKED,
    /* Error flags left latched in FLASH_SR at connect. */
    SIM_FAULT_STALE_FLASH_ERRORS,
    /* Readout protection level 1 in the option bytes. */
    SIM_FAULT_RDP1,
    /* One flash word (arg = address) that never takes a program. */
    SIM_FAULT_BAD_CELL,
    /* No power. */
    SIM_FAULT_NO_POWER,
    /* The flash word at arg reads with a single ECC error, corrected and
     * flagged (H7: SNECCERR, ECC_FA), until erased. Refused (SIM_E_ARG) by
     * a controller without ECC. */
    SIM_FAULT_ECC_SINGLE,
    /* The flash word at arg reads with a double ECC error: flagged
     * (DBECCERR) and the read answered with a bus error, until erased. */
    SIM_FAULT_ECC_DOUBLE,
} sim_fault;

sim_err sim_board_inject(sim_board *b, sim_fault fault, uint32_t arg);
/* Make the running core take a bus fault at its next instruction, as a
 * disturbed flash loader does (it then vectors to the HardFault handler, or
 * locks up when the vector table is erased). The virtual probe uses this for
 * its loader-failure fault. */
void sim_board_fault_now(sim_board *b);

/* ---- the bench's view, bypassing the bus (tests, not probes) -------------- */

/* Main flash array as it is now (erased cells read flash_erased). */
const uint8_t *sim_board_flash(const sim_board *b);
/* Load bytes straight into flash or SRAM, as a factory programmer would. */
sim_err sim_board_preload(sim_board *b, uint32_t addr, const void *data, size_t len);
/* Counters for benchmarks. */
uint64_t sim_board_instructions(const sim_board *b);

/*
 * The timing oracle: the modelled physical time of erasing and programming
 * main flash [addr, addr + len), at the datasheet typical figures the
 * board's flash model uses, so that a benchmark compares tools with the
 * model without copying its constants. The figures are what the model
 * really spends (BSY high) for those operations done one after another.
 */
typedef struct sim_flash_timing {
    uint64_t program_ns;  /* units program operations of unit_bytes each */
    uint64_t erase_ns;    /* each erase unit the range touches, one by one */
    uint64_t mass_ns;     /* the cheapest full erase of the banks it touches;
                             0 when the controller has none (L0) */
    uint32_t unit_bytes;  /* the program unit the figures assume */
    uint32_t units;       /* program units the range touches (aligned) */
    uint32_t erase_units; /* erase units (pages, sectors) it touches */
    const char *mode;     /* the program mode assumed: "half-word", "x32",
                             "half-page", "double-word" */
} sim_flash_timing;

/* SIM_E_ARG unless len > 0 and the range lies in main flash. */
sim_err sim_board_flash_timing(sim_board *b, uint32_t addr, uint32_t len, sim_flash_timing *out);
/* The core clock (HCLK) in Hz as the RCC registers have set it now. */
uint32_t sim_board_hclk_hz(const sim_board *b);

#endif
