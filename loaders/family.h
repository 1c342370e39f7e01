/*
 * The interface of a flash-controller family file (loaders/families/).
 *
 * A family is one flash controller design: its registers and bits, how it
 * unlocks, erases a unit and the whole array, what its error flags mean and
 * what to do about them, how its option bytes are read, written and loaded,
 * and which loader stub programs it. Each family file exports descriptors
 * (fl_family) and nothing else; the engines (flash.c, options.c, direct.c,
 * clock.c) run any family through them and hold no family branch. Variants
 * of one design (F1 XL's second register block, dual-bank F4/F7, F0/F3's
 * option layout) are data: in the descriptor, or in the chip row
 * (chips.h) where they belong to a device.
 *
 * Private to loaders/.
 */
#ifndef FLASHLINE_LOADERS_FAMILY_H
#define FLASHLINE_LOADERS_FAMILY_H

#include "flash.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One flag of the status register: the manual's name, what it means for
 * the caller (FL_E_PROTECTED for write-protection flags, FL_E_FLASH for
 * the rest) and what a person should do. A list ends with bit 0. */
typedef struct fl_flag {
    uint32_t bit;
    const char *name;
    fl_err err;
    const char *advice;
} fl_flag;

/* One unlock sequence: two keys into keyr clear lock_bit in CR. */
typedef struct fl_key {
    uint32_t keyr; /* offset; 0 ends the list */
    uint32_t key1, key2;
    uint32_t lock_bit;
} fl_key;

/* What the chip has in force and what its option block holds (the block
 * loads at the next reset or OBL_LAUNCH; they differ after a write that
 * was not loaded yet). */
typedef struct fl_opt_now {
    fl_options loaded;
    int block_rdp;
    uint32_t block_user; /* in fl_options.user's layout */
} fl_opt_now;

/* Option bytes (options.c runs these). */
typedef struct fl_opt_family {
    uint8_t level_byte[2]; /* RDP byte written for level 0 and 1 */
    uint32_t user_mask;    /* bits of fl_options.user software may change */
    uint32_t op_ms;        /* an option write, by the datasheet, with margin */
    uint32_t regress_ms;   /* an option write that mass-erases (1 -> 0) */
    fl_err (*read)(fl_target *t, fl_opt_now *now);
    fl_err (*write)(fl_target *t, const fl_opt_now *now, int level, uint32_t user);
    /* Option unlock: two keys into optkeyr open lock_reg's bit (F1: set
     * OPTWRE, lock_bit_opens; the others: clear OPTLOCK). */
    uint32_t optkeyr, lock_reg, lock_bit, optkeys[2];
    bool lock_bit_opens;
    /* Load with this bit (OBL_LAUNCH, which resets the chip); 0: a system
     * reset loads them. */
    uint32_t obl_reg, obl_bit;
    /* Non-NULL: a write is refused unless the caller passes this word (the
     * job recipe's option_bytes.confirm), because a wrong option byte can
     * make the part unusable for good (TrustZone parts, issue 14). */
    const char *confirm;
} fl_opt_family;

typedef struct fl_family {
    const char *name;      /* the controller, for messages: "STM32F1 FPEC" */
    const char *stub;      /* loader stub (stubs.h) */
    uint8_t erased;        /* value of an erased byte */
    uint32_t program_unit; /* bytes the controller programs at once */
    /* Registers, as offsets from a bank's register block (chips.h). */
    uint32_t sr, cr;
    uint32_t sr_busy, sr_eop;
    const fl_flag *sr_flags; /* the error flags, cleared by writing 1 */
    /* Where the flags are cleared: 0 for SR itself (write 1 to a flag);
     * else the offset of a clear register with the flags' layout, SR being
     * read-only (H7 FLASH_CCR1/CCR2, RM0433 4.9). Per bank, as sr. */
    uint32_t sr_clear;
    fl_key keys[2];   /* unlock sequences, in order */
    uint32_t cr_lock; /* every lock bit of CR */
    uint32_t cr_keep; /* CR bits an operation write must keep (L0: the locks) */
    /* Readout protection as fl_identify reads it: protected when
     * (register & rdp_mask) != rdp_clear; rdp_off from flash_regs. */
    uint32_t rdp_off, rdp_mask, rdp_clear;
    /* Name the protection that register reads as, for people (fl_target.
     * protection: probe info, messages): the H5's product state, which is
     * no RDP level ("product state Closed (0x72)"). NULL: "RDP level 0"
     * when clear, "readout protection on" otherwise. */
    void (*protection)(uint32_t reg, char *buf, size_t n);
    /* fl_loader_buf.unit_code = index in bank | bank << bank_code_shift. */
    uint8_t bank_code_shift;
    uint32_t erase_ms, mass_ms; /* worst case, datasheet, per unit / array */
    fl_err (*erase)(fl_target *t, const fl_unit *u);
    fl_err (*mass_erase)(fl_target *t); /* NULL: no mass erase */
    /* Does the bank option select the row's other layout now (chips.h,
     * fl_chip.alt)? NULL: the family has no such option. */
    fl_err (*alt_layout)(fl_target *t, bool *alt);
    /* Before the first erase of a session (fl_unlock): make sure nothing
     * caches flash contents the loader is about to change (F2/F4 flash
     * caches, F7 ART and the Cortex-M7 L1 caches). NULL: nothing to do. */
    fl_err (*prepare)(fl_target *t);
    /* Fill the family's part of the stub's control block (loader_abi.h:
     * stub_l4x reads where the registers and bits are). NULL: the stub
     * knows its controller. */
    void (*loader_setup)(const fl_target *t, fl_loader_ctl *ctl);
    /* Direct programming (direct.c): CR bits that make stores program,
     * the store width, and a half-page mode (L0: FPRG) for aligned runs of
     * half_page bytes (0: none). */
    uint32_t cr_program;
    unsigned store_width;
    uint32_t half_page, cr_half_page;
    fl_opt_family opt;
    /* After programming, before the controller is locked: make what was
     * programmed take effect (G0/C0/U0/WB: clear FLASH_ACR.EMPTY, sampled
     * at reset, so that the new code boots). NULL: nothing to do. */
    fl_err (*settle)(fl_target *t);
    /* The family file's own data for this variant (its type is private to
     * the file). */
    const void *variant;
} fl_family;

/* ---- services of the engines for family files (loaders/ctrl.c) ----------- */

/* Address of register off in the register block of bank. */
uint32_t fl_reg(const fl_target *t, uint32_t bank, uint32_t off);
/* The register block that serves addr (1: F1 XL's bank 2). */
uint32_t fl_bank_of(const fl_target *t, uint32_t addr);
/* Register blocks the chip has (2 on F1 XL, which has one per bank). */
uint32_t fl_reg_blocks(const fl_target *t);
/*
 * The one busy-wait: poll SR of bank's block while BSY, up to the
 * controller's worst case timeout_ms plus the link's own slowness, gently
 * once it takes a while; then report, and clear, any error flag, naming
 * each one with what to do. what/addr say what was being done.
 */
fl_err fl_wait_idle(fl_target *t, uint32_t bank, uint32_t timeout_ms, const char *what,
                    uint32_t addr);
/* Describe the error flags in sr ("PGERR: ...; WRPRTERR: ...") into buf;
 * returns the typed error they mean (FL_OK for none). */
fl_err fl_flags_describe(const fl_target *t, uint32_t sr, char *buf, size_t n);
/* Write cr (operation bits), then cr | start, wait for the end, and write
 * CR back to what it keeps: the shape of every erase. Its two halves apart,
 * for operations that run in several banks at once (H7 bank erase: start
 * both, then finish both). */
fl_err fl_ctrl_start(fl_target *t, uint32_t bank, uint32_t cr, uint32_t start);
fl_err fl_ctrl_finish(fl_target *t, uint32_t bank, uint32_t timeout_ms, const char *what,
                      uint32_t addr);
fl_err fl_ctrl_run(fl_target *t, uint32_t bank, uint32_t cr, uint32_t start, uint32_t timeout_ms,
                   const char *what, uint32_t addr);
/* Main lock first (fl_unlock: OPTKEYR only takes keys once CR/PECR is
 * unlocked), then the option keys, only when still locked: a key written
 * to an open register is a wrong sequence on F4/L0/L4 and locks it until
 * reset (options.c). */
fl_err fl_opt_unlock(fl_target *t);
/* *on = (register off of the controller & mask) == want: an option bit
 * as alt_layout hooks read it. */
fl_err fl_reg_bit(fl_target *t, uint32_t off, uint32_t mask, bool want, bool *on);
/* The register that clears bank's status flags by writing 1s (SR, or the
 * family's sr_clear register). */
uint32_t fl_sr_clear_reg(const fl_target *t, uint32_t bank);
/* The error flags of the family's status register (every sr_flags bit). */
uint32_t fl_sr_errors(const fl_family *f);
/* Sleep between slow polls. */
void fl_sleep_ms(unsigned ms);

/* RDP byte -> level on the F0/F2/F3/F4/F7/L0/L4 encoding: 0xAA level 0,
 * 0xCC level 2, anything else level 1 (RM0090 3.7.3, RM0367 3.4.1, RM0351
 * 3.5.1, RM0091 4.1.1). */
static inline int fl_rdp_level(uint8_t rdp)
{
    return rdp == 0xAA ? 0 : rdp == 0xCC ? 2 : 1;
}

#endif
