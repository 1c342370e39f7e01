/* The store: units, attempts, recovery steps, events, crash recovery and
 * the audit queries. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INTERRUPTED_MSG                                                                            \
    "flashlined stopped while this unit was in flight (crash, kill or power loss); the board's"    \
    " flash is in an unknown state: program it again"

static bool short_text(const char *t, size_t cap)
{
    return t && *t && strlen(t) < cap;
}

/* Steps a one-row lookup statement; *found tells whether there was a row.
 * Leaves the statement on the row for the caller to read; the caller resets. */
static store_err step_lookup(store *s, sqlite3_stmt *st, bool *found, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *found = true;
        return STORE_OK;
    }
    *found = false;
    if (rc == SQLITE_DONE)
        return STORE_OK;
    return store_db_fail(s, rc, what);
}

static void done_with(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* After an UPDATE ... WHERE result = 'in_flight' changed nothing: say
 * whether the row does not exist or has already ended. */
static store_err explain_not_open(store *s, enum store_stmt lookup, const char *noun, int64_t id)
{
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, lookup, &e);
    if (!st)
        return e;
    sqlite3_bind_int64(st, 1, id);
    bool found = false;
    e = step_lookup(s, st, &found, "reading a result");
    if (e == STORE_OK) {
        if (found) {
            char r[16];
            store_col_text(st, 0, r, sizeof r);
            e = store_failf(s, STORE_E_CONFLICT,
                            "%s %lld has already ended (%s); a result, once recorded, is final",
                            noun, (long long)id, r);
        } else {
            e = store_failf(s, STORE_E_NOT_FOUND, "%s %lld does not exist", noun, (long long)id);
        }
    }
    done_with(st);
    return e;
}

/* ---- writes ------------------------------------------------------------- */

store_err store_recover_in_flight(store *s, int64_t now_ms, int *n_interrupted)
{
    if (!s)
        return STORE_E_ARG;
    if (n_interrupted)
        *n_interrupted = 0;
    store_err e = store_tx_begin(s);
    if (e != STORE_OK)
        return e;
    sqlite3_stmt *st = store_stmt(s, ST_RECOVER_SERIALS, &e);
    if (st)
        e = store_step_done(s, st, "marking serial numbers left in flight by a crash as unknown");
    if (e == STORE_OK && (st = store_stmt(s, ST_RECOVER_ATTEMPTS, &e)) != NULL) {
        sqlite3_bind_int64(st, 1, now_ms);
        sqlite3_bind_text(st, 2, INTERRUPTED_MSG, -1, SQLITE_STATIC);
        e = store_step_done(s, st, "closing attempts left open by a crash");
    }
    int n = 0;
    if (e == STORE_OK && (st = store_stmt(s, ST_RECOVER_UNITS, &e)) != NULL) {
        sqlite3_bind_int64(st, 1, now_ms);
        sqlite3_bind_text(st, 2, INTERRUPTED_MSG, -1, SQLITE_STATIC);
        e = store_step_done(s, st, "marking units left in flight by a crash as interrupted");
        n = sqlite3_changes(s->db);
    }
    if (e == STORE_OK)
        e = store_tx_commit(s, "committing crash recovery");
    else
        store_tx_rollback(s);
    if (e != STORE_OK)
        return e;
    if (n_interrupted)
        *n_interrupted = n;
    return store_ok(s);
}

static store_err unit_begin_tx(store *s, int64_t job_id, const char *probe, const char *uid,
                               const char *chip, int64_t now_ms, int64_t *unit_id, bool *has_serial,
                               int64_t *serial)
{
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_JOB_STATE, &e);
    if (!st)
        return e;
    sqlite3_bind_int64(st, 1, job_id);
    bool found = false;
    e = step_lookup(s, st, &found, "looking up the unit's job");
    char state[16] = "", image[65] = "", series[128] = "";
    int64_t job_next = 0, step = 0, serial_max = 0;
    if (found) {
        store_col_text(st, 0, state, sizeof state);
        store_col_text(st, 1, image, sizeof image);
        store_col_text(st, 2, series, sizeof series);
        job_next = sqlite3_column_int64(st, 3);
        step = sqlite3_column_int64(st, 4);
        serial_max = sqlite3_column_int64(st, 5);
    }
    done_with(st);
    if (e != STORE_OK)
        return e;
    if (!found)
        return store_failf(s, STORE_E_NOT_FOUND, "job %lld does not exist", (long long)job_id);
    if (strcmp(state, "done") == 0 || strcmp(state, "cancelled") == 0)
        return store_failf(s, STORE_E_CONFLICT,
                           "job %lld has ended (%s); no new unit may start in it; leave the"
                           " board unprogrammed",
                           (long long)job_id, state);

    /* Taking the serial and inserting the unit commit together: a serial
     * is either used by a recorded unit or still free. */
    bool with_serial = false;
    int64_t sn = 0;
    if (series[0]) {
        e = store_series_take(s, job_id, series, job_next, step, serial_max, &sn);
        if (e != STORE_OK)
            return e;
        with_serial = true;
    } else {
        /* A job without a series (store.h): its own counter, as before. */
        if (!(st = store_stmt(s, ST_JOB_TAKE_SERIAL, &e)))
            return e;
        sqlite3_bind_int64(st, 1, job_id);
        e = step_lookup(s, st, &found, "taking the next serial number");
        with_serial = found;
        sn = found ? sqlite3_column_int64(st, 0) : 0;
        if (e == STORE_OK && found)
            e = store_step_done(s, st, "taking the next serial number"); /* runs to the end */
        else
            done_with(st);
        if (e != STORE_OK)
            return e;
    }

    if (!(st = store_stmt(s, ST_PROBE_TOUCH, &e)))
        return e;
    sqlite3_bind_text(st, 1, probe, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, now_ms);
    if ((e = store_step_done(s, st, "recording the unit's probe")) != STORE_OK)
        return e;

    if (!(st = store_stmt(s, ST_UNIT_INSERT, &e)))
        return e;
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_text(st, 2, probe, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, uid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, chip, -1, SQLITE_TRANSIENT);
    if (with_serial)
        sqlite3_bind_int64(st, 5, sn);
    sqlite3_bind_text(st, 6, image, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, now_ms);
    if ((e = store_step_done(s, st, "recording the start of a unit")) != STORE_OK)
        return e;
    int64_t unit = sqlite3_last_insert_rowid(s->db);
    if (series[0] && (e = store_series_issue(s, series, sn, job_id, unit)) != STORE_OK)
        return e;
    *unit_id = unit;
    if (has_serial)
        *has_serial = with_serial;
    if (serial)
        *serial = sn;
    return STORE_OK;
}

store_err store_unit_begin(store *s, int64_t job_id, const char *probe, const char *uid,
                           const char *chip, int64_t now_ms, int64_t *unit_id, bool *has_serial,
                           int64_t *serial)
{
    if (!s)
        return STORE_E_ARG;
    if (!unit_id)
        return store_failf(s, STORE_E_ARG, "store_unit_begin: unit_id is NULL");
    if (!short_text(probe, sizeof(((store_unit *)0)->probe)))
        return store_failf(s, STORE_E_ARG, "probe serial is empty or longer than 63 characters");
    if (!short_text(uid, sizeof(((store_unit *)0)->uid)))
        return store_failf(s, STORE_E_ARG, "unit UID is empty or longer than 31 characters");
    if (!short_text(chip, sizeof(((store_unit *)0)->chip)))
        return store_failf(s, STORE_E_ARG, "chip name is empty or longer than 31 characters");
    store_err e = store_tx_begin(s);
    if (e != STORE_OK)
        return e;
    e = unit_begin_tx(s, job_id, probe, uid, chip, now_ms, unit_id, has_serial, serial);
    if (e == STORE_OK)
        e = store_tx_commit(s, "committing the start of a unit");
    else
        store_tx_rollback(s);
    return e == STORE_OK ? store_ok(s) : e;
}

store_err store_attempt_begin(store *s, int64_t unit_id, int n, int64_t now_ms, int64_t *attempt_id)
{
    if (!s)
        return STORE_E_ARG;
    if (!attempt_id || n < 1)
        return store_failf(s, STORE_E_ARG,
                           "store_attempt_begin: attempt numbers start at 1 (got %d) and"
                           " attempt_id must not be NULL",
                           n);
    store_err e = store_tx_begin(s);
    if (e != STORE_OK)
        return e;
    sqlite3_stmt *st = store_stmt(s, ST_UNIT_RESULT, &e);
    bool found = false;
    char r[16] = "";
    if (st) {
        sqlite3_bind_int64(st, 1, unit_id);
        e = step_lookup(s, st, &found, "looking up the attempt's unit");
        if (found)
            store_col_text(st, 0, r, sizeof r);
        done_with(st);
    }
    if (e == STORE_OK && !found)
        e = store_failf(s, STORE_E_NOT_FOUND, "unit %lld does not exist", (long long)unit_id);
    if (e == STORE_OK && strcmp(r, "in_flight") != 0)
        e = store_failf(s, STORE_E_CONFLICT, "unit %lld has already ended (%s); no new attempt",
                        (long long)unit_id, r);
    if (e == STORE_OK && (st = store_stmt(s, ST_ATTEMPT_INSERT, &e)) != NULL) {
        sqlite3_bind_int64(st, 1, unit_id);
        sqlite3_bind_int(st, 2, n);
        sqlite3_bind_int64(st, 3, now_ms);
        e = store_step_done(s, st, "recording the start of an attempt");
        if (e == STORE_E_CONFLICT)
            store_failf(s, e, "unit %lld already has an attempt %d; number attempts 1, 2, 3...",
                        (long long)unit_id, n);
        else if (e == STORE_OK)
            *attempt_id = sqlite3_last_insert_rowid(s->db);
    }
    if (e == STORE_OK)
        e = store_tx_commit(s, "committing the start of an attempt");
    else
        store_tx_rollback(s);
    return e == STORE_OK ? store_ok(s) : e;
}

store_err store_recovery_add(store *s, int64_t unit_id, int64_t attempt_id, const char *step,
                             bool ok, int64_t now_ms)
{
    if (!s)
        return STORE_E_ARG;
    if (!short_text(step, sizeof(((store_recovery *)0)->step)))
        return store_failf(s, STORE_E_ARG,
                           "recovery step text is empty or longer than 127 characters");
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_RECOVERY_INSERT, &e);
    if (!st)
        return e;
    sqlite3_bind_int64(st, 1, unit_id);
    sqlite3_bind_int64(st, 2, attempt_id);
    sqlite3_bind_int64(st, 3, now_ms);
    sqlite3_bind_text(st, 4, step, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 5, ok ? 1 : 0);
    e = store_step_done(s, st, "recording a recovery step");
    if (e != STORE_OK)
        return e;
    if (sqlite3_changes(s->db) == 0)
        return store_failf(s, STORE_E_NOT_FOUND, "unit %lld has no attempt %lld",
                           (long long)unit_id, (long long)attempt_id);
    return store_ok(s);
}

store_err store_attempt_end(store *s, int64_t attempt_id, const char *result, const char *state,
                            const char *error, int64_t now_ms)
{
    if (!s)
        return STORE_E_ARG;
    if (!store_valid_result(result, true))
        return store_failf(s, STORE_E_ARG,
                           "attempt result must be ok, failed or interrupted, not \"%s\"",
                           result ? result : "(null)");
    if (state && strlen(state) >= sizeof(((store_attempt *)0)->state))
        return store_failf(s, STORE_E_ARG, "attempt state name is longer than 23 characters");
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_ATTEMPT_END, &e);
    if (!st)
        return e;
    sqlite3_bind_int64(st, 1, attempt_id);
    sqlite3_bind_text(st, 2, result, -1, SQLITE_TRANSIENT);
    store_bind_text(st, 3, state);
    store_bind_text(st, 4, error);
    sqlite3_bind_int64(st, 5, now_ms);
    e = store_step_done(s, st, "recording the end of an attempt");
    if (e != STORE_OK)
        return e;
    if (sqlite3_changes(s->db) == 0)
        return explain_not_open(s, ST_ATTEMPT_RESULT, "attempt", attempt_id);
    return store_ok(s);
}

store_err store_unit_end(store *s, int64_t unit_id, const char *result, const char *error,
                         int64_t now_ms)
{
    /* Without word from the caller, assume the board may hold the number:
     * 'unknown' keeps it out of use, 'void' would claim it is not on a board. */
    return store_unit_end2(s, unit_id, result, error, true, now_ms);
}

store_err store_unit_end2(store *s, int64_t unit_id, const char *result, const char *error,
                          bool serial_in_flash, int64_t now_ms)
{
    if (!s)
        return STORE_E_ARG;
    if (!store_valid_result(result, true))
        return store_failf(s, STORE_E_ARG,
                           "unit result must be ok, failed or interrupted, not \"%s\"",
                           result ? result : "(null)");
    store_err e = store_tx_begin(s);
    if (e != STORE_OK)
        return e;
    sqlite3_stmt *st = store_stmt(s, ST_UNIT_END, &e);
    if (st) {
        sqlite3_bind_int64(st, 1, unit_id);
        sqlite3_bind_text(st, 2, result, -1, SQLITE_TRANSIENT);
        store_bind_text(st, 3, error);
        sqlite3_bind_int64(st, 4, now_ms);
        e = store_step_done(s, st, "recording the end of a unit");
    }
    if (e == STORE_OK && sqlite3_changes(s->db) == 0)
        e = explain_not_open(s, ST_UNIT_RESULT, "unit", unit_id);
    /* An attempt the caller left open ends with its unit, so the history
     * never shows an attempt still running under a finished unit. */
    if (e == STORE_OK && (st = store_stmt(s, ST_UNIT_CLOSE_ATTEMPTS, &e)) != NULL) {
        sqlite3_bind_int64(st, 1, unit_id);
        sqlite3_bind_text(st, 2, result, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, now_ms);
        e = store_step_done(s, st, "closing the unit's open attempts");
    }
    if (e == STORE_OK)
        e = store_series_unit_end(s, unit_id, result, serial_in_flash);
    if (e == STORE_OK)
        e = store_tx_commit(s, "committing the end of a unit");
    else
        store_tx_rollback(s);
    return e == STORE_OK ? store_ok(s) : e;
}

store_err store_event_add(store *s, int64_t now_ms, const char *kind, const char *probe,
                          int64_t job_id, int64_t unit_id, const char *data_json)
{
    if (!s)
        return STORE_E_ARG;
    if (!kind || !*kind)
        return store_failf(s, STORE_E_ARG, "event kind is empty");
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_EVENT_INSERT, &e);
    if (!st)
        return e;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
    store_bind_text(st, 3, probe);
    if (job_id)
        sqlite3_bind_int64(st, 4, job_id);
    if (unit_id)
        sqlite3_bind_int64(st, 5, unit_id);
    store_bind_text(st, 6, data_json);
    e = store_step_done(s, st, "recording an event");
    if (e == STORE_E_NOT_FOUND)
        store_failf(s, e, "event names job %lld or unit %lld, which does not exist",
                    (long long)job_id, (long long)unit_id);
    return e == STORE_OK ? store_ok(s) : e;
}

/* ---- reads -------------------------------------------------------------- */

static void read_unit(sqlite3_stmt *st, store_unit *u)
{
    memset(u, 0, sizeof *u);
    u->id = sqlite3_column_int64(st, 0);
    u->job_id = sqlite3_column_int64(st, 1);
    store_col_text(st, 2, u->probe, sizeof u->probe);
    store_col_text(st, 3, u->uid, sizeof u->uid);
    store_col_text(st, 4, u->chip, sizeof u->chip);
    u->has_serial = sqlite3_column_type(st, 5) != SQLITE_NULL;
    u->serial = sqlite3_column_int64(st, 5);
    store_col_text(st, 6, u->image, sizeof u->image);
    store_col_text(st, 7, u->result, sizeof u->result);
    store_col_text(st, 8, u->error, sizeof u->error);
    u->started_ms = sqlite3_column_int64(st, 9);
    u->finished_ms = sqlite3_column_int64(st, 10);
    u->attempts = sqlite3_column_int(st, 11);
    u->recovery_steps = sqlite3_column_int(st, 12);
    store_col_text(st, 13, u->serial_state, sizeof u->serial_state);
}

store_err store_unit_get(store *s, int64_t id, store_unit *out)
{
    if (!s)
        return STORE_E_ARG;
    if (!out)
        return store_failf(s, STORE_E_ARG, "store_unit_get: out is NULL");
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_UNIT_GET, &e);
    if (!st)
        return e;
    sqlite3_bind_int64(st, 1, id);
    bool found = false;
    e = step_lookup(s, st, &found, "reading a unit");
    if (e == STORE_OK && found)
        read_unit(st, out);
    done_with(st);
    if (e == STORE_OK && !found)
        return store_failf(s, STORE_E_NOT_FOUND, "unit %lld does not exist", (long long)id);
    return e == STORE_OK ? store_ok(s) : e;
}

/* The statement for one combination of filters: fixed clauses, values
 * only ever bound. Parameter numbers are fixed per filter. */
static sqlite3_stmt *query_stmt(store *s, unsigned mask, store_err *err)
{
    if (s->query[mask])
        return s->query[mask];
    char sql[1024];
    size_t n = (size_t)snprintf(sql, sizeof sql, "SELECT " UNIT_COLS " FROM units u WHERE 1");
    static const struct {
        unsigned bit;
        const char *clause;
    } clauses[] = {
        {QF_UID, " AND u.uid = ?1"},
        {QF_PROBE, " AND u.probe = ?2"},
        {QF_RESULT, " AND u.result = ?3"},
        {QF_JOB, " AND u.job = ?4"},
        {QF_SERIAL, " AND u.serial_number = ?5"},
        {QF_SINCE, " AND u.started >= ?6"},
        {QF_UNTIL, " AND u.started < ?7"},
        {QF_AFTER, " AND (u.started < ?10 OR (u.started = ?10 AND u.id < ?11))"},
    };
    for (size_t i = 0; i < sizeof clauses / sizeof clauses[0]; i++)
        if (mask & clauses[i].bit)
            n += (size_t)snprintf(sql + n, sizeof sql - n, "%s", clauses[i].clause);
    n += (size_t)snprintf(sql + n, sizeof sql - n, " ORDER BY u.started DESC, u.id DESC");
    if (mask & QF_PAGE)
        snprintf(sql + n, sizeof sql - n, " LIMIT ?8 OFFSET ?9");
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->query[mask], NULL);
    if (rc != SQLITE_OK) {
        *err = store_db_fail(s, rc, "preparing a unit query");
        s->query[mask] = NULL;
        return NULL;
    }
    return s->query[mask];
}

store_err store_units_query(store *s, const store_unit_filter *f, store_unit_fn fn, void *user)
{
    if (!s)
        return STORE_E_ARG;
    if (!fn)
        return store_failf(s, STORE_E_ARG, "store_units_query: no callback");
    store_unit_filter all = {0};
    if (!f)
        f = &all;
    if (f->limit < 0 || f->offset < 0)
        return store_failf(s, STORE_E_ARG, "limit and offset must not be negative");
    if (f->result && !store_valid_result(f->result, false))
        return store_failf(s, STORE_E_ARG,
                           "result filter must be in_flight, ok, failed or interrupted, not"
                           " \"%s\"",
                           f->result);
    unsigned mask = (f->uid ? QF_UID : 0) | (f->probe ? QF_PROBE : 0) |
                    (f->result ? QF_RESULT : 0) | (f->job_id ? QF_JOB : 0) |
                    (f->has_serial ? QF_SERIAL : 0) | (f->since_ms ? QF_SINCE : 0) |
                    (f->until_ms ? QF_UNTIL : 0) | (f->limit || f->offset ? QF_PAGE : 0) |
                    (f->after ? QF_AFTER : 0);
    store_err e = STORE_OK;
    sqlite3_stmt *st = query_stmt(s, mask, &e);
    if (!st)
        return e;
    /* A callback that re-entered the store with the same filters would
     * have reset this statement under us; start clean either way. */
    done_with(st);
    if (mask & QF_UID)
        sqlite3_bind_text(st, 1, f->uid, -1, SQLITE_TRANSIENT);
    if (mask & QF_PROBE)
        sqlite3_bind_text(st, 2, f->probe, -1, SQLITE_TRANSIENT);
    if (mask & QF_RESULT)
        sqlite3_bind_text(st, 3, f->result, -1, SQLITE_TRANSIENT);
    if (mask & QF_JOB)
        sqlite3_bind_int64(st, 4, f->job_id);
    if (mask & QF_SERIAL)
        sqlite3_bind_int64(st, 5, f->serial);
    if (mask & QF_SINCE)
        sqlite3_bind_int64(st, 6, f->since_ms);
    if (mask & QF_UNTIL)
        sqlite3_bind_int64(st, 7, f->until_ms);
    if (mask & QF_PAGE) {
        sqlite3_bind_int64(st, 8, f->limit ? f->limit : -1); /* -1: no limit */
        sqlite3_bind_int64(st, 9, f->offset);
    }
    if (mask & QF_AFTER) {
        sqlite3_bind_int64(st, 10, f->after_started_ms);
        sqlite3_bind_int64(st, 11, f->after_id);
    }
    int rc;
    store_unit u;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_unit(st, &u);
        if (fn(user, &u) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        e = store_db_fail(s, rc, "querying units");
    done_with(st);
    return e == STORE_OK ? store_ok(s) : e;
}

store_err store_unit_history(store *s, int64_t unit_id, store_attempt_fn on_attempt,
                             store_recovery_fn on_recovery, void *user)
{
    if (!s)
        return STORE_E_ARG;
    if (!on_attempt)
        return store_failf(s, STORE_E_ARG, "store_unit_history: no attempt callback");
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_UNIT_RESULT, &e);
    if (!st)
        return e;
    sqlite3_bind_int64(st, 1, unit_id);
    bool found = false;
    e = step_lookup(s, st, &found, "looking up a unit");
    done_with(st);
    if (e != STORE_OK)
        return e;
    if (!found)
        return store_failf(s, STORE_E_NOT_FOUND, "unit %lld does not exist", (long long)unit_id);

    sqlite3_stmt *at = store_stmt(s, ST_HIST_ATTEMPTS, &e);
    sqlite3_stmt *rt = at ? store_stmt(s, ST_HIST_RECOVERY, &e) : NULL;
    if (!at || !rt)
        return e;
    sqlite3_bind_int64(at, 1, unit_id);
    bool stop = false;
    int rc;
    while (!stop && (rc = sqlite3_step(at)) == SQLITE_ROW) {
        store_attempt a;
        memset(&a, 0, sizeof a);
        a.id = sqlite3_column_int64(at, 0);
        a.n = sqlite3_column_int(at, 1);
        store_col_text(at, 2, a.result, sizeof a.result);
        store_col_text(at, 3, a.state, sizeof a.state);
        store_col_text(at, 4, a.error, sizeof a.error);
        a.started_ms = sqlite3_column_int64(at, 5);
        a.finished_ms = sqlite3_column_int64(at, 6);
        if (on_attempt(user, &a) != 0) {
            stop = true;
            break;
        }
        if (!on_recovery)
            continue;
        sqlite3_bind_int64(rt, 1, unit_id);
        sqlite3_bind_int64(rt, 2, a.id);
        int rrc;
        while ((rrc = sqlite3_step(rt)) == SQLITE_ROW) {
            store_recovery r;
            memset(&r, 0, sizeof r);
            r.id = sqlite3_column_int64(rt, 0);
            r.attempt_id = sqlite3_column_int64(rt, 1);
            store_col_text(rt, 2, r.step, sizeof r.step);
            r.ok = sqlite3_column_int(rt, 3) != 0;
            r.at_ms = sqlite3_column_int64(rt, 4);
            r.cured = sqlite3_column_int(rt, 5) != 0;
            if (on_recovery(user, &r) != 0) {
                stop = true;
                break;
            }
        }
        if (!stop && rrc != SQLITE_DONE)
            e = store_db_fail(s, rrc, "reading recovery steps");
        done_with(rt);
        if (e != STORE_OK)
            break;
    }
    if (e == STORE_OK && !stop && rc != SQLITE_DONE)
        e = store_db_fail(s, rc, "reading attempts");
    done_with(at);
    return e == STORE_OK ? store_ok(s) : e;
}

store_err store_unit_counts(store *s, store_count_fn fn, void *user)
{
    if (!s)
        return STORE_E_ARG;
    if (!fn)
        return store_failf(s, STORE_E_ARG, "store_unit_counts: no callback");
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_COUNTS, &e);
    if (!st)
        return e;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fn(user, (const char *)sqlite3_column_text(st, 0),
               (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
               sqlite3_column_int64(st, 3)) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        e = store_db_fail(s, rc, "counting units");
    done_with(st);
    return e == STORE_OK ? store_ok(s) : e;
}

/* ---- for /metrics: recovery steps by step and probe (store.h) ----------------- */

store_err store_recovery_counts(store *s, store_recovery_count_fn fn, void *user)
{
    if (!s)
        return STORE_E_ARG;
    if (!fn)
        return store_failf(s, STORE_E_ARG, "store_recovery_counts: no callback");
    /* Run once per start, so prepared here rather than kept with the hot
     * statements. */
    static const char sql[] =
        "SELECT step, probe, count(*) FROM ("
        " SELECT r.step AS step, u.probe AS probe FROM recovery r JOIN units u ON u.id = r.unit"
        " UNION ALL"
        /* CASE: SQLite may evaluate AND's operands in any order, and
         * json_extract fails on text that is not JSON. */
        " SELECT CASE WHEN json_valid(data_json) THEN json_extract(data_json, '$.step') END,"
        "        probe FROM events WHERE kind = 'recovery' AND unit IS NULL AND probe IS NOT NULL"
        ") WHERE step IS NOT NULL GROUP BY step, probe ORDER BY step, probe";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "counting recovery steps");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (fn(user, (const char *)sqlite3_column_text(st, 0),
               (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2)) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    store_err e = rc == SQLITE_DONE ? STORE_OK : store_db_fail(s, rc, "counting recovery steps");
    sqlite3_finalize(st);
    return e == STORE_OK ? store_ok(s) : e;
}
