/*
 * The host's chip table: what Flashline knows about each STM32 it programs,
 * as data (one row per DBGMCU device id), never as if-chains. The flash
 * size comes from the chip's own flash-size register at run time; the
 * layout functions turn (row, size) into erase units.
 */
#ifndef FLASHLINE_LOADERS_CHIPS_H
#define FLASHLINE_LOADERS_CHIPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A flash-controller family (family.h; one file each in loaders/families/). */
struct fl_family;

/* A run of equal erase units: `count` units of `size` bytes (count 0 =
 * as many as the flash size allows). */
typedef struct fl_unit_run {
    uint32_t count, size;
} fl_unit_run;

/*
 * One step of raising the core clock for the loader (loaders/clock.c): a
 * read-modify-write of `mask` bits at addr to `value`, then a wait until
 * the bits mask << ready_shift read back as value << ready_shift (shift 0:
 * the write itself reads back; 1 or 2: an oscillator's or the PLL's ready
 * flag, or RCC_CFGR.SWS two bits above SW). The steps run in order to go
 * up and are undone in reverse order to come back.
 */
typedef struct fl_clock_step {
    uint32_t addr, mask, value;
    uint8_t ready_shift;
} fl_clock_step;

#define FL_CLOCK_STEPS_MAX 8

/*
 * A product line's facts shared by its device ids: its name, its flash
 * controller, where the identity registers are, and how to run its core
 * faster. Lines whose devices differ in these (F72x and F74x keep their
 * flash-size register apart) are two lines of one name.
 */
typedef struct fl_line {
    const char *name; /* "STM32F1" */
    const char *id;   /* "f1": what --family and the API take (or the name) */
    const struct fl_family *family;
    uint32_t idcode_addr; /* DBGMCU_IDCODE */
    uint32_t flash_base;
    uint32_t flash_regs;     /* controller base */
    uint32_t flash_size_reg; /* u16, KiB */
    uint32_t uid_addr[3];    /* the 96-bit unique ID, word by word */
    /* DBGMCU bit that stops the independent watchdog while the core is
     * halted (DBG_IWDG_STOP). */
    uint32_t wdg_freeze_reg, wdg_freeze_bit;
    /* The bits that clock DBGMCU, without which the freeze write is lost:
     * RCC on the Cortex-M0+ parts (L0 RCC_APB2ENR.DBGEN, G0/C0
     * RCC_APBENR1.DBGEN, U0 RCC_DBGCFGR.DBGEN), DBGMCU_CR's D1DBGCKEN and
     * D3DBGCKEN on the H7; set when any is clear. 0: always clocked. */
    uint32_t dbg_clock_reg, dbg_clock_bit;
    /* How to run the core faster than its reset clock while the loader
     * works (stubs and CRCs are core-bound); ends with a step whose mask is
     * 0. RCC_CFGR.SWS must read 0 (the reset oscillator) for it to apply. */
    const fl_clock_step *fast_clock;
    uint32_t fast_clock_hz;
    uint32_t rcc_cfgr; /* RCC_CFGR address, for the SW/SWS check */
} fl_line;

typedef struct fl_chip {
    uint16_t dev_id;  /* DBGMCU_IDCODE[11:0] */
    const char *name; /* "STM32F10x medium density" */
    const fl_line *line;
    /* Part-number prefixes sharing this device id, lower case, ';'-separated
     * ("stm32f101;stm32f102;stm32f103"). */
    const char *parts;
    uint32_t flash_size_max; /* bytes; a register value above it is refused */
    fl_unit_run units[3];    /* erase units from flash_base, per bank */
    /* 2: a dual-bank layout, the units repeating from flash_size / 2, for
     * flash sizes from dual_from bytes on (0: every size; F42x: only the 2
     * MiB parts). */
    uint32_t banks, dual_from; /* banks 0 or 1: single bank */
    /* Where bank 2 starts, from flash_base, whatever the flash size (H74x:
     * 1 MiB, also on the 1 MiB parts, whose banks of 512 KiB leave a gap;
     * RM0433 4.3, memory organization); 0: at half the flash. The layout has no gaps, so a
     * dual-bank size whose banks do not meet there is refused. */
    uint32_t bank2_at;
    /* F1 XL density: bank 2 from bank2_start bytes on is driven through a
     * second register block bank2_regs bytes above flash_regs (RM0008
     * 3.3.3); 0 when one block serves all of flash. */
    uint32_t bank2_regs, bank2_start;
    uint32_t sram_base, sram_size; /* the SRAM the loader uses */
    /* How the flash-size register reads on this device: the bits that
     * count (0: all 16; the L1 category 2 keeps only the low byte), or a
     * code that indexes fsize_kib (the L1 category 4: 0 = 384 KiB, 1 = 256
     * KiB; RM0038 31.1.1). */
    uint16_t fsize_mask;
    uint16_t fsize_kib[2];
    /* The same device with its other bank layout, which an option bit
     * selects (F76x nDBANK = 0 and F42x/F469 DB1M = 1: two banks; L5 DBANK
     * = 0: one bank): the family's alt_layout() says when it is in force.
     * NULL: no such option. */
    const struct fl_chip *alt;
} fl_chip;

/* The row for a device id, or NULL (an unknown chip is refused, not
 * guessed at). */
const fl_chip *fl_chip_by_dev_id(uint16_t dev_id);
/* All rows, for listings; NULL past the end. */
const fl_chip *fl_chip_at(size_t i);
/* The controller family's stub name ("f1"), program unit and erased
 * value, for callers outside loaders/. */
const char *fl_chip_stub(const fl_chip *c);
uint32_t fl_chip_program_unit(const fl_chip *c);
uint8_t fl_chip_erased(const fl_chip *c);
/* The word a job must give to write this part's option bytes
 * (fl_opt_family.confirm), or NULL when none is asked for. */
const char *fl_chip_option_confirm(const fl_chip *c);
/* "STM32F1, STM32F4, ...": every line the table holds, in table order,
 * each once, into buf (cut to n); lower: "f1, f4, ..." instead. */
void fl_lines_list(char *buf, size_t n, bool lower);
/* The short, lower-case line name of a row ("f1"), a static string. */
const char *fl_chip_line_short(const fl_chip *c);

/* Does a board (this row, flash_size bytes) fit an ordering code such as
 * "stm32f103rb" or "STM32F103xB" (any case)? The prefix must be one of the
 * row's parts, and a flash-size letter after the pin-count letter must
 * match flash_size (RM/datasheet ordering information: 8 = 64 KiB, B = 128
 * KiB, C = 256 KiB, E = 512 KiB, G = 1 MiB...); 'x' matches any. On false,
 * why says what differs. */
bool fl_chip_matches_part(const fl_chip *c, uint32_t flash_size, const char *part, char *why,
                          size_t whylen);
/* The flash size an ordering code's size letter names ("stm32f407vg": 1
 * MiB), in bytes; 0 when the code has no known letter there ('x', or too
 * short). */
uint32_t fl_part_flash_size(const char *part);
/* Is part's prefix (before the pin-count and size letters) one of the
 * row's parts? */
bool fl_chip_has_part(const fl_chip *c, const char *part);
/* Does a line name ("f1", "STM32F1", any case) name this row's line? */
bool fl_chip_matches_family(const fl_chip *c, const char *family);

/* One erase unit (page or sector) of a chip with flash_size bytes. */
typedef struct fl_unit {
    uint32_t index; /* 0-based across the whole flash */
    uint32_t addr, size;
    uint32_t bank;          /* 0 or 1 */
    uint32_t index_in_bank; /* what the controller's page/sector field takes */
} fl_unit;

/* Banks of a chip with flash_size bytes (1 or 2). */
uint32_t fl_chip_banks(const fl_chip *c, uint32_t flash_size);
/* Number of erase units for flash_size bytes; 0 if the size does not fit
 * the chip's layout. */
uint32_t fl_chip_unit_count(const fl_chip *c, uint32_t flash_size);
/* Unit number i; false past the end. */
bool fl_chip_unit(const fl_chip *c, uint32_t flash_size, uint32_t i, fl_unit *out);
/* The unit holding addr; false when addr is outside main flash. */
bool fl_chip_unit_at(const fl_chip *c, uint32_t flash_size, uint32_t addr, fl_unit *out);

#endif
