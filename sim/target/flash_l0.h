/*
 * Inside the L0/L1 NVM model: what flash_l0.c (the controller) and
 * flash_l0_variants.c (the parts' variants of it) share. Nothing else
 * includes this.
 */
#ifndef FLASHLINE_SIM_TARGET_FLASH_L0_H
#define FLASHLINE_SIM_TARGET_FLASH_L0_H

#include "flash_common.h"

/* SR flags (RM0377 / RM0038 FLASH_SR) */
#define SR_EOP        (1u << 1)
#define SR_WRPERR     (1u << 8)
#define SR_PGAERR     (1u << 9)
#define SR_SIZERR     (1u << 10)
#define SR_OPTVERR    (1u << 11)
#define SR_RDERR      (1u << 13)
#define SR_NOTZEROERR (1u << 16)
#define SR_FWWERR     (1u << 17)
/* The L0's flags (RM0377 FLASH_SR); the L1 has neither NOTZEROERR nor
 * FWWERR (RM0038 FLASH_SR, stm32l152xe.h) */
#define SR_W1C_L0                                                                                  \
    (SR_EOP | SR_WRPERR | SR_PGAERR | SR_SIZERR | SR_OPTVERR | SR_RDERR | SR_NOTZEROERR | SR_FWWERR)
#define SR_W1C_L1 (SR_EOP | SR_WRPERR | SR_PGAERR | SR_SIZERR | SR_OPTVERR | SR_RDERR)

#define WRP_WORDS 8u /* option words of 16 sectors: up to 128 sectors (L1 512 KiB) */

/* What the flash-size cell (sim_chip.flash_size_reg) holds. */
typedef enum l0_size_cell {
    SIZE_KIB,      /* u16 KiB */
    SIZE_CODE_436, /* L1 0x436: 0 = 384 KiB, 1 = 256 KiB (HAL-L1 FLASH_SIZE) */
    SIZE_LOW_BYTE, /* L1 0x429: KiB in the low byte only; the high byte is
                      not part of it (reads 0xFF here [U]) */
} l0_size_cell;

/* What the NVM design varies in (see the file header). */
typedef struct l0_variant {
    unsigned hp_words;     /* words in a half page: 16 (L0), 32 (L1) */
    uint32_t sr_w1c;       /* SR flags this NVM has (w1c) */
    bool notzero;          /* NOTZEROERR on program over a non-zero word */
    bool nzdisable;        /* PECR.NZDISABLE b23 exists (L0) */
    uint32_t acr_writable; /* ACR bits software can write */
    uint32_t acr_acc64;    /* ACC64: LATENCY/PRFTEN take only with it, 0 = none */
    bool parallbank;       /* PECR.PARALLBANK: bank 2 from flash_size / 2 */
    /* WRP option words (16 sectors each, in order) and WRPRx registers (32
     * sectors each), as offsets from OPT_BASE / the register block */
    uint8_t nwrp_opt, nwrpr;
    uint16_t wrp_opt[WRP_WORDS];
    uint16_t wrpr[WRP_WORDS / 2];
    uint16_t factory_user; /* USER option word as shipped [U] */
    uint64_t tprog_ns;
    l0_size_cell size_cell;
} l0_variant;

/*
 * tprog: "Programming time for word or half-page" (and page erase, one
 * high-voltage phase) in the STM32L053x6/x8 datasheet, "Flash memory and data
 * EEPROM characteristics": 3.2 ms typ [U], 3.94 ms max (max corroborated by
 * libopencm3 FLASH_T_PROG); the STM32L15x datasheets' table of the same name
 * gives 3.28 ms typ [U]. Data EEPROM and option words that are not zero need
 * an erase phase first: two tprog [U].
 */
#define TPROG_L0_NS 3200000ull
#define TPROG_L1_NS 3280000ull

#define HP_WORDS 32u /* the larger half page (L1) */

/* The controller's state. */
typedef struct l0_state {
    uint32_t acr, pecr, sr;
    /* Unlock sequence per key register; a bad access keeps the lock set
     * until reset. */
    flash_keyseq pe_keys, prg_keys, opt_keys;
    flash_run_pd pd; /* PDKEYR and ACR.RUN_PD */
    /* Loaded option bytes (OPTR / WRPR). */
    uint32_t optr;
    uint32_t wrp[WRP_WORDS / 2]; /* WRPR1.. as loaded, 32 sectors each */
    bool opt_invalid;            /* OPTVERR at the last load; set again at each reset */
    bool obl_pending;            /* OBL_LAUNCH: reload options during the reset */
    /* Half-page latch: count words loaded so far; with PARALLBANK a second
     * half page (bank 2) follows the first. */
    unsigned hp_count;
    uint32_t hp_base[2];
    uint32_t hp_data[2 * HP_WORDS];
    /* PARALLBANK page erase: the bank 1 page waiting for its bank 2 twin */
    bool par_erase;
    uint32_t par_page;
    /* The operation behind BSY: EOP is set when it has ended (lazily, the
     * next time anything looks at the controller). */
    flash_op op;
} l0_state;

/* The controller's operations (flash_ctrl_ops), shared by every variant. */
void l0_factory(sim_board *b, void *st);
void l0_reset(sim_board *b, void *st, bool power_on);
uint32_t l0_reg_read(sim_board *b, void *st, uint32_t offset);
bool l0_reg_write(sim_board *b, void *st, uint32_t offset, uint32_t value, uint32_t mask);
bool l0_mem_write(sim_board *b, void *st, bus_master who, uint32_t addr, uint32_t value,
                  unsigned size);
bool l0_read_protected(sim_board *b, void *st);
void l0_inject_stale_errors(sim_board *b, void *st);
void l0_inject_rdp1(sim_board *b, void *st);
unsigned l0_latency(sim_board *b, void *st);
void l0_timing(sim_board *b, void *st, uint32_t addr, uint32_t len, sim_flash_timing *out);

#endif
