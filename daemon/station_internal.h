/*
 * Private to the station's files: station.c (jobs, probes, the scheduler,
 * life), station_units.c (the workers' messages and what the journal
 * committed), slot.c (the worker thread) and hotplug.c. The slot shared
 * between the loop and one worker thread, the job as both see it, the
 * station itself, and the message queue from the threads to the loop.
 *
 * Sharing rules (ARCHITECTURE.md "Threads"):
 *  - A job's recipe and image never change after it is created, so workers
 *    read them without locks; jobs live until the station is freed.
 *  - The fields of a slot marked "mu" are read and written under slot.mu by
 *    both sides; everything else in a slot belongs to the loop.
 *  - Threads hand messages to the loop through station_post (a mutex-guarded
 *    list and uv_async_send); nothing else is shared.
 */
#ifndef FLASHLINE_DAEMON_STATION_INTERNAL_H
#define FLASHLINE_DAEMON_STATION_INTERNAL_H

#include "journal.h"
#include "metrics.h"
#include "recipe.h"
#include "station.h"
#include "unit.h"
#include "views.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct sjob {
    int64_t id;
    char state[16]; /* loop only: running, paused, cancelled, done */
    /* immutable after creation: */
    image *img;
    job_recipe r;
    unit_recipe recipe;               /* points into r and img */
    char (*probes)[RECIPE_PROBE_LEN]; /* resolved: the named ones, or every free one */
    size_t nprobes;
    int64_t count;  /* r.count: -1 continuous */
    bool finishing; /* loop only: its final state is on its way to the store */
    struct sjob *next;
} sjob;

typedef enum slot_msg_kind {
    SM_STATE,
    SM_PROGRESS,
    SM_ATTEMPT_BEGIN,
    SM_ATTEMPT_END,
    SM_RECOVERY,
    SM_CURED,    /* adaptive recovery: a rung cured a failure, or a learned one did not */
    SM_BEGIN,    /* the worker waits for the answer */
    SM_UNIT_END, /* a begun unit is over: outcome attached */
    SM_RUN_END,  /* a run ended before any unit began */
    SM_RESET_DONE,
    SM_EXIT,   /* the worker thread is about to return */
    SM_PROBES, /* hotplug: the probes on the bus now */
} slot_msg_kind;

typedef struct slot slot;

typedef struct probe_seen {
    char serial[32];
    char kind[8];
} probe_seen;

typedef struct slot_msg {
    struct slot_msg *next;
    slot *sl;
    slot_msg_kind kind;
    int64_t at_ms;
    int n;
    bool ok;
    unit_state state;
    unit_step step;
    unit_event event; /* SM_CURED */
    unit_err uerr;    /* SM_CURED */
    uint64_t done, total;
    unit_board board;
    unit_outcome *outcome; /* SM_UNIT_END, SM_RUN_END: owned by the message */
    char error[512];
    probe_seen *probes; /* SM_PROBES */
    size_t nprobes;
} slot_msg;

struct slot {
    station *st;
    char serial[32];
    char kind[8];
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* mu: */
    sjob *job;            /* the job this slot works for, or NULL */
    bool present;         /* on the bus */
    bool quit;            /* stop the worker once its unit (if any) is over */
    bool reset_requested; /* USB reset, asked by an operator */
    bool begin_asked, begin_answered, begin_ok;
    bool begin_already; /* refused: this board already has its ok unit in the job */
    int64_t begin_serial;
    /* Adaptive recovery: the rung that cured each failure signature last
     * on this probe (-1: none), loaded from the store when the probe
     * arrives, kept by the loop, read by the worker. */
    signed char learned[US_COUNT][UEV_COUNT][UNIT_E_CANCELLED + 1];

    /* loop only: */
    const char *state; /* docs/api.md probe states */
    bool quarantined;
    char quarantine_reason[256];
    unsigned failed_in_row;
    int64_t unit_id;
    journal_ref *attempt; /* the last attempt's row (recovery steps follow it), or NULL */
    bool attempt_open;    /* it has begun and not ended */
    sjob *unit_job;
    int progress;
    char chip[64], uid[32];
    char last_result[16];
    int64_t last_at_ms;
    int64_t units_ok, units_failed;
    bool exited;
    /* Probe health (station_health.c): its figures and state, and when the
     * unit and its last attempt began (time lost to recovery). */
    health health;
    int64_t unit_started_ms, attempt_started_ms;
    slot *next;
};

typedef struct hotplug hotplug;

/* How long a drain waits for units in flight before giving up on them. */
#define DRAIN_TIMEOUT_MS 60000

struct station {
    uv_loop_t *loop;
    station_config cfg;
    store *db;
    http_server *http;
    journal *jnl;
    uv_async_t async;
    uv_timer_t drain_timer;
    pthread_mutex_t qmu;
    slot_msg *qhead, *qtail;
    slot *slots;
    sjob *jobs;
    hotplug *hp;
    bool draining;
    int64_t drain_started;
    void (*drain_done)(void *user);
    void *drain_user;
    int closing;      /* handles still to close */
    metrics *metrics; /* GET /metrics */
    /* Boards failed lately, by UID, and where: a board that then passes on
     * another probe points at the first probe's fixture, one that fails on
     * another probe too at the board (station_health.c). */
    struct failed_board {
        char uid[32], probe[32];
    } failed_boards[128];
    size_t nfailed_boards, failed_next;
};

/* A store write, timed for flashline_sqlite_write_seconds; the expression's
 * value is the write's store_err. */
#define TIMED(s, call) (metrics_write_begin((s)->metrics), metrics_write_end((s)->metrics, (call)))

/* ---- shared between station.c and station_units.c (loop thread) ---- */
station_err station_fail(char *msg, size_t n, station_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* An event: committed through the journal, then pushed (progress is only
 * pushed). Takes data. */
void station_emit(station *s, const char *kind, json_t *data, const char *probe, int64_t job,
                  int64_t unit);
sjob *station_job_find(station *s, int64_t id);
slot *station_slot_find(station *s, const char *serial);
void station_schedule(station *s);
/* Not in the configuration's ignore list, and in its only list if any. */
bool station_probe_allowed(const station *s, const char *serial);
/* The tile's resting state: gone, quarantined, audit-blocked, waiting, idle. */
void station_idle_state(station *s, slot *sl);
void station_set_state(station *s, slot *sl, const char *state);
void station_quarantine(station *s, slot *sl, const char *reason);
/* station_views.c: the job (NULL: unknown) and the probe as docs/api.md
 * shows them. */
json_t *station_job_view(station *s, const sjob *mem, int64_t id);
json_t *station_probe_view(const slot *sl);
/* station_health.c: a unit ended on the slot (after its journal entry): its
 * figures go into the probe's health, a change of state is an event, and a
 * failing probe is quarantined (cfg.health.quarantine). */
void station_health_unit(station *s, slot *sl, const unit_outcome *u, int64_t at_ms);
json_t *station_health_view(const station *s, const slot *sl);
void station_emit_job(station *s, const sjob *j);
/* The job's state, after its commit (through the journal when the station
 * itself decides, e.g. "done"). */
void station_job_finished(station *s, sjob *j, const char *state, const char *reason);
/* The journal committed job id's new state: memory follows. */
void station_job_landed(station *s, int64_t id, const char *state);
/* station_units.c */
void station_on_async(uv_async_t *a);
void station_landed(void *user, const journal_entry *e);
void station_blocked(void *user, bool blocked);
void station_msg_free(slot_msg *m);
/* The counters /metrics starts from: what the audit store holds. */
void station_seed_metrics(station *s);

/* Threads -> loop. Takes ownership of m. */
void station_post(station *s, slot_msg *m);
int64_t station_now_ms(void);

/* slot.c: the worker thread. */
int slot_thread_start(slot *sl, unsigned poll_ms);

/* hotplug.c: one thread with libusb hotplug and a periodic rescan, posting
 * SM_PROBES. */
int hotplug_start(station *s, unsigned period_ms, hotplug **out);
void hotplug_stop(hotplug *h);

#endif
