/*
 * What every flash-loader stub shares: register access, the buffer loop of
 * loader_abi.h, and CRC-32. Each family file provides program_chunk() and
 * erase_unit().
 */
#ifndef FLASHLINE_LOADERS_STUB_H
#define FLASHLINE_LOADERS_STUB_H

#include "loader_abi.h"

#include <stdint.h>

#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))
#define REG16(a) (*(volatile uint16_t *)(uintptr_t)(a))

/* IWDG key register: a refresh is harmless when the watchdog is off, and
 * keeps a hardware watchdog quiet while the core runs the stub. A stub
 * for a chip that keeps it elsewhere defines IWDG_KR before including this
 * (H7: IWDG1 at 0x58004800, where 0x40003000 is no watchdog). */
#ifndef IWDG_KR
#define IWDG_KR 0x40003000u
#endif

/* A few hundred cycles between two polls of something slow (an erase, the
 * host filling a buffer): a register read per loop buys nothing and keeps
 * the bus busy; at 80 MHz this is ~10 us, at 2 MHz ~0.4 ms, either way
 * small against a page erase (3.2 ms and up) or a USB round trip (1 ms). */
#define POLL_PAUSE 256u
static inline void poll_pause(void)
{
    for (uint32_t i = 0; i < POLL_PAUSE; i++)
        __asm__ volatile("" ::: "memory");
}

/* Wait while the controller is busy, keeping the watchdog fed: an erase
 * can take longer than the shortest watchdog timeout. */
static inline uint32_t wait_busy(uint32_t sr_addr, uint32_t busy_bit)
{
    uint32_t sr;
    while ((sr = *(volatile uint32_t *)(uintptr_t)sr_addr) & busy_bit) {
        *(volatile uint32_t *)(uintptr_t)IWDG_KR = 0xAAAAu;
        poll_pause();
    }
    return sr;
}

/* Wait for the operation a flash write at `at` started (a program; an
 * erase on the L0) and return FLASH_SR. A read of flash while the
 * operation runs stalls the bus until it ends (RM0008 3.3.3, RM0390 3.5,
 * RM0367 3.3.4, RM0351 3.3.7 for the same bank): no register polling for
 * the 16-82 us a unit takes. The BSY loop after it is a safety net that
 * exits at once. SR is read before the stalling read: a write refused at
 * once (WRPERR, PGSERR...) starts no operation, and under readout
 * protection a core read of flash with the debugger attached is a bus
 * fault. */
static inline uint32_t wait_written(uint32_t sr_addr, uint32_t busy_bit, uint32_t errors,
                                    uint32_t at)
{
    uint32_t sr = REG32(sr_addr);
    if (sr & errors)
        return sr;
    (void)REG32(at & ~3u);
    while ((sr = REG32(sr_addr)) & busy_bit)
        ;
    return sr;
}

uint32_t stub_main(fl_loader_ctl *ctl);

/* Program one buffer; returns an fl_loader_status (FL_ST_OK to go on). */
static uint32_t program_chunk(fl_loader_ctl *ctl, uint32_t addr, const uint8_t *src, uint32_t len);
/* Erase one unit (see fl_loader_buf); same return convention. */
static uint32_t erase_unit(fl_loader_ctl *ctl, uint32_t unit_addr, uint32_t unit_code);

/* CRC-32, reflected polynomial 0xEDB88320 (IEEE 802.3, zlib's crc32()),
 * a byte at a time from a 256-entry table the stub builds on its stack
 * (no .data in a stub; ~10k cycles), reading flash a word at a time: every
 * flash read costs its wait states, so four bytes a read matter at a fast
 * clock. */
static void crc32_table(uint32_t tab[256])
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        tab[n] = c;
    }
}

static uint32_t crc32_region(const uint32_t tab[256], uint32_t addr, uint32_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    uint32_t i = 0;
    for (; i < len && ((addr + i) & 3); i++)
        crc = tab[(crc ^ *(const volatile uint8_t *)(uintptr_t)(addr + i)) & 0xFF] ^ (crc >> 8);
    for (; len - i >= 4; i += 4) {
        crc ^= *(const volatile uint32_t *)(uintptr_t)(addr + i);
        crc = tab[crc & 0xFF] ^ (crc >> 8);
        crc = tab[crc & 0xFF] ^ (crc >> 8);
        crc = tab[crc & 0xFF] ^ (crc >> 8);
        crc = tab[crc & 0xFF] ^ (crc >> 8);
        /* Every 4 KiB of flash; by address, which is aligned here (the
         * offset need not be: from an odd start it never hit 0 mod 4096,
         * and a long pass let the watchdog reset the chip). */
        if (((addr + i) & 0xFFF) == 0)
            REG32(IWDG_KR) = 0xAAAAu;
    }
    for (; i < len; i++)
        crc = tab[(crc ^ *(const volatile uint8_t *)(uintptr_t)(addr + i)) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* The CRC operations, apart so that the table's 1 KiB of stack is taken
 * only for them. */
static __attribute__((noinline)) uint32_t crc_ops(fl_loader_ctl *ctl)
{
    uint32_t tab[256];
    crc32_table(tab);
    if (ctl->op == FL_OP_CRC32) {
        ctl->crc = crc32_region(tab, ctl->buf[0].addr, ctl->buf[0].len);
    } else {
        fl_crc_item *item = (fl_crc_item *)(uintptr_t)ctl->buf[0].data;
        for (uint32_t k = 0; k < ctl->buf[0].len; k++)
            item[k].crc = crc32_region(tab, item[k].addr, item[k].len);
    }
    ctl->status = FL_ST_OK;
    return FL_ST_OK;
}

uint32_t stub_main(fl_loader_ctl *ctl)
{
    if (ctl->op == FL_OP_CRC32 || ctl->op == FL_OP_CRC32_LIST)
        return crc_ops(ctl);
    uint32_t i = 0;
    for (;;) {
        fl_loader_buf *b = &ctl->buf[i];
        while (b->state != FL_BUF_FULL) {
            if (ctl->stop && ctl->buf[0].state != FL_BUF_FULL && ctl->buf[1].state != FL_BUF_FULL) {
                ctl->status = FL_ST_OK;
                return FL_ST_OK;
            }
            REG32(IWDG_KR) = 0xAAAAu;
            poll_pause();
        }
        uint32_t st = FL_ST_OK;
        for (uint32_t k = 0; st == FL_ST_OK && k < b->erase; k++)
            st = erase_unit(ctl, b->unit_addr + k * b->unit_size, b->unit_code + k);
        if (st == FL_ST_OK)
            st = program_chunk(ctl, b->addr, (const uint8_t *)(uintptr_t)b->data, b->len);
        if (st != FL_ST_OK) {
            ctl->status = st;
            return st;
        }
        ctl->bytes_done += b->len;
        b->state = FL_BUF_EMPTY;
        i ^= 1;
    }
}

#endif
