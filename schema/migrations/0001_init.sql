-- Flashline audit store, schema version 1.
-- Applied by store.c in one transaction, then PRAGMA user_version = 1.
-- Times are INTEGER milliseconds since the Unix epoch (UTC), given by the
-- daemon. STRICT tables so that a wrong type is an error, not a silent
-- conversion that an audit query would later miss.

CREATE TABLE probes (
    serial            TEXT PRIMARY KEY NOT NULL,
    kind              TEXT NOT NULL,
    first_seen        INTEGER NOT NULL,
    last_seen         INTEGER NOT NULL,
    quarantine_reason TEXT,            -- NULL = not quarantined
    quarantined_at    INTEGER
) STRICT;

-- Content-addressed: the key is the SHA-256 of bytes, so the same upload
-- twice is one row.
CREATE TABLE images (
    sha256  TEXT PRIMARY KEY NOT NULL CHECK (length(sha256) = 64),
    format  TEXT NOT NULL,
    base    INTEGER NOT NULL CHECK (base BETWEEN 0 AND 4294967295),
    size    INTEGER NOT NULL CHECK (size = length(bytes)),
    bytes   BLOB NOT NULL,
    created INTEGER NOT NULL
) STRICT;

CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL CHECK (state IN ('running', 'paused', 'cancelled', 'done')),
    image         TEXT NOT NULL REFERENCES images (sha256),
    recipe_json   TEXT NOT NULL DEFAULT '{}',  -- opaque to the store
    count         INTEGER CHECK (count IS NULL OR count >= 0), -- NULL = continuous
    has_serial    INTEGER NOT NULL CHECK (has_serial IN (0, 1)),
    next_serial   INTEGER,
    serial_step   INTEGER,
    created       INTEGER NOT NULL,
    finished      INTEGER,
    submitted_uid INTEGER NOT NULL,
    CHECK (has_serial = 0 OR (next_serial IS NOT NULL AND serial_step IS NOT NULL))
) STRICT;
CREATE INDEX jobs_created ON jobs (created, id);

CREATE TABLE units (
    id            INTEGER PRIMARY KEY,
    job           INTEGER NOT NULL REFERENCES jobs (id),
    probe         TEXT NOT NULL REFERENCES probes (serial),
    uid           TEXT NOT NULL,
    chip          TEXT NOT NULL,
    serial_number INTEGER,                     -- NULL = the job injects none
    image         TEXT NOT NULL REFERENCES images (sha256),
    result        TEXT NOT NULL DEFAULT 'in_flight'
                  CHECK (result IN ('in_flight', 'ok', 'failed', 'interrupted')),
    error         TEXT,
    started       INTEGER NOT NULL,
    finished      INTEGER
) STRICT;
CREATE INDEX units_uid ON units (uid, started);
-- Unique: a last line of defence against handing one serial out twice.
CREATE UNIQUE INDEX units_serial ON units (serial_number, job) WHERE serial_number IS NOT NULL;
-- Also serves a job's counters (covering) and a job's units newest first.
CREATE INDEX units_job_result ON units (job, result, started);
CREATE INDEX units_probe_started ON units (probe, started);
CREATE INDEX units_started ON units (started);
CREATE INDEX units_finished ON units (finished);
-- Recovery after a crash looks only at these; keeps start-up O(in flight).
CREATE INDEX units_in_flight ON units (result) WHERE result = 'in_flight';

CREATE TABLE attempts (
    id       INTEGER PRIMARY KEY,
    unit     INTEGER NOT NULL REFERENCES units (id),
    n        INTEGER NOT NULL CHECK (n >= 1),
    started  INTEGER NOT NULL,
    finished INTEGER,
    result   TEXT NOT NULL DEFAULT 'in_flight'
             CHECK (result IN ('in_flight', 'ok', 'failed', 'interrupted')),
    state    TEXT,     -- the last state of the state machine it reached
    error    TEXT,
    UNIQUE (unit, n)
) STRICT;
CREATE INDEX attempts_in_flight ON attempts (result) WHERE result = 'in_flight';

CREATE TABLE recovery (
    id      INTEGER PRIMARY KEY,
    unit    INTEGER NOT NULL REFERENCES units (id),
    attempt INTEGER NOT NULL REFERENCES attempts (id),
    at      INTEGER NOT NULL,
    step    TEXT NOT NULL,
    ok      INTEGER NOT NULL CHECK (ok IN (0, 1))
) STRICT;
CREATE INDEX recovery_unit ON recovery (unit, attempt, id);

CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    probe     TEXT,
    job       INTEGER REFERENCES jobs (id),
    unit      INTEGER REFERENCES units (id),
    data_json TEXT
) STRICT;
CREATE INDEX events_at ON events (at);
CREATE INDEX events_unit ON events (unit) WHERE unit IS NOT NULL;
