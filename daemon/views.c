/* The JSON shapes of stored records (views.h). */
#include "views.h"

#include "iso8601.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

json_t *view_time(int64_t ms)
{
    char iso[ISO8601_LEN];
    return ms > 0 && iso8601_format(ms, iso) ? json_string(iso) : json_null();
}

json_t *view_str(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

json_t *view_unit(const store_unit *u)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(u->id));
    json_object_set_new(o, "job", json_integer(u->job_id));
    json_object_set_new(o, "probe", json_string(u->probe));
    json_object_set_new(o, "uid", json_string(u->uid));
    json_object_set_new(o, "chip", json_string(u->chip));
    /* A string: serial numbers outgrow what JavaScript reads exactly. */
    char sn[24];
    snprintf(sn, sizeof sn, "%" PRId64, u->serial);
    json_object_set_new(o, "serial_number", u->has_serial ? json_string(sn) : json_null());
    json_object_set_new(o, "image", json_string(u->image));
    json_object_set_new(o, "result", json_string(u->result));
    json_object_set_new(o, "error", view_str(u->error));
    json_object_set_new(o, "started_at", view_time(u->started_ms));
    json_object_set_new(o, "finished_at", view_time(u->finished_ms));
    json_object_set_new(o, "attempts", json_integer(u->attempts));
    json_object_set_new(o, "recovery_steps", json_integer(u->recovery_steps));
    return o;
}

void view_copy_utf8(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);
    if (len >= n) {
        len = n - 1;
        /* Back over continuation bytes (10xxxxxx) to a character's start;
         * that lead byte's character did not fit whole, so drop it too. */
        if ((unsigned char)src[len] >= 0x80) {
            while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
                len--;
        }
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}
