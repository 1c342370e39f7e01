/*
 * The station on the loop thread: slots, jobs, the scheduler, and the
 * bookkeeping that turns worker messages into audit records and events.
 * Order of every outcome: commit to the store first, then tell the world
 * (event stream), so nobody hears "done" before it is durable.
 */
#define _DEFAULT_SOURCE /* strdup, strcasecmp under strict C17 */
#include "station_internal.h"

#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* How long a drain waits for units in flight before giving up on them. */
#define DRAIN_TIMEOUT_MS 60000

struct station {
    uv_loop_t *loop;
    station_config cfg;
    store *db;
    http_server *http;
    uv_async_t async;
    uv_timer_t drain_timer;
    pthread_mutex_t qmu;
    slot_msg *qhead, *qtail;
    slot *slots;
    sjob *jobs;
    hotplug *hp;
    bool draining;
    int64_t drain_started;
    void (*drain_done)(void *user);
    void *drain_user;
    int closing; /* handles still to close */
    /* GET /metrics */
    metrics *metrics;
};

/* A store write, timed for flashline_sqlite_write_seconds; the expression's
 * value is the write's store_err. */
#define TIMED(s, call) (metrics_write_begin((s)->metrics), metrics_write_end((s)->metrics, (call)))

/* ---- small helpers --------------------------------------------------------- */

int64_t station_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *iso(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char b[64];
    snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(b);
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

int station_http_status(station_err e)
{
    static const int st[] = {200, 400, 404, 409, 422, 500};
    return (unsigned)e < sizeof st / sizeof st[0] ? st[e] : 500;
}

const char *station_err_code(station_err e)
{
    static const char *const c[] = {"ok",       "bad_request",   "not_found",
                                    "conflict", "unprocessable", "internal"};
    return (unsigned)e < sizeof c / sizeof c[0] ? c[e] : "internal";
}

static station_err fail(char *msg, size_t n, station_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static station_err fail(char *msg, size_t n, station_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return e;
}

/* An event: kept in the audit log (except progress), then pushed. */
static void emit(station *s, const char *kind, json_t *data, const char *probe, int64_t job,
                 int64_t unit)
{
    int64_t now = station_now_ms();
    json_object_set_new(data, "at", iso(now));
    char *text = json_dumps(data, JSON_COMPACT);
    if (text) {
        if (strcmp(kind, "progress") != 0)
            TIMED(s, store_event_add(s->db, now, kind, probe, job, unit, text));
        if (s->http)
            http_broadcast(s->http, kind, text);
    }
    free(text);
    json_decref(data);
}

/* ---- jobs -------------------------------------------------------------------- */

static sjob *job_find(station *s, int64_t id)
{
    for (sjob *j = s->jobs; j; j = j->next)
        if (j->id == id)
            return j;
    return NULL;
}

static bool job_has_probe(const sjob *j, const char *serial)
{
    for (size_t i = 0; i < j->nprobes; i++)
        if (strcasecmp(j->probes[i], serial) == 0)
            return true;
    return false;
}

static bool job_active(const sjob *j)
{
    return strcmp(j->state, "running") == 0 || strcmp(j->state, "paused") == 0;
}

static void job_free(sjob *j)
{
    image_free(j->img);
    for (size_t i = 0; i < j->nprobes; i++)
        free(j->probes[i]);
    free(j->probes);
    free(j);
}

static slot *slot_find(station *s, const char *serial)
{
    for (slot *sl = s->slots; sl; sl = sl->next)
        if (strcasecmp(sl->serial, serial) == 0)
            return sl;
    return NULL;
}

/* The chip rows an ordering code or family names, for checks before any
 * board is seen: does the image fit, is the serial address in flash. */
static const fl_chip *chip_for(const char *chip, const char *family, uint32_t *flash_size)
{
    for (size_t i = 0; fl_chip_at(i); i++) {
        const fl_chip *c = fl_chip_at(i);
        if (family && fl_chip_matches_family(c, family)) {
            *flash_size = c->flash_size_max;
            return c;
        }
        if (!chip)
            continue;
        /* The ordering code gives the size; try each size the row allows. */
        for (uint32_t kib = 16; kib * 1024u <= c->flash_size_max; kib *= 2) {
            char why[8];
            if (fl_chip_matches_part(c, kib * 1024u, chip, why, sizeof why)) {
                *flash_size = kib * 1024u;
                /* "x" in place of the size letter: the largest. */
                if (kib * 2048u <= c->flash_size_max &&
                    fl_chip_matches_part(c, kib * 2048u, chip, why, sizeof why))
                    continue;
                return c;
            }
        }
    }
    return NULL;
}

static bool parse_u32(const json_t *v, uint32_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 0xFFFFFFFFll) {
        *out = (uint32_t)json_integer_value(v);
        return true;
    }
    if (!json_is_string(v))
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(json_string_value(v), &end, 0);
    if (errno || !end || *end || end == json_string_value(v) || x > 0xFFFFFFFFull)
        return false;
    *out = (uint32_t)x;
    return true;
}

/* Only these keys may appear in obj. */
static station_err only_keys(const json_t *obj, const char *const *keys, const char *where,
                             char *msg, size_t n)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool known = false;
        for (size_t i = 0; keys[i]; i++)
            known |= strcmp(k, keys[i]) == 0;
        if (!known)
            return fail(msg, n, STATION_E_BAD_REQUEST, "unknown field \"%s\" in %s", k, where);
    }
    return STATION_OK;
}

/*
 * The recipe of a job from its JSON (a request, or the recipe kept in the
 * store after a restart). Fills j; the image must already be loaded into
 * j->img. On failure nothing is kept and msg says what is wrong.
 */
static station_err recipe_parse(station *s, const json_t *req, sjob *j, bool fresh, char *msg,
                                size_t n)
{
    static const char *const keys[] = {"image",  "chip",   "family", "count",        "continuous",
                                       "erase",  "verify", "serial", "option_bytes", "reset_run",
                                       "probes", "name",   NULL};
    station_err e = only_keys(req, keys, "the job", msg, n);
    if (e)
        return e;
    const json_t *chip = json_object_get(req, "chip"), *family = json_object_get(req, "family");
    if ((chip && !json_is_string(chip)) || (family && !json_is_string(family)) ||
        (!chip && !family) || (chip && family))
        return fail(msg, n, STATION_E_BAD_REQUEST,
                    "give the expected board as \"chip\" (e.g. \"stm32f103rb\") or \"family\" "
                    "(\"f1\", \"f4\", \"l0\", \"l4\"), one of the two");
    uint32_t flash_size = 0;
    const fl_chip *row = chip_for(chip ? json_string_value(chip) : NULL,
                                  family ? json_string_value(family) : NULL, &flash_size);
    if (!row)
        return fail(msg, n, STATION_E_UNPROCESSABLE,
                    "unknown %s \"%s\": Flashline programs stm32f103x8/xB, stm32f446, "
                    "stm32l05x/l06x and stm32l47x/l48x (families f1, f4, l0, l4)",
                    chip ? "chip" : "family", json_string_value(chip ? chip : family));
    snprintf(j->chip, sizeof j->chip, "%s", chip ? json_string_value(chip) : "");
    snprintf(j->family, sizeof j->family, "%s", family ? json_string_value(family) : "");
    if (!image_fits(j->img, row->flash_base, row->flash_base + flash_size))
        return fail(msg, n, STATION_E_UNPROCESSABLE,
                    "the image (0x%08X..0x%08llX) does not fit the %u KiB of flash at 0x%08X "
                    "of a %s: check the image and the chip",
                    image_lowest_address(j->img), (unsigned long long)image_end_address(j->img) - 1,
                    flash_size / 1024, row->flash_base, chip ? j->chip : j->family);

    const json_t *count = json_object_get(req, "count"), *cont = json_object_get(req, "continuous");
    if (cont && !json_is_boolean(cont))
        return fail(msg, n, STATION_E_BAD_REQUEST, "\"continuous\" must be true or false");
    bool continuous = json_is_true(cont);
    if (continuous == (count != NULL))
        return fail(msg, n, STATION_E_BAD_REQUEST,
                    "say how many units: \"count\": N, or \"continuous\": true (not both)");
    if (count && (!json_is_integer(count) || json_integer_value(count) < 1 ||
                  json_integer_value(count) > 100000000))
        return fail(msg, n, STATION_E_BAD_REQUEST, "\"count\" must be an integer from 1");
    j->count = continuous ? -1 : json_integer_value(count);

    j->recipe = (unit_recipe){.img = j->img,
                              .chip = j->chip[0] ? j->chip : NULL,
                              .family = j->family[0] ? j->family : NULL,
                              .erase = PLAN_ERASE_AUTO,
                              .verify = UNIT_VERIFY_CRC,
                              .rdp = -1,
                              .reset_run = true};
    const json_t *v = json_object_get(req, "erase");
    if (v) {
        const char *t = json_string_value(v);
        if (!t || (strcmp(t, "auto") && strcmp(t, "chip")))
            return fail(msg, n, STATION_E_BAD_REQUEST, "\"erase\" must be \"auto\" or \"chip\"");
        j->recipe.erase = strcmp(t, "chip") == 0 ? PLAN_ERASE_CHIP : PLAN_ERASE_AUTO;
    }
    v = json_object_get(req, "verify");
    if (v) {
        const char *t = json_string_value(v);
        if (t && strcmp(t, "crc") == 0)
            j->recipe.verify = UNIT_VERIFY_CRC;
        else if (t && strcmp(t, "read") == 0)
            j->recipe.verify = UNIT_VERIFY_READ;
        else if (t && strcmp(t, "none") == 0)
            j->recipe.verify = UNIT_VERIFY_NONE;
        else
            return fail(msg, n, STATION_E_BAD_REQUEST,
                        "\"verify\" must be \"crc\", \"read\" or \"none\"");
    }
    v = json_object_get(req, "reset_run");
    if (v && !json_is_boolean(v))
        return fail(msg, n, STATION_E_BAD_REQUEST, "\"reset_run\" must be true or false");
    if (v)
        j->recipe.reset_run = json_is_true(v);
    v = json_object_get(req, "option_bytes");
    if (v) {
        static const char *const okeys[] = {"rdp", NULL};
        if (!json_is_object(v))
            return fail(msg, n, STATION_E_BAD_REQUEST, "\"option_bytes\" must be an object");
        if ((e = only_keys(v, okeys, "option_bytes", msg, n)))
            return e;
        const json_t *rdp = json_object_get(v, "rdp");
        if (rdp &&
            (!json_is_integer(rdp) || json_integer_value(rdp) < 0 || json_integer_value(rdp) > 1))
            return fail(msg, n, STATION_E_BAD_REQUEST,
                        "\"rdp\" must be 0 or 1 (level 2 is permanent and not offered)");
        if (rdp)
            j->recipe.rdp = (int)json_integer_value(rdp);
    }
    v = json_object_get(req, "serial");
    if (v && !json_is_null(v)) {
        static const char *const skeys[] = {"addr", "width", "format", "start", "step", NULL};
        if (!json_is_object(v))
            return fail(msg, n, STATION_E_BAD_REQUEST, "\"serial\" must be an object");
        if ((e = only_keys(v, skeys, "serial", msg, n)))
            return e;
        serial_spec *sp = &j->serial;
        *sp = (serial_spec){.format = SERIAL_U32LE, .width = 4, .step = 1};
        const json_t *f = json_object_get(v, "format");
        if (f && (!json_is_string(f) || !serial_format_parse(json_string_value(f), &sp->format)))
            return fail(msg, n, STATION_E_BAD_REQUEST,
                        "serial \"format\" must be \"u32le\", \"ascii-dec\" or \"ascii-hex\"");
        if (sp->format != SERIAL_U32LE)
            sp->width = 8;
        if (!parse_u32(json_object_get(v, "addr"), &sp->addr))
            return fail(msg, n, STATION_E_BAD_REQUEST,
                        "serial \"addr\" is required: the flash address, e.g. \"0x0800FC00\"");
        const json_t *w = json_object_get(v, "width"), *st = json_object_get(v, "start"),
                     *sg = json_object_get(v, "step");
        if ((w && !json_is_integer(w)) || (st && !json_is_integer(st)) ||
            (sg && !json_is_integer(sg)))
            return fail(msg, n, STATION_E_BAD_REQUEST,
                        "serial \"width\", \"start\" and \"step\" are integers");
        if (w)
            sp->width = (unsigned)json_integer_value(w);
        if (st)
            sp->start = json_integer_value(st);
        if (sg)
            sp->step = json_integer_value(sg);
        char why[160];
        if (!serial_spec_check(sp, why, sizeof why))
            return fail(msg, n, STATION_E_BAD_REQUEST, "%s", why);
        if (sp->addr < row->flash_base ||
            (uint64_t)sp->addr + sp->width > (uint64_t)row->flash_base + flash_size ||
            sp->addr % row->program_unit)
            return fail(msg, n, STATION_E_UNPROCESSABLE,
                        "the serial number at 0x%08X+%u is not in the chip's flash (or not "
                        "aligned to its %u-byte program unit)",
                        sp->addr, sp->width, row->program_unit);
        j->recipe.serial = sp;
    }
    v = json_object_get(req, "name");
    if (v && (!json_is_string(v) || strlen(json_string_value(v)) > 127))
        return fail(msg, n, STATION_E_BAD_REQUEST, "\"name\" must be a string of up to 127 bytes");

    /* Probes: named ones must exist and be free; none named means every
     * probe no other job holds. */
    const json_t *pr = json_object_get(req, "probes");
    if (pr && !json_is_array(pr))
        return fail(msg, n, STATION_E_BAD_REQUEST, "\"probes\" must be an array of serials");
    size_t np = pr ? json_array_size(pr) : 0;
    char **list = calloc(np ? np : 1 + station_slot_count(s), sizeof *list);
    size_t k = 0;
    if (!list)
        return fail(msg, n, STATION_E_INTERNAL, "out of memory");
    e = STATION_OK;
    for (size_t i = 0; e == STATION_OK && i < np; i++) {
        const char *ser = json_string_value(json_array_get(pr, i));
        if (!ser) {
            e = fail(msg, n, STATION_E_BAD_REQUEST, "\"probes\" must be an array of serials");
            break;
        }
        if (fresh && !slot_find(s, ser)) {
            e = fail(msg, n, STATION_E_NOT_FOUND,
                     "no probe with serial %s is known to this station: see GET /v1/probes", ser);
            break;
        }
        for (sjob *o = s->jobs; fresh && o && e == STATION_OK; o = o->next)
            if (job_active(o) && job_has_probe(o, ser))
                e = fail(msg, n, STATION_E_CONFLICT,
                         "probe %s belongs to job %" PRId64 " (%s): pause or cancel it first", ser,
                         o->id, o->state);
        if (e == STATION_OK)
            list[k++] = strdup(ser);
    }
    if (e == STATION_OK && !pr && fresh) {
        for (slot *sl = s->slots; sl; sl = sl->next) {
            bool taken = false;
            for (sjob *o = s->jobs; o; o = o->next)
                taken |= job_active(o) && job_has_probe(o, sl->serial);
            if (!taken)
                list[k++] = strdup(sl->serial);
        }
        if (k == 0)
            e = fail(msg, n, STATION_E_CONFLICT,
                     "no free probe: every probe belongs to a running or paused job");
    }
    if (e != STATION_OK) {
        for (size_t i = 0; i < k; i++)
            free(list[i]);
        free(list);
        return e;
    }
    j->probes = list;
    j->nprobes = k;
    return STATION_OK;
}

static json_t *job_json(station *s, const sjob *mem, int64_t id)
{
    store_job sj;
    if (store_job_get(s->db, id, &sj) != STORE_OK)
        return NULL;
    json_t *recipe = sj.recipe_json ? json_loads(sj.recipe_json, 0, NULL) : NULL;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(sj.id));
    json_object_set_new(o, "name", json_string(sj.name));
    json_object_set_new(o, "state", json_string(mem ? mem->state : sj.state));
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
    json_object_set_new(o, "next_serial",
                        sj.has_serial ? json_integer(sj.next_serial) : json_null());
    json_object_set_new(o, "created_at", iso(sj.created_ms));
    json_object_set_new(o, "finished_at", iso(sj.finished_ms));
    json_object_set_new(o, "submitted_by_uid", json_integer(sj.submitted_uid));
    json_decref(recipe);
    store_job_clear(&sj);
    return o;
}

json_t *station_job_json(station *s, int64_t id)
{
    return job_json(s, job_find(s, id), id);
}

json_t *station_jobs_json(station *s)
{
    json_t *arr = json_array();
    store_job *jobs = NULL;
    size_t n = 0;
    if (store_job_list(s->db, &jobs, &n) == STORE_OK) {
        for (size_t i = 0; i < n; i++) {
            json_t *o = job_json(s, job_find(s, jobs[i].id), jobs[i].id);
            if (o)
                json_array_append_new(arr, o);
        }
        store_job_list_free(jobs, n);
    }
    json_t *o = json_object();
    json_object_set_new(o, "jobs", arr);
    return o;
}

static void emit_job(station *s, const sjob *j)
{
    json_t *o = job_json(s, j, j->id);
    if (o)
        emit(s, "job", o, NULL, j->id, 0);
}

static void schedule(station *s);

/* Slots working for j stop taking its units (a begun unit finishes). */
static void idle_state(station *s, slot *sl);

static void release_slots_of(station *s, const sjob *j)
{
    for (slot *sl = s->slots; sl; sl = sl->next) {
        pthread_mutex_lock(&sl->mu);
        bool mine = sl->job == j;
        if (mine) {
            sl->job = NULL;
            pthread_cond_signal(&sl->cv);
        }
        pthread_mutex_unlock(&sl->mu);
        /* A worker between two waits for a board may never send another
         * message for this job: its tile must not go on saying "waiting". */
        if (mine && !sl->unit_id)
            idle_state(s, sl);
    }
}

static void job_set_state(station *s, sjob *j, const char *state)
{
    snprintf(j->state, sizeof j->state, "%s", state);
    TIMED(s, store_job_set_state(s->db, j->id, state, station_now_ms()));
    if (strcmp(state, "running") != 0)
        release_slots_of(s, j);
    emit_job(s, j);
    schedule(s);
}

static station_err load_image(station *s, const char *sha, image **out, char *msg, size_t n)
{
    store_image si = {0};
    store_err se = store_image_get(s->db, sha, &si);
    if (se == STORE_E_NOT_FOUND)
        return fail(msg, n, STATION_E_NOT_FOUND, "no image %s: upload it first (POST /v1/images)",
                    sha);
    if (se != STORE_OK)
        return fail(msg, n, STATION_E_INTERNAL, "reading the image: %s", store_message(s->db));
    image_format fmt = IMAGE_FMT_AUTO;
    static const char *const names[] = {"bin", "ihex", "srec", "elf"};
    static const image_format fmts[] = {IMAGE_FMT_BIN, IMAGE_FMT_IHEX, IMAGE_FMT_SREC,
                                        IMAGE_FMT_ELF};
    for (int i = 0; i < 4; i++)
        if (strcmp(si.format, names[i]) == 0)
            fmt = fmts[i];
    char why[256];
    img_err ie = image_load_mem(si.bytes, si.len, fmt, si.base, out, why, sizeof why);
    store_image_clear(&si);
    if (ie != IMG_OK)
        return fail(msg, n, STATION_E_INTERNAL, "stored image %s no longer loads: %s", sha, why);
    return STATION_OK;
}

station_err station_job_create(station *s, const json_t *req, long peer_uid, int64_t *id, char *msg,
                               size_t msglen)
{
    if (s->draining)
        return fail(msg, msglen, STATION_E_CONFLICT, "the station is shutting down");
    if (!json_is_object(req))
        return fail(msg, msglen, STATION_E_BAD_REQUEST, "the job must be a JSON object");
    const char *sha = json_string_value(json_object_get(req, "image"));
    if (!sha || strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64)
        return fail(msg, msglen, STATION_E_BAD_REQUEST,
                    "\"image\" must be the sha256 (64 lower-case hex digits) of an uploaded image");
    sjob *j = calloc(1, sizeof *j);
    if (!j)
        return fail(msg, msglen, STATION_E_INTERNAL, "out of memory");
    station_err e = load_image(s, sha, &j->img, msg, msglen);
    if (e == STATION_OK)
        e = recipe_parse(s, req, j, true, msg, msglen);
    if (e != STATION_OK) {
        job_free(j);
        return e;
    }
    /* What is kept: the request with the probes resolved, so a restart
     * gives the job the same probes. */
    json_t *keep = json_deep_copy(req);
    json_t *probes = json_array();
    for (size_t i = 0; i < j->nprobes; i++)
        json_array_append_new(probes, json_string(j->probes[i]));
    json_object_set_new(keep, "probes", probes);
    char *text = json_dumps(keep, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(keep);
    const char *name = json_string_value(json_object_get(req, "name"));
    store_job sj = {.recipe_json = text,
                    .count = j->count,
                    .has_serial = j->recipe.serial != NULL,
                    .next_serial = j->serial.start,
                    .serial_step = j->serial.step ? j->serial.step : 1,
                    .created_ms = station_now_ms(),
                    .submitted_uid = peer_uid};
    snprintf(sj.name, sizeof sj.name, "%s", name ? name : "");
    snprintf(sj.image, sizeof sj.image, "%s", sha);
    store_err se = text ? TIMED(s, store_job_create(s->db, &sj, &j->id)) : STORE_E_NOMEM;
    free(text);
    if (se != STORE_OK) {
        job_free(j);
        return fail(msg, msglen, STATION_E_INTERNAL, "the audit store refused the job: %s",
                    store_message(s->db));
    }
    snprintf(j->state, sizeof j->state, "running");
    j->next = s->jobs;
    s->jobs = j;
    *id = j->id;
    emit_job(s, j);
    schedule(s);
    return STATION_OK;
}

station_err station_job_control(station *s, int64_t id, const char *verb, char *msg, size_t msglen)
{
    sjob *j = job_find(s, id);
    if (!j) {
        store_job sj;
        if (store_job_get(s->db, id, &sj) == STORE_OK) {
            store_job_clear(&sj);
            return fail(msg, msglen, STATION_E_CONFLICT, "job %" PRId64 " has already ended", id);
        }
        return fail(msg, msglen, STATION_E_NOT_FOUND, "no job %" PRId64, id);
    }
    if (!job_active(j))
        return fail(msg, msglen, STATION_E_CONFLICT, "job %" PRId64 " has already ended (%s)", id,
                    j->state);
    if (strcmp(verb, "pause") == 0)
        job_set_state(s, j, "paused");
    else if (strcmp(verb, "resume") == 0)
        job_set_state(s, j, "running");
    else if (strcmp(verb, "cancel") == 0)
        job_set_state(s, j, "cancelled");
    else
        return fail(msg, msglen, STATION_E_NOT_FOUND, "jobs have no action \"%s\"", verb);
    return STATION_OK;
}

/* After a restart: the jobs that were running or paused go on. */
static void load_jobs(station *s)
{
    store_job *jobs = NULL;
    size_t n = 0;
    if (store_job_list(s->db, &jobs, &n) != STORE_OK)
        return;
    for (size_t i = n; i-- > 0;) {
        store_job *sj = &jobs[i];
        if (strcmp(sj->state, "running") != 0 && strcmp(sj->state, "paused") != 0)
            continue;
        sjob *j = calloc(1, sizeof *j);
        char msg[256];
        json_t *req = sj->recipe_json ? json_loads(sj->recipe_json, 0, NULL) : NULL;
        if (!j || !req || load_image(s, sj->image, &j->img, msg, sizeof msg) != STATION_OK ||
            recipe_parse(s, req, j, false, msg, sizeof msg) != STATION_OK) {
            fprintf(stderr, "flashlined: job %" PRId64 " cannot go on after the restart\n", sj->id);
            if (j)
                job_free(j);
            json_decref(req);
            continue;
        }
        json_decref(req);
        j->id = sj->id;
        snprintf(j->state, sizeof j->state, "%s", sj->state);
        j->next = s->jobs;
        s->jobs = j;
        if (j->count >= 0 && sj->ok >= j->count)
            job_set_state(s, j, "done");
    }
    store_job_list_free(jobs, n);
}

/* ---- probes ------------------------------------------------------------------ */

static json_t *probe_json(const slot *sl)
{
    json_t *o = json_object();
    json_object_set_new(o, "serial", json_string(sl->serial));
    json_object_set_new(o, "kind", json_string(sl->kind));
    json_object_set_new(o, "state", json_string(sl->state));
    json_object_set_new(o, "job", sl->unit_job ? json_integer(sl->unit_job->id) : json_null());
    json_object_set_new(o, "unit", sl->unit_id ? json_integer(sl->unit_id) : json_null());
    json_object_set_new(o, "chip", str_or_null(sl->chip));
    json_object_set_new(o, "uid", str_or_null(sl->uid));
    json_object_set_new(o, "progress", json_integer(sl->progress));
    json_object_set_new(o, "quarantine_reason",
                        sl->quarantined ? json_string(sl->quarantine_reason) : json_null());
    json_object_set_new(o, "last_result", str_or_null(sl->last_result));
    json_object_set_new(o, "last_at", iso(sl->last_at_ms));
    json_object_set_new(o, "units_ok", json_integer(sl->units_ok));
    json_object_set_new(o, "units_failed", json_integer(sl->units_failed));
    return o;
}

json_t *station_probes_json(station *s)
{
    json_t *arr = json_array();
    for (slot *sl = s->slots; sl; sl = sl->next)
        json_array_append_new(arr, probe_json(sl));
    json_t *o = json_object();
    json_object_set_new(o, "probes", arr);
    return o;
}

json_t *station_probe_json(station *s, const char *serial)
{
    slot *sl = slot_find(s, serial);
    return sl ? probe_json(sl) : NULL;
}

size_t station_slot_count(const station *s)
{
    size_t n = 0;
    for (const slot *sl = s->slots; sl; sl = sl->next)
        n++;
    return n;
}

static void set_state(station *s, slot *sl, const char *state)
{
    if (sl->state == state || (sl->state && strcmp(sl->state, state) == 0))
        return;
    sl->state = state;
    emit(s, "probe", probe_json(sl), sl->serial, sl->unit_job ? sl->unit_job->id : 0, sl->unit_id);
}

static void idle_state(station *s, slot *sl)
{
    bool present, has_job;
    pthread_mutex_lock(&sl->mu);
    present = sl->present;
    has_job = sl->job != NULL;
    pthread_mutex_unlock(&sl->mu);
    set_state(s, sl,
              !present          ? "gone"
              : sl->quarantined ? "quarantined"
              : has_job         ? "waiting"
                                : "idle");
}

static void quarantine(station *s, slot *sl, const char *reason)
{
    sl->quarantined = true;
    snprintf(sl->quarantine_reason, sizeof sl->quarantine_reason, "%s", reason);
    TIMED(s, store_probe_set_quarantine(s->db, sl->serial, reason, station_now_ms()));
    pthread_mutex_lock(&sl->mu);
    sl->job = NULL;
    pthread_cond_signal(&sl->cv);
    pthread_mutex_unlock(&sl->mu);
    fprintf(stderr, "flashlined: probe %s quarantined: %s\n", sl->serial, reason);
    sl->state = NULL;
    idle_state(s, sl);
}

station_err station_probe_control(station *s, const char *serial, const char *verb,
                                  const char *reason, char *msg, size_t msglen)
{
    slot *sl = slot_find(s, serial);
    if (!sl)
        return fail(msg, msglen, STATION_E_NOT_FOUND, "no probe with serial %s", serial);
    if (strcmp(verb, "quarantine") == 0) {
        if (!reason || !*reason)
            return fail(msg, msglen, STATION_E_BAD_REQUEST,
                        "say why in \"reason\": the operator will read it");
        quarantine(s, sl, reason);
    } else if (strcmp(verb, "release") == 0) {
        if (!sl->quarantined)
            return fail(msg, msglen, STATION_E_CONFLICT, "probe %s is not quarantined", serial);
        sl->quarantined = false;
        sl->failed_in_row = 0;
        sl->quarantine_reason[0] = '\0';
        TIMED(s, store_probe_set_quarantine(s->db, sl->serial, NULL, station_now_ms()));
        sl->state = NULL;
        idle_state(s, sl);
        schedule(s);
    } else if (strcmp(verb, "reset") == 0) {
        if (sl->unit_id)
            return fail(msg, msglen, STATION_E_CONFLICT,
                        "probe %s is programming unit %" PRId64 ": reset it when it is idle",
                        serial, sl->unit_id);
        pthread_mutex_lock(&sl->mu);
        sl->reset_requested = true;
        pthread_cond_signal(&sl->cv);
        pthread_mutex_unlock(&sl->mu);
    } else {
        return fail(msg, msglen, STATION_E_NOT_FOUND, "probes have no action \"%s\"", verb);
    }
    return STATION_OK;
}

/* ---- the scheduler ------------------------------------------------------------ */

static bool probe_allowed(const station *s, const char *serial)
{
    for (const char *const *p = s->cfg.ignore_serials; p && *p; p++)
        if (strcasecmp(*p, serial) == 0)
            return false;
    if (!s->cfg.only_serials)
        return true;
    for (const char *const *p = s->cfg.only_serials; *p; p++)
        if (strcasecmp(*p, serial) == 0)
            return true;
    return false;
}

/* Every free slot gets the oldest running job that names it. */
static void schedule(station *s)
{
    if (s->draining)
        return;
    for (slot *sl = s->slots; sl; sl = sl->next) {
        if (sl->quarantined)
            continue;
        sjob *best = NULL;
        for (sjob *j = s->jobs; j; j = j->next)
            if (strcmp(j->state, "running") == 0 && job_has_probe(j, sl->serial) &&
                (!best || j->id < best->id))
                best = j;
        pthread_mutex_lock(&sl->mu);
        bool changed = sl->job != best && sl->job == NULL;
        if (changed) {
            sl->job = best;
            pthread_cond_signal(&sl->cv);
        }
        pthread_mutex_unlock(&sl->mu);
        if (changed && !sl->unit_id)
            idle_state(s, sl);
    }
}

/* ---- worker messages --------------------------------------------------------------- */

static const char *state_for(unit_state st)
{
    switch (st) {
    case US_WAIT_BOARD:
        return "waiting";
    case US_CONNECT:
    case US_IDENTIFY:
    case US_CHECK:
    case US_PLAN:
        return "connecting";
    case US_ERASE:
    case US_PROGRAM:
        return "programming";
    default:
        return "verifying";
    }
}

static json_t *unit_event_json(station *s, int64_t unit_id)
{
    store_unit u;
    if (store_unit_get(s->db, unit_id, &u) != STORE_OK)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(u.id));
    json_object_set_new(o, "job", json_integer(u.job_id));
    json_object_set_new(o, "probe", json_string(u.probe));
    json_object_set_new(o, "uid", str_or_null(u.uid));
    json_object_set_new(o, "chip", str_or_null(u.chip));
    char sn[32];
    snprintf(sn, sizeof sn, "%" PRId64, u.serial);
    json_object_set_new(o, "serial_number", u.has_serial ? json_string(sn) : json_null());
    json_object_set_new(o, "image", json_string(u.image));
    json_object_set_new(o, "result", json_string(u.result));
    json_object_set_new(o, "error", str_or_null(u.error));
    json_object_set_new(o, "started_at", iso(u.started_ms));
    json_object_set_new(o, "finished_at", iso(u.finished_ms));
    json_object_set_new(o, "attempts", json_integer(u.attempts));
    json_object_set_new(o, "recovery_steps", json_integer(u.recovery_steps));
    return o;
}

static int first_unit(void *user, const store_unit *u)
{
    *(int64_t *)user = u->id;
    return 1;
}

/* What the audit log knows of a probe's last unit, for its tile after a
 * restart. */
static int last_unit(void *user, const store_unit *u)
{
    slot *sl = user;
    snprintf(sl->last_result, sizeof sl->last_result, "%s", u->result);
    sl->last_at_ms = u->finished_ms ? u->finished_ms : u->started_ms;
    snprintf(sl->uid, sizeof sl->uid, "%s", u->uid);
    snprintf(sl->chip, sizeof sl->chip, "%s", u->chip);
    return 1;
}

static void answer_begin(slot *sl, bool ok, int64_t serial)
{
    pthread_mutex_lock(&sl->mu);
    sl->begin_already = false;
    sl->begin_ok = ok;
    sl->begin_serial = serial;
    sl->begin_answered = true;
    pthread_cond_signal(&sl->cv);
    pthread_mutex_unlock(&sl->mu);
}

static void on_begin(station *s, slot *sl, slot_msg *m)
{
    pthread_mutex_lock(&sl->mu);
    sjob *j = sl->job;
    pthread_mutex_unlock(&sl->mu);
    if (!j || s->draining || strcmp(j->state, "running") != 0) {
        answer_begin(sl, false, 0);
        return;
    }
    if (j->count >= 0) {
        store_job sj;
        if (store_job_get(s->db, j->id, &sj) != STORE_OK) {
            answer_begin(sl, false, 0);
            return;
        }
        bool enough = sj.ok + sj.in_flight >= j->count;
        store_job_clear(&sj);
        if (enough) { /* the other slots' units in flight will finish the job */
            answer_begin(sl, false, 0);
            return;
        }
    }
    /* A board that already has its ok unit in this job (the daemon was
     * restarted before the operator took it off) is not done twice. */
    int64_t found = 0;
    store_unit_filter f = {.uid = m->board.uid_hex, .job_id = j->id, .result = "ok", .limit = 1};
    store_units_query(s->db, &f, first_unit, &found);
    if (found) {
        pthread_mutex_lock(&sl->mu);
        sl->begin_already = true;
        sl->begin_ok = false;
        sl->begin_answered = true;
        pthread_cond_signal(&sl->cv);
        pthread_mutex_unlock(&sl->mu);
        return;
    }
    int64_t unit = 0, serial = 0;
    bool has_serial = false;
    /* Committed before the worker may write the serial number to flash. */
    if (TIMED(s, store_unit_begin(s->db, j->id, sl->serial, m->board.uid_hex,
                                  m->board.chip ? m->board.chip->name : "", m->at_ms, &unit,
                                  &has_serial, &serial)) != STORE_OK) {
        fprintf(stderr, "flashlined: cannot record a unit: %s\n", store_message(s->db));
        answer_begin(sl, false, 0);
        return;
    }
    metrics_unit_begin(s->metrics, sl->serial, m->at_ms);
    sl->unit_id = unit;
    sl->unit_job = j;
    sl->attempt_id = 0;
    sl->progress = 0;
    snprintf(sl->uid, sizeof sl->uid, "%s", m->board.uid_hex);
    snprintf(sl->chip, sizeof sl->chip, "%s", m->board.chip ? m->board.chip->name : "");
    answer_begin(sl, true, serial);
    json_t *o = unit_event_json(s, unit);
    if (o)
        emit(s, "unit", o, sl->serial, j->id, unit);
    set_state(s, sl, "connecting");
}

static void on_unit_end(station *s, slot *sl, slot_msg *m)
{
    const unit_outcome *u = m->outcome;
    const char *result = u->final == US_DONE     ? "ok"
                         : u->final == US_FAILED ? "failed"
                                                 : "interrupted";
    int64_t unit = sl->unit_id;
    sjob *j = sl->unit_job;
    if (unit) {
        if (sl->attempt_id) { /* an attempt the worker could not close */
            TIMED(s, store_attempt_end(s->db, sl->attempt_id, result, unit_state_name(u->failed_in),
                                       u->error, m->at_ms));
            metrics_attempt(s->metrics, sl->serial, result, m->at_ms);
            sl->attempt_id = 0;
        }
        /* Durable first (synchronous=FULL), then told. */
        if (TIMED(s, store_unit_end(s->db, unit, result, u->final == US_DONE ? NULL : u->error,
                                    m->at_ms)) == STORE_OK) /* counted as the store counts */
            metrics_unit_end(s->metrics, sl->serial, sl->chip, result, m->at_ms);
        json_t *o = unit_event_json(s, unit);
        if (o)
            emit(s, "unit", o, sl->serial, j ? j->id : 0, unit);
    }
    snprintf(sl->last_result, sizeof sl->last_result, "%s", result);
    sl->last_at_ms = m->at_ms;
    sl->unit_id = 0;
    sl->unit_job = NULL;
    sl->progress = u->final == US_DONE ? 100 : sl->progress;
    if (u->final == US_DONE) {
        sl->units_ok++;
        sl->failed_in_row = 0;
    } else if (u->final == US_FAILED) {
        sl->units_failed++;
        sl->failed_in_row++;
    }
    if (u->final == US_PROBE_DEAD) {
        char why[300];
        snprintf(why, sizeof why, "the recovery ladder could not bring the probe back: %.200s",
                 u->error);
        quarantine(s, sl, why);
    } else if (s->cfg.quarantine_after && sl->failed_in_row >= s->cfg.quarantine_after) {
        char why[300];
        snprintf(why, sizeof why,
                 "%u boards in a row failed (last: %.160s); check the probe, its cable and the "
                 "fixture, then release it",
                 sl->failed_in_row, u->error);
        quarantine(s, sl, why);
    }
    if (j && j->count >= 0 && strcmp(j->state, "running") == 0) {
        store_job sj;
        if (store_job_get(s->db, j->id, &sj) == STORE_OK) {
            bool done = sj.ok >= j->count;
            store_job_clear(&sj);
            if (done)
                job_set_state(s, j, "done");
            else
                emit_job(s, j);
        }
    } else if (j) {
        emit_job(s, j);
    }
    sl->state = NULL;
    idle_state(s, sl);
}

static void on_probes(station *s, slot_msg *m)
{
    /* Arrivals. */
    for (size_t i = 0; i < m->nprobes; i++) {
        const probe_seen *p = &m->probes[i];
        if (!probe_allowed(s, p->serial))
            continue;
        slot *sl = slot_find(s, p->serial);
        if (!sl) {
            sl = calloc(1, sizeof *sl);
            if (!sl)
                continue;
            sl->st = s;
            snprintf(sl->serial, sizeof sl->serial, "%s", p->serial);
            snprintf(sl->kind, sizeof sl->kind, "%s", p->kind);
            pthread_mutex_init(&sl->mu, NULL);
            pthread_cond_init(&sl->cv, NULL);
            sl->present = true;
            char reason[256];
            bool q = false;
            TIMED(s, store_probe_seen(s->db, sl->serial, sl->kind, m->at_ms));
            if (store_probe_quarantine(s->db, sl->serial, reason, sizeof reason, &q) == STORE_OK &&
                q) {
                sl->quarantined = true;
                snprintf(sl->quarantine_reason, sizeof sl->quarantine_reason, "%s", reason);
            }
            store_unit_filter lf = {.probe = sl->serial, .limit = 1};
            store_units_query(s->db, &lf, last_unit, sl);
            sl->next = s->slots;
            s->slots = sl;
            if (slot_thread_start(sl, s->cfg.poll_ms) != 0)
                fprintf(stderr, "flashlined: cannot start a worker for probe %s\n", sl->serial);
            fprintf(stderr, "flashlined: probe %s (%s) arrived\n", sl->serial, sl->kind);
            idle_state(s, sl);
            schedule(s);
            continue;
        }
        pthread_mutex_lock(&sl->mu);
        bool back = !sl->present;
        sl->present = true;
        pthread_cond_signal(&sl->cv);
        pthread_mutex_unlock(&sl->mu);
        if (back) {
            TIMED(s, store_probe_seen(s->db, sl->serial, sl->kind, m->at_ms));
            fprintf(stderr, "flashlined: probe %s is back\n", sl->serial);
            if (!sl->unit_id) {
                sl->state = NULL;
                idle_state(s, sl);
            }
        }
    }
    /* Departures. */
    for (slot *sl = s->slots; sl; sl = sl->next) {
        bool seen = false;
        for (size_t i = 0; i < m->nprobes; i++)
            seen |= strcasecmp(m->probes[i].serial, sl->serial) == 0;
        if (seen)
            continue;
        pthread_mutex_lock(&sl->mu);
        bool was = sl->present;
        sl->present = false;
        pthread_cond_signal(&sl->cv);
        pthread_mutex_unlock(&sl->mu);
        if (was) {
            fprintf(stderr, "flashlined: probe %s left the bus\n", sl->serial);
            if (!sl->unit_id)
                set_state(s, sl, "gone");
        }
    }
}

static void handle(station *s, slot_msg *m)
{
    slot *sl = m->sl;
    switch (m->kind) {
    case SM_PROBES:
        on_probes(s, m);
        break;
    case SM_STATE:
        /* Waiting is what the slot is when it has a job and no unit: a
         * worker's late "waiting" must not outlive the job it was for. */
        if (sl->unit_id && m->state != US_WAIT_BOARD)
            set_state(s, sl, state_for(m->state));
        else if (!sl->unit_id)
            idle_state(s, sl);
        break;
    case SM_PROGRESS:
        sl->progress = m->total ? (int)(m->done * 100 / m->total) : 0;
        if (sl->unit_id) {
            json_t *o = json_object();
            json_object_set_new(o, "probe", json_string(sl->serial));
            json_object_set_new(o, "unit", json_integer(sl->unit_id));
            json_object_set_new(o, "progress", json_integer(sl->progress));
            emit(s, "progress", o, sl->serial, 0, sl->unit_id);
        }
        break;
    case SM_ATTEMPT_BEGIN:
        if (sl->unit_id && TIMED(s, store_attempt_begin(s->db, sl->unit_id, m->n, m->at_ms,
                                                        &sl->attempt_id)) == STORE_OK) {
            metrics_attempt_begin(s->metrics, sl->serial, m->at_ms);
            json_t *o = json_object();
            json_object_set_new(o, "unit", json_integer(sl->unit_id));
            json_object_set_new(o, "n", json_integer(m->n));
            json_object_set_new(o, "state", json_string(unit_state_name(m->state)));
            emit(s, "attempt", o, sl->serial, 0, sl->unit_id);
        }
        break;
    case SM_ATTEMPT_END:
        if (sl->unit_id && sl->attempt_id) {
            TIMED(s,
                  store_attempt_end(s->db, sl->attempt_id, m->ok ? "ok" : "failed",
                                    unit_state_name(m->state), m->ok ? NULL : m->error, m->at_ms));
            metrics_attempt(s->metrics, sl->serial, m->ok ? "ok" : "failed", m->at_ms);
            json_t *o = json_object();
            json_object_set_new(o, "unit", json_integer(sl->unit_id));
            json_object_set_new(o, "n", json_integer(m->n));
            json_object_set_new(o, "result", json_string(m->ok ? "ok" : "failed"));
            json_object_set_new(o, "state", json_string(unit_state_name(m->state)));
            json_object_set_new(o, "error", str_or_null(m->error));
            emit(s, "attempt", o, sl->serial, 0, sl->unit_id);
        }
        break;
    case SM_RECOVERY:
        if (!sl->unit_id) {
            /* Waiting for a board, the probe itself needed help: no unit
             * to record it against, so the probe's event log has it. */
            json_t *o = json_object();
            json_object_set_new(o, "probe", json_string(sl->serial));
            json_object_set_new(o, "step", json_string(unit_step_name(m->step)));
            json_object_set_new(o, "ok", json_boolean(m->ok));
            emit(s, "recovery", o, sl->serial, 0, 0);
            metrics_recovery(s->metrics, unit_step_name(m->step), sl->serial);
        } else {
            if (TIMED(s, store_recovery_add(s->db, sl->unit_id, sl->attempt_id,
                                            unit_step_name(m->step), m->ok, m->at_ms)) == STORE_OK)
                metrics_recovery(s->metrics, unit_step_name(m->step), sl->serial);
            json_t *o = json_object();
            json_object_set_new(o, "unit", json_integer(sl->unit_id));
            json_object_set_new(o, "probe", json_string(sl->serial));
            json_object_set_new(o, "step", json_string(unit_step_name(m->step)));
            json_object_set_new(o, "ok", json_boolean(m->ok));
            emit(s, "recovery", o, sl->serial, 0, sl->unit_id);
            set_state(s, sl, "recovering");
        }
        break;
    case SM_BEGIN:
        on_begin(s, sl, m);
        break;
    case SM_UNIT_END:
        on_unit_end(s, sl, m);
        break;
    case SM_RUN_END:
        if (m->outcome->final == US_PROBE_DEAD)
            quarantine(s, sl, m->outcome->error);
        else if (!sl->unit_id) {
            sl->state = NULL;
            idle_state(s, sl);
        }
        break;
    case SM_RESET_DONE: {
        json_t *o = probe_json(sl);
        json_object_set_new(o, "reset", json_boolean(m->ok));
        json_object_set_new(o, "error", str_or_null(m->error));
        emit(s, "probe", o, sl->serial, 0, 0);
        break;
    }
    case SM_EXIT:
        sl->exited = true;
        break;
    }
}

static void msg_free(slot_msg *m)
{
    free(m->outcome);
    free(m->probes);
    free(m);
}

void station_post(station *s, slot_msg *m)
{
    pthread_mutex_lock(&s->qmu);
    m->next = NULL;
    if (s->qtail)
        s->qtail->next = m;
    else
        s->qhead = m;
    s->qtail = m;
    pthread_mutex_unlock(&s->qmu);
    uv_async_send(&s->async);
}

static void on_async(uv_async_t *a)
{
    station *s = a->data;
    pthread_mutex_lock(&s->qmu);
    slot_msg *m = s->qhead;
    s->qhead = s->qtail = NULL;
    pthread_mutex_unlock(&s->qmu);
    while (m) {
        slot_msg *next = m->next;
        handle(s, m);
        msg_free(m);
        m = next;
    }
}

/* ---- metrics (GET /metrics) ---------------------------------------------------------- */

/* What the audit log already holds, so that the counters equal it after a
 * restart: units by result, recovery steps, and the jobs not kept in
 * memory (ended before this start, or not resumable). Once, at start: the
 * counts are full scans. */
static void seed_metrics(station *s)
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
        if (!job_find(s, jobs[i].id))
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
        metrics_live live = {probes, np, states, nj, queue};
        text = metrics_render(s->metrics, &live);
    }
    free(probes);
    free(states);
    return text;
}

/* ---- life ------------------------------------------------------------------------- */

station_err station_start(uv_loop_t *loop, const station_config *cfg, station **out, char *msg,
                          size_t msglen)
{
    station *s = calloc(1, sizeof *s);
    if (s && !(s->metrics = metrics_new())) {
        free(s);
        s = NULL;
    }
    if (!s)
        return fail(msg, msglen, STATION_E_INTERNAL, "out of memory");
    s->loop = loop;
    s->cfg = *cfg;
    if (!s->cfg.poll_ms)
        s->cfg.poll_ms = 200;
    if (!s->cfg.enumerate_ms)
        s->cfg.enumerate_ms = 1000;
    s->db = cfg->db;
    s->http = cfg->http;
    pthread_mutex_init(&s->qmu, NULL);
    uv_async_init(loop, &s->async, on_async);
    s->async.data = s;
    uv_timer_init(loop, &s->drain_timer);
    s->drain_timer.data = s;
    load_jobs(s);
    seed_metrics(s);
    if (hotplug_start(s, s->cfg.enumerate_ms, &s->hp) != 0) {
        station_free(s);
        return fail(msg, msglen, STATION_E_INTERNAL,
                    "cannot start USB handling (libusb_init failed): is /dev/bus/usb there?");
    }
    *out = s;
    return STATION_OK;
}

static bool all_exited(const station *s)
{
    for (const slot *sl = s->slots; sl; sl = sl->next)
        if (sl->thread_started && !sl->exited)
            return false;
    return true;
}

static void on_drain_tick(uv_timer_t *t)
{
    station *s = t->data;
    bool late = station_now_ms() - s->drain_started > DRAIN_TIMEOUT_MS;
    if (!all_exited(s) && !late)
        return;
    uv_timer_stop(t);
    if (late) /* the store marks what is still in flight on the next start */
        fprintf(stderr, "flashlined: units still in flight after %d s; stopping anyway\n",
                DRAIN_TIMEOUT_MS / 1000);
    if (s->drain_done)
        s->drain_done(s->drain_user);
}

void station_drain(station *s, void (*done)(void *user), void *user)
{
    s->draining = true;
    s->drain_started = station_now_ms();
    s->drain_done = done;
    s->drain_user = user;
    for (slot *sl = s->slots; sl; sl = sl->next) {
        pthread_mutex_lock(&sl->mu);
        sl->quit = true;
        sl->job = NULL;
        pthread_cond_signal(&sl->cv);
        pthread_mutex_unlock(&sl->mu);
    }
    uv_timer_start(&s->drain_timer, on_drain_tick, 0, 100);
}

static void on_closed(uv_handle_t *h)
{
    station *s = h->data;
    if (--s->closing > 0)
        return;
    for (slot_msg *m = s->qhead; m;) {
        slot_msg *next = m->next;
        msg_free(m);
        m = next;
    }
    while (s->jobs) {
        sjob *j = s->jobs;
        s->jobs = j->next;
        job_free(j);
    }
    pthread_mutex_destroy(&s->qmu);
    metrics_free(s->metrics);
    free(s);
}

void station_free(station *s)
{
    if (!s)
        return;
    hotplug_stop(s->hp);
    s->hp = NULL;
    /* Workers that finished are joined; one stuck in USB past the drain
     * timeout is left behind (the process is about to end). */
    while (s->slots) {
        slot *sl = s->slots;
        s->slots = sl->next;
        pthread_mutex_lock(&sl->mu);
        sl->quit = true;
        pthread_cond_signal(&sl->cv);
        pthread_mutex_unlock(&sl->mu);
        if (sl->thread_started && sl->exited) {
            pthread_join(sl->thread, NULL);
            pthread_mutex_destroy(&sl->mu);
            pthread_cond_destroy(&sl->cv);
            free(sl);
        } else if (sl->thread_started) {
            pthread_detach(sl->thread);
        } else {
            free(sl);
        }
    }
    s->closing = 2;
    uv_close((uv_handle_t *)&s->async, on_closed);
    uv_close((uv_handle_t *)&s->drain_timer, on_closed);
}
