/*
 * flashline watch, the model: the daemon's probes and jobs as it last told
 * us (a full refresh every two seconds, events in between), and the feed of
 * the last events as lines for a person. No curses and no curl here.
 */
#include "watch.h"

#include "iso8601.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void watch_model_init(watch_model *m)
{
    memset(m, 0, sizeof *m);
    m->probes = json_array();
    m->jobs = json_array();
}

void watch_model_free(watch_model *m)
{
    json_decref(m->probes);
    json_decref(m->jobs);
    m->probes = m->jobs = NULL;
}

long long watch_int(json_t *o, const char *key, long long fallback)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : fallback;
}

const char *watch_str(json_t *o, const char *key, const char *fallback)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : fallback;
}

const char *watch_short_serial(const char *serial)
{
    size_t n = strlen(serial);
    return n > 8 ? serial + n - 8 : serial;
}

static int by_serial(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;
    return strcmp(watch_str(*x, "serial", ""), watch_str(*y, "serial", ""));
}

/* Tiles keep their place on the screen: the operator learns where fixture
 * 3 is, so the order must not follow the daemon's. */
static json_t *sorted_probes(json_t *probes)
{
    size_t n = json_array_size(probes);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    json_t *out = json_array();
    if (!v || !out) {
        free(v);
        json_decref(out);
        return json_incref(probes);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (json_is_object(json_array_get(probes, i)))
            v[k++] = json_array_get(probes, i);
    qsort(v, k, sizeof *v, by_serial);
    for (size_t i = 0; i < k; i++)
        json_array_append(out, v[i]);
    free(v);
    return out;
}

void watch_model_set_probes(watch_model *m, json_t *probes)
{
    if (!json_is_array(probes))
        return;
    json_decref(m->probes);
    m->probes = sorted_probes(probes);
}

void watch_model_set_jobs(watch_model *m, json_t *jobs)
{
    if (!json_is_array(jobs))
        return;
    json_decref(m->jobs);
    m->jobs = json_incref(jobs);
}

void watch_feed_add(watch_model *m, watch_tone tone, const char *fmt, ...)
{
    size_t at = (m->feed_head + m->feed_len) % WATCH_FEED_MAX;
    if (m->feed_len == WATCH_FEED_MAX)
        m->feed_head = (m->feed_head + 1) % WATCH_FEED_MAX;
    else
        m->feed_len++;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->feed[at].text, sizeof m->feed[at].text, fmt, ap);
    va_end(ap);
    /* One feed line is one screen line. */
    for (char *c = m->feed[at].text; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
    m->feed[at].tone = tone;
}

watch_tone watch_probe_tone(json_t *probe)
{
    const char *state = watch_str(probe, "state", "");
    /* audit-blocked: the station's database refuses writes and no unit
     * starts until it takes them: as urgent as a quarantine. */
    if (strcmp(state, "quarantined") == 0 || strcmp(state, "audit-blocked") == 0)
        return WATCH_RED;
    if (strcmp(state, "recovering") == 0)
        return WATCH_YELLOW;
    if (strcmp(state, "waiting") == 0)
        /* The failed board is still on the fixture until it is swapped:
         * that is what the operator must see first. */
        return strcmp(watch_str(probe, "last_result", ""), "failed") == 0 ? WATCH_RED
                                                                          : WATCH_YELLOW;
    if (strcmp(state, "connecting") == 0 || strcmp(state, "programming") == 0 ||
        strcmp(state, "verifying") == 0)
        return WATCH_GREEN;
    return WATCH_GREY; /* idle, gone, and states added later */
}

bool watch_parse_iso(const char *s, time_t *out)
{
    int64_t ms;
    if (!iso8601_parse(s, &ms))
        return false;
    /* Whole seconds, rounded down also before 1970. */
    *out = (time_t)(ms / 1000 - (ms % 1000 < 0));
    return true;
}

const char *watch_clock(json_t *iso, char *buf, size_t size)
{
    time_t t;
    struct tm tm;
    if (!json_is_string(iso) || !watch_parse_iso(json_string_value(iso), &t) ||
        !localtime_r(&t, &tm) || strftime(buf, size, "%H:%M:%S", &tm) == 0)
        snprintf(buf, size, "-");
    return buf;
}

double watch_job_yield(json_t *job)
{
    long long ok = watch_int(job, "ok", 0), failed = watch_int(job, "failed", 0);
    return ok + failed > 0 ? 100.0 * (double)ok / (double)(ok + failed) : -1.0;
}

double watch_job_rate(json_t *job, time_t now)
{
    time_t from, to = now;
    if (!watch_parse_iso(watch_str(job, "created_at", NULL), &from))
        return -1.0;
    time_t fin;
    if (watch_parse_iso(watch_str(job, "finished_at", NULL), &fin))
        to = fin;
    /* Under half a minute the figure swings wildly: say nothing yet. */
    if (to - from < 30)
        return -1.0;
    return (double)watch_int(job, "ok", 0) * 3600.0 / (double)(to - from);
}

/* ---- events ----------------------------------------------------------------------- */

static json_t *find_probe(watch_model *m, const char *serial, size_t *index)
{
    size_t i;
    json_t *p;
    json_array_foreach(m->probes, i, p)
    {
        if (strcmp(watch_str(p, "serial", ""), serial) == 0) {
            if (index)
                *index = i;
            return p;
        }
    }
    return NULL;
}

static void on_probe(watch_model *m, json_t *d, const char *at)
{
    const char *serial = watch_str(d, "serial", NULL);
    if (!serial)
        return;
    size_t i;
    json_t *old = find_probe(m, serial, &i);
    const char *state = watch_str(d, "state", "?");
    bool changed = !old || strcmp(watch_str(old, "state", ""), state) != 0;
    if (old) {
        json_array_set(m->probes, i, d);
    } else {
        json_array_append(m->probes, d);
        json_t *s = sorted_probes(m->probes);
        json_decref(m->probes);
        m->probes = s;
    }
    /* A probe changes state several times a unit (waiting, connecting,
     * programming, verifying): the unit events say that once. The feed
     * keeps what needs a person. */
    static const char *const working[] = {"waiting", "connecting", "programming", "verifying"};
    for (size_t k = 0; k < sizeof working / sizeof working[0]; k++)
        if (strcmp(state, working[k]) == 0)
            return;
    if (json_is_boolean(json_object_get(d, "reset"))) {
        bool ok = json_is_true(json_object_get(d, "reset"));
        watch_feed_add(m, ok ? WATCH_PLAIN : WATCH_RED, "%s probe %s USB reset %s%s%s", at, serial,
                       ok ? "done" : "failed", ok ? "" : ": ", ok ? "" : watch_str(d, "error", ""));
        return;
    }
    if (!changed)
        return;
    const char *reason = watch_str(d, "quarantine_reason", NULL);
    watch_feed_add(m, watch_probe_tone(d), "%s probe %s %s%s%s", at, serial, state,
                   reason ? ": " : "", reason ? reason : "");
}

static void on_progress(watch_model *m, json_t *d)
{
    json_t *p = find_probe(m, watch_str(d, "probe", ""), NULL);
    if (!p)
        return;
    json_object_set(p, "progress", json_object_get(d, "progress"));
    json_object_set(p, "unit", json_object_get(d, "unit"));
}

static void on_job(watch_model *m, json_t *d, const char *at)
{
    long long id = watch_int(d, "id", -1);
    if (id < 0)
        return;
    size_t i;
    json_t *j, *old = NULL;
    json_array_foreach(m->jobs, i, j)
    {
        if (watch_int(j, "id", -2) == id) {
            old = j;
            break;
        }
    }
    const char *state = watch_str(d, "state", "?");
    bool news = !old || strcmp(watch_str(old, "state", ""), state) != 0;
    if (old)
        json_array_set(m->jobs, i, d);
    else
        json_array_insert(m->jobs, 0, d);
    if (!news)
        return;
    char count[32];
    long long c = watch_int(d, "count", -1);
    snprintf(count, sizeof count, c >= 0 ? "%lld" : "cont", c);
    watch_feed_add(m, strcmp(state, "done") == 0 ? WATCH_GREEN : WATCH_PLAIN,
                   "%s job %lld \"%s\" %s: ok %lld/%s, failed %lld", at, id,
                   watch_str(d, "name", ""), state, watch_int(d, "ok", 0), count,
                   watch_int(d, "failed", 0));
}

static void on_unit(watch_model *m, json_t *d, const char *at)
{
    const char *result = watch_str(d, "result", "?");
    const char *probe = watch_str(d, "probe", "?");
    long long id = watch_int(d, "id", 0), job = watch_int(d, "job", 0);
    const char *sn = watch_str(d, "serial_number", NULL);
    char snbuf[48] = "";
    if (sn)
        snprintf(snbuf, sizeof snbuf, " sn %s", sn);
    if (strcmp(result, "in_flight") == 0) {
        watch_feed_add(m, WATCH_PLAIN, "%s unit %lld started on %s job %lld%s", at, id, probe, job,
                       snbuf);
        return;
    }
    watch_tone tone = strcmp(result, "ok") == 0       ? WATCH_GREEN
                      : strcmp(result, "failed") == 0 ? WATCH_RED
                                                      : WATCH_YELLOW;
    const char *error = watch_str(d, "error", NULL);
    watch_feed_add(m, tone, "%s unit %lld %s on %s job %lld%s uid %s, %lld attempt%s%s%s", at, id,
                   result, probe, job, snbuf, watch_str(d, "uid", "-"), watch_int(d, "attempts", 0),
                   watch_int(d, "attempts", 0) == 1 ? "" : "s", error ? ": " : "",
                   error ? error : "");
}

void watch_model_event(watch_model *m, const char *kind, const char *data)
{
    json_t *d = json_loads(data, 0, NULL);
    if (!json_is_object(d)) {
        json_decref(d);
        return;
    }
    char at[16];
    watch_clock(json_object_get(d, "at"), at, sizeof at);
    if (strcmp(kind, "probe") == 0) {
        on_probe(m, d, at);
    } else if (strcmp(kind, "progress") == 0) {
        on_progress(m, d);
    } else if (strcmp(kind, "job") == 0) {
        on_job(m, d, at);
    } else if (strcmp(kind, "unit") == 0) {
        on_unit(m, d, at);
    } else if (strcmp(kind, "attempt") == 0) {
        /* A begun attempt says nothing the unit line did not; a failed one
         * is why a unit takes long. */
        if (strcmp(watch_str(d, "result", ""), "failed") == 0)
            watch_feed_add(m, WATCH_YELLOW, "%s unit %lld attempt %lld failed in %s: %s", at,
                           watch_int(d, "unit", 0), watch_int(d, "n", 0),
                           watch_str(d, "state", "?"), watch_str(d, "error", "?"));
    } else if (strcmp(kind, "recovery") == 0) {
        char unit[32] = "";
        if (watch_int(d, "unit", 0))
            snprintf(unit, sizeof unit, " unit %lld", watch_int(d, "unit", 0));
        watch_feed_add(m, WATCH_YELLOW, "%s recovery on %s%s: %s (%s)", at,
                       watch_str(d, "probe", "?"), unit, watch_str(d, "step", "?"),
                       json_is_true(json_object_get(d, "ok")) ? "ok" : "did not help");
    } else {
        /* A kind added to the contract later: its data, without its time. */
        json_object_del(d, "at");
        char *text = json_dumps(d, JSON_COMPACT);
        watch_feed_add(m, WATCH_PLAIN, "%s %s %s", at, kind, text ? text : "");
        free(text);
    }
    json_decref(d);
}

/* ---- the event stream ------------------------------------------------------------- */

void watch_sse_reset(watch_sse *p)
{
    free(p->data);
    p->data = NULL;
    p->data_len = 0;
    p->len = 0;
    p->overflow = false;
    p->event[0] = '\0';
}

/* One complete line; false when out of memory. */
static bool sse_line(watch_sse *p, watch_sse_fn fn, void *ctx)
{
    const char *l = p->line;
    if (p->len == 0) {
        if (p->data)
            fn(p->event[0] ? p->event : "message", p->data, ctx);
        free(p->data);
        p->data = NULL;
        p->data_len = 0;
        p->event[0] = '\0';
        return true;
    }
    if (l[0] == ':') /* a comment: the daemon's keep-alive */
        return true;
    const char *colon = strchr(l, ':');
    size_t name_len = colon ? (size_t)(colon - l) : p->len;
    const char *v = colon ? colon + 1 : "";
    if (*v == ' ')
        v++;
    if (name_len == 5 && strncmp(l, "event", 5) == 0) {
        snprintf(p->event, sizeof p->event, "%s", v);
    } else if (name_len == 4 && strncmp(l, "data", 4) == 0) {
        size_t n = strlen(v);
        char *d = realloc(p->data, p->data_len + n + 2);
        if (!d)
            return false;
        /* Several data lines are one value joined by newlines. */
        if (p->data_len)
            d[p->data_len++] = '\n';
        memcpy(d + p->data_len, v, n + 1);
        p->data_len += n;
        p->data = d;
    }
    return true;
}

bool watch_sse_feed(watch_sse *p, const char *buf, size_t n, watch_sse_fn fn, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        char c = buf[i];
        if (c == '\n') {
            if (p->len && p->line[p->len - 1] == '\r')
                p->len--;
            p->line[p->len] = '\0';
            if (!p->overflow && !sse_line(p, fn, ctx))
                return false;
            p->len = 0;
            p->overflow = false;
        } else if (p->len + 1 < sizeof p->line) {
            p->line[p->len++] = c;
        } else {
            p->overflow = true;
        }
    }
    return true;
}
