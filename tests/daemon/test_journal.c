/*
 * daemon/journal: commit or stop, against a real audit store whose database
 * is full (PRAGMA max_page_count: a deterministic SQLITE_FULL). Checked in
 * the database: nothing is told before it is committed, nothing is lost,
 * order is kept, and the journal unblocks once the store takes writes.
 */
#include "journal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

typedef struct rig {
    char dir[64], path[96];
    store *db;
    uv_loop_t loop;
    journal *j;
    int landed[8]; /* by kind */
    int order[16]; /* kinds in the order they landed */
    int norder;
    int blocked_calls;
    bool blocked;
    int64_t unit, job;
} rig;

static void on_landed(void *user, const journal_entry *e)
{
    rig *r = user;
    r->landed[e->kind]++;
    if (r->norder < 16)
        r->order[r->norder++] = (int)e->kind;
    /* landed means committed: the store has the unit's end already */
    if (e->kind == J_UNIT_END) {
        store_unit u;
        assert_int_equal(store_unit_get(r->db, e->unit, &u), STORE_OK);
        assert_string_equal(u.result, e->result);
    }
}

static void on_blocked(void *user, bool blocked)
{
    rig *r = user;
    r->blocked_calls++;
    r->blocked = blocked;
}

static int setup(void **state)
{
    rig *r = calloc(1, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "/tmp/fl-journal-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->path, sizeof r->path, "%s/db", r->dir);
    char msg[256];
    assert_int_equal(store_open(r->path, &r->db, msg, sizeof msg), STORE_OK);
    uint8_t bytes[16] = {1};
    const char *sha = "0000000000000000000000000000000000000000000000000000000000000001";
    assert_int_equal(store_image_put(r->db, sha, "bin", 0x08000000u, bytes, sizeof bytes, 1),
                     STORE_OK);
    store_job sj = {.recipe_json = "{}",
                    .count = 10,
                    .has_serial = true,
                    .next_serial = 1000,
                    .serial_step = 1,
                    .serial_max = 4294967295,
                    .created_ms = 1,
                    .submitted_uid = 0};
    snprintf(sj.image, sizeof sj.image, "%s", sha);
    snprintf(sj.series, sizeof sj.series, "0x0800FC00/u32le");
    assert_int_equal(store_job_create(r->db, &sj, &r->job), STORE_OK);
    assert_int_equal(store_probe_seen(r->db, "P1", "V2", 1), STORE_OK);
    bool has = false;
    int64_t serial = 0;
    assert_int_equal(
        store_unit_begin(r->db, r->job, "P1", "UID1", "STM32F103xB", 2, &r->unit, &has, &serial),
        STORE_OK);
    assert_true(has);
    assert_int_equal(serial, 1000);
    uv_loop_init(&r->loop);
    journal_hooks h = {.landed = on_landed, .blocked = on_blocked, .user = r};
    journal_config c = {.retry_min_ms = 5, .retry_max_ms = 20};
    assert_int_equal(journal_new(&r->loop, r->db, &c, &h, &r->j), 0);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    rig *r = *state;
    journal_free(r->j);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_loop_close(&r->loop);
    store_close(r->db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", r->dir);
    assert_int_equal(system(cmd), 0);
    free(r);
    return 0;
}

static journal_entry *unit_end(rig *r, const char *result, bool in_flash, size_t error_len)
{
    journal_entry *e = journal_entry_new(J_UNIT_END, 100);
    e->unit = r->unit;
    e->job = r->job;
    snprintf(e->probe, sizeof e->probe, "P1");
    snprintf(e->result, sizeof e->result, "%s", result);
    e->serial_in_flash = in_flash;
    if (error_len) {
        e->body = malloc(error_len + 1);
        memset(e->body, 'e', error_len);
        e->body[error_len] = '\0';
    }
    return e;
}

static journal_entry *event(const char *kind)
{
    journal_entry *e = journal_entry_new(J_EVENT, 101);
    snprintf(e->text, sizeof e->text, "%s", kind);
    e->body = strdup("{\"x\":1}");
    return e;
}

/* The database fills up as a unit ends: the end is kept, the station is
 * blocked, events after it wait behind it; once there is room, all of it
 * lands in order and the block lifts. */
static void test_full_database_blocks_then_catches_up(void **state)
{
    rig *r = *state;
    int64_t limit = 0;
    /* no room for a single new page */
    assert_int_equal(store_set_max_pages(r->db, 1, &limit), STORE_OK);
    /* A long error text needs pages the database does not have. */
    journal_write(r->j, unit_end(r, "failed", true, 40000));
    journal_write(r->j, event("unit"));
    assert_true(journal_blocked(r->j));
    assert_true(r->blocked);
    assert_int_equal(journal_pending(r->j), 2);
    assert_int_equal(r->landed[J_UNIT_END], 0);
    assert_int_equal(r->landed[J_EVENT], 0);
    assert_true(strlen(journal_reason(r->j)) > 0);
    /* still refused: the unit is in flight in the store, its number issued */
    uv_run(&r->loop, UV_RUN_NOWAIT);
    store_unit u;
    assert_int_equal(store_unit_get(r->db, r->unit, &u), STORE_OK);
    assert_string_equal(u.result, "in_flight");
    assert_string_equal(u.serial_state, "issued");
    assert_true(journal_blocked(r->j));

    /* space is freed */
    assert_int_equal(store_set_max_pages(r->db, 1000000, &limit), STORE_OK);
    while (journal_blocked(r->j))
        uv_run(&r->loop, UV_RUN_ONCE);
    assert_false(r->blocked);
    assert_int_equal(r->blocked_calls, 2);
    assert_int_equal(journal_pending(r->j), 0);
    assert_int_equal(r->norder, 2);
    assert_int_equal(r->order[0], J_UNIT_END);
    assert_int_equal(r->order[1], J_EVENT);
    assert_int_equal(store_unit_get(r->db, r->unit, &u), STORE_OK);
    assert_string_equal(u.result, "failed");
    assert_string_equal(u.serial_state, "unknown");
}

/* Writes that land at once are told at once, and an attempt's id reaches
 * the writes that refer to it even while its begin was held back. */
static void test_attempt_ids_follow_a_held_begin(void **state)
{
    rig *r = *state;
    int64_t limit = 0;
    assert_int_equal(store_set_max_pages(r->db, 1, &limit), STORE_OK);
    journal_entry *big = event("probe"); /* blocks: it needs pages */
    free(big->body);
    big->body = malloc(40010);
    memset(big->body, ' ', 40009);
    memcpy(big->body, "{\"x\":1}", 7);
    big->body[40009] = '\0';
    journal_write(r->j, big);
    assert_true(journal_blocked(r->j));
    journal_ref *a = journal_ref_new();
    journal_entry *b = journal_entry_new(J_ATTEMPT_BEGIN, 102);
    b->unit = r->unit;
    b->n = 1;
    b->attempt = a;
    a->refs++;
    journal_write(r->j, b);
    journal_entry *rec = journal_entry_new(J_RECOVERY, 103);
    rec->unit = r->unit;
    rec->attempt = a;
    a->refs++;
    rec->ok = true;
    snprintf(rec->text, sizeof rec->text, "retry");
    journal_write(r->j, rec);
    assert_int_equal(a->id, 0);
    assert_int_equal(journal_pending(r->j), 3);
    assert_int_equal(store_set_max_pages(r->db, 1000000, &limit), STORE_OK);
    while (journal_pending(r->j))
        uv_run(&r->loop, UV_RUN_ONCE);
    assert_true(a->id > 0);
    assert_int_equal(r->landed[J_RECOVERY], 1);
    store_unit u;
    assert_int_equal(store_unit_get(r->db, r->unit, &u), STORE_OK);
    assert_int_equal(u.attempts, 1);
    assert_int_equal(u.recovery_steps, 1);
    journal_ref_put(a);
}

/* A unit that failed before anything was programmed: its number is void,
 * and is never handed out again. */
static void test_void_number(void **state)
{
    rig *r = *state;
    journal_write(r->j, unit_end(r, "failed", false, 0));
    assert_false(journal_blocked(r->j));
    assert_int_equal(r->landed[J_UNIT_END], 1);
    store_unit u;
    assert_int_equal(store_unit_get(r->db, r->unit, &u), STORE_OK);
    assert_string_equal(u.serial_state, "void");
    int64_t unit2 = 0, serial = 0;
    bool has = false;
    assert_int_equal(
        store_unit_begin(r->db, r->job, "P1", "UID1", "STM32F103xB", 5, &unit2, &has, &serial),
        STORE_OK);
    assert_int_equal(serial, 1001);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_database_blocks_then_catches_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attempt_ids_follow_a_held_begin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_void_number, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
