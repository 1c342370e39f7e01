/* The query arguments of an API request, as name/value pairs that a route
 * reads and marks used (so that unknown arguments can be refused). Pure:
 * no transport, no station. */
#ifndef FLASHLINE_DAEMON_API_QUERY_H
#define FLASHLINE_DAEMON_API_QUERY_H

#include <stdbool.h>
#include <stddef.h>

/* One query argument, as the transport decoded it. */
typedef struct api_param {
    char *name;        /* owns the allocation value points into */
    const char *value; /* "" for "flag" without '=' */
    bool used;         /* set by the route that consumed it; unused ones are refused */
} api_param;

typedef struct api_query {
    api_param *params;
    size_t n;
} api_query;

/* The transport's decoded arguments (http_request.args: "uid=0123",
 * "name=a b", "flag") as name/value pairs, split at the first '='; no
 * second percent-decoding. Empty arguments are skipped. False with msg on
 * an empty name ("=x") or the same name twice. A NUL cannot arrive: the
 * arguments are C strings, and libwebsockets drops a request with %00.
 * Free with api_query_free (also on failure). */
bool api_query_from_args(const char *const *args, size_t nargs, api_query *q, char *msg,
                         size_t msglen);
void api_query_free(api_query *q);
/* The value of name (marking it used), or NULL. */
const char *api_query_get(api_query *q, const char *name);

#endif
