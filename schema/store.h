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

/* After a crash: every unit still in_flight becomes interrupted (error text
 * says the daemon stopped while it was in flight), open attempts are closed
 * the same way. */
store_err store_recover_in_flight(store *s, int64_t now_ms, int *n_interrupted);

store_err store_probe_seen(store *s, const char *serial, const char *kind,
                           int64_t now_ms); /* upsert */
store_err store_probe_set_quarantine(store *s, const char *serial,
                                     const char *reason /* NULL = release */, int64_t now_ms);
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
} store_job;

/* uses name,image,recipe_json,count,has_serial,next_serial (= start),
 * serial_step,created_ms,submitted_uid; state = running; image must exist
 * (STORE_E_NOT_FOUND) */
store_err store_job_create(store *s, const store_job *in, int64_t *id);
store_err store_job_get(store *s, int64_t id, store_job *out);
store_err store_job_list(store *s, store_job **out, size_t *n); /* newest first */
void store_job_clear(store_job *j);
void store_job_list_free(store_job *jobs, size_t n);
/* done|cancelled also set finished_ms. A job that has ended (done or
 * cancelled) cannot change state again: STORE_E_CONFLICT. */
store_err store_job_set_state(store *s, int64_t id, const char *state, int64_t now_ms);

/* ONE transaction: if the job injects serial numbers, take next_serial and
 * advance it by serial_step; insert the unit in_flight with that serial.
 * Committed before return, so a serial is never handed out twice, also
 * across kill -9. */
store_err store_unit_begin(store *s, int64_t job_id, const char *probe, const char *uid,
                           const char *chip, int64_t now_ms, int64_t *unit_id, bool *has_serial,
                           int64_t *serial);
store_err store_attempt_begin(store *s, int64_t unit_id, int n, int64_t now_ms,
                              int64_t *attempt_id);
store_err store_recovery_add(store *s, int64_t unit_id, int64_t attempt_id, const char *step,
                             bool ok, int64_t now_ms);
store_err store_attempt_end(store *s, int64_t attempt_id, const char *result, const char *state,
                            const char *error, int64_t now_ms);
/* result: ok | failed | interrupted */
store_err store_unit_end(store *s, int64_t unit_id, const char *result, const char *error,
                         int64_t now_ms);
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

/* Bulk loading (benchmarks, imports): between begin and end every write
 * joins one transaction and synchronous is OFF, so a crash in between may
 * lose or corrupt the whole batch. Never use it in the daemon. */
store_err store_bulk_begin(store *s);
store_err store_bulk_end(store *s); /* commits, synchronous back to FULL */

#ifdef __cplusplus
}
#endif

#endif
