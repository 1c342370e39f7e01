/*
 * The slot worker: one thread per probe, running the unit state machine
 * with the synchronous driver. It owns its probe handle; it tells the loop
 * everything through messages and waits for the loop only to open a unit
 * (the serial number must be committed before it is written to flash).
 */
#include "station_internal.h"
#include "unit_hw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct worker {
    slot *sl;
    sjob *job;
    char *last_uid; /* the board on the fixture that needs nothing more */
    bool begun;
    int last_pct;
    uint64_t last_progress_ms;
} worker;

static slot_msg *msg_new(worker *w, slot_msg_kind kind)
{
    slot_msg *m = calloc(1, sizeof *m);
    if (m) {
        m->sl = w->sl;
        m->kind = kind;
        m->at_ms = station_now_ms();
    }
    return m;
}

static void post(worker *w, slot_msg *m)
{
    if (m)
        station_post(w->sl->st, m);
}

static void on_state(void *h, unit_state s)
{
    worker *w = h;
    slot_msg *m = msg_new(w, SM_STATE);
    if (m)
        m->state = s;
    post(w, m);
}

static void on_progress(void *h, uint64_t done, uint64_t total)
{
    worker *w = h;
    int pct = total ? (int)(done * 100 / total) : 0;
    uint64_t now = (uint64_t)station_now_ms();
    /* The loop and the dashboards need a few updates a second, not one per
     * stub buffer. */
    if (pct == w->last_pct || (now - w->last_progress_ms < 250 && pct < 100))
        return;
    w->last_pct = pct;
    w->last_progress_ms = now;
    slot_msg *m = msg_new(w, SM_PROGRESS);
    if (m) {
        m->done = done;
        m->total = total;
    }
    post(w, m);
}

static void on_attempt_begin(void *h, int n, unit_state s)
{
    worker *w = h;
    slot_msg *m = msg_new(w, SM_ATTEMPT_BEGIN);
    if (m) {
        m->n = n;
        m->state = s;
    }
    post(w, m);
}

static void on_attempt_end(void *h, int n, bool ok, unit_state s, const char *error)
{
    worker *w = h;
    slot_msg *m = msg_new(w, SM_ATTEMPT_END);
    if (m) {
        m->n = n;
        m->ok = ok;
        m->state = s;
        snprintf(m->error, sizeof m->error, "%s", error ? error : "");
    }
    post(w, m);
}

static void on_recovery(void *h, unit_step step, bool ok)
{
    worker *w = h;
    slot_msg *m = msg_new(w, SM_RECOVERY);
    if (m) {
        m->step = step;
        m->ok = ok;
    }
    post(w, m);
}

static int learned(void *h, unit_state s, unit_event e, unit_err err)
{
    worker *w = h;
    if ((unsigned)s >= US_COUNT || (unsigned)e >= UEV_COUNT || (unsigned)err > UNIT_E_CANCELLED)
        return -1;
    pthread_mutex_lock(&w->sl->mu);
    int rung = w->sl->learned[s][e][err];
    pthread_mutex_unlock(&w->sl->mu);
    return rung;
}

static void on_cured(void *h, unit_state s, unit_event e, unit_err err, unit_step step, bool cured)
{
    worker *w = h;
    slot_msg *m = msg_new(w, SM_CURED);
    if (m) {
        m->state = s;
        m->event = e;
        m->uerr = err;
        m->step = step;
        m->ok = cured;
    }
    post(w, m);
}

static bool begin(void *h, const unit_board *b, int64_t *serial)
{
    worker *w = h;
    slot *sl = w->sl;
    slot_msg *m = msg_new(w, SM_BEGIN);
    if (!m)
        return false;
    m->board = *b;
    pthread_mutex_lock(&sl->mu);
    sl->begin_asked = true;
    sl->begin_answered = false;
    pthread_mutex_unlock(&sl->mu);
    station_post(sl->st, m);
    pthread_mutex_lock(&sl->mu);
    while (!sl->begin_answered)
        pthread_cond_wait(&sl->cv, &sl->mu);
    bool ok = sl->begin_ok;
    if (!ok && sl->begin_already) /* e.g. done just before a restart */
        snprintf(w->last_uid, 32, "%s", b->uid_hex);
    *serial = sl->begin_serial;
    sl->begin_asked = false;
    pthread_mutex_unlock(&sl->mu);
    w->begun = ok;
    return ok;
}

/* Before a unit begins, a paused or cancelled job, a drain or an unplugged
 * probe stop the wait for a board; a begun unit always runs to its end. */
static bool cancelled(void *h)
{
    worker *w = h;
    if (w->begun)
        return false;
    slot *sl = w->sl;
    pthread_mutex_lock(&sl->mu);
    bool c = sl->quit || sl->job != w->job || !sl->present;
    pthread_mutex_unlock(&sl->mu);
    return c;
}

static const unit_host worker_host = {
    .on_state = on_state,
    .on_progress = on_progress,
    .on_attempt_begin = on_attempt_begin,
    .on_attempt_end = on_attempt_end,
    .on_recovery = on_recovery,
    .learned = learned,
    .on_cured = on_cured,
    .begin = begin,
    .cancelled = cancelled,
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct worker_args {
    slot *sl;
    unsigned poll_ms;
} worker_args;

static void *worker_main(void *arg)
{
    worker_args a = *(worker_args *)arg;
    free(arg);
    slot *sl = a.sl;
    pd_probe *probe = NULL;
    unit_hw *hw = NULL;
    if (pd_create(NULL, sl->serial, &probe) == PD_OK)
        hw = unit_hw_create(probe);
    char last_uid[32] = "";
    for (;;) {
        pthread_mutex_lock(&sl->mu);
        while (!sl->quit && !sl->reset_requested && (!sl->job || !sl->present))
            pthread_cond_wait(&sl->cv, &sl->mu);
        bool quit = sl->quit, reset = sl->reset_requested;
        sjob *job = sl->job;
        sl->reset_requested = false;
        pthread_mutex_unlock(&sl->mu);
        if (quit || !hw)
            break;
        if (reset) {
            slot_msg *m = calloc(1, sizeof *m);
            pd_err e = pd_usb_reset(probe);
            if (m) {
                m->sl = sl;
                m->kind = SM_RESET_DONE;
                m->at_ms = station_now_ms();
                m->ok = e == PD_OK;
                snprintf(m->error, sizeof m->error, "%s", e == PD_OK ? "" : pd_message(probe));
                station_post(sl->st, m);
            }
            continue;
        }
        worker w = {.sl = sl, .job = job, .last_uid = last_uid, .last_pct = -1};
        unit_config cfg = {.start = US_WAIT_BOARD,
                           .last_uid = last_uid[0] ? last_uid : NULL,
                           .poll_ms = a.poll_ms,
                           .retries = 1};
        unit_outcome *out = calloc(1, sizeof *out);
        if (!out) {
            sleep_ms(1000);
            continue;
        }
        unit_run(&cfg, &job->recipe, &unit_hw_ops, hw, &worker_host, &w, out);
        /* The board on the fixture has had its turn, well or badly; an
         * interrupted unit is redone on the same board. */
        if (out->begun && (out->final == US_DONE || out->final == US_FAILED))
            snprintf(last_uid, sizeof last_uid, "%s", out->board.uid_hex);
        bool idle_end = !out->begun && out->final == US_INTERRUPTED;
        slot_msg *m = calloc(1, sizeof *m);
        if (m) {
            m->sl = sl;
            m->kind = out->begun ? SM_UNIT_END : SM_RUN_END;
            m->at_ms = station_now_ms();
            m->outcome = out;
            station_post(sl->st, m);
        } else {
            free(out);
        }
        /* A probe that left the bus ends a run at once: do not spin. */
        if (idle_end)
            sleep_ms(a.poll_ms ? a.poll_ms : 200);
    }
    unit_hw_destroy(hw);
    pd_destroy(probe);
    slot_msg *m = calloc(1, sizeof *m);
    if (m) {
        m->sl = sl;
        m->kind = SM_EXIT;
        m->at_ms = station_now_ms();
        station_post(sl->st, m);
    }
    return NULL;
}

int slot_thread_start(slot *sl, unsigned poll_ms)
{
    worker_args *a = malloc(sizeof *a);
    if (!a)
        return -1;
    *a = (worker_args){sl, poll_ms};
    if (pthread_create(&sl->thread, NULL, worker_main, a) != 0) {
        free(a);
        return -1;
    }
    sl->thread_started = true;
    return 0;
}
