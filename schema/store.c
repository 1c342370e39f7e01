/* The store: opening and migrating the database, errors, the statement
 * cache, transactions and bulk loading. Probes, images and jobs are in
 * store_catalog.c; units and the audit queries in store_query.c. */
#include "store_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Long enough for another process's checkpoint or backup to finish; short
 * enough that a stuck second daemon is reported rather than hanging. */
#define BUSY_TIMEOUT_MS 5000
/* Page cache in KiB: SQLite's default (2 MiB) for the daemon, more for bulk loads. */
#define NORMAL_CACHE_KIB "2000"
#define BULK_CACHE_KIB   "262144"

static const char *const stmt_sql[ST_COUNT_] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SP_BEGIN] = "SAVEPOINT store_write",
    [ST_SP_RELEASE] = "RELEASE store_write",
    [ST_SP_ROLLBACK] = "ROLLBACK TO store_write",
    [ST_PROBE_SEEN] =
        "INSERT INTO probes (serial, kind, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)"
        " ON CONFLICT (serial) DO UPDATE SET"
        " kind = CASE WHEN excluded.kind = '' THEN kind ELSE excluded.kind END,"
        " last_seen = max(last_seen, excluded.last_seen)",
    /* A unit names its probe; a probe the daemon never reported still gets a
     * row so that the unit's record is kept rather than refused. */
    [ST_PROBE_TOUCH] = "INSERT INTO probes (serial, kind, first_seen, last_seen)"
                       " VALUES (?1, '', ?2, ?2) ON CONFLICT (serial) DO NOTHING",
    [ST_PROBE_SET_Q] = "UPDATE probes SET quarantine_reason = ?2,"
                       " quarantined_at = CASE WHEN ?2 IS NULL THEN NULL ELSE ?3 END"
                       " WHERE serial = ?1",
    [ST_PROBE_GET_Q] = "SELECT quarantine_reason FROM probes WHERE serial = ?1",
    [ST_PROBE_EXISTS] = "SELECT 1 FROM probes WHERE serial = ?1",
    [ST_IMAGE_PUT] = "INSERT INTO images (sha256, format, base, size, bytes, created)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (sha256) DO NOTHING",
    [ST_IMAGE_GET] = "SELECT format, base, bytes, created FROM images WHERE sha256 = ?1",
    [ST_IMAGE_EXISTS] = "SELECT 1 FROM images WHERE sha256 = ?1",
    [ST_JOB_CREATE] = "INSERT INTO jobs (name, state, image, recipe_json, count, has_serial,"
                      " next_serial, serial_step, created, submitted_uid, series, serial_max)"
                      " VALUES (?1, 'running', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
#define JOB_COLS                                                                                   \
    "j.id, j.name, j.state, j.image, j.recipe_json, j.count, j.has_serial, j.next_serial,"         \
    " j.serial_step, j.created, j.finished, j.submitted_uid,"                                      \
    " (SELECT count(*) FROM units WHERE job = j.id AND result = 'ok'),"                            \
    " (SELECT count(*) FROM units WHERE job = j.id AND result = 'failed'),"                        \
    " (SELECT count(*) FROM units WHERE job = j.id AND result = 'interrupted'),"                   \
    " (SELECT count(*) FROM units WHERE job = j.id AND result = 'in_flight'),"                     \
    " j.series, j.serial_max, j.state_reason"
    [ST_JOB_GET] = "SELECT " JOB_COLS " FROM jobs j WHERE j.id = ?1",
    [ST_JOB_LIST] = "SELECT " JOB_COLS " FROM jobs j ORDER BY j.created DESC, j.id DESC",
    [ST_JOB_SET_STATE] = "UPDATE jobs SET state = ?2, state_reason = ?4,"
                         " finished = CASE WHEN ?2 IN ('done', 'cancelled') THEN ?3 ELSE NULL END"
                         " WHERE id = ?1 AND state NOT IN ('done', 'cancelled')",
    [ST_JOB_STATE] = "SELECT state, image, series, next_serial, serial_step, serial_max"
                     " FROM jobs WHERE id = ?1",
    [ST_JOB_TAKE_SERIAL] = "UPDATE jobs SET next_serial = next_serial + serial_step"
                           " WHERE id = ?1 AND has_serial = 1 RETURNING next_serial - serial_step",
    [ST_UNIT_INSERT] = "INSERT INTO units (job, probe, uid, chip, serial_number, image, started)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_UNIT_END] = "UPDATE units SET result = ?2, error = ?3, finished = ?4"
                    " WHERE id = ?1 AND result = 'in_flight'",
    [ST_UNIT_RESULT] = "SELECT result FROM units WHERE id = ?1",
    [ST_UNIT_CLOSE_ATTEMPTS] =
        "UPDATE attempts SET result = ?2, finished = ?3,"
        " error = coalesce(error, 'the unit ended while this attempt was open')"
        " WHERE unit = ?1 AND result = 'in_flight'",
    [ST_UNIT_GET] = "SELECT " UNIT_COLS " FROM units u WHERE u.id = ?1",
    [ST_ATTEMPT_INSERT] = "INSERT INTO attempts (unit, n, started) VALUES (?1, ?2, ?3)",
    [ST_ATTEMPT_END] = "UPDATE attempts SET result = ?2, state = ?3, error = ?4, finished = ?5"
                       " WHERE id = ?1 AND result = 'in_flight'",
    [ST_ATTEMPT_RESULT] = "SELECT result FROM attempts WHERE id = ?1",
    [ST_RECOVERY_INSERT] = "INSERT INTO recovery (unit, attempt, at, step, ok)"
                           " SELECT ?1, id, ?3, ?4, ?5 FROM attempts WHERE id = ?2 AND unit = ?1",
    [ST_HIST_ATTEMPTS] = "SELECT id, n, result, state, error, started, finished FROM attempts"
                         " WHERE unit = ?1 ORDER BY n, id",
    [ST_HIST_RECOVERY] = "SELECT id, attempt, step, ok, at, cured FROM recovery"
                         " WHERE unit = ?1 AND attempt = ?2 ORDER BY id",
    [ST_EVENT_INSERT] = "INSERT INTO events (at, kind, probe, job, unit, data_json)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_RECOVER_ATTEMPTS] = "UPDATE attempts SET result = 'interrupted', finished = ?1,"
                            " error = ?2 WHERE result = 'in_flight'",
    [ST_RECOVER_UNITS] = "UPDATE units SET result = 'interrupted', finished = ?1, error = ?2"
                         " WHERE result = 'in_flight'",
    [ST_COUNTS] = "SELECT probe, chip, result, count(*) FROM units"
                  " GROUP BY probe, chip, result ORDER BY probe, chip, result",
    [ST_SERIES_GET] = "SELECT next FROM serial_series WHERE name = ?1",
    [ST_SERIES_CREATE] = "INSERT INTO serial_series (name, next, created) VALUES (?1, ?2, ?3)",
    [ST_SERIES_ADVANCE] = "UPDATE serial_series SET next = max(next, ?2) WHERE name = ?1",
    [ST_SERIES_TOP] = "SELECT job, number FROM serial_numbers WHERE series = ?1 AND number >= ?2"
                      " ORDER BY number DESC LIMIT 1",
    [ST_SERIES_BUSY] = "SELECT id, state FROM jobs WHERE series = ?1"
                       " AND state IN ('running', 'paused') ORDER BY id LIMIT 1",
    [ST_JOB_SET_NEXT] = "UPDATE jobs SET next_serial = ?2 WHERE id = ?1",
    [ST_SERIAL_INSERT] = "INSERT INTO serial_numbers (series, number, job, unit, state)"
                         " VALUES (?1, ?2, ?3, ?4, 'issued')",
    [ST_SERIAL_END] = "UPDATE serial_numbers SET state = ?2 WHERE unit = ?1 AND state = 'issued'",
    [ST_SERIAL_LOOKUP] = "SELECT state, job, unit FROM serial_numbers"
                         " WHERE series = ?1 AND number = ?2",
    /* Before the units themselves are marked: afterwards they no longer
     * say which numbers were in flight. */
    [ST_RECOVER_SERIALS] = "UPDATE serial_numbers SET state = 'unknown' WHERE state = 'issued'"
                           " AND unit IN (SELECT id FROM units WHERE result = 'in_flight')",
    [ST_ACTION_INSERT] = "INSERT INTO actions (at, actor, verb, target_kind, target, detail_json)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_ACTION_REASON] =
        "INSERT INTO actions (at, actor, verb, target_kind, target, detail_json)"
        " VALUES (?1, ?2, ?3, ?4, ?5,"
        " CASE WHEN ?6 IS NULL THEN NULL ELSE json_object('reason', substr(?6, 1, 200)) END)",
    [ST_ACTION_JOB_CREATE] =
        "INSERT INTO actions (at, actor, verb, target_kind, target, detail_json)"
        " VALUES (?1, ?2, 'job.create', 'job', ?3,"
        " json_object('name', ?4, 'image', ?5, 'series', ?6, 'start', ?7, 'step', ?8))",
};

const char *store_err_name(store_err e)
{
    switch (e) {
    case STORE_OK:
        return "ok";
    case STORE_E_IO:
        return "io";
    case STORE_E_CORRUPT:
        return "corrupt";
    case STORE_E_NOT_FOUND:
        return "not_found";
    case STORE_E_CONFLICT:
        return "conflict";
    case STORE_E_ARG:
        return "bad_argument";
    case STORE_E_NOMEM:
        return "out_of_memory";
    case STORE_E_EXHAUSTED:
        return "exhausted";
    case STORE_E_LOCKED:
        return "locked";
    }
    return "unknown";
}

const char *store_message(const store *s)
{
    return s ? s->msg : "no store (store_open failed or was not called)";
}

store_err store_ok(store *s)
{
    s->msg[0] = '\0';
    return STORE_OK;
}

store_err store_failf(store *s, store_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msg, sizeof s->msg, fmt, ap);
    va_end(ap);
    return e;
}

static store_err map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
        return STORE_E_CORRUPT;
    case SQLITE_NOMEM:
        return STORE_E_NOMEM;
    case SQLITE_CONSTRAINT:
        return rc == SQLITE_CONSTRAINT_FOREIGNKEY ? STORE_E_NOT_FOUND : STORE_E_CONFLICT;
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
        return STORE_E_ARG;
    default:
        return STORE_E_IO;
    }
}

static const char *hint_for(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return "the database is full (the disk holding it has no space left, or it reached"
               " its configured size limit); nothing was changed; free space on that disk (or"
               " raise the limit), then retry";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return "the database is locked by another process (is a second flashlined or a"
               " sqlite3 shell holding a write transaction?); stop it, then retry";
    case SQLITE_READONLY:
        return "the database or its directory is read-only for this user; check"
               " ownership and permissions of the file, its -wal/-shm files and the directory";
    case SQLITE_CANTOPEN:
        return "the file cannot be opened; check that its directory exists and that the"
               " daemon's user may create files in it";
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return "permission denied; check ownership and permissions of the database";
    case SQLITE_IOERR:
        return "the disk reported an I/O error; check the kernel log (dmesg) and free space";
    case SQLITE_NOTADB:
        return "the file is not a database; point the daemon at the right file, or move"
               " this one away to start a new audit log";
    case SQLITE_CORRUPT:
        return "the database is damaged; stop the daemon, keep a copy of the file, then"
               " restore a backup (or try `sqlite3 FILE .recover`)";
    case SQLITE_NOMEM:
        return "out of memory";
    case SQLITE_CONSTRAINT:
        return rc == SQLITE_CONSTRAINT_FOREIGNKEY
                   ? "it refers to a job, unit, probe or image that does not exist; nothing"
                     " was changed"
                   : "it conflicts with what is recorded; nothing was changed";
    case SQLITE_TOOBIG:
        return "the value is too large for the database";
    default:
        return "unexpected database error; nothing was changed; report it";
    }
}

store_err store_db_fail(store *s, int rc, const char *what)
{
    const char *m = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    snprintf(s->msg, sizeof s->msg, "%s in %s: %s: %s", what, s->path ? s->path : "the database", m,
             hint_for(rc));
    return map_rc(rc);
}

sqlite3_stmt *store_stmt(store *s, enum store_stmt id, store_err *err)
{
    if (!s->st[id]) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->st[id],
                                    NULL);
        if (rc != SQLITE_OK) {
            *err = store_db_fail(s, rc, "preparing a statement");
            s->st[id] = NULL;
            return NULL;
        }
    }
    return s->st[id];
}

store_err store_step_done(store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    store_err e = STORE_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        e = store_db_fail(s, rc, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
}

static store_err run_stmt(store *s, enum store_stmt id, const char *what)
{
    store_err e = STORE_OK;
    sqlite3_stmt *st = store_stmt(s, id, &e);
    return st ? store_step_done(s, st, what) : e;
}

store_err store_tx_begin(store *s)
{
    return run_stmt(s, s->bulk ? ST_SP_BEGIN : ST_BEGIN, "starting a write transaction");
}

store_err store_tx_commit(store *s, const char *what)
{
    store_err e = run_stmt(s, s->bulk ? ST_SP_RELEASE : ST_COMMIT, what);
    if (e != STORE_OK)
        store_tx_rollback(s);
    return e;
}

void store_tx_rollback(store *s)
{
    /* The message of the failure that led here is what the caller needs;
     * keep it. */
    char keep[sizeof s->msg];
    memcpy(keep, s->msg, sizeof keep);
    if (s->bulk) {
        run_stmt(s, ST_SP_ROLLBACK, "rolling back");
        run_stmt(s, ST_SP_RELEASE, "rolling back");
    } else if (!sqlite3_get_autocommit(s->db)) {
        run_stmt(s, ST_ROLLBACK, "rolling back");
    }
    memcpy(s->msg, keep, sizeof keep);
}

void store_col_text(sqlite3_stmt *st, int i, char *buf, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t len = t ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n == 0)
        return;
    if (len >= n)
        len = n - 1;
    if (len)
        memcpy(buf, t, len);
    buf[len] = '\0';
}

int store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

bool store_valid_sha256(const char *sha)
{
    if (!sha)
        return false;
    for (int i = 0; i < 64; i++)
        if (!((sha[i] >= '0' && sha[i] <= '9') || (sha[i] >= 'a' && sha[i] <= 'f')))
            return false;
    return sha[64] == '\0';
}

bool store_valid_result(const char *r, bool final_only)
{
    if (!r)
        return false;
    if (!final_only && strcmp(r, "in_flight") == 0)
        return true;
    return strcmp(r, "ok") == 0 || strcmp(r, "failed") == 0 || strcmp(r, "interrupted") == 0;
}

/* ---- open, migrations ---------------------------------------------------- */

int store_schema_version(void)
{
    return store_migration_count;
}

static int read_user_version(store *s, int *v)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *v = sqlite3_column_int(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int store_user_version(store *s)
{
    int v = -1;
    if (!s || read_user_version(s, &v) != SQLITE_OK)
        return -1;
    return v;
}

store_err store_set_busy_timeout(store *s, int ms)
{
    if (!s)
        return STORE_E_ARG;
    if (ms < 0)
        return store_failf(s, STORE_E_ARG, "busy timeout must not be negative (got %d ms)", ms);
    int rc = sqlite3_busy_timeout(s->db, ms);
    return rc == SQLITE_OK ? store_ok(s) : store_db_fail(s, rc, "setting the busy timeout");
}

store_err store_set_max_pages(store *s, int64_t pages, int64_t *effective)
{
    if (!s)
        return STORE_E_ARG;
    if (pages < 1)
        return store_failf(s, STORE_E_ARG,
                           "the page limit must be at least 1 (got %lld); give a large number"
                           " to lift it",
                           (long long)pages);
    /* PRAGMA takes no parameters; the value is a checked integer. */
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", (long long)pages);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    int64_t got = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return store_db_fail(s, rc, "setting the page limit");
    if (effective)
        *effective = got;
    return store_ok(s);
}

static store_err exec(store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? STORE_OK : store_db_fail(s, rc, what);
}

static store_err apply_migration(store *s, const struct store_migration *m)
{
    char what[160];
    snprintf(what, sizeof what, "applying schema migration %s", m->name);
    /* The embedded text is not NUL-terminated; sqlite3_exec wants it so. */
    char *sql = malloc(*m->len + 1);
    if (!sql)
        return store_failf(s, STORE_E_NOMEM, "%s: out of memory", what);
    memcpy(sql, m->sql, *m->len);
    sql[*m->len] = '\0';

    store_err e = exec(s, "BEGIN IMMEDIATE", what);
    if (e != STORE_OK) {
        free(sql);
        return e;
    }
    /* Another process may have migrated between our read and the lock. */
    int now = 0;
    int rc = read_user_version(s, &now);
    if (rc != SQLITE_OK) {
        e = store_db_fail(s, rc, what);
    } else if (now < m->version) {
        e = exec(s, sql, what);
        if (e == STORE_OK) {
            /* PRAGMA takes no parameters; the version is our own constant. */
            char pragma[48];
            snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->version);
            e = exec(s, pragma, what);
        }
    }
    free(sql);
    if (e == STORE_OK)
        e = exec(s, "COMMIT", what);
    if (e != STORE_OK && !sqlite3_get_autocommit(s->db)) {
        char keep[sizeof s->msg];
        memcpy(keep, s->msg, sizeof keep);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        memcpy(s->msg, keep, sizeof keep);
    }
    return e;
}

static store_err migrate(store *s)
{
    int v = 0;
    int rc = read_user_version(s, &v);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "reading the schema version");
    if (v > store_migration_count)
        return store_failf(s, STORE_E_CORRUPT,
                           "%s has schema version %d, but this flashlined knows only up to %d:"
                           " it was written by a newer release; run that release (or newer), or"
                           " point this one at another database; the file was not changed",
                           s->path, v, store_migration_count);
    if (v < 0)
        return store_failf(s, STORE_E_CORRUPT,
                           "%s has schema version %d, which no Flashline release writes; it is"
                           " not a Flashline database; the file was not changed",
                           s->path, v);
    for (int i = 0; i < store_migration_count; i++) {
        if (store_migrations[i].version <= v)
            continue;
        store_err e = apply_migration(s, &store_migrations[i]);
        if (e != STORE_OK)
            return e;
    }
    return STORE_OK;
}

static store_err configure(store *s)
{
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* Read something first: a file that is not a database fails here, before
     * any PRAGMA could try to write to it. */
    int v = 0;
    int rc = read_user_version(s, &v);
    if (rc != SQLITE_OK)
        return store_db_fail(s, rc, "opening");

    /* SQLite quietly opens a file it may not write read-only; the daemon
     * must know now, not at the first unit. */
    if (sqlite3_db_readonly(s->db, "main") == 1)
        return store_failf(s, STORE_E_IO,
                           "%s is read-only for this user; check the ownership and permissions"
                           " of the file, its -wal/-shm files and the directory",
                           s->path);

    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        bool wal = mode && strcmp(mode, "wal") == 0;
        sqlite3_finalize(st);
        if (!wal)
            return store_failf(s, STORE_E_IO,
                               "%s cannot use write-ahead logging (journal mode stays %s); put"
                               " the database on a local filesystem",
                               s->path, mode ? mode : "unknown");
    } else {
        sqlite3_finalize(st);
        return store_db_fail(s, rc, "switching to write-ahead logging");
    }
    /* FULL: with WAL, NORMAL may lose the last commits on power loss, and a
     * unit reported done must stay done. */
    store_err e = exec(s, "PRAGMA synchronous = FULL", "setting synchronous = FULL");
    if (e == STORE_OK)
        e = exec(s, "PRAGMA foreign_keys = ON", "enabling foreign keys");
    /* Statement and savepoint journals are small and die with the
     * transaction; writing them to temp files cost 30 pwrite calls a unit. */
    if (e == STORE_OK)
        e = exec(s, "PRAGMA temp_store = MEMORY", "keeping temporary journals in memory");
    return e;
}

store_err store_open(const char *path, store **out, char *msg, size_t msglen)
{
    if (msg && msglen)
        msg[0] = '\0';
    if (!out) {
        if (msg && msglen)
            snprintf(msg, msglen, "store_open: out is NULL (programming error)");
        return STORE_E_ARG;
    }
    *out = NULL;
    if (!path || !*path) {
        if (msg && msglen)
            snprintf(msg, msglen, "no database path given; set one in the configuration");
        return STORE_E_ARG;
    }
    store *s = calloc(1, sizeof *s);
    char *p = strdup(path);
    if (!s || !p) {
        free(s);
        free(p);
        if (msg && msglen)
            snprintf(msg, msglen, "out of memory opening %s", path);
        return STORE_E_NOMEM;
    }
    s->path = p;
    /* NOMUTEX: the store is used from one thread only (see store.h). */
    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    store_err e = STORE_OK;
    if (rc != SQLITE_OK)
        e = store_db_fail(s, rc, "opening");
    else
        e = configure(s);
    if (e == STORE_OK)
        e = migrate(s);
    if (e != STORE_OK) {
        if (msg && msglen)
            snprintf(msg, msglen, "%s", s->msg);
        store_close(s);
        return e;
    }
    store_ok(s);
    *out = s;
    return STORE_OK;
}

void store_close(store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST_COUNT_; i++)
        sqlite3_finalize(s->st[i]);
    for (int i = 0; i < QF_COMBOS; i++)
        sqlite3_finalize(s->query[i]);
    if (s->db && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

/* ---- bulk loading -------------------------------------------------------- */

store_err store_bulk_begin(store *s)
{
    if (!s)
        return STORE_E_ARG;
    if (s->bulk)
        return store_failf(s, STORE_E_ARG, "store_bulk_begin: already in bulk mode");
    store_err e = exec(s, "PRAGMA synchronous = OFF", "entering bulk mode");
    /* A big page cache keeps the one transaction's index pages in memory
     * instead of spilling them to the WAL over and over. */
    if (e == STORE_OK)
        e = exec(s, "PRAGMA cache_size = -" BULK_CACHE_KIB, "entering bulk mode");
    if (e == STORE_OK)
        e = exec(s, "BEGIN IMMEDIATE", "entering bulk mode");
    if (e != STORE_OK) {
        exec(s, "PRAGMA synchronous = FULL", "leaving bulk mode");
        return e;
    }
    s->bulk = true;
    return store_ok(s);
}

store_err store_bulk_end(store *s)
{
    if (!s)
        return STORE_E_ARG;
    if (!s->bulk)
        return store_failf(s, STORE_E_ARG, "store_bulk_end: not in bulk mode");
    store_err e = exec(s, "COMMIT", "committing the bulk load");
    if (e != STORE_OK) {
        char keep[sizeof s->msg];
        memcpy(keep, s->msg, sizeof keep);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        memcpy(s->msg, keep, sizeof keep);
    }
    s->bulk = false;
    store_err e2 = exec(s, "PRAGMA synchronous = FULL", "leaving bulk mode");
    if (e2 == STORE_OK)
        e2 = exec(s, "PRAGMA cache_size = -" NORMAL_CACHE_KIB, "leaving bulk mode");
    if (e != STORE_OK)
        return e;
    return e2 == STORE_OK ? store_ok(s) : e2;
}
