/*
 * The contract between the flash-loader stubs (running on the target) and
 * the host that drives them: a control block in target SRAM.
 *
 * A stub is started with R0 = address of the control block, interrupts
 * masked (C_MASKINTS), the controller already unlocked by the host. For
 * FL_OP_PROGRAM it works through two buffers in turn: it waits for the
 * host to mark a buffer FULL, programs it, marks it EMPTY and moves on to
 * the other one, so the host fills one buffer over SWD while the flash
 * programs the other (double buffering: the flash controller, not USB, sets
 * the pace). It ends in BKPT when the host sets `stop` and no buffer is
 * full, or at the first error, with `status`, `sr` and `fail_addr` set.
 * A buffer may ask for erase units (pages or sectors) to be erased first:
 * `erase` consecutive units of `unit_size` bytes from `unit_addr` (codes
 * unit_code, unit_code + 1, ...: one bank), all of them before any byte of
 * the buffer is programmed. Erasing, too, then runs at the controller's
 * pace with no USB round trip per poll, and a buffer can span many small
 * pages (128 bytes on the L0), so the host's few commands per buffer are
 * spread over many pages. FL_OP_CRC32 computes the CRC-32 (IEEE 802.3, as zlib's crc32())
 * of [addr, addr+len) of buffer 0's description; FL_OP_CRC32_LIST does so
 * for each of buffer 0's `len` fl_crc_items at its `data` address.
 *
 * Included by the stubs (built with arm-none-eabi-gcc) and by the host.
 */
#ifndef FLASHLINE_LOADERS_LOADER_ABI_H
#define FLASHLINE_LOADERS_LOADER_ABI_H

#include <stdint.h>

enum fl_loader_op {
    FL_OP_PROGRAM = 1,
    FL_OP_CRC32 = 2,
    FL_OP_CRC32_LIST = 3,
};

enum fl_buf_state {
    FL_BUF_EMPTY = 0,
    FL_BUF_FULL = 1,
};

enum fl_loader_status {
    FL_ST_RUNNING = 0,
    FL_ST_OK = 1,
    FL_ST_FLASH_ERROR = 2, /* the controller set an error flag: see sr */
    FL_ST_VERIFY = 3,      /* a programmed word did not read back */
    FL_ST_BAD_REQUEST = 4, /* misaligned address or length */
};

typedef struct fl_loader_buf {
    volatile uint32_t state; /* enum fl_buf_state */
    uint32_t addr;           /* flash destination */
    uint32_t len;            /* bytes; a multiple of the program unit (may be 0) */
    uint32_t data;           /* SRAM address of the bytes */
    uint32_t erase;          /* units to erase first (0: none) */
    uint32_t unit_addr;      /* the first erase unit's first address */
    uint32_t unit_code;      /* its page/sector number in its bank | bank << 8 */
    uint32_t unit_size;      /* bytes of each unit (with erase > 1) */
} fl_loader_buf;

typedef struct fl_crc_item {
    uint32_t addr, len;
    uint32_t crc; /* written by the stub */
} fl_crc_item;

/* For stub_l4x, which serves every L4-generation controller: where the
 * family keeps its registers and bits (the host's family descriptor fills
 * these; other stubs ignore them). */
typedef struct fl_loader_l4 {
    uint32_t sr_off, cr_off; /* offsets from flash_regs */
    uint32_t sr_busy;        /* BSY, and CFGBSY where there is one */
    uint32_t sr_errors, sr_eop;
    uint32_t cr_pg, cr_per, cr_strt;
    uint32_t cr_bker;   /* the bank-2 bit of a page erase, 0: one bank */
    uint32_t pnb_shift; /* where PNB starts in CR */
    uint32_t prog_unit; /* bytes: 8 (double word), 16 (quad word) */
    /* Where the flags are cleared by writing 1s: 0 for SR itself; else
     * the offset of a clear register, SR being read-only (H5 NSCCR). */
    uint32_t sr_clear_off;
} fl_loader_l4;

/* For stub_h7, which serves every H7 flash interface: the CR bits of the
 * variant (H74x/H72x: PSIZE x64 with PG and SER, FW b6, START b7, SNB from
 * b8; H7Ax/H7Bx: no PSIZE, FW b4, START b5, SNB from b6) and its flash word
 * (32 or 16 bytes). The host's h7 descriptors fill these; other stubs
 * ignore them. */
typedef struct fl_loader_h7 {
    uint32_t cr_program; /* CR while programming: PG (| PSIZE) */
    uint32_t cr_erase;   /* CR of a sector erase before SNB: SER (| PSIZE) */
    uint32_t cr_fw, cr_start;
    uint32_t snb_shift, snb_mask; /* SNB = (unit_code & snb_mask) << snb_shift */
    uint32_t word;                /* flash word, bytes: 32 or 16 */
} fl_loader_h7;

typedef struct fl_loader_ctl {
    uint32_t op;              /* enum fl_loader_op */
    uint32_t flash_regs;      /* controller base, e.g. 0x40022000 */
    volatile uint32_t stop;   /* host: no more buffers will come */
    volatile uint32_t status; /* stub: enum fl_loader_status */
    uint32_t sr;              /* FLASH_SR when the stub stopped on an error */
    uint32_t fail_addr;       /* the address being programmed then */
    uint32_t crc;             /* FL_OP_CRC32 result */
    uint32_t bytes_done;      /* progress, for the host's bar */
    fl_loader_buf buf[2];
    /* A second register block for bank 2 (F1 XL density, RM0008 3.3.3):
     * addresses from bank2_addr on are programmed and erased through
     * bank2_regs. 0: one block for all of flash. */
    uint32_t bank2_regs;
    uint32_t bank2_addr;
    fl_loader_l4 l4; /* stub_l4x only */
    /* stub_l0: bytes of a half page (L0 64, L1 128); 0: 64. */
    uint32_t half_page;
    fl_loader_h7 h7; /* stub_h7 only */
} fl_loader_ctl;

/* The control block sits between the stub and the buffers (0x100 bytes:
 * flash.c, CTL_ADDR and BUF_ADDR). */
_Static_assert(sizeof(fl_loader_ctl) <= 0x100, "fl_loader_ctl outgrew its 0x100 bytes");

#endif
