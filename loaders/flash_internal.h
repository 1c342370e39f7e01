/*
 * Private to loaders/: the error conventions and controller services the
 * engines (flash.c, options.c, direct.c, clock.c) and the family files
 * share (ctrl.c). fl_fail writes t->msg and returns e; a failed probe call
 * keeps its pd_err and message (PD_TRY returns from the caller).
 */
#ifndef FLASHLINE_LOADERS_FLASH_INTERNAL_H
#define FLASHLINE_LOADERS_FLASH_INTERNAL_H

#include "family.h"
#include "flash.h"

#include <stdint.h>

fl_err fl_fail(fl_target *t, fl_err e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
fl_err fl_probe_fail(fl_target *t, pd_err e);
uint64_t fl_now_ms(void);
/* The controller family of the target's chip. */
const fl_family *fl_family_of(const fl_target *t);

#define PD_TRY(t, call)                                                                            \
    do {                                                                                           \
        pd_err pe_ = (call);                                                                       \
        if (pe_ != PD_OK)                                                                          \
            return fl_probe_fail((t), pe_);                                                        \
    } while (0)

#endif
