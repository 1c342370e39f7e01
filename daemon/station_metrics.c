/*
 * GET /metrics from the station's side: counters seeded from the audit
 * store at start, and the live state (probes, jobs, queue, audit blocked)
 * handed to metrics_render.
 */
#include "station_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the audit log already holds, so that the counters equal it after a
 * restart: units by result, recovery steps, and the jobs not kept in
 * memory (ended before this start, or not resumable). Once, at start: the
 * counts are full scans. */
void station_seed_metrics(station *s)
{
    if (store_unit_counts(s->db, metrics_seed_units, s->metrics) != STORE_OK)
        fprintf(stderr, "flashlined: /metrics counts units from now on only: %s\n",
                store_message(s->db));
    if (store_recovery_counts(s->db, metrics_seed_recovery, s->metrics) != STORE_OK)
        fprintf(stderr, "flashlined: /metrics counts recovery steps from now on only: %s\n",
                store_message(s->db));
    store_job *jobs = NULL;
    size_t n = 0;
    if (store_job_list(s->db, &jobs, &n) != STORE_OK)
        return;
    for (size_t i = 0; i < n; i++)
        if (!station_job_find(s, jobs[i].id))
            metrics_seed_job(s->metrics, jobs[i].state);
    store_job_list_free(jobs, n);
}

char *station_metrics_text(station *s)
{
    size_t np = station_slot_count(s), nj = 0;
    for (const sjob *j = s->jobs; j; j = j->next)
        nj++;
    metrics_probe *probes = calloc(np ? np : 1, sizeof *probes);
    const char **states = calloc(nj ? nj : 1, sizeof *states);
    char *text = NULL;
    if (probes && states) {
        size_t i = 0;
        for (const slot *sl = s->slots; sl; sl = sl->next)
            probes[i++] = (metrics_probe){sl->serial, sl->state};
        /* The queue from the store's counts, as GET /v1/jobs shows them:
         * a few running jobs, one indexed count each. */
        int64_t queue = 0;
        i = 0;
        for (const sjob *j = s->jobs; j; j = j->next) {
            states[i++] = j->state;
            store_job sj;
            if (j->count < 0 || strcmp(j->state, "running") != 0 ||
                store_job_get(s->db, j->id, &sj) != STORE_OK)
                continue;
            int64_t left = j->count - sj.ok - sj.in_flight;
            queue += left > 0 ? left : 0;
            store_job_clear(&sj);
        }
        metrics_live live = {
            probes, np, states, nj, queue, journal_blocked(s->jnl), journal_pending(s->jnl)};
        text = metrics_render(s->metrics, &live);
    }
    free(probes);
    free(states);
    return text;
}
