/*
 * daemon/metrics: the counters and histograms behind GET /metrics, and their
 * rendering in the Prometheus text exposition format 0.0.4.
 *
 * The station owns one metrics object and feeds it from the loop thread as
 * units, attempts and recovery steps end and as it writes to the store. The
 * counters that the audit log can reproduce (units, recovery steps, ended
 * jobs) are seeded from the store at start, so a restart does not reset
 * them and they always equal what SQLite holds. Things that are state, not
 * history (probe states, jobs in memory, the queue) are handed to
 * metrics_render() by the caller at scrape time.
 *
 * Not thread-safe: every call must come from the same thread (the loop).
 */
#ifndef FLASHLINE_DAEMON_METRICS_H
#define FLASHLINE_DAEMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct metrics metrics;

/* The Content-Type of metrics_render()'s text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

metrics *metrics_new(void);
void metrics_free(metrics *m);

/* "STM32F103xB" -> "f1" (the families of docs/api.md); "unknown" for a chip
 * no row of loaders/chips.h names (or ""). */
const char *metrics_family_of(const char *chip);

/* ---- seeding from the audit store (at start) -------------------------------- */

/* n units of this probe/chip ended with result (in_flight is ignored: those
 * are counted when they end). Shaped as store_unit_counts' callback. */
int metrics_seed_units(void *m, const char *probe, const char *chip, const char *result, int64_t n);
/* n recovery steps of this probe. Shaped as store_recovery_counts' callback. */
int metrics_seed_recovery(void *m, const char *step, const char *probe, int64_t n);
/* A job the station does not keep in memory (it ended before this start, or
 * could not be resumed): its state never changes again. */
void metrics_seed_job(metrics *m, const char *state);

/* ---- events (loop thread) ------------------------------------------------------ */

/* A unit opened on probe at at_ms (its duration is measured from here). */
void metrics_unit_begin(metrics *m, const char *probe, int64_t at_ms);
/* The unit on probe ended with result (ok, failed, interrupted) at at_ms and
 * is committed to the store. */
void metrics_unit_end(metrics *m, const char *probe, const char *chip, const char *result,
                      int64_t at_ms);
void metrics_attempt_begin(metrics *m, const char *probe, int64_t at_ms);
/* The attempt on probe ended with result (ok, failed, interrupted) at at_ms. */
void metrics_attempt(metrics *m, const char *probe, const char *result, int64_t at_ms);
/* A recovery step of probe was recorded (against a unit, or as an event
 * while the probe waited for a board). */
void metrics_recovery(metrics *m, const char *step, const char *probe);
/* One store write took this long. */
void metrics_sqlite_write(metrics *m, double seconds);
/* Around a store write: begin notes the time, end observes it and returns
 * result unchanged, so a call can be wrapped in one expression:
 * (metrics_write_begin(m), metrics_write_end(m, store_x(...))). */
void metrics_write_begin(metrics *m);
int metrics_write_end(metrics *m, int result);

/* ---- rendering ------------------------------------------------------------------- */

typedef struct metrics_probe {
    const char *serial;
    const char *state; /* docs/api.md probe states; NULL: idle */
} metrics_probe;

/* What is state rather than history, as the station sees it now. */
typedef struct metrics_live {
    const metrics_probe *probes;
    size_t nprobes;
    const char *const *job_states; /* the jobs in memory, one state each */
    size_t njobs;
    int64_t queue_depth;  /* units still to do over running counted jobs */
    bool audit_blocked;   /* the store refuses writes: no unit starts (journal.h) */
    size_t audit_pending; /* records held in memory until the store takes them */
} metrics_live;

/* The whole exposition (malloc'd, NUL-terminated), or NULL when out of
 * memory. live may be NULL (no probes, no jobs in memory). */
char *metrics_render(const metrics *m, const metrics_live *live);

#endif
