/* The web dashboard: index.html, app.css and app.js from daemon/www/,
 * embedded in the binary at build time (cmake/bin2c.cmake) so the daemon
 * serves its own page with nothing to install and nothing fetched from the
 * network. The page itself talks to the /v1 API of docs/api.md and to the
 * event stream, from the same origin.
 *
 * Pure: no mutable state; no allocation except the response body. */
#ifndef FLASHLINE_DAEMON_DASHBOARD_H
#define FLASHLINE_DAEMON_DASHBOARD_H

#include "http.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dashboard_asset {
    const char *path;          /* "/app.js" */
    const char *content_type;  /* "text/javascript; charset=utf-8" */
    const char *cache_control; /* for a transport that can send it */
    const unsigned char *data; /* not NUL-terminated */
    size_t len;
} dashboard_asset;

/* The asset served at path ("/" is index.html) into *out; false if none. */
bool dashboard_find(const char *path, dashboard_asset *out);

/* Answers a GET of path: 200 with a copy of the asset, 404 (JSON error body)
 * if path is not one, 500 when out of memory. */
void dashboard_serve(const char *path, http_response *resp);

#ifdef __cplusplus
}
#endif

#endif
