/* Shared by the tests of tests/schema that work on series, actions and
 * the lock: a fresh database per test, and a second plain sqlite3
 * connection to check rows as an auditor would. static inline: each test
 * file uses a part of it. */
#ifndef FLASHLINE_TESTS_SCHEMA_FIXTURE_H
#define FLASHLINE_TESTS_SCHEMA_FIXTURE_H

#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <unistd.h>

#define SHA_A  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SERIES "0x0800FC00/u32le"
#define U32MAX INT64_C(4294967295)

typedef struct fixture {
    char dir[512];
    char path[600];
    store *s;
} fixture;

static inline int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "%s/seriesXXXXXX", STORE_TMPDIR);
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/flashline.db", f->dir);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
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

static inline store *open_ok(fixture *f)
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
static inline int64_t sql_int(const char *path, const char *sql)
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
static inline void sql_text(const char *path, const char *sql, char *out, size_t n)
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

static inline void put_image(store *s)
{
    static const uint8_t fw[] = {0x00, 0x20, 0x00, 0x20, 0x09, 0x01, 0x00, 0x08, 0xfe, 0xe7};
    CHECK(s, store_image_put(s, SHA_A, "bin", 0x08000000u, fw, sizeof fw, 1000));
}

/* A job of the series: start >= 0 is an explicit start, -1 continues. */
static inline store_job series_job(const char *series, int64_t start, int64_t step, int64_t max,
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

static inline int64_t make_job(store *s, int64_t start, int64_t step, int64_t max, int64_t created)
{
    store_job j = series_job(SERIES, start, step, max, created);
    int64_t id = 0;
    CHECK(s, store_job_create(s, &j, &id));
    return id;
}

static inline int64_t begin(store *s, int64_t job, int64_t now, int64_t *serial)
{
    int64_t unit = 0;
    bool has = false;
    char uid[32];
    snprintf(uid, sizeof uid, "UID%lld", (long long)now);
    CHECK(s, store_unit_begin(s, job, "P1", uid, "stm32f103rb", now, &unit, &has, serial));
    assert_true(has);
    return unit;
}

static inline int64_t job_next(store *s, int64_t job)
{
    store_job j;
    CHECK(s, store_job_get(s, job, &j));
    int64_t n = j.next_serial;
    store_job_clear(&j);
    return n;
}

/* Runs sql on a second connection (a trigger that refuses a write). */
static inline void sql_exec(const char *path, const char *sql)
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

#endif
