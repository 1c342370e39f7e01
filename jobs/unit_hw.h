/*
 * jobs/unit_hw: the unit state machine's target interface (unit_ops) over a
 * real probe: the probe driver and the loaders. Kept apart from unit.c so
 * that the machine and its tests need no USB; the daemon's slot workers and
 * `flashline flash` link this.
 */
#ifndef FLASHLINE_JOBS_UNIT_HW_H
#define FLASHLINE_JOBS_UNIT_HW_H

#include "stlink.h"
#include "unit.h"

typedef struct unit_hw unit_hw;

/* A binding for this probe handle (opened lazily by the first connect or
 * peek; the caller keeps owning it). */
unit_hw *unit_hw_create(pd_probe *probe);
void unit_hw_destroy(unit_hw *hw);

/* The operations; pass the unit_hw as their handle. */
extern const unit_ops unit_hw_ops;

#endif
