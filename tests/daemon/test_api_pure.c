/*
 * flashlined's pure pieces: RFC 4180 CSV fields, query arguments (as the
 * transport decoded them), the config file; and the router's refusals (404,
 * 405, 401/403, unknown arguments, bad ids, malformed JSON) through
 * api_handle with a fake station that records every call, so a refused
 * request is seen to reach nothing.
 */
#include "api.h"
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a fake station: counts calls, knows job 1 and probe "P1" ------------- */

typedef struct fake {
    int calls;           /* station calls that could change something */
    char last_actor[64]; /* who the API said asked, on the last such call */
} fake;

struct station {
    fake f;
};

int station_http_status(station_err e)
{
    static const int st[] = {200, 400, 404, 409, 422, 500};
    return st[e];
}

const char *station_err_code(station_err e)
{
    static const char *const c[] = {"ok",       "bad_request",   "not_found",
                                    "conflict", "unprocessable", "internal"};
    return c[e];
}

station_err station_job_create(station *s, const json_t *req, const char *actor, int64_t *id,
                               char *msg, size_t msglen)
{
    (void)req;
    snprintf(s->f.last_actor, sizeof s->f.last_actor, "%s", actor);
    s->f.calls++;
    *id = 1;
    snprintf(msg, msglen, "%s", "");
    return STATION_OK;
}

json_t *station_job_json(station *s, int64_t id)
{
    (void)s;
    return id == 1 ? json_pack("{s:I,s:s}", "id", (json_int_t)1, "state", "done") : NULL;
}

json_t *station_jobs_json(station *s)
{
    (void)s;
    return json_pack("{s:[]}", "jobs");
}

station_err station_job_control(station *s, int64_t id, const char *verb, const char *actor,
                                char *msg, size_t msglen)
{
    snprintf(s->f.last_actor, sizeof s->f.last_actor, "%s", actor);
    s->f.calls++;
    if (id != 1) {
        snprintf(msg, msglen, "no job %lld; GET /v1/jobs lists them", (long long)id);
        return STATION_E_NOT_FOUND;
    }
    snprintf(msg, msglen, "job 1 has ended; cannot %s it", verb);
    return STATION_E_CONFLICT;
}

json_t *station_probes_json(station *s)
{
    (void)s;
    return json_pack("{s:[]}", "probes");
}

json_t *station_probe_json(station *s, const char *serial)
{
    (void)s;
    return strcmp(serial, "P1") == 0 ? json_pack("{s:s}", "serial", "P1") : NULL;
}

station_err station_probe_control(station *s, const char *serial, const char *verb,
                                  const char *reason, const char *actor, char *msg, size_t msglen)
{
    snprintf(s->f.last_actor, sizeof s->f.last_actor, "%s", actor);
    (void)verb;
    (void)reason;
    (void)msglen;
    (void)msg;
    s->f.calls++;
    return strcmp(serial, "P1") == 0 ? STATION_OK : STATION_E_NOT_FOUND;
}

/* ---- CSV ------------------------------------------------------------------- */

static void csv_is(const char *in, const char *want)
{
    api_buf b = {0};
    api_buf_csv(&b, in);
    assert_false(b.failed);
    assert_string_equal(b.data ? b.data : "", want);
    free(b.data);
}

static void test_csv(void **state)
{
    (void)state;
    csv_is("", "");
    csv_is("plain", "plain");
    csv_is("a,b", "\"a,b\"");
    csv_is("say \"hi\"", "\"say \"\"hi\"\"\"");
    csv_is("two\nlines", "\"two\nlines\"");
    csv_is("cr\rhere", "\"cr\rhere\"");
    csv_is(" padded", "\" padded\"");
    csv_is("\"", "\"\"\"\"");
}

/* ---- query strings ------------------------------------------------------------ */

#define NARGS(a) (sizeof(a) / sizeof(a)[0])

static void test_query(void **state)
{
    (void)state;
    api_query q;
    char msg[256];
    /* As the transport hands them over: already percent-decoded. */
    static const char *const args[] = {
        "uid=0123", "probe=AB/CD", "result=ok",       "name=a b=c&d", "flag",
        "",         "x=",          "utf=\xe2\x82\xac"};
    assert_true(api_query_from_args(args, NARGS(args), &q, msg, sizeof msg));
    assert_int_equal(q.n, 7); /* the empty one is skipped */
    assert_string_equal(api_query_get(&q, "uid"), "0123");
    assert_string_equal(api_query_get(&q, "probe"), "AB/CD");
    assert_string_equal(api_query_get(&q, "name"), "a b=c&d"); /* split at the first '=' only */
    assert_string_equal(api_query_get(&q, "flag"), "");
    assert_string_equal(api_query_get(&q, "x"), "");
    assert_string_equal(api_query_get(&q, "utf"), "\xe2\x82\xac");
    assert_null(api_query_get(&q, "missing"));
    assert_null(api_query_get(&q, "")); /* the skipped empty argument has no name */
    assert_false(q.params[2].used);     /* result was never asked for */
    assert_true(q.params[0].used);
    api_query_free(&q);

    /* Nothing decodes twice: "%41" stays as it came, it is not "A". */
    static const char *const literal[] = {"a=%41%zz+"};
    assert_true(api_query_from_args(literal, 1, &q, msg, sizeof msg));
    assert_string_equal(api_query_get(&q, "a"), "%41%zz+");
    api_query_free(&q);

    assert_true(api_query_from_args(NULL, 0, &q, msg, sizeof msg));
    assert_int_equal(q.n, 0);
    api_query_free(&q);

    static const char *const noname[] = {"a=1", "=x"}, *const twice[] = {"a=1", "b", "a=2"},
                             *const twice_flag[] = {"a", "a="};
    static const struct {
        const char *const *args;
        size_t n;
        const char *says;
    } bad[] = {
        {noname, NARGS(noname), "without a name"},
        {twice, NARGS(twice), "\"a\" twice"},
        {twice_flag, NARGS(twice_flag), "\"a\" twice"},
    };
    for (size_t i = 0; i < NARGS(bad); i++) {
        msg[0] = '\0';
        if (api_query_from_args(bad[i].args, bad[i].n, &q, msg, sizeof msg))
            fail_msg("accepted bad query %zu", i);
        if (!strstr(msg, bad[i].says))
            fail_msg("bad query %zu: \"%s\" does not say %s", i, msg, bad[i].says);
        api_query_free(&q);
    }
}

/* ---- config ---------------------------------------------------------------- */

static void test_config(void **state)
{
    (void)state;
    config c;
    char msg[512];
    assert_true(config_init(&c));
    assert_string_equal(c.socket, CONFIG_DEFAULT_SOCKET);
    assert_int_equal(c.socket_mode, 0660);
    const char *text = "; flashlined on line 3\n"
                       "[daemon]\n"
                       "socket = /tmp/x.sock\n"
                       "db = /tmp/x.db\n"
                       "http = 127.0.0.1:8080\n"
                       "http_token = s3cret\n"
                       "socket_group = operators\n"
                       "socket_mode = 0666\n"
                       "max_upload_mb = 32\n"
                       "[probes]\n"
                       "use = AAA, BBB,CCC\n"
                       "ignore = DDD\n"
                       "[retention]\n"
                       "days = 365\n"
                       "[health]\n"
                       "window = 10\n"
                       "failing_recovery_percent = 90\n"
                       "degraded_attempts = 1.75\n"
                       "quarantine = false\n";
    assert_true(config_parse_string(&c, text, "t.conf", msg, sizeof msg));
    assert_int_equal(c.health.window, 10);
    assert_true(c.health.failing_recovery > 0.899 && c.health.failing_recovery < 0.901);
    assert_true(c.health.degraded_attempts > 1.749 && c.health.degraded_attempts < 1.751);
    assert_false(c.health.quarantine);
    assert_int_equal(c.health.failing_min_units, 5); /* untouched: the default */
    assert_string_equal(c.socket, "/tmp/x.sock");
    assert_string_equal(c.db, "/tmp/x.db");
    assert_string_equal(c.http, "127.0.0.1:8080");
    assert_string_equal(c.http_token, "s3cret");
    assert_string_equal(c.socket_group, "operators");
    assert_int_equal(c.socket_mode, 0666);
    assert_int_equal(c.max_upload_mb, 32);
    assert_string_equal(c.use_serials[0], "AAA");
    assert_string_equal(c.use_serials[1], "BBB");
    assert_string_equal(c.use_serials[2], "CCC");
    assert_null(c.use_serials[3]);
    assert_string_equal(c.ignore_serials[0], "DDD");
    assert_null(c.ignore_serials[1]);
    assert_int_equal(c.retention_days, 365);

    /* the command line wins */
    config cli;
    assert_true(config_init(&cli));
    assert_true(config_set(&cli, "daemon", "socket", "/run/other.sock", msg, sizeof msg));
    assert_true(config_set(&cli, "daemon", "socket_mode", "600", msg, sizeof msg));
    assert_true(config_overlay(&c, &cli));
    assert_string_equal(c.socket, "/run/other.sock");
    assert_int_equal(c.socket_mode, 0600);
    assert_string_equal(c.db, "/tmp/x.db");
    config_free(&cli);
    config_free(&c);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[daemon]\nsocket = /a\nsokcet = /b\n", "t.conf:3: unknown key \"sokcet\""},
        {"[deamon]\nsocket = /a\n", "t.conf:2: unknown section [deamon]"},
        {"[daemon]\nsocket_mode = 0999\n", "t.conf:2: socket_mode"},
        {"[daemon]\nsocket_mode = 01777\n", "t.conf:2: socket_mode"},
        {"[daemon]\nmax_upload_mb = lots\n", "t.conf:2: max_upload_mb"},
        {"[daemon]\nhttp = 8080:\n", "t.conf:2: http"},
        {"[daemon]\nhttp = ::1:80\n", "t.conf:2: http"},
        {"[probes]\nuse = A,,B\n", "t.conf:2: empty serial"},
        {"[retention]\ndays = -1\n", "t.conf:2: days"},
        {"[health]\nwindow = 0\n", "t.conf:2: [health] window"},
        {"[health]\nfailing_recovery_percent = 150\n", "t.conf:2: [health] failing_recovery"},
        {"[health]\nquarantine = maybe\n", "t.conf:2: [health] quarantine"},
        {"[health]\nwindows = 3\n", "t.conf:2: [health] windows"},
        {"[daemon]\n\n\nthis is not ini\n", "t.conf:4: not INI syntax"},
        {"[daemon]\ndb =\n", "t.conf:2: db is empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_true(config_init(&c));
        msg[0] = '\0';
        if (config_parse_string(&c, bad[i].text, "t.conf", msg, sizeof msg))
            fail_msg("accepted bad config %zu", i);
        if (strncmp(msg, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("config %zu: got \"%s\", want it to start \"%s\"", i, msg, bad[i].want);
        config_free(&c);
    }
    assert_true(config_init(&c));
    assert_false(config_parse_file(&c, "/nonexistent/flashline.conf", msg, sizeof msg));
    assert_non_null(strstr(msg, "cannot read"));
    config_free(&c);

    char *addr;
    int port;
    assert_true(config_split_http("[::1]:8080", &addr, &port));
    assert_string_equal(addr, "::1");
    assert_int_equal(port, 8080);
    free(addr);
    assert_true(config_split_http(":9000", &addr, &port));
    assert_null(addr);
    assert_int_equal(port, 9000);
    assert_true(config_split_http("9001", &addr, &port));
    assert_null(addr);
    assert_false(config_split_http("host:0", &addr, &port));
    assert_false(config_split_http("host:65536", &addr, &port));
}

/* ---- routing through api_handle with the fake station ------------------------ */

typedef struct rig {
    station st;
    api a;
    char path[256];
} rig;

static int rig_setup(void **state)
{
    rig *r = calloc(1, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s/test_api_%d.db", API_TMPDIR, (int)getpid());
    unlink(r->path);
    char msg[256];
    if (store_open(r->path, &r->a.db, msg, sizeof msg) != STORE_OK)
        fail_msg("store_open: %s", msg);
    r->a.st = &r->st;
    r->a.max_upload = 1024;
    *state = r;
    return 0;
}

static int rig_teardown(void **state)
{
    rig *r = *state;
    store_close(r->a.db);
    char p[300];
    unlink(r->path);
    snprintf(p, sizeof p, "%s-wal", r->path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", r->path);
    unlink(p);
    free(r);
    return 0;
}

/* One request; returns the status and checks the error shape for >= 400. */
/* query is given as the transport hands it over: "a=1&b=x y", already
 * decoded; it is split at '&' into the request's args. */
static int call(rig *r, const char *method, const char *path, const char *query, const char *body,
                bool may_write, bool tcp, json_t **out)
{
    char qbuf[512];
    const char *args[16];
    size_t nargs = 0;
    snprintf(qbuf, sizeof qbuf, "%s", query);
    for (char *save = NULL, *a = strtok_r(qbuf, "&", &save); a && nargs < 16;
         a = strtok_r(NULL, "&", &save))
        args[nargs++] = a;
    http_request req = {
        .method = method,
        .path = path,
        .query = query,
        .args = args,
        .nargs = nargs,
        .body = (const uint8_t *)(body ? body : ""),
        .body_len = body ? strlen(body) : 0,
        .content_type = "",
        .via_tcp = tcp,
        .may_write = may_write,
        .peer_uid = 1000,
    };
    http_response resp = {0};
    api_handle(&r->a, &req, &resp);
    json_error_t e;
    json_t *j = resp.body ? json_loadb(resp.body, resp.body_len, 0, &e) : NULL;
    if (resp.status >= 400) {
        if (!j)
            fail_msg("%s %s: %d without a JSON body", method, path, resp.status);
        json_t *err = json_object_get(j, "error");
        assert_true(json_is_string(json_object_get(err, "code")));
        assert_true(json_string_length(json_object_get(err, "message")) > 10);
    }
    free(resp.body);
    if (out)
        *out = j;
    else
        json_decref(j);
    return resp.status;
}

static void test_routes(void **state)
{
    rig *r = *state;
    assert_int_equal(call(r, "GET", "/v1/jobs", "", NULL, true, false, NULL), 200);
    assert_int_equal(call(r, "GET", "/v1/jobs/", "", NULL, true, false, NULL), 200);
    assert_int_equal(call(r, "HEAD", "/v1/jobs", "", NULL, true, false, NULL), 200);
    assert_int_equal(call(r, "GET", "/v1/nothing", "", NULL, true, false, NULL), 404);
    assert_int_equal(call(r, "GET", "/", "", NULL, true, false, NULL), 200); /* the dashboard */
    assert_int_equal(call(r, "GET", "//", "", NULL, true, false, NULL), 404);
    assert_int_equal(call(r, "GET", "/v1//jobs", "", NULL, true, false, NULL), 404);
    assert_int_equal(call(r, "GET", "/metrics", "", NULL, true, false, NULL), 200);
    assert_int_equal(call(r, "DELETE", "/v1/jobs", "", NULL, true, false, NULL), 405);
    assert_int_equal(call(r, "POST", "/v1/units", "", "{}", true, false, NULL), 405);
    assert_int_equal(call(r, "GET", "/v1/jobs/1/pause", "", NULL, true, false, NULL), 405);
    assert_int_equal(call(r, "GET", "/v1/jobs/abc", "", NULL, true, false, NULL), 400);
    assert_int_equal(call(r, "GET", "/v1/jobs/-1", "", NULL, true, false, NULL), 400);
    assert_int_equal(call(r, "GET", "/v1/jobs/2", "", NULL, true, false, NULL), 404);
    assert_int_equal(call(r, "GET", "/v1/jobs/1", "", NULL, true, false, NULL), 200);
    assert_int_equal(call(r, "GET", "/v1/jobs", "x=1", NULL, true, false, NULL), 400);
    assert_int_equal(call(r, "GET", "/v1/units/abc", "", NULL, true, false, NULL), 400);
    assert_int_equal(call(r, "GET", "/v1/units/5", "", NULL, true, false, NULL), 404);
    assert_int_equal(call(r, "GET", "/v1/units", "limit=0", NULL, true, false, NULL), 400);
    assert_int_equal(call(r, "GET", "/v1/units", "limit=10001", NULL, true, false, NULL), 400);
    assert_int_equal(call(r, "GET", "/v1/units", "since=yesterday", NULL, true, false, NULL), 400);
    assert_int_equal(call(r, "GET", "/v1/units", "result=great", NULL, true, false, NULL), 400);
    assert_int_equal(call(r, "GET", "/v1/units", "=x", NULL, true, false, NULL), 400);
    assert_int_equal(call(r, "GET", "/v1/units", "limit=5&limit=6", NULL, true, false, NULL), 400);
    assert_int_equal(
        call(r, "GET", "/v1/units", "limit=10000&since=2026-01-01", NULL, true, false, NULL), 200);
    assert_int_equal(call(r, "GET", "/v1/export", "limit=5", NULL, true, false, NULL), 400);
    assert_int_equal(call(r, "GET", "/v1/export", "format=xml", NULL, true, false, NULL), 400);
    assert_int_equal(call(r, "GET", "/v1/images/abc", "", NULL, true, false, NULL), 400);
    assert_int_equal(call(r, "GET",
                          "/v1/images/"
                          "0123456789abcdef0123456789abcdef"
                          "0123456789abcdef0123456789abcdef",
                          "", NULL, true, false, NULL),
                     404);
    assert_int_equal(call(r, "GET", "/v1/probes/P2", "", NULL, true, false, NULL), 404);
    assert_int_equal(call(r, "GET", "/v1/probes/P1", "", NULL, true, false, NULL), 200);
    assert_int_equal(r->st.f.calls, 0);

    /* writes refused before reaching the station */
    assert_int_equal(call(r, "POST", "/v1/jobs", "", "{}", false, false, NULL), 403);
    assert_int_equal(call(r, "POST", "/v1/jobs", "", "{}", false, true, NULL), 401);
    assert_int_equal(call(r, "POST", "/v1/jobs", "", "{\"image\": 1", true, false, NULL), 400);
    assert_int_equal(call(r, "POST", "/v1/jobs", "", "[1]", true, false, NULL), 400);
    assert_int_equal(call(r, "POST", "/v1/jobs", "", "", true, false, NULL), 400);
    assert_int_equal(call(r, "POST", "/v1/jobs", "", "{\"a\":1,\"a\":2}", true, false, NULL), 400);
    assert_int_equal(call(r, "POST", "/v1/jobs", "dry=1", "{}", true, false, NULL), 400);
    assert_int_equal(call(r, "POST", "/v1/jobs/1/pause", "", "{\"now\": true}", true, false, NULL),
                     400);
    assert_int_equal(call(r, "POST", "/v1/probes/P1/quarantine", "", "{}", true, false, NULL), 400);
    assert_int_equal(
        call(r, "POST", "/v1/probes/P1/quarantine", "", "{\"reason\": \"\"}", true, false, NULL),
        400);
    assert_int_equal(call(r, "POST", "/v1/probes/P1/quarantine", "",
                          "{\"reason\": \"x\", \"y\": 1}", true, false, NULL),
                     400);
    assert_int_equal(call(r, "POST", "/v1/images", "format=zip", "x", true, false, NULL), 400);
    assert_int_equal(call(r, "POST", "/v1/images", "base=0xZZ", "x", true, false, NULL), 400);
    assert_int_equal(call(r, "POST", "/v1/images", "base=0x100000000", "x", true, false, NULL),
                     400);
    assert_int_equal(call(r, "POST", "/v1/images", "format=ihex", "nonsense", true, false, NULL),
                     400);
    assert_int_equal(call(r, "POST", "/v1/images", "", "", true, false, NULL), 400);
    char big[1100];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(call(r, "POST", "/v1/images", "", big, true, false, NULL), 413);
    assert_int_equal(r->st.f.calls, 0);

    /* the station's errors map through */
    json_t *j;
    assert_int_equal(call(r, "POST", "/v1/jobs/1/pause", "", NULL, true, false, &j), 409);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                        "conflict");
    json_decref(j);
    assert_int_equal(call(r, "POST", "/v1/jobs/9/cancel", "", "{}", true, false, NULL), 404);
    assert_int_equal(call(r, "POST", "/v1/probes/P1/release", "", NULL, true, false, NULL), 200);
    assert_int_equal(call(r, "POST", "/v1/probes/P1/quarantine", "", "{\"reason\": \"bent pin\"}",
                          true, false, NULL),
                     200);
    assert_int_equal(call(r, "POST", "/v1/jobs", "", "{\"image\": \"x\"}", true, false, NULL), 201);
    /* who asked goes with every change: the Unix peer's uid, or the TCP
     * token's holder */
    assert_string_equal(r->st.f.last_actor, "uid:1000");
    assert_int_equal(call(r, "POST", "/v1/jobs/1/cancel", "", NULL, true, true, NULL), 409);
    assert_string_equal(r->st.f.last_actor, "tcp-token");
    assert_int_equal(call(r, "POST", "/v1/probes/P1/release", "", NULL, true, false, NULL), 200);
    assert_string_equal(r->st.f.last_actor, "uid:1000");
}

static int count_upload(void *user, const store_action *a)
{
    assert_string_equal(a->verb, "image.upload");
    assert_string_equal(a->actor, "uid:1000");
    (*(int *)user)++;
    return 0;
}

static void test_images(void **state)
{
    rig *r = *state;
    json_t *j;
    const char *hex = ":0400000001020304F2\n:00000001FF\n";
    assert_int_equal(
        call(r, "POST", "/v1/images", "format=auto&base=0x08000000", hex, true, false, &j), 201);
    assert_string_equal(json_string_value(json_object_get(j, "format")), "ihex");
    assert_int_equal(json_integer_value(json_object_get(j, "size")), 4);
    json_t *seg = json_array_get(json_object_get(j, "segments"), 0);
    assert_string_equal(json_string_value(json_object_get(seg, "addr")), "0x00000000");
    char path[100];
    snprintf(path, sizeof path, "/v1/images/%s", json_string_value(json_object_get(j, "sha256")));
    json_t *again;
    assert_int_equal(call(r, "GET", path, "", NULL, true, false, &again), 200);
    assert_true(json_equal(j, again));
    json_decref(again);
    json_decref(j);

    assert_int_equal(
        call(r, "POST", "/v1/images", "format=bin&base=134217728", "abcd", true, false, &j), 201);
    seg = json_array_get(json_object_get(j, "segments"), 0);
    assert_string_equal(json_string_value(json_object_get(seg, "addr")), "0x08000000");
    const char *sha = json_string_value(json_object_get(j, "sha256"));
    /* the upload is an action of its uploader, in the store */
    int found = 0;
    store_action_filter f = {.target_kind = "image", .target = sha};
    assert_int_equal(store_actions_query(r->a.db, &f, count_upload, &found), STORE_OK);
    assert_int_equal(found, 1);
    json_decref(j);
}

#define CSV_HEADER                                                                                 \
    "id,job,probe,uid,chip,serial_number,image,result,error,started_at,finished_at,attempts,"      \
    "recovery_steps\r\n"

/* GET /v1/export?ARG (one "format=..." argument). */
static http_request export_request(const char *const *arg)
{
    return (http_request){.method = "GET",
                          .path = "/v1/export",
                          .query = arg[0],
                          .args = arg,
                          .nargs = 1,
                          .body = (const uint8_t *)"",
                          .content_type = "",
                          .may_write = true};
}

/* GET /v1/export through the handler, its streamed body drained as the
 * transport would, in pieces of 7 bytes; page: units per store query. */
static char *export_body(rig *r, const http_request *req, size_t page)
{
    r->a.export_page = page;
    http_response resp = {0};
    api_handle(&r->a, req, &resp);
    assert_int_equal(resp.status, 200);
    assert_null(resp.body);
    assert_non_null(resp.stream);
    size_t len = 0, cap = 1024;
    char *out = malloc(cap);
    bool done = false;
    while (!done) {
        if (len + 8 > cap)
            out = realloc(out, cap *= 2);
        len += resp.stream(resp.stream_user, out + len, 7, &done);
    }
    out[len] = '\0';
    resp.stream_free(resp.stream_user);
    r->a.export_page = 0;
    return out;
}

static void test_units(void **state)
{
    rig *r = *state;
    store *db = r->a.db;
    /* No units yet: the header alone (the first page is empty, so the
     * stream has no buffer at all; UBSan caught a memcpy from NULL here). */
    static const char *const csv_arg[] = {"format=csv"}, *const jsonl_arg[] = {"format=jsonl"};
    http_request none = export_request(csv_arg);
    char *head = export_body(r, &none, 0);
    assert_string_equal(head, CSV_HEADER);
    free(head);
    none = export_request(jsonl_arg);
    head = export_body(r, &none, 0);
    assert_string_equal(head, "");
    free(head);
    const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_int_equal(store_image_put(db, sha, "bin", 0x08000000, "abcd", 4, 1000), STORE_OK);
    store_job j = {.image = "",
                   .count = 2,
                   .has_serial = true,
                   .next_serial = 1014,
                   .serial_step = 1,
                   .created_ms = 1000,
                   .submitted_uid = 0};
    snprintf(j.image, sizeof j.image, "%s", sha);
    snprintf(j.name, sizeof j.name, "rev C");
    j.recipe_json = "{}";
    int64_t job, unit, att;
    bool has;
    int64_t serial;
    assert_int_equal(store_job_create(db, &j, &job), STORE_OK);
    assert_int_equal(store_unit_begin(db, job, "P1", "0123456789ABCDEF01234567", "stm32f103rb",
                                      INT64_C(1795621200123), &unit, &has, &serial),
                     STORE_OK);
    assert_int_equal(store_attempt_begin(db, unit, 1, INT64_C(1795621200200), &att), STORE_OK);
    assert_int_equal(store_recovery_add(db, unit, att, "lower SWD clock, \"1.8 MHz\"", true,
                                        INT64_C(1795621200300)),
                     STORE_OK);
    assert_int_equal(store_attempt_end(db, att, "ok", "done", NULL, INT64_C(1795621200400)),
                     STORE_OK);
    assert_int_equal(store_unit_end(db, unit, "ok", NULL, INT64_C(1795621200500)), STORE_OK);

    json_t *u;
    char path[64];
    snprintf(path, sizeof path, "/v1/units/%lld", (long long)unit);
    assert_int_equal(call(r, "GET", path, "", NULL, true, false, &u), 200);
    assert_string_equal(json_string_value(json_object_get(u, "serial_number")), "1014");
    assert_true(json_is_null(json_object_get(u, "error")));
    assert_string_equal(json_string_value(json_object_get(u, "started_at")),
                        "2026-11-25T15:40:00.123Z");
    assert_string_equal(json_string_value(json_object_get(u, "finished_at")),
                        "2026-11-25T15:40:00.500Z");
    json_t *a = json_array_get(json_object_get(u, "attempts"), 0);
    assert_int_equal(json_integer_value(json_object_get(a, "n")), 1);
    json_t *rec = json_array_get(json_object_get(a, "recovery"), 0);
    assert_true(json_is_true(json_object_get(rec, "ok")));
    assert_string_equal(json_string_value(json_object_get(rec, "at")), "2026-11-25T15:40:00.300Z");
    json_decref(u);

    json_t *l;
    assert_int_equal(call(r, "GET", "/v1/units", "serial=1014&result=ok&since=2026-11-25", NULL,
                          true, false, &l),
                     200);
    assert_int_equal(json_array_size(json_object_get(l, "units")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(l, "units"), 0), "attempts")),
                     1);
    json_decref(l);
    assert_int_equal(call(r, "GET", "/v1/units", "until=2026-11-25", NULL, true, false, &l), 200);
    assert_int_equal(json_array_size(json_object_get(l, "units")), 0);
    json_decref(l);

    /* since/until: every form of a time (util/iso8601.h, tested in
     * tests/util) plus ms since the epoch; the unit started at
     * 1795621200123 = 2026-11-25T15:40:00.123Z, since is inclusive and
     * until exclusive. */
    static const struct {
        const char *query;
        size_t units;
    } times[] = {
        {"since=1795621200123", 1},
        {"since=1795621200124", 0},
        {"until=1795621200124", 1},
        {"since=2026-11-25T15:40:00.123Z", 1},
        {"since=2026-11-25T16:40:00.123+01:00", 1},
        {"since=2026-11-25T16:40:00.124+01:00", 0},
        {"until=2026-11-25T14:40:00.124-01:00", 1},
        {"until=2026-11-25T14:40:00.123-01:00", 0},
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        if (call(r, "GET", "/v1/units", times[i].query, NULL, true, false, &l) != 200)
            fail_msg("GET /v1/units?%s refused", times[i].query);
        if (json_array_size(json_object_get(l, "units")) != times[i].units)
            fail_msg("GET /v1/units?%s: %zu units, not %zu", times[i].query,
                     json_array_size(json_object_get(l, "units")), times[i].units);
        json_decref(l);
    }
    static const char *const bad_times[] = {
        "since=yesterday",
        "since=-5",
        "since=12a",
        "since=99999999999999999999",
        "since=2026-02-30",
        "until=2026-11-25T15:40:00+24:00",
        "until=2026-11-25T15:40:00",
        "since=253402300800000", /* year 10000 */
    };
    for (size_t i = 0; i < sizeof bad_times / sizeof bad_times[0]; i++)
        if (call(r, "GET", "/v1/units", bad_times[i], NULL, true, false, NULL) != 400)
            fail_msg("GET /v1/units?%s not refused", bad_times[i]);

    /* Two more boards, started at the same moment (a tie the pages split). */
    for (int i = 0; i < 2; i++) {
        int64_t more;
        char uid[32];
        snprintf(uid, sizeof uid, "00000000000000000000000%d", i);
        assert_int_equal(store_unit_begin(db, job, "P1", uid, "stm32f103rb", INT64_C(1795621300000),
                                          &more, &has, &serial),
                         STORE_OK);
    }
    http_request req = export_request(csv_arg);
    char *csv = export_body(r, &req, 0);
    assert_non_null(strstr(csv, CSV_HEADER));
    assert_non_null(strstr(csv, ",1014,"));
    /* Pages of one unit give the same bytes as the default pages. */
    char *paged = export_body(r, &req, 1);
    assert_string_equal(paged, csv);
    free(paged);
    free(csv);
    req = export_request(jsonl_arg);
    char *jl = export_body(r, &req, 0);
    char *jl1 = export_body(r, &req, 1);
    assert_string_equal(jl, jl1);
    /* One line per unit, as /v1/units lists them. */
    assert_int_equal(call(r, "GET", "/v1/units", "", NULL, true, false, &l), 200);
    size_t nl = 0;
    for (const char *p = jl; *p; p++)
        nl += *p == '\n';
    assert_int_equal(nl, json_array_size(json_object_get(l, "units")));
    assert_int_equal(nl, 3);
    json_decref(l);
    free(jl);
    free(jl1);
}

/* The HTTP transport's settings, and the token read from a file. */
static void test_config_http(void **state)
{
    (void)state;
    config c;
    char msg[512];
    assert_true(config_init(&c));
    const char *text = "[daemon]\n"
                       "http_token_file = /etc/flashline/token\n"
                       "http_hosts = line7.local, 10.0.0.7\n"
                       "http_max_connections = 512\n"
                       "http_max_connections_per_peer = 16\n"
                       "http_max_streams = 8\n"
                       "http_request_timeout_s = 20\n"
                       "http_idle_timeout_s = 90\n";
    assert_true(config_parse_string(&c, text, "t.conf", msg, sizeof msg));
    assert_string_equal(c.http_token_file, "/etc/flashline/token");
    assert_string_equal(c.http_hosts[0], "line7.local");
    assert_string_equal(c.http_hosts[1], "10.0.0.7");
    assert_null(c.http_hosts[2]);
    assert_int_equal(c.http_max_connections, 512);
    assert_int_equal(c.http_max_per_peer, 16);
    assert_int_equal(c.http_max_streams, 8);
    assert_int_equal(c.http_request_timeout_s, 20);
    assert_int_equal(c.http_idle_timeout_s, 90);
    assert_false(
        config_parse_string(&c, "[daemon]\nhttp_max_streams = 0\n", "t.conf", msg, sizeof msg));
    assert_non_null(strstr(msg, "t.conf:2: http_max_streams"));
    assert_false(
        config_parse_string(&c, "[daemon]\nhttp_hosts = a,,b\n", "t.conf", msg, sizeof msg));
    assert_non_null(strstr(msg, "empty host name"));
    config_free(&c);

    char path[256];
    snprintf(path, sizeof path, "%s/token_%d", API_TMPDIR, (int)getpid());
    FILE *fp = fopen(path, "w");
    fputs("  s3cret-T0ken \nsecond line ignored\n", fp);
    fclose(fp);
    char *tok = NULL;
    chmod(path, 0644);
    assert_false(config_read_token(path, &tok, msg, sizeof msg));
    assert_non_null(strstr(msg, "chmod 0600"));
    assert_null(tok);
    chmod(path, 0640); /* the daemon's group may read it */
    assert_true(config_read_token(path, &tok, msg, sizeof msg));
    assert_string_equal(tok, "s3cret-T0ken");
    free(tok);
    fp = fopen(path, "w");
    fputs("\n", fp);
    fclose(fp);
    assert_false(config_read_token(path, &tok, msg, sizeof msg));
    assert_non_null(strstr(msg, "is empty"));
    unlink(path);
    assert_false(config_read_token(path, &tok, msg, sizeof msg));
    assert_non_null(strstr(msg, "cannot read the token file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_config_http),
        cmocka_unit_test_setup_teardown(test_routes, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_images, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_units, rig_setup, rig_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
