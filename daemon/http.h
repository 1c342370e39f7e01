/* The daemon's HTTP/1.1 transport: one server on the daemon's own libuv loop,
 * listening on a Unix socket (and optionally on TCP for dashboards), built on
 * libwebsockets. It knows nothing of the /v1 resources: every request that
 * passes the access checks goes to one handler callback, on the loop thread,
 * with its whole body; the handler fills in a response.
 *
 * What the server decides by itself, without calling the handler (every
 * error body is {"error":{"code":"...","message":"..."}} as in docs/api.md):
 *   400 bad_request        a NUL (%00) or a malformed %-escape in the target;
 *                          a body on GET, HEAD or DELETE
 *   403 forbidden          a Unix-socket peer that is neither root, the
 *                          daemon's uid, nor in the socket's group
 *   401 unauthorized       a method other than GET/HEAD on TCP without
 *                          "Authorization: Bearer TOKEN" (or with no token
 *                          configured: TCP is then read-only); before any body
 *                          is read
 *   408 request_timeout    the request (head and body) took longer than
 *                          request_timeout_ms
 *   411 length_required    POST/PUT/PATCH without Content-Length (chunked
 *                          request bodies are not supported)
 *   413 too_large          a body larger than max_body
 *   421 misdirected        on TCP, a Host header that is not one of hosts
 *                          (DNS rebinding)
 *   431 headers_too_large  request line and headers over 8 KiB
 *   405 method_not_allowed anything but GET on the event-stream path
 *   500 internal           the handler set no status
 *   503 unavailable        no handler configured; a connection or stream cap
 *                          reached (the message names the setting)
 *
 * Every connection serves one request: each response says "Connection:
 * close" (every request head is then checked here before libwebsockets
 * parses it; lws 4.1 drops a connection without an answer on a head it
 * cannot parse). Every response carries X-Frame-Options: DENY, CSP
 * frame-ancestors 'none' and X-Content-Type-Options: nosniff.
 *
 * Out of file descriptors (EMFILE), the server stops accepting and retries
 * every 250 ms or as soon as one of its connections closes; connections wait
 * in the listen backlog meanwhile.
 *
 * Threads: every function here runs on the loop thread only, except
 * http_peer_allowed() which is pure. Nothing here keeps global mutable state
 * (libwebsockets' log level is process-wide; http_start() sets it).
 */
#ifndef FLASHLINE_DAEMON_HTTP_H
#define FLASHLINE_DAEMON_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct http_server http_server;

typedef enum http_err {
    HTTP_OK = 0,
    HTTP_E_LISTEN, /* cannot listen: address in use, another daemon on the socket, bad path */
    HTTP_E_ARG,    /* bad configuration: missing path, unknown group, bad mode */
    HTTP_E_NOMEM,  /* out of memory */
    HTTP_E_LWS,    /* libwebsockets refused (e.g. its libuv plugin is not installed) */
} http_err;

typedef struct http_request {
    const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD" */
    const char *path;   /* "/v1/jobs/3": percent-decoded, dot-segments removed, no query */
    /* The query without '?', "" if none. libwebsockets decodes the query as it
     * parses it, so this is a canonical re-encoding of what it decoded: the
     * arguments joined by '&', with '&', ';', '%', '+', '#', space and
     * non-printable bytes percent-encoded. Decode it as usual. */
    const char *query;
    /* The same arguments, decoded ("uid=0123", "limit=5", "flag"), in order. */
    const char *const *args;
    size_t nargs;
    const uint8_t *body; /* never NULL; body_len 0 when there is none */
    size_t body_len;
    const char *content_type; /* "" if none */
    bool via_tcp;             /* false: the Unix socket */
    bool may_write;           /* Unix socket peer allowed, or TCP with the right bearer token */
    long peer_uid;            /* SO_PEERCRED on the Unix socket, -1 on TCP */
} http_request;

/* A body produced in pieces as the socket drains: called from the writeable
 * callback with room for cap bytes; returns how many it wrote and sets *done
 * after the last piece (it may return 0 with *done false to be called again
 * at once). The body is sent without Content-Length and ends when the
 * connection closes. */
typedef size_t (*http_stream_fn)(void *user, char *buf, size_t cap, bool *done);

typedef struct http_response {
    int status;               /* 0 (left unset) gives a 500 */
    const char *content_type; /* static string; NULL: application/json */
    char *body;               /* malloc'd by the handler, freed by the server; may be NULL */
    size_t body_len;
    /* Or a streamed body (body must then be NULL): stream_free(stream_user)
     * is called once when the response ends, is cut, or the server stops;
     * stream is never called after http_stop(). For HEAD it is not called. */
    http_stream_fn stream;
    void *stream_user;
    void (*stream_free)(void *user);
} http_response;

/* Called once per request on the loop thread; resp is zeroed on entry. For
 * HEAD the body is measured for Content-Length, then freed unsent. */
typedef void (*http_handler)(void *user, const http_request *req, http_response *resp);

typedef struct http_config {
    const char *unix_path;  /* required */
    unsigned unix_mode;     /* e.g. 0660; 0 means 0660 */
    const char *unix_group; /* NULL: keep the group the socket is created with */
    const char *tcp_addr;   /* NULL: every interface */
    int tcp_port;           /* 0: no TCP listener */
    const char *tcp_token;  /* NULL or "": TCP is read-only */
    size_t max_body;        /* larger bodies get 413 without calling the handler; 0: 16 MiB */
    const char *sse_path;   /* GET on this path is a server-sent event stream; NULL: none */
    /* Period of the ": keepalive" comment on event streams; 0: 15 s. */
    unsigned sse_keepalive_ms;
    /* Caps (0: the default). Past one, a connection gets 503 and is closed.
     * TCP connections may use only max_conns minus an eighth of it: that
     * eighth is kept for the Unix socket (the local operator). A peer is a
     * TCP address, or a uid on the Unix socket. */
    unsigned max_conns;          /* 0: 256 */
    unsigned max_conns_per_peer; /* 0: 32 */
    unsigned max_streams;        /* event-stream clients; 0: 64 */
    /* A request's head and body must arrive within request_timeout_ms of the
     * connection (408); a connection that sends nothing is closed after
     * idle_timeout_ms, and so is a response or stream whose socket does not
     * drain for that long (streams: at least twice the keepalive). */
    unsigned request_timeout_ms; /* 0: 30 s */
    unsigned idle_timeout_ms;    /* 0: 60 s */
    /* Host header values allowed on TCP, each also with ":PORT";
     * NULL-terminated. NULL: the TCP address, localhost, 127.0.0.1, [::1]
     * and this machine's hostname. */
    const char *const *hosts;
    http_handler handler;
    void *user;
} http_config;

/* Start listening. On success *out is the server. On failure msg says what
 * went wrong and what to do; if libwebsockets had started, it is torn down as
 * by http_stop(), so run the loop (its close callbacks) before uv_loop_close.
 * Refuses a unix_path where another process is listening, or which exists and
 * is not a socket; removes a stale socket file. */
http_err http_start(uv_loop_t *loop, const http_config *cfg, http_server **out, char *msg,
                    size_t msglen);

/* Queue an event to every connected SSE client ("event: KIND\ndata: JSON\n\n";
 * a JSON text with newlines becomes several data: lines). Slow clients that
 * fall too far behind are dropped, never block the loop. */
void http_broadcast(http_server *s, const char *kind, const char *data_json);

/* Event-stream clients connected now. */
size_t http_sse_clients(const http_server *s);

/* Stop listening and close every connection; frees s. After it returns (and
 * the loop runs its close callbacks) uv_loop_close succeeds. Removes the
 * socket file. Safe to call from inside the handler. NULL is a no-op. */
void http_stop(http_server *s);

/* The access policy for Unix-socket peers, pure so it can be unit-tested:
 * root, the daemon's own uid, or a peer whose primary group is the socket's
 * group. (Supplementary membership needs the user database; the server
 * checks that too, through getpwuid_r + getgrouplist, when this says no.) */
bool http_peer_allowed(long peer_uid, long peer_gid, long group_gid, long self_uid);

#ifdef __cplusplus
}
#endif

#endif
