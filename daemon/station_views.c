/*
 * The station's JSON shapes (docs/api.md "Jobs" and "Probes"): what the
 * API answers and what the event stream carries are the same objects.
 */
#include "station_internal.h"

#include <stdio.h>
#include <string.h>

json_t *station_job_view(station *s, const sjob *mem, int64_t id)
{
    store_job sj;
    if (store_job_get(s->db, id, &sj) != STORE_OK)
        return NULL;
    json_t *recipe = sj.recipe_json ? json_loads(sj.recipe_json, 0, NULL) : NULL;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(sj.id));
    json_object_set_new(o, "name", json_string(sj.name));
    json_object_set_new(o, "state", json_string(mem ? mem->state : sj.state));
    json_object_set_new(o, "state_reason", view_str(sj.state_reason));
    json_object_set_new(o, "image", json_string(sj.image));
    static const char *const copy[] = {"chip",      "family", "erase",        "verify",
                                       "reset_run", "serial", "option_bytes", "probes"};
    for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++) {
        json_t *v = recipe ? json_object_get(recipe, copy[i]) : NULL;
        json_object_set(o, copy[i], v ? v : json_null());
    }
    json_object_set_new(o, "count", sj.count < 0 ? json_null() : json_integer(sj.count));
    json_object_set_new(o, "continuous", json_boolean(sj.count < 0));
    json_object_set_new(o, "ok", json_integer(sj.ok));
    json_object_set_new(o, "failed", json_integer(sj.failed));
    json_object_set_new(o, "interrupted", json_integer(sj.interrupted));
    json_object_set_new(o, "in_flight", json_integer(sj.in_flight));
    json_object_set_new(o, "series", sj.has_serial ? view_str(sj.series) : json_null());
    json_object_set_new(o, "next_serial",
                        sj.has_serial ? json_integer(sj.next_serial) : json_null());
    json_object_set_new(o, "created_at", view_time(sj.created_ms));
    json_object_set_new(o, "finished_at", view_time(sj.finished_ms));
    json_object_set_new(o, "submitted_by_uid", json_integer(sj.submitted_uid));
    json_decref(recipe);
    store_job_clear(&sj);
    return o;
}

json_t *station_job_json(station *s, int64_t id)
{
    return station_job_view(s, station_job_find(s, id), id);
}

json_t *station_jobs_json(station *s)
{
    json_t *arr = json_array();
    store_job *jobs = NULL;
    size_t n = 0;
    if (store_job_list(s->db, &jobs, &n) == STORE_OK) {
        for (size_t i = 0; i < n; i++) {
            json_t *o = station_job_view(s, station_job_find(s, jobs[i].id), jobs[i].id);
            if (o)
                json_array_append_new(arr, o);
        }
        store_job_list_free(jobs, n);
    }
    json_t *o = json_object();
    json_object_set_new(o, "jobs", arr);
    return o;
}

void station_emit_job(station *s, const sjob *j)
{
    json_t *o = station_job_view(s, j, j->id);
    if (o)
        station_emit(s, "job", o, NULL, j->id, 0);
}

json_t *station_probe_view(const slot *sl)
{
    json_t *o = json_object();
    json_object_set_new(o, "serial", json_string(sl->serial));
    json_object_set_new(o, "kind", json_string(sl->kind));
    json_object_set_new(o, "state", json_string(sl->state ? sl->state : "idle"));
    json_object_set_new(o, "job", sl->unit_job ? json_integer(sl->unit_job->id) : json_null());
    json_object_set_new(o, "unit", sl->unit_id ? json_integer(sl->unit_id) : json_null());
    json_object_set_new(o, "chip", view_str(sl->chip));
    json_object_set_new(o, "uid", view_str(sl->uid));
    json_object_set_new(o, "progress", json_integer(sl->progress));
    json_object_set_new(o, "quarantine_reason",
                        sl->quarantined ? json_string(sl->quarantine_reason) : json_null());
    json_object_set_new(o, "last_result", view_str(sl->last_result));
    json_object_set_new(o, "last_at", view_time(sl->last_at_ms));
    json_object_set_new(o, "units_ok", json_integer(sl->units_ok));
    json_object_set_new(o, "units_failed", json_integer(sl->units_failed));
    json_object_set_new(o, "health", station_health_view(sl->st, sl));
    return o;
}

json_t *station_probes_json(station *s)
{
    json_t *arr = json_array();
    for (slot *sl = s->slots; sl; sl = sl->next)
        json_array_append_new(arr, station_probe_view(sl));
    json_t *o = json_object();
    json_object_set_new(o, "probes", arr);
    return o;
}

json_t *station_probe_json(station *s, const char *serial)
{
    slot *sl = station_slot_find(s, serial);
    return sl ? station_probe_view(sl) : NULL;
}
