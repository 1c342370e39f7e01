/*
 * daemon/recipe: a job's recipe from its JSON, validated once. Pure: no
 * station, no store, no I/O; the same text gives the same recipe (a request
 * now, or the recipe kept in the store after a restart), so it is fuzzed
 * directly (tests/fuzz). What it cannot know (is a named probe on the bus,
 * does another job hold it, does the serial range overlap another job's) is
 * the station's and the store's to check.
 *
 * Every numeric field is range-checked against its meaning before it is
 * narrowed: a width of 4294967297 is an error, not 1; a serial range must fit
 * both the format's width and int64 for every unit the job asks for.
 */
#ifndef FLASHLINE_DAEMON_RECIPE_H
#define FLASHLINE_DAEMON_RECIPE_H

#include "chips.h"
#include "image.h"
#include "plan.h"
#include "serial.h"
#include "unit.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum recipe_err {
    RECIPE_OK = 0,
    RECIPE_E_BAD_REQUEST,   /* malformed: a field of the wrong type or out of range (400) */
    RECIPE_E_UNPROCESSABLE, /* well-formed but impossible for the chip or image (422) */
    RECIPE_E_NOMEM,
} recipe_err;

/* A series name: what the store keys serial numbers by. */
#define RECIPE_SERIES_LEN 128
#define RECIPE_NAME_MAX   127
/* Probe serials are at most this long on the bus (ST-LINK: 24 hex digits). */
#define RECIPE_PROBE_LEN 32
/* A job never names more probes than this (a station has a few hubs). */
#define RECIPE_PROBES_MAX 256

typedef struct job_recipe {
    char name[RECIPE_NAME_MAX + 1];
    char chip[40], family[8]; /* one of the two is "" */
    const fl_chip *row;       /* the chip table row they name */
    uint32_t flash_size;      /* bytes: the part's, or the family's largest */
    int64_t count;            /* units wanted; -1: continuous */
    plan_erase erase;
    unit_verify verify;
    int rdp; /* -1: leave the option bytes alone */
    /* option_bytes.confirm: the word a part's option writes need
     * (fl_chip_option_confirm), or "" */
    char confirm[16];
    bool reset_run;
    bool has_serial;
    serial_spec serial;
    char series[RECIPE_SERIES_LEN]; /* the serial series the numbers come from */
    bool serial_continue;           /* no "start": continue the series */
    int64_t serial_max;             /* the largest number the format holds */
    /* Named probes, or none (probes_given false): every free probe. */
    bool probes_given;
    char (*probes)[RECIPE_PROBE_LEN];
    size_t nprobes;
} job_recipe;

/* Parses and checks req against the image (which must fit the chip). On
 * failure msg says what is wrong and how to fix it, and r holds nothing to
 * free. On success free with recipe_clear. */
recipe_err recipe_parse(const json_t *req, const image *img, job_recipe *r, char *msg,
                        size_t msglen);
void recipe_clear(job_recipe *r);

/* The default series of a serial field: its address and format, as
 * "0x0800FC00/u32le". The store's migration of older databases builds the
 * same name (schema/migrations/0002_series_actions.sql). */
void recipe_default_series(const serial_spec *s, char out[RECIPE_SERIES_LEN]);

/* The largest number a serial format and width can hold (capped at
 * INT64_MAX). */
int64_t recipe_serial_max(const serial_spec *s);

#endif
