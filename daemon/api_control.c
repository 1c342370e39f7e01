/* The /v1 resources that change the line: images, jobs, probes. The
 * station owns jobs and probes (station.h); this file checks the request's
 * shape, names who asks, and maps the station's typed errors to HTTP. */
#include "api_internal.h"

#include "dashboard.h"
#include "image.h"
#include "iso8601.h"
#include "views.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- images ----------------------------------------------------------------- */

/* Short format names as the API and the store use them (image_format_name()
 * gives the long, human ones). */
static const char *fmt_short(image_format f)
{
    switch (f) {
    case IMAGE_FMT_BIN:
        return "bin";
    case IMAGE_FMT_IHEX:
        return "ihex";
    case IMAGE_FMT_SREC:
        return "srec";
    case IMAGE_FMT_ELF:
        return "elf";
    default:
        return "auto";
    }
}

static bool fmt_parse(const char *s, image_format *f)
{
    static const image_format all[] = {IMAGE_FMT_AUTO, IMAGE_FMT_BIN, IMAGE_FMT_IHEX,
                                       IMAGE_FMT_SREC, IMAGE_FMT_ELF};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, fmt_short(all[i])) == 0) {
            *f = all[i];
            return true;
        }
    }
    return false;
}

static json_t *image_json(const image *img, const char *sha)
{
    json_t *segs = json_array();
    size_t n = image_segment_count(img);
    for (size_t i = 0; i < n; i++) {
        image_segment sg;
        if (!image_segment_get(img, i, &sg))
            break;
        char addr[16];
        snprintf(addr, sizeof addr, "0x%08" PRIX32, sg.address);
        json_array_append_new(segs,
                              json_pack("{s:s,s:I}", "addr", addr, "len", (json_int_t)sg.length));
    }
    return json_pack("{s:s,s:s,s:I,s:o}", "sha256", sha, "format", fmt_short(image_get_format(img)),
                     "size", (json_int_t)image_size_bytes(img), "segments", segs);
}

static bool parse_base(const char *s, uint32_t *out)
{
    if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
        return false;
    errno = 0;
    char *end;
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    if (hex && !isxdigit((unsigned char)s[2]))
        return false;
    unsigned long long v = strtoull(hex ? s + 2 : s, &end, hex ? 16 : 10);
    if (errno || *end || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Who asks, for the audit's actions: the Unix-socket peer's uid, or the
 * holder of the TCP write token (who is not known beyond that). */
void api_actor_of(const ctx *c, char out[API_ACTOR_LEN])
{
    if (c->req->via_tcp)
        snprintf(out, API_ACTOR_LEN, "tcp-token");
    else
        snprintf(out, API_ACTOR_LEN, "uid:%ld", c->req->peer_uid);
}

void post_image(ctx *c)
{
    const char *fs = api_query_get(&c->q, "format");
    const char *bs = api_query_get(&c->q, "base");
    if (!api_query_done(c))
        return;
    image_format fmt = IMAGE_FMT_AUTO;
    if (fs && !fmt_parse(fs, &fmt)) {
        api_fail(c, 400, "format \"%s\" is not one of auto, bin, ihex, srec, elf", fs);
        return;
    }
    uint32_t base = 0x08000000u;
    if (bs && !parse_base(bs, &base)) {
        api_fail(c, 400, "base \"%s\" is not an address; give it as hex (0x08000000) or decimal",
                 bs);
        return;
    }
    size_t max = c->a->max_upload ? c->a->max_upload : DEFAULT_MAX_UPLOAD;
    if (c->req->body_len > max) {
        api_fail(c, 413,
                 "the upload is %zu bytes, more than this daemon's limit of %zu; raise "
                 "max_upload_mb in the config if the image is right",
                 c->req->body_len, max);
        return;
    }
    if (c->req->body_len == 0) {
        api_fail(c, 400, "the upload is empty; send the image file as the body");
        return;
    }
    image *img = NULL;
    char msg[MSG_LEN];
    img_err e = image_load_mem(c->req->body, c->req->body_len, fmt, base, &img, msg, sizeof msg);
    if (e != IMG_OK) {
        if (e == IMG_E_NOMEM)
            api_fail(c, 500, "%s", msg);
        else if (e == IMG_E_TOO_BIG)
            api_fail(c, 413, "%s", msg);
        else
            api_fail(c, 400, "%s", msg);
        return;
    }
    char sha[65];
    image_sha256_hex(img, sha);
    store_err se = store_image_put(c->a->db, sha, fmt_short(image_get_format(img)), base,
                                   c->req->body, c->req->body_len, api_now_ms(c->a));
    char actor[API_ACTOR_LEN];
    api_actor_of(c, actor);
    if (se == STORE_OK)
        se =
            store_action_add(c->a->db, api_now_ms(c->a), actor, "image.upload", "image", sha, NULL);
    if (se != STORE_OK) {
        api_fail(c, 500,
                 "the audit store could not commit the upload: %s; send it again once the store "
                 "accepts writes",
                 store_message(c->a->db));
        image_free(img);
        return;
    }
    api_reply(c, 201, image_json(img, sha));
    image_free(img);
}

static bool is_sha(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 64;
}

void get_image(ctx *c)
{
    const char *sha = c->seg[2];
    if (!api_query_done(c))
        return;
    if (!is_sha(sha)) {
        api_fail(c, 400, "\"%s\" is not an image id; images are named by 64 lower-case hex digits",
                 sha);
        return;
    }
    store_image si;
    store_err se = store_image_get(c->a->db, sha, &si);
    if (se == STORE_E_NOT_FOUND) {
        api_fail(c, 404, "no image %s; upload it with POST /v1/images", sha);
        return;
    }
    if (se != STORE_OK) {
        api_fail(c, 500, "reading the image failed: %s", store_message(c->a->db));
        return;
    }
    image_format fmt = IMAGE_FMT_AUTO;
    fmt_parse(si.format, &fmt);
    image *img = NULL;
    char msg[MSG_LEN];
    if (image_load_mem(si.bytes, si.len, fmt, si.base, &img, msg, sizeof msg) != IMG_OK)
        api_fail(c, 500, "the stored image %s no longer parses (%s); upload it again", sha, msg);
    else
        api_reply(c, 200, image_json(img, sha));
    image_free(img);
    store_image_clear(&si);
}

/* ---- jobs ------------------------------------------------------------------- */

void get_jobs(ctx *c)
{
    if (!api_query_done(c) || !api_need_station(c))
        return;
    api_reply(c, 200, station_jobs_json(c->a->st));
}

void post_jobs(ctx *c)
{
    if (!api_query_done(c) || !api_need_station(c))
        return;
    json_t *body = api_body_object(c, false);
    if (!body)
        return;
    char msg[MSG_LEN] = "", actor[API_ACTOR_LEN];
    api_actor_of(c, actor);
    int64_t id = 0;
    /* The recipe's fields are checked once, by the station (recipe.c). */
    station_err e = station_job_create(c->a->st, body, actor, &id, msg, sizeof msg);
    json_decref(body);
    if (e != STATION_OK) {
        api_station_fail(c, e, msg);
        return;
    }
    json_t *j = station_job_json(c->a->st, id);
    if (!j)
        api_fail(c, 500, "job %" PRId64 " was created but cannot be read back; GET /v1/jobs", id);
    else
        api_reply(c, 201, j);
}

int api_on_action(void *user, const store_action *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "at", view_time(a->at_ms));
    json_object_set_new(o, "actor", json_string(a->actor));
    json_object_set_new(o, "verb", json_string(a->verb));
    json_object_set_new(o, "target",
                        json_pack("{s:s,s:s}", "kind", a->target_kind, "id", a->target));
    json_t *detail = a->detail_json[0] ? json_loads(a->detail_json, 0, NULL) : NULL;
    json_object_set_new(o, "detail", detail ? detail : json_null());
    json_array_append_new(user, o);
    return 0;
}

/* The actions on a target in [since, until) (0: unbounded), oldest first;
 * NULL when the store cannot say (the caller answers 500). */
json_t *api_actions_json(ctx *c, const char *kind, const char *target, int64_t since, int64_t until)
{
    json_t *arr = json_array();
    store_action_filter f = {
        .target_kind = kind, .target = target, .since_ms = since, .until_ms = until};
    if (store_actions_query(c->a->db, &f, api_on_action, arr) != STORE_OK) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

void get_job(ctx *c)
{
    int64_t id;
    if (!api_query_done(c) || !api_need_station(c) || !api_path_id(c, c->seg[2], "job", &id))
        return;
    json_t *j = station_job_json(c->a->st, id);
    if (!j) {
        api_fail(c, 404, "no job %" PRId64 "; GET /v1/jobs lists them", id);
        return;
    }
    char target[24];
    snprintf(target, sizeof target, "%" PRId64, id);
    json_t *acts = api_actions_json(c, "job", target, 0, 0);
    if (!acts) {
        json_decref(j);
        api_fail(c, 500, "reading job %" PRId64 "'s actions failed: %s", id,
                 store_message(c->a->db));
        return;
    }
    json_object_set_new(j, "actions", acts);
    api_reply(c, 200, j);
}

void post_job_verb(ctx *c)
{
    int64_t id;
    if (!api_query_done(c) || !api_need_station(c) || !api_path_id(c, c->seg[2], "job", &id))
        return;
    static const char *const none[] = {NULL};
    json_t *body = api_body_object(c, true);
    if (!body)
        return;
    bool ok = api_only_keys(c, body, none, c->seg[3]);
    json_decref(body);
    if (!ok)
        return;
    char msg[MSG_LEN] = "", actor[API_ACTOR_LEN];
    api_actor_of(c, actor);
    station_err e = station_job_control(c->a->st, id, c->seg[3], actor, msg, sizeof msg);
    if (e != STATION_OK) {
        api_station_fail(c, e, msg);
        return;
    }
    json_t *j = station_job_json(c->a->st, id);
    if (!j)
        api_fail(c, 500, "job %" PRId64 " cannot be read back; GET /v1/jobs", id);
    else
        api_reply(c, 200, j);
}

/* ---- probes ----------------------------------------------------------------- */

void get_probes(ctx *c)
{
    if (!api_query_done(c) || !api_need_station(c))
        return;
    api_reply(c, 200, station_probes_json(c->a->st));
}

void get_probe(ctx *c)
{
    if (!api_query_done(c) || !api_need_station(c))
        return;
    json_t *j = station_probe_json(c->a->st, c->seg[2]);
    if (!j)
        api_fail(c, 404, "no probe with serial \"%s\"; GET /v1/probes lists them", c->seg[2]);
    else
        api_reply(c, 200, j);
}

void post_probe_verb(ctx *c)
{
    if (!api_query_done(c) || !api_need_station(c))
        return;
    const char *verb = c->seg[3];
    bool quarantine = strcmp(verb, "quarantine") == 0;
    static const char *const reason_only[] = {"reason", NULL};
    static const char *const none[] = {NULL};
    json_t *body = api_body_object(c, !quarantine);
    if (!body)
        return;
    if (!api_only_keys(c, body, quarantine ? reason_only : none, verb)) {
        json_decref(body);
        return;
    }
    const char *reason = NULL;
    if (quarantine) {
        json_t *r = json_object_get(body, "reason");
        if (!json_is_string(r) || json_string_length(r) == 0) {
            api_fail(c, 400, "quarantine needs {\"reason\": \"...\"}: say why, for the operator");
            json_decref(body);
            return;
        }
        reason = json_string_value(r);
    }
    char msg[MSG_LEN] = "", actor[API_ACTOR_LEN];
    api_actor_of(c, actor);
    station_err e =
        station_probe_control(c->a->st, c->seg[2], verb, reason, actor, msg, sizeof msg);
    json_decref(body);
    if (e != STATION_OK) {
        api_station_fail(c, e, msg);
        return;
    }
    json_t *j = station_probe_json(c->a->st, c->seg[2]);
    if (!j)
        api_fail(c, 500, "probe %s cannot be read back; GET /v1/probes", c->seg[2]);
    else
        api_reply(c, 200, j);
}
