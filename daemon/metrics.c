/* The counters and histograms of GET /metrics and their text exposition
 * (Prometheus text format 0.0.4). Series are kept in small arrays searched
 * linearly: a station has a few dozen probes, four families and three
 * results, so there are at most a few hundred series. */
#define _DEFAULT_SOURCE /* strdup under strict C17 */
#include "metrics.h"

#include "chips.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef FLASHLINE_VERSION
#define FLASHLINE_VERSION "unknown"
#endif

#define MAX_LABELS 3

/* One metric family: its name and type, label names and, for histograms,
 * the bucket upper bounds (+Inf is implied). */
typedef struct family_def {
    const char *name, *type, *help;
    const char *labels[MAX_LABELS];
    size_t nlabels;
    const double *bounds;
    size_t nbounds;
} family_def;

/* One labelled series: a counter's value is count; a histogram also has
 * sum and per-bucket counts (not cumulative; summed when rendered). */
typedef struct series {
    char *lv[MAX_LABELS];
    int64_t count;
    double sum;
    int64_t *bucket;
} series;

typedef struct family {
    const family_def *def;
    series *v;
    size_t n, cap;
} family;

/* When the unit and the attempt in progress on a probe began, for their
 * durations (0: none open). */
typedef struct probe_clock {
    char *serial;
    int64_t unit_ms, attempt_ms;
} probe_clock;

/* Unit durations: a few seconds on the line, minutes with a slow probe or a
 * long recovery ladder. */
static const double unit_bounds[] = {1, 2, 5, 10, 20, 30, 60, 120, 300, 600};
/* An attempt runs between two recovery steps: from a fraction of a second
 * to a whole unit. */
static const double attempt_bounds[] = {0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120};
/* A committed write with synchronous=FULL is one or two fsyncs. */
static const double write_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                      0.05,   0.1,   0.25,   0.5,   1,    2.5};

#define NBOUNDS(a) (sizeof(a) / sizeof((a)[0]))

static const family_def def_units = {
    "flashline_units_total",
    "counter",
    "Units that ended, by result, probe and chip family (the audit log's counts: seeded from "
    "it at start; units still in flight are not counted).",
    {"result", "probe", "family"},
    3,
    NULL,
    0};
static const family_def def_unit_dur = {"flashline_unit_duration_seconds",
                                        "histogram",
                                        "Time from a unit's start to its end, by chip family and "
                                        "result (units that ended since the daemon started).",
                                        {"family", "result"},
                                        2,
                                        unit_bounds,
                                        NBOUNDS(unit_bounds)};
static const family_def def_attempt_dur = {"flashline_attempt_duration_seconds",
                                           "histogram",
                                           "Time of one attempt (the run of states between two "
                                           "recovery steps), by result, since the daemon started.",
                                           {"result"},
                                           1,
                                           attempt_bounds,
                                           NBOUNDS(attempt_bounds)};
static const family_def def_recovery = {
    "flashline_recovery_steps_total",
    "counter",
    "Recovery steps taken, by step and probe: those recorded against a unit and those taken "
    "while the probe waited for a board (seeded from the audit log at start).",
    {"step", "probe"},
    2,
    NULL,
    0};
static const family_def def_write = {"flashline_sqlite_write_seconds",
                                     "histogram",
                                     "Latency of the station's committed writes to the audit "
                                     "store, since the daemon started.",
                                     {NULL},
                                     0,
                                     write_bounds,
                                     NBOUNDS(write_bounds)};

static const char *const job_states[] = {"running", "paused", "cancelled", "done"};
#define NJOB_STATES (sizeof job_states / sizeof job_states[0])

static const char *const probe_states[] = {"idle",        "waiting",   "connecting",
                                           "programming", "verifying", "recovering",
                                           "quarantined", "gone",      "audit-blocked"};
#define NPROBE_STATES (sizeof probe_states / sizeof probe_states[0])

struct metrics {
    family units, unit_dur, attempt_dur, recovery, write;
    probe_clock *clocks;
    size_t nclocks, capclocks;
    int64_t seeded_jobs[NJOB_STATES];
    int64_t seeded_jobs_other; /* a state this binary does not know */
    double write_t0;           /* metrics_write_begin's clock */
};

/* ---- series ---------------------------------------------------------------------- */

static void family_clear(family *f)
{
    for (size_t i = 0; i < f->n; i++) {
        for (size_t k = 0; k < MAX_LABELS; k++)
            free(f->v[i].lv[k]);
        free(f->v[i].bucket);
    }
    free(f->v);
}

/* The series with these label values, created at zero if new; NULL when out
 * of memory (the observation is then lost, not the daemon). */
static series *series_get(family *f, const char *const *lv)
{
    const family_def *d = f->def;
    for (size_t i = 0; i < f->n; i++) {
        bool same = true;
        for (size_t k = 0; k < d->nlabels && same; k++)
            same = strcmp(f->v[i].lv[k], lv[k] ? lv[k] : "") == 0;
        if (same)
            return &f->v[i];
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        series *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return NULL;
        f->v = v;
        f->cap = cap;
    }
    series s = {0};
    bool ok = true;
    for (size_t k = 0; k < d->nlabels; k++)
        ok &= (s.lv[k] = strdup(lv[k] ? lv[k] : "")) != NULL;
    if (d->nbounds)
        ok &= (s.bucket = calloc(d->nbounds, sizeof *s.bucket)) != NULL;
    if (!ok) {
        for (size_t k = 0; k < MAX_LABELS; k++)
            free(s.lv[k]);
        free(s.bucket);
        return NULL;
    }
    f->v[f->n] = s;
    return &f->v[f->n++];
}

static void counter_add(family *f, const char *const *lv, int64_t n)
{
    series *s = series_get(f, lv);
    if (s)
        s->count += n;
}

static void observe(family *f, const char *const *lv, double x)
{
    series *s = series_get(f, lv);
    if (!s)
        return;
    s->count++;
    s->sum += x;
    /* The first bucket that holds x; above the last bound only +Inf does,
     * which is count itself. */
    for (size_t b = 0; b < f->def->nbounds; b++) {
        if (x <= f->def->bounds[b]) {
            s->bucket[b]++;
            break;
        }
    }
}

/* ---- life ---------------------------------------------------------------------------- */

metrics *metrics_new(void)
{
    metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->units.def = &def_units;
    m->unit_dur.def = &def_unit_dur;
    m->attempt_dur.def = &def_attempt_dur;
    m->recovery.def = &def_recovery;
    m->write.def = &def_write;
    /* Without labels the histogram is one series, there (at zero) from the
     * start. */
    if (!series_get(&m->write, NULL)) {
        metrics_free(m);
        return NULL;
    }
    return m;
}

void metrics_free(metrics *m)
{
    if (!m)
        return;
    family_clear(&m->units);
    family_clear(&m->unit_dur);
    family_clear(&m->attempt_dur);
    family_clear(&m->recovery);
    family_clear(&m->write);
    for (size_t i = 0; i < m->nclocks; i++)
        free(m->clocks[i].serial);
    free(m->clocks);
    free(m);
}

const char *metrics_family_of(const char *chip)
{
    /* Short, lower-case names as jobs take them ("f1"), from the table's
     * lines: static strings, so that callers need not keep a copy. */
    if (!chip || !*chip)
        return "unknown";
    for (size_t i = 0; fl_chip_at(i); i++)
        if (strcmp(fl_chip_at(i)->name, chip) == 0)
            return fl_chip_line_short(fl_chip_at(i));
    return "unknown";
}

/* ---- seeding ---------------------------------------------------------------------------- */

int metrics_seed_units(void *user, const char *probe, const char *chip, const char *result,
                       int64_t n)
{
    metrics *m = user;
    if (!result || strcmp(result, "in_flight") == 0)
        return 0;
    const char *lv[] = {result, probe, metrics_family_of(chip)};
    counter_add(&m->units, lv, n);
    return 0;
}

int metrics_seed_recovery(void *user, const char *step, const char *probe, int64_t n)
{
    metrics *m = user;
    const char *lv[] = {step, probe};
    counter_add(&m->recovery, lv, n);
    return 0;
}

void metrics_seed_job(metrics *m, const char *state)
{
    for (size_t i = 0; i < NJOB_STATES; i++) {
        if (state && strcmp(state, job_states[i]) == 0) {
            m->seeded_jobs[i]++;
            return;
        }
    }
    m->seeded_jobs_other++;
}

/* ---- events -------------------------------------------------------------------------------- */

static probe_clock *clock_of(metrics *m, const char *probe)
{
    for (size_t i = 0; i < m->nclocks; i++)
        if (strcmp(m->clocks[i].serial, probe) == 0)
            return &m->clocks[i];
    if (m->nclocks == m->capclocks) {
        size_t cap = m->capclocks ? m->capclocks * 2 : 16;
        probe_clock *c = realloc(m->clocks, cap * sizeof *c);
        if (!c)
            return NULL;
        m->clocks = c;
        m->capclocks = cap;
    }
    probe_clock c = {strdup(probe), 0, 0};
    if (!c.serial)
        return NULL;
    m->clocks[m->nclocks] = c;
    return &m->clocks[m->nclocks++];
}

void metrics_unit_begin(metrics *m, const char *probe, int64_t at_ms)
{
    probe_clock *c = m && probe ? clock_of(m, probe) : NULL;
    if (c)
        c->unit_ms = at_ms;
}

void metrics_unit_end(metrics *m, const char *probe, const char *chip, const char *result,
                      int64_t at_ms)
{
    if (!m || !probe || !result)
        return;
    const char *fam = metrics_family_of(chip);
    const char *lv[] = {result, probe, fam};
    counter_add(&m->units, lv, 1);
    probe_clock *c = clock_of(m, probe);
    if (c && c->unit_ms > 0 && at_ms >= c->unit_ms) {
        const char *hv[] = {fam, result};
        observe(&m->unit_dur, hv, (double)(at_ms - c->unit_ms) / 1000.0);
    }
    if (c)
        c->unit_ms = c->attempt_ms = 0;
}

void metrics_attempt_begin(metrics *m, const char *probe, int64_t at_ms)
{
    probe_clock *c = m && probe ? clock_of(m, probe) : NULL;
    if (c)
        c->attempt_ms = at_ms;
}

void metrics_attempt(metrics *m, const char *probe, const char *result, int64_t at_ms)
{
    probe_clock *c = m && probe && result ? clock_of(m, probe) : NULL;
    if (!c || c->attempt_ms <= 0 || at_ms < c->attempt_ms)
        return;
    const char *lv[] = {result};
    observe(&m->attempt_dur, lv, (double)(at_ms - c->attempt_ms) / 1000.0);
    c->attempt_ms = 0;
}

void metrics_recovery(metrics *m, const char *step, const char *probe)
{
    if (!m)
        return;
    const char *lv[] = {step, probe};
    counter_add(&m->recovery, lv, 1);
}

void metrics_sqlite_write(metrics *m, double seconds)
{
    if (m)
        observe(&m->write, NULL, seconds < 0 ? 0 : seconds);
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void metrics_write_begin(metrics *m)
{
    if (m)
        m->write_t0 = mono_seconds();
}

int metrics_write_end(metrics *m, int result)
{
    if (m)
        metrics_sqlite_write(m, mono_seconds() - m->write_t0);
    return result;
}

/* ---- rendering ------------------------------------------------------------------------------- */

typedef struct out {
    char *data;
    size_t len, cap;
    bool failed;
} out;

static void put(out *o, const char *p, size_t n)
{
    if (o->failed)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *d = realloc(o->data, cap);
        if (!d) {
            o->failed = true;
            return;
        }
        o->data = d;
        o->cap = cap;
    }
    memcpy(o->data + o->len, p, n);
    o->len += n;
    o->data[o->len] = '\0';
}

static void puts_(out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void putf(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(out *o, const char *fmt, ...)
{
    char b[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof b)
        o->failed = true;
    else
        put(o, b, (size_t)n);
}

/* A label value: backslash, double quote and line feed are escaped, as the
 * format asks; everything else (UTF-8 included) goes as is. */
static void put_label_value(out *o, const char *v)
{
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\')
            put(o, "\\\\", 2);
        else if (*p == '"')
            put(o, "\\\"", 2);
        else if (*p == '\n')
            put(o, "\\n", 2);
        else
            put(o, p, 1);
    }
}

/* HELP text: backslash and line feed are escaped (quotes are not). */
static void put_help(out *o, const char *name, const char *type, const char *help)
{
    putf(o, "# HELP %s ", name);
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            put(o, "\\\\", 2);
        else if (*p == '\n')
            put(o, "\\n", 2);
        else
            put(o, p, 1);
    }
    putf(o, "\n# TYPE %s %s\n", name, type);
}

/* name{a="x",b="y"[,le="..."]} as one sample's start. */
static void put_sample_head(out *o, const char *name, const char *suffix, const family_def *d,
                            char *const *lv, const char *le)
{
    puts_(o, name);
    puts_(o, suffix);
    if (d->nlabels == 0 && !le)
        return;
    put(o, "{", 1);
    for (size_t k = 0; k < d->nlabels; k++) {
        if (k)
            put(o, ",", 1);
        puts_(o, d->labels[k]);
        put(o, "=\"", 2);
        put_label_value(o, lv[k]);
        put(o, "\"", 1);
    }
    if (le) {
        if (d->nlabels)
            put(o, ",", 1);
        putf(o, "le=\"%s\"", le);
    }
    put(o, "}", 1);
}

/* A float as the format reads it: shortest form that round-trips. */
static void fmt_double(char *b, size_t n, double x)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(b, n, "%.*g", prec, x);
        if (strtod(b, NULL) == x)
            return;
    }
}

static void render_counter(out *o, const family *f)
{
    const family_def *d = f->def;
    put_help(o, d->name, d->type, d->help);
    for (size_t i = 0; i < f->n; i++) {
        put_sample_head(o, d->name, "", d, f->v[i].lv, NULL);
        putf(o, " %" PRId64 "\n", f->v[i].count);
    }
}

static void render_histogram(out *o, const family *f)
{
    const family_def *d = f->def;
    char num[64];
    put_help(o, d->name, d->type, d->help);
    for (size_t i = 0; i < f->n; i++) {
        const series *s = &f->v[i];
        int64_t cum = 0;
        for (size_t b = 0; b < d->nbounds; b++) {
            cum += s->bucket[b];
            fmt_double(num, sizeof num, d->bounds[b]);
            put_sample_head(o, d->name, "_bucket", d, s->lv, num);
            putf(o, " %" PRId64 "\n", cum);
        }
        put_sample_head(o, d->name, "_bucket", d, s->lv, "+Inf");
        putf(o, " %" PRId64 "\n", s->count);
        fmt_double(num, sizeof num, s->sum);
        put_sample_head(o, d->name, "_sum", d, s->lv, NULL);
        putf(o, " %s\n", num);
        put_sample_head(o, d->name, "_count", d, s->lv, NULL);
        putf(o, " %" PRId64 "\n", s->count);
    }
}

char *metrics_render(const metrics *m, const metrics_live *live)
{
    static const metrics_live none = {0};
    if (!live)
        live = &none;
    out o = {0};

    render_counter(&o, &m->units);
    render_histogram(&o, &m->unit_dur);
    render_histogram(&o, &m->attempt_dur);
    render_counter(&o, &m->recovery);

    put_help(&o, "flashline_probe_state", "gauge",
             "1 for the state each probe is in now (docs/api.md probe states), 0 for the others.");
    for (size_t i = 0; i < live->nprobes; i++) {
        const char *cur = live->probes[i].state ? live->probes[i].state : "idle";
        bool known = false;
        for (size_t k = 0; k < NPROBE_STATES; k++) {
            bool on = strcmp(cur, probe_states[k]) == 0;
            known |= on;
            puts_(&o, "flashline_probe_state{probe=\"");
            put_label_value(&o, live->probes[i].serial);
            putf(&o, "\",state=\"%s\"} %d\n", probe_states[k], on ? 1 : 0);
        }
        if (!known) { /* a state newer than this list: still shown */
            puts_(&o, "flashline_probe_state{probe=\"");
            put_label_value(&o, live->probes[i].serial);
            puts_(&o, "\",state=\"");
            put_label_value(&o, cur);
            puts_(&o, "\"} 1\n");
        }
    }
    put_help(&o, "flashline_probes", "gauge", "Probes the station knows (on the bus or gone).");
    putf(&o, "flashline_probes %zu\n", live->nprobes);

    put_help(&o, "flashline_queue_depth", "gauge",
             "Units still to do over the running jobs: count - ok - in_flight (continuous jobs "
             "are not counted).");
    putf(&o, "flashline_queue_depth %" PRId64 "\n", live->queue_depth);

    put_help(&o, "flashline_audit_blocked", "gauge",
             "1 while the audit store refuses writes: no unit starts until it takes them.");
    putf(&o, "flashline_audit_blocked %d\n", live->audit_blocked ? 1 : 0);
    put_help(&o, "flashline_audit_pending", "gauge",
             "Audit records held in memory, waiting for the store to take them.");
    putf(&o, "flashline_audit_pending %zu\n", live->audit_pending);

    put_help(&o, "flashline_jobs", "gauge", "Jobs in the audit log, by state.");
    int64_t jobs[NJOB_STATES];
    int64_t other = m->seeded_jobs_other;
    memcpy(jobs, m->seeded_jobs, sizeof jobs);
    for (size_t i = 0; i < live->njobs; i++) {
        size_t k = 0;
        while (k < NJOB_STATES && strcmp(live->job_states[i], job_states[k]) != 0)
            k++;
        if (k < NJOB_STATES)
            jobs[k]++;
        else
            other++;
    }
    for (size_t k = 0; k < NJOB_STATES; k++)
        putf(&o, "flashline_jobs{state=\"%s\"} %" PRId64 "\n", job_states[k], jobs[k]);
    if (other)
        putf(&o, "flashline_jobs{state=\"other\"} %" PRId64 "\n", other);

    render_histogram(&o, &m->write);

    put_help(&o, "flashline_build_info", "gauge", "Always 1; the version of flashlined.");
    puts_(&o, "flashline_build_info{version=\"");
    put_label_value(&o, FLASHLINE_VERSION);
    puts_(&o, "\"} 1\n");

    if (o.failed) {
        free(o.data);
        return NULL;
    }
    return o.data;
}
