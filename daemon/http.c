/* The daemon's HTTP/1.1 transport over libwebsockets on a foreign libuv loop:
 * its lifecycle and lws's callback (the pieces: http_internal.h).
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
#include "http_internal.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_MAX_CONNS    256u
#define DEFAULT_MAX_PER_PEER 32u
#define DEFAULT_MAX_STREAMS  64u
#define DEFAULT_REQUEST_MS   30000u
#define DEFAULT_IDLE_MS      60000u

void http_set_msg(char *msg, size_t msglen, const char *fmt, ...)
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
    if (s->adopting && wsi)
        (void)conn_of(s, wsi); /* links the wsi to its connection early */
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (x)
            rc = http_on_request(s, wsi, x, in, len);
        else
            rc = -1;
        break;
    case LWS_CALLBACK_HTTP_BODY:
        if (x)
            rc = http_on_body(s, wsi, x, in, len);
        break;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (x && x->phase == X_BODY)
            http_dispatch(s, wsi, x);
        break;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (x && x->phase == X_SSE)
            rc = sse_writeable(wsi, x->sse);
        else if (x && x->phase == X_RESPOND)
            rc = http_write_response(s, wsi, x);
        else if (x && x->phase == X_CLOSE)
            rc = -1; /* answered, and lws has written out all of it */
        break;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        rc = http_refuse_upgrade(s, wsi);
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        conn_destroyed(s, wsi);
        break;
    case LWS_CALLBACK_RAW_ADOPT: /* lws turns a CONNECT request into a raw socket */
    case LWS_CALLBACK_RAW_RX:
    case LWS_CALLBACK_ESTABLISHED:
        rc = -1;
        break;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        http_xfer_cleanup(s, x);
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
    for (char **h = s->hosts; h && *h; h++)
        free(*h);
    free(s->hosts);
    free(s);
}

void http_handle_gone(http_server *s)
{
    if (--s->own_handles == 0)
        free_server(s);
}

void http_own_closed(uv_handle_t *h)
{
    http_handle_gone(h->data);
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
    uv_close((uv_handle_t *)h, http_own_closed);
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
        uv_close((uv_handle_t *)&s->keepalive, http_own_closed);
    }
    conn_stop(s);
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
        http_set_msg(msg, msglen,
                     "no Unix socket path configured; set one (e.g. /run/flashline/api.sock)");
        return HTTP_E_ARG;
    }
    if (path[0] == '@' || strlen(path) >= sizeof sa.sun_path) {
        http_set_msg(msg, msglen,
                     "Unix socket path '%s' is %s; give a file path shorter than %zu bytes", path,
                     path[0] == '@' ? "abstract" : "too long", sizeof sa.sun_path);
        return HTTP_E_ARG;
    }
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return HTTP_OK;
        http_set_msg(msg, msglen, "cannot check %s: %s; fix its directory's permissions", path,
                     strerror(errno));
        return HTTP_E_LISTEN;
    }
    if (!S_ISSOCK(st.st_mode)) {
        http_set_msg(msg, msglen, "%s exists and is not a socket; remove it or choose another path",
                     path);
        return HTTP_E_LISTEN;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        http_set_msg(msg, msglen, "socket(): %s", strerror(errno));
        return HTTP_E_LISTEN;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int err = errno;
    close(fd);
    if (rc == 0 || err == EAGAIN || err == EINPROGRESS) {
        http_set_msg(msg, msglen,
                     "another process is listening on %s (another flashlined?); stop it or "
                     "choose another socket path",
                     path);
        return HTTP_E_LISTEN;
    }
    if (err != ECONNREFUSED) {
        http_set_msg(msg, msglen, "cannot check whether %s is in use: %s", path, strerror(err));
        return HTTP_E_LISTEN;
    }
    /* A stale socket left by a daemon that died: nobody answers on it. */
    if (unlink(path) != 0) {
        http_set_msg(msg, msglen, "cannot remove the stale socket %s: %s; remove it by hand", path,
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
            http_set_msg(msg, msglen, "out of memory looking up group '%s'", name);
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
        http_set_msg(msg, msglen,
                     "unknown group '%s' for the API socket; create it (deploy/ sets up "
                     "'flashline') or configure another group",
                     name);
        return HTTP_E_ARG;
    }
    http_set_msg(msg, msglen, "group '%s' has too many members to look up", name);
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

static char **copy_hosts(const char *const *l)
{
    size_t n = 0;
    while (l[n])
        n++;
    char **out = calloc(n + 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++) {
        if (!(out[i] = strdup(l[i]))) {
            for (size_t k = 0; k < i; k++)
                free(out[k]);
            free(out);
            return NULL;
        }
    }
    return out;
}

/* The names a browser on this machine or the LAN reaches the daemon by:
 * the listen address (an IPv6 literal in brackets, as in a Host header),
 * the loopback names and the hostname. */
static char **default_hosts(const char *tcp_addr)
{
    char addr[80] = "", host[256] = "";
    if (tcp_addr && *tcp_addr && strcmp(tcp_addr, "0.0.0.0") != 0 && strcmp(tcp_addr, "::") != 0)
        snprintf(addr, sizeof addr, strchr(tcp_addr, ':') ? "[%s]" : "%s", tcp_addr);
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    const char *l[] = {"localhost", "127.0.0.1", "[::1]", addr, host, NULL};
    const char *keep[6];
    size_t n = 0;
    for (size_t i = 0; l[i]; i++)
        if (*l[i])
            keep[n++] = l[i];
    keep[n] = NULL;
    return copy_hosts(keep);
}

static void on_keepalive(uv_timer_t *t)
{
    sse_keepalive_tick(container_of(t, http_server, keepalive));
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
        http_set_msg(msg, msglen, "http_start: loop, configuration and result are required");
        return HTTP_E_ARG;
    }
    if (cfg->tcp_port < 0 || cfg->tcp_port > 65535) {
        http_set_msg(msg, msglen, "TCP port %d is out of range; use 1-65535, or 0 for no TCP",
                     cfg->tcp_port);
        return HTTP_E_ARG;
    }
    if (cfg->unix_mode > 07777) {
        http_set_msg(msg, msglen, "socket mode %o is not a file mode; use e.g. 0660",
                     cfg->unix_mode);
        return HTTP_E_ARG;
    }
    if (cfg->sse_path && cfg->sse_path[0] != '/') {
        http_set_msg(msg, msglen, "event-stream path '%s' must start with '/'", cfg->sse_path);
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
        http_set_msg(msg, msglen, "out of memory starting the HTTP server");
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
    s->tcp_port = cfg->tcp_port;
    s->max_conns = cfg->max_conns ? cfg->max_conns : DEFAULT_MAX_CONNS;
    s->max_per_peer = cfg->max_conns_per_peer ? cfg->max_conns_per_peer : DEFAULT_MAX_PER_PEER;
    s->max_streams = cfg->max_streams ? cfg->max_streams : DEFAULT_MAX_STREAMS;
    s->request_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms : DEFAULT_REQUEST_MS;
    s->idle_ms = cfg->idle_timeout_ms ? cfg->idle_timeout_ms : DEFAULT_IDLE_MS;
    s->hosts = cfg->hosts ? copy_hosts(cfg->hosts) : default_hosts(cfg->tcp_addr);
    if (!s->unix_path || (cfg->sse_path && !s->sse_path) || (cfg->tcp_addr && !s->tcp_addr) ||
        (cfg->tcp_token && *cfg->tcp_token && !s->tcp_token) || !s->hosts) {
        free_server(s);
        http_set_msg(msg, msglen, "out of memory starting the HTTP server");
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
    ci.max_http_header_data = LWS_HEADER_DATA;
    s->ctx = lws_create_context(&ci);
    if (!s->ctx) {
        free_server(s);
        http_set_msg(msg, msglen,
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

    /* One vhost that listens on nothing: the sockets are ours
     * (http_conn.c) and every accepted connection is adopted into it. */
    struct lws_context_creation_info vi;
    memset(&vi, 0, sizeof vi);
    vi.vhost_name = "flashlined";
    vi.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    vi.protocols = s->protocols;
    s->vh = lws_create_vhost(s->ctx, &vi);
    if (!s->vh) {
        http_set_msg(msg, msglen,
                     "libwebsockets could not create its server; FLASHLINE_LWS_LOG=7 "
                     "says more");
        return fail_started(s, HTTP_E_LWS);
    }
    http_err le = conn_listen(s, msg, msglen);
    if (le != HTTP_OK)
        return fail_started(s, le);
    conn_start(s);
    struct stat st;
    if (lstat(s->unix_path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
        http_set_msg(msg, msglen,
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
        http_set_msg(msg, msglen, "cannot chmod %s to %o: %s", s->unix_path, mode, strerror(errno));
        return fail_started(s, HTTP_E_LISTEN);
    }
    if (cfg->unix_group && chown(s->unix_path, (uid_t)-1, (gid_t)group_gid) != 0) {
        http_set_msg(msg, msglen,
                     "cannot give %s to group '%s': %s; run the daemon as root or as a member "
                     "of that group",
                     s->unix_path, cfg->unix_group, strerror(errno));
        return fail_started(s, HTTP_E_LISTEN);
    }
    /* The socket's group as it is now: given, or what it was created with. */
    s->group_gid = cfg->unix_group ? group_gid : (long)st.st_gid;

    if (s->keepalive_ms)
        uv_timer_start(&s->keepalive, on_keepalive, s->keepalive_ms, s->keepalive_ms);
    *out = s;
    return HTTP_OK;
}
