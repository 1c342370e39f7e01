/* The /v1 router of docs/api.md: buffers, responses, argument checks and
 * routing; the resources are api_control.c's (images, jobs, probes) and
 * api_units.c's (units, export).
 *
 * Order of checks for every request, so that a failed request changes
 * nothing: route (404) -> method (405) -> may write (401/403) -> query
 * string (400, every argument must be known to the route) -> path ids
 * (400/404) -> body (400) -> the action. */
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

/* ---- buffers ---------------------------------------------------------------- */

void api_buf_add(api_buf *b, const void *p, size_t n)
{
    if (b->failed || n == 0)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void api_buf_str(api_buf *b, const char *s)
{
    api_buf_add(b, s, strlen(s));
}

void api_buf_csv(api_buf *b, const char *field)
{
    size_t n = strlen(field);
    bool quote = n > 0 && (field[0] == ' ' || field[n - 1] == ' ');
    for (size_t i = 0; i < n && !quote; i++)
        quote = field[i] == ',' || field[i] == '"' || field[i] == '\r' || field[i] == '\n';
    if (!quote) {
        api_buf_add(b, field, n);
        return;
    }
    api_buf_add(b, "\"", 1);
    for (const char *p = field; *p; p++) {
        if (*p == '"')
            api_buf_add(b, "\"\"", 2);
        else
            api_buf_add(b, p, 1);
    }
    api_buf_add(b, "\"", 1);
}

/* ---- times ------------------------------------------------------------------ */

/* A since/until argument: an ISO 8601 time (util/iso8601.h), or an integer
 * count of ms since the epoch as the store keeps them (scripts that read
 * times from the database pass them back as they are). */
bool api_time_arg(const char *s, int64_t *ms)
{
    size_t nd = strspn(s, "0123456789");
    if (nd == 0 || s[nd] != '\0')
        return iso8601_parse(s, ms);
    /* 15 digits hold MAX_TIME_MS and cannot overflow strtoll. */
    if (nd > 15)
        return false;
    int64_t v = strtoll(s, NULL, 10);
    if (v > MAX_TIME_MS)
        return false;
    *ms = v;
    return true;
}

/* ---- responses ---------------------------------------------------------------- */

const char *api_code_for(int status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 409:
        return "conflict";
    case 413:
        return "too_large";
    case 422:
        return "unprocessable";
    case 503:
        return "unavailable";
    default:
        return "internal";
    }
}

/* Steals j. Every body ends with a newline so that curl output and logs stay
 * one line each. */
void api_reply(ctx *c, int status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_ENSURE_ASCII) : NULL;
    json_decref(j);
    if (!s) {
        c->resp->status = 500;
        c->resp->body = strdup("{\"error\": {\"code\": \"internal\", \"message\": \"out of "
                               "memory building the answer; retry\"}}\n");
        c->resp->body_len = c->resp->body ? strlen(c->resp->body) : 0;
        return;
    }
    size_t n = strlen(s);
    char *body = malloc(n + 2);
    if (body) {
        memcpy(body, s, n);
        body[n] = '\n';
        body[n + 1] = '\0';
    }
    free(s);
    c->resp->status = body ? status : 500;
    c->resp->content_type = NULL;
    c->resp->body = body;
    c->resp->body_len = body ? n + 1 : 0;
}

void api_fail_code(ctx *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void api_fail_code(ctx *c, int status, const char *code, const char *fmt, ...)
{
    char msg[MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(c->resp->body);
    c->resp->body = NULL;
    api_reply(c, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

int64_t api_now_ms(const api *a)
{
    if (a->now_ms)
        return a->now_ms();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- argument checks --------------------------------------------------------- */

/* After a route has read its arguments: anything left is a mistake (a typo
 * in a filter would otherwise silently widen an audit query). */
bool api_query_done(ctx *c)
{
    for (size_t i = 0; i < c->q.n; i++) {
        if (!c->q.params[i].used) {
            api_fail(
                c, 400,
                "unknown query argument \"%s\" for %s; remove it (docs/api.md lists the arguments)",
                c->q.params[i].name, c->req->path);
            return false;
        }
    }
    return true;
}

/* A decimal integer in [lo, hi], nothing else around it. */
bool api_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s || !*s || isspace((unsigned char)*s) || *s == '+')
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* An id in the path: a positive integer. "abc" and "-3" are malformed (400);
 * a well-formed id that names nothing is a 404 found later. */
bool api_path_id(ctx *c, const char *s, const char *what, int64_t *id)
{
    if (!api_parse_int(s, 0, INT64_MAX, id) || s[0] == '-') {
        api_fail(c, 400, "\"%s\" is not a %s id; ids are positive integers", s, what);
        return false;
    }
    return true;
}

/* The body as a JSON object; an empty body is an empty object when
 * optional. NULL after answering 400. */
json_t *api_body_object(ctx *c, bool optional)
{
    const http_request *r = c->req;
    size_t n = r->body_len;
    while (n > 0 && isspace(r->body[n - 1]))
        n--;
    if (n == 0) {
        if (optional)
            return json_object();
        api_fail(c, 400, "%s needs a JSON object as the body (Content-Type: application/json)",
                 r->path);
        return NULL;
    }
    json_error_t e;
    json_t *j = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        api_fail(c, 400, "malformed JSON at line %d, column %d: %s; send one JSON object", e.line,
                 e.column, e.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        api_fail(c, 400, "the body must be a JSON object ({...}), not %s",
                 json_is_array(j) ? "an array" : "a single value");
        json_decref(j);
        return NULL;
    }
    return j;
}

/* Refuses keys not in the NULL-terminated list. */
bool api_only_keys(ctx *c, json_t *o, const char *const *known, const char *what)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool ok = false;
        for (const char *const *p = known; *p && !ok; p++)
            ok = strcmp(*p, k) == 0;
        if (!ok) {
            char list[256] = "";
            for (const char *const *p = known; *p; p++) {
                strncat(list, p == known ? "" : ", ", sizeof list - strlen(list) - 1);
                strncat(list, *p, sizeof list - strlen(list) - 1);
            }
            if (!*known)
                api_fail(c, 400, "unknown field \"%s\": %s takes no fields; send {} or nothing", k,
                         what);
            else
                api_fail(c, 400, "unknown field \"%s\" in %s; the fields are %s", k, what, list);
            return false;
        }
    }
    return true;
}

bool api_need_station(ctx *c)
{
    if (c->a->st)
        return true;
    api_fail(c, 503, "the daemon is starting up and has no station yet; retry in a second");
    return false;
}

void api_station_fail(ctx *c, station_err e, const char *msg)
{
    int status = station_http_status(e);
    api_fail_code(c, status ? status : 500, station_err_code(e), "%s",
                  *msg ? msg : "request refused");
}

/* ---- the dashboard (dashboard.h) ------------------------------------------------ */

/* Static files: any query is the page's own business (it reads none of it
 * here), so none is refused. */
static void get_dashboard(ctx *c)
{
    dashboard_serve(c->req->path, c->resp);
}

/* ---- metrics ------------------------------------------------------------------ */

/* Prometheus's text format 0.0.4 (daemon/metrics.h); a GET, so the read-only
 * TCP listener serves it too. */
static void get_metrics(ctx *c)
{
    if (!api_query_done(c) || !api_need_station(c))
        return;
    char *text = station_metrics_text(c->a->st);
    if (!text) {
        api_fail(c, 500, "out of memory while rendering the metrics");
        return;
    }
    c->resp->status = 200;
    c->resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    c->resp->body = text;
    c->resp->body_len = strlen(text);
}

/* ---- routing ------------------------------------------------------------------ */

typedef void (*route_fn)(ctx *c);

typedef struct route {
    const char *method;
    const char *pat[MAX_SEGS]; /* "*" matches any one segment */
    route_fn fn;
} route;

static const route routes[] = {
    {"POST", {"v1", "images"}, post_image},
    {"GET", {"v1", "images", "*"}, get_image},
    {"GET", {"v1", "jobs"}, get_jobs},
    {"POST", {"v1", "jobs"}, post_jobs},
    {"GET", {"v1", "jobs", "*"}, get_job},
    {"POST", {"v1", "jobs", "*", "pause"}, post_job_verb},
    {"POST", {"v1", "jobs", "*", "resume"}, post_job_verb},
    {"POST", {"v1", "jobs", "*", "cancel"}, post_job_verb},
    {"GET", {"v1", "probes"}, get_probes},
    {"GET", {"v1", "probes", "*"}, get_probe},
    {"POST", {"v1", "probes", "*", "quarantine"}, post_probe_verb},
    {"POST", {"v1", "probes", "*", "release"}, post_probe_verb},
    {"POST", {"v1", "probes", "*", "reset"}, post_probe_verb},
    {"GET", {"v1", "units"}, get_units},
    {"GET", {"v1", "units", "*"}, get_unit},
    {"GET", {"v1", "export"}, get_export},
    {"GET", {"metrics"}, get_metrics},
    {"GET", {NULL}, get_dashboard}, /* "/" */
    {"GET", {"index.html"}, get_dashboard},
    {"GET", {"app.css"}, get_dashboard},
    {"GET", {"app.js"}, get_dashboard},
};

static bool route_matches(const route *r, ctx *c)
{
    size_t n = 0;
    while (n < MAX_SEGS && r->pat[n])
        n++;
    if (n != c->nseg)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(r->pat[i], "*") != 0 && strcmp(r->pat[i], c->seg[i]) != 0)
            return false;
    return true;
}

/* "/v1/jobs/3/" -> v1, jobs, 3 (one trailing slash is forgiven). False if
 * the path cannot name a resource (too deep, empty segments). */
static bool split_path(ctx *c)
{
    const char *path = c->req->path ? c->req->path : "";
    if (path[0] != '/')
        return false;
    c->segbuf = strdup(path + 1);
    if (!c->segbuf)
        return false;
    size_t len = strlen(c->segbuf);
    if (len > 0 && c->segbuf[len - 1] == '/')
        c->segbuf[--len] = '\0';
    if (len == 0) /* "/" itself, the dashboard: no segments; "//" names nothing */
        return strcmp(path, "/") == 0;
    char *p = c->segbuf;
    for (;;) {
        if (c->nseg == MAX_SEGS)
            return false;
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (!*p)
            return false;
        c->seg[c->nseg++] = p;
        if (!slash)
            return true;
        p = slash + 1;
    }
}

void api_handle(void *user, const http_request *req, http_response *resp)
{
    ctx c = {.a = user, .req = req, .resp = resp};
    /* HEAD is GET without the body; the transport drops the body. */
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;

    const route *hit = NULL;
    char allow[64] = "";
    if (split_path(&c)) {
        for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
            if (!route_matches(&routes[i], &c))
                continue;
            if (strcmp(routes[i].method, method) == 0)
                hit = &routes[i];
            else if (!strstr(allow, routes[i].method))
                snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                         *allow ? ", " : "", routes[i].method);
        }
    }
    char msg[MSG_LEN];
    if (!hit && !*allow) {
        api_fail(&c, 404, "no resource %s; the API lives under /v1 (see docs/api.md)", req->path);
    } else if (!hit) {
        /* http_response has no headers, so the Allow list goes in the
         * message. */
        api_fail(&c, 405, "%s is not allowed on %s; this resource allows %s", req->method,
                 req->path, allow);
    } else if (strcmp(method, "GET") != 0 && !req->may_write) {
        if (req->via_tcp)
            api_fail(&c, 401,
                     "writes on the TCP address need \"Authorization: Bearer TOKEN\" with the "
                     "daemon's http_token; or use the Unix socket");
        else
            api_fail(&c, 403,
                     "your uid may not write to this daemon; run as root or join the socket's "
                     "group");
    } else if (!api_query_from_args(req->args, req->nargs, &c.q, msg, sizeof msg)) {
        api_fail(&c, 400, "%s", msg);
    } else {
        hit->fn(&c);
    }
    api_query_free(&c.q);
    free(c.segbuf);
}
