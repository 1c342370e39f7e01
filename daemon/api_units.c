/* The /v1 resources that read the audit: units (with their attempts,
 * recovery steps and actions) and the streamed export. */
#include "api_internal.h"

#include "dashboard.h"
#include "image.h"
#include "iso8601.h"
#include "views.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- units ------------------------------------------------------------------ */

/* The unit filters shared by /v1/units and /v1/export. False after
 * answering 400. *empty: the filter can match nothing (until at or before
 * the epoch, which the store would read as "unbounded"). */
static bool unit_filter(ctx *c, store_unit_filter *f, bool *empty)
{
    static const char *const results[] = {"in_flight", "ok", "failed", "interrupted"};
    memset(f, 0, sizeof *f);
    *empty = false;
    const char *s;
    f->uid = api_query_get(&c->q, "uid");
    f->probe = api_query_get(&c->q, "probe");
    if ((s = api_query_get(&c->q, "result"))) {
        bool ok = false;
        for (size_t i = 0; i < 4 && !ok; i++)
            ok = strcmp(s, results[i]) == 0;
        if (!ok) {
            api_fail(c, 400, "result \"%s\" is not one of in_flight, ok, failed, interrupted", s);
            return false;
        }
        f->result = s;
    }
    if ((s = api_query_get(&c->q, "job")) && !api_parse_int(s, 1, INT64_MAX, &f->job_id)) {
        api_fail(c, 400, "job \"%s\" is not a job id (a positive integer)", s);
        return false;
    }
    if ((s = api_query_get(&c->q, "serial"))) {
        if (!api_parse_int(s, INT64_MIN, INT64_MAX, &f->serial)) {
            api_fail(c, 400, "serial \"%s\" is not a serial number (a decimal integer)", s);
            return false;
        }
        f->has_serial = true;
    }
    const char *names[2] = {"since", "until"};
    int64_t *dst[2] = {&f->since_ms, &f->until_ms};
    for (int i = 0; i < 2; i++) {
        if ((s = api_query_get(&c->q, names[i])) && !api_time_arg(s, dst[i])) {
            api_fail(c, 400,
                     "%s \"%s\" is not a time; write it as 2026-11-25T15:40:00.123Z (UTC), with "
                     "an offset (2026-11-25T16:40:00+01:00), or as ms since the epoch",
                     names[i], s);
            return false;
        }
        if (s && i == 1 && *dst[i] <= 0)
            *empty = true;
    }
    return true;
}

typedef struct unit_list {
    json_t *arr;
    bool failed;
} unit_list;

static int on_unit_list(void *user, const store_unit *u)
{
    unit_list *l = user;
    json_t *j = view_unit(u);
    if (!j || json_array_append_new(l->arr, j) != 0) {
        l->failed = true;
        return 1;
    }
    return 0;
}

void get_units(ctx *c)
{
    store_unit_filter f;
    bool empty;
    if (!unit_filter(c, &f, &empty))
        return;
    const char *ls = api_query_get(&c->q, "limit");
    const char *os = api_query_get(&c->q, "offset");
    if (!api_query_done(c))
        return;
    f.limit = UNITS_DEFAULT_LIMIT;
    if (ls && !api_parse_int(ls, 1, UNITS_MAX_LIMIT, &f.limit)) {
        api_fail(c, 400, "limit \"%s\" must be an integer from 1 to %d; page with offset", ls,
                 UNITS_MAX_LIMIT);
        return;
    }
    if (os && !api_parse_int(os, 0, INT64_MAX, &f.offset)) {
        api_fail(c, 400, "offset \"%s\" must be an integer, 0 or more", os);
        return;
    }
    unit_list l = {json_array(), false};
    store_err e = empty ? STORE_OK : store_units_query(c->a->db, &f, on_unit_list, &l);
    if (e != STORE_OK || l.failed) {
        json_decref(l.arr);
        api_fail(c, 500, "querying units failed: %s",
                 e ? store_message(c->a->db) : "out of memory");
        return;
    }
    api_reply(c, 200, json_pack("{s:o}", "units", l.arr));
}

typedef struct history {
    json_t *attempts;
    int64_t *ids; /* attempt id of each entry of attempts */
    size_t n;
    bool failed;
} history;

static int on_attempt(void *user, const store_attempt *a)
{
    history *h = user;
    int64_t *ids = realloc(h->ids, (h->n + 1) * sizeof *ids);
    json_t *j = json_pack("{s:i,s:o,s:o,s:s,s:s,s:o,s:[]}", "n", a->n, "started_at",
                          view_time(a->started_ms), "finished_at",
                          a->finished_ms ? view_time(a->finished_ms) : json_null(), "result",
                          a->result, "state", a->state, "error", view_str(a->error), "recovery");
    if (!ids || !j || json_array_append_new(h->attempts, j) != 0) {
        if (ids)
            h->ids = ids;
        h->failed = true;
        return 1;
    }
    h->ids = ids;
    h->ids[h->n++] = a->id;
    return 0;
}

static int on_recovery(void *user, const store_recovery *r)
{
    history *h = user;
    /* The store gives each attempt's steps right after it, so the match is
     * nearly always the last attempt; search anyway rather than trust it. */
    for (size_t i = h->n; i-- > 0;) {
        if (h->ids[i] == r->attempt_id) {
            json_t *rec = json_object_get(json_array_get(h->attempts, i), "recovery");
            json_array_append_new(rec, json_pack("{s:o,s:s,s:b,s:b}", "at", view_time(r->at_ms),
                                                 "step", r->step, "ok", r->ok, "cured", r->cured));
            return 0;
        }
    }
    return 0;
}

void get_unit(ctx *c)
{
    int64_t id;
    if (!api_query_done(c) || !api_path_id(c, c->seg[2], "unit", &id))
        return;
    store_unit u;
    store_err e = store_unit_get(c->a->db, id, &u);
    if (e == STORE_E_NOT_FOUND) {
        api_fail(c, 404, "no unit %" PRId64 "; GET /v1/units lists them", id);
        return;
    }
    if (e != STORE_OK) {
        api_fail(c, 500, "reading unit %" PRId64 " failed: %s", id, store_message(c->a->db));
        return;
    }
    history h = {json_array(), NULL, 0, false};
    e = store_unit_history(c->a->db, id, on_attempt, on_recovery, &h);
    free(h.ids);
    json_t *j = view_unit(&u);
    if (e != STORE_OK || h.failed || !j) {
        json_decref(h.attempts);
        json_decref(j);
        api_fail(c, 500, "reading unit %" PRId64 "'s attempts failed: %s", id,
                 e ? store_message(c->a->db) : "out of memory");
        return;
    }
    /* The list replaces the count of attempts, as docs/api.md shows it. */
    json_object_set_new(j, "attempts", h.attempts);
    /* Who did what to its job (all of it: a pause before the unit shaped
     * it too) and to its probe while the unit ran. */
    char job[24];
    snprintf(job, sizeof job, "%" PRId64, u.job_id);
    json_t *on_job = api_actions_json(c, "job", job, 0, 0);
    json_t *on_probe =
        api_actions_json(c, "probe", u.probe, u.started_ms, u.finished_ms ? u.finished_ms + 1 : 0);
    if (!on_job || !on_probe) {
        json_decref(on_job);
        json_decref(on_probe);
        json_decref(j);
        api_fail(c, 500, "reading unit %" PRId64 "'s actions failed: %s", id,
                 store_message(c->a->db));
        return;
    }
    json_array_extend(on_job, on_probe);
    json_decref(on_probe);
    json_object_set_new(j, "actions", on_job);
    json_object_set_new(j, "serial_state", view_str(u.serial_state));
    api_reply(c, 200, j);
}

/* ---- export ----------------------------------------------------------------- */

/* One export being streamed: the filter (owning its strings: the request is
 * gone once the handler returns), the keyset cursor, and the rendered page
 * not yet handed to the transport. Only one page is ever held, however many
 * units the log has, and each page is one store query on the loop, so other
 * clients are served between pages. */
typedef struct export_ctx {
    api_buf b;
    size_t sent; /* of b */
    bool csv;
    store *db;
    store_unit_filter f;
    char *uid, *probe, *result;
    size_t page, in_page;
    bool last_page;
} export_ctx;

static const char *const csv_cols[] = {
    "id",     "job",   "probe",      "uid",         "chip",     "serial_number", "image",
    "result", "error", "started_at", "finished_at", "attempts", "recovery_steps"};
#define NCOLS (sizeof csv_cols / sizeof csv_cols[0])

static int on_unit_export(void *user, const store_unit *u)
{
    export_ctx *x = user;
    x->f.after = true;
    x->f.after_started_ms = u->started_ms;
    x->f.after_id = u->id;
    x->in_page++;
    json_t *j = view_unit(u);
    if (!j) {
        x->b.failed = true;
        return 1;
    }
    if (!x->csv) {
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!s)
            x->b.failed = true;
        else
            api_buf_str(&x->b, s);
        api_buf_add(&x->b, "\n", 1);
        free(s);
    } else {
        /* The columns are the unit object's fields, in its order, so both
         * formats say the same. */
        for (size_t i = 0; i < NCOLS; i++) {
            json_t *v = json_object_get(j, csv_cols[i]);
            char num[32];
            const char *s = "";
            if (json_is_string(v)) {
                s = json_string_value(v);
            } else if (json_is_integer(v)) {
                snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                s = num;
            }
            if (i)
                api_buf_add(&x->b, ",", 1);
            api_buf_csv(&x->b, s);
        }
        api_buf_add(&x->b, "\r\n", 2);
    }
    json_decref(j);
    return x->b.failed ? 1 : 0;
}

static void export_free(void *user)
{
    export_ctx *x = user;
    free(x->b.data);
    free(x->uid);
    free(x->probe);
    free(x->result);
    free(x);
}

/* http_stream_fn: the rendered page piece by piece, then the next page. */
static size_t export_next(void *user, char *buf, size_t cap, bool *done)
{
    export_ctx *x = user;
    if (x->sent == x->b.len) {
        x->b.len = x->sent = 0;
        if (x->last_page) {
            *done = true;
            return 0;
        }
        x->in_page = 0;
        x->f.limit = (int64_t)x->page;
        store_err e = store_units_query(x->db, &x->f, on_unit_export, x);
        x->last_page = x->in_page < x->page;
        if (e != STORE_OK || x->b.failed) {
            /* The 200 and part of the body are out: all that is left is to
             * end early and say why in the log. */
            fprintf(stderr, "api: export cut short: %s\n",
                    e != STORE_OK ? store_message(x->db) : "out of memory");
            *done = true;
            return 0;
        }
    }
    size_t n = x->b.len - x->sent;
    if (n == 0)
        return 0; /* an empty last page: b.data may be NULL */
    if (n > cap)
        n = cap;
    memcpy(buf, x->b.data + x->sent, n);
    x->sent += n;
    return n;
}

static char *dup_opt(const char *s, bool *failed)
{
    char *d = s ? strdup(s) : NULL;
    *failed |= s && !d;
    return d;
}

void get_export(ctx *c)
{
    store_unit_filter f;
    bool empty;
    if (!unit_filter(c, &f, &empty))
        return;
    const char *fs = api_query_get(&c->q, "format");
    if (!api_query_done(c))
        return;
    if (fs && strcmp(fs, "csv") != 0 && strcmp(fs, "jsonl") != 0) {
        api_fail(c, 400, "format \"%s\" is not csv or jsonl", fs);
        return;
    }
    export_ctx *x = calloc(1, sizeof *x);
    bool failed = !x;
    if (x) {
        x->csv = !fs || strcmp(fs, "csv") == 0;
        x->db = c->a->db;
        x->page = c->a->export_page ? c->a->export_page : 500;
        x->f = f;
        x->f.uid = x->uid = dup_opt(f.uid, &failed);
        x->f.probe = x->probe = dup_opt(f.probe, &failed);
        x->f.result = x->result = dup_opt(f.result, &failed);
        x->last_page = empty;
        if (x->csv) {
            for (size_t i = 0; i < NCOLS; i++) {
                if (i)
                    api_buf_add(&x->b, ",", 1);
                api_buf_str(&x->b, csv_cols[i]);
            }
            api_buf_add(&x->b, "\r\n", 2);
        }
        failed |= x->b.failed;
    }
    if (failed) {
        if (x)
            export_free(x);
        api_fail(c, 500, "export failed: out of memory");
        return;
    }
    c->resp->status = 200;
    c->resp->content_type = x->csv ? "text/csv" : "application/x-ndjson";
    c->resp->stream = export_next;
    c->resp->stream_user = x;
    c->resp->stream_free = export_free;
}
