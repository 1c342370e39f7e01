/*
 * The station's ordered, retried writes to the audit store (journal.h).
 */
#define _DEFAULT_SOURCE /* strdup under strict C17 */
#include "journal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct journal {
    store *db;
    journal_config cfg;
    journal_hooks hooks;
    uv_timer_t timer;
    journal_entry *head, *tail;
    size_t pending, dropped;
    unsigned backoff_ms;
    bool blocked;
    char reason[512];
    int64_t blocked_since_ms, last_log_ms;
    unsigned refusals_unlogged;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

journal_ref *journal_ref_new(void)
{
    journal_ref *r = calloc(1, sizeof *r);
    if (r)
        r->refs = 1;
    return r;
}

void journal_ref_put(journal_ref *r)
{
    if (r && --r->refs == 0)
        free(r);
}

journal_entry *journal_entry_new(journal_kind kind, int64_t at_ms)
{
    journal_entry *e = calloc(1, sizeof *e);
    if (e) {
        e->kind = kind;
        e->at_ms = at_ms;
    }
    return e;
}

static void entry_free(journal_entry *e)
{
    journal_ref_put(e->attempt);
    free(e->body);
    free(e);
}

/* One write. An entry that refers to an attempt whose begin never landed
 * cannot be written either; the begin is ahead of it in the queue, so that
 * only happens when the begin itself was refused for good (the store said
 * the unit does not exist): it is dropped then, not retried forever. */
static store_err apply(journal *j, journal_entry *e)
{
    switch (e->kind) {
    case J_ATTEMPT_BEGIN:
        return store_attempt_begin(j->db, e->unit, e->n, e->at_ms, &e->attempt->id);
    case J_ATTEMPT_END:
        if (!e->attempt->id)
            return STORE_E_NOT_FOUND;
        return store_attempt_end(j->db, e->attempt->id, e->result, e->state, e->body, e->at_ms);
    case J_RECOVERY:
        return store_recovery_add(j->db, e->unit, e->attempt ? e->attempt->id : 0, e->text, e->ok,
                                  e->at_ms);
    case J_UNIT_END:
        return store_unit_end2(j->db, e->unit, e->result, e->body, e->serial_in_flash, e->at_ms);
    case J_EVENT:
        return store_event_add(j->db, e->at_ms, e->text, e->probe[0] ? e->probe : NULL, e->job,
                               e->unit, e->body);
    case J_JOB_STATE:
        return store_job_set_state_by(j->db, e->job, e->state, e->body, NULL, e->at_ms);
    case J_QUARANTINE:
        return store_probe_set_quarantine_by(j->db, e->probe, e->body, NULL, e->at_ms);
    case J_PROBE_SEEN:
        return store_probe_seen(j->db, e->probe, e->text, e->at_ms);
    case J_CURE: {
        store_cure c = {0};
        snprintf(c.probe, sizeof c.probe, "%s", e->probe);
        snprintf(c.state, sizeof c.state, "%s", e->state);
        snprintf(c.event, sizeof c.event, "%s", e->result);
        snprintf(c.error, sizeof c.error, "%s", e->body ? e->body : "");
        snprintf(c.step, sizeof c.step, "%s", e->text);
        return store_cure_set(j->db, &c, e->ok, e->unit, e->at_ms);
    }
    }
    return STORE_E_ARG;
}

static void log_refusal(journal *j, bool first)
{
    int64_t t = now_ms();
    /* One line when it starts, then at most one every 10 s: a full disk
     * must not also fill the log. */
    if (!first && t - j->last_log_ms < 10000) {
        j->refusals_unlogged++;
        return;
    }
    fprintf(stderr,
            "flashlined: the audit store refuses writes (%s): %zu record(s) held in memory, no "
            "new unit starts until they are committed; free space on the database's disk or "
            "fix its permissions%s\n",
            j->reason, j->pending, first ? "" : " (still)");
    if (j->refusals_unlogged)
        fprintf(stderr, "flashlined: (%u more refusals since the last line)\n",
                j->refusals_unlogged);
    j->refusals_unlogged = 0;
    j->last_log_ms = t;
}

static void set_blocked(journal *j, bool blocked)
{
    if (j->blocked == blocked)
        return;
    j->blocked = blocked;
    if (blocked) {
        j->blocked_since_ms = now_ms();
        log_refusal(j, true);
    } else {
        fprintf(stderr, "flashlined: the audit store accepts writes again after %.1f s\n",
                (double)(now_ms() - j->blocked_since_ms) / 1000.0);
        j->reason[0] = '\0';
    }
    if (j->hooks.blocked)
        j->hooks.blocked(j->hooks.user, blocked);
}

static void on_retry(uv_timer_t *t);

static void arm(journal *j)
{
    if (!j->backoff_ms)
        j->backoff_ms = j->cfg.retry_min_ms;
    else if (j->backoff_ms < j->cfg.retry_max_ms)
        j->backoff_ms =
            j->backoff_ms * 2 > j->cfg.retry_max_ms ? j->cfg.retry_max_ms : j->backoff_ms * 2;
    uv_timer_start(&j->timer, on_retry, j->backoff_ms, 0);
}

/* Write what is queued, oldest first, until the store refuses one. */
static void flush(journal *j)
{
    while (j->head) {
        journal_entry *e = j->head;
        if (j->hooks.write_begin)
            j->hooks.write_begin(j->hooks.user);
        store_err se = apply(j, e);
        if (j->hooks.write_end)
            j->hooks.write_end(j->hooks.user, se);
        if (se == STORE_E_IO || se == STORE_E_NOMEM) {
            snprintf(j->reason, sizeof j->reason, "%s", store_message(j->db));
            if (j->blocked)
                log_refusal(j, false);
            set_blocked(j, true);
            arm(j);
            return;
        }
        j->head = e->next;
        if (!j->head)
            j->tail = NULL;
        j->pending--;
        if (se == STORE_OK) {
            if (j->hooks.landed)
                j->hooks.landed(j->hooks.user, e);
        } else {
            /* Not a passing condition: the record contradicts the store
             * (e.g. a job that has already ended). Retrying cannot help. */
            fprintf(stderr,
                    "flashlined: the audit store rejected a record (kind %d, unit %" PRId64
                    "): %s\n",
                    (int)e->kind, e->unit, store_message(j->db));
        }
        entry_free(e);
    }
    j->backoff_ms = 0;
    set_blocked(j, false);
}

static void on_retry(uv_timer_t *t)
{
    flush(t->data);
}

int journal_new(uv_loop_t *loop, store *db, const journal_config *cfg, const journal_hooks *hooks,
                journal **out)
{
    journal *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->db = db;
    if (cfg)
        j->cfg = *cfg;
    if (!j->cfg.retry_min_ms)
        j->cfg.retry_min_ms = 50;
    if (!j->cfg.retry_max_ms)
        j->cfg.retry_max_ms = 2000;
    if (!j->cfg.max_pending)
        j->cfg.max_pending = 100000;
    if (hooks)
        j->hooks = *hooks;
    uv_timer_init(loop, &j->timer);
    j->timer.data = j;
    *out = j;
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void journal_free(journal *j)
{
    if (!j)
        return;
    for (journal_entry *e = j->head; e;) {
        journal_entry *next = e->next;
        fprintf(stderr,
                "flashlined: NOT COMMITTED (kind %d) unit %" PRId64 " job %" PRId64
                " probe %s at %" PRId64 " ms: %s %s %s\n",
                (int)e->kind, e->unit, e->job, e->probe, e->at_ms, e->result, e->state,
                e->body ? e->body : "");
        entry_free(e);
        e = next;
    }
    j->head = j->tail = NULL;
    uv_close((uv_handle_t *)&j->timer, on_timer_closed);
}

static void enqueue(journal *j, journal_entry *e)
{
    e->next = NULL;
    if (j->tail)
        j->tail->next = e;
    else
        j->head = e;
    j->tail = e;
    j->pending++;
}

void journal_write(journal *j, journal_entry *e)
{
    if (!e)
        return;
    /* Only events are ever dropped, and only when the queue is huge: unit
     * records are what the audit promises. */
    if (e->kind == J_EVENT && j->pending >= j->cfg.max_pending) {
        j->dropped++;
        entry_free(e);
        return;
    }
    enqueue(j, e);
    if (!j->blocked)
        flush(j);
}

bool journal_blocked(const journal *j)
{
    return j->blocked;
}

size_t journal_pending(const journal *j)
{
    return j->pending;
}

size_t journal_dropped(const journal *j)
{
    return j->dropped;
}

const char *journal_reason(const journal *j)
{
    return j->reason;
}

void journal_refused(journal *j, const char *why)
{
    /* The probe write: an event saying what was refused, committed once the
     * store takes writes again. */
    journal_entry *e = journal_entry_new(J_EVENT, (int64_t)time(NULL) * 1000);
    if (!e)
        return;
    snprintf(e->text, sizeof e->text, "audit");
    e->body = strdup("{\"refused\":\"unit begin\"}");
    snprintf(j->reason, sizeof j->reason, "%s", why);
    if (!j->blocked) {
        enqueue(j, e);
        set_blocked(j, true);
        arm(j);
    } else {
        journal_write(j, e);
    }
}
