/* One HTTP request on a connection lws has adopted: who may do what (Unix
 * peer credentials, the TCP bearer token, the Host header), the body, the
 * handler, and the response, whole or streamed. */
#define _GNU_SOURCE /* struct ucred, getgrouplist */
#include "http_internal.h"

#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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

char *http_error_json(const char *code, const char *message, size_t *len)
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
    if (x->stream_free)
        x->stream_free(x->stream_user);
    x->stream = NULL;
    x->stream_user = NULL;
    x->stream_free = NULL;
    x->stream_done = false;
}

int http_add_common_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end)
{
    /* On every response, not just the dashboard's: harmless on JSON, and no
     * page of ours can then be framed by another site (clickjacking) or
     * have its type guessed by a browser. Connection: close because every
     * connection serves one request (http_internal.h). */
    static const struct {
        const char *name, *value;
    } h[] = {
        {"content-security-policy:", "frame-ancestors 'none'"},
        {"x-frame-options:", "DENY"},
        {"x-content-type-options:", "nosniff"},
    };
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)h[i].name,
                                        (const unsigned char *)h[i].value, (int)strlen(h[i].value),
                                        p, end))
            return 1;
    return 0;
}

/* Queue a response; the writeable callback sends it. */
static void respond(struct lws *wsi, xfer *x, int status, const char *ctype, char *body, size_t len)
{
    xfer_free_response(x);
    /* From here on the response's own stall timeout applies, not the
     * request deadline. */
    if (x->conn)
        conn_answering(x->conn);
    x->phase = X_RESPOND;
    x->status = status;
    x->rctype = ctype ? ctype : "application/json";
    x->rbody = body;
    x->rlen = body ? len : 0;
    x->rsent = 0;
    x->hdrs_sent = false;
    lws_callback_on_writable(wsi);
}

void http_respond_error(struct lws *wsi, xfer *x, int status, const char *code, const char *message)
{
    size_t len = 0;
    char *body = http_error_json(code, message, &len);
    respond(wsi, x, status, "application/json", body, len);
}

/* ---------------------------------------------------------- transactions */

void http_xfer_cleanup(http_server *s, xfer *x)
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
    if (x->conn && x->conn->x == x)
        x->conn->x = NULL;
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

void http_dispatch(http_server *s, struct lws *wsi, xfer *x)
{
    if (s->stopping) {
        http_respond_error(wsi, x, 503, "unavailable",
                           "the daemon is shutting down; retry shortly");
        return;
    }
    if (!s->handler) {
        http_respond_error(wsi, x, 503, "unavailable",
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
        if (resp.stream_free)
            resp.stream_free(resp.stream_user);
        http_respond_error(wsi, x, 500, "internal",
                           "the API handler gave no status; this is a bug in flashlined");
        return;
    }
    if (resp.stream) {
        free(resp.body);
        respond(wsi, x, resp.status, resp.content_type, NULL, 0);
        x->stream = resp.stream;
        x->stream_user = resp.stream_user;
        x->stream_free = resp.stream_free;
        return;
    }
    respond(wsi, x, resp.status, resp.content_type, resp.body, resp.body_len);
}

/* host is "name" or "name:port"; names compare without case. */
static bool host_allowed(const http_server *s, const char *host)
{
    size_t hl = strlen(host);
    for (char *const *h = s->hosts; h && *h; h++) {
        size_t n = strlen(*h);
        if (hl < n || strncasecmp(host, *h, n) != 0)
            continue;
        if (hl == n)
            return true;
        char port[8];
        snprintf(port, sizeof port, "%d", s->tcp_port);
        if (host[n] == ':' && strcmp(host + n + 1, port) == 0)
            return true;
    }
    return false;
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
int http_on_request(http_server *s, struct lws *wsi, xfer *x, const char *uri, size_t urilen)
{
    char *uri_ptr = NULL;
    int uri_len = 0;
    int meth = lws_http_get_uri_and_method(wsi, &uri_ptr, &uri_len);
    x->method = method_name(meth);
    x->head = meth == LWSHUMETH_HEAD;
    x->conn = conn_of(s, wsi);
    if (x->conn)
        x->conn->x = x;
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
            http_respond_error(wsi, x, 403, "forbidden",
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
            http_respond_error(wsi, x, 403, "forbidden", m);
            return 0;
        }
        x->may_write = true;
    } else {
        /* A page on another site can point a name it controls at this
         * address (DNS rebinding) and then read the API from the operator's
         * browser; its requests carry that name as Host, so only names this
         * daemon is known by are served. */
        char *host = hdr_dup(wsi, WSI_TOKEN_HOST);
        if (!host)
            return -1;
        bool known = host_allowed(s, host);
        if (!known) {
            char m[400];
            snprintf(m, sizeof m,
                     "Host \"%.100s\" is not a name of this daemon; connect by one of its "
                     "names, or add this one to http_hosts in the daemon's config",
                     host);
            free(host);
            http_respond_error(wsi, x, 421, "misdirected", m);
            return 0;
        }
        free(host);
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
        http_respond_error(wsi, x, 405, "method_not_allowed",
                           "this method is not served; use GET, POST, PUT, PATCH, DELETE or HEAD");
        return 0;
    }
    if (x->via_tcp && !x->may_write && meth != LWSHUMETH_GET && meth != LWSHUMETH_HEAD) {
        x->www_auth = true;
        http_respond_error(wsi, x, 401, "unauthorized",
                           s->tcp_token ? "writes on the TCP address need the header "
                                          "'Authorization: Bearer TOKEN' with the daemon's token"
                                        : "the TCP address is read-only (no token is configured); "
                                          "use the Unix socket to change anything");
        return 0;
    }

    if (s->sse_path && strcmp(x->path, s->sse_path) == 0) {
        if (meth != LWSHUMETH_GET) {
            x->allow = "GET";
            http_respond_error(wsi, x, 405, "method_not_allowed",
                               "the event stream is read with GET");
            return 0;
        }
        return sse_start(s, wsi, x);
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
            http_respond_error(wsi, x, 400, "bad_request",
                               "the Content-Length header is not a number");
            return 0;
        }
    }
    if (!body_method && meth != LWSHUMETH_OPTIONS && (has_te || cl > 0)) {
        /* Never read (nor buffer) a body nobody will look at. */
        char m[96];
        snprintf(m, sizeof m, "%s takes no body; send the request without one", x->method);
        http_respond_error(wsi, x, 400, "bad_request", m);
        return 0;
    }
    if (has_te || (body_method && !has_cl)) {
        http_respond_error(wsi, x, 411, "length_required",
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
        http_respond_error(wsi, x, 413, "too_large", m);
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
    http_dispatch(s, wsi, x);
    return 0;
}

int http_on_body(http_server *s, struct lws *wsi, xfer *x, const void *in, size_t len)
{
    if (x->phase != X_BODY)
        return 0; /* a response is already queued; lws discards the rest */
    if (len > x->body_want - x->body_len) {
        char m[128];
        snprintf(m, sizeof m, "the body is larger than its Content-Length or than %zu bytes",
                 s->max_body);
        http_respond_error(wsi, x, 413, "too_large", m);
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

/* Bytes of a streamed body into buf: asks the producer until it gives
 * something or says it is done. */
static size_t stream_fill(xfer *x, char *buf, size_t cap)
{
    size_t n = 0;
    while (!x->stream_done && n == 0)
        n = x->stream(x->stream_user, buf, cap, &x->stream_done);
    return n > cap ? cap : n;
}

int http_write_response(http_server *s, struct lws *wsi, xfer *x)
{
    /* Nothing may come from the producer once the server stops: what it
     * reads (the store) is being closed. */
    if (s->stopping && x->stream)
        return -1;
    unsigned char *buf = s->scratch + LWS_PRE;
    if (!x->hdrs_sent) {
        unsigned char *p = buf, *end = s->scratch + sizeof s->scratch - 1;
        /* Without a length lws adds "connection: close" itself. */
        lws_filepos_t len = x->stream ? LWS_ILLEGAL_HTTP_CONTENT_LEN : x->rlen;
        if (lws_add_http_common_headers(wsi, (unsigned)x->status, x->rctype, len, &p, end))
            return -1;
        if (!x->stream && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                                       (const unsigned char *)"close", 5, &p, end))
            return -1;
        if (x->allow &&
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ALLOW, (const unsigned char *)x->allow,
                                         (int)strlen(x->allow), &p, end))
            return -1;
        if (x->www_auth &&
            lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_WWW_AUTHENTICATE,
                                         (const unsigned char *)"Bearer", 6, &p, end))
            return -1;
        if (http_add_common_security_headers(wsi, &p, end) ||
            lws_finalize_write_http_header(wsi, buf, &p, end))
            return -1;
        x->hdrs_sent = true;
    } else if (!x->head && x->stream) {
        size_t n = stream_fill(x, (char *)buf, WRITE_CHUNK);
        if (n && lws_write(wsi, buf, n, LWS_WRITE_HTTP) != (int)n)
            return -1;
    } else if (!x->head && x->rsent < x->rlen) {
        size_t n = x->rlen - x->rsent;
        if (n > WRITE_CHUNK)
            n = WRITE_CHUNK;
        memcpy(buf, x->rbody + x->rsent, n);
        if (lws_write(wsi, buf, n, LWS_WRITE_HTTP) != (int)n)
            return -1;
        x->rsent += n;
    }
    bool more = !x->head && (x->stream ? !x->stream_done : x->rsent < x->rlen);
    /* A reader that stops reading is cut after the idle timeout, and holds
     * no more than one chunk (plus what lws buffered) meanwhile. */
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, (int)((s->idle_ms + 999) / 1000));
    if (!more) {
        xfer_free_response(x);
        /* One request per connection: close once lws has written out what
         * it may have buffered (it calls us writeable only after that). */
        x->phase = X_CLOSE;
    }
    lws_callback_on_writable(wsi);
    return 0;
}

/* lws would switch to WebSocket or h2c on an Upgrade header, past every
 * check in on_request(); the API is plain HTTP/1.1, so say so and stay. */
int http_refuse_upgrade(http_server *s, struct lws *wsi)
{
    size_t len = 0;
    char *body = http_error_json("bad_request",
                                 "protocol upgrades (WebSocket, h2c) are not served here; send "
                                 "plain HTTP/1.1 requests",
                                 &len);
    unsigned char *start = s->scratch + LWS_PRE, *p = start,
                  *end = s->scratch + sizeof s->scratch - 1;
    int rc = -1;
    if (body && len <= WRITE_CHUNK &&
        !lws_add_http_common_headers(wsi, HTTP_STATUS_BAD_REQUEST, "application/json", len, &p,
                                     end) &&
        !http_add_common_security_headers(wsi, &p, end) &&
        !lws_finalize_write_http_header(wsi, start, &p, end)) {
        memcpy(s->scratch + LWS_PRE, body, len);
        if (lws_write(wsi, s->scratch + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) == (int)len)
            rc = 1; /* answered: lws completes the transaction */
    }
    free(body);
    return rc;
}

void http_deadline_passed(http_server *s, conn *c)
{
    (void)s;
    xfer *x = c->x;
    if (x && x->phase == X_BODY) {
        /* The body is still arriving (e.g. a byte now and then): answer
         * and close; lws stops reading it. */
        http_respond_error(c->wsi, x, 408, "request_timeout",
                           "the request did not arrive in time (http_request_timeout_s); "
                           "send the whole request at once");
        return;
    }
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}
