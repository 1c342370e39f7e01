/*
 * bench_audit: the audit store at production scale.
 *  - generates N units (default 1,000,000) with their attempts, some with a
 *    failed first attempt and a recovery step, through the store's own
 *    write functions inside one bulk transaction (synchronous=OFF for the
 *    generation only);
 *  - times audit queries through store_units_query: by random UID (the
 *    operator scanning a returned board), by serial number, a job's failed
 *    units, a probe's latest units, a time window; p50/p99/max in ms;
 *  - times the durable commit of one unit (store_unit_begin +
 *    store_unit_end with synchronous=FULL), as the daemon pays it per unit.
 * Run: build/default/bench/bench_audit [units] [dir]
 * (dir defaults to /var/tmp: a real disk, so fsync costs what it costs.)
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N_PROBES  16
#define N_JOBS    10
#define N_QUERIES 1000
#define N_COMMITS 200
#define T0_MS     1764000000000LL /* late 2025 */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Deterministic 64-bit mixing (SplitMix64's finaliser), so that a unit's
 * UID can be recomputed from its index when choosing what to query. */
static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static void uid_of(uint64_t i, char out[32])
{
    /* 96 bits like an STM32 UID, 24 hex digits */
    snprintf(out, 32, "%016llX%08X", (unsigned long long)mix(i),
             (unsigned)(mix(i ^ 0xABCDEFull) & 0xFFFFFFFFu));
}

static int die(store *s, store_err e, const char *what)
{
    fprintf(stderr, "bench_audit: %s: %s: %s\n", what, store_err_name(e), store_message(s));
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_stats(const char *name, double *v, int n, int64_t rows)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    printf("  %-34s p50 %7.3f ms  p99 %7.3f ms  max %7.3f ms  (%d queries, %lld rows)\n", name,
           v[n / 2], v[(n * 99) / 100], v[n - 1], n, (long long)rows);
}

typedef struct counter {
    int64_t rows;
} counter;

static int count_row(void *user, const store_unit *u)
{
    (void)u;
    ((counter *)user)->rows++;
    return 0;
}

static int generate(store *s, int64_t n_units, int64_t *jobs)
{
    static uint8_t fw[32768];
    for (size_t i = 0; i < sizeof fw; i++)
        fw[i] = (uint8_t)mix(i);
    const char *sha = "5a3c0d1e2f4b6a7980c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3";
    store_err e;
    if ((e = store_bulk_begin(s)) != STORE_OK)
        return die(s, e, "bulk begin");
    if ((e = store_image_put(s, sha, "ihex", 0x08000000u, fw, sizeof fw, T0_MS)) != STORE_OK)
        return die(s, e, "image");
    for (int p = 0; p < N_PROBES; p++) {
        char serial[32];
        snprintf(serial, sizeof serial, "066DFF4%09d", p);
        if ((e = store_probe_seen(s, serial, "V2-1", T0_MS)) != STORE_OK)
            return die(s, e, "probe");
    }
    for (int j = 0; j < N_JOBS; j++) {
        store_job in = {.count = n_units / N_JOBS,
                        .has_serial = true,
                        .next_serial = 100000000LL * (j + 1),
                        .serial_step = 1,
                        .created_ms = T0_MS + j,
                        .submitted_uid = 1000};
        snprintf(in.name, sizeof in.name, "bench job %d", j);
        memcpy(in.image, sha, 65);
        in.recipe_json = "{\"chip\":\"stm32f103rb\",\"verify\":\"crc\"}";
        if ((e = store_job_create(s, &in, &jobs[j])) != STORE_OK)
            return die(s, e, "job");
    }
    for (int64_t i = 0; i < n_units; i++) {
        /* jobs run one after another; within a job 16 probes, ~1.5 s a unit */
        int64_t job = jobs[i * N_JOBS / n_units];
        int64_t t = T0_MS + 1000 + i * 100;
        char uid[32], probe[32];
        uid_of((uint64_t)i, uid);
        snprintf(probe, sizeof probe, "066DFF4%09d", (int)(i % N_PROBES));
        uint64_t r = mix((uint64_t)i * 7 + 1);
        int64_t unit = 0, serial = 0, a = 0;
        bool has = false;
        if ((e = store_unit_begin(s, job, probe, uid, "stm32f103rb", t, &unit, &has, &serial)) !=
            STORE_OK)
            return die(s, e, "unit begin");
        if ((e = store_attempt_begin(s, unit, 1, t, &a)) != STORE_OK)
            return die(s, e, "attempt begin");
        const char *result = "ok";
        if (r % 100 < 3) { /* 3 %: first attempt fails, one recovery step */
            if ((e = store_recovery_add(s, unit, a, "halt with interrupts masked, clear FLASH_SR",
                                        true, t + 400)) != STORE_OK ||
                (e = store_attempt_end(s, a, "failed", "program", "PGERR at 0x08000400",
                                       t + 500)) != STORE_OK ||
                (e = store_attempt_begin(s, unit, 2, t + 600, &a)) != STORE_OK)
                return die(s, e, "failed attempt");
            if (r % 1000 < 5)
                result = "failed";
        }
        if ((e = store_attempt_end(s, a, result, "done", NULL, t + 1400)) != STORE_OK ||
            (e = store_unit_end(s, unit, result, NULL, t + 1500)) != STORE_OK)
            return die(s, e, "unit end");
        if ((i + 1) % 100000 == 0) {
            printf("  ... %lld units\n", (long long)(i + 1));
            fflush(stdout);
        }
    }
    if ((e = store_bulk_end(s)) != STORE_OK)
        return die(s, e, "bulk end");
    return 0;
}

int main(int argc, char **argv)
{
    int64_t n_units = argc > 1 ? strtoll(argv[1], NULL, 10) : 1000000;
    const char *base = argc > 2 ? argv[2] : "/var/tmp";
    if (n_units < N_JOBS * 10) {
        fprintf(stderr, "usage: bench_audit [units >= %d] [dir]\n", N_JOBS * 10);
        return 2;
    }
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/bench_auditXXXXXX", base);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_audit: cannot create a directory in %s: %s\n", base,
                strerror(errno));
        return 1;
    }
    snprintf(path, sizeof path, "%s/flashline.db", dir);

    char msg[1024];
    store *s = NULL;
    store_err e = store_open(path, &s, msg, sizeof msg);
    if (e != STORE_OK) {
        fprintf(stderr, "bench_audit: %s\n", msg);
        return 1;
    }
    printf("bench_audit: %lld units in %s\n", (long long)n_units, path);
    int64_t jobs[N_JOBS];
    double t = now_ms();
    int rc = generate(s, n_units, jobs);
    if (rc) {
        store_close(s);
        return rc;
    }
    double gen_s = (now_ms() - t) / 1e3;
    printf("generation: %.1f s (%.0f units/s, with attempts and recovery steps)\n", gen_s,
           (double)n_units / gen_s);

    /* Reopen, as the daemon would after a restart: cold statement cache. */
    store_close(s);
    s = NULL;
    if ((e = store_open(path, &s, msg, sizeof msg)) != STORE_OK) {
        fprintf(stderr, "bench_audit: %s\n", msg);
        return 1;
    }

    static double lat[N_QUERIES];
    counter c = {0};
    printf("queries through store_units_query (newest first):\n");
    srand(42);
    for (int q = 0; q < N_QUERIES; q++) {
        char uid[32];
        uid_of((uint64_t)(((int64_t)rand() * RAND_MAX + rand()) % n_units), uid);
        store_unit_filter f = {.uid = uid};
        double t0 = now_ms();
        if ((e = store_units_query(s, &f, count_row, &c)) != STORE_OK)
            return die(s, e, "query by uid");
        lat[q] = now_ms() - t0;
    }
    if (c.rows < N_QUERIES)
        return fprintf(stderr, "bench_audit: UID queries found %lld rows\n", (long long)c.rows), 1;
    print_stats("by UID", lat, N_QUERIES, c.rows);

    c.rows = 0;
    for (int q = 0; q < N_QUERIES; q++) {
        int j = rand() % N_JOBS;
        store_unit_filter f = {.has_serial = true,
                               .serial = 100000000LL * (j + 1) + rand() % (n_units / N_JOBS)};
        double t0 = now_ms();
        if ((e = store_units_query(s, &f, count_row, &c)) != STORE_OK)
            return die(s, e, "query by serial");
        lat[q] = now_ms() - t0;
    }
    print_stats("by serial number", lat, N_QUERIES, c.rows);

    c.rows = 0;
    for (int q = 0; q < 100; q++) {
        store_unit_filter f = {.job_id = jobs[rand() % N_JOBS], .result = "failed", .limit = 100};
        double t0 = now_ms();
        if ((e = store_units_query(s, &f, count_row, &c)) != STORE_OK)
            return die(s, e, "query by job and result");
        lat[q] = now_ms() - t0;
    }
    print_stats("job's failed units, limit 100", lat, 100, c.rows);

    c.rows = 0;
    for (int q = 0; q < 100; q++) {
        char probe[32];
        snprintf(probe, sizeof probe, "066DFF4%09d", rand() % N_PROBES);
        store_unit_filter f = {.probe = probe, .limit = 100};
        double t0 = now_ms();
        if ((e = store_units_query(s, &f, count_row, &c)) != STORE_OK)
            return die(s, e, "query by probe");
        lat[q] = now_ms() - t0;
    }
    print_stats("probe's latest 100", lat, 100, c.rows);

    c.rows = 0;
    for (int q = 0; q < 100; q++) {
        int64_t since = T0_MS + 1000 + (rand() % n_units) * 100;
        store_unit_filter f = {.since_ms = since, .until_ms = since + 60000, .limit = 1000};
        double t0 = now_ms();
        if ((e = store_units_query(s, &f, count_row, &c)) != STORE_OK)
            return die(s, e, "query by time");
        lat[q] = now_ms() - t0;
    }
    print_stats("one minute of units", lat, 100, c.rows);

    /* The per-unit price of durability: two fsync'd commits per unit. */
    static double commit[N_COMMITS];
    int64_t tnow = T0_MS + 1000 + n_units * 100 + 5000;
    for (int i = 0; i < N_COMMITS; i++) {
        char uid[32];
        uid_of((uint64_t)(n_units + i), uid);
        int64_t unit = 0, serial = 0;
        bool has = false;
        double t0 = now_ms();
        if ((e = store_unit_begin(s, jobs[N_JOBS - 1], "066DFF4000000000", uid, "stm32f103rb",
                                  tnow + i, &unit, &has, &serial)) != STORE_OK ||
            (e = store_unit_end(s, unit, "ok", NULL, tnow + i + 1)) != STORE_OK)
            return die(s, e, "durable unit");
        commit[i] = now_ms() - t0;
    }
    printf("durable unit (store_unit_begin + store_unit_end, synchronous=FULL, WAL):\n");
    print_stats("begin+end", commit, N_COMMITS, N_COMMITS);

    store_close(s);
    char p2[700];
    FILE *fp = fopen(path, "rb");
    if (fp) {
        fseek(fp, 0, SEEK_END);
        printf("database size: %.1f MiB\n", (double)ftell(fp) / (1024.0 * 1024.0));
        fclose(fp);
    }
    unlink(path);
    snprintf(p2, sizeof p2, "%s-wal", path);
    unlink(p2);
    snprintf(p2, sizeof p2, "%s-shm", path);
    unlink(p2);
    rmdir(dir);
    return 0;
}
