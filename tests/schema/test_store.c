/*
 * The audit store: migrations, images, jobs, serial numbers, unit history,
 * the audit queries, crash recovery, and a unit log that survives kill -9.
 * Effects are checked by querying the database, through the store and
 * through a second, plain sqlite3 connection.
 */
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_C "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct fixture {
    char dir[512];
    char path[600];
    store *s;
} fixture;

static void remove_db(const char *path)
{
    char p[700];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "%s/storeXXXXXX", STORE_TMPDIR);
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/flashline.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->s);
    remove_db(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static store *open_ok(fixture *f)
{
    char msg[1024];
    store *s = NULL;
    store_err e = store_open(f->path, &s, msg, sizeof msg);
    if (e != STORE_OK)
        fail_msg("store_open: %s: %s", store_err_name(e), msg);
    return s;
}

#define CHECK(s, call)                                                                             \
    do {                                                                                           \
        store_err e_ = (call);                                                                     \
        if (e_ != STORE_OK)                                                                        \
            fail_msg("%s: %s: %s", #call, store_err_name(e_), store_message(s));                   \
    } while (0)

/* One integer from a second connection, as an auditor would see it. */
static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void put_image(store *s, const char *sha)
{
    static const uint8_t fw[] = {0x00, 0x20, 0x00, 0x20, 0x09, 0x01, 0x00, 0x08, 0xfe, 0xe7};
    CHECK(s, store_image_put(s, sha, "bin", 0x08000000u, fw, sizeof fw, 1000));
}

static int64_t make_job(store *s, const char *sha, bool serial, int64_t start, int64_t step,
                        int64_t created)
{
    store_job j = {0};
    snprintf(j.name, sizeof j.name, "job at %lld", (long long)created);
    memcpy(j.image, sha, 65);
    j.recipe_json = "{\"chip\":\"stm32f103rb\"}";
    j.count = 50;
    j.has_serial = serial;
    j.next_serial = start;
    j.serial_step = step;
    j.created_ms = created;
    j.submitted_uid = 1000;
    int64_t id = 0;
    CHECK(s, store_job_create(s, &j, &id));
    assert_true(id > 0);
    return id;
}

/* ---- migrations and opening ------------------------------------------- */

static void migrations_apply(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    assert_int_equal(store_user_version(f->s), store_schema_version());
    assert_true(store_schema_version() >= 1);
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), store_schema_version());
    int64_t tables = sql_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND"
                                      " name IN ('probes', 'images', 'jobs', 'units', 'attempts',"
                                      " 'recovery', 'events')");
    assert_int_equal(tables, 7);
    /* the audit queries have their indexes */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
                                      " AND name IN ('units_uid', 'units_serial',"
                                      " 'units_job_result', 'units_probe_started',"
                                      " 'units_started', 'units_finished', 'recovery_unit')"),
                     7);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void reopen_is_idempotent(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s, SHA_A);
    int64_t job = make_job(f->s, SHA_A, true, 10, 1, 2000);
    int64_t objects = sql_int(f->path, "SELECT count(*) FROM sqlite_schema");
    store_close(f->s);
    for (int i = 0; i < 3; i++) {
        f->s = open_ok(f);
        assert_int_equal(store_user_version(f->s), store_schema_version());
        store_close(f->s);
    }
    f->s = open_ok(f);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_schema"), objects);
    store_job j;
    CHECK(f->s, store_job_get(f->s, job, &j));
    assert_int_equal(j.next_serial, 10);
    store_job_clear(&j);
}

static void newer_schema_is_refused(void **state)
{
    fixture *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE future (x); PRAGMA user_version = 99", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    char msg[1024];
    store *s = (store *)&msg; /* must be reset to NULL */
    assert_int_equal(store_open(f->path, &s, msg, sizeof msg), STORE_E_CORRUPT);
    assert_null(s);
    assert_non_null(strstr(msg, "99"));
    assert_non_null(strstr(msg, "newer"));
    /* untouched */
    assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 99);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_schema"), 1);
}

static void not_a_database_is_refused(void **state)
{
    fixture *f = *state;
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 4096; i++)
        fputc("flashline"[i % 9], fp);
    fclose(fp);
    char msg[1024];
    store *s = NULL;
    assert_int_equal(store_open(f->path, &s, msg, sizeof msg), STORE_E_CORRUPT);
    assert_null(s);
    assert_non_null(strstr(msg, "not a database"));
    assert_non_null(strstr(msg, f->path));

    char nodir[700];
    snprintf(nodir, sizeof nodir, "%s/missing/dir/flashline.db", f->dir);
    assert_int_equal(store_open(nodir, &s, msg, sizeof msg), STORE_E_IO);
    assert_non_null(strstr(msg, "directory"));
    assert_int_equal(store_open("", &s, msg, sizeof msg), STORE_E_ARG);
}

static void locked_database_says_so_and_changes_nothing(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    CHECK(f->s, store_set_busy_timeout(f->s, 50));
    sqlite3 *other = NULL; /* another process's writer, e.g. a sqlite3 shell */
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(store_probe_seen(f->s, "066DFF49", "V3", 1), STORE_E_IO);
    assert_non_null(strstr(store_message(f->s), "locked by another process"));
    assert_non_null(strstr(store_message(f->s), f->path));
    int n = 0;
    assert_int_equal(store_recover_in_flight(f->s, 1, &n), STORE_E_IO);
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM probes"), 0);
    CHECK(f->s, store_probe_seen(f->s, "066DFF49", "V3", 2));
    CHECK(f->s, store_recover_in_flight(f->s, 3, &n));
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM probes"), 1);
}

/* ---- images, probes, jobs ------------------------------------------------ */

static void images_are_content_addressed(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    uint8_t big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + 3);
    CHECK(f->s, store_image_put(f->s, SHA_C, "ihex", 0x08004000u, big, sizeof big, 5000));
    /* the same key again changes nothing, even with other metadata */
    CHECK(f->s, store_image_put(f->s, SHA_C, "bin", 0, big, 10, 6000));
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM images"), 1);
    store_image img;
    CHECK(f->s, store_image_get(f->s, SHA_C, &img));
    assert_string_equal(img.sha256, SHA_C);
    assert_string_equal(img.format, "ihex");
    assert_int_equal(img.base, 0x08004000u);
    assert_int_equal(img.len, sizeof big);
    assert_int_equal(img.created_ms, 5000);
    assert_memory_equal(img.bytes, big, sizeof big);
    store_image_clear(&img);
    assert_null(img.bytes);

    assert_int_equal(store_image_get(f->s, SHA_B, &img), STORE_E_NOT_FOUND);
    assert_non_null(strstr(store_message(f->s), SHA_B));
    assert_int_equal(store_image_put(f->s, "ABC", "bin", 0, big, 4, 1), STORE_E_ARG);
    assert_int_equal(store_image_put(f->s, SHA_C "0", "bin", 0, big, 4, 1), STORE_E_ARG);
    assert_int_equal(store_image_put(f->s, SHA_B, "bin", 0, big, 0, 1), STORE_E_ARG);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM images"), 1);
}

static void probes_and_quarantine(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    CHECK(f->s, store_probe_seen(f->s, "066DFF49", "V2-1", 100));
    CHECK(f->s, store_probe_seen(f->s, "066DFF49", "V2-1", 300));
    CHECK(f->s, store_probe_seen(f->s, "066DFF49", NULL, 200)); /* keeps kind and latest time */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM probes"), 1);
    assert_int_equal(sql_int(f->path, "SELECT first_seen FROM probes"), 100);
    assert_int_equal(sql_int(f->path, "SELECT last_seen FROM probes"), 300);
    assert_int_equal(sql_int(f->path, "SELECT kind = 'V2-1' FROM probes"), 1);

    char reason[128];
    bool q = true;
    CHECK(f->s, store_probe_quarantine(f->s, "066DFF49", reason, sizeof reason, &q));
    assert_false(q);
    CHECK(f->s, store_probe_set_quarantine(f->s, "066DFF49", "USB reset failed twice", 400));
    CHECK(f->s, store_probe_quarantine(f->s, "066DFF49", reason, sizeof reason, &q));
    assert_true(q);
    assert_string_equal(reason, "USB reset failed twice");
    CHECK(f->s, store_probe_set_quarantine(f->s, "066DFF49", NULL, 500));
    CHECK(f->s, store_probe_quarantine(f->s, "066DFF49", reason, sizeof reason, &q));
    assert_false(q);
    assert_int_equal(store_probe_set_quarantine(f->s, "NOPE", "x", 1), STORE_E_NOT_FOUND);
    assert_int_equal(store_probe_quarantine(f->s, "NOPE", NULL, 0, &q), STORE_E_NOT_FOUND);
    assert_int_equal(store_probe_seen(f->s, "", "V3", 1), STORE_E_ARG);
}

static void jobs_lifecycle(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    store_job in = {.count = -1, .created_ms = 1, .submitted_uid = 7};
    memcpy(in.image, SHA_A, 65);
    int64_t id = 0;
    assert_int_equal(store_job_create(f->s, &in, &id), STORE_E_NOT_FOUND);
    assert_non_null(strstr(store_message(f->s), "upload"));
    put_image(f->s, SHA_A);
    put_image(f->s, SHA_B);
    in.has_serial = true;
    in.serial_step = 0;
    assert_int_equal(store_job_create(f->s, &in, &id), STORE_E_ARG);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM jobs"), 0);
    in.has_serial = false;
    CHECK(f->s, store_job_create(f->s, &in, &id)); /* continuous, no recipe given */
    int64_t j2 = make_job(f->s, SHA_B, true, 5, 2, 10);
    int64_t j3 = make_job(f->s, SHA_A, false, 0, 0, 5);

    store_job j;
    CHECK(f->s, store_job_get(f->s, id, &j));
    assert_int_equal(j.count, -1);
    assert_string_equal(j.state, "running");
    assert_string_equal(j.recipe_json, "{}");
    assert_int_equal(j.submitted_uid, 7);
    assert_int_equal(j.finished_ms, 0);
    store_job_clear(&j);
    CHECK(f->s, store_job_get(f->s, j2, &j));
    assert_string_equal(j.image, SHA_B);
    assert_string_equal(j.recipe_json, "{\"chip\":\"stm32f103rb\"}");
    assert_int_equal(j.count, 50);
    assert_true(j.has_serial);
    assert_int_equal(j.next_serial, 5);
    assert_int_equal(j.serial_step, 2);
    store_job_clear(&j);

    store_job *list = NULL;
    size_t n = 0;
    CHECK(f->s, store_job_list(f->s, &list, &n));
    assert_int_equal(n, 3);
    assert_int_equal(list[0].id, j2); /* created 10 */
    assert_int_equal(list[1].id, j3); /* created 5 */
    assert_int_equal(list[2].id, id); /* created 1 */
    store_job_list_free(list, n);

    CHECK(f->s, store_job_set_state(f->s, j2, "paused", 20));
    CHECK(f->s, store_job_set_state(f->s, j2, "running", 30));
    CHECK(f->s, store_job_set_state(f->s, j2, "done", 40));
    assert_int_equal(store_job_set_state(f->s, j2, "running", 50), STORE_E_CONFLICT);
    assert_int_equal(store_job_set_state(f->s, j2, "cancelled", 50), STORE_E_CONFLICT);
    assert_int_equal(store_job_set_state(f->s, j2, "exploded", 50), STORE_E_ARG);
    assert_int_equal(store_job_set_state(f->s, 999, "paused", 50), STORE_E_NOT_FOUND);
    CHECK(f->s, store_job_set_state(f->s, j3, "cancelled", 60));
    CHECK(f->s, store_job_get(f->s, j2, &j));
    assert_string_equal(j.state, "done");
    assert_int_equal(j.finished_ms, 40);
    store_job_clear(&j);
    assert_int_equal(sql_int(f->path, "SELECT finished FROM jobs WHERE state = 'cancelled'"), 60);

    /* no new unit in an ended job */
    int64_t u = 0;
    assert_int_equal(store_unit_begin(f->s, j2, "P1", "UID1", "stm32f103rb", 70, &u, NULL, NULL),
                     STORE_E_CONFLICT);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM units"), 0);
    assert_int_equal(sql_int(f->path, "SELECT next_serial FROM jobs WHERE id = 2"), 5);
}

/* ---- serial numbers --------------------------------------------------- */

static void serials_advance_by_step_and_are_never_reused(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s, SHA_A);
    int64_t job = make_job(f->s, SHA_A, true, 1000, 5, 1);
    int64_t plain = make_job(f->s, SHA_A, false, 0, 0, 2);
    for (int i = 0; i < 10; i++) {
        char uid[32];
        snprintf(uid, sizeof uid, "UID%02d", i);
        int64_t unit = 0, serial = -1;
        bool has = false;
        CHECK(f->s,
              store_unit_begin(f->s, job, "P1", uid, "stm32f103rb", 100 + i, &unit, &has, &serial));
        assert_true(has);
        assert_int_equal(serial, 1000 + 5 * i);
        /* failed and interrupted units keep their serial: it was used */
        CHECK(f->s, store_unit_end(f->s, unit, i % 3 ? "ok" : "failed", NULL, 200 + i));
    }
    /* a new connection sees the advanced counter */
    assert_int_equal(sql_int(f->path, "SELECT next_serial FROM jobs WHERE id = 1"), 1050);
    assert_int_equal(sql_int(f->path, "SELECT count(DISTINCT serial_number) FROM units"), 10);
    store_close(f->s);
    f->s = open_ok(f);
    int64_t unit = 0, serial = -1;
    bool has = false;
    CHECK(f->s,
          store_unit_begin(f->s, job, "P2", "UIDX", "stm32f103rb", 300, &unit, &has, &serial));
    assert_int_equal(serial, 1050);
    CHECK(f->s,
          store_unit_begin(f->s, plain, "P2", "UIDY", "stm32f103rb", 301, &unit, &has, &serial));
    assert_false(has);
    store_unit u;
    CHECK(f->s, store_unit_get(f->s, unit, &u));
    assert_false(u.has_serial);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM units WHERE serial_number IS NULL"), 1);
    assert_int_equal(sql_int(f->path, "SELECT next_serial IS NULL FROM jobs WHERE id = 2"), 1);
    /* the probe a unit names is recorded even if never reported */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM probes WHERE serial IN ('P1','P2')"),
                     2);
}

/* ---- history ----------------------------------------------------------- */

typedef struct hist {
    char lines[16][1024];
    int n;
} hist;

static int on_attempt(void *user, const store_attempt *a)
{
    hist *h = user;
    snprintf(h->lines[h->n++], sizeof h->lines[0], "A%d %s %s %.200s %lld-%lld", a->n, a->result,
             a->state, a->error, (long long)a->started_ms, (long long)a->finished_ms);
    return 0;
}

static int on_recovery(void *user, const store_recovery *r)
{
    hist *h = user;
    snprintf(h->lines[h->n++], sizeof h->lines[0], "R %s %d %lld%s", r->step, r->ok,
             (long long)r->at_ms, r->cured ? " cured" : "");
    return 0;
}

typedef struct cure_list {
    size_t n;
    char lines[4][256];
} cure_list;

static int on_cure(void *user, const store_cure *c)
{
    cure_list *l = user;
    snprintf(l->lines[l->n++], sizeof l->lines[0], "%s %s %s %s %lld", c->state, c->event, c->error,
             c->step, (long long)c->cures);
    return 0;
}

static void unit_history_round_trips(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s, SHA_A);
    int64_t job = make_job(f->s, SHA_A, false, 0, 0, 1);
    int64_t unit = 0, other = 0, a1 = 0, a2 = 0, ao = 0;
    CHECK(f->s, store_unit_begin(f->s, job, "066D", "0123456789ABCDEF01234567", "stm32f103rb", 1000,
                                 &unit, NULL, NULL));
    CHECK(f->s, store_unit_begin(f->s, job, "066E", "U2", "stm32f103rb", 1001, &other, NULL, NULL));
    CHECK(f->s, store_attempt_begin(f->s, other, 1, 1002, &ao));
    CHECK(f->s, store_attempt_begin(f->s, unit, 1, 1010, &a1));
    CHECK(f->s, store_recovery_add(f->s, unit, a1, "halt with interrupts masked", false, 1020));
    CHECK(f->s, store_recovery_add(f->s, unit, a1, "USB reset of the probe, found again by serial",
                                   true, 1030));
    CHECK(f->s, store_attempt_end(f->s, a1, "failed", "program", "PGERR at 0x08000400", 1040));
    CHECK(f->s, store_attempt_begin(f->s, unit, 2, 1050, &a2));
    CHECK(f->s, store_attempt_end(f->s, a2, "ok", "done", NULL, 1090));
    CHECK(f->s, store_unit_end(f->s, unit, "ok", NULL, 1100));

    hist h = {0};
    CHECK(f->s, store_unit_history(f->s, unit, on_attempt, on_recovery, &h));
    assert_int_equal(h.n, 4);
    assert_string_equal(h.lines[0], "A1 failed program PGERR at 0x08000400 1010-1040");
    assert_string_equal(h.lines[1], "R halt with interrupts masked 0 1020");
    assert_string_equal(h.lines[2], "R USB reset of the probe, found again by serial 1 1030");
    assert_string_equal(h.lines[3], "A2 ok done  1050-1090");

    store_unit u;
    CHECK(f->s, store_unit_get(f->s, unit, &u));
    assert_int_equal(u.job_id, job);
    assert_string_equal(u.probe, "066D");
    assert_string_equal(u.uid, "0123456789ABCDEF01234567");
    assert_string_equal(u.chip, "stm32f103rb");
    assert_string_equal(u.image, SHA_A);
    assert_string_equal(u.result, "ok");
    assert_string_equal(u.error, "");
    assert_int_equal(u.started_ms, 1000);
    assert_int_equal(u.finished_ms, 1100);
    assert_int_equal(u.attempts, 2);
    assert_int_equal(u.recovery_steps, 2);

    /* Adaptive recovery: the cure is remembered for the probe's failure
     * signature and named on the unit's record; a cure that stops working
     * is forgotten; another probe's memory is its own. */
    store_cure c = {.probe = "066D",
                    .state = "program",
                    .event = "fault",
                    .error = "target",
                    .step = "USB reset of the probe, found again by serial"};
    CHECK(f->s, store_cure_set(f->s, &c, true, unit, 1200));
    CHECK(f->s, store_cure_set(f->s, &c, true, 0, 1300));
    hist cured = {0};
    CHECK(f->s, store_unit_history(f->s, unit, on_attempt, on_recovery, &cured));
    assert_string_equal(cured.lines[1], "R halt with interrupts masked 0 1020");
    assert_string_equal(cured.lines[2],
                        "R USB reset of the probe, found again by serial 1 1030 cured");
    cure_list got = {0};
    CHECK(f->s, store_cures_load(f->s, "066D", on_cure, &got));
    assert_int_equal(got.n, 1);
    assert_string_equal(got.lines[0],
                        "program fault target USB reset of the probe, found again by serial 2");
    got.n = 0;
    CHECK(f->s, store_cures_load(f->s, "066E", on_cure, &got));
    assert_int_equal(got.n, 0);
    store_cure other_step = c;
    snprintf(other_step.step, sizeof other_step.step, "close and reopen the probe");
    CHECK(f->s, store_cure_set(f->s, &other_step, false, 0, 1400)); /* not what is remembered */
    CHECK(f->s, store_cures_load(f->s, "066D", on_cure, &got));
    assert_int_equal(got.n, 1);
    got.n = 0;
    CHECK(f->s, store_cure_set(f->s, &c, false, 0, 1500));
    CHECK(f->s, store_cures_load(f->s, "066D", on_cure, &got));
    assert_int_equal(got.n, 0);
    store_cure empty = c;
    empty.state[0] = '\0';
    assert_int_equal(store_cure_set(f->s, &empty, true, 0, 1), STORE_E_ARG);

    /* a recovery step must name an attempt of the same unit */
    assert_int_equal(store_recovery_add(f->s, other, a1, "x", true, 1), STORE_E_NOT_FOUND);
    assert_int_equal(store_recovery_add(f->s, unit, 999, "x", true, 1), STORE_E_NOT_FOUND);
    /* results are final */
    assert_int_equal(store_unit_end(f->s, unit, "failed", "late", 2000), STORE_E_CONFLICT);
    assert_int_equal(store_attempt_end(f->s, a2, "failed", "x", NULL, 2000), STORE_E_CONFLICT);
    assert_int_equal(store_attempt_begin(f->s, unit, 3, 2000, &a2), STORE_E_CONFLICT);
    assert_int_equal(store_attempt_begin(f->s, other, 1, 2000, &a2), STORE_E_CONFLICT);
    assert_int_equal(store_unit_end(f->s, other, "in_flight", NULL, 1), STORE_E_ARG);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM attempts"), 3);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM recovery"), 2);

    /* ending a unit closes its open attempt */
    CHECK(f->s,
          store_unit_end(f->s, other, "failed", "chip is stm32f446re, recipe wants f1", 3000));
    assert_int_equal(sql_int(f->path, "SELECT finished FROM attempts WHERE unit = 2"), 3000);
    assert_int_equal(sql_int(f->path, "SELECT result = 'failed' FROM attempts WHERE unit = 2"), 1);

    CHECK(f->s, store_event_add(f->s, 3001, "unit", "066D", job, unit, "{\"result\":\"ok\"}"));
    CHECK(f->s, store_event_add(f->s, 3002, "probe", "066D", 0, 0, NULL));
    assert_int_equal(store_event_add(f->s, 3003, "unit", NULL, job, 999, NULL), STORE_E_NOT_FOUND);
    assert_int_equal(store_event_add(f->s, 3003, "", NULL, 0, 0, NULL), STORE_E_ARG);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"), 2);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events WHERE job IS NULL"), 1);
}

/* ---- queries ----------------------------------------------------------- */

#define NPOP 120
typedef struct popunit {
    int64_t id, job, serial, started;
    bool has_serial;
    char probe[16], uid[32], result[16];
} popunit;

typedef struct population {
    popunit u[NPOP];
    int64_t jobs[2];
} population;

static const char *const probes[] = {"PA", "PB", "PC"};
static const char *const results[] = {"ok", "ok", "failed", "interrupted", "in_flight"};

/* Units of two jobs on three probes, some started at the same time, some
 * UIDs seen more than once (a board programmed again). */
static void populate(store *s, population *p)
{
    put_image(s, SHA_A);
    p->jobs[0] = make_job(s, SHA_A, true, 500, 1, 1);
    p->jobs[1] = make_job(s, SHA_A, false, 0, 0, 2);
    for (int i = 0; i < NPOP; i++) {
        popunit *u = &p->u[i];
        u->job = p->jobs[i % 2];
        snprintf(u->probe, sizeof u->probe, "%s", probes[i % 3]);
        snprintf(u->uid, sizeof u->uid, "UID%03d", i % 100);
        snprintf(u->result, sizeof u->result, "%s", results[(i / 2) % 5]);
        u->started = 10000 + (i / 3) * 1000; /* three units per second */
        CHECK(s, store_unit_begin(s, u->job, u->probe, u->uid, "stm32f103rb", u->started, &u->id,
                                  &u->has_serial, &u->serial));
        int64_t a = 0;
        CHECK(s, store_attempt_begin(s, u->id, 1, u->started + 1, &a));
        if (strcmp(u->result, "in_flight") != 0)
            CHECK(s, store_unit_end(s, u->id, u->result, NULL, u->started + 500));
    }
}

typedef struct collected {
    int64_t ids[NPOP];
    int n;
    int stop_after;
} collected;

static int collect(void *user, const store_unit *u)
{
    collected *c = user;
    c->ids[c->n++] = u->id;
    return c->stop_after && c->n >= c->stop_after;
}

static bool matches(const popunit *u, const store_unit_filter *f)
{
    if (f->uid && strcmp(u->uid, f->uid) != 0)
        return false;
    if (f->probe && strcmp(u->probe, f->probe) != 0)
        return false;
    if (f->result && strcmp(u->result, f->result) != 0)
        return false;
    if (f->job_id && u->job != f->job_id)
        return false;
    if (f->has_serial && (!u->has_serial || u->serial != f->serial))
        return false;
    if (f->since_ms && u->started < f->since_ms)
        return false;
    if (f->until_ms && u->started >= f->until_ms)
        return false;
    return true;
}

/* Runs the query and compares with the population filtered here, newest
 * first (ties by id, newest first), paged as asked. Returns the count. */
static int check_query(fixture *f, const population *p, const store_unit_filter *flt)
{
    collected got = {0};
    CHECK(f->s, store_units_query(f->s, flt, collect, &got));
    int64_t want[NPOP];
    int n = 0, skipped = 0;
    for (int i = NPOP - 1; i >= 0; i--) { /* ids and start times both ascend */
        if (!matches(&p->u[i], flt))
            continue;
        if (skipped < flt->offset) {
            skipped++;
            continue;
        }
        if (flt->limit && n >= flt->limit)
            break;
        want[n++] = p->u[i].id;
    }
    assert_int_equal(got.n, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(got.ids[i], want[i]);
    return n;
}

static void every_query_filter_works(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    static population p;
    populate(f->s, &p);

    store_unit_filter flt = {0};
    assert_int_equal(check_query(f, &p, &flt), NPOP);

    flt = (store_unit_filter){.uid = "UID007"};
    assert_int_equal(check_query(f, &p, &flt), 2); /* units 7 and 107 */
    flt = (store_unit_filter){.uid = "UID150"};
    assert_int_equal(check_query(f, &p, &flt), 0);

    /* serial 500 + k went to the k-th unit of job 1 (the even units) */
    flt = (store_unit_filter){.has_serial = true, .serial = 510};
    assert_int_equal(check_query(f, &p, &flt), 1);
    collected c = {0};
    CHECK(f->s, store_units_query(f->s, &flt, collect, &c));
    assert_int_equal(c.ids[0], p.u[20].id);

    flt = (store_unit_filter){.job_id = p.jobs[1]};
    assert_int_equal(check_query(f, &p, &flt), NPOP / 2);
    flt = (store_unit_filter){.job_id = 999};
    assert_int_equal(check_query(f, &p, &flt), 0);
    flt = (store_unit_filter){.probe = "PB"};
    assert_int_equal(check_query(f, &p, &flt), NPOP / 3);
    for (int r = 0; r < 4; r++) {
        flt = (store_unit_filter){.result = results[r + 1]};
        assert_true(check_query(f, &p, &flt) > 0);
    }
    flt = (store_unit_filter){.result = "exploded"};
    assert_int_equal(store_units_query(f->s, &flt, collect, &c), STORE_E_ARG);

    flt = (store_unit_filter){.since_ms = 20000, .until_ms = 25000};
    assert_int_equal(check_query(f, &p, &flt), 15); /* seconds 10..14, three each */
    flt = (store_unit_filter){.since_ms = 40000};
    assert_int_equal(check_query(f, &p, &flt), NPOP - 90);
    flt = (store_unit_filter){.until_ms = 10001};
    assert_int_equal(check_query(f, &p, &flt), 3);

    /* combinations */
    flt = (store_unit_filter){.job_id = p.jobs[0], .result = "ok", .probe = "PA"};
    assert_true(check_query(f, &p, &flt) > 0);
    flt = (store_unit_filter){
        .job_id = p.jobs[0], .result = "failed", .since_ms = 15000, .until_ms = 45000};
    assert_true(check_query(f, &p, &flt) > 0);

    /* pages: disjoint, in order, covering everything */
    int total = 0;
    for (int64_t off = 0; off < NPOP + 10; off += 25) {
        flt = (store_unit_filter){.limit = 25, .offset = off};
        total += check_query(f, &p, &flt);
    }
    assert_int_equal(total, NPOP);
    flt = (store_unit_filter){.offset = 100};
    assert_int_equal(check_query(f, &p, &flt), NPOP - 100);
    flt = (store_unit_filter){.probe = "PC", .limit = 7, .offset = 3};
    assert_int_equal(check_query(f, &p, &flt), 7);
    flt = (store_unit_filter){.limit = -1};
    assert_int_equal(store_units_query(f->s, &flt, collect, &c), STORE_E_ARG);

    /* a callback can stop early */
    c = (collected){.stop_after = 5};
    CHECK(f->s, store_units_query(f->s, NULL, collect, &c));
    assert_int_equal(c.n, 5);
    assert_int_equal(c.ids[0], p.u[NPOP - 1].id);

    /* job counters come from the units */
    store_job j;
    CHECK(f->s, store_job_get(f->s, p.jobs[0], &j));
    int64_t want[4] = {0};
    for (int i = 0; i < NPOP; i++) {
        if (p.u[i].job != p.jobs[0])
            continue;
        const char *r = p.u[i].result;
        want[strcmp(r, "ok") == 0            ? 0
             : strcmp(r, "failed") == 0      ? 1
             : strcmp(r, "interrupted") == 0 ? 2
                                             : 3]++;
    }
    assert_int_equal(j.ok, want[0]);
    assert_int_equal(j.failed, want[1]);
    assert_int_equal(j.interrupted, want[2]);
    assert_int_equal(j.in_flight, want[3]);
    assert_int_equal(j.next_serial, 500 + NPOP / 2);
    store_job_clear(&j);
}

typedef struct counts {
    int64_t total, rows, pb_failed;
} counts;

static int on_count(void *user, const char *probe, const char *chip, const char *result, int64_t n)
{
    counts *c = user;
    assert_string_equal(chip, "stm32f103rb");
    c->total += n;
    c->rows++;
    if (strcmp(probe, "PB") == 0 && strcmp(result, "failed") == 0)
        c->pb_failed = n;
    return 0;
}

typedef struct paged {
    int64_t ids[NPOP];
    int n;
    store_unit last;
} paged;

static int collect_page(void *user, const store_unit *u)
{
    paged *p = user;
    p->ids[p->n++] = u->id;
    p->last = *u;
    return 0;
}

/* Keyset pages of 4 (three units share each start time, so pages split
 * ties) walk the same units in the same order as one query, with a filter
 * too, and a page after the last unit is empty. */
static void keyset_pages_walk_every_unit_once(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    static population p;
    populate(f->s, &p);
    const char *probe_filter[] = {NULL, "PB"};
    for (int k = 0; k < 2; k++) {
        store_unit_filter all = {.probe = probe_filter[k]};
        collected whole = {0};
        CHECK(f->s, store_units_query(f->s, &all, collect, &whole));
        paged acc = {0};
        store_unit_filter pg = {.probe = probe_filter[k], .limit = 4};
        int pages = 0;
        while (pages <= NPOP) { /* a cursor that does not advance ends too */
            paged one = {0};
            CHECK(f->s, store_units_query(f->s, &pg, collect_page, &one));
            if (one.n == 0)
                break;
            assert_true(one.n <= 4);
            memcpy(acc.ids + acc.n, one.ids, (size_t)one.n * sizeof one.ids[0]);
            acc.n += one.n;
            pg.after = true;
            pg.after_started_ms = one.last.started_ms;
            pg.after_id = one.last.id;
            pages++;
        }
        assert_int_equal(acc.n, whole.n);
        assert_int_equal(pages, (whole.n + 3) / 4);
        for (int i = 0; i < whole.n; i++)
            assert_int_equal(acc.ids[i], whole.ids[i]);
    }
}

static void unit_counts_by_probe_chip_result(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    static population p;
    populate(f->s, &p);
    counts c = {0};
    CHECK(f->s, store_unit_counts(f->s, on_count, &c));
    assert_int_equal(c.total, NPOP);
    assert_int_equal(c.rows, 3 * 4);
    int64_t want = 0;
    for (int i = 0; i < NPOP; i++)
        want += strcmp(p.u[i].probe, "PB") == 0 && strcmp(p.u[i].result, "failed") == 0;
    assert_int_equal(c.pb_failed, want);
}

static void bad_ids_are_not_found(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s, SHA_A);
    store_unit u;
    store_job j;
    int64_t id = 0;
    hist h = {0};
    assert_int_equal(store_unit_get(f->s, 42, &u), STORE_E_NOT_FOUND);
    assert_non_null(strstr(store_message(f->s), "42"));
    assert_int_equal(store_job_get(f->s, 42, &j), STORE_E_NOT_FOUND);
    assert_int_equal(store_unit_history(f->s, 42, on_attempt, on_recovery, &h), STORE_E_NOT_FOUND);
    assert_int_equal(store_unit_begin(f->s, 42, "P", "U", "c", 1, &id, NULL, NULL),
                     STORE_E_NOT_FOUND);
    assert_int_equal(store_attempt_begin(f->s, 42, 1, 1, &id), STORE_E_NOT_FOUND);
    assert_int_equal(store_attempt_end(f->s, 42, "ok", "done", NULL, 1), STORE_E_NOT_FOUND);
    assert_int_equal(store_unit_end(f->s, 42, "ok", NULL, 1), STORE_E_NOT_FOUND);
    assert_int_equal(store_recovery_add(f->s, 42, 42, "x", true, 1), STORE_E_NOT_FOUND);
    assert_int_equal(store_job_set_state(f->s, 42, "done", 1), STORE_E_NOT_FOUND);
    assert_int_equal(sql_int(f->path, "SELECT (SELECT count(*) FROM units) + (SELECT count(*)"
                                      " FROM attempts) + (SELECT count(*) FROM recovery)"),
                     0);
    /* and the store still works after a run of errors */
    int64_t job = make_job(f->s, SHA_A, true, 1, 1, 1);
    CHECK(f->s, store_unit_begin(f->s, job, "P", "U", "c", 1, &id, NULL, NULL));
    assert_string_equal(store_message(f->s), "");
}

static void recover_marks_in_flight_interrupted(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s, SHA_A);
    int64_t job = make_job(f->s, SHA_A, true, 1, 1, 1);
    int64_t u[4], a = 0;
    for (int i = 0; i < 4; i++)
        CHECK(f->s, store_unit_begin(f->s, job, "P", "U", "c", 10 + i, &u[i], NULL, NULL));
    CHECK(f->s, store_attempt_begin(f->s, u[0], 1, 20, &a));
    CHECK(f->s, store_attempt_begin(f->s, u[1], 1, 20, &a));
    CHECK(f->s, store_attempt_end(f->s, a, "ok", "done", NULL, 25));
    CHECK(f->s, store_unit_end(f->s, u[1], "ok", NULL, 30));
    store_close(f->s); /* as if the daemon died here */

    f->s = open_ok(f);
    int n = -1;
    CHECK(f->s, store_recover_in_flight(f->s, 5000, &n));
    assert_int_equal(n, 3);
    store_unit got;
    CHECK(f->s, store_unit_get(f->s, u[0], &got));
    assert_string_equal(got.result, "interrupted");
    assert_int_equal(got.finished_ms, 5000);
    assert_non_null(strstr(got.error, "stopped while this unit was in flight"));
    CHECK(f->s, store_unit_get(f->s, u[1], &got));
    assert_string_equal(got.result, "ok");
    assert_int_equal(got.finished_ms, 30);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM units WHERE result = 'in_flight'"), 0);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM attempts WHERE result = 'interrupted'"
                                      " AND finished = 5000 AND error LIKE '%stopped%'"),
                     1);
    CHECK(f->s, store_recover_in_flight(f->s, 6000, &n));
    assert_int_equal(n, 0);
}

/* ---- kill -9 ----------------------------------------------------------- */

typedef struct report {
    int64_t unit, serial;
} report;

/* The child: a daemon's loop at full speed. A unit is reported only after
 * store_unit_end returned, as the daemon tells the line only then. Every
 * fifth unit is left in flight, as if its probe were still working. */
static _Noreturn void crash_child(const char *path, int64_t job, int fd)
{
    char msg[1024];
    store *s = NULL;
    if (store_open(path, &s, msg, sizeof msg) != STORE_OK)
        _exit(2);
    for (int i = 0;; i++) {
        char uid[32], probe[16];
        snprintf(uid, sizeof uid, "C%08d", i);
        snprintf(probe, sizeof probe, "K%d", i % 4);
        int64_t unit = 0, serial = 0, a = 0;
        bool has = false;
        if (store_unit_begin(s, job, probe, uid, "stm32f103rb", 1000 + i, &unit, &has, &serial) !=
                STORE_OK ||
            !has)
            _exit(3);
        if (i % 5 == 4)
            continue;
        if (store_attempt_begin(s, unit, 1, 1000 + i, &a) != STORE_OK ||
            store_attempt_end(s, a, "ok", "done", NULL, 1001 + i) != STORE_OK ||
            store_unit_end(s, unit, "ok", NULL, 1001 + i) != STORE_OK)
            _exit(4);
        report r = {unit, serial};
        if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
            _exit(5);
    }
}

static void killed_mid_write_keeps_every_reported_unit(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s, SHA_A);
    int64_t job = make_job(f->s, SHA_A, true, 7, 3, 1);
    store_close(f->s);
    f->s = NULL;
    srand(12345);

    static report seen[200000];
    size_t nseen = 0;
    for (int round = 0; round < 6; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(f->path, job, fds[1]);
        }
        close(fds[1]);
        size_t want = 5 + (size_t)(rand() % 40);
        size_t got = 0;
        report r;
        while (got < want && read(fds[0], &r, sizeof r) == (ssize_t)sizeof r) {
            assert_true(nseen < sizeof seen / sizeof seen[0]);
            seen[nseen++] = r;
            got++;
        }
        assert_int_equal(got, want); /* the child did not die on its own */
        /* a random moment, so that the kill lands anywhere in a commit */
        struct timespec ts = {0, (long)(rand() % 3000) * 1000L};
        nanosleep(&ts, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        /* whatever it reported before it died was committed too */
        ssize_t rd;
        while ((rd = read(fds[0], &r, sizeof r)) == (ssize_t)sizeof r) {
            assert_true(nseen < sizeof seen / sizeof seen[0]);
            seen[nseen++] = r;
        }
        close(fds[0]);

        f->s = open_ok(f);
        for (size_t i = 0; i < nseen; i++) {
            store_unit u;
            CHECK(f->s, store_unit_get(f->s, seen[i].unit, &u));
            assert_string_equal(u.result, "ok");
            assert_true(u.has_serial);
            assert_int_equal(u.serial, seen[i].serial);
        }
        assert_int_equal(sql_int(f->path, "SELECT count(*) FROM (SELECT serial_number FROM units"
                                          " GROUP BY serial_number HAVING count(*) > 1)"),
                         0);
        /* serials are 7, 10, 13...: none skipped, none ahead of the counter */
        int64_t units = sql_int(f->path, "SELECT count(*) FROM units");
        assert_int_equal(sql_int(f->path, "SELECT next_serial FROM jobs"), 7 + 3 * units);
        assert_int_equal(sql_int(f->path, "SELECT max(serial_number) FROM units"),
                         7 + 3 * (units - 1));
        int64_t open_units =
            sql_int(f->path, "SELECT count(*) FROM units WHERE result = 'in_flight'");
        assert_true(open_units >= 1);
        int n = -1;
        CHECK(f->s, store_recover_in_flight(f->s, 1000000 + round, &n));
        assert_int_equal(n, open_units);
        assert_int_equal(sql_int(f->path, "SELECT count(*) FROM units WHERE result = 'in_flight'"),
                         0);
        assert_int_equal(sql_int(f->path, "SELECT count(*) FROM attempts"
                                          " WHERE result = 'in_flight'"),
                         0);
        assert_int_equal(sql_int(f->path, "SELECT (SELECT * FROM pragma_integrity_check) = 'ok'"),
                         1);
        store_close(f->s);
        f->s = NULL;
    }
    assert_true(nseen >= 6 * 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(migrations_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(reopen_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(newer_schema_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(not_a_database_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(locked_database_says_so_and_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(images_are_content_addressed, setup, teardown),
        cmocka_unit_test_setup_teardown(probes_and_quarantine, setup, teardown),
        cmocka_unit_test_setup_teardown(jobs_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(serials_advance_by_step_and_are_never_reused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unit_history_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(every_query_filter_works, setup, teardown),
        cmocka_unit_test_setup_teardown(keyset_pages_walk_every_unit_once, setup, teardown),
        cmocka_unit_test_setup_teardown(unit_counts_by_probe_chip_result, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_ids_are_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(recover_marks_in_flight_interrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(killed_mid_write_keeps_every_reported_unit, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
