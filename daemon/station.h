/*
 * daemon/station: the line as the loop sees it. Probe slots (one worker
 * thread each, running the unit state machine), the jobs in progress, the
 * scheduler that gives each free slot its job, and the bookkeeping that turns
 * the workers' messages into audit records (committed first) and events
 * (pushed after).
 *
 * Every function here runs on the loop thread. The workers never touch the
 * store, the HTTP server or anything below; they talk to the loop through
 * the slot's queue and uv_async_send.
 */
#ifndef FLASHLINE_DAEMON_STATION_H
#define FLASHLINE_DAEMON_STATION_H

#include "http.h"
#include "store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "health.h"

typedef struct station station;

typedef struct station_config {
    store *db;                         /* owned by the caller, outlives the station */
    http_server *http;                 /* for events; may be NULL (tests) */
    const char *const *ignore_serials; /* NULL-terminated; probes never used */
    const char *const *only_serials;   /* NULL-terminated or NULL: all probes */
    unsigned poll_ms;                  /* board detection period (default 200) */
    unsigned enumerate_ms;             /* USB rescan period besides hotplug (default 1000) */
    unsigned quarantine_after;         /* boards failed in a row before quarantine (3) */
    health_config health;              /* probe health thresholds ([health]) */
} station_config;

typedef enum station_err {
    STATION_OK = 0,
    STATION_E_BAD_REQUEST,   /* 400 */
    STATION_E_NOT_FOUND,     /* 404 */
    STATION_E_CONFLICT,      /* 409 */
    STATION_E_UNPROCESSABLE, /* 422 */
    STATION_E_INTERNAL,      /* 500: the store failed */
} station_err;

/* HTTP status for an error. */
int station_http_status(station_err e);
const char *station_err_code(station_err e); /* "bad_request", ... as in docs/api.md */

station_err station_start(uv_loop_t *loop, const station_config *cfg, station **out, char *msg,
                          size_t msglen);
/* SIGTERM: start no new units; units in flight finish. done() is called
 * (on the loop) once every worker has stopped; then station_free. */
void station_drain(station *s, void (*done)(void *user), void *user);
void station_free(station *s);

/* ---- jobs (docs/api.md "Jobs") -------------------------------------------- */

/* Creates a job from the request body (already parsed JSON). *id on success;
 * on failure msg says what is wrong. Nothing changes on failure. */
/* actor: who asks ("uid:1000", "tcp-token"), recorded with the change in
 * the audit's actions. Every change here is committed before memory or the
 * answer changes; a refused commit is STATION_E_INTERNAL and changes
 * nothing. */
station_err station_job_create(station *s, const json_t *req, const char *actor, int64_t *id,
                               char *msg, size_t msglen);
/* The job as docs/api.md shows it (new reference), or NULL if unknown. */
json_t *station_job_json(station *s, int64_t id);
/* {"jobs": [...]} newest first (new reference). */
json_t *station_jobs_json(station *s);
/* verb: "pause", "resume", "cancel". */
station_err station_job_control(station *s, int64_t id, const char *verb, const char *actor,
                                char *msg, size_t msglen);

/* ---- probes (docs/api.md "Probes") ----------------------------------------- */

json_t *station_probes_json(station *s);
json_t *station_probe_json(station *s, const char *serial);
/* verb: "quarantine" (reason required), "release", "reset". */
station_err station_probe_control(station *s, const char *serial, const char *verb,
                                  const char *reason, const char *actor, char *msg, size_t msglen);

/* ---- for /metrics and tests ----------------------------------------------- */
size_t station_slot_count(const station *s);
/* GET /metrics: the Prometheus text exposition (metrics.h), malloc'd; NULL
 * when out of memory. */
char *station_metrics_text(station *s);

#endif
