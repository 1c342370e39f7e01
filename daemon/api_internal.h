/*
 * Private to the router's files: api.c (buffers, responses, argument checks,
 * routing), api_control.c (images, jobs, probes) and api_units.c (units,
 * export). The request context and the helpers every route uses.
 */
#ifndef FLASHLINE_DAEMON_API_INTERNAL_H
#define FLASHLINE_DAEMON_API_INTERNAL_H

#include "api.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define DEFAULT_MAX_UPLOAD  (16u * 1024u * 1024u)
#define UNITS_DEFAULT_LIMIT 100
#define UNITS_MAX_LIMIT     10000
#define MSG_LEN             512
#define API_ACTOR_LEN       64
#define MAX_SEGS            5
/* Year 9999's last ms: bounds integer times so that every accepted time
 * can be written back as ISO 8601. */
#define MAX_TIME_MS INT64_C(253402300799999)

typedef struct ctx {
    api *a;
    const http_request *req;
    http_response *resp;
    api_query q;
    char *seg[MAX_SEGS]; /* path segments (point into segbuf) */
    size_t nseg;
    char *segbuf;
} ctx;

/* ---- responses (api.c) ---- */
const char *api_code_for(int status);
/* Takes j; a NULL j (out of memory) answers 500. */
void api_reply(ctx *c, int status, json_t *j);
void api_fail_code(ctx *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define api_fail(c, status, ...) api_fail_code((c), (status), api_code_for(status), __VA_ARGS__)
int64_t api_now_ms(const api *a);
/* A time argument: ISO 8601 or ms since the epoch. */
bool api_time_arg(const char *s, int64_t *ms);

/* ---- argument checks (api.c); false after answering ---- */
bool api_query_done(ctx *c);
bool api_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out);
bool api_path_id(ctx *c, const char *s, const char *what, int64_t *id);
json_t *api_body_object(ctx *c, bool optional);
bool api_only_keys(ctx *c, json_t *o, const char *const *known, const char *what);
bool api_need_station(ctx *c);
void api_station_fail(ctx *c, station_err e, const char *msg);

/* ---- who and what (api_control.c) ---- */
void api_actor_of(const ctx *c, char out[API_ACTOR_LEN]);
int api_on_action(void *user, const store_action *a);
/* The actions on a target in [since, until) (0: unbounded); NULL when the
 * store cannot say. */
json_t *api_actions_json(ctx *c, const char *kind, const char *target, int64_t since,
                         int64_t until);

/* ---- routes ---- */
void post_image(ctx *c);
void get_image(ctx *c);
void get_jobs(ctx *c);
void post_jobs(ctx *c);
void get_job(ctx *c);
void post_job_verb(ctx *c);
void get_probes(ctx *c);
void get_probe(ctx *c);
void post_probe_verb(ctx *c);
void get_units(ctx *c);
void get_unit(ctx *c);
void get_export(ctx *c);

#endif
