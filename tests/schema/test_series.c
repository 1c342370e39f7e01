/*
 * Station-wide serial series in the store: a number is never handed out
 * twice, whatever jobs come and go; the migration of version-1 databases;
 * writes that fail whole (a full database, a refused last write). Effects
 * are checked in the database's rows through a second sqlite3 connection.
 */
#include "fixture.h"

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
    assert_int_equal(store_user_version(f->s), store_schema_version());
    assert_true(store_schema_version() >= 2);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
