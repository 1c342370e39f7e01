/*
 * Probe and fixture health on the station (issue 16): each unit's end feeds
 * daemon/health.c; a change of state is recorded as a "health" event (the
 * audit's events table, and pushed to dashboards); a failing probe is
 * quarantined with the figures as the reason, before it ruins boards. A
 * board failed here that passes on another probe is counted against this
 * fixture; one that fails on two probes against the board.
 */
#include "station_internal.h"

#include <stdio.h>
#include <string.h>

static struct failed_board *failed_lookup(station *s, const char *uid)
{
    for (size_t i = 0; i < s->nfailed_boards; i++)
        if (strcmp(s->failed_boards[i].uid, uid) == 0)
            return &s->failed_boards[i];
    return NULL;
}

static void emit_health(station *s, slot *sl)
{
    json_t *o = station_health_view(s, sl);
    json_object_set_new(o, "probe", json_string(sl->serial));
    station_emit(s, "health", o, sl->serial, 0, 0);
    fprintf(stderr, "flashlined: probe %s is %s: %s\n", sl->serial,
            health_state_name(sl->health.state), sl->health.reason);
}

static void changed(station *s, slot *sl)
{
    emit_health(s, sl);
    if (sl->health.state == HEALTH_FAILING && s->cfg.health.quarantine && !sl->quarantined) {
        char why[300];
        snprintf(why, sizeof why, "probe health failing: %.240s; check the probe and fixture",
                 sl->health.reason);
        station_quarantine(s, sl, why);
    }
}

/* Where else this board was failed, or passed: the fixture or the board. */
static void board_history(station *s, slot *sl, const unit_outcome *u, int64_t at_ms)
{
    const char *uid = u->board.uid_hex;
    if (!uid[0])
        return;
    struct failed_board *fb = failed_lookup(s, uid);
    slot *other = fb && strcmp(fb->probe, sl->serial) != 0 ? station_slot_find(s, fb->probe) : NULL;
    if (u->final == US_DONE) {
        /* Failed there, passes here: the other fixture's fault. */
        if (other && health_note_board(&other->health, &s->cfg.health, true, at_ms))
            changed(s, other);
        if (fb)
            fb->uid[0] = '\0';
        return;
    }
    if (other) {
        /* Failed on two probes: the board's fault, for both. */
        if (health_note_board(&other->health, &s->cfg.health, false, at_ms))
            changed(s, other);
        if (health_note_board(&sl->health, &s->cfg.health, false, at_ms))
            changed(s, sl);
    }
    if (!fb) {
        fb = &s->failed_boards[s->failed_next];
        s->failed_next = (s->failed_next + 1) % (sizeof s->failed_boards / sizeof *fb);
        if (s->nfailed_boards < sizeof s->failed_boards / sizeof *fb)
            s->nfailed_boards++;
    }
    snprintf(fb->uid, sizeof fb->uid, "%s", uid);
    snprintf(fb->probe, sizeof fb->probe, "%s", sl->serial);
}

void station_health_unit(station *s, slot *sl, const unit_outcome *u, int64_t at_ms)
{
    if (u->final != US_DONE && u->final != US_FAILED)
        return; /* interrupted: the probe may be fine */
    health_unit hu = {.ok = u->final == US_DONE, .attempts = u->attempts, .steps = (int)u->nsteps};
    for (size_t i = 0; i < u->nsteps; i++)
        hu.usb_resets += u->steps[i] == STEP_USB_RESET && u->step_ok[i];
    if (sl->unit_started_ms && sl->attempt_started_ms > sl->unit_started_ms)
        hu.lost_ms = (uint64_t)(sl->attempt_started_ms - sl->unit_started_ms);
    snprintf(hu.uid, sizeof hu.uid, "%s", u->board.uid_hex);
    if (health_add_unit(&sl->health, &s->cfg.health, &hu, at_ms))
        changed(s, sl);
    board_history(s, sl, u, at_ms);
}

json_t *station_health_view(const station *s, const slot *sl)
{
    health_figures f;
    health_figures_get(&sl->health, &s->cfg.health, station_now_ms(), &f);
    return json_pack("{s:s, s:s, s:i, s:f, s:f, s:f, s:i, s:i, s:i, s:i}", "state",
                     health_state_name(sl->health.state), "reason", sl->health.reason, "units",
                     (json_int_t)f.units, "recovery_share", f.recovery_share, "attempts_per_unit",
                     f.attempts_per_unit, "lost_s", f.lost_s, "usb_resets_last_hour",
                     (json_int_t)f.usb_resets_hour, "failed_in_row", (json_int_t)f.failed_in_row,
                     "failed_here_passed_elsewhere", (json_int_t)f.fixture_suspect,
                     "failed_elsewhere_too", (json_int_t)f.board_faults);
}
