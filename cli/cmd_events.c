/*
 * flashline events: follow the daemon's server-sent event stream, one line
 * per event, until Ctrl-C or until the daemon closes it. Lines are written
 * (and flushed, stdout being line-buffered) as events arrive, so the output
 * can be piped into a log or a grep while the line runs.
 */
#include "cli.h"
#include "client.h"
#include "output.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An SSE parser (the parts of the WHATWG format the daemon uses: "event:",
 * "data:", comments, blank line ends an event). */
typedef struct sse {
    bool json;
    char line[64 * 1024];
    size_t len;
    bool overflow; /* the current line was longer than line[]: dropped */
    char event[64];
    char *data;
    size_t data_len;
    bool failed;
} sse;

static const char *s(json_t *o, const char *key, char *buf, size_t size)
{
    return out_cell(json_object_get(o, key), buf, size);
}

/* "KIND summary" for a person; the fields are the contract's. */
static void summary(const char *kind, json_t *d, char *out, size_t size)
{
    char b[6][128];
    if (strcmp(kind, "probe") == 0) {
        snprintf(out, size, "%s %s job %s unit %s%s%s", s(d, "serial", b[0], 128),
                 s(d, "state", b[1], 128), s(d, "job", b[2], 128), s(d, "unit", b[3], 128),
                 json_is_string(json_object_get(d, "quarantine_reason")) ? ": " : "",
                 json_is_string(json_object_get(d, "quarantine_reason"))
                     ? json_string_value(json_object_get(d, "quarantine_reason"))
                     : "");
    } else if (strcmp(kind, "job") == 0) {
        snprintf(out, size, "job %s %s: %s ok, %s failed, %s interrupted, %s in flight",
                 s(d, "id", b[0], 128), s(d, "state", b[1], 128), s(d, "ok", b[2], 128),
                 s(d, "failed", b[3], 128), s(d, "interrupted", b[4], 128),
                 s(d, "in_flight", b[5], 128));
    } else if (strcmp(kind, "unit") == 0) {
        snprintf(out, size, "unit %s %s job %s probe %s uid %s serial number %s%s%s",
                 s(d, "id", b[0], 128), s(d, "result", b[1], 128), s(d, "job", b[2], 128),
                 s(d, "probe", b[3], 128), s(d, "uid", b[4], 128), s(d, "serial_number", b[5], 128),
                 json_is_string(json_object_get(d, "error")) ? ": " : "",
                 json_is_string(json_object_get(d, "error"))
                     ? json_string_value(json_object_get(d, "error"))
                     : "");
    } else if (strcmp(kind, "recovery") == 0) {
        json_t *ok = json_object_get(d, "ok");
        snprintf(out, size, "unit %s attempt %s: %s (%s)", s(d, "unit", b[0], 128),
                 s(d, "attempt", b[1], 128), s(d, "step", b[2], 128),
                 json_is_true(ok) ? "ok" : "did not help");
    } else if (strcmp(kind, "progress") == 0) {
        snprintf(out, size, "%s unit %s %s%%", s(d, "probe", b[0], 128), s(d, "unit", b[1], 128),
                 s(d, "progress", b[2], 128));
    } else {
        /* attempt, and kinds added later: the data without its time. */
        json_t *copy = json_deep_copy(d);
        json_object_del(copy, "at");
        char *text = json_dumps(copy, JSON_COMPACT);
        snprintf(out, size, "%s", text ? text : "");
        free(text);
        json_decref(copy);
    }
}

static void dispatch(sse *p)
{
    if (!p->data)
        return;
    const char *kind = p->event[0] ? p->event : "message";
    if (p->json) {
        printf("%s\n", p->data);
    } else {
        json_t *d = json_loads(p->data, 0, NULL);
        char line[1024], b[64];
        if (json_is_object(d)) {
            summary(kind, d, line, sizeof line);
            printf("%s %s %s\n", s(d, "at", b, sizeof b), kind, line);
        } else {
            printf("- %s %s\n", kind, p->data);
        }
        json_decref(d);
    }
    free(p->data);
    p->data = NULL;
    p->data_len = 0;
    p->event[0] = '\0';
}

static void field(sse *p)
{
    const char *l = p->line;
    if (p->len == 0) {
        dispatch(p);
        return;
    }
    if (l[0] == ':') /* a comment: the daemon's keep-alive */
        return;
    const char *colon = strchr(l, ':');
    size_t name_len = colon ? (size_t)(colon - l) : p->len;
    const char *v = colon ? colon + 1 : "";
    if (*v == ' ')
        v++;
    if (name_len == 5 && strncmp(l, "event", 5) == 0) {
        snprintf(p->event, sizeof p->event, "%s", v);
    } else if (name_len == 4 && strncmp(l, "data", 4) == 0) {
        size_t n = strlen(v);
        char *d = realloc(p->data, p->data_len + n + 2);
        if (!d) {
            p->failed = true;
            return;
        }
        /* Several data lines are one value joined by newlines. */
        if (p->data_len)
            d[p->data_len++] = '\n';
        memcpy(d + p->data_len, v, n + 1);
        p->data_len += n;
        p->data = d;
    }
}

static bool on_chunk(const char *data, size_t n, void *ctx)
{
    sse *p = ctx;
    for (size_t i = 0; i < n; i++) {
        char c = data[i];
        if (c == '\n') {
            if (p->len && p->line[p->len - 1] == '\r')
                p->len--;
            p->line[p->len] = '\0';
            if (!p->overflow)
                field(p);
            p->len = 0;
            p->overflow = false;
        } else if (p->len + 1 < sizeof p->line) {
            p->line[p->len++] = c;
        } else {
            p->overflow = true;
        }
    }
    return !p->failed;
}

int cmd_events(const cli_opts *global, int argc, char **argv)
{
    cli_opts o = *global;
    const char *pos[1];
    int npos;
    int code = cli_parse("events", argc, argv, NULL, NULL, &o, pos, 0, &npos);
    if (code != CLI_OK)
        return code;
    sse *p = calloc(1, sizeof *p);
    if (!p) {
        fprintf(stderr, "flashline events: out of memory\n");
        return CLI_FAILED;
    }
    p->json = o.json;
    const char *socket = cli_socket(&o);
    cl_request req = {
        .socket = socket, .method = "GET", .path = "/v1/events", .sink = on_chunk, .sink_ctx = p};
    cl_response resp;
    cl_err e = cl_perform(&req, &resp);
    /* An event cut off before its blank line is dropped, as the SSE
     * format says: it may be incomplete. */
    code = cl_report("events", socket, e, &resp);
    cl_response_free(&resp);
    free(p->data);
    free(p);
    return code;
}
