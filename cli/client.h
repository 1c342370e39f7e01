/*
 * The client side of the flashlined API (docs/api.md): one HTTP/1.1 request
 * over the daemon's Unix socket with libcurl, its JSON answer, and what a
 * failure means for the exit code. Commands use cl_call (JSON in, JSON out,
 * errors reported) or, for streamed bodies (export, events), cl_perform
 * with a sink.
 */
#ifndef FLASHLINE_CLIENT_H
#define FLASHLINE_CLIENT_H

#include "cli.h"

#include <jansson.h>
#include <stddef.h>

typedef enum cl_err {
    CL_OK = 0,
    CL_NO_DAEMON, /* socket missing or connection refused: nobody is listening */
    CL_DENIED,    /* the socket exists but we may not connect (group flashline) */
    CL_TRANSPORT, /* the connection broke, timed out, or the reply is not HTTP */
    CL_HTTP,      /* the daemon answered with a 4xx or 5xx */
    CL_BAD_REPLY, /* a 2xx whose body is not the JSON the contract promises */
    CL_SINK,      /* the sink refused the body (e.g. disk full) */
    CL_NO_MEMORY,
} cl_err;

/* Receives a streamed 2xx body; returns false to abort the transfer. */
typedef bool (*cl_sink)(const char *data, size_t n, void *ctx);

typedef struct cl_request {
    const char *socket;
    const char *method; /* "GET", "POST" */
    const char *path;   /* "/v1/jobs?…", already escaped */
    const char *content_type;
    const void *body; /* NULL: no body */
    size_t body_len;
    /* When set, a 2xx body goes here as it arrives, with no time limit
     * (exports and the event stream); otherwise it is collected. */
    cl_sink sink;
    void *sink_ctx;
} cl_request;

typedef struct cl_response {
    long status; /* 0 when no HTTP answer came */
    char *body;  /* collected body, NUL-terminated (NULL if none) */
    size_t len;
    json_t *json; /* the body parsed, when it is JSON */
    /* Why it failed, for a person: the transport's reason or the daemon's
     * error.message. */
    char message[512];
} cl_response;

/* Performs the request; *resp must be released with cl_response_free. */
cl_err cl_perform(const cl_request *req, cl_response *resp);
void cl_response_free(cl_response *resp);

/* The exit code for an HTTP status (2xx 0, 404 8, other 4xx 7, else 1). */
int cl_exit_for_status(long status);
/* The exit code for a failed cl_perform. */
int cl_exit_for(cl_err e, long status);

/*
 * One JSON request as command `cmd` ("jobs", "submit", …): body may be
 * NULL. On success *out is the parsed answer (caller's reference) and it
 * returns CLI_OK; otherwise it prints "flashline CMD: why" on stderr and
 * returns the exit code (see cl_exit_for).
 */
int cl_call(const cli_opts *o, const char *cmd, const char *method, const char *path, json_t *body,
            json_t **out);

/* Prints the failure of cl_perform as command `cmd` and returns its exit code. */
int cl_report(const char *cmd, const char *socket, cl_err e, const cl_response *resp);

/* value percent-encoded for a path segment or query value into out; false
 * if it does not fit. */
bool cl_escape(const char *value, char *out, size_t size);

/* Appends "&key=value" (or "?key=value" at the first) to a path, with the
 * value percent-encoded; false (and path unchanged) if it does not fit. */
bool cl_query_add(char *path, size_t size, const char *key, const char *value);

#endif
