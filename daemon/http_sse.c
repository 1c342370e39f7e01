/* Server-sent event streams: every client has a bounded queue of shared,
 * pre-formatted messages; a client that falls too far behind is dropped
 * rather than making the daemon hold memory or block the loop. */
#include "http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void sse_free(http_server *s, sse_client *c)
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

void sse_keepalive_tick(http_server *s)
{
    if (s->stopping || !s->sse_head)
        return;
    /* A comment line: keeps proxies and NAT from timing the stream out and
     * lets a client notice a dead daemon. */
    sse_msg *m = msg_from_text(": keepalive\n\n");
    if (m)
        broadcast_msg(s, m);
}

int sse_writeable(struct lws *wsi, sse_client *c)
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
    /* A stream whose socket does not drain is dropped after this long
     * without a write; keepalives write every keepalive period, hence the
     * floor, so a quiet healthy stream is never cut. */
    http_server *s = lws_context_user(lws_get_context(wsi));
    unsigned ms = s->idle_ms > 2 * s->keepalive_ms ? s->idle_ms : 2 * s->keepalive_ms;
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, (int)((ms + 999) / 1000));
    if (c->count)
        lws_callback_on_writable(wsi);
    return 0;
}

int sse_start(http_server *s, struct lws *wsi, xfer *x)
{
    if (s->nsse >= s->max_streams) {
        char m[200];
        snprintf(m, sizeof m,
                 "%zu event-stream clients are connected, the most this daemon serves; close "
                 "another dashboard or raise http_max_streams in the daemon's config",
                 s->nsse);
        http_respond_error(wsi, x, 503, "unavailable", m);
        return 0;
    }
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
        http_add_common_security_headers(wsi, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    /* What lws_http_mark_sse() does, without its "not h2 substream" error
     * line that 4.1 logs for every HTTP/1 stream: give the header table back
     * to the pool. The stall timeout is set by sse_writeable(); the request
     * deadline no longer applies. */
    lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
    lws_http_headers_detach(wsi);
    if (x->conn)
        conn_answering(x->conn);
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
