/*
 * The station on the loop thread: jobs, probes, the scheduler, and its
 * life. The workers' messages are station_units.c's; the JSON shapes are
 * station_views.c's; every write to the audit store that a worker's unit
 * causes goes through the journal (journal.h).
 *
 * Order of every change: commit to the store first, then change memory and
 * tell the world, so nobody hears of a change that a restart would undo.
 */
#define _DEFAULT_SOURCE /* strdup, strcasecmp under strict C17 */
#include "station_internal.h"

#include <libusb.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- small helpers --------------------------------------------------------- */

int64_t station_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int station_http_status(station_err e)
{
    static const int st[] = {200, 400, 404, 409, 422, 500};
    return (unsigned)e < sizeof st / sizeof st[0] ? st[e] : 500;
}

const char *station_err_code(station_err e)
{
    static const char *const c[] = {"ok",       "bad_request",   "not_found",
                                    "conflict", "unprocessable", "internal"};
    return (unsigned)e < sizeof c / sizeof c[0] ? c[e] : "internal";
}

station_err station_fail(char *msg, size_t n, station_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return e;
}

/* A refused commit, answered: what the store said and that nothing changed. */
static station_err store_fail(station *s, store_err se, char *msg, size_t n, const char *what)
{
    station_err e = se == STORE_E_CONFLICT                         ? STATION_E_CONFLICT
                    : se == STORE_E_NOT_FOUND                      ? STATION_E_NOT_FOUND
                    : se == STORE_E_ARG || se == STORE_E_EXHAUSTED ? STATION_E_BAD_REQUEST
                                                                   : STATION_E_INTERNAL;
    if (e == STATION_E_INTERNAL)
        return station_fail(msg, n, e,
                            "the audit store could not commit %s, so nothing changed: %s", what,
                            store_message(s->db));
    return station_fail(msg, n, e, "%s", store_message(s->db));
}

void station_emit(station *s, const char *kind, json_t *data, const char *probe, int64_t job,
                  int64_t unit)
{
    int64_t now = station_now_ms();
    json_object_set_new(data, "at", view_time(now));
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (!text)
        return;
    if (strcmp(kind, "progress") == 0) { /* not kept: a unit's record has its outcome */
        if (s->http)
            http_broadcast(s->http, kind, text);
        free(text);
        return;
    }
    journal_entry *e = journal_entry_new(J_EVENT, now);
    if (!e) {
        free(text);
        return;
    }
    snprintf(e->text, sizeof e->text, "%s", kind);
    snprintf(e->probe, sizeof e->probe, "%s", probe ? probe : "");
    e->job = job;
    e->unit = unit;
    e->body = text;
    journal_write(s->jnl, e); /* pushed once committed: station_landed */
}

/* ---- jobs -------------------------------------------------------------------- */

sjob *station_job_find(station *s, int64_t id)
{
    for (sjob *j = s->jobs; j; j = j->next)
        if (j->id == id)
            return j;
    return NULL;
}

static bool job_has_probe(const sjob *j, const char *serial)
{
    for (size_t i = 0; i < j->nprobes; i++)
        if (strcasecmp(j->probes[i], serial) == 0)
            return true;
    return false;
}

static bool job_active(const sjob *j)
{
    return strcmp(j->state, "running") == 0 || strcmp(j->state, "paused") == 0;
}

static void job_free(sjob *j)
{
    image_free(j->img);
    recipe_clear(&j->r);
    free(j->probes);
    free(j);
}

slot *station_slot_find(station *s, const char *serial)
{
    for (slot *sl = s->slots; sl; sl = sl->next)
        if (strcasecmp(sl->serial, serial) == 0)
            return sl;
    return NULL;
}

/* Slots working for j stop taking its units (a begun unit finishes). */
static void release_slots_of(station *s, const sjob *j)
{
    for (slot *sl = s->slots; sl; sl = sl->next) {
        pthread_mutex_lock(&sl->mu);
        bool mine = sl->job == j;
        if (mine) {
            sl->job = NULL;
            pthread_cond_signal(&sl->cv);
        }
        pthread_mutex_unlock(&sl->mu);
        /* A worker between two waits for a board may never send another
         * message for this job: its tile must not go on saying "waiting". */
        if (mine && !sl->unit_id)
            station_idle_state(s, sl);
    }
}

/* Memory follows a committed state. */
static void job_apply_state(station *s, sjob *j, const char *state)
{
    snprintf(j->state, sizeof j->state, "%s", state);
    if (strcmp(state, "running") != 0)
        release_slots_of(s, j);
    station_emit_job(s, j);
    station_schedule(s);
}

void station_job_finished(station *s, sjob *j, const char *state, const char *reason)
{
    if (j->finishing)
        return;
    journal_entry *e = journal_entry_new(J_JOB_STATE, station_now_ms());
    if (!e)
        return;
    j->finishing = true;
    /* No new unit for it from now on, whatever the store says: the job has
     * all its units, or cannot number another. */
    release_slots_of(s, j);
    e->job = j->id;
    snprintf(e->state, sizeof e->state, "%s", state);
    e->body = reason ? strdup(reason) : NULL;
    journal_write(s->jnl, e); /* job_apply_state once committed: station_landed */
}

void station_job_landed(station *s, int64_t id, const char *state)
{
    sjob *j = station_job_find(s, id);
    if (j)
        job_apply_state(s, j, state);
}

static image_format format_named(const char *name)
{
    static const char *const names[] = {"bin", "ihex", "srec", "elf"};
    static const image_format fmts[] = {IMAGE_FMT_BIN, IMAGE_FMT_IHEX, IMAGE_FMT_SREC,
                                        IMAGE_FMT_ELF};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return fmts[i];
    return IMAGE_FMT_AUTO;
}

static station_err load_image(station *s, const char *sha, image **out, char *msg, size_t n)
{
    store_image si = {0};
    store_err se = store_image_get(s->db, sha, &si);
    if (se == STORE_E_NOT_FOUND)
        return station_fail(msg, n, STATION_E_NOT_FOUND,
                            "no image %s: upload it first (POST /v1/images)", sha);
    if (se != STORE_OK)
        return station_fail(msg, n, STATION_E_INTERNAL, "reading the image: %s",
                            store_message(s->db));
    char why[256];
    img_err ie =
        image_load_mem(si.bytes, si.len, format_named(si.format), si.base, out, why, sizeof why);
    store_image_clear(&si);
    if (ie != IMG_OK)
        return station_fail(msg, n, STATION_E_INTERNAL, "stored image %s no longer loads: %s", sha,
                            why);
    return STATION_OK;
}

/* The job in memory from its checked recipe: the unit recipe the workers
 * read points into it. */
static void job_bind(sjob *j)
{
    j->count = j->r.count;
    j->recipe = (unit_recipe){.img = j->img,
                              .chip = j->r.chip[0] ? j->r.chip : NULL,
                              .family = j->r.family[0] ? j->r.family : NULL,
                              .erase = j->r.erase,
                              .verify = j->r.verify,
                              .serial = j->r.has_serial ? &j->r.serial : NULL,
                              .rdp = j->r.rdp,
                              .confirm = j->r.confirm[0] ? j->r.confirm : NULL,
                              .reset_run = j->r.reset_run};
}

static station_err parse_job(station *s, const json_t *req, sjob *j, char *msg, size_t n)
{
    const char *sha = json_string_value(json_object_get(req, "image"));
    if (!sha || strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64)
        return station_fail(
            msg, n, STATION_E_BAD_REQUEST,
            "\"image\" must be the sha256 (64 lower-case hex digits) of an uploaded image");
    station_err e = load_image(s, sha, &j->img, msg, n);
    if (e != STATION_OK)
        return e;
    switch (recipe_parse(req, j->img, &j->r, msg, n)) {
    case RECIPE_OK:
        break;
    case RECIPE_E_BAD_REQUEST:
        return STATION_E_BAD_REQUEST;
    case RECIPE_E_UNPROCESSABLE:
        return STATION_E_UNPROCESSABLE;
    case RECIPE_E_NOMEM:
        return station_fail(msg, n, STATION_E_INTERNAL, "out of memory");
    }
    job_bind(j);
    return STATION_OK;
}

/* Named probes must be known and free; none named means every probe no
 * other job holds. */
static station_err resolve_probes(station *s, sjob *j, char *msg, size_t n)
{
    size_t cap = j->r.probes_given ? j->r.nprobes : station_slot_count(s);
    j->probes = calloc(cap ? cap : 1, sizeof *j->probes);
    if (!j->probes)
        return station_fail(msg, n, STATION_E_INTERNAL, "out of memory");
    if (j->r.probes_given) {
        for (size_t i = 0; i < j->r.nprobes; i++) {
            const char *ser = j->r.probes[i];
            if (!station_slot_find(s, ser))
                return station_fail(
                    msg, n, STATION_E_NOT_FOUND,
                    "no probe with serial %s is known to this station: see GET /v1/probes", ser);
            for (sjob *o = s->jobs; o; o = o->next)
                if (job_active(o) && job_has_probe(o, ser))
                    return station_fail(msg, n, STATION_E_CONFLICT,
                                        "probe %s belongs to job %" PRId64
                                        " (%s): pause or cancel it first",
                                        ser, o->id, o->state);
            snprintf(j->probes[j->nprobes++], RECIPE_PROBE_LEN, "%s", ser);
        }
        return STATION_OK;
    }
    for (slot *sl = s->slots; sl && j->nprobes < cap; sl = sl->next) {
        bool taken = false;
        for (sjob *o = s->jobs; o; o = o->next)
            taken |= job_active(o) && job_has_probe(o, sl->serial);
        if (!taken)
            snprintf(j->probes[j->nprobes++], RECIPE_PROBE_LEN, "%s", sl->serial);
    }
    if (j->nprobes == 0)
        return station_fail(msg, n, STATION_E_CONFLICT,
                            "no free probe: every probe belongs to a running or paused job");
    return STATION_OK;
}

/* What is kept: the request with the probes resolved, so a restart gives
 * the job the same probes. */
static char *kept_recipe(const json_t *req, const sjob *j)
{
    json_t *keep = json_deep_copy(req);
    json_t *probes = json_array();
    for (size_t i = 0; i < j->nprobes; i++)
        json_array_append_new(probes, json_string(j->probes[i]));
    json_object_set_new(keep, "probes", probes);
    char *text = json_dumps(keep, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(keep);
    return text;
}

station_err station_job_create(station *s, const json_t *req, const char *actor, int64_t *id,
                               char *msg, size_t msglen)
{
    if (s->draining)
        return station_fail(msg, msglen, STATION_E_CONFLICT, "the station is shutting down");
    if (!json_is_object(req))
        return station_fail(msg, msglen, STATION_E_BAD_REQUEST, "the job must be a JSON object");
    sjob *j = calloc(1, sizeof *j);
    if (!j)
        return station_fail(msg, msglen, STATION_E_INTERNAL, "out of memory");
    station_err e = parse_job(s, req, j, msg, msglen);
    if (e == STATION_OK)
        e = resolve_probes(s, j, msg, msglen);
    char *text = e == STATION_OK ? kept_recipe(req, j) : NULL;
    if (e == STATION_OK && !text)
        e = station_fail(msg, msglen, STATION_E_INTERNAL, "out of memory");
    if (e != STATION_OK) {
        job_free(j);
        return e;
    }
    store_job sj = {.recipe_json = text,
                    .count = j->count,
                    .has_serial = j->r.has_serial,
                    .next_serial = j->r.serial.start,
                    .serial_step = j->r.has_serial ? j->r.serial.step : 1,
                    .serial_max = j->r.serial_max,
                    .serial_continue = j->r.serial_continue,
                    .created_ms = station_now_ms(),
                    .submitted_uid = -1};
    snprintf(sj.name, sizeof sj.name, "%s", j->r.name);
    snprintf(sj.image, sizeof sj.image, "%s", json_string_value(json_object_get(req, "image")));
    if (j->r.has_serial)
        snprintf(sj.series, sizeof sj.series, "%s", j->r.series);
    snprintf(sj.actor, sizeof sj.actor, "%s", actor ? actor : "");
    long uid = -1;
    if (actor && sscanf(actor, "uid:%ld", &uid) == 1)
        sj.submitted_uid = uid;
    store_err se = TIMED(s, store_job_create(s->db, &sj, &j->id));
    free(text);
    if (se != STORE_OK) {
        job_free(j);
        return store_fail(s, se, msg, msglen, "the job");
    }
    snprintf(j->state, sizeof j->state, "running");
    j->next = s->jobs;
    s->jobs = j;
    *id = j->id;
    station_emit_job(s, j);
    station_schedule(s);
    return STATION_OK;
}

station_err station_job_control(station *s, int64_t id, const char *verb, const char *actor,
                                char *msg, size_t msglen)
{
    sjob *j = station_job_find(s, id);
    if (!j) {
        store_job sj;
        if (store_job_get(s->db, id, &sj) == STORE_OK) {
            store_job_clear(&sj);
            return station_fail(msg, msglen, STATION_E_CONFLICT,
                                "job %" PRId64 " has already ended", id);
        }
        return station_fail(msg, msglen, STATION_E_NOT_FOUND, "no job %" PRId64, id);
    }
    if (!job_active(j) || j->finishing)
        return station_fail(msg, msglen, STATION_E_CONFLICT,
                            "job %" PRId64 " has already ended (%s)", id, j->state);
    const char *state = strcmp(verb, "pause") == 0    ? "paused"
                        : strcmp(verb, "resume") == 0 ? "running"
                        : strcmp(verb, "cancel") == 0 ? "cancelled"
                                                      : NULL;
    if (!state)
        return station_fail(msg, msglen, STATION_E_NOT_FOUND, "jobs have no action \"%s\"", verb);
    store_err se =
        TIMED(s, store_job_set_state_by(s->db, id, state, NULL, actor, station_now_ms()));
    if (se != STORE_OK)
        return store_fail(s, se, msg, msglen, "the job's new state");
    job_apply_state(s, j, state);
    return STATION_OK;
}

/* After a restart: the jobs that were running or paused go on. */
static void load_jobs(station *s)
{
    store_job *jobs = NULL;
    size_t n = 0;
    if (store_job_list(s->db, &jobs, &n) != STORE_OK)
        return;
    for (size_t i = n; i-- > 0;) {
        store_job *sj = &jobs[i];
        if (strcmp(sj->state, "running") != 0 && strcmp(sj->state, "paused") != 0)
            continue;
        sjob *j = calloc(1, sizeof *j);
        char msg[256] = "out of memory";
        json_t *req = sj->recipe_json ? json_loads(sj->recipe_json, 0, NULL) : NULL;
        if (!j || !req || parse_job(s, req, j, msg, sizeof msg) != STATION_OK ||
            !j->r.probes_given) {
            fprintf(stderr, "flashlined: job %" PRId64 " cannot go on after the restart: %s\n",
                    sj->id, msg);
            if (j)
                job_free(j);
            json_decref(req);
            continue;
        }
        json_decref(req);
        /* The kept recipe has the probes resolved at creation. */
        j->probes = calloc(j->r.nprobes, sizeof *j->probes);
        for (size_t k = 0; j->probes && k < j->r.nprobes; k++)
            snprintf(j->probes[j->nprobes++], RECIPE_PROBE_LEN, "%s", j->r.probes[k]);
        j->id = sj->id;
        snprintf(j->state, sizeof j->state, "%s", sj->state);
        j->next = s->jobs;
        s->jobs = j;
        if (j->count >= 0 && sj->ok >= j->count)
            station_job_finished(s, j, "done", NULL);
    }
    store_job_list_free(jobs, n);
}

/* ---- probes ------------------------------------------------------------------ */

size_t station_slot_count(const station *s)
{
    size_t n = 0;
    for (const slot *sl = s->slots; sl; sl = sl->next)
        n++;
    return n;
}

void station_set_state(station *s, slot *sl, const char *state)
{
    if (sl->state == state || (sl->state && strcmp(sl->state, state) == 0))
        return;
    sl->state = state;
    station_emit(s, "probe", station_probe_view(sl), sl->serial,
                 sl->unit_job ? sl->unit_job->id : 0, sl->unit_id);
}

void station_idle_state(station *s, slot *sl)
{
    bool present, has_job;
    pthread_mutex_lock(&sl->mu);
    present = sl->present;
    has_job = sl->job != NULL;
    pthread_mutex_unlock(&sl->mu);
    station_set_state(s, sl,
                      !present                  ? "gone"
                      : sl->quarantined         ? "quarantined"
                      : journal_blocked(s->jnl) ? "audit-blocked"
                      : has_job                 ? "waiting"
                                                : "idle");
}

static void take_job_away(slot *sl)
{
    pthread_mutex_lock(&sl->mu);
    sl->job = NULL;
    pthread_cond_signal(&sl->cv);
    pthread_mutex_unlock(&sl->mu);
}

/* Set aside in memory at once (a probe that fails boards must stop taking
 * them whether or not the disk has room); its record follows through the
 * journal. */
void station_quarantine(station *s, slot *sl, const char *reason)
{
    sl->quarantined = true;
    view_copy_utf8(sl->quarantine_reason, sizeof sl->quarantine_reason, reason);
    journal_entry *e = journal_entry_new(J_QUARANTINE, station_now_ms());
    if (e) {
        snprintf(e->probe, sizeof e->probe, "%s", sl->serial);
        e->body = strdup(sl->quarantine_reason);
        journal_write(s->jnl, e);
    }
    take_job_away(sl);
    fprintf(stderr, "flashlined: probe %s quarantined: %s\n", sl->serial, reason);
    sl->state = NULL;
    station_idle_state(s, sl);
}

station_err station_probe_control(station *s, const char *serial, const char *verb,
                                  const char *reason, const char *actor, char *msg, size_t msglen)
{
    slot *sl = station_slot_find(s, serial);
    if (!sl)
        return station_fail(msg, msglen, STATION_E_NOT_FOUND, "no probe with serial %s", serial);
    /* A quarantine the station decided may still be waiting in the journal:
     * a release committed now would be undone when it lands. */
    if (journal_pending(s->jnl))
        return station_fail(msg, msglen, STATION_E_CONFLICT,
                            "the audit store is refusing writes (%s), and records wait to be "
                            "committed; free space on the database's disk, then try again",
                            journal_reason(s->jnl));
    store_err se;
    if (strcmp(verb, "quarantine") == 0) {
        if (!reason || !*reason)
            return station_fail(msg, msglen, STATION_E_BAD_REQUEST,
                                "say why in \"reason\": the operator will read it");
        char kept[sizeof sl->quarantine_reason];
        view_copy_utf8(kept, sizeof kept, reason);
        se = TIMED(s,
                   store_probe_set_quarantine_by(s->db, sl->serial, kept, actor, station_now_ms()));
        if (se != STORE_OK)
            return store_fail(s, se, msg, msglen, "the quarantine");
        sl->quarantined = true;
        snprintf(sl->quarantine_reason, sizeof sl->quarantine_reason, "%s", kept);
        take_job_away(sl);
        fprintf(stderr, "flashlined: probe %s quarantined by %s: %s\n", sl->serial, actor, kept);
        sl->state = NULL;
        station_idle_state(s, sl);
    } else if (strcmp(verb, "release") == 0) {
        if (!sl->quarantined)
            return station_fail(msg, msglen, STATION_E_CONFLICT, "probe %s is not quarantined",
                                serial);
        se = TIMED(s,
                   store_probe_set_quarantine_by(s->db, sl->serial, NULL, actor, station_now_ms()));
        if (se != STORE_OK)
            return store_fail(s, se, msg, msglen, "the release");
        sl->quarantined = false;
        sl->failed_in_row = 0;
        sl->quarantine_reason[0] = '\0';
        sl->state = NULL;
        station_idle_state(s, sl);
        station_schedule(s);
    } else if (strcmp(verb, "reset") == 0) {
        if (sl->unit_id)
            return station_fail(msg, msglen, STATION_E_CONFLICT,
                                "probe %s is programming unit %" PRId64
                                ": reset it when it is idle",
                                serial, sl->unit_id);
        se = TIMED(s, store_action_add(s->db, station_now_ms(), actor, "probe.reset", "probe",
                                       sl->serial, NULL));
        if (se != STORE_OK)
            return store_fail(s, se, msg, msglen, "the reset");
        pthread_mutex_lock(&sl->mu);
        sl->reset_requested = true;
        pthread_cond_signal(&sl->cv);
        pthread_mutex_unlock(&sl->mu);
    } else {
        return station_fail(msg, msglen, STATION_E_NOT_FOUND, "probes have no action \"%s\"", verb);
    }
    return STATION_OK;
}

/* ---- the scheduler ------------------------------------------------------------ */

bool station_probe_allowed(const station *s, const char *serial)
{
    for (const char *const *p = s->cfg.ignore_serials; p && *p; p++)
        if (strcasecmp(*p, serial) == 0)
            return false;
    if (!s->cfg.only_serials)
        return true;
    for (const char *const *p = s->cfg.only_serials; *p; p++)
        if (strcasecmp(*p, serial) == 0)
            return true;
    return false;
}

/* Every free slot gets the oldest running job that names it; none while
 * the audit store refuses writes (commit or stop). */
void station_schedule(station *s)
{
    if (s->draining)
        return;
    bool blocked = journal_blocked(s->jnl);
    for (slot *sl = s->slots; sl; sl = sl->next) {
        sjob *best = NULL;
        for (sjob *j = s->jobs; j && !blocked && !sl->quarantined; j = j->next)
            if (strcmp(j->state, "running") == 0 && !j->finishing && job_has_probe(j, sl->serial) &&
                (!best || j->id < best->id))
                best = j;
        pthread_mutex_lock(&sl->mu);
        bool changed = false;
        if (sl->job == NULL && best) {
            sl->job = best;
            changed = true;
        } else if (blocked && sl->job && !sl->unit_id) {
            sl->job = NULL; /* between units: wait for the store */
            changed = true;
        }
        if (changed)
            pthread_cond_signal(&sl->cv);
        pthread_mutex_unlock(&sl->mu);
        if (changed && !sl->unit_id)
            station_idle_state(s, sl);
    }
}

/* ---- life ------------------------------------------------------------------------- */

/* The journal's writes are timed like the station's own
 * (flashline_sqlite_write_seconds). */
static void station_write_begin(void *user)
{
    metrics_write_begin(((station *)user)->metrics);
}

static void station_write_end(void *user, store_err e)
{
    metrics_write_end(((station *)user)->metrics, e);
}

station_err station_start(uv_loop_t *loop, const station_config *cfg, station **out, char *msg,
                          size_t msglen)
{
    station *s = calloc(1, sizeof *s);
    if (s && !(s->metrics = metrics_new())) {
        free(s);
        s = NULL;
    }
    if (!s)
        return station_fail(msg, msglen, STATION_E_INTERNAL, "out of memory");
    s->loop = loop;
    s->cfg = *cfg;
    if (!s->cfg.poll_ms)
        s->cfg.poll_ms = 200;
    if (!s->cfg.enumerate_ms)
        s->cfg.enumerate_ms = 1000;
    s->db = cfg->db;
    s->http = cfg->http;
    journal_hooks hooks = {.landed = station_landed,
                           .blocked = station_blocked,
                           .write_begin = station_write_begin,
                           .write_end = station_write_end,
                           .user = s};
    if (journal_new(loop, s->db, NULL, &hooks, &s->jnl) != 0) {
        metrics_free(s->metrics);
        free(s);
        return station_fail(msg, msglen, STATION_E_INTERNAL, "out of memory");
    }
    pthread_mutex_init(&s->qmu, NULL);
    uv_async_init(loop, &s->async, station_on_async);
    s->async.data = s;
    uv_timer_init(loop, &s->drain_timer);
    s->drain_timer.data = s;
    load_jobs(s);
    station_seed_metrics(s);
    if (hotplug_start(s, s->cfg.enumerate_ms, &s->hp) != 0) {
        station_free(s);
        return station_fail(
            msg, msglen, STATION_E_INTERNAL,
            "cannot start USB handling (libusb_init failed): is /dev/bus/usb there?");
    }
    *out = s;
    return STATION_OK;
}

static bool all_exited(const station *s)
{
    for (const slot *sl = s->slots; sl; sl = sl->next)
        if (sl->thread_started && !sl->exited)
            return false;
    return true;
}

/* Done when every worker has stopped and the journal has committed what
 * they produced (or the timeout passed: journal_free logs what is left). */
static void on_drain_tick(uv_timer_t *t)
{
    station *s = t->data;
    bool late = station_now_ms() - s->drain_started > DRAIN_TIMEOUT_MS;
    if ((!all_exited(s) || journal_pending(s->jnl)) && !late)
        return;
    uv_timer_stop(t);
    if (late) /* the store marks what is still in flight on the next start */
        fprintf(stderr,
                "flashlined: units still in flight or records not committed after %d s; "
                "stopping anyway\n",
                DRAIN_TIMEOUT_MS / 1000);
    if (s->drain_done)
        s->drain_done(s->drain_user);
}

void station_drain(station *s, void (*done)(void *user), void *user)
{
    s->draining = true;
    s->drain_started = station_now_ms();
    s->drain_done = done;
    s->drain_user = user;
    for (slot *sl = s->slots; sl; sl = sl->next) {
        pthread_mutex_lock(&sl->mu);
        sl->quit = true;
        sl->job = NULL;
        pthread_cond_signal(&sl->cv);
        pthread_mutex_unlock(&sl->mu);
    }
    uv_timer_start(&s->drain_timer, on_drain_tick, 0, 100);
}

static void on_closed(uv_handle_t *h)
{
    station *s = h->data;
    if (--s->closing > 0)
        return;
    for (slot_msg *m = s->qhead; m;) {
        slot_msg *next = m->next;
        station_msg_free(m);
        m = next;
    }
    while (s->jobs) {
        sjob *j = s->jobs;
        s->jobs = j->next;
        job_free(j);
    }
    pthread_mutex_destroy(&s->qmu);
    metrics_free(s->metrics);
    free(s);
}

void station_free(station *s)
{
    if (!s)
        return;
    hotplug_stop(s->hp);
    s->hp = NULL;
    /* Workers that finished are joined; one stuck in USB past the drain
     * timeout is left behind (the process is about to end). */
    while (s->slots) {
        slot *sl = s->slots;
        s->slots = sl->next;
        pthread_mutex_lock(&sl->mu);
        sl->quit = true;
        pthread_cond_signal(&sl->cv);
        pthread_mutex_unlock(&sl->mu);
        journal_ref_put(sl->attempt);
        sl->attempt = NULL;
        if (sl->thread_started && sl->exited) {
            pthread_join(sl->thread, NULL);
            pthread_mutex_destroy(&sl->mu);
            pthread_cond_destroy(&sl->cv);
            free(sl);
        } else if (sl->thread_started) {
            pthread_detach(sl->thread);
        } else {
            free(sl);
        }
    }
    journal_free(s->jnl);
    s->jnl = NULL;
    s->closing = 2;
    uv_close((uv_handle_t *)&s->async, on_closed);
    uv_close((uv_handle_t *)&s->drain_timer, on_closed);
}
