/*
 * The workers' messages on the loop thread: a unit's begin (committed at
 * once: it hands out the serial number), its attempts, recovery steps and
 * end (through the journal: commit or stop), probes arriving and leaving,
 * and what follows once the journal has committed a record (events pushed,
 * counters, a job that has all its units).
 */
#define _DEFAULT_SOURCE /* strdup, strcasecmp under strict C17 */
#include "station_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *state_for(unit_state st)
{
    switch (st) {
    case US_WAIT_BOARD:
        return "waiting";
    case US_CONNECT:
    case US_IDENTIFY:
    case US_CHECK:
    case US_PLAN:
        return "connecting";
    case US_ERASE:
    case US_PROGRAM:
        return "programming";
    default:
        return "verifying";
    }
}

static void emit_unit(station *s, int64_t unit_id, const char *probe)
{
    store_unit u;
    if (store_unit_get(s->db, unit_id, &u) == STORE_OK)
        station_emit(s, "unit", view_unit(&u), probe, u.job_id, unit_id);
}

static int first_unit(void *user, const store_unit *u)
{
    *(int64_t *)user = u->id;
    return 1;
}

/* What the audit log knows of a probe's last unit, for its tile after a
 * restart. */
static int last_unit(void *user, const store_unit *u)
{
    slot *sl = user;
    snprintf(sl->last_result, sizeof sl->last_result, "%s", u->result);
    sl->last_at_ms = u->finished_ms ? u->finished_ms : u->started_ms;
    snprintf(sl->uid, sizeof sl->uid, "%s", u->uid);
    snprintf(sl->chip, sizeof sl->chip, "%s", u->chip);
    return 1;
}

static void answer_begin(slot *sl, bool ok, bool already, int64_t serial)
{
    pthread_mutex_lock(&sl->mu);
    sl->begin_already = already;
    sl->begin_ok = ok;
    sl->begin_serial = serial;
    sl->begin_answered = true;
    pthread_cond_signal(&sl->cv);
    pthread_mutex_unlock(&sl->mu);
}

static void on_begin(station *s, slot *sl, slot_msg *m)
{
    pthread_mutex_lock(&sl->mu);
    sjob *j = sl->job;
    pthread_mutex_unlock(&sl->mu);
    if (!j || s->draining || j->finishing || strcmp(j->state, "running") != 0 ||
        journal_blocked(s->jnl)) {
        answer_begin(sl, false, false, 0);
        return;
    }
    if (j->count >= 0) {
        store_job sj;
        if (store_job_get(s->db, j->id, &sj) != STORE_OK) {
            answer_begin(sl, false, false, 0);
            return;
        }
        bool enough = sj.ok + sj.in_flight >= j->count;
        store_job_clear(&sj);
        if (enough) { /* the other slots' units in flight will finish the job */
            answer_begin(sl, false, false, 0);
            return;
        }
    }
    /* A board that already has its ok unit in this job (the daemon was
     * restarted before the operator took it off) is not done twice. If the
     * store cannot say, the unit does not begin: doing a board twice would
     * hand it a second serial number. */
    int64_t found = 0;
    store_unit_filter f = {.uid = m->board.uid_hex, .job_id = j->id, .result = "ok", .limit = 1};
    if (store_units_query(s->db, &f, first_unit, &found) != STORE_OK) {
        fprintf(stderr, "flashlined: cannot look up board %s: %s\n", m->board.uid_hex,
                store_message(s->db));
        answer_begin(sl, false, false, 0);
        return;
    }
    if (found) {
        answer_begin(sl, false, true, 0);
        return;
    }
    int64_t unit = 0, serial = 0;
    bool has_serial = false;
    /* Committed before the worker may write the serial number to flash. */
    store_err se = TIMED(s, store_unit_begin(s->db, j->id, sl->serial, m->board.uid_hex,
                                             m->board.chip ? m->board.chip->name : "", m->at_ms,
                                             &unit, &has_serial, &serial));
    if (se == STORE_E_EXHAUSTED) {
        /* The series has no number left that the format holds: the job
         * cannot go on, and says why. */
        fprintf(stderr, "flashlined: job %" PRId64 " stops: %s\n", j->id, store_message(s->db));
        answer_begin(sl, false, false, 0);
        station_job_finished(s, j, "cancelled", store_message(s->db));
        return;
    }
    if (se != STORE_OK) {
        fprintf(stderr, "flashlined: cannot record a unit: %s\n", store_message(s->db));
        answer_begin(sl, false, false, 0);
        if (se == STORE_E_IO || se == STORE_E_NOMEM) {
            journal_refused(s->jnl, store_message(s->db));
            station_schedule(s);
        }
        return;
    }
    metrics_unit_begin(s->metrics, sl->serial, m->at_ms);
    sl->unit_id = unit;
    sl->unit_started_ms = m->at_ms;
    sl->unit_job = j;
    journal_ref_put(sl->attempt);
    sl->attempt = NULL;
    sl->attempt_open = false;
    sl->progress = 0;
    snprintf(sl->uid, sizeof sl->uid, "%s", m->board.uid_hex);
    snprintf(sl->chip, sizeof sl->chip, "%s", m->board.chip ? m->board.chip->name : "");
    answer_begin(sl, true, false, serial);
    emit_unit(s, unit, sl->serial);
    station_set_state(s, sl, "connecting");
}

static journal_entry *unit_entry(slot *sl, journal_kind kind, int64_t at_ms)
{
    journal_entry *e = journal_entry_new(kind, at_ms);
    if (e) {
        e->unit = sl->unit_id;
        e->job = sl->unit_job ? sl->unit_job->id : 0;
        snprintf(e->probe, sizeof e->probe, "%s", sl->serial);
    }
    return e;
}

static void attempt_end(station *s, slot *sl, const char *result, unit_state st, const char *error,
                        int64_t at_ms)
{
    journal_entry *e = unit_entry(sl, J_ATTEMPT_END, at_ms);
    if (!e)
        return;
    e->attempt = sl->attempt;
    sl->attempt->refs++;
    sl->attempt_open = false;
    snprintf(e->result, sizeof e->result, "%s", result);
    snprintf(e->state, sizeof e->state, "%s", unit_state_name(st));
    e->body = error && *error ? strdup(error) : NULL;
    journal_write(s->jnl, e);
}

static void on_unit_end(station *s, slot *sl, slot_msg *m)
{
    const unit_outcome *u = m->outcome;
    const char *result = u->final == US_DONE     ? "ok"
                         : u->final == US_FAILED ? "failed"
                                                 : "interrupted";
    if (sl->unit_id) {
        if (sl->attempt && sl->attempt_open) /* an attempt the worker could not close */
            attempt_end(s, sl, result, u->failed_in, u->error, m->at_ms);
        journal_entry *e = unit_entry(sl, J_UNIT_END, m->at_ms);
        if (e) {
            snprintf(e->result, sizeof e->result, "%s", result);
            snprintf(e->text, sizeof e->text, "%s", sl->chip);
            e->body = u->final == US_DONE ? NULL : strdup(u->error);
            /* Its serial number may be on the board once anything was
             * programmed; before that it is void (never handed out again
             * either way). */
            e->serial_in_flash = u->final == US_DONE || u->bytes_programmed > 0 ||
                                 u->units_written > 0 || u->mass_erased;
            journal_write(s->jnl, e); /* the tile's result once committed */
        }
    }
    station_health_unit(s, sl, u, m->at_ms);
    sl->unit_id = 0;
    sl->unit_job = NULL;
    sl->progress = u->final == US_DONE ? 100 : sl->progress;
    if (u->final == US_DONE)
        sl->failed_in_row = 0;
    else if (u->final == US_FAILED)
        sl->failed_in_row++;
    if (u->final == US_PROBE_DEAD) {
        char why[300];
        snprintf(why, sizeof why, "the recovery ladder could not bring the probe back: %.200s",
                 u->error);
        station_quarantine(s, sl, why);
    } else if (s->cfg.quarantine_after && sl->failed_in_row >= s->cfg.quarantine_after) {
        char why[300];
        snprintf(why, sizeof why,
                 "%u boards in a row failed (last: %.160s); check the probe, its cable and the "
                 "fixture, then release it",
                 sl->failed_in_row, u->error);
        station_quarantine(s, sl, why);
    }
    sl->state = NULL;
    station_idle_state(s, sl);
}

/* A unit's end is committed: its tile, the counters, its event, and the
 * job it may have completed. */
static void unit_landed(station *s, const journal_entry *e)
{
    metrics_unit_end(s->metrics, e->probe, e->text, e->result, e->at_ms);
    slot *sl = station_slot_find(s, e->probe);
    if (sl) {
        snprintf(sl->last_result, sizeof sl->last_result, "%s", e->result);
        sl->last_at_ms = e->at_ms;
        sl->units_ok += strcmp(e->result, "ok") == 0;
        sl->units_failed += strcmp(e->result, "failed") == 0;
    }
    emit_unit(s, e->unit, e->probe);
    sjob *j = station_job_find(s, e->job);
    if (!j)
        return;
    store_job sj;
    if (j->count >= 0 && strcmp(j->state, "running") == 0 &&
        store_job_get(s->db, j->id, &sj) == STORE_OK) {
        bool done = sj.ok >= j->count;
        store_job_clear(&sj);
        if (done) {
            station_job_finished(s, j, "done", NULL);
            return;
        }
    }
    station_emit_job(s, j);
}

void station_landed(void *user, const journal_entry *e)
{
    station *s = user;
    switch (e->kind) {
    case J_EVENT:
        if (s->http)
            http_broadcast(s->http, e->text, e->body);
        break;
    case J_UNIT_END:
        unit_landed(s, e);
        break;
    case J_ATTEMPT_BEGIN:
        metrics_attempt_begin(s->metrics, e->probe, e->at_ms);
        break;
    case J_ATTEMPT_END:
        metrics_attempt(s->metrics, e->probe, e->result, e->at_ms);
        break;
    case J_RECOVERY:
        metrics_recovery(s->metrics, e->text, e->probe);
        break;
    case J_JOB_STATE:
        station_job_landed(s, e->job, e->state);
        break;
    case J_QUARANTINE:
    case J_PROBE_SEEN:
    case J_CURE:
        break;
    }
}

/* Commit or stop: while the store refuses writes no unit starts, and the
 * idle tiles say why. */
void station_blocked(void *user, bool blocked)
{
    station *s = user;
    station_schedule(s);
    for (slot *sl = s->slots; sl; sl = sl->next)
        if (!sl->unit_id)
            station_idle_state(s, sl);
    (void)blocked;
}

static void record_probe_seen(station *s, slot *sl, int64_t at_ms)
{
    journal_entry *e = journal_entry_new(J_PROBE_SEEN, at_ms);
    if (!e)
        return;
    snprintf(e->probe, sizeof e->probe, "%s", sl->serial);
    snprintf(e->text, sizeof e->text, "%s", sl->kind);
    journal_write(s->jnl, e);
}

/* A remembered cure, from its names back to the machine's values; rows
 * whose names this build does not know (an older or newer station) are
 * skipped. */
static int load_cure(void *user, const store_cure *c)
{
    slot *sl = user;
    int st = -1, ev = -1, er = -1, step = -1;
    for (int i = 0; i < US_COUNT; i++)
        if (strcmp(c->state, unit_state_name((unit_state)i)) == 0)
            st = i;
    for (int i = 0; i < UEV_COUNT; i++)
        if (strcmp(c->event, unit_event_name((unit_event)i)) == 0)
            ev = i;
    for (int i = 0; i <= UNIT_E_CANCELLED; i++)
        if (strcmp(c->error, unit_err_name((unit_err)i)) == 0)
            er = i;
    for (int i = 0; i < STEP_COUNT; i++)
        if (strcmp(c->step, unit_step_name((unit_step)i)) == 0)
            step = i;
    if (st >= 0 && ev >= 0 && er >= 0 && step >= 0)
        sl->learned[st][ev][er] = (signed char)step;
    return 0;
}

static slot *slot_new(station *s, const probe_seen *p, int64_t at_ms)
{
    slot *sl = calloc(1, sizeof *sl);
    if (!sl)
        return NULL;
    sl->st = s;
    snprintf(sl->serial, sizeof sl->serial, "%s", p->serial);
    snprintf(sl->kind, sizeof sl->kind, "%s", p->kind);
    pthread_mutex_init(&sl->mu, NULL);
    pthread_cond_init(&sl->cv, NULL);
    sl->present = true;
    health_init(&sl->health);
    record_probe_seen(s, sl, at_ms);
    char reason[256];
    bool q = false;
    store_err se = store_probe_quarantine(s->db, sl->serial, reason, sizeof reason, &q);
    /* A quarantine the store cannot confirm is assumed: an operator
     * released it, or it was never set; either way no board is lost by
     * waiting for the store. */
    if (se != STORE_OK && se != STORE_E_NOT_FOUND) {
        q = true;
        snprintf(reason, sizeof reason,
                 "the audit store cannot say whether this probe is "
                 "quarantined; release it once the store answers");
    }
    if (q) {
        sl->quarantined = true;
        view_copy_utf8(sl->quarantine_reason, sizeof sl->quarantine_reason, reason);
    }
    store_unit_filter lf = {.probe = sl->serial, .limit = 1};
    store_units_query(s->db, &lf, last_unit, sl);
    /* Before the worker starts: no lock needed yet. A store that cannot
     * say only costs the ladder from its first rung. */
    memset(sl->learned, -1, sizeof sl->learned);
    if (store_cures_load(s->db, sl->serial, load_cure, sl) != STORE_OK)
        fprintf(stderr, "flashlined: probe %s: recovery memory not read: %s\n", sl->serial,
                store_message(s->db));
    return sl;
}

static void on_probes(station *s, slot_msg *m)
{
    /* Arrivals. */
    for (size_t i = 0; i < m->nprobes; i++) {
        const probe_seen *p = &m->probes[i];
        if (!station_probe_allowed(s, p->serial))
            continue;
        slot *sl = station_slot_find(s, p->serial);
        if (!sl) {
            if (!(sl = slot_new(s, p, m->at_ms)))
                continue;
            sl->next = s->slots;
            s->slots = sl;
            if (slot_thread_start(sl, s->cfg.poll_ms) != 0)
                fprintf(stderr, "flashlined: cannot start a worker for probe %s\n", sl->serial);
            fprintf(stderr, "flashlined: probe %s (%s) arrived\n", sl->serial, sl->kind);
            station_idle_state(s, sl);
            station_schedule(s);
            continue;
        }
        pthread_mutex_lock(&sl->mu);
        bool back = !sl->present;
        sl->present = true;
        pthread_cond_signal(&sl->cv);
        pthread_mutex_unlock(&sl->mu);
        if (back) {
            record_probe_seen(s, sl, m->at_ms);
            fprintf(stderr, "flashlined: probe %s is back\n", sl->serial);
            if (!sl->unit_id) {
                sl->state = NULL;
                station_idle_state(s, sl);
            }
        }
    }
    /* Departures. */
    for (slot *sl = s->slots; sl; sl = sl->next) {
        bool seen = false;
        for (size_t i = 0; i < m->nprobes; i++)
            seen |= strcasecmp(m->probes[i].serial, sl->serial) == 0;
        if (seen)
            continue;
        pthread_mutex_lock(&sl->mu);
        bool was = sl->present;
        sl->present = false;
        pthread_cond_signal(&sl->cv);
        pthread_mutex_unlock(&sl->mu);
        if (was) {
            fprintf(stderr, "flashlined: probe %s left the bus\n", sl->serial);
            if (!sl->unit_id)
                station_set_state(s, sl, "gone");
        }
    }
}

/* Adaptive recovery: keep what cured (or forget what did not) for the
 * worker, and durably in the store, with the unit's record marking the
 * step. */
static void on_cured(station *s, slot *sl, slot_msg *m)
{
    if ((unsigned)m->state >= US_COUNT || (unsigned)m->event >= UEV_COUNT ||
        (unsigned)m->uerr > UNIT_E_CANCELLED || (unsigned)m->step >= STEP_COUNT)
        return;
    pthread_mutex_lock(&sl->mu);
    signed char *slot_rung = &sl->learned[m->state][m->event][m->uerr];
    if (m->ok)
        *slot_rung = (signed char)m->step;
    else if (*slot_rung == (signed char)m->step)
        *slot_rung = -1;
    pthread_mutex_unlock(&sl->mu);
    journal_entry *e = journal_entry_new(J_CURE, m->at_ms);
    if (!e)
        return;
    e->unit = sl->unit_id;
    e->ok = m->ok;
    snprintf(e->probe, sizeof e->probe, "%s", sl->serial);
    snprintf(e->state, sizeof e->state, "%s", unit_state_name(m->state));
    snprintf(e->result, sizeof e->result, "%s", unit_event_name(m->event));
    snprintf(e->text, sizeof e->text, "%s", unit_step_name(m->step));
    e->body = strdup(unit_err_name(m->uerr));
    journal_write(s->jnl, e);
}

static void on_recovery(station *s, slot *sl, slot_msg *m)
{
    json_t *o = json_object();
    if (sl->unit_id)
        json_object_set_new(o, "unit", json_integer(sl->unit_id));
    json_object_set_new(o, "probe", json_string(sl->serial));
    json_object_set_new(o, "step", json_string(unit_step_name(m->step)));
    json_object_set_new(o, "ok", json_boolean(m->ok));
    if (!sl->unit_id) {
        /* Waiting for a board, the probe itself needed help: no unit to
         * record it against, so the probe's event log has it. */
        station_emit(s, "recovery", o, sl->serial, 0, 0);
        metrics_recovery(s->metrics, unit_step_name(m->step), sl->serial);
        return;
    }
    journal_entry *e = unit_entry(sl, J_RECOVERY, m->at_ms);
    if (e) {
        if (sl->attempt) {
            e->attempt = sl->attempt;
            sl->attempt->refs++;
        }
        e->ok = m->ok;
        snprintf(e->text, sizeof e->text, "%s", unit_step_name(m->step));
        journal_write(s->jnl, e);
    }
    station_emit(s, "recovery", o, sl->serial, 0, sl->unit_id);
    station_set_state(s, sl, "recovering");
}

static void on_attempt(station *s, slot *sl, slot_msg *m)
{
    if (!sl->unit_id)
        return;
    json_t *o = json_object();
    json_object_set_new(o, "unit", json_integer(sl->unit_id));
    json_object_set_new(o, "n", json_integer(m->n));
    if (m->kind == SM_ATTEMPT_BEGIN) {
        sl->attempt_started_ms = m->at_ms;
        journal_ref_put(sl->attempt);
        sl->attempt = journal_ref_new();
        journal_entry *e = sl->attempt ? unit_entry(sl, J_ATTEMPT_BEGIN, m->at_ms) : NULL;
        sl->attempt_open = sl->attempt != NULL;
        if (e) {
            e->attempt = sl->attempt;
            sl->attempt->refs++;
            e->n = m->n;
            journal_write(s->jnl, e);
        }
    } else {
        if (!sl->attempt || !sl->attempt_open) {
            json_decref(o);
            return;
        }
        attempt_end(s, sl, m->ok ? "ok" : "failed", m->state, m->ok ? NULL : m->error, m->at_ms);
        json_object_set_new(o, "result", json_string(m->ok ? "ok" : "failed"));
    }
    json_object_set_new(o, "state", json_string(unit_state_name(m->state)));
    if (m->kind == SM_ATTEMPT_END)
        json_object_set_new(o, "error", view_str(m->ok ? NULL : m->error));
    station_emit(s, "attempt", o, sl->serial, 0, sl->unit_id);
}

static void handle(station *s, slot_msg *m)
{
    slot *sl = m->sl;
    switch (m->kind) {
    case SM_PROBES:
        on_probes(s, m);
        break;
    case SM_STATE:
        /* Waiting is what the slot is when it has a job and no unit: a
         * worker's late "waiting" must not outlive the job it was for. */
        if (sl->unit_id && m->state != US_WAIT_BOARD)
            station_set_state(s, sl, state_for(m->state));
        else if (!sl->unit_id)
            station_idle_state(s, sl);
        break;
    case SM_PROGRESS:
        sl->progress = m->total ? (int)(m->done * 100 / m->total) : 0;
        if (sl->unit_id) {
            json_t *o = json_object();
            json_object_set_new(o, "probe", json_string(sl->serial));
            json_object_set_new(o, "unit", json_integer(sl->unit_id));
            json_object_set_new(o, "progress", json_integer(sl->progress));
            station_emit(s, "progress", o, sl->serial, 0, sl->unit_id);
        }
        break;
    case SM_ATTEMPT_BEGIN:
    case SM_ATTEMPT_END:
        on_attempt(s, sl, m);
        break;
    case SM_RECOVERY:
        on_recovery(s, sl, m);
        break;
    case SM_CURED:
        on_cured(s, sl, m);
        break;
    case SM_BEGIN:
        on_begin(s, sl, m);
        break;
    case SM_UNIT_END:
        on_unit_end(s, sl, m);
        break;
    case SM_RUN_END:
        if (m->outcome->final == US_PROBE_DEAD)
            station_quarantine(s, sl, m->outcome->error);
        else if (!sl->unit_id) {
            sl->state = NULL;
            station_idle_state(s, sl);
        }
        break;
    case SM_RESET_DONE: {
        json_t *o = station_probe_view(sl);
        json_object_set_new(o, "reset", json_boolean(m->ok));
        json_object_set_new(o, "error", view_str(m->error));
        station_emit(s, "probe", o, sl->serial, 0, 0);
        break;
    }
    case SM_EXIT:
        sl->exited = true;
        break;
    }
}

void station_msg_free(slot_msg *m)
{
    free(m->outcome);
    free(m->probes);
    free(m);
}

void station_post(station *s, slot_msg *m)
{
    pthread_mutex_lock(&s->qmu);
    m->next = NULL;
    if (s->qtail)
        s->qtail->next = m;
    else
        s->qhead = m;
    s->qtail = m;
    pthread_mutex_unlock(&s->qmu);
    uv_async_send(&s->async);
}

void station_on_async(uv_async_t *a)
{
    station *s = a->data;
    pthread_mutex_lock(&s->qmu);
    slot_msg *m = s->qhead;
    s->qhead = s->qtail = NULL;
    pthread_mutex_unlock(&s->qmu);
    while (m) {
        slot_msg *next = m->next;
        handle(s, m);
        station_msg_free(m);
        m = next;
    }
}
