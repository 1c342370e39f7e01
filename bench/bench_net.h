/* Shared by bench_conns and bench_export: start a flashlined in a scratch
 * directory (no probes needed: it runs with none), talk raw HTTP/1.1 to it,
 * and read its figures from /proc. Header-only: two small programs. */
#ifndef FLASHLINE_BENCH_NET_H
#define FLASHLINE_BENCH_NET_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline double bn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline int bn_unix(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        close(fd);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static inline int bn_tcp(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static inline int bn_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof in;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&in, sizeof in) == 0 &&
        getsockname(fd, (struct sockaddr *)&in, &len) == 0)
        port = ntohs(in.sin_port);
    close(fd);
    return port;
}

/* One request on a new Unix connection, the answer read to EOF and
 * dropped; its status, or -1. */
static inline int bn_get(const char *sock, const char *target)
{
    int fd = bn_unix(sock);
    if (fd < 0)
        return -1;
    char req[256], buf[16384];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -1;
    }
    int status = -1;
    ssize_t k;
    size_t total = 0;
    while ((k = recv(fd, buf, sizeof buf, 0)) > 0) {
        if (total == 0 && k > 12)
            status = atoi(buf + 9);
        total += (size_t)k;
    }
    close(fd);
    return status;
}

/* flashlined with these arguments, its stderr to log; waits for the socket
 * to answer. */
static inline pid_t bn_start(const char *fld, char *const argv[], const char *sock, const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen(log, "w", stderr);
        (void)f;
        execv(fld, argv);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        usleep(100000);
        if (bn_get(sock, "/v1/jobs") == 200)
            return pid;
    }
    fprintf(stderr, "flashlined did not start; see %s\n", log);
    kill(pid, SIGKILL);
    return -1;
}

static inline void bn_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
}

/* utime + stime of pid, in clock ticks. */
static inline long bn_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2)
        return -1;
    return ut + st;
}

/* A "Vm...:" line of /proc/PID/status, in kB. */
static inline long bn_vm_kb(pid_t pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    long kb = -1;
    size_t kl = strlen(key);
    while (fp && fgets(line, sizeof line, fp))
        if (strncmp(line, key, kl) == 0)
            kb = atol(line + kl + 1);
    if (fp)
        fclose(fp);
    return kb;
}

static inline void bn_raise_nofile(rlim_t want)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static int bn_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#endif
