/*
 * daemon/views: the JSON shapes docs/api.md gives to stored records, one
 * function per shape, shared by the API's queries and the station's events
 * so that a unit reads the same in GET /v1/units/ID and in its "unit" event.
 */
#ifndef FLASHLINE_DAEMON_VIEWS_H
#define FLASHLINE_DAEMON_VIEWS_H

#include "store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* An ISO-8601 UTC time with milliseconds, or null for 0 (not yet). */
json_t *view_time(int64_t ms);
/* A string, or null for NULL and "". */
json_t *view_str(const char *s);
/* A unit as docs/api.md "Units" shows it (new reference). */
json_t *view_unit(const store_unit *u);

/* Copies src into dst (size n, n > 0), cut at the last whole UTF-8
 * character that fits: a reason cut inside a character would no longer be
 * valid UTF-8, and JSON encoders drop such strings. */
void view_copy_utf8(char *dst, size_t n, const char *src);

#endif
