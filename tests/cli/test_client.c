/*
 * The flashline client against docs/api.md: the pure pieces (--serial
 * specs, recipes, timelines, status -> exit code), and the commands
 * against a fake daemon. The fake is a forked child with a plain POSIX
 * Unix socket that answers canned HTTP replies and writes down each
 * request it got, so the test checks what the client really sent.
 */
#include "cli.h"
#include "client.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/* ---- fixtures ---------------------------------------------------------- */

typedef struct reply {
    int status;
    const char *type;
    const char *body;
} reply;

typedef struct fake {
    char dir[64];
    char sock[96];
    pid_t pid;
} fake;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            b = realloc(b, (cap *= 2) + 1);
    }
    fclose(f);
    b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

/* One request off the connection: headers, then Content-Length bytes. */
static char *read_request(int c, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    size_t want = SIZE_MAX;
    while (n < want) {
        if (n == cap)
            b = realloc(b, cap *= 2);
        ssize_t r = read(c, b + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        if (want == SIZE_MAX) {
            b[n < cap ? n : cap - 1] = '\0';
            char *end = strstr(b, "\r\n\r\n");
            if (end) {
                char *cl = strstr(b, "Content-Length: ");
                size_t body = cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
                want = (size_t)(end + 4 - b) + body;
            }
        }
    }
    *len = n;
    return b;
}

static void fake_start(fake *f, const reply *replies, int n)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/fl_client_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->sock, sizeof f->sock, "%s/api.sock", f->dir);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", f->sock);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 8), 0);
    fflush(NULL);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        alarm(20); /* a client that never comes must not hang the suite */
        signal(SIGPIPE, SIG_IGN);
        for (int i = 0; i < n; i++) {
            int c = accept(l, NULL, NULL);
            if (c < 0)
                _exit(3);
            size_t len;
            char *req = read_request(c, &len), path[160];
            snprintf(path, sizeof path, "%s/req%d", f->dir, i);
            FILE *out = fopen(path, "wb");
            fwrite(req, 1, len, out);
            fclose(out);
            free(req);
            char head[256];
            /* An event stream has no length: it ends when the daemon closes it. */
            bool stream = strcmp(replies[i].type, "text/event-stream") == 0;
            int hl = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Type: %s\r\n",
                              replies[i].status, replies[i].type);
            if (!stream)
                hl += snprintf(head + hl, sizeof head - (size_t)hl, "Content-Length: %zu\r\n",
                               strlen(replies[i].body));
            hl += snprintf(head + hl, sizeof head - (size_t)hl, "Connection: close\r\n\r\n");
            if (write(c, head, (size_t)hl) < 0 ||
                write(c, replies[i].body, strlen(replies[i].body)) < 0)
                _exit(4);
            close(c);
        }
        _exit(0);
    }
    close(l);
}

/* Waits for the fake to have served every reply. */
static void fake_end(fake *f)
{
    int st = 0;
    assert_int_equal(waitpid(f->pid, &st, 0), f->pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static char *fake_request(const fake *f, int i, size_t *len)
{
    char path[160];
    snprintf(path, sizeof path, "%s/req%d", f->dir, i);
    char *r = slurp(path, len);
    assert_non_null(r);
    return r;
}

static void fake_clean(const fake *f)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
}

/* The JSON body of a recorded request. */
static json_t *request_json(const char *req)
{
    const char *body = strstr(req, "\r\n\r\n");
    assert_non_null(body);
    json_error_t err;
    json_t *j = json_loads(body + 4, 0, &err);
    if (!j)
        fail_msg("request body is not JSON: %s (%s)", err.text, body + 4);
    return j;
}

static void assert_starts(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("expected '%s' to start with '%s'", s, prefix);
}

static void assert_has(const char *s, const char *part)
{
    if (!strstr(s, part))
        fail_msg("expected '%s' in:\n%s", part, s);
}

/* stdout and stderr of a command, through files. */
typedef struct capture {
    int saved[2];
    char path[2][96];
} capture;

static void capture_begin(capture *c)
{
    fflush(NULL);
    for (int k = 0; k < 2; k++) {
        snprintf(c->path[k], sizeof c->path[k], "/tmp/fl_client_out%d_%d", k, (int)getpid());
        int fd = open(c->path[k], O_WRONLY | O_CREAT | O_TRUNC, 0600);
        c->saved[k] = dup(k + 1);
        dup2(fd, k + 1);
        close(fd);
    }
}

static void capture_end(capture *c, char **out, char **err)
{
    fflush(NULL);
    for (int k = 0; k < 2; k++) {
        dup2(c->saved[k], k + 1);
        close(c->saved[k]);
    }
    *out = slurp(c->path[0], NULL);
    *err = slurp(c->path[1], NULL);
    unlink(c->path[0]);
    unlink(c->path[1]);
}

typedef int (*command_fn)(const cli_opts *o, int argc, char **argv);

/* Runs a command as `flashline [--json] ARGS… --socket SOCK`. */
static int run(command_fn fn, bool json, const char *sock, char **out, char **err, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, err);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc++] = "--socket";
    argv[argc++] = (char *)sock;
    argv[argc] = NULL;
    cli_opts o = {.json = json};
    capture c;
    capture_begin(&c);
    int code = fn(&o, argc, argv);
    capture_end(&c, out, err);
    return code;
}

/* ---- pure pieces ------------------------------------------------------- */

static void test_status_to_exit_code(void **state)
{
    (void)state;
    assert_int_equal(cl_exit_for_status(200), CLI_OK);
    assert_int_equal(cl_exit_for_status(201), CLI_OK);
    assert_int_equal(cl_exit_for_status(404), CLI_NOT_FOUND);
    static const long refused[] = {400, 401, 403, 405, 409, 413, 422};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(cl_exit_for_status(refused[i]), CLI_REFUSED);
    assert_int_equal(cl_exit_for_status(500), CLI_FAILED);
    assert_int_equal(cl_exit_for_status(503), CLI_FAILED);
    assert_int_equal(cl_exit_for(CL_NO_DAEMON, 0), CLI_UNREACHABLE);
    assert_int_equal(cl_exit_for(CL_DENIED, 0), CLI_UNREACHABLE);
    assert_int_equal(cl_exit_for(CL_HTTP, 409), CLI_REFUSED);
    assert_int_equal(cl_exit_for(CL_TRANSPORT, 0), CLI_FAILED);
    assert_int_equal(cl_exit_for(CL_BAD_REPLY, 200), CLI_FAILED);
}

static void check_serial(const char *spec, const char *addr, int width, const char *format,
                         long long start, long long step)
{
    json_t *s = NULL;
    char err[256] = "";
    int code = cli_serial_spec(spec, &s, err, sizeof err);
    if (code != CLI_OK)
        fail_msg("%s: %s", spec, err);
    assert_string_equal(json_string_value(json_object_get(s, "addr")), addr);
    assert_int_equal(json_integer_value(json_object_get(s, "width")), width);
    assert_string_equal(json_string_value(json_object_get(s, "format")), format);
    assert_int_equal(json_integer_value(json_object_get(s, "start")), start);
    assert_int_equal(json_integer_value(json_object_get(s, "step")), step);
    assert_int_equal(json_object_size(s), 5);
    json_decref(s);
}

/* No START: the job continues its series, so the request has no "start". */
static void check_continue(const char *spec, const char *addr)
{
    json_t *s = NULL;
    char err[256] = "";
    assert_int_equal(cli_serial_spec(spec, &s, err, sizeof err), CLI_OK);
    assert_string_equal(json_string_value(json_object_get(s, "addr")), addr);
    assert_null(json_object_get(s, "start"));
    assert_int_equal(json_object_size(s), 4);
    json_decref(s);
}

static void test_serial_spec(void **state)
{
    (void)state;
    check_serial("0x0800FC00:u32le:1000", "0x0800FC00", 4, "u32le", 1000, 1);
    check_serial("0x0800fc00:u32le:0x10:2:4", "0x0800FC00", 4, "u32le", 16, 2);
    check_serial("134282240:ascii-dec:5:3:10", "0x0800FC00", 10, "ascii-dec", 5, 3);
    check_serial("0x08007F00:ascii-hex:1", "0x08007F00", 8, "ascii-hex", 1, 1);
    check_serial("0x08007F01:ascii-dec:7:1", "0x08007F01", 8, "ascii-dec", 7, 1);
    check_continue("0x0800FC00:u32le", "0x0800FC00");
    static const char *const bad[] = {
        "",
        "0x0800FC00",
        "zz:u32le:1",
        "zz:u32le",
        "0x0800FC00:u16:1",
        "0x0800FC00:u32le:-1",
        "0x0800FC00:u32le:4294967296", /* does not fit u32 */
        "0x0800FC00:u32le:1:0",        /* step 0 writes one number forever */
        "0x0800FC00:u32le:1:1:2",      /* u32le is 4 bytes */
        "0x0800FC01:u32le:1",          /* unaligned word */
        "0x0800FC00:ascii-dec:1:1:0",
        "0x0800FC00:ascii-dec:1:1:65",
        "0x0800FC00:ascii-dec:1:1:8:9",
        "0x100000000:u32le:1",
        "0x0800FC00::1",
        "0x0800FC00:u32le:1x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *s = NULL;
        char err[256] = "";
        if (cli_serial_spec(bad[i], &s, err, sizeof err) != CLI_USAGE)
            fail_msg("'%s' accepted", bad[i]);
        assert_null(s);
        assert_has(err, "--serial");
    }
}

/* cli_submit_parse on a command line given as one string. */
static int parse_submit(const char *line, submit_args *a, cli_opts *o)
{
    static char buf[512];
    char *argv[32];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    capture c;
    capture_begin(&c);
    int code = cli_submit_parse(argc, argv, o, a);
    char *out, *err;
    capture_end(&c, &out, &err);
    if (code == CLI_USAGE)
        assert_starts(err, "flashline submit: ");
    else
        assert_string_equal(err, "");
    free(out);
    free(err);
    return code;
}

static void test_submit_recipe(void **state)
{
    (void)state;
    submit_args a;
    cli_opts o = {0};
    assert_int_equal(parse_submit("submit fw.hex --family f4 --count 50 --serial "
                                  "0x0800FC00:u32le:1000 --probes A1,B2 --erase chip --verify "
                                  "read --rdp 1 --no-run --name revC --base 0x8000000 --format "
                                  "ihex --wait --json --socket /x/s",
                                  &a, &o),
                     CLI_OK);
    assert_string_equal(a.image_path, "fw.hex");
    assert_string_equal(a.format, "ihex");
    assert_string_equal(a.base, "0x08000000");
    assert_true(a.wait);
    assert_true(o.json);
    assert_string_equal(o.socket, "/x/s");
    json_t *want =
        json_pack("{s:s, s:i, s:s, s:s, s:{s:s,s:i,s:s,s:i,s:i}, s:{s:i}, s:b, s:[s,s], s:s}",
                  "family", "f4", "count", 50, "erase", "chip", "verify", "read", "serial", "addr",
                  "0x0800FC00", "width", 4, "format", "u32le", "start", 1000, "step", 1,
                  "option_bytes", "rdp", 1, "reset_run", 0, "probes", "A1", "B2", "name", "revC");
    if (!json_equal(a.recipe, want)) {
        char *got = json_dumps(a.recipe, JSON_SORT_KEYS);
        fail_msg("recipe: %s", got);
    }
    json_decref(want);
    json_decref(a.recipe);

    /* The defaults: one unit, auto erase, CRC verify, run after. */
    cli_opts o2 = {0};
    assert_int_equal(parse_submit("submit fw.bin --chip stm32f103rb", &a, &o2), CLI_OK);
    want = json_pack("{s:s, s:i, s:s, s:s, s:b}", "chip", "stm32f103rb", "count", 1, "erase",
                     "auto", "verify", "crc", "reset_run", 1);
    assert_true(json_equal(a.recipe, want));
    assert_string_equal(a.format, "auto");
    assert_string_equal(a.base, "");
    assert_false(a.wait);
    json_decref(want);
    json_decref(a.recipe);

    assert_int_equal(parse_submit("submit fw.bin --chip x --continuous", &a, &o2), CLI_OK);
    assert_true(json_is_true(json_object_get(a.recipe, "continuous")));
    assert_null(json_object_get(a.recipe, "count"));
    json_decref(a.recipe);

    /* An RDP write confirmed for a TrustZone part. */
    assert_int_equal(
        parse_submit("submit fw.bin --chip stm32u585zi --rdp 1 --confirm trustzone", &a, &o2),
        CLI_OK);
    want = json_pack("{s:i, s:s}", "rdp", 1, "confirm", "trustzone");
    assert_true(json_equal(json_object_get(a.recipe, "option_bytes"), want));
    json_decref(want);
    json_decref(a.recipe);

    /* A named series, continued (no START) */
    assert_int_equal(
        parse_submit("submit fw.bin --chip x --serial 0x0800FC00:u32le --series board-A", &a, &o2),
        CLI_OK);
    json_t *ser = json_object_get(a.recipe, "serial");
    assert_string_equal(json_string_value(json_object_get(ser, "series")), "board-A");
    assert_null(json_object_get(ser, "start"));
    json_decref(a.recipe);

    static const char *const bad[] = {
        "submit --chip x",
        "submit a b --chip x",
        "submit fw.bin",
        "submit fw.bin --chip x --family f1",
        "submit fw.bin --family f9",
        "submit fw.bin --chip x --count 0",
        "submit fw.bin --chip x --count -3",
        "submit fw.bin --chip x --count 5 --continuous",
        "submit fw.bin --chip x --erase sector",
        "submit fw.bin --chip x --verify maybe",
        "submit fw.bin --chip x --rdp 2",
        "submit fw.bin --chip x --confirm trustzone",
        "submit fw.bin --chip x --format hex",
        "submit fw.bin --chip x --base 0x1000000000",
        "submit fw.bin --chip x --probes A,,B",
        "submit fw.bin --chip x --probes A,",
        "submit fw.bin --chip x --serial 0x0800FC00",
        "submit fw.bin --chip x --series board-A",
        "submit fw.bin --chip x --bogus",
        "submit fw.bin --chip x --no-run=1",
        "submit fw.bin --chip",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a.recipe = NULL;
        if (parse_submit(bad[i], &a, &o2) != CLI_USAGE)
            fail_msg("'%s' accepted", bad[i]);
        assert_null(a.recipe);
    }
}

static void test_query_escape(void **state)
{
    (void)state;
    char p[96] = "/v1/units";
    assert_true(cl_query_add(p, sizeof p, "uid", "AB 12/&"));
    assert_true(cl_query_add(p, sizeof p, "since", "2026-11-25T15:40:00.123Z"));
    assert_string_equal(p, "/v1/units?uid=AB%2012%2F%26&since=2026-11-25T15%3A40%3A00.123Z");
    char small[16] = "/v1/units";
    assert_false(cl_query_add(small, sizeof small, "uid", "0123456789"));
    assert_string_equal(small, "/v1/units");
}

static const char unit_detail[] =
    "{\"id\": 117, \"job\": 3, \"probe\": \"P1\", \"uid\": \"0123456789ABCDEF01234567\","
    " \"chip\": \"stm32f103rb\", \"serial_number\": \"1014\", \"image\": \"ab\","
    " \"result\": \"ok\", \"error\": null, \"started_at\": \"2026-11-25T15:40:00.000Z\","
    " \"finished_at\": \"2026-11-25T15:40:09.000Z\", \"recovery_steps\": 1, \"attempts\": ["
    "  {\"n\": 1, \"started_at\": \"2026-11-25T15:40:00.100Z\","
    "   \"finished_at\": \"2026-11-25T15:40:03.000Z\", \"result\": \"failed\","
    "   \"state\": \"program\", \"error\": \"probe stopped answering\", \"recovery\": ["
    "    {\"at\": \"2026-11-25T15:40:02.000Z\", \"step\": \"USB reset of the probe, found again "
    "by serial\", \"ok\": true},"
    "    {\"at\": \"2026-11-25T15:40:03.050Z\", \"step\": \"connect under reset\", \"ok\": true}]},"
    "  {\"n\": 2, \"started_at\": \"2026-11-25T15:40:03.100Z\","
    "   \"finished_at\": \"2026-11-25T15:40:08.900Z\", \"result\": \"ok\", \"state\": \"done\","
    "   \"error\": null, \"recovery\": []}],"
    " \"actions\": [{\"at\": \"2026-11-25T15:39:00.000Z\", \"actor\": \"uid:1000\","
    "   \"verb\": \"job.create\", \"target\": {\"kind\": \"job\", \"id\": \"3\"}, \"detail\": {}},"
    "  {\"at\": \"2026-11-25T15:40:05.000Z\", \"actor\": \"tcp-token\","
    "   \"verb\": \"probe.quarantine\", \"target\": {\"kind\": \"probe\", \"id\": \"P1\"},"
    "   \"detail\": {\"reason\": \"bent pin\"}}]}";

static void test_unit_timeline(void **state)
{
    (void)state;
    json_t *u = json_loads(unit_detail, 0, NULL);
    assert_non_null(u);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cli_unit_timeline(u, f);
    fclose(f);
    const char *want =
        "unit 117: ok (uid 0123456789ABCDEF01234567, chip stm32f103rb, serial number 1014, job 3, "
        "probe P1)\n"
        "  2026-11-25T15:40:00.000Z  unit started\n"
        "  2026-11-25T15:40:00.100Z  attempt 1 started\n"
        "  2026-11-25T15:40:02.000Z    recovery: USB reset of the probe, found again by serial "
        "(ok)\n"
        "  2026-11-25T15:40:03.000Z  attempt 1 failed in program: probe stopped answering\n"
        "  2026-11-25T15:40:03.050Z    recovery: connect under reset (ok)\n"
        "  2026-11-25T15:40:03.100Z  attempt 2 started\n"
        "  2026-11-25T15:40:08.900Z  attempt 2 ok\n"
        "  2026-11-25T15:40:09.000Z  unit ok\n"
        "who did what:\n"
        "  2026-11-25T15:39:00.000Z  uid:1000: job.create job 3\n"
        "  2026-11-25T15:40:05.000Z  tcp-token: probe.quarantine probe P1 (bent pin)\n";
    assert_string_equal(text, want);
    free(text);
    json_decref(u);
}

/* ---- against a socket -------------------------------------------------- */

static void test_missing_socket(void **state)
{
    (void)state;
    char *out, *err;
    int code = run(cmd_jobs, false, "/nonexistent/flashline/api.sock", &out, &err, "jobs", NULL);
    assert_int_equal(code, CLI_UNREACHABLE);
    assert_string_equal(out, "");
    assert_starts(err,
                  "flashline jobs: cannot reach flashlined at /nonexistent/flashline/api.sock");
    assert_has(err, "start it");
    assert_has(err, "--socket PATH");
    free(out);
    free(err);

    /* A socket file nobody listens on: refused, the same answer. */
    fake f;
    snprintf(f.dir, sizeof f.dir, "/tmp/fl_client_XXXXXX");
    assert_non_null(mkdtemp(f.dir));
    snprintf(f.sock, sizeof f.sock, "%s/api.sock", f.dir);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", f.sock);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    close(l);
    code = run(cmd_submit, false, f.sock, &out, &err, "submit", "/dev/null", "--chip", "x", NULL);
    assert_int_equal(code, CLI_UNREACHABLE);
    assert_has(err, "flashline submit: cannot reach flashlined at ");
    free(out);
    free(err);
    fake_clean(&f);
}

static const char image_reply[] =
    "{\"sha256\": \"5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef\","
    " \"format\": \"bin\", \"size\": 5, \"segments\": [{\"addr\": \"0x08000000\", \"len\": 5}]}";

static char *job_reply(const char *state, int ok, int failed)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"id\": 3, \"name\": \"rev C\", \"state\": \"%s\", \"image\": \"5f70\", \"chip\": "
             "\"stm32f103rb\", \"family\": null, \"count\": 2, \"continuous\": false, \"erase\": "
             "\"auto\", \"verify\": \"crc\", \"reset_run\": true, \"serial\": null, "
             "\"option_bytes\": null, \"probes\": [\"P1\"], \"ok\": %d, \"failed\": %d, "
             "\"interrupted\": 0, \"in_flight\": 0, \"next_serial\": null, \"created_at\": "
             "\"2026-11-25T15:40:00.123Z\", \"finished_at\": null, \"submitted_by_uid\": 1000}",
             state, ok, failed);
    return strdup(buf);
}

static void test_submit_sends_image_then_recipe(void **state)
{
    (void)state;
    char img[] = "/tmp/fl_client_img_XXXXXX";
    int fd = mkstemp(img);
    assert_int_equal(write(fd, "\x01\x02\x00\xff\x7f", 5), 5);
    close(fd);
    char *job = job_reply("running", 0, 0);
    reply r[] = {{201, "application/json", image_reply}, {201, "application/json", job}};
    fake f;
    fake_start(&f, r, 2);
    char *out, *err;
    int code = run(cmd_submit, false, f.sock, &out, &err, "submit", img, "--chip", "stm32f103rb",
                   "--count", "2", "--base", "0x8000000", "--format", "bin", "--serial",
                   "0x0800FC00:ascii-dec:1000:1:6", "--name", "rev C", NULL);
    fake_end(&f);
    assert_string_equal(err, "");
    assert_int_equal(code, CLI_OK);
    assert_string_equal(out, "3\n");

    size_t len;
    char *req = fake_request(&f, 0, &len);
    assert_starts(req, "POST /v1/images?format=bin&base=0x08000000 HTTP/1.1\r\n");
    assert_has(req, "Content-Type: application/octet-stream\r\n");
    assert_has(req, "Content-Length: 5\r\n");
    assert_memory_equal(req + len - 5, "\x01\x02\x00\xff\x7f", 5);
    free(req);

    req = fake_request(&f, 1, &len);
    assert_starts(req, "POST /v1/jobs HTTP/1.1\r\n");
    assert_has(req, "Content-Type: application/json\r\n");
    json_t *body = request_json(req);
    assert_string_equal(json_string_value(json_object_get(body, "image")),
                        "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
    assert_string_equal(json_string_value(json_object_get(body, "chip")), "stm32f103rb");
    assert_int_equal(json_integer_value(json_object_get(body, "count")), 2);
    assert_string_equal(json_string_value(json_object_get(body, "name")), "rev C");
    json_t *serial = json_object_get(body, "serial");
    assert_int_equal(json_integer_value(json_object_get(serial, "width")), 6);
    assert_string_equal(json_string_value(json_object_get(serial, "format")), "ascii-dec");
    json_decref(body);
    free(req);
    free(out);
    free(err);
    free(job);
    fake_clean(&f);
    unlink(img);
}

static void submit_wait(int failed, int want_code)
{
    char *j0 = job_reply("running", 0, 0), *j1 = job_reply("running", 1, 0),
         *j2 = job_reply("done", 2 - failed, failed);
    reply r[] = {{201, "application/json", image_reply},
                 {201, "application/json", j0},
                 {200, "application/json", j1},
                 {200, "application/json", j2}};
    fake f;
    fake_start(&f, r, 4);
    char *out, *err;
    int code = run(cmd_submit, false, f.sock, &out, &err, "submit", "/dev/null", "--family", "f1",
                   "--wait", NULL);
    fake_end(&f);
    assert_int_equal(code, want_code);
    assert_starts(out, "3\njob 3 running: 0/2 ok, 0 failed, 0 interrupted, 0 in flight\n"
                       "job 3 running: 1/2 ok");
    assert_has(out, failed ? "job 3 done: 1/2 ok, 1 failed" : "job 3 done: 2/2 ok, 0 failed");
    for (int i = 2; i < 4; i++) {
        char *req = fake_request(&f, i, NULL);
        assert_starts(req, "GET /v1/jobs/3 HTTP/1.1\r\n");
        free(req);
    }
    free(out);
    free(err);
    free(j0);
    free(j1);
    free(j2);
    fake_clean(&f);
}

static void test_submit_wait(void **state)
{
    (void)state;
    submit_wait(0, CLI_OK);
    submit_wait(1, CLI_FAILED);
}

static void test_daemon_errors(void **state)
{
    (void)state;
    static const struct {
        command_fn fn;
        const char *cmd, *arg;
        int status;
        int want;
        const char *line;
    } cases[] = {
        {cmd_job, "job", "9", 404, CLI_NOT_FOUND, "GET /v1/jobs/9 "},
        {cmd_pause, "pause", "3", 409, CLI_REFUSED, "POST /v1/jobs/3/pause "},
        {cmd_cancel, "cancel", "3", 500, CLI_FAILED, "POST /v1/jobs/3/cancel "},
        {cmd_release, "release", "P 1", 404, CLI_NOT_FOUND, "POST /v1/probes/P%201/release "},
        {cmd_submit, "submit", "/dev/null", 400, CLI_BAD_IMAGE, "POST /v1/images?format=auto "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply r[] = {{cases[i].status, "application/json",
                      "{\"error\": {\"code\": \"x\", \"message\": \"the daemon says no\"}}"}};
        fake f;
        fake_start(&f, r, 1);
        char *out, *err;
        int code =
            strcmp(cases[i].cmd, "submit") == 0
                ? run(cases[i].fn, false, f.sock, &out, &err, cases[i].cmd, cases[i].arg, "--chip",
                      "x", NULL)
                : run(cases[i].fn, false, f.sock, &out, &err, cases[i].cmd, cases[i].arg, NULL);
        fake_end(&f);
        assert_int_equal(code, cases[i].want);
        assert_string_equal(out, "");
        assert_starts(err, "flashline ");
        assert_has(err, cases[i].cmd);
        assert_has(err, ": the daemon says no\n");
        char *req = fake_request(&f, 0, NULL);
        assert_starts(req, cases[i].line);
        free(req);
        free(out);
        free(err);
        fake_clean(&f);
    }
}

static void test_quarantine(void **state)
{
    (void)state;
    reply r[] = {{200, "application/json",
                  "{\"serial\": \"P1\", \"kind\": \"V2-1\", \"state\": \"quarantined\", "
                  "\"quarantine_reason\": \"bent pin\"}"}};
    fake f;
    fake_start(&f, r, 1);
    char *out, *err;
    int code = run(cmd_quarantine, false, f.sock, &out, &err, "quarantine", "P1", "--reason",
                   "bent pin", NULL);
    fake_end(&f);
    assert_int_equal(code, CLI_OK);
    assert_string_equal(out, "probe P1: quarantined: bent pin\n");
    char *req = fake_request(&f, 0, NULL);
    assert_starts(req, "POST /v1/probes/P1/quarantine ");
    json_t *body = request_json(req);
    assert_string_equal(json_string_value(json_object_get(body, "reason")), "bent pin");
    assert_int_equal(json_object_size(body), 1);
    json_decref(body);
    free(req);
    free(out);
    free(err);
    fake_clean(&f);

    /* No reason is a usage error, before any request. */
    code = run(cmd_quarantine, false, "/nonexistent", &out, &err, "quarantine", "P1", NULL);
    assert_int_equal(code, CLI_USAGE);
    free(out);
    free(err);
}

static void test_lists(void **state)
{
    (void)state;
    char *job = job_reply("running", 1, 0), jobs[1200];
    snprintf(jobs, sizeof jobs, "{\"jobs\": [%s]}", job);
    reply r[] = {
        {200, "application/json", jobs},
        {200, "application/json",
         "{\"probes\": [{\"serial\": \"P1\", \"kind\": \"V3\", \"state\": \"programming\", "
         "\"job\": 3, \"unit\": 117, \"chip\": \"stm32f103rb\", \"uid\": \"U\", \"progress\": 42, "
         "\"quarantine_reason\": null, \"last_result\": \"ok\", \"last_at\": null, "
         "\"units_ok\": 1, \"units_failed\": 0}]}"},
        {200, "application/json",
         "{\"units\": [{\"id\": 117, \"job\": 3, \"probe\": \"P1\", \"uid\": \"U\", \"chip\": "
         "\"stm32f103rb\", \"serial_number\": \"1014\", \"image\": \"ab\", \"result\": \"failed\", "
         "\"error\": \"no target\", \"started_at\": \"T0\", \"finished_at\": \"T1\", "
         "\"attempts\": 2, \"recovery_steps\": 3}]}"},
    };
    fake f;
    fake_start(&f, r, 3);
    char *out, *err;
    assert_int_equal(run(cmd_jobs, false, f.sock, &out, &err, "jobs", NULL), CLI_OK);
    /* Not a terminal: tab-separated, no header. */
    assert_string_equal(out, "3\trev C\trunning\tstm32f103rb\t1/2\t0\t0\t0\t"
                             "2026-11-25T15:40:00.123Z\n");
    free(out);
    free(err);
    assert_int_equal(run(cmd_probes, false, f.sock, &out, &err, "probes", NULL), CLI_OK);
    assert_string_equal(out, "P1\tV3\tprogramming\t3\t117\tstm32f103rb\t42%\tok\t-\n");
    free(out);
    free(err);
    assert_int_equal(run(cmd_units, false, f.sock, &out, &err, "units", "--job", "3", "--result",
                         "failed", "--since", "2026-11-25T00:00:00.000Z", "--limit", "5", NULL),
                     CLI_OK);
    assert_string_equal(out, "117\t3\tP1\tU\tstm32f103rb\t1014\tfailed\t2\t3\tT0\tno target\n");
    free(out);
    free(err);
    fake_end(&f);
    char *req = fake_request(&f, 0, NULL);
    assert_starts(req, "GET /v1/jobs HTTP/1.1\r\n");
    free(req);
    req = fake_request(&f, 1, NULL);
    assert_starts(req, "GET /v1/probes HTTP/1.1\r\n");
    free(req);
    req = fake_request(&f, 2, NULL);
    assert_starts(req, "GET /v1/units?job=3&result=failed&since=2026-11-25T00%3A00%3A00.000Z"
                       "&limit=5 HTTP/1.1\r\n");
    free(req);
    free(job);
    fake_clean(&f);
}

static void test_unit_by_uid(void **state)
{
    (void)state;
    reply r[] = {
        {200, "application/json", "{\"units\": [{\"id\": 117}, {\"id\": 90}]}"},
        {200, "application/json", unit_detail},
        {200, "application/json", unit_detail},
    };
    fake f;
    fake_start(&f, r, 3);
    char *out, *err;
    assert_int_equal(
        run(cmd_unit, false, f.sock, &out, &err, "unit", "0123456789ABCDEF01234567", NULL), CLI_OK);
    fake_end(&f);
    assert_starts(out, "unit 117: ok");
    assert_has(out, "\n\nunit 117: ok");
    char *req = fake_request(&f, 0, NULL);
    assert_starts(req, "GET /v1/units?uid=0123456789ABCDEF01234567&limit=10000 ");
    free(req);
    req = fake_request(&f, 1, NULL);
    assert_starts(req, "GET /v1/units/117 ");
    free(req);
    req = fake_request(&f, 2, NULL);
    assert_starts(req, "GET /v1/units/90 ");
    free(req);
    free(out);
    free(err);
    fake_clean(&f);

    /* No unit with that UID: not found. */
    reply none[] = {{200, "application/json", "{\"units\": []}"}};
    fake_start(&f, none, 1);
    assert_int_equal(run(cmd_unit, false, f.sock, &out, &err, "unit", "FFFF", NULL), CLI_NOT_FOUND);
    fake_end(&f);
    assert_string_equal(err, "flashline unit: no unit with UID FFFF\n");
    free(out);
    free(err);
    fake_clean(&f);
}

static void test_export_to_file(void **state)
{
    (void)state;
    const char csv[] = "id,job,probe,uid,result\n117,3,P1,U,ok\n";
    reply r[] = {{200, "text/csv", csv},
                 {403, "application/json",
                  "{\"error\": {\"code\": "
                  "\"forbidden\", \"message\": "
                  "\"not in group\"}}"}};
    fake f;
    fake_start(&f, r, 2);
    char file[200], *out, *err;
    snprintf(file, sizeof file, "%s/units.csv", f.dir);
    assert_int_equal(run(cmd_export, false, f.sock, &out, &err, "export", "--probe", "P1",
                         "--output", file, NULL),
                     CLI_OK);
    char *got = slurp(file, NULL);
    assert_string_equal(got, csv);
    free(got);
    free(out);
    free(err);
    /* A refused export leaves no file behind, whole or partial. */
    snprintf(file, sizeof file, "%s/refused.csv", f.dir);
    assert_int_equal(run(cmd_export, false, f.sock, &out, &err, "export", "--format", "jsonl",
                         "--output", file, NULL),
                     CLI_REFUSED);
    assert_string_equal(err, "flashline export: not in group\n");
    fake_end(&f);
    struct stat st;
    assert_int_not_equal(stat(file, &st), 0);
    char part[220];
    snprintf(part, sizeof part, "%s.part", file);
    assert_int_not_equal(stat(part, &st), 0);
    char *req = fake_request(&f, 0, NULL);
    assert_starts(req, "GET /v1/export?format=csv&probe=P1 ");
    free(req);
    req = fake_request(&f, 1, NULL);
    assert_starts(req, "GET /v1/export?format=jsonl ");
    free(req);
    free(out);
    free(err);
    fake_clean(&f);
}

static void test_events(void **state)
{
    (void)state;
    const char stream[] = ": keep-alive\n\n"
                          "event: progress\r\n"
                          "data: {\"at\": \"T1\", \"probe\": \"P1\", \"unit\": 117, \"progress\": "
                          "42}\r\n\r\n"
                          "event: recovery\n"
                          "data: {\"at\": \"T2\", \"unit\": 117, \"attempt\": 2, \"step\": "
                          "\"lower SWD clock\", \"ok\": true}\n\n"
                          "event: job\ndata: {\"at\": \"T3\", \"id\": 3, \"state\": \"done\", "
                          "\"ok\": 2, \"failed\": 0, \"interrupted\": 0, \"in_flight\": 0}\n\n"
                          "event: unit\ndata: {\"at\": \"T4\", \"id\"";
    reply r[] = {{200, "text/event-stream", stream}, {200, "text/event-stream", stream}};
    fake f;
    fake_start(&f, r, 2);
    char *out, *err;
    assert_int_equal(run(cmd_events, false, f.sock, &out, &err, "events", NULL), CLI_OK);
    /* The cut-off last event is dropped, as SSE says. */
    assert_string_equal(out, "T1 progress P1 unit 117 42%\n"
                             "T2 recovery unit 117 attempt 2: lower SWD clock (ok)\n"
                             "T3 job job 3 done: 2 ok, 0 failed, 0 interrupted, 0 in flight\n");
    free(out);
    free(err);
    assert_int_equal(run(cmd_events, true, f.sock, &out, &err, "events", NULL), CLI_OK);
    assert_starts(out, "{\"at\": \"T1\", \"probe\": \"P1\", \"unit\": 117, \"progress\": 42}\n"
                       "{\"at\": \"T2\"");
    fake_end(&f);
    char *req = fake_request(&f, 0, NULL);
    assert_starts(req, "GET /v1/events HTTP/1.1\r\n");
    free(req);
    free(out);
    free(err);
    fake_clean(&f);
}

int main(void)
{
    /* The fixtures' temporary files, not the user's FLASHLINE_SOCKET. */
    unsetenv("FLASHLINE_SOCKET");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_to_exit_code),
        cmocka_unit_test(test_serial_spec),
        cmocka_unit_test(test_submit_recipe),
        cmocka_unit_test(test_query_escape),
        cmocka_unit_test(test_unit_timeline),
        cmocka_unit_test(test_missing_socket),
        cmocka_unit_test(test_submit_sends_image_then_recipe),
        cmocka_unit_test(test_submit_wait),
        cmocka_unit_test(test_daemon_errors),
        cmocka_unit_test(test_quarantine),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_unit_by_uid),
        cmocka_unit_test(test_export_to_file),
        cmocka_unit_test(test_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
