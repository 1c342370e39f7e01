/* flashlined: the production-line programmer daemon. Opens the audit store,
 * serves docs/api.md on a Unix socket (and optionally TCP), runs the station
 * (probe slots, jobs, scheduler) on one libuv loop, and drains on SIGTERM:
 * units in flight finish, none start, then everything closes in order.
 *
 * Exit codes: 0 clean stop, 1 runtime failure, 2 usage or configuration. */
#define _GNU_SOURCE /* getopt_long */
#include "api.h"
#include "config.h"
#include "http.h"
#include "station.h"
#include "store.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#ifdef FLASHLINE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Everything the running daemon owns; lives on main's stack. */
typedef struct daemon_state {
    uv_loop_t *loop;
    config cfg;
    bool verbose;
    store *db;
    store_lock *lock; /* one daemon per database */
    http_server *http;
    station *st;
    api api;
    uv_signal_t sigterm, sigint;
    bool draining;
} daemon_state;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("flashlined: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: flashlined [--socket PATH] [--db PATH] [--http ADDR:PORT]\n"
            "                  [--http-token-file PATH] [--config FILE] [--socket-group NAME]\n"
            "                  [--socket-mode OCTAL] [--verbose]\n"
            "defaults: --socket %s --db %s\n"
            "          --config %s (read if it exists)\n",
            CONFIG_DEFAULT_SOCKET, CONFIG_DEFAULT_DB, CONFIG_DEFAULT_FILE);
}

/* Command line into cli (only what is given is marked set). */
static int parse_args(int argc, char **argv, config *cli, const char **config_path, bool *verbose)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"db", required_argument, NULL, 'd'},
        {"http", required_argument, NULL, 'H'},
        /* The token itself is not an option: an argument is visible to every
         * local user in ps and /proc. */
        {"http-token-file", required_argument, NULL, 't'},
        {"config", required_argument, NULL, 'c'},
        {"socket-group", required_argument, NULL, 'g'},
        {"socket-mode", required_argument, NULL, 'm'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int o, idx = 0;
    char msg[256];
    while ((o = getopt_long(argc, argv, "", opts, &idx)) != -1) {
        const char *key = NULL;
        switch (o) {
        case 's':
            key = "socket";
            break;
        case 'd':
            key = "db";
            break;
        case 'H':
            key = "http";
            break;
        case 't':
            key = "http_token_file";
            break;
        case 'g':
            key = "socket_group";
            break;
        case 'm':
            key = "socket_mode";
            break;
        case 'c':
            *config_path = optarg;
            continue;
        case 'v':
            *verbose = true;
            continue;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
        if (!config_set(cli, "daemon", key, optarg, msg, sizeof msg)) {
            logmsg("--%s: %s", opts[idx].name, msg);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        logmsg("unexpected argument \"%s\"; see --help", argv[optind]);
        return EXIT_USAGE;
    }
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_drained(void *user)
{
    daemon_state *d = user;
    logmsg("drained: every probe worker has stopped; closing");
    http_stop(d->http);
    d->http = NULL;
    d->api.st = NULL;
    station_free(d->st);
    d->st = NULL;
    store_close(d->db);
    d->db = NULL;
    store_lock_release(d->lock);
    d->lock = NULL;
    uv_close((uv_handle_t *)&d->sigterm, on_closed);
    uv_close((uv_handle_t *)&d->sigint, on_closed);
    uv_stop(d->loop);
}

static void on_signal(uv_signal_t *h, int signum)
{
    daemon_state *d = h->data;
    if (d->draining) {
        logmsg("%s again: still draining; units in flight finish first", strsignal(signum));
        return;
    }
    d->draining = true;
    logmsg("%s: draining (no new units; units in flight finish)", strsignal(signum));
#ifdef FLASHLINE_HAVE_SYSTEMD
    sd_notify(0, "STOPPING=1");
#endif
    station_drain(d->st, on_drained, d);
}

/* Closes whatever is still open (start-up failures) and lets the loop run
 * the close callbacks, so uv_loop_close succeeds. */
static void teardown(daemon_state *d)
{
    if (d->http)
        http_stop(d->http);
    if (d->st)
        station_free(d->st);
    uv_run(d->loop, UV_RUN_DEFAULT);
    if (d->db)
        store_close(d->db);
    store_lock_release(d->lock);
    d->lock = NULL;
    d->http = NULL;
    d->st = NULL;
    d->db = NULL;
}

static int run(daemon_state *d)
{
    char msg[512];
    config *c = &d->cfg;

    /* Before anything is read: a second daemon on this database would mark
     * the first one's live units interrupted below. */
    if (store_lock_take(c->db, &d->lock, msg, sizeof msg) != STORE_OK) {
        logmsg("%s", msg);
        return EXIT_RUNTIME;
    }
    if (store_open(c->db, &d->db, msg, sizeof msg) != STORE_OK) {
        logmsg("cannot open the database %s: %s", c->db, msg);
        teardown(d);
        return EXIT_RUNTIME;
    }
    int n_interrupted = 0;
    if (store_recover_in_flight(d->db, wall_ms(), &n_interrupted) != STORE_OK) {
        logmsg("cannot recover units left in flight in %s: %s", c->db, store_message(d->db));
        teardown(d);
        return EXIT_RUNTIME;
    }
    if (n_interrupted > 0)
        logmsg("%d unit%s left in flight by the last run marked interrupted", n_interrupted,
               n_interrupted == 1 ? "" : "s");

    d->api = (api){.db = d->db, .max_upload = (size_t)c->max_upload_mb * 1024u * 1024u};
    char *tcp_addr = NULL;
    int tcp_port = 0;
    if (c->http && !config_split_http(c->http, &tcp_addr, &tcp_port)) {
        logmsg("http = \"%s\" is not ADDR:PORT", c->http);
        teardown(d);
        return EXIT_USAGE;
    }
    char *token = NULL;
    if (c->http_token_file) {
        if (c->http_token) {
            logmsg("both http_token and http_token_file are set; keep only http_token_file");
            teardown(d);
            free(tcp_addr);
            return EXIT_USAGE;
        }
        if (!config_read_token(c->http_token_file, &token, msg, sizeof msg)) {
            logmsg("%s", msg);
            teardown(d);
            free(tcp_addr);
            return EXIT_USAGE;
        }
    } else if (c->http_token) {
        logmsg("warning: http_token in the config file is deprecated; put the token in a file "
               "only the daemon's user can read and name it with http_token_file");
    }
    http_config hc = {
        .unix_path = c->socket,
        .unix_mode = c->socket_mode,
        .unix_group = c->socket_group,
        .tcp_addr = tcp_addr,
        .tcp_port = tcp_port,
        .tcp_token = token ? token : c->http_token,
        .hosts = (const char *const *)c->http_hosts,
        .max_conns = c->http_max_connections,
        .max_conns_per_peer = c->http_max_per_peer,
        .max_streams = c->http_max_streams,
        .request_timeout_ms = c->http_request_timeout_s * 1000u,
        .idle_timeout_ms = c->http_idle_timeout_s * 1000u,
        .max_body = d->api.max_upload,
        .sse_path = "/v1/events",
        .handler = api_handle,
        .user = &d->api,
    };
    http_err he = http_start(d->loop, &hc, &d->http, msg, sizeof msg);
    free(tcp_addr);
    free(token); /* the server keeps its own copy */
    if (he != HTTP_OK) {
        d->http = NULL;
        logmsg("cannot listen: %s", msg);
        teardown(d);
        return he == HTTP_E_ARG ? EXIT_USAGE : EXIT_RUNTIME;
    }

    station_config sc = {
        .db = d->db,
        .http = d->http,
        .ignore_serials = (const char *const *)c->ignore_serials,
        .only_serials = (const char *const *)c->use_serials,
        .poll_ms = 200,
        .enumerate_ms = 1000,
        .quarantine_after = 3,
        .health = c->health,
    };
    if (station_start(d->loop, &sc, &d->st, msg, sizeof msg) != STATION_OK) {
        d->st = NULL;
        logmsg("cannot start the station: %s", msg);
        teardown(d);
        return EXIT_RUNTIME;
    }
    d->api.st = d->st;

    uv_signal_init(d->loop, &d->sigterm);
    uv_signal_init(d->loop, &d->sigint);
    d->sigterm.data = d->sigint.data = d;
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_signal_start(&d->sigint, on_signal, SIGINT);

    logmsg("listening on %s (mode %04o%s%s)%s%s; database %s", c->socket, c->socket_mode,
           c->socket_group ? ", group " : "", c->socket_group ? c->socket_group : "",
           c->http ? " and http://" : "", c->http ? c->http : "", c->db);
    if (c->use_serials || c->ignore_serials) {
        size_t nu = 0, ni = 0;
        while (c->use_serials && c->use_serials[nu])
            nu++;
        while (c->ignore_serials && c->ignore_serials[ni])
            ni++;
        logmsg("probes: %s%zu listed to use, %zu ignored", nu ? "" : "any, ", nu, ni);
    }
    if (c->retention_days)
        /* TODO: prune units older than this once the store can (no API yet). */
        logmsg("retention: %u days configured; pruning is not implemented yet, nothing is "
               "deleted",
               c->retention_days);
#ifdef FLASHLINE_HAVE_SYSTEMD
    sd_notify(0, "READY=1");
#endif

    uv_run(d->loop, UV_RUN_DEFAULT);
    /* uv_stop from on_drained leaves close callbacks pending: run them. */
    uv_run(d->loop, UV_RUN_DEFAULT);
    if (d->st || d->http || d->db) {
        /* The loop ran dry without a drain: nothing was left to wait for. */
        logmsg("the loop stopped unexpectedly; closing");
        teardown(d);
        return EXIT_RUNTIME;
    }
    logmsg("stopped");
    return 0;
}

int main(int argc, char **argv)
{
    /* A client that hangs up mid-answer must not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);

    daemon_state d = {0};
    config cli;
    if (!config_init(&d.cfg) || !config_init(&cli)) {
        logmsg("out of memory");
        return EXIT_RUNTIME;
    }
    const char *config_path = NULL;
    int rc = parse_args(argc, argv, &cli, &config_path, &d.verbose);
    if (rc == 0) {
        char msg[512];
        const char *path = config_path ? config_path : CONFIG_DEFAULT_FILE;
        /* The default file is optional; one given by name must be there. */
        if (config_path || access(path, F_OK) == 0) {
            if (!config_parse_file(&d.cfg, path, msg, sizeof msg)) {
                logmsg("config %s", msg);
                rc = EXIT_USAGE;
            } else if (d.verbose) {
                logmsg("read config %s", path);
            }
        }
    }
    if (rc == 0 && !config_overlay(&d.cfg, &cli)) {
        logmsg("out of memory");
        rc = EXIT_RUNTIME;
    }
    config_free(&cli);
    if (rc == 0) {
        uv_loop_t loop;
        if (uv_loop_init(&loop) != 0) {
            logmsg("cannot create the event loop");
            rc = EXIT_RUNTIME;
        } else {
            d.loop = &loop;
            rc = run(&d);
            int e = uv_loop_close(&loop);
            if (e != 0 && d.verbose)
                logmsg("event loop closed with handles still open (%s)", uv_strerror(e));
        }
    }
    config_free(&d.cfg);
    return rc;
}
