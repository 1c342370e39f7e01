/* The HTTP transport's pieces shared between its files (not a public
 * interface: daemon/http.h is). One server, one loop thread.
 *
 *   http.c          lifecycle (start, stop, the lws context) and lws's callback
 *   http_conn.c     listening sockets, accept, EMFILE, admission (caps per
 *                   server, per peer), the request head read before lws sees
 *                   it (431 / 400 / 408 answered here), deadlines
 *   http_request.c  one request: access, Host, body, the handler, the response
 *                   (whole or streamed)
 *   http_sse.c      event streams
 */
#ifndef FLASHLINE_DAEMON_HTTP_INTERNAL_H
#define FLASHLINE_DAEMON_HTTP_INTERNAL_H

#include "http.h"

#include <libwebsockets.h>
#include <sys/socket.h>
#include <sys/types.h>

#define DEFAULT_MAX_BODY     (16u * 1024u * 1024u)
#define DEFAULT_KEEPALIVE_MS 15000u
/* One write per writeable callback, at most this much body: bounds the copy
 * into the scratch buffer (lws_write needs LWS_PRE bytes of headroom). */
#define WRITE_CHUNK 16384u
/* An event-stream client may fall this far behind before it is dropped: a
 * dashboard on a slow link must not make the daemon hold unbounded memory. */
#define SSE_QUEUE_MSGS  512u
#define SSE_QUEUE_BYTES (2u * 1024u * 1024u)
/* Our limit on the request line plus headers (431 beyond it). lws gets more
 * room than this (LWS_HEADER_DATA) so that it never fails first: when lws
 * runs out it drops the connection without an answer. */
#define MAX_HEAD_BYTES  8192u
#define LWS_HEADER_DATA (2u * MAX_HEAD_BYTES)

#define container_of(p, type, member) ((type *)(void *)((char *)(p)-offsetof(type, member)))

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
    X_CLOSE,   /* answered: close once lws has flushed what it buffered */
    X_DONE,
};

struct conn;

/* One HTTP transaction: lws's per-session data for our protocol. */
typedef struct xfer {
    enum xfer_phase phase;
    bool head;
    bool via_tcp, may_write;
    long peer_uid;
    struct conn *conn;
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
    http_stream_fn stream; /* set: the body comes from here, close-delimited */
    void *stream_user;
    void (*stream_free)(void *user);
    bool stream_done;
    bool hdrs_sent;
    sse_client *sse;
} xfer;

enum conn_state {
    C_HEAD,   /* we read the request head ourselves */
    C_LWS,    /* adopted by lws: headers parsed, body or response under way */
    C_STREAM, /* an event stream or a response being written: no deadline */
};

/* One accepted connection, from accept() to lws's WSI_DESTROY. Every
 * connection serves one request (the response says Connection: close), so
 * that every request head passes through conn_head_read(). */
typedef struct conn {
    struct conn *prev, *next;
    http_server *s;
    int fd;
    bool via_tcp;
    bool rejected;      /* over a cap: answered 503 once its head is in */
    const char *reject; /* why (the 503's message) */
    char peer[64];      /* "uid 1000" or the TCP address without the port */
    long peer_uid;      /* Unix socket: SO_PEERCRED uid; -1 on TCP */
    long peer_gid;
    enum conn_state state;
    uint64_t deadline;   /* uv_now() ms; 0: none */
    uint64_t head_until; /* the whole request by then (408) */
    uv_poll_t poll;      /* C_HEAD only */
    bool polling;
    bool waiting; /* head incomplete: polling paused until the repoll timer */
    char *head;   /* C_HEAD: a copy of what has arrived (peeked, not read) */
    size_t head_len;
    struct lws *wsi;
    xfer *x; /* the transaction lws is running on it, if any */
} conn;

typedef struct listener {
    uv_poll_t poll;
    int fd;
    bool via_tcp, open;
    http_server *s;
} listener;

struct http_server {
    uv_loop_t *loop;
    struct lws_context *ctx; /* set to NULL by lws (info.pcontext) once freed */
    struct lws_vhost *vh;
    struct lws_protocols protocols[2]; /* lws keeps pointers into this */
    http_handler handler;
    void *user;
    size_t max_body;
    char *unix_path, *sse_path, *tcp_token, *tcp_addr;
    size_t tcp_token_len;
    int tcp_port;
    char **hosts; /* allowed Host header values on TCP, NULL-terminated */
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
    /* limits (http_conn.c) */
    unsigned max_conns, max_per_peer, max_streams;
    unsigned request_ms, idle_ms;
    listener lunix, ltcp;
    conn *conns;
    conn *adopting; /* inside lws_adopt_socket_vhost_readbuf() */
    unsigned nconns, nconns_tcp, nrejecting;
    bool accept_paused;
    uv_timer_t sweep;  /* deadlines; also resumes accepting after EMFILE */
    uv_timer_t repoll; /* looks again at heads that were incomplete */
    uint64_t emfile_log_at;
    unsigned long emfile_suppressed;
    unsigned char scratch[LWS_PRE + WRITE_CHUNK];
};

/* http.c */
void http_set_msg(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void http_own_closed(uv_handle_t *h);  /* h->data is the server */
void http_handle_gone(http_server *s); /* one of our uv handles has closed */

/* http_conn.c */
http_err conn_listen(http_server *s, char *msg, size_t msglen);
void conn_start(http_server *s); /* the sweep timer; after conn_listen */
void conn_stop(http_server *s);  /* close listeners and connections not yet adopted */
void conn_destroyed(http_server *s, struct lws *wsi);
conn *conn_of(http_server *s, struct lws *wsi);
/* The request is being answered: no request deadline any more. */
void conn_answering(conn *c);

/* http_request.c */
char *http_error_json(const char *code, const char *message, size_t *len);
/* The headers every response carries (framing and sniffing protection). */
int http_add_common_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end);
int http_on_request(http_server *s, struct lws *wsi, xfer *x, const char *uri, size_t urilen);
int http_on_body(http_server *s, struct lws *wsi, xfer *x, const void *in, size_t len);
void http_dispatch(http_server *s, struct lws *wsi, xfer *x);
int http_write_response(http_server *s, struct lws *wsi, xfer *x);
int http_refuse_upgrade(http_server *s, struct lws *wsi);
void http_respond_error(struct lws *wsi, xfer *x, int status, const char *code,
                        const char *message);
void http_xfer_cleanup(http_server *s, xfer *x);
void http_deadline_passed(http_server *s, conn *c);

/* http_sse.c */
int sse_start(http_server *s, struct lws *wsi, xfer *x);
int sse_writeable(struct lws *wsi, sse_client *c);
void sse_free(http_server *s, sse_client *c);
void sse_keepalive_tick(http_server *s);

#endif
