/* The /v1 resources of docs/api.md over the HTTP transport (http.h): request
 * routing, validation, and the JSON of images and units (jobs and probes come
 * from the station). api_handle() is the transport's handler.
 *
 * Every failed request answers {"error":{"code","message"}} and changes
 * nothing: validation of the path, the query and the body happens before
 * anything is written.
 *
 * The pure pieces below (times, query strings, CSV) are exposed for the unit
 * tests. Everything here runs on the loop thread; nothing keeps global state.
 */
#ifndef FLASHLINE_DAEMON_API_H
#define FLASHLINE_DAEMON_API_H

#include "http.h"
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

#define API_ISO_LEN 64 /* "2026-11-25T15:40:00.123Z", with room the compiler can prove */

/* ms since the epoch -> "YYYY-MM-DDTHH:MM:SS.mmmZ". False if out of the years
 * 0000..9999. */
bool api_time_iso(int64_t ms, char out[API_ISO_LEN]);
/* "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)", "YYYY-MM-DD" (midnight UTC) or
 * an integer number of ms since the epoch -> ms. Fractions beyond ms are
 * truncated. False (and *ms untouched) on anything else, including
 * impossible dates (2026-02-30) and other offsets than UTC. */
bool api_time_parse(const char *s, int64_t *ms);

/* One query argument, percent-decoded. */
typedef struct api_param {
    char *name;
    char *value; /* "" for "flag" without '=' */
    bool used;   /* set by the route that consumed it; unused ones are refused */
} api_param;

typedef struct api_query {
    api_param *params;
    size_t n;
} api_query;

/* Split "a=1&b=x%20y" at '&' (';' too), decode %XX and '+' (space). False
 * with msg on a bad escape (%G1, a truncated %4), a NUL from %00, an empty
 * name, or the same name twice. Free with api_query_free (also on failure). */
bool api_query_parse(const char *query, api_query *q, char *msg, size_t msglen);
void api_query_free(api_query *q);
/* The value of name (marking it used), or NULL. */
const char *api_query_get(api_query *q, const char *name);

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
