/* The /v1 resources of docs/api.md: routing, validation, images and units.
 * Jobs and probes are the station's (station.h); this file only checks the
 * request's shape and maps the station's typed errors to HTTP.
 *
 * Order of checks for every request, so that a failed request changes
 * nothing: route (404) -> method (405) -> may write (401/403) -> query
 * string (400, every argument must be known to the route) -> path ids
 * (400/404) -> body (400) -> the action. */
#include "api.h"

#include "dashboard.h"
#include "image.h"
#include "views.h"
#include "iso8601.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_MAX_UPLOAD  (16u * 1024u * 1024u)
#define UNITS_DEFAULT_LIMIT 100
#define UNITS_MAX_LIMIT     10000
#define MSG_LEN             512
#define API_ACTOR_LEN       64
#define MAX_SEGS            5
/* Year 9999's last ms: bounds integer times so that every accepted time
 * can be written back as ISO 8601. */
#define MAX_TIME_MS INT64_C(253402300799999)

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
static bool time_arg(const char *s, int64_t *ms)
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

typedef struct ctx {
    api *a;
    const http_request *req;
    http_response *resp;
    api_query q;
    char *seg[MAX_SEGS]; /* path segments (point into segbuf) */
    size_t nseg;
    char *segbuf;
} ctx;

static const char *code_for(int status)
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
static void reply(ctx *c, int status, json_t *j)
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

static void fail_code(ctx *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail_code(ctx *c, int status, const char *code, const char *fmt, ...)
{
    char msg[MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(c->resp->body);
    c->resp->body = NULL;
    reply(c, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

#define fail(c, status, ...) fail_code((c), (status), code_for(status), __VA_ARGS__)

static int64_t now_ms(const api *a)
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
static bool query_done(ctx *c)
{
    for (size_t i = 0; i < c->q.n; i++) {
        if (!c->q.params[i].used) {
            fail(
                c, 400,
                "unknown query argument \"%s\" for %s; remove it (docs/api.md lists the arguments)",
                c->q.params[i].name, c->req->path);
            return false;
        }
    }
    return true;
}

/* A decimal integer in [lo, hi], nothing else around it. */
static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
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
static bool path_id(ctx *c, const char *s, const char *what, int64_t *id)
{
    if (!parse_int(s, 0, INT64_MAX, id) || s[0] == '-') {
        fail(c, 400, "\"%s\" is not a %s id; ids are positive integers", s, what);
        return false;
    }
    return true;
}

/* The body as a JSON object; an empty body is an empty object when
 * optional. NULL after answering 400. */
static json_t *body_object(ctx *c, bool optional)
{
    const http_request *r = c->req;
    size_t n = r->body_len;
    while (n > 0 && isspace(r->body[n - 1]))
        n--;
    if (n == 0) {
        if (optional)
            return json_object();
        fail(c, 400, "%s needs a JSON object as the body (Content-Type: application/json)",
             r->path);
        return NULL;
    }
    json_error_t e;
    json_t *j = json_loadb((const char *)r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        fail(c, 400, "malformed JSON at line %d, column %d: %s; send one JSON object", e.line,
             e.column, e.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        fail(c, 400, "the body must be a JSON object ({...}), not %s",
             json_is_array(j) ? "an array" : "a single value");
        json_decref(j);
        return NULL;
    }
    return j;
}

/* Refuses keys not in the NULL-terminated list. */
static bool only_keys(ctx *c, json_t *o, const char *const *known, const char *what)
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
                fail(c, 400, "unknown field \"%s\": %s takes no fields; send {} or nothing", k,
                     what);
            else
                fail(c, 400, "unknown field \"%s\" in %s; the fields are %s", k, what, list);
            return false;
        }
    }
    return true;
}

static bool need_station(ctx *c)
{
    if (c->a->st)
        return true;
    fail(c, 503, "the daemon is starting up and has no station yet; retry in a second");
    return false;
}

static void station_fail(ctx *c, station_err e, const char *msg)
{
    int status = station_http_status(e);
    fail_code(c, status ? status : 500, station_err_code(e), "%s", *msg ? msg : "request refused");
}

/* ---- images ----------------------------------------------------------------- */

/* Short format names as the API and the store use them (image_format_name()
 * gives the long, human ones). */
static const char *fmt_short(image_format f)
{
    switch (f) {
    case IMAGE_FMT_BIN:
        return "bin";
    case IMAGE_FMT_IHEX:
        return "ihex";
    case IMAGE_FMT_SREC:
        return "srec";
    case IMAGE_FMT_ELF:
        return "elf";
    default:
        return "auto";
    }
}

static bool fmt_parse(const char *s, image_format *f)
{
    static const image_format all[] = {IMAGE_FMT_AUTO, IMAGE_FMT_BIN, IMAGE_FMT_IHEX,
                                       IMAGE_FMT_SREC, IMAGE_FMT_ELF};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, fmt_short(all[i])) == 0) {
            *f = all[i];
            return true;
        }
    }
    return false;
}

static json_t *image_json(const image *img, const char *sha)
{
    json_t *segs = json_array();
    size_t n = image_segment_count(img);
    for (size_t i = 0; i < n; i++) {
        image_segment sg;
        if (!image_segment_get(img, i, &sg))
            break;
        char addr[16];
        snprintf(addr, sizeof addr, "0x%08" PRIX32, sg.address);
        json_array_append_new(segs,
                              json_pack("{s:s,s:I}", "addr", addr, "len", (json_int_t)sg.length));
    }
    return json_pack("{s:s,s:s,s:I,s:o}", "sha256", sha, "format", fmt_short(image_get_format(img)),
                     "size", (json_int_t)image_size_bytes(img), "segments", segs);
}

static bool parse_base(const char *s, uint32_t *out)
{
    if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
        return false;
    errno = 0;
    char *end;
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    if (hex && !isxdigit((unsigned char)s[2]))
        return false;
    unsigned long long v = strtoull(hex ? s + 2 : s, &end, hex ? 16 : 10);
    if (errno || *end || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Who asks, for the audit's actions: the Unix-socket peer's uid, or the
 * holder of the TCP write token (who is not known beyond that). */
static void actor_of(const ctx *c, char out[API_ACTOR_LEN])
{
    if (c->req->via_tcp)
        snprintf(out, API_ACTOR_LEN, "tcp-token");
    else
        snprintf(out, API_ACTOR_LEN, "uid:%ld", c->req->peer_uid);
}

static void post_image(ctx *c)
{
    const char *fs = api_query_get(&c->q, "format");
    const char *bs = api_query_get(&c->q, "base");
    if (!query_done(c))
        return;
    image_format fmt = IMAGE_FMT_AUTO;
    if (fs && !fmt_parse(fs, &fmt)) {
        fail(c, 400, "format \"%s\" is not one of auto, bin, ihex, srec, elf", fs);
        return;
    }
    uint32_t base = 0x08000000u;
    if (bs && !parse_base(bs, &base)) {
        fail(c, 400, "base \"%s\" is not an address; give it as hex (0x08000000) or decimal", bs);
        return;
    }
    size_t max = c->a->max_upload ? c->a->max_upload : DEFAULT_MAX_UPLOAD;
    if (c->req->body_len > max) {
        fail(c, 413,
             "the upload is %zu bytes, more than this daemon's limit of %zu; raise "
             "max_upload_mb in the config if the image is right",
             c->req->body_len, max);
        return;
    }
    if (c->req->body_len == 0) {
        fail(c, 400, "the upload is empty; send the image file as the body");
        return;
    }
    image *img = NULL;
    char msg[MSG_LEN];
    img_err e = image_load_mem(c->req->body, c->req->body_len, fmt, base, &img, msg, sizeof msg);
    if (e != IMG_OK) {
        if (e == IMG_E_NOMEM)
            fail(c, 500, "%s", msg);
        else if (e == IMG_E_TOO_BIG)
            fail(c, 413, "%s", msg);
        else
            fail(c, 400, "%s", msg);
        return;
    }
    char sha[65];
    image_sha256_hex(img, sha);
    store_err se = store_image_put(c->a->db, sha, fmt_short(image_get_format(img)), base,
                                   c->req->body, c->req->body_len, now_ms(c->a));
    char actor[API_ACTOR_LEN];
    actor_of(c, actor);
    if (se == STORE_OK)
        se = store_action_add(c->a->db, now_ms(c->a), actor, "image.upload", "image", sha, NULL);
    if (se != STORE_OK) {
        fail(c, 500,
             "the audit store could not commit the upload: %s; send it again once the store "
             "accepts writes",
             store_message(c->a->db));
        image_free(img);
        return;
    }
    reply(c, 201, image_json(img, sha));
    image_free(img);
}

static bool is_sha(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 64;
}

static void get_image(ctx *c)
{
    const char *sha = c->seg[2];
    if (!query_done(c))
        return;
    if (!is_sha(sha)) {
        fail(c, 400, "\"%s\" is not an image id; images are named by 64 lower-case hex digits",
             sha);
        return;
    }
    store_image si;
    store_err se = store_image_get(c->a->db, sha, &si);
    if (se == STORE_E_NOT_FOUND) {
        fail(c, 404, "no image %s; upload it with POST /v1/images", sha);
        return;
    }
    if (se != STORE_OK) {
        fail(c, 500, "reading the image failed: %s", store_message(c->a->db));
        return;
    }
    image_format fmt = IMAGE_FMT_AUTO;
    fmt_parse(si.format, &fmt);
    image *img = NULL;
    char msg[MSG_LEN];
    if (image_load_mem(si.bytes, si.len, fmt, si.base, &img, msg, sizeof msg) != IMG_OK)
        fail(c, 500, "the stored image %s no longer parses (%s); upload it again", sha, msg);
    else
        reply(c, 200, image_json(img, sha));
    image_free(img);
    store_image_clear(&si);
}

/* ---- jobs ------------------------------------------------------------------- */

static void get_jobs(ctx *c)
{
    if (!query_done(c) || !need_station(c))
        return;
    reply(c, 200, station_jobs_json(c->a->st));
}

static void post_jobs(ctx *c)
{
    if (!query_done(c) || !need_station(c))
        return;
    json_t *body = body_object(c, false);
    if (!body)
        return;
    char msg[MSG_LEN] = "", actor[API_ACTOR_LEN];
    actor_of(c, actor);
    int64_t id = 0;
    /* The recipe's fields are checked once, by the station (recipe.c). */
    station_err e = station_job_create(c->a->st, body, actor, &id, msg, sizeof msg);
    json_decref(body);
    if (e != STATION_OK) {
        station_fail(c, e, msg);
        return;
    }
    json_t *j = station_job_json(c->a->st, id);
    if (!j)
        fail(c, 500, "job %" PRId64 " was created but cannot be read back; GET /v1/jobs", id);
    else
        reply(c, 201, j);
}

static int on_action(void *user, const store_action *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "at", view_time(a->at_ms));
    json_object_set_new(o, "actor", json_string(a->actor));
    json_object_set_new(o, "verb", json_string(a->verb));
    json_object_set_new(o, "target",
                        json_pack("{s:s,s:s}", "kind", a->target_kind, "id", a->target));
    json_t *detail = a->detail_json[0] ? json_loads(a->detail_json, 0, NULL) : NULL;
    json_object_set_new(o, "detail", detail ? detail : json_null());
    json_array_append_new(user, o);
    return 0;
}

/* The actions on a target in [since, until) (0: unbounded), oldest first;
 * NULL when the store cannot say (the caller answers 500). */
static json_t *actions_json(ctx *c, const char *kind, const char *target, int64_t since,
                            int64_t until)
{
    json_t *arr = json_array();
    store_action_filter f = {
        .target_kind = kind, .target = target, .since_ms = since, .until_ms = until};
    if (store_actions_query(c->a->db, &f, on_action, arr) != STORE_OK) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

static void get_job(ctx *c)
{
    int64_t id;
    if (!query_done(c) || !need_station(c) || !path_id(c, c->seg[2], "job", &id))
        return;
    json_t *j = station_job_json(c->a->st, id);
    if (!j) {
        fail(c, 404, "no job %" PRId64 "; GET /v1/jobs lists them", id);
        return;
    }
    char target[24];
    snprintf(target, sizeof target, "%" PRId64, id);
    json_t *acts = actions_json(c, "job", target, 0, 0);
    if (!acts) {
        json_decref(j);
        fail(c, 500, "reading job %" PRId64 "'s actions failed: %s", id, store_message(c->a->db));
        return;
    }
    json_object_set_new(j, "actions", acts);
    reply(c, 200, j);
}

static void post_job_verb(ctx *c)
{
    int64_t id;
    if (!query_done(c) || !need_station(c) || !path_id(c, c->seg[2], "job", &id))
        return;
    static const char *const none[] = {NULL};
    json_t *body = body_object(c, true);
    if (!body)
        return;
    bool ok = only_keys(c, body, none, c->seg[3]);
    json_decref(body);
    if (!ok)
        return;
    char msg[MSG_LEN] = "", actor[API_ACTOR_LEN];
    actor_of(c, actor);
    station_err e = station_job_control(c->a->st, id, c->seg[3], actor, msg, sizeof msg);
    if (e != STATION_OK) {
        station_fail(c, e, msg);
        return;
    }
    json_t *j = station_job_json(c->a->st, id);
    if (!j)
        fail(c, 500, "job %" PRId64 " cannot be read back; GET /v1/jobs", id);
    else
        reply(c, 200, j);
}

/* ---- probes ----------------------------------------------------------------- */

static void get_probes(ctx *c)
{
    if (!query_done(c) || !need_station(c))
        return;
    reply(c, 200, station_probes_json(c->a->st));
}

static void get_probe(ctx *c)
{
    if (!query_done(c) || !need_station(c))
        return;
    json_t *j = station_probe_json(c->a->st, c->seg[2]);
    if (!j)
        fail(c, 404, "no probe with serial \"%s\"; GET /v1/probes lists them", c->seg[2]);
    else
        reply(c, 200, j);
}

static void post_probe_verb(ctx *c)
{
    if (!query_done(c) || !need_station(c))
        return;
    const char *verb = c->seg[3];
    bool quarantine = strcmp(verb, "quarantine") == 0;
    static const char *const reason_only[] = {"reason", NULL};
    static const char *const none[] = {NULL};
    json_t *body = body_object(c, !quarantine);
    if (!body)
        return;
    if (!only_keys(c, body, quarantine ? reason_only : none, verb)) {
        json_decref(body);
        return;
    }
    const char *reason = NULL;
    if (quarantine) {
        json_t *r = json_object_get(body, "reason");
        if (!json_is_string(r) || json_string_length(r) == 0) {
            fail(c, 400, "quarantine needs {\"reason\": \"...\"}: say why, for the operator");
            json_decref(body);
            return;
        }
        reason = json_string_value(r);
    }
    char msg[MSG_LEN] = "", actor[API_ACTOR_LEN];
    actor_of(c, actor);
    station_err e =
        station_probe_control(c->a->st, c->seg[2], verb, reason, actor, msg, sizeof msg);
    json_decref(body);
    if (e != STATION_OK) {
        station_fail(c, e, msg);
        return;
    }
    json_t *j = station_probe_json(c->a->st, c->seg[2]);
    if (!j)
        fail(c, 500, "probe %s cannot be read back; GET /v1/probes", c->seg[2]);
    else
        reply(c, 200, j);
}

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
            fail(c, 400, "result \"%s\" is not one of in_flight, ok, failed, interrupted", s);
            return false;
        }
        f->result = s;
    }
    if ((s = api_query_get(&c->q, "job")) && !parse_int(s, 1, INT64_MAX, &f->job_id)) {
        fail(c, 400, "job \"%s\" is not a job id (a positive integer)", s);
        return false;
    }
    if ((s = api_query_get(&c->q, "serial"))) {
        if (!parse_int(s, INT64_MIN, INT64_MAX, &f->serial)) {
            fail(c, 400, "serial \"%s\" is not a serial number (a decimal integer)", s);
            return false;
        }
        f->has_serial = true;
    }
    const char *names[2] = {"since", "until"};
    int64_t *dst[2] = {&f->since_ms, &f->until_ms};
    for (int i = 0; i < 2; i++) {
        if ((s = api_query_get(&c->q, names[i])) && !time_arg(s, dst[i])) {
            fail(c, 400,
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

static void get_units(ctx *c)
{
    store_unit_filter f;
    bool empty;
    if (!unit_filter(c, &f, &empty))
        return;
    const char *ls = api_query_get(&c->q, "limit");
    const char *os = api_query_get(&c->q, "offset");
    if (!query_done(c))
        return;
    f.limit = UNITS_DEFAULT_LIMIT;
    if (ls && !parse_int(ls, 1, UNITS_MAX_LIMIT, &f.limit)) {
        fail(c, 400, "limit \"%s\" must be an integer from 1 to %d; page with offset", ls,
             UNITS_MAX_LIMIT);
        return;
    }
    if (os && !parse_int(os, 0, INT64_MAX, &f.offset)) {
        fail(c, 400, "offset \"%s\" must be an integer, 0 or more", os);
        return;
    }
    unit_list l = {json_array(), false};
    store_err e = empty ? STORE_OK : store_units_query(c->a->db, &f, on_unit_list, &l);
    if (e != STORE_OK || l.failed) {
        json_decref(l.arr);
        fail(c, 500, "querying units failed: %s", e ? store_message(c->a->db) : "out of memory");
        return;
    }
    reply(c, 200, json_pack("{s:o}", "units", l.arr));
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
            json_array_append_new(rec, json_pack("{s:o,s:s,s:b}", "at", view_time(r->at_ms), "step",
                                                 r->step, "ok", r->ok));
            return 0;
        }
    }
    return 0;
}

static void get_unit(ctx *c)
{
    int64_t id;
    if (!query_done(c) || !path_id(c, c->seg[2], "unit", &id))
        return;
    store_unit u;
    store_err e = store_unit_get(c->a->db, id, &u);
    if (e == STORE_E_NOT_FOUND) {
        fail(c, 404, "no unit %" PRId64 "; GET /v1/units lists them", id);
        return;
    }
    if (e != STORE_OK) {
        fail(c, 500, "reading unit %" PRId64 " failed: %s", id, store_message(c->a->db));
        return;
    }
    history h = {json_array(), NULL, 0, false};
    e = store_unit_history(c->a->db, id, on_attempt, on_recovery, &h);
    free(h.ids);
    json_t *j = view_unit(&u);
    if (e != STORE_OK || h.failed || !j) {
        json_decref(h.attempts);
        json_decref(j);
        fail(c, 500, "reading unit %" PRId64 "'s attempts failed: %s", id,
             e ? store_message(c->a->db) : "out of memory");
        return;
    }
    /* The list replaces the count of attempts, as docs/api.md shows it. */
    json_object_set_new(j, "attempts", h.attempts);
    /* Who did what to its job (all of it: a pause before the unit shaped
     * it too) and to its probe while the unit ran. */
    char job[24];
    snprintf(job, sizeof job, "%" PRId64, u.job_id);
    json_t *on_job = actions_json(c, "job", job, 0, 0);
    json_t *on_probe =
        actions_json(c, "probe", u.probe, u.started_ms, u.finished_ms ? u.finished_ms + 1 : 0);
    if (!on_job || !on_probe) {
        json_decref(on_job);
        json_decref(on_probe);
        json_decref(j);
        fail(c, 500, "reading unit %" PRId64 "'s actions failed: %s", id, store_message(c->a->db));
        return;
    }
    json_array_extend(on_job, on_probe);
    json_decref(on_probe);
    json_object_set_new(j, "actions", on_job);
    json_object_set_new(j, "serial_state", view_str(u.serial_state));
    reply(c, 200, j);
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

static void get_export(ctx *c)
{
    store_unit_filter f;
    bool empty;
    if (!unit_filter(c, &f, &empty))
        return;
    const char *fs = api_query_get(&c->q, "format");
    if (!query_done(c))
        return;
    if (fs && strcmp(fs, "csv") != 0 && strcmp(fs, "jsonl") != 0) {
        fail(c, 400, "format \"%s\" is not csv or jsonl", fs);
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
        fail(c, 500, "export failed: out of memory");
        return;
    }
    c->resp->status = 200;
    c->resp->content_type = x->csv ? "text/csv" : "application/x-ndjson";
    c->resp->stream = export_next;
    c->resp->stream_user = x;
    c->resp->stream_free = export_free;
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
    if (!query_done(c) || !need_station(c))
        return;
    char *text = station_metrics_text(c->a->st);
    if (!text) {
        fail(c, 500, "out of memory while rendering the metrics");
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
        fail(&c, 404, "no resource %s; the API lives under /v1 (see docs/api.md)", req->path);
    } else if (!hit) {
        /* http_response has no headers, so the Allow list goes in the
         * message. */
        fail(&c, 405, "%s is not allowed on %s; this resource allows %s", req->method, req->path,
             allow);
    } else if (strcmp(method, "GET") != 0 && !req->may_write) {
        if (req->via_tcp)
            fail(&c, 401,
                 "writes on the TCP address need \"Authorization: Bearer TOKEN\" with the "
                 "daemon's http_token; or use the Unix socket");
        else
            fail(&c, 403,
                 "your uid may not write to this daemon; run as root or join the socket's "
                 "group");
    } else if (!api_query_from_args(req->args, req->nargs, &c.q, msg, sizeof msg)) {
        fail(&c, 400, "%s", msg);
    } else {
        hit->fn(&c);
    }
    api_query_free(&c.q);
    free(c.segbuf);
}
