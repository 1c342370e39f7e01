/*
 * flashline submit: upload an image, start a job on the daemon, and with
 * --wait follow it to its end. The client reads the file and sends its
 * bytes because the daemon never opens a path on a client's behalf (it
 * may not even see the same file system).
 */
#include "chips.h"
#include "cli.h"
#include "client.h"
#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A number from the command line: decimal, or hex with 0x. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static bool one_of(const char *v, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(v, *names) == 0)
            return true;
    return false;
}

int cli_serial_spec(const char *spec, json_t **out, char *err, size_t errsize)
{
    *out = NULL;
    char buf[256];
    if (strlen(spec) >= sizeof buf) {
        snprintf(err, errsize, "--serial: too long");
        return CLI_USAGE;
    }
    strcpy(buf, spec);
    /* Split by hand: strtok would merge "a::b" into two fields. */
    char *f[6];
    int n = 0;
    for (char *p = buf;; n++) {
        if (n == 6)
            break;
        f[n] = p;
        char *c = strchr(p, ':');
        if (!c) {
            n++;
            break;
        }
        *c = '\0';
        p = c + 1;
    }
    if (n < 2 || n > 5) {
        snprintf(err, errsize, "--serial '%s': expected ADDR:FORMAT[:START[:STEP][:WIDTH]]", spec);
        return CLI_USAGE;
    }
    uint64_t addr, start, step = 1, width;
    if (!parse_u64(f[0], UINT32_MAX, &addr)) {
        snprintf(err, errsize, "--serial: '%s' is not an address", f[0]);
        return CLI_USAGE;
    }
    static const char *const formats[] = {"u32le", "ascii-dec", "ascii-hex", NULL};
    if (!one_of(f[1], formats)) {
        snprintf(err, errsize, "--serial: format '%s' is not u32le, ascii-dec or ascii-hex", f[1]);
        return CLI_USAGE;
    }
    bool u32 = strcmp(f[1], "u32le") == 0;
    width = u32 ? 4 : 8;
    /* No START: the job continues its serial series where it stands. */
    bool has_start = n > 2;
    if (has_start && !parse_u64(f[2], u32 ? UINT32_MAX : INT64_MAX, &start)) {
        snprintf(err, errsize, "--serial: start '%s' is not a number%s", f[2],
                 u32 ? " that fits 32 bits" : "");
        return CLI_USAGE;
    }
    if (n > 3 && (!parse_u64(f[3], UINT32_MAX, &step) || step == 0)) {
        snprintf(err, errsize, "--serial: step '%s' is not a positive number", f[3]);
        return CLI_USAGE;
    }
    /* u32le is four bytes by definition; an ASCII number wider than a
     * 64-bit value's 20 digits only pads. */
    if (n > 4 && (!parse_u64(f[4], 64, &width) || width == 0 || (u32 && width != 4))) {
        snprintf(err, errsize, "--serial: width '%s' is not %s", f[4],
                 u32 ? "4 (u32le is four bytes)" : "1..64");
        return CLI_USAGE;
    }
    if (addr % (u32 ? 4 : 1) != 0) {
        snprintf(err, errsize, "--serial: a u32le serial needs a 4-byte aligned address");
        return CLI_USAGE;
    }
    char a[24];
    snprintf(a, sizeof a, "0x%08" PRIX64, addr);
    *out = json_pack("{s:s, s:I, s:s, s:I}", "addr", a, "width", (json_int_t)width, "format", f[1],
                     "step", (json_int_t)step);
    if (*out && has_start)
        json_object_set_new(*out, "start", json_integer((json_int_t)start));
    if (!*out) {
        snprintf(err, errsize, "out of memory");
        return CLI_FAILED;
    }
    return CLI_OK;
}

enum {
    O_CHIP,
    O_FAMILY,
    O_COUNT,
    O_CONTINUOUS,
    O_SERIAL,
    O_PROBES,
    O_ERASE,
    O_VERIFY,
    O_RDP,
    O_CONFIRM,
    O_NO_RUN,
    O_NAME,
    O_SERIES,
    O_BASE,
    O_FORMAT,
    O_WAIT,
    O_N
};

static int bad(const char *why, const char *v)
{
    fprintf(stderr, "flashline submit: %s%s%s%s\n", why, v ? " '" : "", v ? v : "", v ? "'" : "");
    return CLI_USAGE;
}

/* A family the chip table holds ("f1", "STM32F1"). */
static bool known_family(const char *name)
{
    for (size_t i = 0; fl_chip_at(i); i++)
        if (fl_chip_matches_family(fl_chip_at(i), name))
            return true;
    return false;
}

static int parse_choices(const char **v, submit_args *a, json_t *r)
{
    static const char *const erases[] = {"auto", "chip", NULL};
    static const char *const verifies[] = {"crc", "read", "none", NULL};
    static const char *const formats[] = {"auto", "bin", "ihex", "srec", "elf", NULL};
    if (!v[O_CHIP] == !v[O_FAMILY])
        return bad("give exactly one of --chip NAME and --family NAME (flashline chips lists "
                   "both)",
                   NULL);
    if (v[O_CHIP] && !*v[O_CHIP])
        return bad("--chip needs a chip name", NULL);
    if (v[O_FAMILY] && !known_family(v[O_FAMILY])) {
        char lines[200];
        fl_lines_list(lines, sizeof lines, true);
        fprintf(stderr, "flashline submit: --family is one of %s, not '%s'\n", lines, v[O_FAMILY]);
        return CLI_USAGE;
    }
    if (v[O_ERASE] && !one_of(v[O_ERASE], erases))
        return bad("--erase is auto or chip, not", v[O_ERASE]);
    if (v[O_VERIFY] && !one_of(v[O_VERIFY], verifies))
        return bad("--verify is crc, read or none, not", v[O_VERIFY]);
    if (v[O_FORMAT] && !one_of(v[O_FORMAT], formats))
        return bad("--format is bin, ihex, srec or elf, not", v[O_FORMAT]);
    if (v[O_RDP] && strcmp(v[O_RDP], "0") != 0 && strcmp(v[O_RDP], "1") != 0)
        return bad("--rdp is 0 or 1 (level 2 is permanent and not offered), not", v[O_RDP]);
    if (v[O_CONFIRM] && !v[O_RDP])
        return bad("--confirm goes with --rdp (it confirms an option-byte write), not alone:",
                   v[O_CONFIRM]);
    a->format = v[O_FORMAT] ? v[O_FORMAT] : "auto";
    if (v[O_CHIP])
        json_object_set_new(r, "chip", json_string(v[O_CHIP]));
    else
        json_object_set_new(r, "family", json_string(v[O_FAMILY]));
    json_object_set_new(r, "erase", json_string(v[O_ERASE] ? v[O_ERASE] : "auto"));
    json_object_set_new(r, "verify", json_string(v[O_VERIFY] ? v[O_VERIFY] : "crc"));
    json_object_set_new(r, "reset_run", json_boolean(!v[O_NO_RUN]));
    if (v[O_RDP]) {
        json_t *ob = json_pack("{s:i}", "rdp", atoi(v[O_RDP]));
        if (v[O_CONFIRM])
            json_object_set_new(ob, "confirm", json_string(v[O_CONFIRM]));
        json_object_set_new(r, "option_bytes", ob);
    }
    if (v[O_NAME])
        json_object_set_new(r, "name", json_string(v[O_NAME]));
    return CLI_OK;
}

static int parse_numbers(const char **v, submit_args *a, json_t *r)
{
    if (v[O_COUNT] && v[O_CONTINUOUS])
        return bad("give --count N or --continuous, not both", NULL);
    uint64_t n = 1;
    /* No count is one board: the least surprising amount of work. */
    if (v[O_COUNT] && (!parse_u64(v[O_COUNT], INT32_MAX, &n) || n == 0))
        return bad("--count is a positive number, not", v[O_COUNT]);
    if (v[O_CONTINUOUS])
        json_object_set_new(r, "continuous", json_true());
    else
        json_object_set_new(r, "count", json_integer((json_int_t)n));
    a->base[0] = '\0';
    if (v[O_BASE]) {
        uint64_t base;
        if (!parse_u64(v[O_BASE], UINT32_MAX, &base))
            return bad("--base is an address, not", v[O_BASE]);
        snprintf(a->base, sizeof a->base, "0x%08" PRIX64, base);
    }
    if (v[O_SERIAL]) {
        json_t *s = NULL;
        char err[256];
        int code = cli_serial_spec(v[O_SERIAL], &s, err, sizeof err);
        if (code != CLI_OK) {
            fprintf(stderr, "flashline submit: %s\n", err);
            return code;
        }
        if (v[O_SERIES])
            json_object_set_new(s, "series", json_string(v[O_SERIES]));
        json_object_set_new(r, "serial", s);
    } else if (v[O_SERIES]) {
        return bad("--series names the series of --serial; give --serial too, not alone:",
                   v[O_SERIES]);
    }
    if (v[O_PROBES]) {
        json_t *list = json_array();
        json_object_set_new(r, "probes", list);
        const char *p = v[O_PROBES];
        for (;;) {
            size_t len = strcspn(p, ",");
            if (len == 0)
                return bad("--probes is SERIAL[,SERIAL…] with no empty names, not", v[O_PROBES]);
            json_array_append_new(list, json_stringn(p, len));
            if (!p[len])
                break;
            p += len + 1;
        }
    }
    return CLI_OK;
}

int cli_submit_parse(int argc, char **argv, cli_opts *o, submit_args *a)
{
    static const cli_optspec spec[] = {
        [O_CHIP] = {"--chip", true},
        [O_FAMILY] = {"--family", true},
        [O_COUNT] = {"--count", true},
        [O_CONTINUOUS] = {"--continuous", false},
        [O_SERIAL] = {"--serial", true},
        [O_PROBES] = {"--probes", true},
        [O_ERASE] = {"--erase", true},
        [O_VERIFY] = {"--verify", true},
        [O_RDP] = {"--rdp", true},
        [O_CONFIRM] = {"--confirm", true},
        [O_NO_RUN] = {"--no-run", false},
        [O_NAME] = {"--name", true},
        [O_SERIES] = {"--series", true},
        [O_BASE] = {"--base", true},
        [O_FORMAT] = {"--format", true},
        [O_WAIT] = {"--wait", false},
        [O_N] = {NULL, false},
    };
    memset(a, 0, sizeof *a);
    const char *v[O_N], *pos[1];
    int npos = 0;
    int code = cli_parse("submit", argc, argv, spec, v, o, pos, 1, &npos);
    if (code != CLI_OK)
        return code;
    if (npos != 1)
        return bad("which image? submit IMAGE --chip NAME|--family F [options]", NULL);
    a->image_path = pos[0];
    a->wait = v[O_WAIT] != NULL;
    a->recipe = json_object();
    if (!a->recipe)
        return CLI_FAILED;
    code = parse_choices(v, a, a->recipe);
    if (code == CLI_OK)
        code = parse_numbers(v, a, a->recipe);
    if (code != CLI_OK) {
        json_decref(a->recipe);
        a->recipe = NULL;
    }
    return code;
}

/* The whole file: images are at most a few MiB and the upload needs them
 * in one piece anyway. */
static int read_image(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "flashline submit: %s: %s\n", path, strerror(errno));
        return CLI_BAD_IMAGE;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *b = realloc(buf, cap * 2);
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
        cap *= 2;
    }
    bool failed = !buf || ferror(f);
    int err = errno;
    fclose(f);
    if (failed) {
        fprintf(stderr, "flashline submit: %s: %s\n", path, buf ? strerror(err) : "out of memory");
        free(buf);
        return buf ? CLI_BAD_IMAGE : CLI_FAILED;
    }
    *data = buf;
    *len = n;
    return CLI_OK;
}

static int upload(const cli_opts *o, const submit_args *a, char sha[65])
{
    char *data = NULL;
    size_t len = 0;
    int code = read_image(a->image_path, &data, &len);
    if (code != CLI_OK)
        return code;
    char path[128] = "/v1/images";
    cl_query_add(path, sizeof path, "format", a->format);
    if (a->base[0])
        cl_query_add(path, sizeof path, "base", a->base);
    const char *socket = cli_socket(o);
    cl_request req = {.socket = socket,
                      .method = "POST",
                      .path = path,
                      .content_type = "application/octet-stream",
                      .body = data,
                      .body_len = len};
    cl_response resp;
    cl_err e = cl_perform(&req, &resp);
    free(data);
    json_t *s = json_object_get(resp.json, "sha256");
    if (e == CL_OK && (!json_is_string(s) || strlen(json_string_value(s)) != 64)) {
        e = CL_BAD_REPLY;
        snprintf(resp.message, sizeof resp.message, "POST /v1/images: no sha256 in the answer");
    }
    if (e == CL_HTTP && (resp.status == 400 || resp.status == 413 || resp.status == 422)) {
        /* The daemon's parser refused the file: the same verdict, and the
         * same exit code, as `flashline flash` gives for it. */
        fprintf(stderr, "flashline submit: %s: %s\n", a->image_path, resp.message);
        cl_response_free(&resp);
        return CLI_BAD_IMAGE;
    }
    code = cl_report("submit", socket, e, &resp);
    if (code == CLI_OK)
        memcpy(sha, json_string_value(s), 65);
    cl_response_free(&resp);
    return code;
}

static json_int_t num(json_t *job, const char *key)
{
    return json_integer_value(json_object_get(job, key));
}

/* "job 3 running: 12/50 ok, 0 failed, 1 interrupted, 2 in flight" */
static void progress_line(json_t *job, char *buf, size_t size)
{
    char count[32] = "";
    if (json_is_integer(json_object_get(job, "count")))
        snprintf(count, sizeof count, "/%" JSON_INTEGER_FORMAT, num(job, "count"));
    snprintf(buf, size,
             "job %" JSON_INTEGER_FORMAT " %s: %" JSON_INTEGER_FORMAT "%s ok, %" JSON_INTEGER_FORMAT
             " failed, %" JSON_INTEGER_FORMAT " interrupted, %" JSON_INTEGER_FORMAT " in flight",
             num(job, "id"), json_string_value(json_object_get(job, "state")), num(job, "ok"),
             count, num(job, "failed"), num(job, "interrupted"), num(job, "in_flight"));
}

static bool ended(json_t *job)
{
    const char *st = json_string_value(json_object_get(job, "state"));
    return st && (strcmp(st, "done") == 0 || strcmp(st, "cancelled") == 0);
}

/* Polls the job until it ends; progress lines go to stdout, or to stderr
 * under --json so that stdout stays one JSON document (the final job). */
static int wait_for(const cli_opts *o, json_t *job)
{
    FILE *to = o->json ? stderr : stdout;
    char path[64], last[256] = "", line[256];
    snprintf(path, sizeof path, "/v1/jobs/%" JSON_INTEGER_FORMAT, num(job, "id"));
    json_incref(job);
    for (;;) {
        progress_line(job, line, sizeof line);
        if (strcmp(line, last) != 0) {
            fprintf(to, "%s\n", line);
            strcpy(last, line);
        }
        if (ended(job))
            break;
        struct timespec half = {0, 500000000L};
        nanosleep(&half, NULL);
        json_t *next = NULL;
        int code = cl_call(o, "submit", "GET", path, NULL, &next);
        if (code != CLI_OK) {
            json_decref(job);
            return code;
        }
        json_decref(job);
        job = next;
    }
    if (o->json)
        out_json(job);
    bool ok = strcmp(json_string_value(json_object_get(job, "state")), "done") == 0 &&
              num(job, "failed") == 0;
    json_decref(job);
    return ok ? CLI_OK : CLI_FAILED;
}

int cmd_submit(const cli_opts *global, int argc, char **argv)
{
    cli_opts o = *global;
    submit_args a;
    int code = cli_submit_parse(argc, argv, &o, &a);
    if (code != CLI_OK)
        return code;
    char sha[65];
    code = upload(&o, &a, sha);
    json_t *job = NULL;
    if (code == CLI_OK) {
        json_object_set_new(a.recipe, "image", json_string(sha));
        code = cl_call(&o, "submit", "POST", "/v1/jobs", a.recipe, &job);
    }
    json_decref(a.recipe);
    if (code != CLI_OK)
        return code;
    if (!json_is_integer(json_object_get(job, "id"))) {
        fprintf(stderr, "flashline submit: unexpected answer from flashlined: no job id\n");
        json_decref(job);
        return CLI_FAILED;
    }
    if (a.wait) {
        if (!o.json)
            printf("%" JSON_INTEGER_FORMAT "\n", num(job, "id"));
        code = wait_for(&o, job);
    } else if (o.json) {
        out_json(job);
    } else {
        printf("%" JSON_INTEGER_FORMAT "\n", num(job, "id"));
    }
    json_decref(job);
    return code;
}
