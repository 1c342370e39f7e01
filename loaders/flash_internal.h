/*
 * Private to loaders/: the error conventions flash.c, options.c and direct.c
 * share. fl_fail writes t->msg and returns e; a failed probe call keeps its
 * pd_err and message (PD_TRY returns from the caller).
 */
#ifndef FLASHLINE_LOADERS_FLASH_INTERNAL_H
#define FLASHLINE_LOADERS_FLASH_INTERNAL_H

#include "flash.h"

#include <stdint.h>

fl_err fl_fail(fl_target *t, fl_err e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
fl_err fl_probe_fail(fl_target *t, pd_err e);
uint64_t fl_now_ms(void);

#define PD_TRY(t, call)                                                                            \
    do {                                                                                           \
        pd_err pe_ = (call);                                                                       \
        if (pe_ != PD_OK)                                                                          \
            return fl_probe_fail((t), pe_);                                                        \
    } while (0)

#endif
