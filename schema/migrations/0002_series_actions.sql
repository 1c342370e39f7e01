-- Flashline audit store, schema version 2: station-wide serial series and
-- the actions of operators.
-- Applied by store.c in one transaction, then PRAGMA user_version = 2.
--
-- Until version 1 a serial number was a counter of its job, so a job
-- cancelled after handing out 1000 and a new job started at 1000 gave two
-- boards the same number. Now numbers come from a series shared by every
-- job that writes to the same place in the same format, and each number is
-- recorded once, in serial_numbers, whatever becomes of its unit.

-- next is the durable cursor: one past the largest number ever handed out
-- in the series (or the start the series was created with), so any number
-- >= next is safe to hand out.
CREATE TABLE serial_series (
    name    TEXT PRIMARY KEY NOT NULL,
    next    INTEGER NOT NULL,
    created INTEGER NOT NULL
) STRICT;

-- A number is here at most once per series. state: issued = its unit is
-- in flight; ok = the unit ended ok, the board holds it; void = the unit
-- failed before its flash could hold it; unknown = the unit failed or was
-- interrupted after programming may have begun, so a board may hold it.
-- No state ever makes a number available again.
CREATE TABLE serial_numbers (
    series TEXT NOT NULL REFERENCES serial_series (name),
    number INTEGER NOT NULL,
    job    INTEGER NOT NULL REFERENCES jobs (id),
    unit   INTEGER NOT NULL REFERENCES units (id),
    state  TEXT NOT NULL CHECK (state IN ('issued', 'ok', 'void', 'unknown')),
    PRIMARY KEY (series, number)
) STRICT;
-- A unit's number: for its end, crash recovery and the unit queries.
CREATE UNIQUE INDEX serial_numbers_unit ON serial_numbers (unit);
-- Which job handed out numbers from a point on (the refusal message).
CREATE INDEX serial_numbers_job ON serial_numbers (job);

ALTER TABLE jobs ADD COLUMN series TEXT REFERENCES serial_series (name); -- NULL = no series
ALTER TABLE jobs ADD COLUMN serial_max INTEGER;  -- the largest number the format holds
ALTER TABLE jobs ADD COLUMN state_reason TEXT;   -- why the job stopped by itself
CREATE INDEX jobs_series_state ON jobs (series, state) WHERE series IS NOT NULL;

-- Who did what: job submissions and state changes, quarantines.
CREATE TABLE actions (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    verb        TEXT NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('job', 'probe', 'image', 'station')),
    target      TEXT NOT NULL,
    detail_json TEXT
) STRICT;
CREATE INDEX actions_target ON actions (target_kind, target, at);
CREATE INDEX actions_at ON actions (at);

-- ---- existing jobs with a serial number get their series ----------------
-- The series name is the rule of store.h (STORE_SERIES_NAME_FMT):
-- "0x%08X/<format>", the address in upper-case hex, format defaulting to
-- u32le, so that the daemon, which computes the name from the request,
-- names the same series. The recipe is the daemon's request; "addr" may be
-- an integer or a string in C notation (0x.. hex, 0.. octal, decimal), as
-- the daemon's strtoull(.., 0) accepted it.
CREATE TEMP TABLE m2_src AS
SELECT id,
       CASE WHEN json_valid(recipe_json) THEN json_type(recipe_json, '$.serial.addr') END AS atype,
       CASE WHEN json_valid(recipe_json) THEN json_extract(recipe_json, '$.serial.addr') END
           AS addr,
       coalesce(CASE WHEN json_valid(recipe_json)
                     THEN json_extract(recipe_json, '$.serial.format') END, 'u32le') AS fmt,
       CASE WHEN json_valid(recipe_json)
            THEN CAST(json_extract(recipe_json, '$.serial.width') AS INTEGER) END AS width
  FROM jobs WHERE has_serial = 1;

-- Text addresses, digit by digit in their base. ok turns 0 at the first
-- character that is not a digit of the base.
CREATE TEMP TABLE m2_addr AS
WITH RECURSIVE digits (id, base, rest, val, ok) AS (
    SELECT id, b,
           CASE b WHEN 16 THEN substr(addr, 3) WHEN 8 THEN substr(addr, 2) ELSE addr END,
           0, 1
      FROM (SELECT id, addr,
                   CASE WHEN lower(substr(addr, 1, 2)) = '0x' THEN 16
                        WHEN substr(addr, 1, 1) = '0' AND length(addr) > 1 THEN 8
                        ELSE 10 END AS b
              FROM m2_src WHERE atype = 'text')
    UNION ALL
    SELECT id, base, substr(rest, 2),
           val * base + instr('0123456789ABCDEF', upper(substr(rest, 1, 1))) - 1,
           instr('0123456789ABCDEF', upper(substr(rest, 1, 1))) BETWEEN 1 AND base
           AND val <= 4294967295
      FROM digits WHERE rest <> '' AND ok
)
SELECT id, val FROM digits
 WHERE rest = '' AND ok AND val <= 4294967295
       AND id IN (SELECT id FROM m2_src WHERE addr <> '' AND lower(addr) <> '0x')
UNION ALL
SELECT id, addr FROM m2_src WHERE atype = 'integer' AND addr BETWEEN 0 AND 4294967295;

-- A job whose recipe names no usable address (written by a test or a tool,
-- not by the daemon) cannot share a series with anyone: it gets its own,
-- "job:<id>". serial_max: what the format holds at the recipe's width
-- (defaults: 4 bytes for u32le, 8 characters for text), capped at INT64_MAX.
CREATE TEMP TABLE m2_jobs AS
SELECT s.id AS id,
       CASE WHEN a.val IS NOT NULL THEN printf('0x%08X/%s', a.val, s.fmt)
            ELSE 'job:' || s.id END AS series,
       CASE s.fmt
           WHEN 'u32le' THEN
               CASE WHEN coalesce(s.width, 4) >= 8 THEN 9223372036854775807
                    ELSE (1 << (8 * max(coalesce(s.width, 4), 1))) - 1 END
           WHEN 'ascii-dec' THEN
               CASE WHEN coalesce(s.width, 8) >= 19 THEN 9223372036854775807
                    ELSE CAST(substr('999999999999999999', 1, max(coalesce(s.width, 8), 1))
                              AS INTEGER) END
           WHEN 'ascii-hex' THEN
               CASE WHEN coalesce(s.width, 8) >= 16 THEN 9223372036854775807
                    ELSE (1 << (4 * max(coalesce(s.width, 8), 1))) - 1 END
           ELSE 9223372036854775807 END AS serial_max
  FROM m2_src s LEFT JOIN m2_addr a ON a.id = s.id;

-- The cursor: past every number a unit of the series holds, and past every
-- job's own counter (a job may have been created without handing out any).
INSERT INTO serial_series (name, next, created)
SELECT m.series,
       max(max(j.next_serial),
           coalesce((SELECT max(u.serial_number) + 1 FROM units u JOIN m2_jobs k ON k.id = u.job
                      WHERE k.series = m.series), 0)),
       min(j.created)
  FROM m2_jobs m JOIN jobs j ON j.id = m.id
 GROUP BY m.series;

UPDATE jobs SET series = m.series, serial_max = m.serial_max FROM m2_jobs m WHERE jobs.id = m.id;

-- Databases written before this version may already hold a number twice
-- (the bug this version fixes). The earliest unit (lowest id) keeps the
-- number and OR IGNORE skips the later ones, so such a database migrates
-- rather than failing; the later units keep their serial_number in units,
-- where an audit still finds the duplicate.
INSERT OR IGNORE INTO serial_numbers (series, number, job, unit, state)
SELECT j.series, u.serial_number, u.job, u.id,
       CASE u.result WHEN 'ok' THEN 'ok' WHEN 'in_flight' THEN 'issued' ELSE 'unknown' END
  FROM units u JOIN jobs j ON j.id = u.job
 WHERE u.serial_number IS NOT NULL AND j.series IS NOT NULL
 ORDER BY u.id;

DROP TABLE m2_jobs;
DROP TABLE m2_addr;
DROP TABLE m2_src;
