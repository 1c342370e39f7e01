-- Flashline audit store, schema version 3.
-- The counts /metrics starts from (store_unit_counts: GROUP BY probe, chip,
-- result over every unit) read this index in order instead of sorting every
-- unit: with temp_store = MEMORY that sort held tens of MB of heap at start
-- on a station with a million units, memory glibc then kept.
CREATE INDEX units_counts ON units (probe, chip, result);
