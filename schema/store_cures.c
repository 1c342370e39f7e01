/*
 * The store: adaptive recovery's memory (migration 0004). Per probe and
 * failure signature, the recovery step that cured it last; and on the unit's
 * record, which step that was. Rare writes (one per cured failure), so the
 * statements are prepared per call rather than cached.
 */
#include "store_internal.h"

#include <stdio.h>
#include <string.h>

static store_err check(store *s, const store_cure *c)
{
    if (!store_fits(c->probe, sizeof c->probe) || !store_fits(c->state, sizeof c->state) ||
        !store_fits(c->event, sizeof c->event) || !store_fits(c->error, sizeof c->error) ||
        !store_fits(c->step, sizeof c->step))
        return store_failf(s, STORE_E_ARG, "a recovery memory field is empty or too long");
    return STORE_OK;
}

static store_err run(store *s, const char *sql, const store_cure *c, int64_t unit_id,
                     int64_t now_ms, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, what);
    /* Named parameters: each statement takes the ones it names. */
    const struct {
        const char *name;
        const char *text;
    } texts[] = {{":probe", c->probe},
                 {":state", c->state},
                 {":event", c->event},
                 {":error", c->error},
                 {":step", c->step}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int at = sqlite3_bind_parameter_index(st, texts[i].name);
        if (at)
            sqlite3_bind_text(st, at, texts[i].text, -1, SQLITE_STATIC);
    }
    int at = sqlite3_bind_parameter_index(st, ":unit");
    if (at)
        sqlite3_bind_int64(st, at, unit_id);
    at = sqlite3_bind_parameter_index(st, ":now");
    if (at)
        sqlite3_bind_int64(st, at, now_ms);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : store_db_fail(s, rc, what);
}

store_err store_cure_set(store *s, const store_cure *c, bool cured, int64_t unit_id, int64_t now_ms)
{
    if (!s || !c)
        return STORE_E_ARG;
    store_err e = check(s, c);
    if (e != STORE_OK)
        return e;
    if ((e = store_tx_begin(s)) != STORE_OK)
        return e;
    if (cured) {
        e = run(s,
                "INSERT INTO recovery_memory (probe, state, event, error, step, cures, updated_at)"
                " VALUES (:probe, :state, :event, :error, :step, 1, :now)"
                " ON CONFLICT (probe, state, event, error) DO UPDATE SET"
                "  cures = CASE WHEN step = excluded.step THEN cures + 1 ELSE 1 END,"
                "  step = excluded.step, updated_at = excluded.updated_at",
                c, unit_id, now_ms, "remembering a recovery step");
        /* The unit's record names the step: its last successful one of
         * that kind. */
        if (e == STORE_OK && unit_id)
            e = run(s,
                    "UPDATE recovery SET cured = 1 WHERE id = (SELECT max(id) FROM recovery"
                    " WHERE unit = :unit AND step = :step AND ok = 1)",
                    c, unit_id, now_ms, "marking the step that cured a failure");
    } else {
        e = run(s,
                "DELETE FROM recovery_memory WHERE probe = :probe AND state = :state"
                " AND event = :event AND error = :error AND step = :step",
                c, unit_id, now_ms, "forgetting a recovery step");
    }
    if (e != STORE_OK) {
        store_tx_rollback(s);
        return e;
    }
    if ((e = store_tx_commit(s, "committing recovery memory")) != STORE_OK)
        return e;
    return store_ok(s);
}

store_err store_cures_load(store *s, const char *probe, store_cure_fn fn, void *user)
{
    if (!s || !probe || !fn)
        return STORE_E_ARG;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT state, event, error, step, cures FROM recovery_memory"
                                " WHERE probe = ? ORDER BY state, event, error",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "reading recovery memory");
    sqlite3_bind_text(st, 1, probe, -1, SQLITE_STATIC);
    store_cure c = {0};
    snprintf(c.probe, sizeof c.probe, "%s", probe);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_col_text(st, 0, c.state, sizeof c.state);
        store_col_text(st, 1, c.event, sizeof c.event);
        store_col_text(st, 2, c.error, sizeof c.error);
        store_col_text(st, 3, c.step, sizeof c.step);
        c.cures = sqlite3_column_int64(st, 4);
        if (fn(user, &c))
            break;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_db_fail(s, rc, "reading recovery memory");
    return store_ok(s);
}
