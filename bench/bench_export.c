/*
 * bench_export: GET /v1/export of a large audit log.
 *  - fills a scratch database with N units (default 1,000,000; one attempt
 *    each) through the store's write functions in one bulk transaction;
 *  - starts flashlined (no probes) on it and reads /v1/export?format=csv on
 *    the Unix socket slowly (16 KiB, then 1 ms of nothing), to /dev/null,
 *    timing a GET /v1/probes on a second connection (and sampling the
 *    daemon's VmRSS) every 256 reads;
 *  - prints the export's duration and size, the daemon's RSS before, during
 *    and its peak (VmHWM) after, and request latencies without and during
 *    the export.
 * Run: build/default/bench/bench_export [units] [path/to/flashlined] [dir]
 * (BENCH_EXPORT_DB=PATH keeps the filled database there for another run.)
 * Goal: peak RSS under 64 MB.
 */
#include "bench_net.h"
#include "store.h"

#ifndef FLASHLINED_PATH
#define FLASHLINED_PATH "build/default/daemon/flashlined"
#endif
#define T0_MS 1764000000000LL

static int die(store *s, store_err e, const char *what)
{
    fprintf(stderr, "bench_export: %s: %s: %s\n", what, store_err_name(e), store_message(s));
    return 1;
}

static int fill(store *s, int64_t n)
{
    static uint8_t fw[4096];
    const char *sha = "5a3c0d1e2f4b6a7980c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3";
    store_err e;
    if ((e = store_bulk_begin(s)) != STORE_OK ||
        (e = store_image_put(s, sha, "bin", 0x08000000u, fw, sizeof fw, T0_MS)) != STORE_OK)
        return die(s, e, "image");
    store_job in = {.count = n,
                    .has_serial = true,
                    .next_serial = 1000,
                    .serial_step = 1,
                    .created_ms = T0_MS,
                    .submitted_uid = 1000};
    snprintf(in.name, sizeof in.name, "bench export");
    memcpy(in.image, sha, 65);
    in.recipe_json = "{\"chip\":\"stm32f103rb\"}";
    int64_t job;
    if ((e = store_job_create(s, &in, &job)) != STORE_OK)
        return die(s, e, "job");
    for (int64_t i = 0; i < n; i++) {
        char uid[32], probe[32];
        snprintf(uid, sizeof uid, "%024llX", (unsigned long long)(i * 2654435761u));
        snprintf(probe, sizeof probe, "066DFF4%09d", (int)(i % 16));
        int64_t t = T0_MS + 1000 + i * 100, unit, serial, a;
        bool has;
        if ((e = store_unit_begin(s, job, probe, uid, "stm32f103rb", t, &unit, &has, &serial)) !=
                STORE_OK ||
            (e = store_attempt_begin(s, unit, 1, t, &a)) != STORE_OK ||
            (e = store_attempt_end(s, a, "ok", "done", NULL, t + 1400)) != STORE_OK ||
            (e = store_unit_end(s, unit, "ok", NULL, t + 1500)) != STORE_OK)
            return die(s, e, "unit");
    }
    if ((e = store_bulk_end(s)) != STORE_OK)
        return die(s, e, "bulk end");
    return 0;
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? atoll(argv[1]) : 1000000;
    const char *fld = argc > 2 ? argv[2] : FLASHLINED_PATH;
    const char *base = argc > 3 ? argv[3] : "/var/tmp";
    signal(SIGPIPE, SIG_IGN);
    char dir[256];
    snprintf(dir, sizeof dir, "%s/bench_export-XXXXXX", base);
    if (!mkdtemp(dir))
        return 1;
    char sock[300], db[300], conf[300], log[300];
    snprintf(sock, sizeof sock, "%s/api.sock", dir);
    snprintf(db, sizeof db, "%s/fl.db", dir);
    snprintf(conf, sizeof conf, "%s/flashline.conf", dir);
    snprintf(log, sizeof log, "%s/daemon.log", dir);

    double t = bn_now_ms();
    /* BENCH_EXPORT_DB=PATH: use (and keep) that database, filling it only
     * if it does not exist yet, so that a second run skips the filling. */
    const char *keep = getenv("BENCH_EXPORT_DB");
    if (keep)
        snprintf(db, sizeof db, "%s", keep);
    if (!keep || access(db, F_OK) != 0) {
        store *s = NULL;
        char msg[256];
        if (store_open(db, &s, msg, sizeof msg) != STORE_OK) {
            fprintf(stderr, "bench_export: %s\n", msg);
            return 1;
        }
        if (fill(s, n))
            return 1;
        store_close(s);
        printf("filled %lld units in %.1f s\n", (long long)n, (bn_now_ms() - t) / 1e3);
    }

    FILE *c = fopen(conf, "w");
    fclose(c);
    char *args[] = {(char *)fld, "--socket", sock, "--db", db, "--config", conf, NULL};
    pid_t pid = bn_start(fld, args, sock, log);
    if (pid < 0)
        return 1;
    printf("daemon before the export: VmRSS %.1f MB, VmHWM %.1f MB\n",
           bn_vm_kb(pid, "VmRSS") / 1024.0, bn_vm_kb(pid, "VmHWM") / 1024.0);
    /* What a request costs without an export going on, for comparison:
     * /v1/probes answers from memory, /v1/jobs counts each job's units. */
    const char *probe_targets[] = {"/v1/probes", "/v1/jobs"};
    for (int k = 0; k < 2; k++) {
        double b20[20];
        for (int i = 0; i < 20; i++) {
            double a = bn_now_ms();
            bn_get(sock, probe_targets[k]);
            b20[i] = bn_now_ms() - a;
        }
        qsort(b20, 20, sizeof b20[0], bn_cmp_double);
        printf("GET %s without an export x20: p50 %.2f ms, max %.2f ms\n", probe_targets[k],
               b20[10], b20[19]);
    }

    int fd = bn_unix(sock);
    const char *req = "GET /v1/export?format=csv HTTP/1.1\r\nHost: x\r\n\r\n";
    (void)!send(fd, req, strlen(req), MSG_NOSIGNAL);
    static char buf[16384];
    static double lat[4096];
    size_t nlat = 0, total = 0, reads = 0;
    long rss_max = 0;
    ssize_t k;
    t = bn_now_ms();
    while ((k = recv(fd, buf, sizeof buf, 0)) > 0) {
        total += (size_t)k;
        if (++reads % 256 == 0 && nlat < 4096) {
            double a = bn_now_ms();
            bn_get(sock, "/v1/probes");
            lat[nlat++] = bn_now_ms() - a;
            long rss = bn_vm_kb(pid, "VmRSS");
            rss_max = rss > rss_max ? rss : rss_max;
        }
        usleep(1000);
    }
    double dur = (bn_now_ms() - t) / 1e3;
    close(fd);
    printf("export: %.1f MB in %.1f s (read 16 KiB at a time, 1 ms apart)\n", total / 1048576.0,
           dur);
    printf("daemon during the export: VmRSS at most %.1f MB (sampled); after: VmHWM %.1f MB\n",
           rss_max / 1024.0, bn_vm_kb(pid, "VmHWM") / 1024.0);
    if (nlat) {
        qsort(lat, nlat, sizeof lat[0], bn_cmp_double);
        printf("GET /v1/probes during the export x%zu: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
               nlat, lat[nlat / 2], lat[nlat * 99 / 100], lat[nlat - 1]);
    }
    bn_stop(pid);
    char p[320];
    const char *files[] = {"api.sock",  "fl.db",          "fl.db-wal",
                           "fl.db-shm", "flashline.conf", "daemon.log"};
    if (keep)
        files[1] = files[2] = files[3] = "api.sock"; /* the kept database stays */
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}
