-- Flashline audit store, schema version 4: adaptive recovery (issue 16).
-- recovery_memory: per probe and failure signature (the unit state that
-- failed, its event class and error class, by their names in jobs/unit.h),
-- the recovery step that cured it last; the station tries it first next
-- time and deletes the row when it stops curing. recovery.cured marks the
-- step after which the failed state went on to succeed: the audit names
-- the rung that cured each failure.
CREATE TABLE recovery_memory (
    probe      TEXT NOT NULL,
    state      TEXT NOT NULL,
    event      TEXT NOT NULL,
    error      TEXT NOT NULL,
    step       TEXT NOT NULL,
    cures      INTEGER NOT NULL DEFAULT 1,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (probe, state, event, error)
) STRICT;
ALTER TABLE recovery ADD COLUMN cured INTEGER NOT NULL DEFAULT 0 CHECK (cured IN (0, 1));
