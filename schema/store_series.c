/* The store: station-wide serial series. A job with a series draws its
 * numbers from it; every number handed out is recorded once in
 * serial_numbers and the series' cursor (next) only ever grows, so a number
 * is never handed out twice, whatever jobs are cancelled or created. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_series_name(char out[128], uint32_t addr, const char *format)
{
    snprintf(out, 128, STORE_SERIES_NAME_FMT, (unsigned)addr, format ? format : "u32le");
}

static void done_with(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* The cursor of a series; *found false when there is no such series. */
static store_err series_next(store *s, const char *series, bool *found, int64_t *next)
{
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_SERIES_GET, &e);
    if (!st)
        return e;
    sqlite3_bind_text(st, 1, series, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (*found)
        *next = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        e = store_db_fail(s, rc, "reading a serial series");
    done_with(st);
    return e;
}

/* An explicit start below the cursor: name the job that holds the highest
 * number at or above it, so the operator sees whose boards would clash. */
static store_err refuse_start(store *s, const char *series, int64_t start, int64_t next)
{
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_SERIES_TOP, &e);
    if (!st)
        return e;
    sqlite3_bind_text(st, 1, series, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, start);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        e = store_failf(s, STORE_E_CONFLICT,
                        "serial numbers from %lld on in series \"%s\" were already handed out by"
                        " job %lld (up to %lld): leave out \"start\" to continue the series at"
                        " %lld, or start at %lld or later",
                        (long long)start, series, (long long)sqlite3_column_int64(st, 0),
                        (long long)sqlite3_column_int64(st, 1), (long long)next, (long long)next);
    else if (rc == SQLITE_DONE)
        /* The cursor was set by a job that started the series there, or
         * counted by a release before version 2: numbers below it may be
         * on boards without a row here. */
        e = store_failf(s, STORE_E_CONFLICT,
                        "serial numbers below %lld in series \"%s\" are reserved (a job started"
                        " the series there, or an older release handed them out): leave out"
                        " \"start\" to continue the series at %lld, or start at %lld or later",
                        (long long)next, series, (long long)next, (long long)next);
    else
        e = store_db_fail(s, rc, "looking up who holds serial numbers");
    done_with(st);
    return e;
}

/* Two jobs given explicit starts in one series would interleave their
 * numbers; one running or paused job per series unless the new one
 * continues the series. */
static store_err refuse_if_busy(store *s, const char *series)
{
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_SERIES_BUSY, &e);
    if (!st)
        return e;
    sqlite3_bind_text(st, 1, series, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        long long j = (long long)sqlite3_column_int64(st, 0);
        char state[16];
        store_col_text(st, 1, state, sizeof state);
        e = store_failf(s, STORE_E_CONFLICT,
                        "job %lld (%s) draws numbers from series \"%s\": continue the series"
                        " (leave out \"start\") or cancel job %lld first",
                        j, state, series, j);
    } else if (rc != SQLITE_DONE) {
        e = store_db_fail(s, rc, "looking up the jobs of a serial series");
    }
    done_with(st);
    return e;
}

store_err store_series_for_new_job(store *s, const store_job *in, int64_t *start)
{
    bool found = false;
    int64_t next = 0;
    store_err e = series_next(s, in->series, &found, &next);
    if (e != STORE_OK)
        return e;
    if (!found) {
        /* A new series begins at the job's start (the caller's default for
         * a continuing job). */
        if (in->next_serial < 0 || in->next_serial > in->serial_max)
            return store_failf(s, STORE_E_ARG,
                               "serial start %lld is outside 0..%lld, the numbers the job's"
                               " format holds; give a start in that range",
                               (long long)in->next_serial, (long long)in->serial_max);
        sqlite3_stmt *st = store_stmt(s, ST_SERIES_CREATE, &e);
        if (!st)
            return e;
        sqlite3_bind_text(st, 1, in->series, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, in->next_serial);
        sqlite3_bind_int64(st, 3, in->created_ms);
        if ((e = store_step_done(s, st, "creating a serial series")) != STORE_OK)
            return e;
        *start = in->next_serial;
        return STORE_OK;
    }
    if (in->serial_continue) {
        if (next > in->serial_max)
            return store_failf(s, STORE_E_EXHAUSTED,
                               "series \"%s\" has no number left for a new job: the next would be"
                               " %lld and the job's format holds up to %lld; use a wider format"
                               " or another address",
                               in->series, (long long)next, (long long)in->serial_max);
        *start = next;
        return STORE_OK;
    }
    if (in->next_serial < next)
        return refuse_start(s, in->series, in->next_serial, next);
    if ((e = refuse_if_busy(s, in->series)) != STORE_OK)
        return e;
    *start = in->next_serial;
    return STORE_OK;
}

store_err store_series_take(store *s, int64_t job_id, const char *series, int64_t job_next,
                            int64_t step, int64_t serial_max, int64_t *number)
{
    bool found = false;
    int64_t next = 0;
    store_err e = series_next(s, series, &found, &next);
    if (e != STORE_OK)
        return e;
    if (!found)
        return store_failf(s, STORE_E_CORRUPT,
                           "job %lld names serial series \"%s\", which does not exist; the"
                           " database was changed by hand; restore a backup",
                           (long long)job_id, series);
    /* The cursor covers numbers other jobs of the series handed out since
     * this job's last unit. */
    int64_t n = job_next > next ? job_next : next;
    if (n > serial_max || step < 1 || step > INT64_MAX - n)
        return store_failf(s, STORE_E_EXHAUSTED,
                           "series \"%s\" has no number left for job %lld: the next would be %lld"
                           " and its format holds up to %lld; end the job, and continue with a"
                           " wider serial format or another address",
                           series, (long long)job_id, (long long)n, (long long)serial_max);
    sqlite3_stmt *st = store_stmt(s, ST_JOB_SET_NEXT, &e);
    if (!st)
        return e;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, n + step);
    if ((e = store_step_done(s, st, "advancing the job's serial number")) != STORE_OK)
        return e;
    if (!(st = store_stmt(s, ST_SERIES_ADVANCE, &e)))
        return e;
    sqlite3_bind_text(st, 1, series, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, n + 1);
    if ((e = store_step_done(s, st, "advancing the serial series")) != STORE_OK)
        return e;
    *number = n;
    return STORE_OK;
}

store_err store_series_issue(store *s, const char *series, int64_t number, int64_t job_id,
                             int64_t unit_id)
{
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_SERIAL_INSERT, &e);
    if (!st)
        return e;
    sqlite3_bind_text(st, 1, series, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, number);
    sqlite3_bind_int64(st, 3, job_id);
    sqlite3_bind_int64(st, 4, unit_id);
    e = store_step_done(s, st, "recording a serial number as handed out");
    if (e == STORE_E_CONFLICT && sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
        /* The cursor is past every recorded number, so only a hand-edited
         * database gets here; the primary key refused the duplicate. */
        e = store_failf(s, STORE_E_CORRUPT,
                        "serial number %lld of series \"%s\" is already recorded although the"
                        " series' cursor is past it; the database was changed by hand; nothing"
                        " was written; repair serial_series.next or restore a backup",
                        (long long)number, series);
    return e;
}

store_err store_series_unit_end(store *s, int64_t unit_id, const char *result, bool serial_in_flash)
{
    const char *state = strcmp(result, "ok") == 0 ? "ok" : serial_in_flash ? "unknown" : "void";
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_SERIAL_END, &e);
    if (!st)
        return e;
    sqlite3_bind_int64(st, 1, unit_id);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    return store_step_done(s, st, "recording the state of the unit's serial number");
}

/* ---- reads ------------------------------------------------------------- */

store_err store_series_list(store *s, store_series **out, size_t *n)
{
    if (!s)
        return STORE_E_ARG;
    if (!out || !n)
        return store_failf(s, STORE_E_ARG, "store_series_list: out or n is NULL");
    *out = NULL;
    *n = 0;
    /* Run on demand (an operator's page), not per unit: prepared here. */
    static const char sql[] =
        "SELECT s.name, s.next,"
        " (SELECT count(*) FROM serial_numbers WHERE series = s.name AND state = 'issued'),"
        " (SELECT count(*) FROM serial_numbers WHERE series = s.name AND state = 'ok'),"
        " (SELECT count(*) FROM serial_numbers WHERE series = s.name AND state = 'void'),"
        " (SELECT count(*) FROM serial_numbers WHERE series = s.name AND state = 'unknown')"
        " FROM serial_series s ORDER BY s.name";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "listing serial series");
    store_series *v = NULL;
    size_t len = 0, cap = 0;
    store_err e = STORE_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            store_series *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                e = store_failf(s, STORE_E_NOMEM, "out of memory listing serial series");
                break;
            }
            v = nv;
            cap = ncap;
        }
        store_series *x = &v[len++];
        memset(x, 0, sizeof *x);
        store_col_text(st, 0, x->name, sizeof x->name);
        x->next = sqlite3_column_int64(st, 1);
        x->issued = sqlite3_column_int64(st, 2);
        x->ok = sqlite3_column_int64(st, 3);
        x->void_ = sqlite3_column_int64(st, 4);
        x->unknown = sqlite3_column_int64(st, 5);
    }
    if (e == STORE_OK && rc != SQLITE_DONE)
        e = store_db_fail(s, rc, "listing serial series");
    sqlite3_finalize(st);
    if (e != STORE_OK) {
        free(v);
        return e;
    }
    *out = v;
    *n = len;
    return store_ok(s);
}

void store_series_list_free(store_series *l, size_t n)
{
    (void)n;
    free(l);
}

store_err store_serial_lookup(store *s, const char *series, int64_t number, char state[16],
                              int64_t *job, int64_t *unit)
{
    if (!s)
        return STORE_E_ARG;
    if (!series || !*series || strlen(series) >= sizeof(((store_series *)0)->name))
        return store_failf(s, STORE_E_ARG, "series name is empty or longer than 127 bytes");
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_SERIAL_LOOKUP, &e);
    if (!st)
        return e;
    sqlite3_bind_text(st, 1, series, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, number);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (state)
            store_col_text(st, 0, state, 16);
        if (job)
            *job = sqlite3_column_int64(st, 1);
        if (unit)
            *unit = sqlite3_column_int64(st, 2);
        e = store_ok(s);
    } else if (rc == SQLITE_DONE) {
        e = store_failf(s, STORE_E_NOT_FOUND,
                        "serial number %lld of series \"%s\" was never handed out",
                        (long long)number, series);
    } else {
        e = store_db_fail(s, rc, "looking up a serial number");
    }
    done_with(st);
    return e;
}
