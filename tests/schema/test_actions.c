/*
 * Who did what (actions, written with the change they record) and one
 * daemon per database (store_lock). Effects are checked in the database's
 * rows through a second sqlite3 connection.
 */
#include "fixture.h"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

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
        cmocka_unit_test_setup_teardown(actions_record_who_did_what, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_is_exclusive_within_a_process, setup, teardown),
        cmocka_unit_test_setup_teardown(lock_of_a_killed_process_is_free, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
