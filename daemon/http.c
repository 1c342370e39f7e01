/* The daemon's HTTP/1.1 transport over libwebsockets on a foreign libuv loop.
 *
 * libwebsockets (lws) parses HTTP; this file decides who may do what, gathers
 * each request (headers, query, whole body) into an http_request, calls the
 * one handler, and writes the response back from lws's writeable callback.
 *
 * Lifetimes, as lws 4.1 has them:
 *  - lws's per-session data ("pss", our struct xfer) lives for one HTTP
 *    transaction, not one connection: lws frees and re-allocates it between
 *    keep-alive requests, after telling us with HTTP_DROP_PROTOCOL (and
 *    CLOSED_HTTP on close). xfer_cleanup() runs on either, idempotently.
 *  - With a foreign libuv loop, lws_context_destroy() only starts closing
 *    (every uv handle lws owns closes asynchronously), and in 4.1 nothing
 *    finishes the job for a foreign loop: lws_context_destroy() must be called
 *    once more after the loop has run those close callbacks, and only then,
 *    or it frees handles still queued for closing. The reaper below (an idle
 *    handle of ours) waits until no handle on the loop belongs to the context
 *    any more, then makes that second call, then closes itself and frees the
 *    server.
 */
#define _GNU_SOURCE /* struct ucred, getgrouplist */
#include "http.h"

#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_MAX_BODY     (16u * 1024u * 1024u)
#define DEFAULT_KEEPALIVE_MS 15000u
/* One write per writeable callback, at most this much body: bounds the copy
 * into the scratch buffer (lws_write needs LWS_PRE bytes of headroom). */
#define WRITE_CHUNK 16384u
/* An event-stream client may fall this far behind before it is dropped: a
 * dashboard on a slow link must not make the daemon hold unbounded memory. */
#define SSE_QUEUE_MSGS  512u
#define SSE_QUEUE_BYTES (2u * 1024u * 1024u)
/* Room for the request line and headers; a long /v1/units filter fits. */
#define MAX_HEADER_DATA 8192u

#define container_of(p, type, member) ((type *)(void *)((char *)(p)-offsetof(type, member)))

/* One event, formatted once and shared by every client's queue. */
typedef struct sse_msg {
    unsigned refs;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes of headroom, then len bytes */
} sse_msg;

typedef struct sse_client {
    struct sse_client *prev, *next; /* in the server's list while connected */
    struct lws *wsi;
    sse_msg *q[SSE_QUEUE_MSGS];
    unsigned head, count;
    size_t bytes;
    bool listed;
} sse_client;

enum xfer_phase {
    X_NEW = 0, /* lws zeroes the pss */
    X_BODY,    /* reading the body */
    X_RESPOND, /* a response waits for the writeable callback */
    X_SSE,     /* an event stream */
    X_DONE,
};

/* One HTTP transaction: lws's per-session data for our protocol. */
typedef struct xfer {
    enum xfer_phase phase;
    bool head;
    bool via_tcp, may_write;
    long peer_uid;
    const char *method;
    char *path, *query, *ctype;
    char **args;
    size_t nargs;
    uint8_t *body;
    size_t body_len, body_cap, body_want; /* want: the Content-Length */
    /* the response */
    int status;
    const char *rctype;
    const char *allow; /* Allow header for 405 */
    bool www_auth;     /* WWW-Authenticate header for 401 */
    char *rbody;
    size_t rlen, rsent;
    bool hdrs_sent;
    sse_client *sse;
} xfer;

struct http_server {
    uv_loop_t *loop;
    struct lws_context *ctx; /* set to NULL by lws (info.pcontext) once freed */
    struct lws_vhost *vh_unix, *vh_tcp;
    struct lws_protocols protocols[2]; /* lws keeps pointers into this */
    http_handler handler;
    void *user;
    size_t max_body;
    char *unix_path, *sse_path, *tcp_token, *tcp_addr;
    size_t tcp_token_len;
    long group_gid, self_uid;
    dev_t sock_dev;
    ino_t sock_ino;
    bool sock_created;
    unsigned keepalive_ms;
    uv_timer_t keepalive;
    uv_idle_t reaper;
    int own_handles; /* our uv handles still open */
    int cb_depth;    /* inside an lws callback: lws_context_destroy must wait */
    bool stopping, destroy_started;
    sse_client *sse_head;
    size_t nsse;
    unsigned char scratch[LWS_PRE + WRITE_CHUNK];
};

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
{
    if (!msg || !msglen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---------------------------------------------------------------- access */

bool http_peer_allowed(long peer_uid, long peer_gid, long group_gid, long self_uid)
{
    if (peer_uid < 0)
        return false;
    if (peer_uid == 0 || peer_uid == self_uid)
        return true;
    return group_gid >= 0 && peer_gid == group_gid;
}

/* Supplementary membership from the user database (what getgrouplist says
 * the user's login groups are). */
static bool user_in_group(long uid, long group_gid)
{
    if (group_gid < 0)
        return false;
    struct passwd pw, *res = NULL;
    long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t bufsz = sz > 0 ? (size_t)sz : 16384u;
    char *buf = malloc(bufsz);
    if (!buf)
        return false;
    bool member = false;
    if (getpwuid_r((uid_t)uid, &pw, buf, bufsz, &res) == 0 && res) {
        int ngroups = 64;
        gid_t *groups = NULL;
        for (int tries = 0; tries < 4; tries++) {
            gid_t *g = realloc(groups, (size_t)ngroups * sizeof *g);
            if (!g)
                break;
            groups = g;
            int n = ngroups;
            if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) >= 0) {
                for (int i = 0; i < n; i++)
                    if ((long)groups[i] == group_gid)
                        member = true;
                break;
            }
            ngroups = n > ngroups ? n : ngroups * 2;
        }
        free(groups);
    }
    free(buf);
    return member;
}

/* Time depends only on the length of what the client sent. */
static bool token_matches(const char *given, size_t glen, const char *want, size_t wlen)
{
    if (!want || !wlen)
        return false;
    unsigned char diff = (unsigned char)(glen != wlen);
    for (size_t i = 0; i < glen; i++)
        diff |= (unsigned char)(given[i] ^ want[i % wlen]);
    return diff == 0;
}

/* ------------------------------------------------------------- responses */

static char *error_json(const char *code, const char *message, size_t *len)
{
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    char *out = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    *len = out ? strlen(out) : 0;
    return out;
}

static void xfer_free_response(xfer *x)
{
    free(x->rbody);
    x->rbody = NULL;
    x->rlen = x->rsent = 0;
}

/* Queue a response; the writeable callback sends it. */
static void respond(struct lws *wsi, xfer *x, int status, const char *ctype, char *body, size_t len)
{
    xfer_free_response(x);
    x->phase = X_RESPOND;
    x->status = status;
    x->rctype = ctype ? ctype : "application/json";
    x->rbody = body;
    x->rlen = body ? len : 0;
    x->rsent = 0;
    x->hdrs_sent = false;
    lws_callback_on_writable(wsi);
}

static void respond_error(struct lws *wsi, xfer *x, int status, const char *code,
                          const char *message)
{
    size_t len = 0;
    char *body = error_json(code, message, &len);
    respond(wsi, x, status, "application/json", body, len);
}

/* ------------------------------------------------------------ event stream */

static void msg_release(sse_msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

static void sse_unlist(http_server *s, sse_client *c)
{
    if (!c->listed)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->sse_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->listed = false;
    s->nsse--;
}

static void sse_drain(sse_client *c)
{
    while (c->count) {
        msg_release(c->q[c->head]);
        c->head = (c->head + 1) % SSE_QUEUE_MSGS;
        c->count--;
    }
    c->bytes = 0;
}

static void sse_free(http_server *s, sse_client *c)
{
    sse_unlist(s, c);
    sse_drain(c);
    free(c);
}

static void sse_push(http_server *s, sse_client *c, sse_msg *m)
{
    if (c->count == SSE_QUEUE_MSGS || c->bytes + m->len > SSE_QUEUE_BYTES) {
        /* Too far behind: drop it rather than hold memory or block. lws closes
         * it from its own service (never from inside this loop over the
         * list); the client reconnects and re-reads state from the API. */
        fprintf(stderr, "http: event-stream client dropped: %u events (%zu bytes) unsent\n",
                c->count, c->bytes);
        sse_unlist(s, c);
        sse_drain(c);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
    m->refs++;
    c->q[(c->head + c->count) % SSE_QUEUE_MSGS] = m;
    c->count++;
    c->bytes += m->len;
    lws_callback_on_writable(c->wsi);
}

static sse_msg *msg_new(size_t len)
{
    sse_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (m) {
        m->refs = 1; /* the broadcaster's own, released after queueing */
        m->len = len;
    }
    return m;
}

static void broadcast_msg(http_server *s, sse_msg *m)
{
    for (sse_client *c = s->sse_head, *next; c; c = next) {
        next = c->next;
        sse_push(s, c, m);
    }
    msg_release(m);
}

static sse_msg *msg_from_text(const char *text)
{
    size_t len = strlen(text);
    sse_msg *m = msg_new(len);
    if (m)
        memcpy(m->buf + LWS_PRE, text, len);
    return m;
}

void http_broadcast(http_server *s, const char *kind, const char *data_json)
{
    if (!s || s->stopping || !s->sse_head || !kind)
        return;
    if (!data_json)
        data_json = "null";
    /* "event: KIND\n" then one "data: " line per line of the JSON text (SSE
     * joins them back with '\n'), then a blank line. */
    size_t lines = 1;
    for (const char *p = data_json; *p; p++)
        lines += *p == '\n';
    size_t len =
        strlen("event: \n") + strlen(kind) + strlen(data_json) + lines * strlen("data: \n") + 1;
    sse_msg *m = msg_new(len);
    if (!m) {
        fprintf(stderr, "http: out of memory for a %s event; event-stream clients miss it\n", kind);
        return;
    }
    char *o = (char *)m->buf + LWS_PRE, *start = o;
    o += sprintf(o, "event: %s\n", kind);
    const char *p = data_json;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        memcpy(o, "data: ", 6);
        o += 6;
        memcpy(o, p, n);
        o += n;
        *o++ = '\n';
        if (!nl)
            break;
        p = nl + 1;
    }
    *o++ = '\n';
    m->len = (size_t)(o - start);
    broadcast_msg(s, m);
}

size_t http_sse_clients(const http_server *s)
{
    return s ? s->nsse : 0;
}

static void on_keepalive(uv_timer_t *t)
{
    http_server *s = container_of(t, http_server, keepalive);
    if (s->stopping || !s->sse_head)
        return;
    /* A comment line: keeps proxies and NAT from timing the stream out and
     * lets a client notice a dead daemon. */
    sse_msg *m = msg_from_text(": keepalive\n\n");
    if (m)
        broadcast_msg(s, m);
}

static int sse_writeable(struct lws *wsi, sse_client *c)
{
    if (!c->count)
        return 0;
    sse_msg *m = c->q[c->head];
    c->head = (c->head + 1) % SSE_QUEUE_MSGS;
    c->count--;
    c->bytes -= m->len;
    int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_HTTP);
    bool ok = n >= 0 && (size_t)n == m->len;
    msg_release(m);
    if (!ok)
        return -1;
    if (c->count)
        lws_callback_on_writable(wsi);
    return 0;
}

/* ---------------------------------------------------------- transactions */

static void xfer_cleanup(http_server *s, xfer *x)
{
    if (!x)
        return;
    free(x->path);
    free(x->query);
    free(x->ctype);
    for (size_t i = 0; i < x->nargs; i++)
        free(x->args[i]);
    free(x->args);
    free(x->body);
    xfer_free_response(x);
    if (x->sse)
        sse_free(s, x->sse);
    memset(x, 0, sizeof *x);
    x->phase = X_DONE;
}

/* A header as a malloc'd string, "" if absent. */
static char *hdr_dup(struct lws *wsi, enum lws_token_indexes h)
{
    int n = lws_hdr_total_length(wsi, h);
    char *v = malloc((size_t)(n > 0 ? n : 0) + 1);
    if (!v)
        return NULL;
    v[0] = '\0';
    if (n > 0 && lws_hdr_copy(wsi, v, n + 1, h) < 0)
        v[0] = '\0';
    return v;
}

static bool keep_in_query(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-._~=/:,@!$'()*", c) != NULL;
}

/* The query's arguments as lws decoded them, and a canonical re-encoding. */
static bool gather_query(struct lws *wsi, xfer *x)
{
    size_t qlen = 0;
    x->query = calloc(1, 1);
    if (!x->query)
        return false;
    for (int i = 0;; i++) {
        int flen = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (flen <= 0) {
            if (lws_hdr_copy_fragment(wsi, (char[2]){0}, 2, WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
                break; /* no such fragment: done */
            continue;  /* an empty one ("a=1&&b=2") */
        }
        char *arg = malloc((size_t)flen + 1);
        char **args = realloc(x->args, (x->nargs + 1) * sizeof *args);
        if (args)
            x->args = args;
        char *q = realloc(x->query, qlen + 1 + 3 * (size_t)flen + 1);
        if (q)
            x->query = q;
        if (!arg || !args || !q) {
            free(arg);
            return false;
        }
        if (lws_hdr_copy_fragment(wsi, arg, flen + 1, WSI_TOKEN_HTTP_URI_ARGS, i) < 0) {
            free(arg);
            continue;
        }
        x->args[x->nargs++] = arg;
        if (qlen)
            q[qlen++] = '&';
        for (const unsigned char *p = (const unsigned char *)arg; *p; p++) {
            if (keep_in_query(*p)) {
                q[qlen++] = (char)*p;
            } else {
                static const char hex[] = "0123456789ABCDEF";
                q[qlen++] = '%';
                q[qlen++] = hex[*p >> 4];
                q[qlen++] = hex[*p & 15];
            }
        }
        q[qlen] = '\0';
    }
    return true;
}

static void dispatch(http_server *s, struct lws *wsi, xfer *x)
{
    if (s->stopping) {
        respond_error(wsi, x, 503, "unavailable", "the daemon is shutting down; retry shortly");
        return;
    }
    if (!s->handler) {
        respond_error(wsi, x, 503, "unavailable",
                      "this server has no API handler installed; this is a bug in flashlined");
        return;
    }
    static const uint8_t empty[1] = {0};
    http_request req = {
        .method = x->method,
        .path = x->path,
        .query = x->query,
        .args = (const char *const *)x->args,
        .nargs = x->nargs,
        .body = x->body ? x->body : empty,
        .body_len = x->body_len,
        .content_type = x->ctype,
        .via_tcp = x->via_tcp,
        .may_write = x->may_write,
        .peer_uid = x->peer_uid,
    };
    http_response resp = {0};
    s->handler(s->user, &req, &resp);
    if (resp.status < 100 || resp.status > 599) {
        free(resp.body);
        respond_error(wsi, x, 500, "internal",
                      "the API handler gave no status; this is a bug in flashlined");
        return;
    }
    respond(wsi, x, resp.status, resp.content_type, resp.body, resp.body_len);
}

static int start_sse(http_server *s, struct lws *wsi, xfer *x)
{
    sse_client *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->wsi = wsi;
    x->sse = c;
    x->phase = X_SSE;
    unsigned char *start = s->scratch + LWS_PRE, *p = start,
                  *end = s->scratch + sizeof s->scratch - 1;
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "text/event-stream",
                                    LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-cache", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    /* What lws_http_mark_sse() does, without its "not h2 substream" error
     * line that 4.1 logs for every HTTP/1 stream: no idle timeout, and give
     * the header table back to the pool. */
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    lws_http_headers_detach(wsi);
    c->next = s->sse_head;
    if (c->next)
        c->next->prev = c;
    s->sse_head = c;
    c->listed = true;
    s->nsse++;
    sse_msg *m = msg_from_text(": flashlined event stream\n\n");
    if (!m)
        return -1;
    sse_push(s, c, m);
    msg_release(m);
    return 0;
}

static const char *method_name(int meth)
{
    switch (meth) {
    case LWSHUMETH_GET:
        return "GET";
    case LWSHUMETH_POST:
        return "POST";
    case LWSHUMETH_OPTIONS:
        return "OPTIONS";
    case LWSHUMETH_PUT:
        return "PUT";
    case LWSHUMETH_PATCH:
        return "PATCH";
    case LWSHUMETH_DELETE:
        return "DELETE";
    case LWSHUMETH_HEAD:
        return "HEAD";
    default:
        return NULL; /* CONNECT, or h2's :path */
    }
}

/* LWS_CALLBACK_HTTP: the request line and headers are in. */
static int on_request(http_server *s, struct lws *wsi, xfer *x, const char *uri, size_t urilen)
{
    char *uri_ptr = NULL;
    int uri_len = 0;
    int meth = lws_http_get_uri_and_method(wsi, &uri_ptr, &uri_len);
    x->method = method_name(meth);
    x->head = meth == LWSHUMETH_HEAD;
    /* By the socket, not the vhost: lws may rebind a connection to another
     * vhost by its Host header. Unknown counts as TCP, the less trusted. */
    int fd = lws_get_socket_fd(wsi);
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    x->via_tcp =
        fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0 || ss.ss_family != AF_UNIX;
    x->peer_uid = -1;
    x->path = strndup(uri ? uri : "/", uri ? urilen : 1);
    x->ctype = hdr_dup(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
    if (!x->path || !x->ctype || !gather_query(wsi, x))
        return -1;

    if (!x->via_tcp) {
        struct ucred cred;
        socklen_t clen = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0) {
            respond_error(wsi, x, 403, "forbidden",
                          "cannot tell who is connecting (SO_PEERCRED failed); connect "
                          "through the Unix socket as a member of its group");
            return 0;
        }
        x->peer_uid = (long)cred.uid;
        if (!http_peer_allowed((long)cred.uid, (long)cred.gid, s->group_gid, s->self_uid) &&
            !user_in_group((long)cred.uid, s->group_gid)) {
            char m[256];
            snprintf(m, sizeof m,
                     "uid %ld may not use this socket: it is neither root, the daemon's "
                     "user, nor in the socket's group (gid %ld); add the user to that group",
                     (long)cred.uid, s->group_gid);
            respond_error(wsi, x, 403, "forbidden", m);
            return 0;
        }
        x->may_write = true;
    } else {
        char *auth = hdr_dup(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
        if (!auth)
            return -1;
        const char *t = auth;
        if (strncasecmp(t, "Bearer ", 7) == 0) {
            t += 7;
            while (*t == ' ')
                t++;
            size_t n = strlen(t);
            while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
                n--;
            x->may_write = token_matches(t, n, s->tcp_token, s->tcp_token_len);
        }
        free(auth);
    }

    if (!x->method) {
        respond_error(wsi, x, 405, "method_not_allowed",
                      "this method is not served; use GET, POST, PUT, PATCH, DELETE or HEAD");
        return 0;
    }
    if (x->via_tcp && !x->may_write && meth != LWSHUMETH_GET && meth != LWSHUMETH_HEAD) {
        x->www_auth = true;
        respond_error(wsi, x, 401, "unauthorized",
                      s->tcp_token ? "writes on the TCP address need the header "
                                     "'Authorization: Bearer TOKEN' with the daemon's token"
                                   : "the TCP address is read-only (no token is configured); "
                                     "use the Unix socket to change anything");
        return 0;
    }

    if (s->sse_path && strcmp(x->path, s->sse_path) == 0) {
        if (meth != LWSHUMETH_GET) {
            x->allow = "GET";
            respond_error(wsi, x, 405, "method_not_allowed", "the event stream is read with GET");
            return 0;
        }
        return start_sse(s, wsi, x);
    }

    /* How much body follows. lws 4.1 expects 100 MiB for a POST/PUT/PATCH
     * without Content-Length and does not decode chunked request bodies, so
     * those are refused up front. */
    bool has_te = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
    bool has_cl = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0;
    bool body_method = meth == LWSHUMETH_POST || meth == LWSHUMETH_PUT || meth == LWSHUMETH_PATCH;
    unsigned long long cl = 0;
    if (has_cl) {
        char v[32];
        char *endp = v;
        bool ok = lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
                  v[0] >= '0' && v[0] <= '9';
        if (ok) {
            errno = 0;
            cl = strtoull(v, &endp, 10);
            ok = errno == 0 && *endp == '\0';
        }
        if (!ok) {
            respond_error(wsi, x, 400, "bad_request", "the Content-Length header is not a number");
            return 0;
        }
    }
    if (has_te || (body_method && !has_cl)) {
        respond_error(wsi, x, 411, "length_required",
                      "send the body with a Content-Length header (chunked request bodies "
                      "are not supported)");
        return 0;
    }
    if (cl > s->max_body) {
        char m[160];
        snprintf(m, sizeof m,
                 "the body is %llu bytes; this daemon accepts at most %zu; send less or raise "
                 "the daemon's limit",
                 cl, s->max_body);
        respond_error(wsi, x, 413, "too_large", m);
        return 0;
    }
    if (cl > 0) {
        /* Grown as bytes arrive, not allocated from the header up front: a
         * client that announces 16 MiB and sends nothing holds nothing. */
        x->body_want = (size_t)cl;
        x->phase = X_BODY;
        return 0;
    }
    if (meth == LWSHUMETH_POST && has_cl) {
        /* lws calls HTTP_BODY and HTTP_BODY_COMPLETION for an explicit
         * "Content-Length: 0" on POST (only): dispatch then. */
        x->phase = X_BODY;
        return 0;
    }
    dispatch(s, wsi, x);
    return 0;
}

static int on_body(http_server *s, struct lws *wsi, xfer *x, const void *in, size_t len)
{
    if (x->phase != X_BODY)
        return 0; /* a response is already queued; lws discards the rest */
    if (len > x->body_want - x->body_len) {
        char m[128];
        snprintf(m, sizeof m, "the body is larger than its Content-Length or than %zu bytes",
                 s->max_body);
        respond_error(wsi, x, 413, "too_large", m);
        return 0;
    }
    if (x->body_len + len > x->body_cap) {
        size_t cap = x->body_cap ? x->body_cap : 16384u;
        while (cap < x->body_len + len)
            cap *= 2;
        if (cap > x->body_want)
            cap = x->body_want;
        uint8_t *b = realloc(x->body, cap);
        if (!b)
            return -1;
        x->body = b;
        x->body_cap = cap;
    }
    if (len)
        memcpy(x->body + x->body_len, in, len);
    x->body_len += len;
    return 0;
}

static int write_response(http_server *s, struct lws *wsi, xfer *x)
{
    if (!x->hdrs_sent) {
        unsigned char *start = s->scratch + LWS_PRE, *p = start,
                      *end = s->scratch + sizeof s->scratch - 1;
        if (lws_add_http_common_headers(wsi, (unsigned)x->status, x->rctype, x->rlen, &p, end))
            return -1;
        if (x->allow &&
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ALLOW, (const unsigned char *)x->allow,
                                         (int)strlen(x->allow), &p, end))
            return -1;
        if (x->www_auth &&
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_WWW_AUTHENTICATE,
                                         (const unsigned char *)"Bearer", 6, &p, end))
            return -1;
        if (lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        x->hdrs_sent = true;
        if (!x->head && x->rsent < x->rlen) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    } else if (!x->head && x->rsent < x->rlen) {
        size_t n = x->rlen - x->rsent;
        if (n > WRITE_CHUNK)
            n = WRITE_CHUNK;
        bool last = x->rsent + n == x->rlen;
        memcpy(s->scratch + LWS_PRE, x->rbody + x->rsent, n);
        int w =
            lws_write(wsi, s->scratch + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
        if (w < 0 || (size_t)w != n)
            return -1;
        x->rsent += n;
        if (!last) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    xfer_free_response(x);
    x->phase = X_DONE;
    /* Keep-alive: lws gets ready for the next request (discarding any body
     * we did not read), or says to close. */
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* lws would switch to WebSocket or h2c on an Upgrade header, past every
 * check in on_request(); the API is plain HTTP/1.1, so say so and stay. */
static int refuse_upgrade(http_server *s, struct lws *wsi)
{
    size_t len = 0;
    char *body = error_json("bad_request",
                            "protocol upgrades (WebSocket, h2c) are not served here; send "
                            "plain HTTP/1.1 requests",
                            &len);
    unsigned char *start = s->scratch + LWS_PRE, *p = start,
                  *end = s->scratch + sizeof s->scratch - 1;
    int rc = -1;
    if (body && len <= WRITE_CHUNK &&
        !lws_add_http_common_headers(wsi, HTTP_STATUS_BAD_REQUEST, "application/json", len, &p,
                                     end) &&
        !lws_finalize_write_http_header(wsi, start, &p, end)) {
        memcpy(s->scratch + LWS_PRE, body, len);
        if (lws_write(wsi, s->scratch + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) == (int)len)
            rc = 1; /* answered: lws completes the transaction */
    }
    free(body);
    return rc;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    http_server *s = ctx ? lws_context_user(ctx) : NULL;
    xfer *x = user;
    if (!s)
        return 0;
    int rc = 0;
    s->cb_depth++;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (x)
            rc = on_request(s, wsi, x, in, len);
        else
            rc = -1;
        break;
    case LWS_CALLBACK_HTTP_BODY:
        if (x)
            rc = on_body(s, wsi, x, in, len);
        break;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (x && x->phase == X_BODY)
            dispatch(s, wsi, x);
        break;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (x && x->phase == X_SSE)
            rc = sse_writeable(wsi, x->sse);
        else if (x && x->phase == X_RESPOND)
            rc = write_response(s, wsi, x);
        break;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        rc = refuse_upgrade(s, wsi);
        break;
    case LWS_CALLBACK_RAW_ADOPT: /* lws turns a CONNECT request into a raw socket */
    case LWS_CALLBACK_RAW_RX:
    case LWS_CALLBACK_ESTABLISHED:
        rc = -1;
        break;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        xfer_cleanup(s, x);
        break;
    default:
        break;
    }
    s->cb_depth--;
    return rc;
}

/* ------------------------------------------------------------- lifecycle */

static void free_server(http_server *s)
{
    /* Event-stream clients lws closed without telling us (none expected). */
    while (s->sse_head)
        sse_free(s, s->sse_head);
    free(s->unix_path);
    free(s->sse_path);
    free(s->tcp_token);
    free(s->tcp_addr);
    free(s);
}

static void on_own_closed(uv_handle_t *h)
{
    http_server *s = h->data;
    if (--s->own_handles == 0)
        free_server(s);
}

struct ctx_walk {
    const void *ctx;
    int n;
};

static void count_ctx_handles(uv_handle_t *h, void *arg)
{
    struct ctx_walk *w = arg;
    /* lws's per-thread handles (idle, timer) carry the context as data; they
     * close only after every connection's handle has closed. */
    if (h->data == w->ctx)
        w->n++;
}

static void start_destroy(http_server *s)
{
    if (s->destroy_started || !s->ctx)
        return;
    s->destroy_started = true;
    lws_context_destroy(s->ctx);
}

static void on_reap(uv_idle_t *h)
{
    http_server *s = container_of(h, http_server, reaper);
    if (s->ctx) {
        if (!s->destroy_started) {
            start_destroy(s);
            return;
        }
        struct ctx_walk w = {s->ctx, 0};
        uv_walk(s->loop, count_ctx_handles, &w);
        if (w.n)
            return;
        /* Second call: frees the vhosts and the context (and dlcloses the
         * evlib plugin); sets s->ctx to NULL through info.pcontext. */
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
    }
    uv_idle_stop(h);
    uv_close((uv_handle_t *)h, on_own_closed);
}

void http_stop(http_server *s)
{
    if (!s || s->stopping)
        return;
    s->stopping = true;
    if (s->sock_created) {
        /* Only our own socket file: another daemon may have taken the path. */
        struct stat st;
        if (lstat(s->unix_path, &st) == 0 && st.st_dev == s->sock_dev && st.st_ino == s->sock_ino)
            unlink(s->unix_path);
    }
    if (s->keepalive_ms) {
        uv_timer_stop(&s->keepalive);
        uv_close((uv_handle_t *)&s->keepalive, on_own_closed);
    }
    /* Inside an lws callback (a handler calling this), lws would only defer
     * the destroy; the reaper starts it from outside lws instead. */
    if (s->cb_depth == 0)
        start_destroy(s);
    uv_idle_start(&s->reaper, on_reap);
}

static http_err check_unix_path(const char *path, char *msg, size_t msglen)
{
    struct sockaddr_un sa;
    if (!path || !*path) {
        set_msg(msg, msglen,
                "no Unix socket path configured; set one (e.g. /run/flashline/api.sock)");
        return HTTP_E_ARG;
    }
    if (path[0] == '@' || strlen(path) >= sizeof sa.sun_path) {
        set_msg(msg, msglen, "Unix socket path '%s' is %s; give a file path shorter than %zu bytes",
                path, path[0] == '@' ? "abstract" : "too long", sizeof sa.sun_path);
        return HTTP_E_ARG;
    }
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return HTTP_OK;
        set_msg(msg, msglen, "cannot check %s: %s; fix its directory's permissions", path,
                strerror(errno));
        return HTTP_E_LISTEN;
    }
    if (!S_ISSOCK(st.st_mode)) {
        set_msg(msg, msglen, "%s exists and is not a socket; remove it or choose another path",
                path);
        return HTTP_E_LISTEN;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        set_msg(msg, msglen, "socket(): %s", strerror(errno));
        return HTTP_E_LISTEN;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int err = errno;
    close(fd);
    if (rc == 0 || err == EAGAIN || err == EINPROGRESS) {
        set_msg(msg, msglen,
                "another process is listening on %s (another flashlined?); stop it or "
                "choose another socket path",
                path);
        return HTTP_E_LISTEN;
    }
    if (err != ECONNREFUSED) {
        set_msg(msg, msglen, "cannot check whether %s is in use: %s", path, strerror(err));
        return HTTP_E_LISTEN;
    }
    /* A stale socket left by a daemon that died: nobody answers on it. */
    if (unlink(path) != 0) {
        set_msg(msg, msglen, "cannot remove the stale socket %s: %s; remove it by hand", path,
                strerror(errno));
        return HTTP_E_LISTEN;
    }
    return HTTP_OK;
}

static http_err lookup_group(const char *name, long *gid, char *msg, size_t msglen)
{
    struct group gr, *res = NULL;
    long sz = sysconf(_SC_GETGR_R_SIZE_MAX);
    size_t bufsz = sz > 0 ? (size_t)sz : 16384u;
    for (int tries = 0; tries < 6; tries++, bufsz *= 2) {
        char *buf = malloc(bufsz);
        if (!buf) {
            set_msg(msg, msglen, "out of memory looking up group '%s'", name);
            return HTTP_E_NOMEM;
        }
        int rc = getgrnam_r(name, &gr, buf, bufsz, &res);
        if (rc == ERANGE) {
            free(buf);
            continue;
        }
        if (rc == 0 && res) {
            *gid = (long)gr.gr_gid;
            free(buf);
            return HTTP_OK;
        }
        free(buf);
        set_msg(msg, msglen,
                "unknown group '%s' for the API socket; create it (deploy/ sets up "
                "'flashline') or configure another group",
                name);
        return HTTP_E_ARG;
    }
    set_msg(msg, msglen, "group '%s' has too many members to look up", name);
    return HTTP_E_ARG;
}

static int log_level_from_env(void)
{
    /* FLASHLINE_LWS_LOG: lws's log bitmask (1 err, 2 warn, 4 notice, 8 info,
     * ...; info and below only in a debug build of lws). */
    const char *e = getenv("FLASHLINE_LWS_LOG");
    if (e && *e) {
        char *end = NULL;
        long v = strtol(e, &end, 0);
        if (end && !*end && v >= 0 && v < (1L << 16))
            return (int)v;
    }
    return LLL_ERR;
}

/* Tear down what http_start built when it fails after lws started. */
static http_err fail_started(http_server *s, http_err e)
{
    http_stop(s);
    return e;
}

http_err http_start(uv_loop_t *loop, const http_config *cfg, http_server **out, char *msg,
                    size_t msglen)
{
    if (out)
        *out = NULL;
    if (!loop || !cfg || !out) {
        set_msg(msg, msglen, "http_start: loop, configuration and result are required");
        return HTTP_E_ARG;
    }
    if (cfg->tcp_port < 0 || cfg->tcp_port > 65535) {
        set_msg(msg, msglen, "TCP port %d is out of range; use 1-65535, or 0 for no TCP",
                cfg->tcp_port);
        return HTTP_E_ARG;
    }
    if (cfg->unix_mode > 07777) {
        set_msg(msg, msglen, "socket mode %o is not a file mode; use e.g. 0660", cfg->unix_mode);
        return HTTP_E_ARG;
    }
    if (cfg->sse_path && cfg->sse_path[0] != '/') {
        set_msg(msg, msglen, "event-stream path '%s' must start with '/'", cfg->sse_path);
        return HTTP_E_ARG;
    }
    long group_gid = -1;
    if (cfg->unix_group) {
        http_err e = lookup_group(cfg->unix_group, &group_gid, msg, msglen);
        if (e)
            return e;
    }
    http_err e = check_unix_path(cfg->unix_path, msg, msglen);
    if (e)
        return e;

    http_server *s = calloc(1, sizeof *s);
    if (!s) {
        set_msg(msg, msglen, "out of memory starting the HTTP server");
        return HTTP_E_NOMEM;
    }
    s->loop = loop;
    s->handler = cfg->handler;
    s->user = cfg->user;
    s->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
    s->self_uid = (long)geteuid();
    s->group_gid = group_gid;
    s->unix_path = strdup(cfg->unix_path);
    s->sse_path = dup_or_null(cfg->sse_path);
    s->tcp_addr = dup_or_null(cfg->tcp_addr);
    if (cfg->tcp_token && *cfg->tcp_token) {
        s->tcp_token = strdup(cfg->tcp_token);
        s->tcp_token_len = strlen(cfg->tcp_token);
    }
    s->keepalive_ms =
        cfg->sse_path ? (cfg->sse_keepalive_ms ? cfg->sse_keepalive_ms : DEFAULT_KEEPALIVE_MS) : 0;
    if (!s->unix_path || (cfg->sse_path && !s->sse_path) || (cfg->tcp_addr && !s->tcp_addr) ||
        (cfg->tcp_token && *cfg->tcp_token && !s->tcp_token)) {
        free_server(s);
        set_msg(msg, msglen, "out of memory starting the HTTP server");
        return HTTP_E_NOMEM;
    }
    s->protocols[0] = (struct lws_protocols){
        .name = "http",
        .callback = callback,
        .per_session_data_size = sizeof(xfer),
    };

    lws_set_log_level(log_level_from_env(), NULL);

    void *foreign[1] = {loop};
    struct lws_context_creation_info ci;
    memset(&ci, 0, sizeof ci);
    ci.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    ci.foreign_loops = foreign; /* read during lws_create_context only */
    ci.port = CONTEXT_PORT_NO_LISTEN;
    ci.user = s;
    ci.pcontext = &s->ctx;
    ci.uid = -1;
    ci.gid = -1;
    ci.max_http_header_data = MAX_HEADER_DATA;
    s->ctx = lws_create_context(&ci);
    if (!s->ctx) {
        free_server(s);
        set_msg(msg, msglen,
                "libwebsockets could not start on the libuv loop; check that its libuv "
                "plugin is installed (Debian: libwebsockets-evlib-uv); FLASHLINE_LWS_LOG=7 "
                "says more");
        return HTTP_E_LWS;
    }
    /* From here on, failures tear down through the reaper. */
    uv_idle_init(loop, &s->reaper);
    s->reaper.data = s;
    s->own_handles++;
    if (s->keepalive_ms) {
        uv_timer_init(loop, &s->keepalive);
        s->keepalive.data = s;
        s->own_handles++;
    }

    struct lws_context_creation_info vi;
    memset(&vi, 0, sizeof vi);
    vi.vhost_name = "unix";
    vi.options = LWS_SERVER_OPTION_UNIX_SOCK | LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    vi.iface = s->unix_path;
    vi.port = 0;
    vi.protocols = s->protocols;
    s->vh_unix = lws_create_vhost(s->ctx, &vi);
    if (!s->vh_unix) {
        set_msg(msg, msglen,
                "cannot listen on %s; check that its directory exists and the daemon may "
                "write there",
                s->unix_path);
        return fail_started(s, HTTP_E_LISTEN);
    }
    struct stat st;
    if (lstat(s->unix_path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        set_msg(msg, msglen,
                "the socket %s vanished as it was created; is another daemon "
                "starting on the same path?",
                s->unix_path);
        return fail_started(s, HTTP_E_LISTEN);
    }
    s->sock_created = true;
    s->sock_dev = st.st_dev;
    s->sock_ino = st.st_ino;
    unsigned mode = cfg->unix_mode ? cfg->unix_mode : 0660;
    if (chmod(s->unix_path, (mode_t)mode) != 0) {
        set_msg(msg, msglen, "cannot chmod %s to %o: %s", s->unix_path, mode, strerror(errno));
        return fail_started(s, HTTP_E_LISTEN);
    }
    if (cfg->unix_group && chown(s->unix_path, (uid_t)-1, (gid_t)group_gid) != 0) {
        set_msg(msg, msglen,
                "cannot give %s to group '%s': %s; run the daemon as root or as a member of "
                "that group",
                s->unix_path, cfg->unix_group, strerror(errno));
        return fail_started(s, HTTP_E_LISTEN);
    }
    /* The socket's group as it is now: given, or what it was created with. */
    s->group_gid = cfg->unix_group ? group_gid : (long)st.st_gid;

    if (cfg->tcp_port) {
        memset(&vi, 0, sizeof vi);
        vi.vhost_name = "tcp";
        vi.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
        vi.iface = s->tcp_addr;
        vi.port = cfg->tcp_port;
        vi.protocols = s->protocols;
        s->vh_tcp = lws_create_vhost(s->ctx, &vi);
        if (!s->vh_tcp) {
            set_msg(msg, msglen,
                    "cannot listen on TCP %s:%d; is the port in use or the address not "
                    "on this machine?",
                    s->tcp_addr ? s->tcp_addr : "*", cfg->tcp_port);
            return fail_started(s, HTTP_E_LISTEN);
        }
    }
    if (s->keepalive_ms)
        uv_timer_start(&s->keepalive, on_keepalive, s->keepalive_ms, s->keepalive_ms);
    *out = s;
    return HTTP_OK;
}
