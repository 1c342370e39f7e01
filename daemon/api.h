/* The /v1 resources of docs/api.md over the HTTP transport (http.h): request
 * routing, validation, and the JSON of images and units (jobs and probes come
 * from the station). api_handle() is the transport's handler.
 *
 * Every failed request answers {"error":{"code","message"}} and changes
 * nothing: validation of the path, the query and the body happens before
 * anything is written.
 *
 * The pure pieces below (CSV; the query is api_query.h) are exposed for the unit
 * tests. Everything here runs on the loop thread; nothing keeps global state.
 */
#ifndef FLASHLINE_DAEMON_API_H
#define FLASHLINE_DAEMON_API_H

#include "api_query.h"
#include "http.h"
#include "iso8601.h"
#include "station.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct api {
    station *st;       /* NULL until the station has started: requests get 503 */
    store *db;         /* the audit store (images and units are read from it directly) */
    size_t max_upload; /* largest image upload in bytes; 0: 16 MiB */
    /* The clock, so tests can fix it; NULL: the real time (CLOCK_REALTIME). */
    int64_t (*now_ms)(void);
    /* Units per store query while streaming /v1/export; 0: 500. */
    size_t export_page;
} api;

/* The transport's handler; user is a struct api. */
void api_handle(void *user, const http_request *req, http_response *resp);

/* ---- pure helpers ---------------------------------------------------------- */

/* A growable byte buffer; out of memory sets failed and stops growing. */
typedef struct api_buf {
    char *data;
    size_t len, cap;
    bool failed;
} api_buf;

void api_buf_add(api_buf *b, const void *p, size_t n);
void api_buf_str(api_buf *b, const char *s);
/* One CSV field per RFC 4180: quoted (with "" for ") when it holds a comma,
 * a quote, CR or LF, or starts or ends with a space; as is otherwise. */
void api_buf_csv(api_buf *b, const char *field);

#endif
