/*
 * daemon/http: the transport on a real libuv loop in this thread, driven by
 * libcurl from a second thread (and, for the access policy, from a child
 * process running as nobody).
 */
#define _GNU_SOURCE /* setgroups, mkdtemp */
#include "http.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

/* ----------------------------------------------------------------- fixture */

typedef struct call {
    char method[16], path[256], query[256], ctype[128];
    char args[8][64];
    size_t nargs;
    char body[8192];
    size_t body_len;
    bool via_tcp, may_write;
    long peer_uid;
} call;

typedef struct resp {
    CURLcode rc;
    long status;
    char ctype[128];
    char *body;
    size_t len;
    curl_off_t content_length;
    long new_conns;
    char www_auth[64], allow[64], cache_control[64];
} resp;

typedef struct fx fx;
struct fx {
    uv_loop_t loop;
    http_server *srv;
    http_config cfg;
    char dir[40], sock[64], url[160];
    int port;
    pthread_mutex_t mu;
    int ncalls;
    call last;
    void (*client)(fx *);  /* runs on the second thread */
    void (*on_tick)(fx *); /* runs on the loop every 5 ms */
    pthread_t th;
    uv_async_t done;
    uv_timer_t tick;
    /* per-test scratch shared between the two threads */
    atomic_int stage;
    atomic_int flag;
    resp r[10];
    int child_status;
    char sse[8192];
    size_t sse_len;
    char *big;
    size_t big_len;
};

static void handler(void *user, const http_request *req, http_response *out)
{
    fx *f = user;
    pthread_mutex_lock(&f->mu);
    f->ncalls++;
    call *c = &f->last;
    memset(c, 0, sizeof *c);
    snprintf(c->method, sizeof c->method, "%s", req->method);
    snprintf(c->path, sizeof c->path, "%s", req->path);
    snprintf(c->query, sizeof c->query, "%s", req->query);
    snprintf(c->ctype, sizeof c->ctype, "%s", req->content_type);
    c->nargs = req->nargs;
    for (size_t i = 0; i < req->nargs && i < 8; i++)
        snprintf(c->args[i], sizeof c->args[i], "%s", req->args[i]);
    c->body_len = req->body_len;
    memcpy(c->body, req->body, req->body_len < sizeof c->body ? req->body_len : sizeof c->body);
    c->via_tcp = req->via_tcp;
    c->may_write = req->may_write;
    c->peer_uid = req->peer_uid;
    pthread_mutex_unlock(&f->mu);

    if (strcmp(req->path, "/echo") == 0) {
        size_t n = strlen(req->method) + strlen(req->path) + strlen(req->query) + req->body_len + 4;
        out->body = malloc(n);
        int k = snprintf(out->body, n, "%s %s?%s ", req->method, req->path, req->query);
        memcpy(out->body + k, req->body, req->body_len);
        out->body_len = (size_t)k + req->body_len;
        out->status = 200;
        out->content_type = "text/plain";
    } else if (strcmp(req->path, "/v1/jobs") == 0) {
        out->body = strdup("{\"id\":3}");
        out->body_len = strlen(out->body);
        out->status = 201; /* default content type */
    } else if (strcmp(req->path, "/big") == 0) {
        out->body = malloc(f->big_len);
        memcpy(out->body, f->big, f->big_len);
        out->body_len = f->big_len;
        out->status = 200;
        out->content_type = "application/octet-stream";
    } else if (strcmp(req->path, "/nostatus") == 0) {
        out->body = strdup("lost");
        out->body_len = 4;
    } else {
        out->status = 404;
        out->body = strdup("{\"error\":{\"code\":\"not_found\",\"message\":\"no\"}}");
        out->body_len = strlen(out->body);
    }
}

static int ncalls(fx *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->ncalls;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/flashline-http-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->sock, sizeof f->sock, "%s/api.sock", f->dir);
    pthread_mutex_init(&f->mu, NULL);
    f->cfg.unix_path = f->sock;
    f->cfg.unix_mode = 0660;
    f->cfg.max_body = 64 * 1024;
    f->cfg.sse_path = "/v1/events";
    f->cfg.handler = handler;
    f->cfg.user = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    unlink(f->sock);
    DIR *d = opendir(f->dir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(f->dir);
    for (size_t i = 0; i < 10; i++)
        free(f->r[i].body);
    free(f->big);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_done(uv_async_t *a)
{
    fx *f = a->data;
    http_stop(f->srv);
    f->srv = NULL;
    uv_close((uv_handle_t *)&f->done, on_handle_closed);
    uv_timer_stop(&f->tick);
    uv_close((uv_handle_t *)&f->tick, on_handle_closed);
}

static void on_tick(uv_timer_t *t)
{
    fx *f = t->data;
    if (f->on_tick && f->srv)
        f->on_tick(f);
}

static void *client_main(void *arg)
{
    fx *f = arg;
    f->client(f);
    uv_async_send(&f->done);
    return NULL;
}

/* Start the server, run the client on a second thread against it, stop the
 * server when the client is done, and check the loop closes cleanly. */
static void run(fx *f)
{
    char msg[256] = "";
    assert_int_equal(uv_loop_init(&f->loop), 0);
    http_err e = http_start(&f->loop, &f->cfg, &f->srv, msg, sizeof msg);
    if (e != HTTP_OK)
        fail_msg("http_start: %d %s", e, msg);
    assert_int_equal(uv_async_init(&f->loop, &f->done, on_done), 0);
    f->done.data = f;
    assert_int_equal(uv_timer_init(&f->loop, &f->tick), 0);
    f->tick.data = f;
    uv_timer_start(&f->tick, on_tick, 5, 5);
    assert_int_equal(pthread_create(&f->th, NULL, client_main, f), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    pthread_join(f->th, NULL);
    /* http_stop + the loop's close callbacks left nothing behind. */
    assert_int_equal(uv_loop_close(&f->loop), 0);
    struct stat st;
    assert_int_not_equal(lstat(f->sock, &st), 0); /* the socket file is gone */
}

/* ------------------------------------------------------------- the client */

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    resp *r = arg;
    size_t len = size * n;
    char *b = realloc(r->body, r->len + len + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, len);
    r->body = b;
    r->len += len;
    b[r->len] = '\0';
    return len;
}

static void header_value(CURL *c, const char *name, char *out, size_t outlen)
{
    struct curl_header *h = NULL;
    out[0] = '\0';
    if (curl_easy_header(c, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
        snprintf(out, outlen, "%s", h->value);
}

typedef struct reqopt {
    const char *method;
    const char *target; /* path and query */
    const void *body;
    long body_len; /* -1: no body at all */
    const char *ctype, *auth;
    bool tcp;
} reqopt;

static void request(fx *f, CURL *c, const reqopt *o, resp *r)
{
    char url[512];
    free(r->body);
    memset(r, 0, sizeof *r);
    curl_easy_reset(c);
    if (o->tcp) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, o->target);
    } else {
        snprintf(url, sizeof url, "http://localhost%s", o->target);
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, f->sock);
    }
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    char line[256];
    if (o->ctype) {
        snprintf(line, sizeof line, "Content-Type: %s", o->ctype);
        h = curl_slist_append(h, line);
    }
    if (o->auth) {
        snprintf(line, sizeof line, "Authorization: %s", o->auth);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    if (strcmp(o->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (o->body_len >= 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, o->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body ? o->body : "");
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o->method);
    } else if (strcmp(o->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o->method);
    }
    r->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r->ctype, sizeof r->ctype, "%s", ct ? ct : "");
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->content_length);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &r->new_conns);
    header_value(c, "WWW-Authenticate", r->www_auth, sizeof r->www_auth);
    header_value(c, "Allow", r->allow, sizeof r->allow);
    curl_slist_free_all(h);
}

static int count_threads(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void count_handle(uv_handle_t *h, void *arg)
{
    (void)h;
    (*(int *)arg)++;
}

/* ------------------------------------------------------------------ tests */

static void peer_allowed_truth_table(void **state)
{
    (void)state;
    const long self = 1000, group = 50;
    assert_true(http_peer_allowed(0, 0, group, self));        /* root */
    assert_true(http_peer_allowed(0, 999, -1, self));         /* root, no group */
    assert_true(http_peer_allowed(self, 1, group, self));     /* the daemon's own user */
    assert_true(http_peer_allowed(2000, group, group, self)); /* primary group */
    assert_false(http_peer_allowed(2000, 51, group, self));   /* stranger */
    assert_false(http_peer_allowed(2000, -1, -1, self));      /* no group: no match on -1 */
    assert_false(http_peer_allowed(-1, group, group, self));  /* unknown peer */
    assert_false(http_peer_allowed(65534, 65534, group, self));
}

static void routing_client(fx *f)
{
    CURL *c = curl_easy_init();
    reqopt get = {.method = "GET", .target = "/echo?a=1&b=x%26y&c=hello+world", .body_len = -1};
    request(f, c, &get, &f->r[0]);
    pthread_mutex_lock(&f->mu);
    call first = f->last;
    pthread_mutex_unlock(&f->mu);
    reqopt post = {.method = "POST",
                   .target = "/v1/jobs",
                   .body = "{\"image\":\"abc\"}",
                   .body_len = 15,
                   .ctype = "application/json"};
    request(f, c, &post, &f->r[1]); /* same connection (keep-alive) */
    pthread_mutex_lock(&f->mu);
    f->stage = 1;
    snprintf(f->sse, sizeof f->sse, "%s|%s|%zu|%.*s|%s|%d", f->last.method, f->last.path,
             f->last.body_len, (int)f->last.body_len, f->last.body, f->last.ctype,
             f->last.may_write);
    pthread_mutex_unlock(&f->mu);
    reqopt del = {.method = "DELETE", .target = "/v1/nowhere", .body_len = -1};
    request(f, c, &del, &f->r[2]);
    reqopt nost = {.method = "GET", .target = "/nostatus", .body_len = -1};
    request(f, c, &nost, &f->r[3]);
    reqopt head = {.method = "HEAD", .target = "/echo", .body_len = -1};
    request(f, c, &head, &f->r[4]);
    reqopt big = {.method = "GET", .target = "/big", .body_len = -1};
    request(f, c, &big, &f->r[5]);
    reqopt nolen = {.method = "POST", .target = "/echo", .body_len = -1};
    request(f, c, &nolen, &f->r[6]);
    reqopt put0 = {.method = "PUT", .target = "/echo", .body = "", .body_len = 0};
    request(f, c, &put0, &f->r[7]);
    reqopt up = {.method = "PATCH", .target = "/echo", .body = f->big, .body_len = 60000};
    request(f, c, &up, &f->r[8]); /* a body in many pieces */
    curl_easy_cleanup(c);
    /* The first request's view, kept for the main thread. */
    pthread_mutex_lock(&f->mu);
    f->last = first;
    pthread_mutex_unlock(&f->mu);
}

static void routing_and_responses(void **state)
{
    fx *f = *state;
    f->big_len = 300 * 1024 + 7; /* several writeable callbacks */
    f->big = malloc(f->big_len);
    for (size_t i = 0; i < f->big_len; i++)
        f->big[i] = (char)(i * 7 + i / 1000);
    int threads_before = count_threads();

    char msg[256] = "";
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(http_start(&f->loop, &f->cfg, &f->srv, msg, sizeof msg), HTTP_OK);
    /* lws runs on this loop, with no thread of its own: its handles are on
     * our loop and the thread count did not change. */
    assert_int_equal(count_threads(), threads_before);
    int handles = 0;
    uv_walk(&f->loop, count_handle, &handles);
    assert_true(handles >= 3); /* listener poll, event pipe, lws idle/timer */
    struct stat st;
    assert_int_equal(lstat(f->sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0660);
    http_stop(f->srv);
    f->srv = NULL;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);

    f->client = routing_client;
    run(f);

    resp *r = f->r;
    assert_int_equal(r[0].rc, CURLE_OK);
    assert_int_equal(r[0].status, 200);
    assert_string_equal(r[0].ctype, "text/plain");
    assert_string_equal(r[0].body, "GET /echo?a=1&b=x%26y&c=hello%20world ");
    assert_int_equal(r[0].content_length, (curl_off_t)strlen(r[0].body));
    assert_string_equal(f->last.method, "GET");
    assert_string_equal(f->last.path, "/echo");
    assert_int_equal(f->last.nargs, 3);
    assert_string_equal(f->last.args[0], "a=1");
    assert_string_equal(f->last.args[1], "b=x&y");
    assert_string_equal(f->last.args[2], "c=hello world");
    assert_false(f->last.via_tcp);
    assert_true(f->last.may_write);
    assert_int_equal(f->last.peer_uid, (long)geteuid());
    assert_int_equal(f->last.body_len, 0);

    assert_int_equal(r[1].status, 201);
    assert_string_equal(r[1].ctype, "application/json");
    assert_string_equal(r[1].body, "{\"id\":3}");
    /* One request per connection (every head is checked before lws parses
     * it): the response said Connection: close, and curl connected anew. */
    assert_int_equal(r[1].new_conns, 1);
    assert_string_equal(f->sse, "POST|/v1/jobs|15|{\"image\":\"abc\"}|application/json|1");

    assert_int_equal(r[2].status, 404);
    assert_string_equal(r[2].ctype, "application/json");

    assert_int_equal(r[3].status, 500); /* the handler set no status */
    assert_non_null(strstr(r[3].body, "\"code\":\"internal\""));

    assert_int_equal(r[4].rc, CURLE_OK); /* HEAD: length without the body */
    assert_int_equal(r[4].status, 200);
    assert_int_equal(r[4].content_length, (curl_off_t)strlen("HEAD /echo? "));
    assert_int_equal(r[4].len, 0);

    assert_int_equal(r[5].status, 200);
    assert_int_equal(r[5].len, f->big_len);
    assert_memory_equal(r[5].body, f->big, f->big_len);

    assert_int_equal(r[6].status, 411); /* POST without Content-Length */
    assert_non_null(strstr(r[6].body, "\"code\":\"length_required\""));

    assert_int_equal(r[7].status, 200); /* PUT with an empty body */
    assert_string_equal(r[7].body, "PUT /echo? ");
    assert_int_equal(r[8].status, 200);
    assert_int_equal(r[8].len, strlen("PATCH /echo? ") + 60000);
    assert_memory_equal(r[8].body + strlen("PATCH /echo? "), f->big, 60000);
    assert_int_equal(ncalls(f), 8);
}

static void too_large_client(fx *f)
{
    CURL *c = curl_easy_init();
    static char big[4096];
    memset(big, 'x', sizeof big);
    reqopt o = {.method = "POST", .target = "/echo", .body = big, .body_len = sizeof big};
    request(f, c, &o, &f->r[0]);
    f->stage = ncalls(f);
    o.body_len = 1024; /* exactly the limit: fine, on the same client */
    request(f, c, &o, &f->r[1]);
    curl_easy_cleanup(c);
}

static void oversized_body_gets_413(void **state)
{
    fx *f = *state;
    f->cfg.max_body = 1024;
    f->client = too_large_client;
    run(f);
    assert_int_equal(f->r[0].rc, CURLE_OK);
    assert_int_equal(f->r[0].status, 413);
    assert_string_equal(f->r[0].ctype, "application/json");
    assert_non_null(strstr(f->r[0].body, "{\"error\":{\"code\":\"too_large\",\"message\":\""));
    assert_int_equal(f->stage, 0); /* the handler never saw it */
    assert_int_equal(f->r[1].status, 200);
    assert_int_equal(f->r[1].len, strlen("POST /echo? ") + 1024);
    assert_int_equal(ncalls(f), 1);
}

static size_t on_sse(char *p, size_t size, size_t n, void *arg)
{
    fx *f = arg;
    size_t len = size * n;
    if (f->sse_len + len >= sizeof f->sse)
        return 0;
    memcpy(f->sse + f->sse_len, p, len);
    f->sse_len += len;
    f->sse[f->sse_len] = '\0';
    /* Done once the last event and a keepalive after the first have come. */
    if (strstr(f->sse, "event: last\n") && strstr(f->sse, "\n\n: keepalive\n\n"))
        return 0; /* stop the transfer */
    return len;
}

static void sse_client(fx *f)
{
    CURL *c = curl_easy_init();
    char url[64];
    snprintf(url, sizeof url, "http://localhost/v1/events");
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, f->sock);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_sse);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    f->r[0].rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->r[0].status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(f->r[0].ctype, sizeof f->r[0].ctype, "%s", ct ? ct : "");
    header_value(c, "Cache-Control", f->r[0].cache_control, sizeof f->r[0].cache_control);
    curl_easy_cleanup(c);
    /* Wait for the server to notice the client left. */
    for (int i = 0; i < 2000 && f->flag == 0; i++)
        usleep(1000);
    /* And POST on the stream's path is refused. */
    c = curl_easy_init();
    reqopt o = {.method = "POST", .target = "/v1/events", .body = "x", .body_len = 1};
    request(f, c, &o, &f->r[1]);
    curl_easy_cleanup(c);
}

static void sse_tick(fx *f)
{
    size_t n = http_sse_clients(f->srv);
    if (f->stage == 0 && n == 1) {
        http_broadcast(f->srv, "job", "{\"id\":1,\"state\":\"running\"}");
        http_broadcast(f->srv, "unit", "{\"id\":117,\n \"result\":\"ok\"}");
        http_broadcast(f->srv, "last", "{}");
        f->stage = 1;
    } else if (f->stage == 1 && n == 0) {
        f->stage = 2;
        f->flag = 1;
    }
}

static void sse_receives_broadcasts_in_order(void **state)
{
    fx *f = *state;
    f->cfg.sse_keepalive_ms = 20;
    f->client = sse_client;
    f->on_tick = sse_tick;
    run(f);
    assert_int_equal(f->r[0].rc, CURLE_WRITE_ERROR); /* we stopped it */
    assert_int_equal(f->r[0].status, 200);
    assert_string_equal(f->r[0].ctype, "text/event-stream");
    assert_string_equal(f->r[0].cache_control, "no-cache");
    /* Keepalives can fall between events; take them out, then the stream is
     * exactly the greeting and the events in order. */
    char *k;
    while ((k = strstr(f->sse, ": keepalive\n\n")))
        memmove(k, k + 13, strlen(k + 13) + 1);
    assert_string_equal(f->sse, ": flashlined event stream\n\n"
                                "event: job\ndata: {\"id\":1,\"state\":\"running\"}\n\n"
                                "event: unit\ndata: {\"id\":117,\ndata:  \"result\":\"ok\"}\n\n"
                                "event: last\ndata: {}\n\n");
    assert_int_equal(f->stage, 2); /* the server dropped the client when it left */
    assert_int_equal(f->r[1].status, 405);
    assert_string_equal(f->r[1].allow, "GET");
    assert_int_equal(ncalls(f), 0);
}

static void slow_client(fx *f)
{
    /* An event-stream client that never reads. curl cannot be told not to
     * read, so this one is a plain socket with a request written by hand. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->sock);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        const char rq[] = "GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n";
        if (write(fd, rq, sizeof rq - 1) == (ssize_t)(sizeof rq - 1))
            for (int i = 0; i < 10000 && f->flag == 0; i++)
                usleep(1000);
    }
    close(fd);
}

static void slow_tick(fx *f)
{
    static char data[40000];
    size_t n = http_sse_clients(f->srv);
    if (f->stage == 0 && n == 1) {
        f->stage = 1;
    } else if (f->stage == 1) {
        if (n == 0) {
            f->stage = 2;
            f->flag = 1;
            return;
        }
        memset(data, 'a', sizeof data - 3);
        data[0] = '"';
        data[sizeof data - 2] = '"';
        data[sizeof data - 1] = '\0';
        uint64_t t0 = uv_hrtime();
        for (int i = 0; i < 16; i++)
            http_broadcast(f->srv, "progress", data);
        /* Never blocks on the client. */
        if (uv_hrtime() - t0 > 500000000ull)
            f->stage = 99;
    }
}

static void slow_sse_client_is_dropped(void **state)
{
    fx *f = *state;
    f->client = slow_client;
    f->on_tick = slow_tick;
    run(f);
    assert_int_equal(f->stage, 2);
}

static void start_errors(void **state)
{
    fx *f = *state;
    char msg[256];
    http_server *s = NULL;
    assert_int_equal(uv_loop_init(&f->loop), 0);

    /* A file that is not a socket is left alone. */
    FILE *fp = fopen(f->sock, "w");
    fclose(fp);
    assert_int_equal(http_start(&f->loop, &f->cfg, &s, msg, sizeof msg), HTTP_E_LISTEN);
    assert_non_null(strstr(msg, "not a socket"));
    assert_null(s);
    unlink(f->sock);

    /* A stale socket (nobody listening) is replaced. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->sock);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    assert_int_equal(http_start(&f->loop, &f->cfg, &s, msg, sizeof msg), HTTP_OK);

    /* A second daemon on the same path is refused, and the first keeps it. */
    http_server *s2 = NULL;
    assert_int_equal(http_start(&f->loop, &f->cfg, &s2, msg, sizeof msg), HTTP_E_LISTEN);
    assert_non_null(strstr(msg, "another process is listening"));
    struct stat st;
    assert_int_equal(lstat(f->sock, &st), 0);

    /* Unknown group: a clear error before anything is touched. */
    http_config bad = f->cfg;
    bad.unix_group = "no-such-group-flashline";
    assert_int_equal(http_start(&f->loop, &bad, &s2, msg, sizeof msg), HTTP_E_ARG);
    assert_non_null(strstr(msg, "unknown group 'no-such-group-flashline'"));

    /* TCP port in use: fails after lws started; the loop still closes. */
    int tfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(tfd, (struct sockaddr *)&in, sizeof in), 0);
    assert_int_equal(listen(tfd, 1), 0);
    socklen_t slen = sizeof in;
    getsockname(tfd, (struct sockaddr *)&in, &slen);
    http_config busy = f->cfg;
    char other[64];
    snprintf(other, sizeof other, "%s/other.sock", f->dir);
    busy.unix_path = other;
    busy.tcp_addr = "127.0.0.1";
    busy.tcp_port = ntohs(in.sin_port);
    assert_int_equal(http_start(&f->loop, &busy, &s2, msg, sizeof msg), HTTP_E_LISTEN);
    assert_null(s2);
    assert_non_null(strstr(msg, "cannot listen on TCP 127.0.0.1:"));
    close(tfd);

    http_stop(s);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    assert_int_not_equal(lstat(f->sock, &st), 0);
    assert_int_not_equal(lstat(other, &st), 0);
}

static int free_tcp_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof in;
    if (bind(fd, (struct sockaddr *)&in, sizeof in) != 0 ||
        getsockname(fd, (struct sockaddr *)&in, &len) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(in.sin_port);
}

static void tcp_client(fx *f)
{
    CURL *c = curl_easy_init();
    reqopt get = {.method = "GET", .target = "/echo?x=1", .body_len = -1, .tcp = true};
    request(f, c, &get, &f->r[0]);
    pthread_mutex_lock(&f->mu);
    snprintf(f->sse, sizeof f->sse, "%d|%d|%ld", f->last.via_tcp, f->last.may_write,
             f->last.peer_uid);
    pthread_mutex_unlock(&f->mu);
    reqopt post = {.method = "POST", .target = "/echo", .body = "hi", .body_len = 2, .tcp = true};
    request(f, c, &post, &f->r[1]);
    post.auth = "Bearer wrong-token";
    request(f, c, &post, &f->r[2]);
    post.auth = "Bearer s3cret-token";
    request(f, c, &post, &f->r[3]);
    pthread_mutex_lock(&f->mu);
    f->stage = f->last.may_write;
    pthread_mutex_unlock(&f->mu);
    curl_easy_cleanup(c);
}

static void tcp_reads_open_writes_need_token(void **state)
{
    fx *f = *state;
    f->port = free_tcp_port();
    assert_true(f->port > 0);
    f->cfg.tcp_addr = "127.0.0.1";
    f->cfg.tcp_port = f->port;
    f->cfg.tcp_token = "s3cret-token";
    f->client = tcp_client;
    run(f);
    assert_int_equal(f->r[0].status, 200);
    assert_string_equal(f->r[0].body, "GET /echo?x=1 ");
    assert_string_equal(f->sse, "1|0|-1");
    assert_int_equal(f->r[1].status, 401);
    assert_non_null(strstr(f->r[1].body, "\"code\":\"unauthorized\""));
    assert_string_equal(f->r[1].www_auth, "Bearer");
    assert_int_equal(f->r[2].status, 401);
    assert_int_equal(f->r[3].status, 200);
    assert_string_equal(f->r[3].body, "POST /echo? hi");
    assert_int_equal(f->stage, 1);
    assert_int_equal(ncalls(f), 2);
}

static void tcp_without_token_is_read_only_client(fx *f)
{
    CURL *c = curl_easy_init();
    reqopt post = {.method = "DELETE",
                   .target = "/v1/jobs/1",
                   .body_len = -1,
                   .auth = "Bearer anything",
                   .tcp = true};
    request(f, c, &post, &f->r[0]);
    curl_easy_cleanup(c);
}

static void tcp_without_token_is_read_only(void **state)
{
    fx *f = *state;
    f->port = free_tcp_port();
    f->cfg.tcp_addr = "127.0.0.1";
    f->cfg.tcp_port = f->port;
    f->client = tcp_without_token_is_read_only_client;
    run(f);
    assert_int_equal(f->r[0].status, 401);
    assert_non_null(strstr(f->r[0].body, "read-only"));
    assert_int_equal(ncalls(f), 0);
}

static void upgrade_client(fx *f)
{
    CURL *c = curl_easy_init();
    reqopt ws = {.method = "GET", .target = "/echo", .body_len = -1};
    /* request() sets its own headers; add the upgrade through a second list. */
    struct curl_slist *h = curl_slist_append(NULL, "Connection: Upgrade");
    h = curl_slist_append(h, "Upgrade: websocket");
    h = curl_slist_append(h, "Sec-WebSocket-Version: 13");
    h = curl_slist_append(h, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==");
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, f->sock);
    curl_easy_setopt(c, CURLOPT_URL, "http://localhost/echo");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &f->r[0]);
    f->r[0].rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->r[0].status);
    curl_slist_free_all(h);
    /* CONNECT: lws makes it a raw socket; the server hangs up. */
    reqopt conn = {.method = "CONNECT", .target = "/echo", .body_len = -1};
    request(f, c, &conn, &f->r[1]);
    /* And the server still serves. */
    request(f, c, &ws, &f->r[2]);
    curl_easy_cleanup(c);
}

static void upgrades_and_connect_are_refused(void **state)
{
    fx *f = *state;
    f->client = upgrade_client;
    run(f);
    assert_int_equal(f->r[0].status, 400);
    assert_non_null(strstr(f->r[0].body, "\"code\":\"bad_request\""));
    assert_int_not_equal(f->r[1].status, 200);
    assert_int_equal(f->r[2].status, 200);
    assert_int_equal(ncalls(f), 1);
}

/* As nobody, in a child process: status, and the error code seen. */
#define NOBODY_CANNOT_REACH 77
static void as_nobody_client(fx *f)
{
    struct passwd *pw = getpwnam("nobody");
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
            _exit(100);
        /* Every directory above the socket must let nobody through (a
         * chroot or a TMPDIR under /root may not): else the system, not
         * the daemon, refuses, and the test has nothing to say. */
        if (access(f->dir, X_OK) != 0)
            _exit(NOBODY_CANNOT_REACH);
        CURL *c = curl_easy_init();
        reqopt get = {.method = "GET", .target = "/echo", .body_len = -1};
        resp r = {0};
        request(f, c, &get, &r);
        curl_easy_cleanup(c);
        if (r.rc != CURLE_OK)
            _exit(101);
        if (r.status == 403 && strstr(r.body, "{\"error\":{\"code\":\"forbidden\""))
            _exit(3);
        _exit(r.status == 200 ? 2 : 102);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    f->child_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool nobody_usable(fx *f)
{
    struct passwd *pw = getpwnam("nobody");
    if (geteuid() != 0 || !pw)
        return false;
    /* nobody must reach the socket: the directory is 0700 from mkdtemp. */
    return chmod(f->dir, 0711) == 0;
}

static void forbidden_peer_gets_403(void **state)
{
    fx *f = *state;
    if (!nobody_usable(f))
        skip();
    /* Wide file mode, so that it is the daemon's own check that refuses. */
    f->cfg.unix_mode = 0666;
    f->client = as_nobody_client;
    run(f);
    if (f->child_status == NOBODY_CANNOT_REACH)
        skip();
    assert_int_equal(f->child_status, 3);
    assert_int_equal(ncalls(f), 0);
}

static void group_member_is_allowed(void **state)
{
    fx *f = *state;
    if (!nobody_usable(f))
        skip();
    struct passwd *pw = getpwnam("nobody");
    struct group *gr = getgrgid(pw->pw_gid);
    if (!gr)
        skip();
    static char group[64];
    snprintf(group, sizeof group, "%s", gr->gr_name);
    f->cfg.unix_group = group;
    f->cfg.unix_mode = 0660;
    f->client = as_nobody_client;
    run(f);
    if (f->child_status == NOBODY_CANNOT_REACH)
        skip();
    assert_int_equal(f->child_status, 2);
    assert_int_equal(ncalls(f), 1);
    assert_int_equal(f->last.peer_uid, (long)pw->pw_uid);
}

static void socket_group_is_set(void **state)
{
    fx *f = *state;
    if (geteuid() != 0)
        skip();
    struct group *gr = getgrgid(65534);
    if (!gr)
        skip();
    static char group[64];
    snprintf(group, sizeof group, "%s", gr->gr_name);
    f->cfg.unix_group = group;
    char msg[256];
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(http_start(&f->loop, &f->cfg, &f->srv, msg, sizeof msg), HTTP_OK);
    struct stat st;
    assert_int_equal(lstat(f->sock, &st), 0);
    assert_int_equal(st.st_gid, 65534);
    assert_int_equal(st.st_mode & 07777, 0660);
    http_stop(f->srv);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void stop_from_handler_client(fx *f)
{
    CURL *c = curl_easy_init();
    reqopt get = {.method = "GET", .target = "/echo", .body_len = -1};
    request(f, c, &get, &f->r[0]);
    curl_easy_cleanup(c);
}

static void stopping_handler(void *user, const http_request *req, http_response *out)
{
    fx *f = user;
    (void)req;
    f->ncalls++;
    http_stop(f->srv); /* the daemon shutting down on a request */
    f->srv = NULL;     /* on_done, when the client is done, closes the rest */
    out->status = 200;
}

static void no_handler_and_stop_inside_handler(void **state)
{
    fx *f = *state;
    /* No handler: 503 with a JSON error. */
    f->cfg.handler = NULL;
    f->client = stop_from_handler_client;
    run(f);
    assert_int_equal(f->r[0].status, 503);
    assert_non_null(strstr(f->r[0].body, "\"code\":\"unavailable\""));

    /* http_stop from inside the handler: lws defers, the reaper finishes. */
    f->cfg.handler = stopping_handler;
    char msg[256];
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(http_start(&f->loop, &f->cfg, &f->srv, msg, sizeof msg), HTTP_OK);
    uv_async_init(&f->loop, &f->done, on_done);
    f->done.data = f;
    uv_timer_init(&f->loop, &f->tick);
    f->tick.data = f;
    assert_int_equal(pthread_create(&f->th, NULL, client_main, f), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    pthread_join(f->th, NULL);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    assert_int_equal(f->ncalls, 1);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(peer_allowed_truth_table),
        cmocka_unit_test_setup_teardown(routing_and_responses, setup, teardown),
        cmocka_unit_test_setup_teardown(oversized_body_gets_413, setup, teardown),
        cmocka_unit_test_setup_teardown(sse_receives_broadcasts_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(slow_sse_client_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(start_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(tcp_reads_open_writes_need_token, setup, teardown),
        cmocka_unit_test_setup_teardown(tcp_without_token_is_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrades_and_connect_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(forbidden_peer_gets_403, setup, teardown),
        cmocka_unit_test_setup_teardown(group_member_is_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(socket_group_is_set, setup, teardown),
        cmocka_unit_test_setup_teardown(no_handler_and_stop_inside_handler, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
