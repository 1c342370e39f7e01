/*
 * daemon/metrics alone: what the station feeds in comes out in the
 * Prometheus text format 0.0.4: counters seeded and counted, label values
 * escaped, histogram buckets cumulative up to +Inf with _sum and _count,
 * the live gauges as handed in.
 */
#include "metrics.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* The text has this whole line. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

static void assert_line(const char *text, const char *line)
{
    if (!has_line(text, line))
        fail_msg("no line\n  %s\nin\n%s", line, text);
}

static void assert_no_line(const char *text, const char *line)
{
    if (has_line(text, line))
        fail_msg("unexpected line\n  %s", line);
}

/* Every line is a comment (# HELP/# TYPE) or a sample "name[{...}] value";
 * every sample's family has its HELP and TYPE before it. */
static void assert_well_formed(const char *text)
{
    assert_non_null(text);
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n');
    char *copy = strdup(text);
    char typed[4096] = "";
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char name[128];
            assert_int_equal(sscanf(line + 7, "%127s", name), 1);
            snprintf(typed + strlen(typed), sizeof typed - strlen(typed), " %s ", name);
            continue;
        }
        if (strncmp(line, "# HELP ", 7) == 0)
            continue;
        assert_true(line[0] != '#');
        size_t nl = strcspn(line, "{ ");
        char name[128];
        assert_true(nl > 0 && nl < sizeof name);
        memcpy(name, line, nl);
        name[nl] = '\0';
        /* histogram samples belong to their base name */
        static const char *const sufx[] = {"_bucket", "_sum", "_count"};
        for (size_t i = 0; i < 3; i++) {
            size_t sl = strlen(sufx[i]);
            char base[140];
            if (nl > sl && strcmp(name + nl - sl, sufx[i]) == 0) {
                snprintf(base, sizeof base, " %.*s ", (int)(nl - sl), name);
                if (strstr(typed, base))
                    name[nl - sl] = '\0';
            }
        }
        char key[140];
        snprintf(key, sizeof key, " %s ", name);
        if (!strstr(typed, key))
            fail_msg("sample before its # TYPE: %s", line);
        const char *value = strrchr(line, ' ');
        assert_non_null(value);
        char *end = NULL;
        strtod(value + 1, &end);
        if (strcmp(value + 1, "+Inf") != 0 && (!end || *end))
            fail_msg("not a number: %s", line);
    }
    free(copy);
}

static void empty_render(void **state)
{
    (void)state;
    metrics *m = metrics_new();
    char *t = metrics_render(m, NULL);
    assert_well_formed(t);
    assert_line(t, "# TYPE flashline_units_total counter");
    assert_line(t, "# TYPE flashline_unit_duration_seconds histogram");
    assert_line(t, "# TYPE flashline_attempt_duration_seconds histogram");
    assert_line(t, "# TYPE flashline_recovery_steps_total counter");
    assert_line(t, "# TYPE flashline_probe_state gauge");
    assert_line(t, "# TYPE flashline_sqlite_write_seconds histogram");
    assert_line(t, "flashline_probes 0");
    assert_line(t, "flashline_queue_depth 0");
    assert_line(t, "flashline_jobs{state=\"running\"} 0");
    assert_line(t, "flashline_jobs{state=\"done\"} 0");
    /* A histogram without labels is there from the start, at zero. */
    assert_line(t, "flashline_sqlite_write_seconds_bucket{le=\"0.0005\"} 0");
    assert_line(t, "flashline_sqlite_write_seconds_bucket{le=\"+Inf\"} 0");
    assert_line(t, "flashline_sqlite_write_seconds_sum 0");
    assert_line(t, "flashline_sqlite_write_seconds_count 0");
    assert_non_null(strstr(t, "flashline_build_info{version=\""));
    free(t);
    metrics_free(m);
}

static void families(void **state)
{
    (void)state;
    assert_string_equal(metrics_family_of("STM32F10x medium density"), "f1");
    assert_string_equal(metrics_family_of("STM32F446"), "f4");
    assert_string_equal(metrics_family_of("STM32L05x/L06x (category 3)"), "l0");
    assert_string_equal(metrics_family_of("STM32L47x/L48x"), "l4");
    assert_string_equal(metrics_family_of(""), "unknown");
    assert_string_equal(metrics_family_of(NULL), "unknown");
    assert_string_equal(metrics_family_of("STM32H743"), "unknown");
}

static void units_seeded_then_counted(void **state)
{
    (void)state;
    metrics *m = metrics_new();
    const char *f1 = "STM32F10x medium density";
    assert_int_equal(metrics_seed_units(m, "P1", f1, "ok", 40), 0);
    assert_int_equal(metrics_seed_units(m, "P1", f1, "failed", 2), 0);
    /* In flight at start: counted when it ends, not now. */
    assert_int_equal(metrics_seed_units(m, "P1", f1, "in_flight", 1), 0);
    metrics_unit_begin(m, "P1", 10000);
    metrics_unit_end(m, "P1", f1, "ok", 12500);
    metrics_unit_begin(m, "P2", 10000);
    metrics_unit_end(m, "P2", "STM32F446", "interrupted", 10400);
    char *t = metrics_render(m, NULL);
    assert_well_formed(t);
    assert_line(t, "flashline_units_total{result=\"ok\",probe=\"P1\",family=\"f1\"} 41");
    assert_line(t, "flashline_units_total{result=\"failed\",probe=\"P1\",family=\"f1\"} 2");
    assert_line(t, "flashline_units_total{result=\"interrupted\",probe=\"P2\",family=\"f4\"} 1");
    assert_null(strstr(t, "result=\"in_flight\""));
    /* Durations only of the units that ended since start: 2.5 s and 0.4 s. */
    assert_line(t,
                "flashline_unit_duration_seconds_bucket{family=\"f1\",result=\"ok\",le=\"2\"} 0");
    assert_line(t,
                "flashline_unit_duration_seconds_bucket{family=\"f1\",result=\"ok\",le=\"5\"} 1");
    assert_line(
        t, "flashline_unit_duration_seconds_bucket{family=\"f1\",result=\"ok\",le=\"+Inf\"} 1");
    assert_line(t, "flashline_unit_duration_seconds_sum{family=\"f1\",result=\"ok\"} 2.5");
    assert_line(t, "flashline_unit_duration_seconds_count{family=\"f1\",result=\"ok\"} 1");
    assert_line(t, "flashline_unit_duration_seconds_sum{family=\"f4\",result=\"interrupted\"} 0.4");
    free(t);
    metrics_free(m);
}

static void histogram_cumulative(void **state)
{
    (void)state;
    metrics *m = metrics_new();
    metrics_sqlite_write(m, 0.0005); /* on a bound: le is inclusive */
    metrics_sqlite_write(m, 0.003);
    metrics_sqlite_write(m, 0.003);
    metrics_sqlite_write(m, 3); /* above the last bound (2.5): +Inf only */
    char *t = metrics_render(m, NULL);
    assert_well_formed(t);
    assert_line(t, "flashline_sqlite_write_seconds_bucket{le=\"0.0005\"} 1");
    assert_line(t, "flashline_sqlite_write_seconds_bucket{le=\"0.001\"} 1");
    assert_line(t, "flashline_sqlite_write_seconds_bucket{le=\"0.0025\"} 1");
    assert_line(t, "flashline_sqlite_write_seconds_bucket{le=\"0.005\"} 3");
    assert_line(t, "flashline_sqlite_write_seconds_bucket{le=\"1\"} 3");
    assert_line(t, "flashline_sqlite_write_seconds_bucket{le=\"2.5\"} 3");
    assert_line(t, "flashline_sqlite_write_seconds_bucket{le=\"+Inf\"} 4");
    assert_line(t, "flashline_sqlite_write_seconds_sum 3.0065");
    assert_line(t, "flashline_sqlite_write_seconds_count 4");
    /* Every bucket line, in order, never less than the one before. */
    int64_t prev = 0;
    size_t nb = 0;
    for (const char *p = t; (p = strstr(p, "\nflashline_sqlite_write_seconds_bucket{")); p++) {
        int64_t v = strtoll(strchr(p, '}') + 1, NULL, 10);
        assert_true(v >= prev);
        prev = v;
        nb++;
    }
    assert_int_equal(nb, 13); /* 12 bounds and +Inf */
    free(t);
    metrics_free(m);

    /* A timed write: the result passes through, one observation is made. */
    m = metrics_new();
    metrics_write_begin(m);
    assert_int_equal(metrics_write_end(m, 7), 7);
    t = metrics_render(m, NULL);
    assert_line(t, "flashline_sqlite_write_seconds_count 1");
    assert_line(t, "flashline_sqlite_write_seconds_bucket{le=\"+Inf\"} 1");
    free(t);
    metrics_free(m);
}

static void attempts_and_recovery(void **state)
{
    (void)state;
    metrics *m = metrics_new();
    assert_int_equal(metrics_seed_recovery(m, "lower the SWD clock", "P1", 3), 0);
    metrics_recovery(m, "lower the SWD clock", "P1");
    metrics_recovery(m, "USB reset of the probe, found again by serial", "P2");
    metrics_attempt_begin(m, "P1", 1000);
    metrics_attempt(m, "P1", "failed", 1300);
    metrics_attempt(m, "P1", "ok", 1400); /* no begin: not observed */
    char *t = metrics_render(m, NULL);
    assert_well_formed(t);
    assert_line(t, "flashline_recovery_steps_total{step=\"lower the SWD clock\",probe=\"P1\"} 4");
    assert_line(t, "flashline_recovery_steps_total{step=\"USB reset of the probe, found again by "
                   "serial\",probe=\"P2\"} 1");
    assert_line(t, "flashline_attempt_duration_seconds_bucket{result=\"failed\",le=\"0.25\"} 0");
    assert_line(t, "flashline_attempt_duration_seconds_bucket{result=\"failed\",le=\"0.5\"} 1");
    assert_line(t, "flashline_attempt_duration_seconds_sum{result=\"failed\"} 0.3");
    assert_line(t, "flashline_attempt_duration_seconds_count{result=\"failed\"} 1");
    assert_null(strstr(t, "result=\"ok\""));
    free(t);
    metrics_free(m);
}

static void escaping(void **state)
{
    (void)state;
    metrics *m = metrics_new();
    metrics_recovery(m, "say \"hi\"\\now\nthen", "P\\1");
    metrics_probe probes[] = {{"A\"B", "programming"}};
    metrics_live live = {.probes = probes, .nprobes = 1};
    char *t = metrics_render(m, &live);
    assert_well_formed(t);
    assert_line(t, "flashline_recovery_steps_total{step=\"say \\\"hi\\\"\\\\now\\nthen\",probe="
                   "\"P\\\\1\"} 1");
    assert_line(t, "flashline_probe_state{probe=\"A\\\"B\",state=\"programming\"} 1");
    free(t);
    metrics_free(m);
}

static void live_gauges(void **state)
{
    (void)state;
    metrics *m = metrics_new();
    metrics_seed_job(m, "done");
    metrics_seed_job(m, "done");
    metrics_seed_job(m, "cancelled");
    metrics_seed_job(m, "exploded");
    metrics_probe probes[] = {{"P1", "waiting"}, {"P2", NULL}, {"P3", "sideways"}};
    const char *const jobs[] = {"running", "paused", "done"};
    metrics_live live = {probes, 3, jobs, 3, 17, true, 5};
    char *t = metrics_render(m, &live);
    assert_well_formed(t);
    assert_line(t, "flashline_audit_blocked 1");
    assert_line(t, "flashline_audit_pending 5");
    assert_line(t, "flashline_probes 3");
    assert_line(t, "flashline_queue_depth 17");
    assert_line(t, "flashline_probe_state{probe=\"P1\",state=\"waiting\"} 1");
    assert_line(t, "flashline_probe_state{probe=\"P1\",state=\"idle\"} 0");
    assert_line(t, "flashline_probe_state{probe=\"P2\",state=\"idle\"} 1");
    assert_line(t, "flashline_probe_state{probe=\"P3\",state=\"sideways\"} 1");
    assert_line(t, "flashline_probe_state{probe=\"P3\",state=\"gone\"} 0");
    assert_line(t, "flashline_jobs{state=\"running\"} 1");
    assert_line(t, "flashline_jobs{state=\"paused\"} 1");
    assert_line(t, "flashline_jobs{state=\"cancelled\"} 1");
    assert_line(t, "flashline_jobs{state=\"done\"} 3");
    assert_line(t, "flashline_jobs{state=\"other\"} 1");
    assert_no_line(t, "flashline_probes 0");
    free(t);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_render),
        cmocka_unit_test(families),
        cmocka_unit_test(units_seeded_then_counted),
        cmocka_unit_test(histogram_cumulative),
        cmocka_unit_test(attempts_and_recovery),
        cmocka_unit_test(escaping),
        cmocka_unit_test(live_gauges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
