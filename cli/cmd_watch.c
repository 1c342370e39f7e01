/*
 * flashline watch: the line on a terminal, for stations without a browser.
 * The probes and jobs come from GET /v1/probes and /v1/jobs at start and
 * every two seconds; the event stream (GET /v1/events) moves the tiles in
 * between and fills the feed. All three transfers run in one curl multi
 * handle that the loop polls together with the keyboard, so neither a slow
 * daemon nor a quiet stream ever freezes the screen or the keys.
 */
#include "client.h"
#include "watch.h"

#include <curl/curl.h>
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS        2000 /* full refresh of probes and jobs */
#define RECONNECT_MS   2000 /* a broken event stream is reopened after this */
#define DRAW_MIN_MS    100  /* progress events come fast: redraw at most this often */
#define TICK_MS        1000 /* the clock and the "5s ago" figures move anyway */
#define BODY_MAX       (16u << 20)
#define POLL_TIMEOUT_S 10L /* a refresh taking longer is a hung daemon */

typedef enum fetch_kind { FETCH_PROBES, FETCH_JOBS, FETCH_EVENTS, FETCH_COUNT } fetch_kind;

typedef struct watch watch;

/* One transfer of the three, alive while busy. */
typedef struct fetch {
    fetch_kind kind;
    const char *path;
    watch *w;
    CURL *easy;
    struct curl_slist *hdrs;
    bool busy;
    char *body; /* the collected answer (of the stream: only an error's) */
    size_t len;
    bool failed_write; /* too big, or out of memory */
    char errbuf[CURL_ERROR_SIZE];
} fetch;

struct watch {
    const char *socket;
    watch_model model;
    watch_sse *sse;
    CURLM *multi;
    fetch f[FETCH_COUNT];
    long long next_poll, next_stream, next_draw, last_draw;
    /* Why each refresh last failed ("" when it worked): the header shows
     * the first of them. */
    char problem[2][sizeof((watch_model *)0)->problem];
    bool dirty;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool collect(fetch *f, const char *data, size_t n)
{
    if (f->len + n > BODY_MAX)
        return false;
    char *b = realloc(f->body, f->len + n + 1);
    if (!b)
        return false;
    memcpy(b + f->len, data, n);
    f->len += n;
    b[f->len] = '\0';
    f->body = b;
    return true;
}

static void on_event(const char *kind, const char *data, void *ctx)
{
    watch *w = ctx;
    watch_model_event(&w->model, kind, data);
    w->dirty = true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    fetch *f = ctx;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
    if (f->kind == FETCH_EVENTS && status >= 200 && status < 300) {
        if (!f->w->model.stream_live) {
            f->w->model.stream_live = true;
            f->w->dirty = true;
        }
        if (!watch_sse_feed(f->w->sse, data, n, on_event, f->w)) {
            f->failed_write = true;
            return 0;
        }
        return n;
    }
    if (!collect(f, data, n)) {
        f->failed_write = true;
        return 0;
    }
    return n;
}

static bool start(fetch *f)
{
    if (f->busy)
        return true;
    char url[1024];
    snprintf(url, sizeof url, "http://localhost%s", f->path);
    f->easy = curl_easy_init();
    if (!f->easy)
        return false;
    f->hdrs = curl_slist_append(NULL, f->kind == FETCH_EVENTS ? "Accept: text/event-stream"
                                                              : "Accept: application/json");
    free(f->body);
    f->body = NULL;
    f->len = 0;
    f->failed_write = false;
    f->errbuf[0] = '\0';
    curl_easy_setopt(f->easy, CURLOPT_UNIX_SOCKET_PATH, f->w->socket);
    curl_easy_setopt(f->easy, CURLOPT_URL, url);
    curl_easy_setopt(f->easy, CURLOPT_HTTPHEADER, f->hdrs);
    curl_easy_setopt(f->easy, CURLOPT_ERRORBUFFER, f->errbuf);
    curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(f->easy, CURLOPT_PRIVATE, f);
    curl_easy_setopt(f->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(f->easy, CURLOPT_CONNECTTIMEOUT, 5L);
    /* The stream lasts as long as the daemon; a refresh is quick or hung. */
    curl_easy_setopt(f->easy, CURLOPT_TIMEOUT, f->kind == FETCH_EVENTS ? 0L : POLL_TIMEOUT_S);
    if (curl_multi_add_handle(f->w->multi, f->easy) != CURLM_OK) {
        curl_slist_free_all(f->hdrs);
        curl_easy_cleanup(f->easy);
        f->hdrs = NULL;
        f->easy = NULL;
        return false;
    }
    f->busy = true;
    return true;
}

static void stop(fetch *f)
{
    if (!f->busy)
        return;
    curl_multi_remove_handle(f->w->multi, f->easy);
    curl_easy_cleanup(f->easy);
    curl_slist_free_all(f->hdrs);
    f->easy = NULL;
    f->hdrs = NULL;
    f->busy = false;
}

/* Why a transfer failed, in the words the other commands use. */
static void failure(fetch *f, CURLcode c, long status, char *out, size_t size)
{
    if (f->failed_write) {
        snprintf(out, size, "answer to %s too large or out of memory", f->path);
    } else if (c == CURLE_COULDNT_CONNECT) {
        long os = 0;
        curl_easy_getinfo(f->easy, CURLINFO_OS_ERRNO, &os);
        snprintf(out, size, "cannot reach flashlined at %s (%s)", f->w->socket,
                 os ? strerror((int)os) : curl_easy_strerror(c));
    } else if (c != CURLE_OK) {
        snprintf(out, size, "%s", f->errbuf[0] ? f->errbuf : curl_easy_strerror(c));
    } else {
        json_t *j = f->body ? json_loads(f->body, 0, NULL) : NULL;
        const char *msg = watch_str(json_object_get(j, "error"), "message", NULL);
        snprintf(out, size, "%s: HTTP %ld%s%s", f->path, status, msg ? ": " : "", msg ? msg : "");
        json_decref(j);
    }
}

static void show_problem(watch *w)
{
    snprintf(w->model.problem, sizeof w->model.problem, "%s",
             w->problem[0][0] ? w->problem[0] : w->problem[1]);
}

/* A refresh ended: the model takes its list, or the header says why not. */
static void poll_done(fetch *f, CURLcode c)
{
    watch *w = f->w;
    long status = 0;
    curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
    const char *key = f->kind == FETCH_PROBES ? "probes" : "jobs";
    char *problem = w->problem[f->kind];
    json_t *j = NULL;
    if (c == CURLE_OK && !f->failed_write && status >= 200 && status < 300) {
        j = f->body ? json_loads(f->body, 0, NULL) : NULL;
        json_t *list = json_object_get(j, key);
        if (json_is_array(list)) {
            if (f->kind == FETCH_PROBES)
                watch_model_set_probes(&w->model, list);
            else
                watch_model_set_jobs(&w->model, list);
            problem[0] = '\0';
            w->model.refreshed = time(NULL);
        } else {
            snprintf(problem, sizeof w->problem[0], "unexpected answer to %s: no \"%s\" list",
                     f->path, key);
        }
    } else {
        failure(f, c, status, problem, sizeof w->problem[0]);
    }
    json_decref(j);
    show_problem(w);
    w->dirty = true;
}

static void stream_done(fetch *f, CURLcode c)
{
    watch *w = f->w;
    long status = 0;
    curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
    /* An event cut off before its blank line may be incomplete: dropped. */
    watch_sse_reset(w->sse);
    if (w->model.stream_live) {
        char why[320];
        if (c == CURLE_OK && status >= 200 && status < 300)
            snprintf(why, sizeof why, "closed by flashlined");
        else
            failure(f, c, status, why, sizeof why);
        time_t now = time(NULL);
        struct tm tm;
        char clock[16] = "-";
        if (localtime_r(&now, &tm))
            strftime(clock, sizeof clock, "%H:%M:%S", &tm);
        watch_feed_add(&w->model, WATCH_YELLOW, "%s event stream lost (%s); reconnecting", clock,
                       why);
    }
    w->model.stream_live = false;
    w->next_stream = now_ms() + RECONNECT_MS;
    w->dirty = true;
}

static void transfers_done(watch *w)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(w->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        fetch *f = (fetch *)priv;
        if (!f)
            continue;
        CURLcode c = msg->data.result;
        if (f->kind == FETCH_EVENTS)
            stream_done(f, c);
        else
            poll_done(f, c);
        stop(f);
    }
}

/* The keys; false when it is time to go. */
static bool keys(watch *w)
{
    int ch;
    while ((ch = getch()) != ERR) {
        switch (ch) {
        case 'q':
        case 'Q':
            return false;
        case 'r':
        case 'R':
        case 12: /* Ctrl-L */
            /* Now, and the screen repainted from scratch in case something
             * else wrote over it. */
            w->next_poll = 0;
            w->next_stream = 0;
            clearok(curscr, TRUE);
            w->dirty = true;
            break;
        case KEY_RESIZE:
            w->dirty = true;
            break;
        default:
            break;
        }
    }
    return true;
}

static void run(watch *w)
{
    for (;;) {
        long long now = now_ms();
        if (now >= w->next_poll) {
            start(&w->f[FETCH_PROBES]);
            start(&w->f[FETCH_JOBS]);
            w->next_poll = now + POLL_MS;
        }
        if (!w->f[FETCH_EVENTS].busy && now >= w->next_stream && !start(&w->f[FETCH_EVENTS]))
            w->next_stream = now + RECONNECT_MS;
        int running;
        curl_multi_perform(w->multi, &running);
        transfers_done(w);
        if (!keys(w))
            return;
        now = now_ms();
        if ((w->dirty && now >= w->last_draw + DRAW_MIN_MS) || now >= w->next_draw) {
            watch_draw(&w->model, w->socket, time(NULL));
            w->dirty = false;
            w->last_draw = now;
            w->next_draw = now + TICK_MS;
        }
        /* Sleep until a transfer has data, a key is pressed, or a timer
         * is due. */
        long long due = w->next_draw;
        if (w->next_poll < due)
            due = w->next_poll;
        if (!w->f[FETCH_EVENTS].busy && w->next_stream < due)
            due = w->next_stream;
        if (w->dirty && w->last_draw + DRAW_MIN_MS < due)
            due = w->last_draw + DRAW_MIN_MS;
        long long wait = due - now_ms();
        if (wait < 0)
            wait = 0;
        if (wait > 250) /* a terminal resize interrupts nothing here */
            wait = 250;
        struct curl_waitfd key = {.fd = STDIN_FILENO, .events = CURL_WAIT_POLLIN};
        curl_multi_poll(w->multi, &key, 1, (int)wait, NULL);
    }
}

/* The first look, before the screen is taken: a daemon that is not there
 * is said the way every other command says it, and the tiles start full. */
static int first_look(watch *w, const char *path, const char *key)
{
    cl_request req = {.socket = w->socket, .method = "GET", .path = path};
    cl_response resp;
    cl_err e = cl_perform(&req, &resp);
    json_t *list = json_object_get(resp.json, key);
    if (e == CL_OK && !json_is_array(list)) {
        e = CL_BAD_REPLY;
        snprintf(resp.message, sizeof resp.message, "no \"%s\" list", key);
    }
    int code = cl_report("watch", w->socket, e, &resp);
    if (code == CLI_OK) {
        if (strcmp(key, "probes") == 0)
            watch_model_set_probes(&w->model, list);
        else
            watch_model_set_jobs(&w->model, list);
        w->model.refreshed = time(NULL);
    }
    cl_response_free(&resp);
    return code;
}

static void cleanup(watch *w)
{
    for (int k = 0; k < FETCH_COUNT; k++) {
        stop(&w->f[k]);
        free(w->f[k].body);
    }
    if (w->multi)
        curl_multi_cleanup(w->multi);
    if (w->sse)
        watch_sse_reset(w->sse);
    free(w->sse);
    watch_model_free(&w->model);
}

int cmd_watch(const cli_opts *global, int argc, char **argv)
{
    cli_opts o = *global;
    const char *pos[1];
    int npos;
    int code = cli_parse("watch", argc, argv, NULL, NULL, &o, pos, 0, &npos);
    if (code != CLI_OK)
        return code;
    watch *w = calloc(1, sizeof *w);
    if (!w) {
        fprintf(stderr, "flashline watch: out of memory\n");
        return CLI_FAILED;
    }
    w->socket = cli_socket(&o);
    watch_model_init(&w->model);
    static const char *const paths[FETCH_COUNT] = {"/v1/probes", "/v1/jobs", "/v1/events"};
    for (int k = 0; k < FETCH_COUNT; k++)
        w->f[k] = (fetch){.kind = (fetch_kind)k, .path = paths[k], .w = w};
    w->sse = calloc(1, sizeof *w->sse);
    w->multi = curl_multi_init();
    if (!w->sse || !w->multi || !w->model.probes || !w->model.jobs) {
        fprintf(stderr, "flashline watch: out of memory\n");
        cleanup(w);
        free(w);
        return CLI_FAILED;
    }
    code = first_look(w, "/v1/probes", "probes");
    if (code == CLI_OK)
        code = first_look(w, "/v1/jobs", "jobs");
    if (code != CLI_OK) {
        cleanup(w);
        free(w);
        return code;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "flashline watch: needs a terminal; in scripts use `flashline events` "
                        "or `flashline --json probes`\n");
        cleanup(w);
        free(w);
        return CLI_USAGE;
    }
    /* Line-drawing characters in the terminal's encoding; numbers stay in
     * the C locale's format. */
    setlocale(LC_CTYPE, "");
    SCREEN *scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        fprintf(stderr, "flashline watch: cannot use terminal type '%s'\n",
                getenv("TERM") ? getenv("TERM") : "(none)");
        cleanup(w);
        free(w);
        return CLI_FAILED;
    }
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE); /* keys are waited for in curl_multi_poll */
    curs_set(0);
    watch_draw_init();
    w->dirty = true;
    w->next_poll = now_ms() + POLL_MS;
    run(w);
    endwin();
    delscreen(scr);
    cleanup(w);
    free(w);
    return CLI_OK;
}
