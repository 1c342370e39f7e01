/*
 * Audit integrity in the store: station-wide serial series (a number is
 * never handed out twice, whatever jobs come and go), the migration of
 * version-1 databases, who-did-what actions, one daemon per database, and
 * writes that fail whole when the database is full. Effects are checked in
 * the database's rows through a second, plain sqlite3 connection.
 */
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHA_A  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SERIES "0x0800FC00/u32le"
#define U32MAX INT64_C(4294967295)

typedef struct fixture {
    char dir[512];
    char path[600];
    store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "%s/seriesXXXXXX", STORE_TMPDIR);
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/flashline.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->s);
    static const char *const suffixes[] = {"", "-wal", "-shm", ".lock"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
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

#define LOCK_OK(call, msg)                                                                         \
    do {                                                                                           \
        store_err e_ = (call);                                                                     \
        if (e_ != STORE_OK)                                                                        \
            fail_msg("%s: %s: %s", #call, store_err_name(e_), (msg));                              \
    } while (0)

#define CONTAINS(hay, needle)                                                                      \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle));                           \
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

/* One text from a second connection ("" for NULL). */
static void sql_text(const char *path, const char *sql, char *out, size_t n)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(out, n, "%s", t ? (const char *)t : "");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void put_image(store *s)
{
    static const uint8_t fw[] = {0x00, 0x20, 0x00, 0x20, 0x09, 0x01, 0x00, 0x08, 0xfe, 0xe7};
    CHECK(s, store_image_put(s, SHA_A, "bin", 0x08000000u, fw, sizeof fw, 1000));
}

/* A job of the series: start >= 0 is an explicit start, -1 continues. */
static store_job series_job(const char *series, int64_t start, int64_t step, int64_t max,
                            int64_t created)
{
    store_job j = {0};
    snprintf(j.name, sizeof j.name, "job at %lld", (long long)created);
    memcpy(j.image, SHA_A, 65);
    j.recipe_json = "{}";
    j.count = -1;
    j.has_serial = true;
    j.serial_continue = start < 0;
    j.next_serial = start < 0 ? 0 : start;
    j.serial_step = step;
    j.serial_max = max;
    j.created_ms = created;
    j.submitted_uid = 1000;
    snprintf(j.series, sizeof j.series, "%s", series);
    return j;
}

static int64_t make_job(store *s, int64_t start, int64_t step, int64_t max, int64_t created)
{
    store_job j = series_job(SERIES, start, step, max, created);
    int64_t id = 0;
    CHECK(s, store_job_create(s, &j, &id));
    return id;
}

static int64_t begin(store *s, int64_t job, int64_t now, int64_t *serial)
{
    int64_t unit = 0;
    bool has = false;
    char uid[32];
    snprintf(uid, sizeof uid, "UID%lld", (long long)now);
    CHECK(s, store_unit_begin(s, job, "P1", uid, "stm32f103rb", now, &unit, &has, serial));
    assert_true(has);
    return unit;
}

static int64_t job_next(store *s, int64_t job)
{
    store_job j;
    CHECK(s, store_job_get(s, job, &j));
    int64_t n = j.next_serial;
    store_job_clear(&j);
    return n;
}

/* ---- explicit starts and continuing ------------------------------------ */

static void overlapping_start_is_refused_naming_the_job(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s);
    int64_t j1 = make_job(f->s, 1000, 1, U32MAX, 1);
    int64_t sn = 0;
    for (int i = 0; i < 3; i++) {
        begin(f->s, j1, 10 + i, &sn);
        assert_int_equal(sn, 1000 + i);
    }
    store_job in = series_job(SERIES, 1001, 1, U32MAX, 2);
    int64_t id = 0;
    assert_int_equal(store_job_create(f->s, &in, &id), STORE_E_CONFLICT);
    const char *m = store_message(f->s);
    CONTAINS(m, "from 1001 on in series \"" SERIES "\"");
    CONTAINS(m, "by job 1 (up to 1002)");
    CONTAINS(m, "continue the series at 1003");
    /* nothing of the refused job landed */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM jobs"), 1);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM actions"), 1);
    assert_int_equal(sql_int(f->path, "SELECT next FROM serial_series"), 1003);

    /* past the cursor, but job 1 still draws from the series */
    in.next_serial = 5000;
    assert_int_equal(store_job_create(f->s, &in, &id), STORE_E_CONFLICT);
    CONTAINS(store_message(f->s), "job 1 (running) draws numbers from series");
    CHECK(f->s, store_job_set_state(f->s, j1, "paused", 3));
    assert_int_equal(store_job_create(f->s, &in, &id), STORE_E_CONFLICT);
    CONTAINS(store_message(f->s), "job 1 (paused)");
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM jobs"), 1);
    CHECK(f->s, store_job_set_state(f->s, j1, "done", 4));
    CHECK(f->s, store_job_create(f->s, &in, &id));
    assert_int_equal(job_next(f->s, id), 5000);
    begin(f->s, id, 20, &sn);
    assert_int_equal(sn, 5000);
    assert_int_equal(sql_int(f->path, "SELECT next FROM serial_series"), 5001);
    /* bad arguments change nothing */
    store_job bad = series_job(SERIES, 10, 0, U32MAX, 5);
    assert_int_equal(store_job_create(f->s, &bad, &id), STORE_E_ARG);
    bad = series_job(SERIES, U32MAX + 1, 1, U32MAX, 5);
    assert_int_equal(store_job_create(f->s, &bad, &id), STORE_E_ARG);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM jobs"), 2);
}

/* The bug this fixes: job cancelled after serial 1000, a new job at 1000. */
static void cancelled_job_then_same_start_is_refused(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s);
    int64_t j1 = make_job(f->s, 1000, 1, U32MAX, 1);
    int64_t sn = 0;
    int64_t u1 = begin(f->s, j1, 10, &sn);
    assert_int_equal(sn, 1000);
    CHECK(f->s, store_unit_end(f->s, u1, "ok", NULL, 11));
    CHECK(f->s, store_job_set_state(f->s, j1, "cancelled", 12));

    store_job in = series_job(SERIES, 1000, 1, U32MAX, 13);
    int64_t id = 0;
    assert_int_equal(store_job_create(f->s, &in, &id), STORE_E_CONFLICT);
    CONTAINS(store_message(f->s), "by job 1 (up to 1000)");
    /* the same job, continuing, starts after it */
    in.serial_continue = true;
    CHECK(f->s, store_job_create(f->s, &in, &id));
    assert_int_equal(job_next(f->s, id), 1001);
    begin(f->s, id, 20, &sn);
    assert_int_equal(sn, 1001);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM (SELECT serial_number FROM units"
                                      " GROUP BY serial_number HAVING count(*) > 1)"),
                     0);
    assert_int_equal(sql_int(f->path, "SELECT job FROM serial_numbers WHERE number = 1000"), j1);
    assert_int_equal(sql_int(f->path, "SELECT job FROM serial_numbers WHERE number = 1001"), id);
}

static void continuing_jobs_share_the_cursor(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s);
    /* a new series created by a continuing job starts at its next_serial */
    store_job in = series_job(SERIES, -1, 1, U32MAX, 1);
    in.next_serial = 700;
    int64_t j1 = 0, j2 = 0, sn = 0;
    CHECK(f->s, store_job_create(f->s, &in, &j1));
    assert_int_equal(job_next(f->s, j1), 700);
    for (int i = 0; i < 5; i++)
        begin(f->s, j1, 10 + i, &sn);
    assert_int_equal(sn, 704);
    in = series_job(SERIES, -1, 10, U32MAX, 2);
    in.next_serial = 3; /* ignored: the series exists */
    CHECK(f->s, store_job_create(f->s, &in, &j2));
    assert_int_equal(job_next(f->s, j2), 705);
    /* both running: each draw is past everything handed out before */
    begin(f->s, j2, 20, &sn);
    assert_int_equal(sn, 705);
    begin(f->s, j1, 21, &sn);
    assert_int_equal(sn, 706); /* not 705, its own counter */
    begin(f->s, j2, 22, &sn);
    assert_int_equal(sn, 715); /* its own step from 705 */
    begin(f->s, j1, 23, &sn);
    assert_int_equal(sn, 716);
    assert_int_equal(sql_int(f->path, "SELECT next FROM serial_series"), 717);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM serial_numbers"), 9);
    assert_int_equal(sql_int(f->path, "SELECT count(DISTINCT serial_number) FROM units"), 9);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM serial_numbers n JOIN units u"
                                      " ON u.id = n.unit AND u.serial_number = n.number"
                                      " AND u.job = n.job WHERE n.state = 'issued'"),
                     9);
    /* the daemon's name rule */
    char name[128];
    store_series_name(name, 0x0800FC00u, "u32le");
    assert_string_equal(name, SERIES);
    store_job got;
    CHECK(f->s, store_job_get(f->s, j2, &got));
    assert_string_equal(got.series, SERIES);
    assert_int_equal(got.serial_max, U32MAX);
    assert_string_equal(got.state_reason, "");
    store_job_clear(&got);
}

/* ---- states of numbers ------------------------------------------------- */

static void failed_numbers_are_never_handed_out_again(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s);
    int64_t job = make_job(f->s, 100, 1, U32MAX, 1);
    int64_t u[6], sn = 0;
    for (int i = 0; i < 6; i++)
        u[i] = begin(f->s, job, 10 + i, &sn);
    CHECK(f->s, store_unit_end2(f->s, u[0], "ok", NULL, false, 20)); /* ok is ok */
    CHECK(f->s, store_unit_end2(f->s, u[1], "failed", "no board", false, 21));
    CHECK(f->s, store_unit_end2(f->s, u[2], "failed", "verify", true, 22));
    CHECK(f->s, store_unit_end2(f->s, u[3], "interrupted", "drain", true, 23));
    CHECK(f->s, store_unit_end(f->s, u[4], "failed", "old API", 24));
    /* u[5] in flight when the daemon dies */
    store_close(f->s);
    f->s = open_ok(f);
    int n = 0;
    CHECK(f->s, store_recover_in_flight(f->s, 30, &n));
    assert_int_equal(n, 1);

    static const char *const want[] = {"ok", "void", "unknown", "unknown", "unknown", "unknown"};
    for (int i = 0; i < 6; i++) {
        char sql[160], got[16];
        snprintf(sql, sizeof sql,
                 "SELECT state FROM serial_numbers WHERE number = %d AND unit = %lld", 100 + i,
                 (long long)u[i]);
        sql_text(f->path, sql, got, sizeof got);
        assert_string_equal(got, want[i]);
        store_unit su;
        CHECK(f->s, store_unit_get(f->s, u[i], &su));
        assert_string_equal(su.serial_state, want[i]);
        char st[16];
        int64_t j = 0, un = 0;
        CHECK(f->s, store_serial_lookup(f->s, SERIES, 100 + i, st, &j, &un));
        assert_string_equal(st, want[i]);
        assert_int_equal(j, job);
        assert_int_equal(un, u[i]);
    }
    assert_int_equal(store_serial_lookup(f->s, SERIES, 106, NULL, NULL, NULL), STORE_E_NOT_FOUND);
    CONTAINS(store_message(f->s), "never handed out");
    /* a second end of a unit changes neither it nor its number */
    assert_int_equal(store_unit_end2(f->s, u[1], "ok", NULL, true, 40), STORE_E_CONFLICT);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM serial_numbers WHERE state = 'void'"),
                     1);

    /* none of them again, in this job or the next */
    begin(f->s, job, 50, &sn);
    assert_int_equal(sn, 106);
    CHECK(f->s, store_job_set_state(f->s, job, "cancelled", 51));
    store_job in = series_job(SERIES, 101, 1, U32MAX, 52); /* the void one */
    int64_t j2 = 0;
    assert_int_equal(store_job_create(f->s, &in, &j2), STORE_E_CONFLICT);
    in.serial_continue = true;
    CHECK(f->s, store_job_create(f->s, &in, &j2));
    begin(f->s, j2, 53, &sn);
    assert_int_equal(sn, 107);

    store_series *l = NULL;
    size_t nl = 0;
    CHECK(f->s, store_series_list(f->s, &l, &nl));
    assert_int_equal(nl, 1);
    assert_string_equal(l[0].name, SERIES);
    assert_int_equal(l[0].next, 108);
    assert_int_equal(l[0].issued, 2);
    assert_int_equal(l[0].ok, 1);
    assert_int_equal(l[0].void_, 1);
    assert_int_equal(l[0].unknown, 4);
    store_series_list_free(l, nl);

    /* a job without a series has no serial state */
    store_job plain = series_job("", 0, 0, 0, 60);
    plain.has_serial = false;
    int64_t pj = 0, pu = 0;
    CHECK(f->s, store_job_create(f->s, &plain, &pj));
    CHECK(f->s, store_unit_begin(f->s, pj, "P1", "UIDP", "c", 61, &pu, NULL, NULL));
    store_unit su;
    CHECK(f->s, store_unit_get(f->s, pu, &su));
    assert_false(su.has_serial);
    assert_string_equal(su.serial_state, "");
}

static int count_units(void *user, const store_unit *u)
{
    int *n = user;
    if (strcmp(u->serial_state, "void") == 0)
        (*n)++;
    return 0;
}

static void units_query_reports_serial_state(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s);
    int64_t job = make_job(f->s, 1, 1, U32MAX, 1);
    int64_t sn = 0;
    for (int i = 0; i < 4; i++) {
        int64_t u = begin(f->s, job, 10 + i, &sn);
        CHECK(f->s, store_unit_end2(f->s, u, i % 2 ? "failed" : "ok", NULL, false, 20 + i));
    }
    int n = 0;
    CHECK(f->s, store_units_query(f->s, NULL, count_units, &n));
    assert_int_equal(n, 2);
}

/* ---- running out ------------------------------------------------------- */

static void exhausted_series_writes_nothing(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s);
    int64_t job = make_job(f->s, 1000, 1, 1002, 1);
    int64_t sn = 0;
    for (int i = 0; i < 3; i++)
        begin(f->s, job, 10 + i, &sn);
    assert_int_equal(sn, 1002);
    int64_t unit = -1;
    assert_int_equal(store_unit_begin(f->s, job, "P2", "UIDX", "c", 20, &unit, NULL, &sn),
                     STORE_E_EXHAUSTED);
    CONTAINS(store_message(f->s), "series \"" SERIES "\" has no number left for job 1: the next"
                                  " would be 1003 and its format holds up to 1002");
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM units"), 3);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM serial_numbers"), 3);
    assert_int_equal(sql_int(f->path, "SELECT next FROM serial_series"), 1003);
    assert_int_equal(sql_int(f->path, "SELECT next_serial FROM jobs"), 1003);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM probes"), 1);
    /* the station stops the job itself and says why */
    CHECK(f->s, store_job_set_state_by(f->s, job, "paused", "serial series exhausted", NULL, 21));
    store_job j;
    CHECK(f->s, store_job_get(f->s, job, &j));
    assert_string_equal(j.state_reason, "serial series exhausted");
    store_job_clear(&j);
    /* a new job with the same narrow format cannot continue it */
    store_job in = series_job(SERIES, -1, 1, 1002, 22);
    int64_t id = 0;
    assert_int_equal(store_job_create(f->s, &in, &id), STORE_E_EXHAUSTED);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM jobs"), 1);
    /* a wider one can */
    in.serial_max = U32MAX;
    CHECK(f->s, store_job_create(f->s, &in, &id));
    begin(f->s, id, 23, &sn);
    assert_int_equal(sn, 1003);
}

static void step_overflow_near_int64_max_is_exhaustion(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s);
    int64_t job = make_job(f->s, INT64_MAX - 10, 5, INT64_MAX, 1);
    int64_t sn = 0;
    begin(f->s, job, 10, &sn);
    assert_int_equal(sn, INT64_MAX - 10);
    begin(f->s, job, 11, &sn);
    assert_int_equal(sn, INT64_MAX - 5);
    /* INT64_MAX itself would fit, but its successor cannot be stored */
    int64_t unit = 0;
    assert_int_equal(store_unit_begin(f->s, job, "P1", "UIDX", "c", 12, &unit, NULL, &sn),
                     STORE_E_EXHAUSTED);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM units"), 2);
    assert_int_equal(sql_int(f->path, "SELECT next_serial = 9223372036854775807 FROM jobs"), 1);
    assert_int_equal(sql_int(f->path, "SELECT next = 9223372036854775803 FROM serial_series"), 1);
    assert_int_equal(sql_int(f->path, "SELECT typeof(next) = 'integer' FROM serial_series"), 1);
}

/* ---- migration from version 1 ----------------------------------------- */

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot read %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *t = malloc((size_t)n + 1);
    assert_non_null(t);
    assert_int_equal(fread(t, 1, (size_t)n, fp), (size_t)n);
    t[n] = '\0';
    fclose(fp);
    return t;
}

static void v1_database_with_a_serial_twice_migrates(void **state)
{
    fixture *f = *state;
    char *init = read_text(STORE_MIGRATIONS_DIR "/0001_init.sql");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, init, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("0001: %s", err);
    free(init);
    /* What version 1 let happen: job 1 handed out 1000 and 1001 and was
     * cancelled; job 2 (the same address, written as an integer) started
     * at 1000 again. Job 3 writes elsewhere in ascii-dec, 6 digits. */
    static const char data[] =
        "INSERT INTO images VALUES ('" SHA_A "', 'bin', 0, 1, x'00', 1);"
        "INSERT INTO probes VALUES ('P1', '', 1, 1, NULL, NULL);"
        "INSERT INTO jobs (state, image, recipe_json, count, has_serial, next_serial,"
        " serial_step, created, submitted_uid) VALUES"
        " ('cancelled', '" SHA_A "', '{\"serial\":{\"addr\":\"0x0800fc00\",\"start\":1000}}',"
        "  NULL, 1, 1002, 1, 10, 0),"
        " ('running', '" SHA_A "', '{\"serial\":{\"addr\":134282240,\"start\":1000}}',"
        "  NULL, 1, 1002, 1, 20, 0),"
        " ('running', '" SHA_A "', '{\"serial\":{\"addr\":\"0x08001000\","
        "\"format\":\"ascii-dec\",\"width\":6,\"start\":5}}', NULL, 1, 5, 1, 30, 0),"
        " ('running', '" SHA_A "', '{}', NULL, 0, NULL, NULL, 40, 0);"
        "INSERT INTO units (job, probe, uid, chip, serial_number, image, result, started) VALUES"
        " (1, 'P1', 'U1', 'c', 1000, '" SHA_A "', 'ok', 1),"
        " (1, 'P1', 'U2', 'c', 1001, '" SHA_A "', 'failed', 2),"
        " (2, 'P1', 'U3', 'c', 1000, '" SHA_A "', 'ok', 3),"
        " (2, 'P1', 'U4', 'c', 1001, '" SHA_A "', 'in_flight', 4),"
        " (4, 'P1', 'U5', 'c', NULL, '" SHA_A "', 'ok', 5);"
        "PRAGMA user_version = 1;";
    if (sqlite3_exec(db, data, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("data: %s", err);
    sqlite3_close(db);

    f->s = open_ok(f);
    assert_int_equal(store_user_version(f->s), 2);
    char name[128];
    store_series_name(name, 0x0800FC00u, "u32le");
    char got[128];
    sql_text(f->path, "SELECT series FROM jobs WHERE id = 1", got, sizeof got);
    assert_string_equal(got, name);
    sql_text(f->path, "SELECT series FROM jobs WHERE id = 2", got, sizeof got);
    assert_string_equal(got, name);
    sql_text(f->path, "SELECT series FROM jobs WHERE id = 3", got, sizeof got);
    assert_string_equal(got, "0x08001000/ascii-dec");
    assert_int_equal(sql_int(f->path, "SELECT series IS NULL FROM jobs WHERE id = 4"), 1);
    assert_int_equal(sql_int(f->path, "SELECT serial_max FROM jobs WHERE id = 1"), U32MAX);
    assert_int_equal(sql_int(f->path, "SELECT serial_max FROM jobs WHERE id = 3"), 999999);
    assert_int_equal(sql_int(f->path, "SELECT next FROM serial_series WHERE name ="
                                      " '0x0800FC00/u32le'"),
                     1002);
    assert_int_equal(sql_int(f->path, "SELECT next FROM serial_series WHERE name ="
                                      " '0x08001000/ascii-dec'"),
                     5);
    /* the first unit of each number keeps it */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM serial_numbers"), 2);
    assert_int_equal(sql_int(f->path, "SELECT unit FROM serial_numbers WHERE number = 1000"), 1);
    assert_int_equal(sql_int(f->path, "SELECT unit FROM serial_numbers WHERE number = 1001"), 2);
    sql_text(f->path, "SELECT state FROM serial_numbers WHERE number = 1001", got, sizeof got);
    assert_string_equal(got, "unknown");
    sql_text(f->path, "SELECT state FROM serial_numbers WHERE number = 1000", got, sizeof got);
    assert_string_equal(got, "ok");
    /* the later duplicates are still visible in units for an audit */
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM units WHERE serial_number = 1000"), 2);

    int n = 0;
    CHECK(f->s, store_recover_in_flight(f->s, 100, &n));
    assert_int_equal(n, 1);
    /* job 2 continues past both jobs' numbers */
    int64_t sn = 0;
    begin(f->s, 2, 200, &sn);
    assert_int_equal(sn, 1002);
    store_job in = series_job(name, 1000, 1, U32MAX, 300);
    int64_t id = 0;
    CHECK(f->s, store_job_set_state(f->s, 2, "done", 299));
    assert_int_equal(store_job_create(f->s, &in, &id), STORE_E_CONFLICT);
    CONTAINS(store_message(f->s), "by job 2 (up to 1002)");
    assert_int_equal(sql_int(f->path, "SELECT (SELECT * FROM pragma_integrity_check) = 'ok'"), 1);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

/* ---- a full database --------------------------------------------------- */

static void full_database_keeps_unit_end_whole(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s);
    int64_t job = make_job(f->s, 1, 1, U32MAX, 1);
    int64_t sn = 0, a = 0;
    int64_t unit = begin(f->s, job, 10, &sn);
    CHECK(f->s, store_attempt_begin(f->s, unit, 1, 11, &a));
    int64_t pages = sql_int(f->path, "PRAGMA page_count"), eff = 0;
    CHECK(f->s, store_set_max_pages(f->s, 1, &eff));
    assert_int_equal(eff, pages); /* never below what is there */
    /* An error text needing overflow pages the database may not grow by. */
    static char error[40000];
    memset(error, 'x', sizeof error - 1);
    assert_int_equal(store_unit_end2(f->s, unit, "failed", error, false, 20), STORE_E_IO);
    CONTAINS(store_message(f->s), "database is full");
    CONTAINS(store_message(f->s), "then retry");
    /* nothing of it landed: not the unit, its attempt, nor its number */
    CHECK(f->s, store_set_max_pages(f->s, INT64_C(1) << 30, &eff));
    assert_int_equal(eff, INT64_C(1) << 30);
    char got[16];
    sql_text(f->path, "SELECT result FROM units", got, sizeof got);
    assert_string_equal(got, "in_flight");
    sql_text(f->path, "SELECT result FROM attempts", got, sizeof got);
    assert_string_equal(got, "in_flight");
    sql_text(f->path, "SELECT state FROM serial_numbers", got, sizeof got);
    assert_string_equal(got, "issued");
    assert_int_equal(sql_int(f->path, "SELECT finished IS NULL FROM units"), 1);
    /* and the same call goes through once there is room */
    CHECK(f->s, store_unit_end2(f->s, unit, "failed", error, false, 21));
    sql_text(f->path, "SELECT result FROM units", got, sizeof got);
    assert_string_equal(got, "failed");
    sql_text(f->path, "SELECT state FROM serial_numbers", got, sizeof got);
    assert_string_equal(got, "void");
    assert_int_equal(sql_int(f->path, "SELECT length(error) FROM units"), sizeof error - 1);
    assert_int_equal(store_set_max_pages(f->s, 0, NULL), STORE_E_ARG);
}

/* Runs sql on a second connection (a trigger that refuses a write). */
static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
    sqlite3_close(db);
}

/* The last write of a call fails: everything before it in the call is
 * undone too. */
static void a_failing_last_write_undoes_the_whole_call(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s);
    CHECK(f->s, store_probe_seen(f->s, "P1", "V3", 1));
    int64_t job = make_job(f->s, 1, 1, U32MAX, 1);
    int64_t sn = 0, a = 0;
    int64_t unit = begin(f->s, job, 10, &sn);
    CHECK(f->s, store_attempt_begin(f->s, unit, 1, 11, &a));

    sql_exec(f->path, "CREATE TRIGGER no_state BEFORE UPDATE ON serial_numbers"
                      " BEGIN SELECT RAISE(ABORT, 'test refuses'); END");
    assert_int_equal(store_unit_end2(f->s, unit, "failed", "e", false, 20), STORE_E_CONFLICT);
    char got[32];
    sql_text(f->path, "SELECT result FROM units", got, sizeof got);
    assert_string_equal(got, "in_flight");
    sql_text(f->path, "SELECT result FROM attempts", got, sizeof got);
    assert_string_equal(got, "in_flight");
    sql_exec(f->path, "DROP TRIGGER no_state");
    CHECK(f->s, store_unit_end2(f->s, unit, "failed", "e", false, 21));
    sql_text(f->path, "SELECT state FROM serial_numbers", got, sizeof got);
    assert_string_equal(got, "void");

    sql_exec(f->path, "CREATE TRIGGER no_number BEFORE INSERT ON serial_numbers"
                      " BEGIN SELECT RAISE(ABORT, 'test refuses'); END");
    int64_t u2 = 0;
    assert_int_equal(store_unit_begin(f->s, job, "P9", "U2", "c", 30, &u2, NULL, &sn),
                     STORE_E_CONFLICT);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM units"), 1);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM probes"), 1);
    assert_int_equal(sql_int(f->path, "SELECT next_serial FROM jobs"), 2);
    assert_int_equal(sql_int(f->path, "SELECT next FROM serial_series"), 2);
    sql_exec(f->path, "DROP TRIGGER no_number");

    sql_exec(f->path, "CREATE TRIGGER no_action BEFORE INSERT ON actions"
                      " BEGIN SELECT RAISE(ABORT, 'test refuses'); END");
    store_job in = series_job("0x08001000/u32le", 5, 1, U32MAX, 40);
    int64_t id = 0;
    assert_int_equal(store_job_create(f->s, &in, &id), STORE_E_CONFLICT);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM jobs"), 1);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM serial_series"), 1);
    assert_int_equal(store_job_set_state_by(f->s, job, "paused", "why", "uid:0", 41),
                     STORE_E_CONFLICT);
    sql_text(f->path, "SELECT state || '/' || coalesce(state_reason, '') FROM jobs", got,
             sizeof got);
    assert_string_equal(got, "running/");
    assert_int_equal(store_probe_set_quarantine_by(f->s, "P1", "why", "uid:0", 42),
                     STORE_E_CONFLICT);
    assert_int_equal(sql_int(f->path, "SELECT quarantine_reason IS NULL FROM probes"), 1);
    sql_exec(f->path, "DROP TRIGGER no_action");
    CHECK(f->s, store_job_create(f->s, &in, &id));
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM actions"), 2);

    /* a cursor edited back by hand is caught by the primary key */
    sql_exec(f->path, "UPDATE serial_series SET next = 1 WHERE name = '" SERIES "'");
    store_job again = series_job(SERIES, -1, 1, U32MAX, 50);
    int64_t j3 = 0;
    CHECK(f->s, store_job_create(f->s, &again, &j3));
    assert_int_equal(store_unit_begin(f->s, j3, "P1", "U3", "c", 51, &u2, NULL, &sn),
                     STORE_E_CORRUPT);
    CONTAINS(store_message(f->s), "changed by hand");
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM units"), 1);
}

/* ---- actions ----------------------------------------------------------- */

typedef struct seen {
    store_action a[16];
    int n;
} seen;

static int collect(void *user, const store_action *a)
{
    seen *s = user;
    if (s->n < 16)
        s->a[s->n++] = *a;
    return 0;
}

static void actions_record_who_did_what(void **state)
{
    fixture *f = *state;
    f->s = open_ok(f);
    put_image(f->s);
    CHECK(f->s, store_probe_seen(f->s, "P1", "V3", 1));
    store_job in = series_job(SERIES, 10, 1, U32MAX, 100);
    snprintf(in.actor, sizeof in.actor, "tcp-token");
    int64_t j1 = 0, j2 = 0;
    CHECK(f->s, store_job_create(f->s, &in, &j1));
    store_job plain = series_job("", 0, 0, 0, 110);
    plain.has_serial = false;
    plain.submitted_uid = 1001;
    CHECK(f->s, store_job_create(f->s, &plain, &j2)); /* actor "" = its uid */
    CHECK(f->s, store_job_set_state_by(f->s, j1, "paused", "lunch", "uid:1000", 200));
    CHECK(f->s, store_job_set_state_by(f->s, j1, "running", NULL, "uid:1000", 300));
    CHECK(f->s, store_probe_set_quarantine_by(f->s, "P1", "bad cable", "uid:0", 400));
    CHECK(f->s, store_probe_set_quarantine_by(f->s, "P1", NULL, "uid:0", 500));
    CHECK(f->s, store_job_set_state_by(f->s, j2, "cancelled", "out of boards", "uid:1001", 600));
    /* the station's own decisions leave no action */
    CHECK(f->s, store_job_set_state_by(f->s, j1, "paused", "series exhausted", NULL, 700));
    CHECK(f->s, store_probe_set_quarantine_by(f->s, "P1", "flaky", NULL, 710));
    CHECK(f->s, store_action_add(f->s, 800, "uid:0", "station.drain", "station", "line-3",
                                 "{\"why\":\"shift end\"}"));
    /* refused changes leave none either */
    assert_int_equal(store_job_set_state_by(f->s, j2, "running", NULL, "uid:9", 900),
                     STORE_E_CONFLICT);
    assert_int_equal(store_probe_set_quarantine_by(f->s, "NOPE", "x", "uid:9", 900),
                     STORE_E_NOT_FOUND);
    assert_int_equal(store_action_add(f->s, 900, "uid:9", "x", "planet", "earth", NULL),
                     STORE_E_ARG);
    assert_int_equal(store_action_add(f->s, 900, "uid:9", "x", "job", "1", "{oops"), STORE_E_ARG);
    assert_int_equal(store_action_add(f->s, 900, "", "x", "job", "1", NULL), STORE_E_ARG);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM actions"), 8);
    assert_int_equal(sql_int(f->path, "SELECT count(*) FROM actions WHERE actor = 'uid:9'"), 0);
    char got[256];
    sql_text(f->path, "SELECT state_reason FROM jobs WHERE id = 1", got, sizeof got);
    assert_string_equal(got, "series exhausted");
    sql_text(f->path, "SELECT quarantine_reason FROM probes", got, sizeof got);
    assert_string_equal(got, "flaky");

    seen all = {0};
    CHECK(f->s, store_actions_query(f->s, NULL, collect, &all));
    assert_int_equal(all.n, 8);
    static const char *const verbs[] = {"job.create", "job.create",       "job.pause",
                                        "job.resume", "probe.quarantine", "probe.release",
                                        "job.cancel", "station.drain"};
    for (int i = 0; i < 8; i++)
        assert_string_equal(all.a[i].verb, verbs[i]);
    assert_string_equal(all.a[0].actor, "tcp-token");
    assert_string_equal(all.a[0].target_kind, "job");
    assert_string_equal(all.a[0].target, "1");
    assert_int_equal(all.a[0].at_ms, 100);
    CONTAINS(all.a[0].detail_json, "\"series\":\"" SERIES "\"");
    CONTAINS(all.a[0].detail_json, "\"start\":10");
    assert_string_equal(all.a[1].actor, "uid:1001");
    assert_string_equal(all.a[2].detail_json, "{\"reason\":\"lunch\"}");
    assert_string_equal(all.a[3].detail_json, "");
    assert_string_equal(all.a[4].target, "P1");
    assert_string_equal(all.a[4].detail_json, "{\"reason\":\"bad cable\"}");
    assert_string_equal(all.a[7].detail_json, "{\"why\":\"shift end\"}");

    seen s1 = {0};
    store_action_filter fj = {.target_kind = "job", .target = "1"};
    CHECK(f->s, store_actions_query(f->s, &fj, collect, &s1));
    assert_int_equal(s1.n, 3);
    assert_string_equal(s1.a[2].verb, "job.resume");
    seen s2 = {0};
    store_action_filter fp = {.target_kind = "probe"};
    CHECK(f->s, store_actions_query(f->s, &fp, collect, &s2));
    assert_int_equal(s2.n, 2);
    seen s3 = {0};
    store_action_filter ft = {.since_ms = 200, .until_ms = 500, .limit = 2};
    CHECK(f->s, store_actions_query(f->s, &ft, collect, &s3));
    assert_int_equal(s3.n, 2);
    assert_int_equal(s3.a[0].at_ms, 200);
    assert_int_equal(s3.a[1].at_ms, 300);
    seen s4 = {0};
    store_action_filter fu = {.since_ms = 200, .until_ms = 500};
    CHECK(f->s, store_actions_query(f->s, &fu, collect, &s4));
    assert_int_equal(s4.n, 3); /* 500 is outside [200, 500) */
    store_action_filter bad = {.target_kind = "planet"};
    assert_int_equal(store_actions_query(f->s, &bad, collect, &s4), STORE_E_ARG);
}

/* ---- one daemon per database ----------------------------------------- */

static void lock_is_exclusive_within_a_process(void **state)
{
    fixture *f = *state;
    store_lock *a = NULL, *b = (store_lock *)f;
    char msg[512];
    LOCK_OK(store_lock_take(f->path, &a, msg, sizeof msg), msg);
    assert_non_null(a);
    assert_int_equal(store_lock_take(f->path, &b, msg, sizeof msg), STORE_E_LOCKED);
    assert_null(b);
    char want[64];
    snprintf(want, sizeof want, "another flashlined (pid %ld) is using ", (long)getpid());
    CONTAINS(msg, want);
    CONTAINS(msg, f->path);
    CONTAINS(msg, "another --db");
    store_lock_release(a);
    LOCK_OK(store_lock_take(f->path, &b, msg, sizeof msg), msg);
    store_lock_release(b);
    store_lock_release(NULL);
}

static void lock_of_a_killed_process_is_free(void **state)
{
    fixture *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        store_lock *l = NULL;
        char m[256];
        char ok = store_lock_take(f->path, &l, m, sizeof m) == STORE_OK ? 'y' : 'n';
        if (write(fds[1], &ok, 1) != 1)
            _exit(2);
        for (;;)
            pause();
    }
    close(fds[1]);
    char ok = 0;
    assert_int_equal(read(fds[0], &ok, 1), 1);
    close(fds[0]);
    assert_int_equal(ok, 'y');
    store_lock *l = NULL;
    char msg[512];
    assert_int_equal(store_lock_take(f->path, &l, msg, sizeof msg), STORE_E_LOCKED);
    char want[64];
    snprintf(want, sizeof want, "(pid %ld)", (long)pid);
    CONTAINS(msg, want);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    LOCK_OK(store_lock_take(f->path, &l, msg, sizeof msg), msg);
    assert_non_null(l);
    store_lock_release(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(overlapping_start_is_refused_naming_the_job, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(cancelled_job_then_same_start_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(continuing_jobs_share_the_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(failed_numbers_are_never_handed_out_again, setup, teardown),
        cmocka_unit_test_setup_teardown(units_query_reports_serial_state, setup, teardown),
        cmocka_unit_test_setup_teardown(exhausted_series_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(step_overflow_near_int64_max_is_exhaustion, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(v1_database_with_a_serial_twice_migrates, setup, teardown),
        cmocka_unit_test_setup_teardown(full_database_keeps_unit_end_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failing_last_write_undoes_the_whole_call, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(actions_record_who_did_what, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_is_exclusive_within_a_process, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_of_a_killed_process_is_free, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
