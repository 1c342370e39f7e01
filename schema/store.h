/* The audit store of flashlined: probes, images, jobs, units, attempts,
 * recovery steps and events in one SQLite database.
 *
 * Threading: a store is used from ONE thread (the daemon's loop) and does no
 * locking of its own; SQLite is opened in its multi-thread mode, so two
 * threads must never call into the same store at once. Another process may
 * read the database at the same time (WAL); a second writer waits up to the
 * busy timeout and then gets STORE_E_IO with a "locked" message.
 *
 * Durability: every write function commits before it returns, with
 * synchronous=FULL, so a unit's result is on disk before the daemon tells
 * anyone about it.
 *
 * Time: every time is int64 milliseconds since the Unix epoch, passed in by
 * the caller; the store has no clock of its own, so tests are deterministic.
 *
 * Errors: every fallible function returns a store_err; store_message() then
 * says what happened and what to do. Bad arguments give STORE_E_ARG and
 * change nothing. */
#ifndef FLASHLINE_SCHEMA_STORE_H
#define FLASHLINE_SCHEMA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct store store;

typedef enum store_err {
    STORE_OK = 0,
    STORE_E_IO,        /* disk full, read-only, locked by another process, I/O error */
    STORE_E_CORRUPT,   /* not a database, malformed, or newer schema than this binary */
    STORE_E_NOT_FOUND, /* unknown id, serial or sha256 */
    STORE_E_CONFLICT,  /* constraint violated (e.g. state change of a finished job) */
    STORE_E_ARG,       /* bad argument; nothing changed */
    STORE_E_NOMEM,
    STORE_E_EXHAUSTED, /* a serial series has no number left that fits the job's format */
    STORE_E_LOCKED,    /* another process holds the database's lock (store_lock_take) */
} store_err;

const char *store_err_name(store_err e);
/* Last error: what happened, what to do. Never NULL ("" after success). */
const char *store_message(const store *s);

/* Opens (creating if needed) the database at path and brings its schema up
 * to date. On failure *out is NULL and msg (if given) holds the reason. */
store_err store_open(const char *path, store **out, char *msg, size_t msglen);
void store_close(store *s);
/* The schema version of the open database (PRAGMA user_version). */
int store_user_version(store *s);
/* The newest schema version this binary knows. */
int store_schema_version(void);
/* How long a write waits for another process's lock before failing with
 * STORE_E_IO ("locked"); default 5000 ms. */
store_err store_set_busy_timeout(store *s, int ms);
/* Caps the database at `pages` pages (PRAGMA max_page_count; a page is 4 KiB
 * by default), so that a station on a shared disk stops writing before the
 * disk is full, and so that tests get a deterministic "database is full".
 * SQLite never caps below the current size: *effective (may be NULL) gets
 * the limit in force. A write that needs more pages fails with STORE_E_IO,
 * a message saying the database is full, and no change. */
store_err store_set_max_pages(store *s, int64_t pages, int64_t *effective);

/* ---- one daemon per database ----------------------------------------------
 * Two daemons on one database would each drive their own probes but share
 * series and jobs. store_lock_take takes an exclusive lock on the file
 * "<db_path>.lock" (created if needed, holding the owner's pid) and fails
 * with STORE_E_LOCKED, msg naming the other process, when another process
 * holds it. The kernel drops the lock when its process dies, kill -9 too,
 * so a stale lock file never blocks a restart. Take it before store_open
 * and release it after store_close. */
typedef struct store_lock store_lock;
store_err store_lock_take(const char *db_path, store_lock **out, char *msg, size_t msglen);
void store_lock_release(store_lock *l); /* NULL is fine */

/* After a crash: every unit still in_flight becomes interrupted (error text
 * says the daemon stopped while it was in flight), open attempts are closed
 * the same way. */
store_err store_recover_in_flight(store *s, int64_t now_ms, int *n_interrupted);

store_err store_probe_seen(store *s, const char *serial, const char *kind,
                           int64_t now_ms); /* upsert */
store_err store_probe_set_quarantine(store *s, const char *serial,
                                     const char *reason /* NULL = release */, int64_t now_ms);
/* The same, and when actor is not NULL an action "probe.quarantine" or
 * "probe.release" (target_kind "probe", detail {"reason": ...}) in the same
 * transaction. actor NULL = the station itself decided: no action row. */
store_err store_probe_set_quarantine_by(store *s, const char *serial, const char *reason,
                                        const char *actor, int64_t now_ms);
store_err store_probe_quarantine(store *s, const char *serial, char *reason, size_t n,
                                 bool *quarantined);

typedef struct store_image {
    char sha256[65];
    char format[8];
    uint32_t base;
    uint8_t *bytes;
    size_t len;
    int64_t created_ms;
} store_image;

/* same sha again: OK, nothing changes */
store_err store_image_put(store *s, const char *sha256, const char *format, uint32_t base,
                          const void *bytes, size_t len, int64_t now_ms);
store_err store_image_get(store *s, const char *sha256, store_image *out); /* out->bytes malloc'd */
void store_image_clear(store_image *img);

typedef struct store_job {
    int64_t id;
    char name[128];
    char state[16]; /* running | paused | cancelled | done */
    char image[65];
    char *recipe_json; /* malloc'd */
    int64_t count;     /* -1 = continuous */
    bool has_serial;
    int64_t next_serial, serial_step;
    int64_t created_ms, finished_ms; /* 0 = not finished */
    int64_t submitted_uid;
    int64_t ok, failed, interrupted, in_flight; /* counted from units */
    /* "" = the job draws from no series (see below); set, the job injects a
     * serial number (has_serial is implied) */
    char series[128];
    int64_t serial_max;     /* the largest number the job's serial format holds */
    bool serial_continue;   /* create: first number = the series' cursor; next_serial ignored
                               (unless the series is new: then next_serial is its start) */
    char state_reason[256]; /* "" or why the job stopped by itself */
    char actor[64];         /* create: who submitted it ("uid:1000", "tcp-token"); recorded as
                               the action; "" = "uid:<submitted_uid>" */
} store_job;

/* ---- serial series ----------------------------------------------------------
 * A series is station-wide: every job that writes its serial number to the
 * same address in the same format draws from the same series, so no two
 * boards get one number, whatever jobs come and go. The name is
 * STORE_SERIES_NAME_FMT of the address and the format name ("u32le",
 * "ascii-dec", "ascii-hex"), e.g. "0x0800FC00/u32le"; store_series_name()
 * writes it. Migration 0002 gave the jobs of older databases the same
 * names, so a new job continues where they stopped. */
#define STORE_SERIES_NAME_FMT "0x%08X/%s"
void store_series_name(char out[128], uint32_t addr, const char *format);

/* ONE transaction: the job, its series (created if missing) and the action
 * "job.create" by in->actor.
 * Uses name,image,recipe_json,count,has_serial,next_serial (= start),
 * serial_step,created_ms,submitted_uid,series,serial_max,serial_continue,
 * actor; state = running; image must exist (STORE_E_NOT_FOUND).
 * With in->series: serial_step >= 1, 0 <= start <= serial_max (STORE_E_ARG).
 * An explicit start (!serial_continue) below the series' cursor, or while
 * another running or paused job draws from the series, is STORE_E_CONFLICT
 * (the message names the job and says what to do); with serial_continue the
 * job starts at the cursor (STORE_E_EXHAUSTED if past serial_max). Read the
 * effective start back with store_job_get (next_serial).
 * Without in->series but with has_serial the job counts on its own, as
 * before version 2: nothing stops another job from handing out the same
 * numbers; for tools and old tests only, the daemon always names a series. */
store_err store_job_create(store *s, const store_job *in, int64_t *id);
store_err store_job_get(store *s, int64_t id, store_job *out);
store_err store_job_list(store *s, store_job **out, size_t *n); /* newest first */
void store_job_clear(store_job *j);
void store_job_list_free(store_job *jobs, size_t n);
/* done|cancelled also set finished_ms. A job that has ended (done or
 * cancelled) cannot change state again: STORE_E_CONFLICT. */
store_err store_job_set_state(store *s, int64_t id, const char *state, int64_t now_ms);
/* The same, and in the same transaction: state_reason = reason (NULL
 * clears it) and, when actor is not NULL, the action "job.resume",
 * "job.pause", "job.cancel" or "job.done" (for running, paused, cancelled,
 * done) with detail {"reason": ...}. actor NULL = the station itself (e.g.
 * a series ran out, reason says so): no action row. */
store_err store_job_set_state_by(store *s, int64_t id, const char *state, const char *reason,
                                 const char *actor, int64_t now_ms);

/* ONE transaction: if the job injects serial numbers, take the next number
 * and advance by serial_step; insert the unit in_flight with that serial.
 * Committed before return, so a serial is never handed out twice, also
 * across kill -9. For a job with a series the number is the larger of the
 * job's next_serial and the series' cursor, and is recorded 'issued' in the
 * series; if it is past the job's serial_max (or the step would overflow)
 * the result is STORE_E_EXHAUSTED and nothing is written. */
store_err store_unit_begin(store *s, int64_t job_id, const char *probe, const char *uid,
                           const char *chip, int64_t now_ms, int64_t *unit_id, bool *has_serial,
                           int64_t *serial);
store_err store_attempt_begin(store *s, int64_t unit_id, int n, int64_t now_ms,
                              int64_t *attempt_id);
store_err store_recovery_add(store *s, int64_t unit_id, int64_t attempt_id, const char *step,
                             bool ok, int64_t now_ms);
store_err store_attempt_end(store *s, int64_t attempt_id, const char *result, const char *state,
                            const char *error, int64_t now_ms);
/* result: ok | failed | interrupted. The unit's serial number (if from a
 * series) becomes 'unknown' unless ok: this assumes the flash may hold it. */
store_err store_unit_end(store *s, int64_t unit_id, const char *result, const char *error,
                         int64_t now_ms);
/* The same, saying whether the board's flash may hold the serial number:
 * false (it failed before programming began) makes the number 'void';
 * true makes it 'unknown' for failed or interrupted. ok is always 'ok'.
 * The unit row and its number's state commit together or not at all. */
store_err store_unit_end2(store *s, int64_t unit_id, const char *result, const char *error,
                          bool serial_in_flash, int64_t now_ms);
/* probe, data_json may be NULL; job_id, unit_id 0 = none */
store_err store_event_add(store *s, int64_t now_ms, const char *kind, const char *probe,
                          int64_t job_id, int64_t unit_id, const char *data_json);

typedef struct store_unit {
    int64_t id, job_id;
    char probe[64];
    char uid[32];
    char chip[32];
    bool has_serial;
    int64_t serial;
    char image[65];
    char result[16];
    char error[512];
    int64_t started_ms, finished_ms; /* finished 0 = still in flight */
    int attempts, recovery_steps;
    char serial_state[16]; /* issued | ok | void | unknown; "" = no number from a series */
} store_unit;

typedef struct store_unit_filter {
    const char *uid, *probe, *result; /* NULL = any */
    int64_t job_id;                   /* 0 = any */
    bool has_serial;                  /* true: only the unit(s) with this serial */
    int64_t serial;
    int64_t since_ms, until_ms; /* started in [since, until); 0 = unbounded */
    int64_t limit;              /* 0 = no limit */
    int64_t offset;
    /* Keyset paging: only units after this one in the newest-first order
     * (started before after_started_ms, or at it with a smaller id). Pass
     * the last unit of the previous page; unlike offset, each page costs the
     * same however deep, and units added meanwhile do not shift pages. */
    bool after;
    int64_t after_started_ms, after_id;
} store_unit_filter;

/* Callbacks run while the query's statement is open: they may use the unit
 * but must not call back into the store. */
typedef int (*store_unit_fn)(void *user, const store_unit *u); /* return nonzero to stop */
/* newest first (by started time, then id). f may be NULL (every unit). */
store_err store_units_query(store *s, const store_unit_filter *f, store_unit_fn fn, void *user);
store_err store_unit_get(store *s, int64_t id, store_unit *out);

typedef struct store_attempt {
    int64_t id;
    int n;
    char result[16]; /* in_flight | ok | failed | interrupted */
    char state[24];
    char error[512];
    int64_t started_ms, finished_ms;
} store_attempt;

typedef struct store_recovery {
    int64_t id, attempt_id;
    char step[128];
    bool ok;
    bool cured; /* the failed state succeeded after this step (adaptive recovery) */
    int64_t at_ms;
} store_recovery;

typedef int (*store_attempt_fn)(void *user, const store_attempt *a);
typedef int (*store_recovery_fn)(void *user, const store_recovery *r);
/* attempts in order, each followed by its recovery steps in order.
 * on_recovery may be NULL. Unknown unit: STORE_E_NOT_FOUND. */
store_err store_unit_history(store *s, int64_t unit_id, store_attempt_fn on_attempt,
                             store_recovery_fn on_recovery, void *user);

/* for /metrics later: units by result (and probe, chip). This reads every
 * unit (a full scan, ~0.1 s per million units): call it once at start-up
 * and keep counting in memory, not on every scrape. */
typedef int (*store_count_fn)(void *user, const char *probe, const char *chip, const char *result,
                              int64_t n);
store_err store_unit_counts(store *s, store_count_fn fn, void *user);

/* ---- for /metrics: recovery steps by step and probe ---------------------------
 * Both kinds the daemon keeps: steps recorded against a unit (the recovery
 * table, its probe from the unit) and steps taken while a probe waited for
 * a board (kept only as "recovery" events without a unit). Like
 * store_unit_counts this is a full scan (of recovery and events): call it
 * once at start-up and count in memory after. */
typedef int (*store_recovery_count_fn)(void *user, const char *step, const char *probe, int64_t n);
store_err store_recovery_counts(store *s, store_recovery_count_fn fn, void *user);

/* ---- series and numbers ---------------------------------------------------- */

typedef struct store_series {
    char name[128];
    int64_t next;                       /* the cursor: the lowest number still free */
    int64_t issued, ok, void_, unknown; /* numbers by state */
} store_series;

/* Every series, by name; *out malloc'd (NULL when there is none). */
store_err store_series_list(store *s, store_series **out, size_t *n);
void store_series_list_free(store_series *l, size_t n);
/* Who got `number` of `series`: its state (issued|ok|void|unknown), job and
 * unit (each may be NULL). STORE_E_NOT_FOUND if it was never handed out. */
store_err store_serial_lookup(store *s, const char *series, int64_t number, char state[16],
                              int64_t *job, int64_t *unit);

/* ---- actions: who did what ------------------------------------------------------ */

/* target_kind: job | probe | image | station. actor < 64, verb < 32,
 * target < 72 bytes, detail_json (NULL = none) valid JSON < 512 bytes. */
store_err store_action_add(store *s, int64_t now_ms, const char *actor, const char *verb,
                           const char *target_kind, const char *target, const char *detail_json);

typedef struct store_action {
    int64_t id, at_ms;
    char actor[64];
    char verb[32];
    char target_kind[16];
    char target[72];
    char detail_json[512];
} store_action;

typedef struct store_action_filter {
    const char *target_kind, *target; /* NULL = any */
    int64_t since_ms, until_ms;       /* [since, until), 0 = unbounded */
    int64_t limit;                    /* 0 = no limit */
} store_action_filter;

/* Oldest first (by time, then id); f may be NULL. The callback returns
 * nonzero to stop and must not call back into the store. */
store_err store_actions_query(store *s, const store_action_filter *f,
                              int (*fn)(void *user, const store_action *a), void *user);

/* Bulk loading (benchmarks, imports): between begin and end every write
 * joins one transaction and synchronous is OFF, so a crash in between may
 * lose or corrupt the whole batch. Never use it in the daemon. */
/* ---- adaptive recovery's memory (store_cures.c) ---- */

/* A failure signature (names from jobs/unit.h: unit_state_name,
 * unit_event_name, unit_err_name) and the step that cured it last. */
typedef struct store_cure {
    char probe[32];
    char state[24], event[24], error[24];
    char step[128];
    int64_t cures; /* times in a row this step cured it (loaded rows) */
} store_cure;
/* cured: remember c->step for the signature (and mark the unit's last ok
 * recovery row of that step as the cure when unit_id is not 0); not cured:
 * forget it if c->step is what is remembered. One transaction. */
store_err store_cure_set(store *s, const store_cure *c, bool cured, int64_t unit_id,
                         int64_t now_ms);
typedef int (*store_cure_fn)(void *user, const store_cure *c); /* nonzero: stop */
store_err store_cures_load(store *s, const char *probe, store_cure_fn fn, void *user);

store_err store_bulk_begin(store *s);
store_err store_bulk_end(store *s); /* commits, synchronous back to FULL */

#ifdef __cplusplus
}
#endif

#endif
