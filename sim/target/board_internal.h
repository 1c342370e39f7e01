/*
 * Inside the virtual board: what the board core (board.c), the debug
 * registers (scs.c) and the flash controllers (flash_*.c) share. Nothing
 * outside sim/target includes this.
 */
#ifndef FLASHLINE_SIM_TARGET_BOARD_INTERNAL_H
#define FLASHLINE_SIM_TARGET_BOARD_INTERNAL_H

#include "board.h"

#include <unicorn/unicorn.h>

#define PS_PER_NS 1000ull
#define PS_PER_US 1000000ull
#define PS_PER_MS 1000000000ull

/* Who is making a bus access: the core's own load/store, or the debugger
 * through the AHB-AP. Some rules differ (RDP blocks the debugger). */
typedef enum bus_master {
    BUS_CPU,
    BUS_DEBUG,
} bus_master;

/*
 * One flash-controller model. Each file flash_<design>.c defines one (or
 * more, for variants sharing its functions) of these; a chip row points at
 * its model (sim_chip.flash) and the board dispatches to it for the
 * controller's register block
 * (chip->flash_regs, 1 KiB) and for every store into flash, option bytes or
 * data EEPROM, from the core or from the debugger. Registers are presented
 * as aligned 32-bit words: reg_read returns the whole word (the board picks
 * the bytes a narrower load wanted); reg_write gets the word offset, the
 * value shifted into its byte lanes and the mask of lanes written (0xFFFFFFFF
 * for a word store, 0x0000FF00 for a byte store to offset+1), so a
 * write-1-to-clear flag is only cleared where the store really wrote a 1.
 */
typedef struct flash_ctrl_ops {
    size_t state_size; /* bytes of controller state, zeroed at creation */
    /* Factory state: write the option bytes' flash image into the info
     * block (sim_board_info_ptr) as shipped. Called once at creation. */
    void (*factory)(sim_board *b, void *st);
    /* Reset: registers to reset values, controller locked. power_on also
     * reloads option bytes from their flash image. */
    void (*reset)(sim_board *b, void *st, bool power_on);
    uint32_t (*reg_read)(sim_board *b, void *st, uint32_t offset);
    /* Return false to answer the access with a bus error (e.g. wrong key). */
    bool (*reg_write)(sim_board *b, void *st, uint32_t offset, uint32_t value, uint32_t mask);
    /* A store of size bytes (1, 2 or 4; value in the low bits) to addr inside
     * main flash, the option-byte area or data EEPROM. Return false for a bus
     * error. The controller changes the array through sim_flash_ptr().
     * Stores to the boot alias at 0 arrive translated to flash_base. */
    bool (*mem_write)(sim_board *b, void *st, bus_master who, uint32_t addr, uint32_t value,
                      unsigned size);
    /* Readout protection currently in force (level 1 or 2). */
    bool (*read_protected)(sim_board *b, void *st);
    /* Put error flags into SR as firmware that crashed mid-operation would
     * leave them (SIM_FAULT_STALE_FLASH_ERRORS). */
    void (*inject_stale_errors)(sim_board *b, void *st);
    /* Set RDP level 1 in the option bytes (SIM_FAULT_RDP1); takes effect at
     * the next power-on / option load, as on silicon. */
    void (*inject_rdp1)(sim_board *b, void *st);
    /* FLASH_ACR.LATENCY (wait states) as it stands; no side effects. */
    unsigned (*latency)(sim_board *b, void *st);
    /* The timing oracle (sim_board_flash_timing): fill out for main flash
     * [addr, addr + len), already checked to lie in it, from the same
     * figures the model starts its operations with, for the organization
     * in force; no side effects. */
    void (*timing)(sim_board *b, void *st, uint32_t addr, uint32_t len, sim_flash_timing *out);
    /* Optional (NULL: a read of main flash waits while sim_flash_busy()).
     * While the array is busy, when a read of the main-flash address addr
     * may proceed, in ps: a controller whose banks work independently
     * (read-while-write between banks) answers per bank. */
    uint64_t (*read_ready_ps)(sim_board *b, void *st, uint32_t addr);
    /* Optional: a read of size bytes at the main-flash address addr by who
     * is about to complete; return false to answer it with a bus error (a
     * double ECC error). The controller latches its own flags. */
    bool (*read_check)(sim_board *b, void *st, bus_master who, uint32_t addr, unsigned size);
    /* Optional (SIM_FAULT_ECC_SINGLE/DOUBLE): the flash word holding addr
     * reads with a corrected single error, or an uncorrectable double one,
     * until it is erased. Return false if the controller has no ECC. */
    bool (*inject_ecc)(sim_board *b, void *st, uint32_t addr, bool twice);
    /* The model's own data for this variant of its design (geometry, bits
     * that moved, a second bank), so that variants share the functions
     * above; NULL when the design has none. The model reads it through
     * sim_board_chip(b)->flash->variant. */
    const void *variant;
} flash_ctrl_ops;

/* flash_f1.c: F10x low/medium/high density, XL density (two banks), F0/F3. */
extern const flash_ctrl_ops sim_flash_f1;
extern const flash_ctrl_ops sim_flash_f1_xl;
extern const flash_ctrl_ops sim_flash_f0;
extern const flash_ctrl_ops sim_flash_f3;
/* flash_f4.c: F446-style single bank, F42x/F43x dual bank; F2 and
 * F405/F407 (12 sectors, no PCROP), F412, F42x/F469 up to 1 MiB; the F7
 * parts as variants of the same design (data in flash_f7.c): F74x/F75x,
 * F76x/F77x (nDBANK), F72x/F73x. F7 rows also set itcm_flash_base. */
extern const flash_ctrl_ops sim_flash_f4;
extern const flash_ctrl_ops sim_flash_f4_db;
extern const flash_ctrl_ops sim_flash_f2;
extern const flash_ctrl_ops sim_flash_f412;
extern const flash_ctrl_ops sim_flash_f42x;
extern const flash_ctrl_ops sim_flash_f413; /* F413/F423: 16 sectors */
extern const flash_ctrl_ops sim_flash_f7;
extern const flash_ctrl_ops sim_flash_f7_76x;
extern const flash_ctrl_ops sim_flash_f7_72x;
/* flash_l0.c: L0 cat 1-3, L0 cat 5 (48 WRP sectors), L1 cat 1-6. */
extern const flash_ctrl_ops sim_flash_l0;
extern const flash_ctrl_ops sim_flash_l0_cat5;
extern const flash_ctrl_ops sim_flash_l1_cat1;
extern const flash_ctrl_ops sim_flash_l1_cat2;
extern const flash_ctrl_ops sim_flash_l1_cat3;
extern const flash_ctrl_ops sim_flash_l1_cat4;
extern const flash_ctrl_ops sim_flash_l1_cat5;
/* flash_l5.c: the TrustZone-layout controller, L5 (double words) and U5
 * (quad words). */
extern const flash_ctrl_ops sim_flash_l5;
extern const flash_ctrl_ops sim_flash_u5;
/* flash_l4*.c: the L4 generation. L476/L496 (two banks), L41x/L43x/L45x,
 * G0 (G03x-G06x, G07x/G08x), G4 categories 2, 3 (DBANK) and 4, WB, WL. */
extern const flash_ctrl_ops sim_flash_l4;
extern const flash_ctrl_ops sim_flash_l41x;
extern const flash_ctrl_ops sim_flash_l43x;
extern const flash_ctrl_ops sim_flash_l45x;
extern const flash_ctrl_ops sim_flash_g0;
extern const flash_ctrl_ops sim_flash_g07x;
extern const flash_ctrl_ops sim_flash_g0b;
extern const flash_ctrl_ops sim_flash_c011;
extern const flash_ctrl_ops sim_flash_c031;
extern const flash_ctrl_ops sim_flash_c071;
extern const flash_ctrl_ops sim_flash_c0_rm;
extern const flash_ctrl_ops sim_flash_u0;
extern const flash_ctrl_ops sim_flash_g4c2;
extern const flash_ctrl_ops sim_flash_g4c3;
extern const flash_ctrl_ops sim_flash_g4c4;
extern const flash_ctrl_ops sim_flash_wb;
extern const flash_ctrl_ops sim_flash_wl;
/* flash_l4p_variants.c: L4R/L4S at 2 MiB (DBANK) and 1 MiB (DB1M), L4P5/
 * L4Q5 at 1 MiB (DBANK) and 512 KiB (DB1M), WB10/WB15. */
extern const flash_ctrl_ops sim_flash_l4r;
extern const flash_ctrl_ops sim_flash_l4r_1m;
extern const flash_ctrl_ops sim_flash_l4p5;
extern const flash_ctrl_ops sim_flash_l4p5_512k;
extern const flash_ctrl_ops sim_flash_wb1x;
/* flash_h7.c: the H7 embedded flash (256-bit flash words, per-bank
 * registers): H742/H743/H750/H753 (two banks), H723/H725/H730/H733. */
extern const flash_ctrl_ops sim_flash_h743;
extern const flash_ctrl_ops sim_flash_h723;
extern const flash_ctrl_ops sim_flash_h750; /* H750xB: one 128 KiB sector */
/* H7A3/H7B3 (two banks of 128 x 8 KiB, 128-bit words), H7B0 (one bank of
 * 16 sectors). */
extern const flash_ctrl_ops sim_flash_h7a3;
extern const flash_ctrl_ops sim_flash_h7b0;
/* flash_h5.c: the H5 embedded flash (128-bit quad-words, 8 KiB sectors, two
 * banks, product states): H56x/H57x, H52x/H53x, H503. */
extern const flash_ctrl_ops sim_flash_h5;

/* ---- services the board offers to its controllers ------------------------ */

/* Virtual time now, in picoseconds. */
uint64_t sim_now_ps(const sim_board *b);
/* The bus (and the core with it) waits until t: used for AHB stalls. */
void sim_stall_until(sim_board *b, uint64_t t_ps);
/* Start a flash-array operation lasting ns nanoseconds (datasheet typical).
 * Until it ends, sim_flash_busy() is true and reads of the busy array from
 * the core or the debugger stall until the end. */
void sim_flash_begin_op(sim_board *b, uint64_t ns);
bool sim_flash_busy(const sim_board *b);
/* When the current (or last) operation ends, in ps. */
uint64_t sim_flash_busy_until(const sim_board *b);
/* The array stays busy at least until t_ps (a controller whose banks run
 * operations side by side: the board's busy time covers the longest). */
void sim_flash_busy_extend(sim_board *b, uint64_t t_ps);

/* Main flash array (chip->flash_size bytes); writes through this pointer are
 * what the array holds. Call sim_flash_changed() after changing it so that
 * translated code is dropped. */
uint8_t *sim_flash_ptr(sim_board *b);
void sim_flash_changed(sim_board *b, uint32_t addr, uint32_t len);
/* The bytes behind any address of the info/system block, option bytes or
 * data EEPROM (NULL if addr is not in one); len bytes must fit. */
uint8_t *sim_board_info_ptr(sim_board *b, uint32_t addr, uint32_t len);
/* A cell that does not take writes (SIM_FAULT_BAD_CELL): the controller asks
 * before programming addr..addr+len-1. */
bool sim_flash_cell_bad(const sim_board *b, uint32_t addr, uint32_t len);
/* Is a debugger connected (C_DEBUGEN set since power-on)? RDP rules use it. */
bool sim_debugger_attached(const sim_board *b);
/* Deterministic per-board pseudo random numbers (for scrambled cells). */
uint64_t sim_board_random(sim_board *b);
/* FLASH_ACR.LATENCY changed: the board re-checks HCLK against it. */
void sim_clock_changed(sim_board *b);
/* Request a system reset at the next instruction boundary (OBL_LAUNCH). */
void sim_board_request_reset(sim_board *b);

#endif
