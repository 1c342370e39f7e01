/* The store: probes, images and jobs (the catalogue the units refer to). */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- probes -------------------------------------------------------------- */

static bool valid_serial(const char *serial)
{
    return serial && *serial && strlen(serial) < sizeof(((store_unit *)0)->probe);
}

store_err store_probe_seen(store *s, const char *serial, const char *kind, int64_t now_ms)
{
    if (!s)
        return STORE_E_ARG;
    if (!valid_serial(serial))
        return store_failf(s, STORE_E_ARG, "probe serial is empty or longer than 63 characters");
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_PROBE_SEEN, &e);
    if (!st)
        return e;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, kind ? kind : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now_ms);
    e = store_step_done(s, st, "recording probe");
    return e == STORE_OK ? store_ok(s) : e;
}

store_err store_probe_set_quarantine(store *s, const char *serial, const char *reason,
                                     int64_t now_ms)
{
    return store_probe_set_quarantine_by(s, serial, reason, NULL, now_ms);
}

static store_err quarantine_tx(store *s, const char *serial, const char *reason, const char *actor,
                               int64_t now_ms)
{
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_PROBE_SET_Q, &e);
    if (!st)
        return e;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_TRANSIENT);
    store_bind_text(st, 2, reason);
    sqlite3_bind_int64(st, 3, now_ms);
    e = store_step_done(s, st, "recording probe quarantine");
    if (e != STORE_OK)
        return e;
    if (sqlite3_changes(s->db) == 0)
        return store_failf(s, STORE_E_NOT_FOUND,
                           "probe %s is not known; it must have been seen (plugged in) first",
                           serial);
    if (!actor)
        return STORE_OK;
    return store_action_insert_reason(
        s, now_ms, actor, reason ? "probe.quarantine" : "probe.release", "probe", serial, reason);
}

store_err store_probe_set_quarantine_by(store *s, const char *serial, const char *reason,
                                        const char *actor, int64_t now_ms)
{
    if (!s)
        return STORE_E_ARG;
    if (!valid_serial(serial))
        return store_failf(s, STORE_E_ARG, "probe serial is empty or longer than 63 characters");
    if (actor && !store_valid_actor(actor))
        return store_failf(s, STORE_E_ARG, "actor is empty or longer than 63 bytes");
    store_err e = store_tx_begin(s);
    if (e != STORE_OK)
        return e;
    e = quarantine_tx(s, serial, reason, actor, now_ms);
    if (e == STORE_OK)
        e = store_tx_commit(s, "committing probe quarantine");
    else
        store_tx_rollback(s);
    return e == STORE_OK ? store_ok(s) : e;
}

store_err store_probe_quarantine(store *s, const char *serial, char *reason, size_t n,
                                 bool *quarantined)
{
    if (!s)
        return STORE_E_ARG;
    if (!valid_serial(serial))
        return store_failf(s, STORE_E_ARG, "probe serial is empty or longer than 63 characters");
    if (reason && n)
        reason[0] = '\0';
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_PROBE_GET_Q, &e);
    if (!st)
        return e;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        bool q = sqlite3_column_type(st, 0) != SQLITE_NULL;
        if (quarantined)
            *quarantined = q;
        if (reason && n)
            store_col_text(st, 0, reason, n);
        e = store_ok(s);
    } else if (rc == SQLITE_DONE) {
        e = store_failf(s, STORE_E_NOT_FOUND, "probe %s is not known", serial);
    } else {
        e = store_db_fail(s, rc, "reading probe quarantine");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
}

/* ---- images -------------------------------------------------------------- */

store_err store_image_put(store *s, const char *sha256, const char *format, uint32_t base,
                          const void *bytes, size_t len, int64_t now_ms)
{
    if (!s)
        return STORE_E_ARG;
    if (!store_valid_sha256(sha256))
        return store_failf(s, STORE_E_ARG,
                           "image key must be a SHA-256 in 64 lower-case hex digits");
    if (!format || !*format || strlen(format) >= sizeof(((store_image *)0)->format))
        return store_failf(s, STORE_E_ARG, "image format must be a short name such as \"ihex\"");
    if (!bytes || len == 0)
        return store_failf(s, STORE_E_ARG, "image %.12s is empty; nothing to store", sha256);
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_IMAGE_PUT, &e);
    if (!st)
        return e;
    sqlite3_bind_text(st, 1, sha256, 64, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, format, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, base);
    sqlite3_bind_int64(st, 4, (int64_t)len);
    /* STATIC: the statement is reset before this function returns. */
    int rc = sqlite3_bind_blob64(st, 5, bytes, len, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        e = store_db_fail(s, rc, "storing image");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return e;
    }
    sqlite3_bind_int64(st, 6, now_ms);
    e = store_step_done(s, st, "storing image");
    return e == STORE_OK ? store_ok(s) : e;
}

store_err store_image_get(store *s, const char *sha256, store_image *out)
{
    if (!s)
        return STORE_E_ARG;
    if (!out)
        return store_failf(s, STORE_E_ARG, "store_image_get: out is NULL");
    memset(out, 0, sizeof *out);
    if (!store_valid_sha256(sha256))
        return store_failf(s, STORE_E_ARG,
                           "image key must be a SHA-256 in 64 lower-case hex digits");
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_IMAGE_GET, &e);
    if (!st)
        return e;
    sqlite3_bind_text(st, 1, sha256, 64, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memcpy(out->sha256, sha256, 65);
        store_col_text(st, 0, out->format, sizeof out->format);
        out->base = (uint32_t)sqlite3_column_int64(st, 1);
        const void *b = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        out->created_ms = sqlite3_column_int64(st, 3);
        out->bytes = malloc(len ? len : 1);
        if (!out->bytes) {
            e = store_failf(s, STORE_E_NOMEM, "out of memory reading image %.12s", sha256);
        } else {
            if (len)
                memcpy(out->bytes, b, len);
            out->len = len;
            e = store_ok(s);
        }
    } else if (rc == SQLITE_DONE) {
        e = store_failf(s, STORE_E_NOT_FOUND, "image %s is not stored; upload it first", sha256);
    } else {
        e = store_db_fail(s, rc, "reading image");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
}

void store_image_clear(store_image *img)
{
    if (!img)
        return;
    free(img->bytes);
    memset(img, 0, sizeof *img);
}

/* ---- jobs ---------------------------------------------------------------- */

static const char *const job_states[] = {"running", "paused", "cancelled", "done"};

static bool valid_job_state(const char *st)
{
    if (!st)
        return false;
    for (size_t i = 0; i < sizeof job_states / sizeof job_states[0]; i++)
        if (strcmp(st, job_states[i]) == 0)
            return true;
    return false;
}

static store_err job_create_tx(store *s, const store_job *in, const char *actor, int64_t *id)
{
    store_err e = STORE_OK;
    sqlite3_stmt *ex = store_stmt(s, ST_IMAGE_EXISTS, &e);
    if (!ex)
        return e;
    sqlite3_bind_text(ex, 1, in->image, 64, SQLITE_TRANSIENT);
    int rc = sqlite3_step(ex);
    sqlite3_reset(ex);
    sqlite3_clear_bindings(ex);
    if (rc == SQLITE_DONE)
        return store_failf(s, STORE_E_NOT_FOUND, "image %s is not stored; upload it first",
                           in->image);
    if (rc != SQLITE_ROW)
        return store_db_fail(s, rc, "looking up the job's image");

    bool with_series = in->series[0] != '\0';
    int64_t start = in->next_serial;
    if (with_series && (e = store_series_for_new_job(s, in, &start)) != STORE_OK)
        return e;

    sqlite3_stmt *st = store_stmt(s, ST_JOB_CREATE, &e);
    if (!st)
        return e;
    sqlite3_bind_text(st, 1, in->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, in->image, 64, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, in->recipe_json ? in->recipe_json : "{}", -1, SQLITE_TRANSIENT);
    if (in->count < 0)
        sqlite3_bind_null(st, 4);
    else
        sqlite3_bind_int64(st, 4, in->count);
    bool serial = in->has_serial || with_series;
    sqlite3_bind_int(st, 5, serial ? 1 : 0);
    if (serial) {
        sqlite3_bind_int64(st, 6, start);
        sqlite3_bind_int64(st, 7, in->serial_step);
    }
    sqlite3_bind_int64(st, 8, in->created_ms);
    sqlite3_bind_int64(st, 9, in->submitted_uid);
    if (with_series) {
        sqlite3_bind_text(st, 10, in->series, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 11, in->serial_max);
    }
    if ((e = store_step_done(s, st, "creating job")) != STORE_OK)
        return e;
    int64_t job = sqlite3_last_insert_rowid(s->db);

    if (!(st = store_stmt(s, ST_ACTION_JOB_CREATE, &e)))
        return e;
    char target[24];
    snprintf(target, sizeof target, "%lld", (long long)job);
    sqlite3_bind_int64(st, 1, in->created_ms);
    sqlite3_bind_text(st, 2, actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, target, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, in->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, in->image, 64, SQLITE_TRANSIENT);
    if (with_series)
        sqlite3_bind_text(st, 6, in->series, -1, SQLITE_TRANSIENT);
    if (serial) {
        sqlite3_bind_int64(st, 7, start);
        sqlite3_bind_int64(st, 8, in->serial_step);
    }
    if ((e = store_step_done(s, st, "recording who created the job")) != STORE_OK)
        return e;
    *id = job;
    return STORE_OK;
}

store_err store_job_create(store *s, const store_job *in, int64_t *id)
{
    if (!s)
        return STORE_E_ARG;
    if (!in || !id)
        return store_failf(s, STORE_E_ARG, "store_job_create: in or id is NULL");
    if (memchr(in->name, '\0', sizeof in->name) == NULL)
        return store_failf(s, STORE_E_ARG, "job name is longer than 127 bytes");
    if (!store_valid_sha256(in->image))
        return store_failf(s, STORE_E_ARG,
                           "job image must be a SHA-256 in 64 lower-case hex digits");
    if (in->count < -1)
        return store_failf(s, STORE_E_ARG,
                           "job count %lld is negative; give a count >= 0 or -1 for continuous",
                           (long long)in->count);
    if (in->has_serial && in->serial_step == 0)
        return store_failf(s, STORE_E_ARG,
                           "serial step 0 would give every unit the same serial; use a step"
                           " other than 0");
    if (memchr(in->series, '\0', sizeof in->series) == NULL)
        return store_failf(s, STORE_E_ARG, "serial series name is longer than 127 bytes");
    if (in->series[0]) {
        if (in->serial_step < 1)
            return store_failf(s, STORE_E_ARG,
                               "serial step %lld: a series counts upwards; use a step of 1 or"
                               " more",
                               (long long)in->serial_step);
        if (in->serial_max < 0)
            return store_failf(s, STORE_E_ARG,
                               "serial_max %lld is negative; give the largest number the job's"
                               " serial format holds",
                               (long long)in->serial_max);
        if (!in->serial_continue && (in->next_serial < 0 || in->next_serial > in->serial_max))
            return store_failf(s, STORE_E_ARG,
                               "serial start %lld is outside 0..%lld, the numbers the job's"
                               " format holds; give a start in that range",
                               (long long)in->next_serial, (long long)in->serial_max);
    }
    if (memchr(in->actor, '\0', sizeof in->actor) == NULL)
        return store_failf(s, STORE_E_ARG, "job actor is longer than 63 bytes");
    char actor[64];
    if (in->actor[0])
        snprintf(actor, sizeof actor, "%s", in->actor);
    else
        snprintf(actor, sizeof actor, "uid:%lld", (long long)in->submitted_uid);

    store_err e = store_tx_begin(s);
    if (e != STORE_OK)
        return e;
    int64_t job = 0;
    e = job_create_tx(s, in, actor, &job);
    if (e == STORE_OK)
        e = store_tx_commit(s, "committing the new job");
    else
        store_tx_rollback(s);
    if (e != STORE_OK)
        return e;
    *id = job;
    return store_ok(s);
}

static store_err read_job(store *s, sqlite3_stmt *st, store_job *j)
{
    memset(j, 0, sizeof *j);
    j->id = sqlite3_column_int64(st, 0);
    store_col_text(st, 1, j->name, sizeof j->name);
    store_col_text(st, 2, j->state, sizeof j->state);
    store_col_text(st, 3, j->image, sizeof j->image);
    const char *r = (const char *)sqlite3_column_text(st, 4);
    j->recipe_json = strdup(r ? r : "{}");
    if (!j->recipe_json)
        return store_failf(s, STORE_E_NOMEM, "out of memory reading job %lld", (long long)j->id);
    j->count = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 5);
    j->has_serial = sqlite3_column_int(st, 6) != 0;
    j->next_serial = sqlite3_column_int64(st, 7);
    j->serial_step = sqlite3_column_int64(st, 8);
    j->created_ms = sqlite3_column_int64(st, 9);
    j->finished_ms = sqlite3_column_int64(st, 10);
    j->submitted_uid = sqlite3_column_int64(st, 11);
    j->ok = sqlite3_column_int64(st, 12);
    j->failed = sqlite3_column_int64(st, 13);
    j->interrupted = sqlite3_column_int64(st, 14);
    j->in_flight = sqlite3_column_int64(st, 15);
    store_col_text(st, 16, j->series, sizeof j->series);
    j->serial_max = sqlite3_column_int64(st, 17);
    store_col_text(st, 18, j->state_reason, sizeof j->state_reason);
    return STORE_OK;
}

store_err store_job_get(store *s, int64_t id, store_job *out)
{
    if (!s)
        return STORE_E_ARG;
    if (!out)
        return store_failf(s, STORE_E_ARG, "store_job_get: out is NULL");
    memset(out, 0, sizeof *out);
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_JOB_GET, &e);
    if (!st)
        return e;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        e = read_job(s, st, out);
        if (e == STORE_OK)
            store_ok(s);
    } else if (rc == SQLITE_DONE) {
        e = store_failf(s, STORE_E_NOT_FOUND, "job %lld does not exist", (long long)id);
    } else {
        e = store_db_fail(s, rc, "reading job");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
}

store_err store_job_list(store *s, store_job **out, size_t *n)
{
    if (!s)
        return STORE_E_ARG;
    if (!out || !n)
        return store_failf(s, STORE_E_ARG, "store_job_list: out or n is NULL");
    *out = NULL;
    *n = 0;
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_JOB_LIST, &e);
    if (!st)
        return e;
    store_job *v = NULL;
    size_t len = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            store_job *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                e = store_failf(s, STORE_E_NOMEM, "out of memory listing jobs");
                break;
            }
            v = nv;
            cap = ncap;
        }
        e = read_job(s, st, &v[len]);
        if (e != STORE_OK)
            break;
        len++;
    }
    if (e == STORE_OK && rc != SQLITE_DONE)
        e = store_db_fail(s, rc, "listing jobs");
    sqlite3_reset(st);
    if (e != STORE_OK) {
        store_job_list_free(v, len);
        return e;
    }
    *out = v;
    *n = len;
    return store_ok(s);
}

void store_job_clear(store_job *j)
{
    if (!j)
        return;
    free(j->recipe_json);
    j->recipe_json = NULL;
}

void store_job_list_free(store_job *jobs, size_t n)
{
    for (size_t i = 0; jobs && i < n; i++)
        store_job_clear(&jobs[i]);
    free(jobs);
}

store_err store_job_set_state(store *s, int64_t id, const char *state, int64_t now_ms)
{
    return store_job_set_state_by(s, id, state, NULL, NULL, now_ms);
}

static const char *state_verb(const char *state)
{
    if (strcmp(state, "running") == 0)
        return "job.resume";
    if (strcmp(state, "paused") == 0)
        return "job.pause";
    if (strcmp(state, "cancelled") == 0)
        return "job.cancel";
    return "job.done";
}

static store_err explain_no_state_change(store *s, int64_t id, const char *state);

static store_err set_state_tx(store *s, int64_t id, const char *state, const char *reason,
                              const char *actor, int64_t now_ms)
{
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_JOB_SET_STATE, &e);
    if (!st)
        return e;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now_ms);
    store_bind_text(st, 4, reason);
    e = store_step_done(s, st, "changing job state");
    if (e != STORE_OK)
        return e;
    if (sqlite3_changes(s->db) == 0)
        return explain_no_state_change(s, id, state);
    if (!actor)
        return STORE_OK;
    char target[24];
    snprintf(target, sizeof target, "%lld", (long long)id);
    return store_action_insert_reason(s, now_ms, actor, state_verb(state), "job", target, reason);
}

store_err store_job_set_state_by(store *s, int64_t id, const char *state, const char *reason,
                                 const char *actor, int64_t now_ms)
{
    if (!s)
        return STORE_E_ARG;
    if (!valid_job_state(state))
        return store_failf(s, STORE_E_ARG,
                           "job state must be running, paused, cancelled or done, not \"%s\"",
                           state ? state : "(null)");
    if (reason && strlen(reason) >= sizeof(((store_job *)0)->state_reason))
        return store_failf(s, STORE_E_ARG, "job state reason is longer than 255 bytes");
    if (actor && !store_valid_actor(actor))
        return store_failf(s, STORE_E_ARG, "actor is empty or longer than 63 bytes");
    store_err e = store_tx_begin(s);
    if (e != STORE_OK)
        return e;
    e = set_state_tx(s, id, state, reason, actor, now_ms);
    if (e == STORE_OK)
        e = store_tx_commit(s, "committing the job's state");
    else
        store_tx_rollback(s);
    return e == STORE_OK ? store_ok(s) : e;
}

/* Nothing changed: say whether the job is unknown or has ended. */
static store_err explain_no_state_change(store *s, int64_t id, const char *state)
{
    store_err e = STORE_OK;
    sqlite3_stmt *q = store_stmt(s, ST_JOB_STATE, &e);
    if (!q)
        return e;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        char cur[16];
        store_col_text(q, 0, cur, sizeof cur);
        e = store_failf(s, STORE_E_CONFLICT, "job %lld has already ended (%s); it cannot be %s",
                        (long long)id, cur, state);
    } else if (rc == SQLITE_DONE) {
        e = store_failf(s, STORE_E_NOT_FOUND, "job %lld does not exist", (long long)id);
    } else {
        e = store_db_fail(s, rc, "reading job state");
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return e;
}
