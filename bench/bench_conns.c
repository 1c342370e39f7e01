/*
 * bench_conns: flashlined under a crowd of idle clients.
 *  - starts flashlined (no probes) with TCP on 127.0.0.1 in a scratch dir,
 *    its default caps (256 connections, 32 per peer, 64 streams);
 *  - opens 200 event streams and then 1,000 idle TCP connections on
 *    loopback (from 120 addresses 127.0.0.x, 10 each), and keeps them
 *    (those the caps refuse are answered 503 and closed by the daemon, or
 *    closed unanswered while too many refusals are pending: counted);
 *  - measures the daemon's CPU over 10 s from /proc/PID/stat while they are
 *    open, then 100 GET /v1/jobs on the Unix socket: p50/p99/max ms.
 * Run: build/default/bench/bench_conns [path/to/flashlined]
 * Goal: Unix requests under 50 ms and CPU under 5 % with the crowd there.
 */
#include "bench_net.h"

#ifndef FLASHLINED_PATH
#define FLASHLINED_PATH "build/default/daemon/flashlined"
#endif

#define N_STREAMS 200
#define N_IDLE    1000
#define N_REQS    100

/* How the daemon treated them: still open, answered 503 (then closed), or
 * closed unanswered (over the cap while MAX_REJECTING refusals were
 * pending). */
static void tally(const int *fds, int n, int *open_n, int *refused, int *closed)
{
    *open_n = *refused = *closed = 0;
    for (int i = 0; i < n; i++) {
        if (fds[i] < 0)
            continue;
        char b[4097];
        ssize_t k;
        bool got503 = false, eof = false;
        while ((k = recv(fds[i], b, sizeof b - 1, MSG_DONTWAIT)) > 0) {
            b[k] = '\0';
            got503 |= strstr(b, "HTTP/1.1 503 ") != NULL;
        }
        eof = k == 0 || (k < 0 && errno != EAGAIN);
        if (got503)
            (*refused)++;
        else if (eof)
            (*closed)++;
        else
            (*open_n)++;
    }
}

/* Clients come from many loopback addresses (127.0.x.y), as from many
 * machines: the per-peer cap (32) would otherwise refuse all but 32. */
static int tcp_from(int port, int i)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)(2 + i / 10));
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    const char *fld = argc > 1 ? argv[1] : FLASHLINED_PATH;
    signal(SIGPIPE, SIG_IGN);
    bn_raise_nofile(4096);
    char dir[] = "/tmp/bench_conns-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char sock[128], db[128], conf[128], log[128], http[64];
    snprintf(sock, sizeof sock, "%s/api.sock", dir);
    snprintf(db, sizeof db, "%s/fl.db", dir);
    snprintf(conf, sizeof conf, "%s/flashline.conf", dir);
    snprintf(log, sizeof log, "%s/daemon.log", dir);
    int port = bn_free_port();
    snprintf(http, sizeof http, "127.0.0.1:%d", port);
    FILE *c = fopen(conf, "w");
    fclose(c);
    char *args[] = {(char *)fld, "--socket", sock,       "--db", db,
                    "--http",    http,       "--config", conf,   NULL};
    pid_t pid = bn_start(fld, args, sock, log);
    if (pid < 0)
        return 1;

    static int streams[N_STREAMS], idle[N_IDLE];
    char req[128];
    int rn =
        snprintf(req, sizeof req, "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
    for (int i = 0; i < N_STREAMS; i++) {
        streams[i] = tcp_from(port, N_IDLE + i);
        if (streams[i] >= 0)
            (void)!send(streams[i], req, (size_t)rn, MSG_NOSIGNAL);
    }
    int connected = 0;
    for (int i = 0; i < N_IDLE; i++)
        connected += (idle[i] = tcp_from(port, i)) >= 0;
    sleep(3); /* refusals answered (1 s for a head that never comes) and closed */
    int o, r, cl;
    tally(streams, N_STREAMS, &o, &r, &cl);
    printf("event streams (TCP): %d open, %d refused 503, %d closed unanswered\n", o, r, cl);
    tally(idle, N_IDLE, &o, &r, &cl);
    printf("idle TCP connections: %d of %d connected; %d open, %d refused 503, %d closed "
           "unanswered\n",
           connected, N_IDLE, o, r, cl);
    long hz = sysconf(_SC_CLK_TCK);
    long t0 = bn_cpu_ticks(pid);
    double w0 = bn_now_ms();
    sleep(10);
    long t1 = bn_cpu_ticks(pid);
    double w1 = bn_now_ms();
    printf("daemon CPU over %.1f s with them open: %.2f %%\n", (w1 - w0) / 1e3,
           100.0 * (double)(t1 - t0) / (double)hz / ((w1 - w0) / 1e3));

    double lat[N_REQS];
    int bad = 0;
    for (int i = 0; i < N_REQS; i++) {
        double a = bn_now_ms();
        bad += bn_get(sock, "/v1/jobs") != 200;
        lat[i] = bn_now_ms() - a;
    }
    qsort(lat, N_REQS, sizeof lat[0], bn_cmp_double);
    printf("Unix GET /v1/jobs x%d: p50 %.2f ms, p99 %.2f ms, max %.2f ms, %d not 200\n", N_REQS,
           lat[N_REQS / 2], lat[N_REQS * 99 / 100], lat[N_REQS - 1], bad);

    for (int i = 0; i < N_STREAMS; i++)
        if (streams[i] >= 0)
            close(streams[i]);
    for (int i = 0; i < N_IDLE; i++)
        if (idle[i] >= 0)
            close(idle[i]);
    bn_stop(pid);
    unlink(sock);
    unlink(db);
    unlink(conf);
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", db);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", db);
    unlink(wal);
    printf("daemon log: %s\n", log);
    return bad ? 1 : 0;
}
