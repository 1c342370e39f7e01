/* Connections before libwebsockets sees them: the listening sockets are ours,
 * so that
 *  - out of descriptors (EMFILE), we stop polling them instead of spinning:
 *    lws 4.1 logs the failed accept() and returns with the listen socket
 *    still readable, for ever;
 *  - each connection is admitted against the caps (total, per peer, with
 *    room kept for the Unix socket) knowing who the peer is;
 *  - the request head is read and checked here (431 over MAX_HEAD_BYTES, 400
 *    for %00 or a malformed escape, 408 when it trickles): lws 4.1 drops the
 *    connection without a word on all of these. A good head is then handed
 *    to lws with lws_adopt_socket_vhost_readbuf(), which parses it as usual.
 * After adoption lws owns the descriptor; WSI_DESTROY tells us it is gone.
 */
#define _GNU_SOURCE /* accept4, struct ucred */
#include "http_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Connections over a cap are answered 503 once their head is in, at most
 * this many at a time; beyond that they are closed at once, unanswered, so
 * that a flood cannot hold descriptors through the refusals themselves. */
#define MAX_REJECTING 64u
/* A refused connection gets this long to send its head. */
#define REJECT_MS 1000u
/* After an error answer: read and discard what the client still sends for
 * this long before closing, so that the close does not reset the
 * connection and lose the answer. */
#define LINGER_MS 1000u
#define SWEEP_MS  250u
/* How soon a connection whose head is incomplete is looked at again. */
#define REPOLL_MS 10u
/* At most one "out of descriptors" line per this period. */
#define EMFILE_LOG_MS 5000u

enum { C_LINGER = C_STREAM + 1 };

static void conn_poll_closed(uv_handle_t *h);
static void on_conn_readable(uv_poll_t *h, int status, int events);

/* ------------------------------------------------------------ accounting */

static void conn_maybe_free(conn *c)
{
    if (c->polling || c->prev || c->next || c->s->conns == c)
        return;
    free(c->head);
    free(c);
}

static void resume_accepting(http_server *s);

/* The connection no longer counts (closed, or lws destroyed it). */
static void conn_release(conn *c)
{
    http_server *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else if (s->conns == c)
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    if (c->rejected) {
        s->nrejecting--;
    } else {
        s->nconns--;
        if (c->via_tcp)
            s->nconns_tcp--;
    }
    /* A descriptor was freed: if accept() had failed for want of one, try
     * again now rather than at the next sweep. */
    if (s->accept_paused)
        resume_accepting(s);
    conn_maybe_free(c);
}

static void conn_stop_poll(conn *c)
{
    if (c->polling) {
        /* uv_close removes the descriptor from epoll at once (before lws
         * adds it for itself); only the callback is deferred. */
        uv_close((uv_handle_t *)&c->poll, conn_poll_closed);
    }
}

static void conn_poll_closed(uv_handle_t *h)
{
    conn *c = h->data;
    http_server *s = c->s;
    c->polling = false;
    conn_maybe_free(c);
    http_handle_gone(s);
}

/* Close a connection lws never adopted. */
static void conn_close(conn *c)
{
    conn_stop_poll(c);
    close(c->fd);
    c->fd = -1;
    conn_release(c);
}

conn *conn_of(http_server *s, struct lws *wsi)
{
    conn *c = lws_get_opaque_user_data(wsi);
    if (c)
        return c;
    /* Callbacks from inside lws_adopt_socket_vhost_readbuf(), before it has
     * returned the wsi to us. */
    c = s->adopting;
    if (c && !c->wsi && lws_get_socket_fd(wsi) == c->fd) {
        c->wsi = wsi;
        lws_set_opaque_user_data(wsi, c);
        return c;
    }
    return NULL;
}

void conn_destroyed(http_server *s, struct lws *wsi)
{
    conn *c = conn_of(s, wsi);
    if (!c)
        return;
    lws_set_opaque_user_data(wsi, NULL);
    c->wsi = NULL;
    if (c->x)
        c->x->conn = NULL; /* in case lws frees the transaction after this */
    c->x = NULL;
    c->fd = -1;
    conn_release(c);
}

void conn_answering(conn *c)
{
    c->state = C_STREAM;
    c->deadline = 0;
}

/* --------------------------------------------------------- error answers */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 408:
        return "Request Timeout";
    case 431:
        return "Request Header Fields Too Large";
    default:
        return "Service Unavailable";
    }
}

/* Answer on the raw socket (a fresh socket's send buffer takes it whole),
 * then linger. */
static void conn_answer(conn *c, int status, const char *code, const char *message)
{
    size_t blen = 0;
    char *body = http_error_json(code, message, &blen);
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
                     "content-length: %zu\r\nconnection: close\r\n"
                     "content-security-policy: frame-ancestors 'none'\r\n"
                     "x-frame-options: DENY\r\nx-content-type-options: nosniff\r\n\r\n",
                     status, reason_phrase(status), body ? blen : 0);
    if (send(c->fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n && body)
        (void)send(c->fd, body, blen, MSG_NOSIGNAL | MSG_DONTWAIT);
    free(body);
    shutdown(c->fd, SHUT_WR);
    if (c->waiting) {
        c->waiting = false;
        uv_poll_start(&c->poll, UV_READABLE, on_conn_readable);
    }
    c->state = (enum conn_state)C_LINGER;
    c->deadline = uv_now(c->s->loop) + LINGER_MS;
}

/* ------------------------------------------------------------- the head */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* The request target's escapes: NULL if fine, else why not. */
static const char *bad_target(const char *line, size_t len)
{
    const char *sp = memchr(line, ' ', len);
    if (!sp)
        return "the request line is not 'METHOD TARGET HTTP/1.1'; send a well-formed request";
    const char *t = sp + 1, *end = line + len;
    for (; t < end && *t != ' '; t++) {
        if ((unsigned char)*t < 0x20 || *t == 0x7f)
            return "the request target contains a control character; percent-encode it";
        if (*t != '%')
            continue;
        if (end - t < 3 || hexval(t[1]) < 0 || hexval(t[2]) < 0)
            return "the request target has a '%' not followed by two hex digits; write a "
                   "literal '%' as %25";
        if (t[1] == '0' && t[2] == '0')
            return "the request target contains %00 (a NUL byte), which no path or query "
                   "argument may hold; remove it";
    }
    return NULL;
}

static void head_complete(conn *c, size_t head_end)
{
    http_server *s = c->s;
    if (c->rejected) {
        conn_answer(c, 503, "unavailable", c->reject);
        return;
    }
    const char *eol = memchr(c->head, '\n', head_end);
    size_t line_len = eol ? (size_t)(eol - c->head) : head_end;
    if (line_len && c->head[line_len - 1] == '\r')
        line_len--;
    const char *why = bad_target(c->head, line_len);
    if (why) {
        conn_answer(c, 400, "bad_request", why);
        return;
    }
    /* lws reads from the socket from now on, through its own poll handle. */
    conn_stop_poll(c);
    c->state = C_LWS;
    c->deadline = c->head_until;
    s->adopting = c;
    struct lws *wsi = lws_adopt_socket_vhost(s->vh, c->fd);
    s->adopting = NULL;
    free(c->head);
    c->head = NULL;
    if (wsi && !lws_get_opaque_user_data(wsi) && !c->wsi) {
        c->wsi = wsi;
        lws_set_opaque_user_data(wsi, c);
    }
    if (!wsi && !c->wsi && c->fd >= 0) {
        /* lws refused it (and closed the descriptor) before any callback. */
        c->fd = -1;
        conn_release(c);
    }
}

static void on_repoll(uv_timer_t *t)
{
    http_server *s = container_of(t, http_server, repoll);
    for (conn *c = s->conns; c; c = c->next) {
        if (c->waiting && c->polling) {
            c->waiting = false;
            uv_poll_start(&c->poll, UV_READABLE, on_conn_readable);
        }
    }
}

static void on_conn_readable(uv_poll_t *h, int status, int events)
{
    (void)events;
    conn *c = h->data;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if ((int)c->state == C_LINGER) {
        char sink[4096];
        ssize_t n = recv(c->fd, sink, sizeof sink, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            conn_close(c);
        return;
    }
    if (!c->head && !(c->head = malloc(MAX_HEAD_BYTES + 1))) {
        conn_close(c);
        return;
    }
    /* Only peek: lws 4.1 reads the request itself. (Handing it what was
     * read, through lws_adopt_socket_vhost_readbuf(), makes 4.1.6 parse
     * the head again as body and loop for ever on any request with a
     * body.) While the head is incomplete the socket stays readable, so
     * polling pauses and the repoll timer looks again shortly. */
    ssize_t n = recv(c->fd, c->head, MAX_HEAD_BYTES + 1, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    if (c->head_len == 0)
        c->deadline = c->head_until; /* it has started: the request deadline */
    c->head_len = (size_t)n;
    for (size_t i = 0; i + 1 < c->head_len; i++) {
        if (c->head[i] == '\n' &&
            (c->head[i + 1] == '\n' ||
             (c->head[i + 1] == '\r' && i + 2 < c->head_len && c->head[i + 2] == '\n'))) {
            head_complete(c, i + 1);
            return;
        }
    }
    if (c->head_len > MAX_HEAD_BYTES) {
        if (c->rejected) {
            conn_answer(c, 503, "unavailable", c->reject);
            return;
        }
        char m[200];
        snprintf(m, sizeof m,
                 "the request line and headers are over %u bytes; send fewer or shorter "
                 "headers (a long filter belongs in fewer query arguments)",
                 MAX_HEAD_BYTES);
        conn_answer(c, 431, "headers_too_large", m);
        return;
    }
    uv_poll_stop(&c->poll);
    c->waiting = true;
    if (!uv_is_active((uv_handle_t *)&c->s->repoll))
        uv_timer_start(&c->s->repoll, on_repoll, REPOLL_MS, 0);
}

/* --------------------------------------------------------------- accept */

static void pause_accepting(http_server *s, int err)
{
    if (!s->accept_paused) {
        s->accept_paused = true;
        if (s->lunix.open)
            uv_poll_stop(&s->lunix.poll);
        if (s->ltcp.open)
            uv_poll_stop(&s->ltcp.poll);
    }
    uint64_t now = uv_now(s->loop);
    if (s->emfile_log_at && now - s->emfile_log_at < EMFILE_LOG_MS) {
        s->emfile_suppressed++;
        return;
    }
    fprintf(stderr,
            "http: cannot accept connections: %s (%u open here); new connections wait until "
            "a descriptor frees (%lu more such failures since the last message); raise "
            "LimitNOFILE or lower http_max_connections\n",
            strerror(err), s->nconns + s->nrejecting, s->emfile_suppressed);
    s->emfile_log_at = now ? now : 1;
    s->emfile_suppressed = 0;
}

static void on_listen_readable(uv_poll_t *h, int status, int events);

static void resume_accepting(http_server *s)
{
    if (!s->accept_paused || s->stopping)
        return;
    s->accept_paused = false;
    if (s->lunix.open)
        uv_poll_start(&s->lunix.poll, UV_READABLE, on_listen_readable);
    if (s->ltcp.open)
        uv_poll_start(&s->ltcp.poll, UV_READABLE, on_listen_readable);
}

static unsigned peer_count(const http_server *s, const conn *n)
{
    unsigned k = 0;
    for (const conn *c = s->conns; c; c = c->next)
        k += !c->rejected && c->via_tcp == n->via_tcp && strcmp(c->peer, n->peer) == 0;
    return k;
}

static void admit(http_server *s, conn *c)
{
    unsigned tcp_cap = s->max_conns - s->max_conns / 8;
    if (c->via_tcp && s->nconns_tcp >= tcp_cap) {
        c->reject = "the daemon serves no more TCP connections now (http_max_connections, "
                    "less an eighth kept for the Unix socket); retry later or raise "
                    "http_max_connections in its config";
    } else if (!c->via_tcp && s->nconns >= s->max_conns) {
        c->reject = "the daemon serves no more connections now (http_max_connections); retry "
                    "later or raise http_max_connections in its config";
    } else if (peer_count(s, c) >= s->max_per_peer) {
        c->reject = "this peer has as many connections open as the daemon allows one peer "
                    "(http_max_connections_per_peer); close some or raise that setting";
    }
    c->rejected = c->reject != NULL;
}

static void on_accepted(http_server *s, listener *l, int fd, const struct sockaddr_storage *sa)
{
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->s = s;
    c->fd = fd;
    c->via_tcp = l->via_tcp;
    c->peer_uid = -1;
    if (l->via_tcp) {
        const void *a = sa->ss_family == AF_INET6
                            ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                            : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
        if (!inet_ntop(sa->ss_family, a, c->peer, sizeof c->peer))
            snprintf(c->peer, sizeof c->peer, "?");
    } else {
        struct ucred cred;
        socklen_t clen = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
            c->peer_uid = (long)cred.uid;
            c->peer_gid = (long)cred.gid;
        }
        snprintf(c->peer, sizeof c->peer, "uid %ld", c->peer_uid);
    }
    admit(s, c);
    if (c->rejected && s->nrejecting >= MAX_REJECTING) {
        close(fd);
        free(c);
        return;
    }
    if (uv_poll_init(s->loop, &c->poll, fd) != 0) {
        close(fd);
        free(c);
        return;
    }
    c->poll.data = c;
    c->polling = true;
    s->own_handles++;
    if (c->rejected) {
        s->nrejecting++;
    } else {
        s->nconns++;
        s->nconns_tcp += c->via_tcp;
    }
    c->next = s->conns;
    if (c->next)
        c->next->prev = c;
    s->conns = c;
    uint64_t now = uv_now(s->loop);
    c->state = C_HEAD;
    c->head_until = now + (c->rejected ? REJECT_MS : s->request_ms);
    c->deadline = now + (c->rejected ? REJECT_MS : s->idle_ms);
    uv_poll_start(&c->poll, UV_READABLE, on_conn_readable);
}

static void on_listen_readable(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    listener *l = container_of(h, listener, poll);
    http_server *s = l->s;
    /* A bounded batch: other clients get the loop in between. */
    for (int i = 0; i < 64 && !s->accept_paused && !s->stopping; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept4(l->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            on_accepted(s, l, fd, &sa);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            pause_accepting(s, errno);
            return;
        }
        /* ECONNABORTED and the like: that client is gone, others may wait. */
    }
}

/* -------------------------------------------------------------- deadlines */

static void on_sweep(uv_timer_t *t)
{
    http_server *s = container_of(t, http_server, sweep);
    uint64_t now = uv_now(s->loop);
    for (conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (!c->deadline || now < c->deadline)
            continue;
        c->deadline = 0;
        if ((int)c->state == C_LINGER) {
            conn_close(c);
        } else if (c->state == C_HEAD) {
            if (c->rejected)
                conn_answer(c, 503, "unavailable", c->reject);
            else if (c->head_len)
                conn_answer(c, 408, "request_timeout",
                            "the request head did not arrive in time (http_request_timeout_s); "
                            "send the whole request at once");
            else
                conn_close(c); /* idle: it never said anything */
        } else if (c->state == C_LWS && c->wsi) {
            http_deadline_passed(s, c);
        }
    }
    if (s->accept_paused)
        resume_accepting(s);
}

/* ---------------------------------------------------------- listening */

static http_err listen_on(http_server *s, listener *l, int fd, bool via_tcp, char *msg,
                          size_t msglen)
{
    if (listen(fd, SOMAXCONN) != 0) {
        http_set_msg(msg, msglen, "listen(): %s", strerror(errno));
        close(fd);
        return HTTP_E_LISTEN;
    }
    l->fd = fd;
    l->via_tcp = via_tcp;
    l->s = s;
    uv_poll_init(s->loop, &l->poll, fd);
    l->poll.data = s;
    l->open = true;
    s->own_handles++;
    uv_poll_start(&l->poll, UV_READABLE, on_listen_readable);
    return HTTP_OK;
}

static http_err listen_unix(http_server *s, char *msg, size_t msglen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, s->unix_path, strlen(s->unix_path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        http_set_msg(msg, msglen,
                     "cannot listen on %s: %s; check that its directory exists and the daemon "
                     "may write there",
                     s->unix_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return HTTP_E_LISTEN;
    }
    /* Ours from now on: http_stop() removes it, also when TCP fails next. */
    struct stat st;
    if (lstat(s->unix_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        s->sock_created = true;
        s->sock_dev = st.st_dev;
        s->sock_ino = st.st_ino;
    }
    return listen_on(s, &s->lunix, fd, false, msg, msglen);
}

static http_err listen_tcp(http_server *s, char *msg, size_t msglen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
    char port[8];
    snprintf(port, sizeof port, "%d", s->tcp_port);
    /* No address: every interface, IPv6 and IPv4 on one socket if possible. */
    int gai = getaddrinfo(s->tcp_addr ? s->tcp_addr : "::", port, &hints, &res);
    if (gai != 0 && !s->tcp_addr)
        gai = getaddrinfo("0.0.0.0", port, &hints, &res);
    if (gai != 0) {
        http_set_msg(msg, msglen, "cannot listen on TCP %s:%d: %s; give an address of this machine",
                     s->tcp_addr ? s->tcp_addr : "*", s->tcp_port, gai_strerror(gai));
        return HTTP_E_LISTEN;
    }
    int err = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1, zero = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (a->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0) {
            freeaddrinfo(res);
            return listen_on(s, &s->ltcp, fd, true, msg, msglen);
        }
        err = errno;
        close(fd);
    }
    freeaddrinfo(res);
    http_set_msg(msg, msglen,
                 "cannot listen on TCP %s:%d: %s; is the port in use or the address not on "
                 "this machine?",
                 s->tcp_addr ? s->tcp_addr : "*", s->tcp_port, strerror(err));
    return HTTP_E_LISTEN;
}

http_err conn_listen(http_server *s, char *msg, size_t msglen)
{
    http_err e = listen_unix(s, msg, msglen);
    if (e == HTTP_OK && s->tcp_port)
        e = listen_tcp(s, msg, msglen);
    return e;
}

void conn_start(http_server *s)
{
    uv_timer_init(s->loop, &s->sweep);
    s->sweep.data = s;
    s->own_handles++;
    uv_timer_start(&s->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    uv_timer_init(s->loop, &s->repoll);
    s->repoll.data = s;
    s->own_handles++;
}

static void listener_close(listener *l)
{
    if (!l->open)
        return;
    l->open = false;
    uv_close((uv_handle_t *)&l->poll, http_own_closed);
    close(l->fd);
}

void conn_stop(http_server *s)
{
    listener_close(&s->lunix);
    listener_close(&s->ltcp);
    /* data is set once conn_start() has initialised the timers. */
    if (s->sweep.data && !uv_is_closing((uv_handle_t *)&s->sweep)) {
        uv_close((uv_handle_t *)&s->sweep, http_own_closed);
        uv_close((uv_handle_t *)&s->repoll, http_own_closed);
    }
    /* Connections lws has are closed by lws_context_destroy(). */
    for (conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == C_HEAD || (int)c->state == C_LINGER)
            conn_close(c);
    }
}
