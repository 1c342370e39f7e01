/*
 * flashline watch: a terminal dashboard of the line for stations without a
 * browser. Three parts: the model (what the daemon last told us, pure, in
 * watch_model.c), the drawing (ncurses, watch_draw.c) and the loop that
 * feeds the model from the API without ever blocking the screen
 * (cmd_watch.c).
 */
#ifndef FLASHLINE_WATCH_H
#define FLASHLINE_WATCH_H

#include "cli.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* How a thing looks on the station's screen, from two metres away. */
typedef enum watch_tone {
    WATCH_GREY,   /* idle, gone: nothing to do here */
    WATCH_GREEN,  /* working, or the last unit is ok */
    WATCH_YELLOW, /* waiting for the operator, recovering */
    WATCH_RED,    /* quarantined, or the last unit failed */
    WATCH_PLAIN,  /* feed lines that need no attention */
} watch_tone;

#define WATCH_FEED_MAX  256
#define WATCH_FEED_TEXT 240

typedef struct watch_feed_line {
    char text[WATCH_FEED_TEXT];
    watch_tone tone;
} watch_feed_line;

typedef struct watch_model {
    json_t *probes; /* the daemon's probe objects, sorted by serial */
    json_t *jobs;   /* the daemon's job objects, newest first */
    /* The live feed, a ring: feed[(feed_head + i) % WATCH_FEED_MAX] for
     * i < feed_len, oldest first. */
    watch_feed_line feed[WATCH_FEED_MAX];
    size_t feed_head, feed_len;
    /* Why the daemon is not answering right now ("" when it is): shown in
     * place of stale figures being taken for live ones. */
    char problem[320];
    bool stream_live; /* the event stream is connected */
    time_t refreshed; /* when the last full refresh arrived (0: never) */
} watch_model;

void watch_model_init(watch_model *m);
void watch_model_free(watch_model *m);

/* Replace the probe list (a JSON array, reference taken) or the job list. */
void watch_model_set_probes(watch_model *m, json_t *probes);
void watch_model_set_jobs(watch_model *m, json_t *jobs);

/* One server-sent event (KIND and its JSON text): updates the tiles or the
 * jobs at once and adds a line to the feed when it is worth reading. */
void watch_model_event(watch_model *m, const char *kind, const char *data);

void watch_feed_add(watch_model *m, watch_tone tone, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The colour of a probe's tile: its state, and red for a failed last unit
 * still on the fixture. */
watch_tone watch_probe_tone(json_t *probe);

/* An ISO 8601 time ("2026-11-25T15:40:00.123Z", util/iso8601.h) in whole
 * seconds; false if it is not one. */
bool watch_parse_iso(const char *s, time_t *out);
/* An ISO time as local "HH:MM:SS" into buf ("-" if it is not one). */
const char *watch_clock(json_t *iso, char *buf, size_t size);

/* A job's figures as shown: yield in percent of ok among finished units
 * (negative: none finished yet) and ok units per hour since it was created
 * (until it finished; negative: too early to tell). */
double watch_job_yield(json_t *job);
double watch_job_rate(json_t *job, time_t now);

/* Integer and string fields with a fallback, for JSON that may lack them. */
long long watch_int(json_t *o, const char *key, long long fallback);
const char *watch_str(json_t *o, const char *key, const char *fallback);

/* The last 8 characters of a probe serial: enough to tell fixtures apart
 * and big enough to read. */
const char *watch_short_serial(const char *serial);

/* A server-sent event stream parser (the parts the daemon uses: "event:",
 * "data:", comments, a blank line ends an event). */
typedef void (*watch_sse_fn)(const char *event, const char *data, void *ctx);

typedef struct watch_sse {
    char line[64 * 1024];
    size_t len;
    bool overflow; /* the current line did not fit: dropped */
    char event[64];
    char *data;
    size_t data_len;
} watch_sse;

/* Feeds n bytes of the stream; calls fn for each complete event. False when
 * out of memory. */
bool watch_sse_feed(watch_sse *p, const char *buf, size_t n, watch_sse_fn fn, void *ctx);
/* Forgets a partial event (the stream broke: it may be incomplete). */
void watch_sse_reset(watch_sse *p);

/* Draws the whole screen from the model. */
void watch_draw(const watch_model *m, const char *socket, time_t now);
/* Sets up colours once after the screen is started. */
void watch_draw_init(void);

int cmd_watch(const cli_opts *o, int argc, char **argv);

#endif
