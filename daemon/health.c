/*
 * Probe and fixture health (see health.h). The shares are over the last
 * `window` units so that a probe recovers its good name after a repair;
 * the first unit's long ladder climb (adaptive recovery learning what cures
 * a fault) weighs one unit in the window, not the probe's life.
 */
#include "health.h"

#include <stdio.h>
#include <string.h>

#define HOUR_MS 3600000

const char *health_state_name(health_state s)
{
    static const char *const n[] = {"good", "degraded", "failing"};
    return (unsigned)s < 3 ? n[s] : "?";
}

void health_config_defaults(health_config *c)
{
    *c = (health_config){.window = 20,
                         .degraded_min_units = 2,
                         .failing_min_units = 5,
                         .degraded_recovery = 0.3,
                         .failing_recovery = 0.8,
                         .degraded_attempts = 2.5,
                         .failing_attempts = 4.0,
                         .failing_usb_resets = 6,
                         .quarantine = true};
}

void health_init(health *h)
{
    memset(h, 0, sizeof *h);
    h->state = HEALTH_GOOD;
}

static unsigned window_of(const health_config *c)
{
    return c->window == 0 || c->window > HEALTH_WINDOW_MAX ? HEALTH_WINDOW_MAX : c->window;
}

void health_figures_get(const health *h, const health_config *c, int64_t now_ms, health_figures *f)
{
    memset(f, 0, sizeof *f);
    unsigned w = window_of(c), k = 0, recovered = 0;
    uint64_t attempts = 0, lost = 0;
    /* The newest w units of the ring. */
    for (size_t i = 0; i < h->n && k < w; i++, k++) {
        const health_unit *u = &h->ring[(h->next + HEALTH_WINDOW_MAX - 1 - i) % HEALTH_WINDOW_MAX];
        recovered += u->steps > 0;
        attempts += (uint64_t)(u->attempts > 0 ? u->attempts : 1);
        lost += u->lost_ms;
    }
    f->units = k;
    f->recovery_share = k ? (double)recovered / k : 0;
    f->attempts_per_unit = k ? (double)attempts / k : 0;
    f->lost_s = (double)lost / 1000.0;
    for (size_t i = 0; i < h->nresets; i++)
        f->usb_resets_hour += now_ms - h->resets[i] < HOUR_MS;
    f->failed_in_row = h->failed_in_row;
    f->fixture_suspect = h->fixture_suspect;
    f->board_faults = h->board_faults;
}

/* The state the figures call for, and why. */
static health_state judge(const health *h, const health_config *c, int64_t now_ms, char *why,
                          size_t n)
{
    health_figures f;
    health_figures_get(h, c, now_ms, &f);
    if (c->failing_usb_resets && f.usb_resets_hour >= c->failing_usb_resets) {
        snprintf(why, n, "%u USB resets of the probe within the last hour (limit %u)",
                 f.usb_resets_hour, c->failing_usb_resets);
        return HEALTH_FAILING;
    }
    if (f.units >= c->failing_min_units &&
        (f.recovery_share >= c->failing_recovery || f.attempts_per_unit >= c->failing_attempts)) {
        snprintf(why, n,
                 "%.0f%% of its last %u units needed recovery, %.1f attempts a unit, %.1f s lost "
                 "(limits %.0f%%, %.1f)",
                 f.recovery_share * 100, f.units, f.attempts_per_unit, f.lost_s,
                 c->failing_recovery * 100, c->failing_attempts);
        return HEALTH_FAILING;
    }
    if (f.fixture_suspect >= 2) {
        snprintf(why, n,
                 "%u boards it failed passed on another probe: the fixture (pogo pins, cable, "
                 "probe), not the boards",
                 f.fixture_suspect);
        return HEALTH_FAILING;
    }
    if (f.units >= c->degraded_min_units &&
        (f.recovery_share >= c->degraded_recovery || f.attempts_per_unit >= c->degraded_attempts)) {
        snprintf(why, n, "%.0f%% of its last %u units needed recovery, %.1f attempts a unit",
                 f.recovery_share * 100, f.units, f.attempts_per_unit);
        return HEALTH_DEGRADED;
    }
    if (f.failed_in_row > 0 || f.fixture_suspect > 0) {
        snprintf(why, n, "%u boards failed in a row, %u failed here and passed elsewhere",
                 f.failed_in_row, f.fixture_suspect);
        return HEALTH_DEGRADED;
    }
    snprintf(why, n, "%u units, %.0f%% needed recovery", f.units, f.recovery_share * 100);
    return HEALTH_GOOD;
}

static bool settle(health *h, const health_config *c, int64_t now_ms)
{
    char why[sizeof h->reason];
    health_state s = judge(h, c, now_ms, why, sizeof why);
    bool changed = s != h->state;
    h->state = s;
    snprintf(h->reason, sizeof h->reason, "%s", why);
    return changed;
}

bool health_add_unit(health *h, const health_config *c, const health_unit *u, int64_t now_ms)
{
    h->ring[h->next] = *u;
    h->next = (h->next + 1) % HEALTH_WINDOW_MAX;
    if (h->n < HEALTH_WINDOW_MAX)
        h->n++;
    for (int i = 0; i < u->usb_resets; i++) {
        h->resets[h->rnext] = now_ms;
        h->rnext = (h->rnext + 1) % HEALTH_RESETS_MAX;
        if (h->nresets < HEALTH_RESETS_MAX)
            h->nresets++;
    }
    h->failed_in_row = u->ok ? 0 : h->failed_in_row + 1;
    h->lost_ms_total += u->lost_ms;
    return settle(h, c, now_ms);
}

bool health_note_board(health *h, const health_config *c, bool passed_elsewhere, int64_t now_ms)
{
    if (passed_elsewhere)
        h->fixture_suspect++;
    else
        h->board_faults++;
    return settle(h, c, now_ms);
}
