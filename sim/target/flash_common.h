/*
 * What the flash-controller models (flash_f1.c, flash_f4.c, flash_l0.c,
 * flash_l4.c) do alike: little-endian cells, address ranges, masked and
 * write-1-to-clear register stores, the two-key unlock sequence, the RUN_PD
 * power-down key, and the bookkeeping of the operation behind BSY. Which
 * register holds what, which bit locks what and what an error sets stay in
 * each chip's own file: those are the chip's rules. Nothing outside
 * sim/target includes this.
 */
#ifndef FLASHLINE_SIM_TARGET_FLASH_COMMON_H
#define FLASHLINE_SIM_TARGET_FLASH_COMMON_H

#include "board_internal.h"

/* ---- little-endian cells --------------------------------------------------- */

static inline uint16_t flash_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline void flash_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline uint32_t flash_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void flash_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---- address ranges ---------------------------------------------------------- */

/* addr..addr+len-1 lies inside base..base+size-1. */
static inline bool flash_in_range(uint32_t addr, uint32_t len, uint32_t base, uint32_t size)
{
    return addr >= base && addr - base + len <= size;
}

static inline bool flash_in_main(const sim_chip *c, uint32_t addr, uint32_t len)
{
    return flash_in_range(addr, len, c->flash_base, c->flash_size);
}

/* How many aligned units of unit bytes addr..addr+len-1 touches (len > 0;
 * the timing oracles' program and erase unit counts). */
static inline uint32_t flash_units_touched(uint32_t addr, uint32_t len, uint32_t unit)
{
    return (addr + len - 1) / unit - addr / unit + 1;
}

/* ---- register stores ------------------------------------------------------- */

/* A register after a store of value in the byte lanes of mask (see
 * flash_ctrl_ops.reg_write), of which only the bits in writable take. */
static inline uint32_t flash_masked(uint32_t old, uint32_t writable, uint32_t value, uint32_t mask)
{
    return (old & ~(writable & mask)) | (value & mask & writable);
}

/* Write-1-to-clear: the flags in w1c are cleared only where the store
 * really wrote a 1 (a byte store touches its own lane only). */
static inline void flash_w1c(uint32_t *reg, uint32_t w1c, uint32_t value, uint32_t mask)
{
    *reg &= ~(value & mask & w1c);
}

/* ---- readout protection (F2/F4/L0/L1/L4 encoding) --------------------------- */

#define FLASH_RDP_LEVEL0 0xAAu
#define FLASH_RDP_LEVEL2 0xCCu

/* 0xAA is level 0, 0xCC level 2, any other byte level 1. */
static inline unsigned flash_rdp_level(uint8_t rdp)
{
    return rdp == FLASH_RDP_LEVEL0 ? 0 : rdp == FLASH_RDP_LEVEL2 ? 2 : 1;
}

/* ---- two-key unlock sequence ------------------------------------------------- */

/* One key register: KEY1 then KEY2, full-word writes only. A wrong write
 * kills the register until reset (dead): every later write is wrong too. */
typedef struct flash_keyseq {
    bool key1_seen; /* KEY1 written, KEY2 expected next */
    bool dead;      /* wrong sequence: refused until reset */
} flash_keyseq;

typedef enum flash_key_result {
    FLASH_KEY_BAD,   /* wrong sequence: answer with a bus error */
    FLASH_KEY_TAKEN, /* accepted; nothing opens (yet) */
    FLASH_KEY_OPEN,  /* KEY2 completed the sequence: unlock */
} flash_key_result;

/* One write of value (lanes mask) to the key register. accept is false when
 * the register may not take a key now (already unlocked, or out of turn):
 * that write is a wrong sequence. */
flash_key_result flash_key_step(flash_keyseq *k, bool accept, uint32_t key1, uint32_t key2,
                                uint32_t value, uint32_t mask);

/* flash_key_step for a key register that clears lock_bit in *reg: accepted
 * only while lock_bit is set and prereq holds; the completed sequence clears
 * lock_bit, a wrong one sets it. Returns false for a bus error. */
bool flash_key_unlock(flash_keyseq *k, uint32_t *reg, uint32_t lock_bit, bool prereq, uint32_t key1,
                      uint32_t key2, uint32_t value, uint32_t mask);

/* Relocked by software: the sequence starts over (a dead register stays
 * dead). */
static inline void flash_key_restart(flash_keyseq *k)
{
    k->key1_seen = false;
}

/* ---- ACR.RUN_PD and its power-down keys (L0, L4) ------------------------------ */

/* PDKEYR: two keys open one write of ACR.RUN_PD. A wrong key restarts the
 * sequence, without a bus error. */
typedef struct flash_run_pd {
    uint8_t seq;   /* 0: PDKEY1 expected, 1: PDKEY2 */
    bool unlocked; /* the next ACR store may change RUN_PD */
} flash_run_pd;

void flash_run_pd_key(flash_run_pd *pd, uint32_t key1, uint32_t key2, uint32_t value,
                      uint32_t mask);
/* ACR after a store: the writable bits take, RUN_PD only when unlocked; a
 * store that covers RUN_PD's lane uses the unlock up. */
uint32_t flash_run_pd_acr(flash_run_pd *pd, uint32_t acr, uint32_t writable, uint32_t run_pd,
                          uint32_t value, uint32_t mask);

/* ---- the operation behind BSY ------------------------------------------------- */

/* What a running operation is changing, for a reset that cuts it short. */
typedef enum flash_area {
    FLASH_AREA_NONE,
    FLASH_AREA_MAIN, /* main flash array, addr/len */
    FLASH_AREA_INFO, /* bytes behind sim_board_info_ptr (EEPROM, OTP, options), addr/len */
} flash_area;

typedef struct flash_op {
    bool pending;    /* started; the controller has not yet seen it end */
    uint64_t end_ps; /* end of the last operation started */
    flash_area area;
    uint32_t addr, len;
} flash_op;

/* Start a flash-array operation of ns nanoseconds (sim_flash_begin_op). */
void flash_op_begin(sim_board *b, flash_op *op, uint64_t ns, flash_area area, uint32_t addr,
                    uint32_t len);
/* True once, when the pending operation has ended (BSY fell): the caller
 * then sets EOP and whatever else its chip does. Done lazily whenever
 * something looks at the controller. */
bool flash_op_ended(sim_board *b, flash_op *op);
/* No operation pending (reset). */
static inline void flash_op_forget(flash_op *op)
{
    op->pending = false;
    op->area = FLASH_AREA_NONE;
}
/* At reset: the cells an operation was still changing are left undefined,
 * modelled as random contents. The board may already have ended BSY when it
 * resets the controller, so this judges by the operation's own end time. */
void flash_op_cut_short(sim_board *b, const flash_op *op);

/* While the array is busy, the bus waits for it to be free. Returns true if
 * it waited (the caller settles its operation then). */
bool flash_stall_if_busy(sim_board *b);

/* Erase addr..addr+len-1 of main flash to the chip's erased value. */
void flash_erase_main(sim_board *b, uint32_t addr, uint32_t len);

#endif
