/* The store: actions, the record of who did what (submitted a job, paused
 * or cancelled it, quarantined a probe). Units say what the station did;
 * actions say what people and clients told it to do. */
#include "store_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const target_kinds[] = {"job", "probe", "image", "station"};

static bool valid_target_kind(const char *k)
{
    for (size_t i = 0; k && i < sizeof target_kinds / sizeof target_kinds[0]; i++)
        if (strcmp(k, target_kinds[i]) == 0)
            return true;
    return false;
}

bool store_fits(const char *t, size_t cap)
{
    return t && *t && strlen(t) < cap;
}

bool store_valid_actor(const char *actor)
{
    return store_fits(actor, sizeof(((store_action *)0)->actor));
}

store_err store_action_insert_reason(store *s, int64_t now_ms, const char *actor, const char *verb,
                                     const char *target_kind, const char *target,
                                     const char *reason)
{
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, ST_ACTION_REASON, &e);
    if (!st)
        return e;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_text(st, 2, actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, verb, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, target_kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, target, -1, SQLITE_TRANSIENT);
    store_bind_text(st, 6, reason);
    return store_step_done(s, st, "recording who did it");
}

store_err store_action_add(store *s, int64_t now_ms, const char *actor, const char *verb,
                           const char *target_kind, const char *target, const char *detail_json)
{
    if (!s)
        return STORE_E_ARG;
    if (!store_valid_actor(actor))
        return store_failf(s, STORE_E_ARG, "actor is empty or longer than 63 bytes");
    if (!store_fits(verb, sizeof(((store_action *)0)->verb)))
        return store_failf(s, STORE_E_ARG, "action verb is empty or longer than 31 bytes");
    if (!valid_target_kind(target_kind))
        return store_failf(s, STORE_E_ARG,
                           "action target kind must be job, probe, image or station, not \"%s\"",
                           target_kind ? target_kind : "(null)");
    if (!store_fits(target, sizeof(((store_action *)0)->target)))
        return store_failf(s, STORE_E_ARG, "action target is empty or longer than 71 bytes");
    /* Longer details would come back cut off, and cut JSON is not JSON. */
    if (detail_json && strlen(detail_json) >= sizeof(((store_action *)0)->detail_json))
        return store_failf(s, STORE_E_ARG, "action detail is longer than 511 bytes; shorten it");
    store_err e = STORE_OK;
    if (detail_json) {
        sqlite3_stmt *v = NULL;
        int rc = sqlite3_prepare_v2(s->db, "SELECT json_valid(?1)", -1, &v, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(v, 1, detail_json, -1, SQLITE_STATIC);
            rc = sqlite3_step(v);
        }
        bool valid = rc == SQLITE_ROW && sqlite3_column_int(v, 0) == 1;
        sqlite3_finalize(v);
        if (rc != SQLITE_ROW)
            return store_db_fail(s, rc, "checking an action's detail");
        if (!valid)
            return store_failf(s, STORE_E_ARG, "action detail is not valid JSON: %.200s",
                               detail_json);
    }
    sqlite3_stmt *st = store_stmt(s, ST_ACTION_INSERT, &e);
    if (!st)
        return e;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_text(st, 2, actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, verb, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, target_kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, target, -1, SQLITE_TRANSIENT);
    store_bind_text(st, 6, detail_json);
    e = store_step_done(s, st, "recording an action");
    return e == STORE_OK ? store_ok(s) : e;
}

store_err store_actions_query(store *s, const store_action_filter *f,
                              int (*fn)(void *user, const store_action *a), void *user)
{
    if (!s)
        return STORE_E_ARG;
    if (!fn)
        return store_failf(s, STORE_E_ARG, "store_actions_query: no callback");
    store_action_filter all = {0};
    if (!f)
        f = &all;
    if (f->limit < 0)
        return store_failf(s, STORE_E_ARG, "limit must not be negative");
    if (f->target_kind && !valid_target_kind(f->target_kind))
        return store_failf(s, STORE_E_ARG,
                           "target kind filter must be job, probe, image or station, not \"%s\"",
                           f->target_kind);
    /* Fixed clauses with fixed parameter numbers; values are only bound.
     * Read on demand (an auditor's query), so prepared per call. */
    char sql[512];
    size_t n = (size_t)snprintf(sql, sizeof sql,
                                "SELECT id, at, actor, verb, target_kind, target, detail_json"
                                " FROM actions WHERE 1");
    if (f->target_kind)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND target_kind = ?1");
    if (f->target)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND target = ?2");
    if (f->since_ms)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND at >= ?3");
    if (f->until_ms)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND at < ?4");
    snprintf(sql + n, sizeof sql - n, " ORDER BY at, id LIMIT ?5");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "querying actions");
    if (f->target_kind)
        sqlite3_bind_text(st, 1, f->target_kind, -1, SQLITE_TRANSIENT);
    if (f->target)
        sqlite3_bind_text(st, 2, f->target, -1, SQLITE_TRANSIENT);
    if (f->since_ms)
        sqlite3_bind_int64(st, 3, f->since_ms);
    if (f->until_ms)
        sqlite3_bind_int64(st, 4, f->until_ms);
    sqlite3_bind_int64(st, 5, f->limit ? f->limit : -1); /* -1: no limit */
    store_action a;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&a, 0, sizeof a);
        a.id = sqlite3_column_int64(st, 0);
        a.at_ms = sqlite3_column_int64(st, 1);
        store_col_text(st, 2, a.actor, sizeof a.actor);
        store_col_text(st, 3, a.verb, sizeof a.verb);
        store_col_text(st, 4, a.target_kind, sizeof a.target_kind);
        store_col_text(st, 5, a.target, sizeof a.target);
        store_col_text(st, 6, a.detail_json, sizeof a.detail_json);
        if (fn(user, &a) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    store_err e = rc == SQLITE_DONE ? STORE_OK : store_db_fail(s, rc, "querying actions");
    sqlite3_finalize(st);
    return e == STORE_OK ? store_ok(s) : e;
}
