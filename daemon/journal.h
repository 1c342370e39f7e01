/*
 * daemon/journal: the station's writes to the audit store, in order, and
 * "commit or stop".
 *
 * Every record a worker's unit produces (attempts, recovery steps, the
 * unit's end, events) goes through here. A write is tried at once; if the
 * store refuses it (disk full, read-only, I/O error), it is kept in memory
 * with every write after it, in order, and retried with backoff on the loop
 * until it lands. While anything is pending the journal is "blocked": the
 * station starts no new unit and shows its probes as audit-blocked. Nothing
 * is told (event stream, landed hook) before it is committed.
 *
 * Writes that someone waits for the answer of (a unit's begin, which hands
 * out its serial number; an API request) are not queued: they are made at
 * once and their failure is answered.
 *
 * Runs on the loop thread only.
 */
#ifndef FLASHLINE_DAEMON_JOURNAL_H
#define FLASHLINE_DAEMON_JOURNAL_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct journal journal;

/* A row id that later writes refer to before it is known: an attempt's,
 * while its begin may still be pending. Reference-counted: every queued
 * write holding it keeps it alive. */
typedef struct journal_ref {
    int64_t id; /* 0 until the row is committed */
    int refs;
} journal_ref;

journal_ref *journal_ref_new(void);
void journal_ref_put(journal_ref *r);

typedef enum journal_kind {
    J_ATTEMPT_BEGIN,
    J_ATTEMPT_END,
    J_RECOVERY,
    J_UNIT_END,
    J_EVENT,
    J_JOB_STATE,
    J_QUARANTINE,
    J_PROBE_SEEN,
    J_CURE, /* adaptive recovery: store_cure_set */
} journal_kind;

/* One write, as the landed hook sees it once it is committed. */
typedef struct journal_entry {
    struct journal_entry *next;
    journal_kind kind;
    int64_t at_ms;
    int64_t unit, job;    /* 0: none */
    journal_ref *attempt; /* J_ATTEMPT_*, J_RECOVERY */
    int n;                /* J_ATTEMPT_BEGIN: attempt number */
    bool ok;              /* J_RECOVERY; J_CURE: cured (else forget) */
    bool serial_in_flash; /* J_UNIT_END */
    char probe[32];       /* J_EVENT, J_QUARANTINE, J_PROBE_SEEN, J_RECOVERY, J_CURE */
    char result[16];      /* J_ATTEMPT_END, J_UNIT_END; J_CURE: event class */
    char state[24];       /* J_ATTEMPT_END, J_CURE: unit state; J_JOB_STATE: job state */
    /* J_EVENT: kind; J_RECOVERY, J_CURE: step (the longest step name is 64
     * characters); J_PROBE_SEEN: probe kind; J_UNIT_END: chip */
    char text[128];
    char *body; /* J_EVENT: data JSON; J_CURE: error class; errors and reasons (may be NULL) */
    void *user; /* the caller's, for the landed hook */
} journal_entry;

typedef struct journal_hooks {
    /* e was committed (after a retry, or at once). For J_EVENT: broadcast
     * it now. Entries land in the order they were written. */
    void (*landed)(void *user, const journal_entry *e);
    /* The journal became blocked (true) or caught up (false). */
    void (*blocked)(void *user, bool blocked);
    /* Around every store write, for its timing (may be NULL). */
    void (*write_begin)(void *user);
    void (*write_end)(void *user, store_err e);
    void *user;
} journal_hooks;

typedef struct journal_config {
    unsigned retry_min_ms; /* first retry after a refusal (default 50) */
    unsigned retry_max_ms; /* backoff ceiling (default 2000) */
    size_t max_pending;    /* beyond it, new events are dropped and counted (default 100000) */
} journal_config;

int journal_new(uv_loop_t *loop, store *db, const journal_config *cfg, const journal_hooks *hooks,
                journal **out);
/* Closes its timer; the loop must run once more before uv_loop_close. What
 * is still pending is written to stderr, one line per record, so that the
 * log keeps what the store never got. */
void journal_free(journal *j);

/* Queue a write (take ownership of e, allocated by journal_entry_new). */
journal_entry *journal_entry_new(journal_kind kind, int64_t at_ms);
void journal_write(journal *j, journal_entry *e);

bool journal_blocked(const journal *j);
size_t journal_pending(const journal *j);
size_t journal_dropped(const journal *j);
/* What the store said last time it refused, "" when not blocked. */
const char *journal_reason(const journal *j);

/* A write made outside the journal (a unit's begin) was refused: count it
 * as a refusal so the station shows audit-blocked and backs off, probing
 * the store with the retry timer until a write goes through. */
void journal_refused(journal *j, const char *why);

#endif
