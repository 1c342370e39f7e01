/*
 * Probe and fixture health (issue 16): per probe, over its last units, the
 * share that needed recovery, attempts per unit, time lost to recovery,
 * failures in a row and USB resets in the last hour; a state (good,
 * degraded, failing) with the thresholds of the config's [health] section.
 * Pure: the station feeds it each unit's end and acts on the state (a
 * failing probe is quarantined before it ruins boards).
 */
#ifndef FLASHLINE_DAEMON_HEALTH_H
#define FLASHLINE_DAEMON_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum health_state { HEALTH_GOOD, HEALTH_DEGRADED, HEALTH_FAILING } health_state;

const char *health_state_name(health_state s); /* "good", "degraded", "failing" */

typedef struct health_config {
    unsigned window;             /* units the shares are taken over (20) */
    unsigned degraded_min_units; /* units before "degraded" may be said (2) */
    unsigned failing_min_units;  /* units before "failing" may be said (5) */
    double degraded_recovery;    /* share of units that needed recovery (0.3) */
    double failing_recovery;     /* (0.8) */
    double degraded_attempts;    /* mean attempts per unit (2.5) */
    double failing_attempts;     /* (4) */
    unsigned failing_usb_resets; /* USB resets of the probe within an hour (6) */
    bool quarantine;             /* quarantine a failing probe (true) */
} health_config;

void health_config_defaults(health_config *c);

#define HEALTH_WINDOW_MAX 200
#define HEALTH_RESETS_MAX 64

typedef struct health_unit {
    bool ok;          /* else failed (interrupted units are not counted) */
    int attempts;     /* attempts the unit took */
    int steps;        /* recovery steps taken */
    int usb_resets;   /* of them, USB resets */
    uint64_t lost_ms; /* time before the attempt that ended it */
    char uid[32];     /* the board */
} health_unit;

typedef struct health {
    health_unit ring[HEALTH_WINDOW_MAX];
    size_t n, next;
    int64_t resets[HEALTH_RESETS_MAX]; /* when USB resets happened (ms), a ring */
    size_t nresets, rnext;
    unsigned failed_in_row;
    uint64_t lost_ms_total;
    /* Boards this probe failed that passed on another probe (the fixture's
     * fault), and boards it failed that failed on another probe too (the
     * board's). */
    unsigned fixture_suspect, board_faults;
    health_state state;
    char reason[256];
} health;

typedef struct health_figures {
    unsigned units;
    double recovery_share, attempts_per_unit;
    double lost_s; /* in the window */
    unsigned usb_resets_hour;
    unsigned failed_in_row;
    unsigned fixture_suspect, board_faults;
} health_figures;

void health_init(health *h);
/* A unit ended ok or failed. Returns true when the state changed (h->state,
 * h->reason say to what and why). */
bool health_add_unit(health *h, const health_config *c, const health_unit *u, int64_t now_ms);
/* A board this probe failed passed elsewhere (fixture) or failed elsewhere
 * too (board). Returns true when the state changed. */
bool health_note_board(health *h, const health_config *c, bool passed_elsewhere, int64_t now_ms);
void health_figures_get(const health *h, const health_config *c, int64_t now_ms, health_figures *f);

#endif
