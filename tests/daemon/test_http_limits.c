/*
 * daemon/http under abuse: connection and stream caps, descriptor
 * exhaustion, slow and malformed requests, the Host check, the headers on
 * every response, streamed bodies. The server runs on a libuv loop in this
 * thread; the client speaks raw HTTP/1.1 from a second thread (raw, because
 * what matters here is exactly what is sent and when).
 */
#define _GNU_SOURCE /* mkdtemp */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define MAX_TEST_HEAD 12000

typedef struct fx fx;
struct fx {
    uv_loop_t loop;
    http_server *srv;
    http_config cfg;
    char dir[40], sock[64];
    int port;
    void (*client)(fx *);
    pthread_t th;
    uv_async_t done;
    atomic_int calls, stream_frees;
    char out[8][4096];
    size_t outlen[8];
    double secs[8];
};

/* ------------------------------------------------------------ the server */

typedef struct counter {
    fx *f;
    size_t sent, total;
} counter;

/* A body of total bytes, i-th byte (char)('a' + i % 26), given in pieces of
 * at most 1000 bytes, some calls giving nothing. */
static size_t counter_next(void *user, char *buf, size_t cap, bool *done)
{
    counter *c = user;
    if (c->sent % 3000 == 1000) {
        c->sent++; /* an empty call now and then */
        buf[0] = (char)('a' + (c->sent - 1) % 26);
        return 1;
    }
    size_t n = c->total - c->sent;
    if (n > cap)
        n = cap;
    if (n > 1000)
        n = 1000;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + (c->sent + i) % 26);
    c->sent += n;
    *done = c->sent == c->total;
    return n;
}

static void counter_free(void *user)
{
    counter *c = user;
    atomic_fetch_add(&c->f->stream_frees, 1);
    free(c);
}

static void handler(void *user, const http_request *req, http_response *out)
{
    fx *f = user;
    atomic_fetch_add(&f->calls, 1);
    if (strcmp(req->path, "/stream") == 0) {
        counter *c = calloc(1, sizeof *c);
        c->f = f;
        c->total = 1000000;
        out->status = 200;
        out->content_type = "text/plain";
        out->stream = counter_next;
        out->stream_user = c;
        out->stream_free = counter_free;
        return;
    }
    out->status = 200;
    out->content_type = "text/plain";
    out->body = strdup("hello");
    out->body_len = 5;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/flashline-lim-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->sock, sizeof f->sock, "%s/api.sock", f->dir);
    f->cfg.unix_path = f->sock;
    f->cfg.sse_path = "/v1/events";
    f->cfg.handler = handler;
    f->cfg.user = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    unlink(f->sock);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_done(uv_async_t *a)
{
    fx *f = a->data;
    http_stop(f->srv);
    f->srv = NULL;
    uv_close((uv_handle_t *)&f->done, on_closed);
}

static void *client_main(void *arg)
{
    fx *f = arg;
    f->client(f);
    uv_async_send(&f->done);
    return NULL;
}

static int free_tcp_port(void)
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

static void run(fx *f)
{
    char msg[256] = "";
    assert_int_equal(uv_loop_init(&f->loop), 0);
    http_err e = http_start(&f->loop, &f->cfg, &f->srv, msg, sizeof msg);
    if (e != HTTP_OK)
        fail_msg("http_start: %d %s", e, msg);
    uv_async_init(&f->loop, &f->done, on_done);
    f->done.data = f;
    assert_int_equal(pthread_create(&f->th, NULL, client_main, f), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    pthread_join(f->th, NULL);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

/* ------------------------------------------------------------ the client */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int unix_conn(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* From source address src (127.0.0.x) to 127.0.0.1:port. */
static int tcp_conn(int port, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &a.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read until the server closes or timeout_ms passes; NUL-terminated. */
static size_t read_all(int fd, char *out, size_t cap, int timeout_ms)
{
    size_t len = 0;
    double end = now_s() + timeout_ms / 1000.0;
    while (len + 1 < cap) {
        int left = (int)((end - now_s()) * 1000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        ssize_t n = recv(fd, out + len, cap - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    out[len] = '\0';
    return len;
}

static void send_str(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* One request on a new connection; the answer into f->out[i]. */
static void ask(fx *f, int i, int fd, const char *req)
{
    double t0 = now_s();
    if (fd < 0) {
        snprintf(f->out[i], sizeof f->out[i], "(no connection)");
        return;
    }
    send_str(fd, req);
    f->outlen[i] = read_all(fd, f->out[i], sizeof f->out[i], 5000);
    f->secs[i] = now_s() - t0;
    close(fd);
}

static void assert_status(const char *resp, const char *status, const char *code)
{
    char line[64];
    snprintf(line, sizeof line, "HTTP/1.1 %s", status);
    if (strncmp(resp, line, strlen(line)) != 0)
        fail_msg("want %s, got: %.300s", line, resp);
    if (code) {
        char c[64];
        snprintf(c, sizeof c, "\"code\":\"%s\"", code);
        if (!strstr(resp, c))
            fail_msg("want code %s, got: %.600s", code, resp);
    }
}

/* ------------------------------------------------------------------ tests */

static void caps_client(fx *f)
{
    char req[160];
    snprintf(req, sizeof req, "GET /x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", f->port);
    /* Three idle connections from 127.0.0.2: the fourth is over its cap. */
    int idle[8], n = 0;
    for (int i = 0; i < 3; i++)
        idle[n++] = tcp_conn(f->port, "127.0.0.2");
    ask(f, 0, tcp_conn(f->port, "127.0.0.2"), req);
    /* 3 + 3 + 1 = 7 = 8 less the eighth kept for the Unix socket. */
    for (int i = 0; i < 3; i++)
        idle[n++] = tcp_conn(f->port, "127.0.0.3");
    idle[n++] = tcp_conn(f->port, "127.0.0.4");
    usleep(200000); /* all accepted */
    ask(f, 1, tcp_conn(f->port, "127.0.0.5"), req);
    /* The local operator still gets in. */
    ask(f, 2, unix_conn(f->sock), "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int i = 0; i < n; i++)
        close(idle[i]);
    usleep(200000);
    /* Room again once they are gone. */
    ask(f, 3, tcp_conn(f->port, "127.0.0.5"), req);

    /* One event stream allowed: the second is refused. */
    int sse = unix_conn(f->sock);
    send_str(sse, "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n");
    char first[256];
    struct pollfd p = {.fd = sse, .events = POLLIN};
    poll(&p, 1, 2000);
    ssize_t k = recv(sse, first, sizeof first - 1, 0);
    first[k > 0 ? k : 0] = '\0';
    snprintf(f->out[4], sizeof f->out[4], "%s", first);
    ask(f, 5, unix_conn(f->sock), "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n");
    close(sse);
}

static void caps_answer_503(void **state)
{
    fx *f = *state;
    f->port = free_tcp_port();
    f->cfg.tcp_addr = "127.0.0.1";
    f->cfg.tcp_port = f->port;
    f->cfg.max_conns = 8;
    f->cfg.max_conns_per_peer = 3;
    f->cfg.max_streams = 1;
    f->client = caps_client;
    run(f);
    assert_status(f->out[0], "503", "unavailable");
    assert_non_null(strstr(f->out[0], "http_max_connections_per_peer"));
    assert_status(f->out[1], "503", "unavailable");
    assert_non_null(strstr(f->out[1], "raise http_max_connections"));
    assert_status(f->out[2], "200", NULL);
    assert_status(f->out[3], "200", NULL);
    assert_status(f->out[4], "200", NULL);
    assert_non_null(strstr(f->out[4], "text/event-stream"));
    assert_status(f->out[5], "503", "unavailable");
    assert_non_null(strstr(f->out[5], "http_max_streams"));
}

static void slow_client(fx *f)
{
    /* A body a byte at a time: cut at the request deadline with 408. */
    int fd = unix_conn(f->sock);
    double t0 = now_s();
    send_str(fd, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
    for (int i = 0; i < 12; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 500) > 0)
            break;
        send_str(fd, "a");
    }
    f->outlen[0] = read_all(fd, f->out[0], sizeof f->out[0], 3000);
    f->secs[0] = now_s() - t0;
    close(fd);

    /* The head a byte at a time: the same. */
    fd = unix_conn(f->sock);
    t0 = now_s();
    const char *head = "GET /x HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    for (const char *c = head; *c; c++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 300) > 0)
            break;
        char b[2] = {*c, 0};
        send_str(fd, b);
    }
    f->outlen[1] = read_all(fd, f->out[1], sizeof f->out[1], 3000);
    f->secs[1] = now_s() - t0;
    close(fd);

    /* A connection that says nothing is closed at the idle timeout. */
    fd = unix_conn(f->sock);
    t0 = now_s();
    f->outlen[2] = read_all(fd, f->out[2], sizeof f->out[2], 5000);
    f->secs[2] = now_s() - t0;
    close(fd);

    /* An event stream outlives the request deadline. */
    fd = unix_conn(f->sock);
    send_str(fd, "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n");
    f->outlen[3] = read_all(fd, f->out[3], sizeof f->out[3], 3500);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char b;
    /* Still open: nothing more to read, and no EOF. */
    f->secs[3] = poll(&p, 1, 0) == 0 || recv(fd, &b, 1, MSG_DONTWAIT) > 0 ? 1 : 0;
    close(fd);
}

static void slow_requests_time_out(void **state)
{
    fx *f = *state;
    f->cfg.request_timeout_ms = 1500;
    f->cfg.idle_timeout_ms = 1000;
    f->cfg.sse_keepalive_ms = 500;
    f->client = slow_client;
    run(f);
    assert_status(f->out[0], "408", "request_timeout");
    assert_true(f->secs[0] > 1.2 && f->secs[0] < 3.5);
    assert_status(f->out[1], "408", "request_timeout");
    assert_true(f->secs[1] > 1.2 && f->secs[1] < 3.5);
    assert_int_equal(f->outlen[2], 0);
    assert_true(f->secs[2] > 0.8 && f->secs[2] < 2.5);
    assert_status(f->out[3], "200", NULL);
    assert_non_null(strstr(f->out[3], ": keepalive"));
    assert_int_equal(f->secs[3], 1);
    assert_int_equal(atomic_load(&f->calls), 0);
}

static void bad_heads_client(fx *f)
{
    char big[MAX_TEST_HEAD];
    int n = snprintf(big, sizeof big, "GET /x HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + n, 'b', 9000);
    snprintf(big + n + 9000, sizeof big - (size_t)n - 9000, "\r\n\r\n");
    ask(f, 0, unix_conn(f->sock), big);
    ask(f, 1, unix_conn(f->sock), "GET /x?a=%00 HTTP/1.1\r\nHost: x\r\n\r\n");
    ask(f, 2, unix_conn(f->sock), "GET /x?a=%zz HTTP/1.1\r\nHost: x\r\n\r\n");
    ask(f, 3, unix_conn(f->sock), "GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    ask(f, 4, unix_conn(f->sock), "DELETE /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
    /* A head just under the limit is served. */
    n = snprintf(big, sizeof big, "GET /x HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + n, 'b', 7000);
    snprintf(big + n + 7000, sizeof big - (size_t)n - 7000, "\r\n\r\n");
    ask(f, 5, unix_conn(f->sock), big);
}

static void bad_heads_get_answers(void **state)
{
    fx *f = *state;
    f->client = bad_heads_client;
    run(f);
    assert_status(f->out[0], "431", "headers_too_large");
    assert_status(f->out[1], "400", "bad_request");
    assert_non_null(strstr(f->out[1], "%00"));
    assert_status(f->out[2], "400", "bad_request");
    assert_status(f->out[3], "400", "bad_request");
    assert_non_null(strstr(f->out[3], "GET takes no body"));
    assert_status(f->out[4], "400", "bad_request");
    assert_status(f->out[5], "200", NULL);
    assert_int_equal(atomic_load(&f->calls), 1);
}

static void host_client(fx *f)
{
    char req[200];
    const char *hosts[] = {"evil.example:%d", "localhost:%d", "127.0.0.1",
                           "line7.local:%d",  "LINE7.local",  "line7.local:1"};
    for (int i = 0; i < 6; i++) {
        char h[64];
        snprintf(h, sizeof h, hosts[i], f->port);
        snprintf(req, sizeof req, "GET /x HTTP/1.1\r\nHost: %s\r\n\r\n", h);
        ask(f, i, tcp_conn(f->port, "127.0.0.1"), req);
    }
    ask(f, 6, unix_conn(f->sock), "GET /x HTTP/1.1\r\nHost: evil.example\r\n\r\n");
}

static void host_is_checked_on_tcp(void **state)
{
    fx *f = *state;
    f->port = free_tcp_port();
    f->cfg.tcp_addr = "127.0.0.1";
    f->cfg.tcp_port = f->port;
    f->client = host_client;
    run(f);
    assert_status(f->out[0], "421", "misdirected");
    assert_non_null(strstr(f->out[0], "http_hosts"));
    assert_status(f->out[1], "200", NULL);
    assert_status(f->out[2], "200", NULL);
    assert_status(f->out[3], "421", "misdirected"); /* not a default name */
    assert_status(f->out[6], "200", NULL);          /* no check on the Unix socket */

    /* Configured names replace the defaults. */
    const char *const mine[] = {"line7.local", NULL};
    f->cfg.hosts = mine;
    f->port = free_tcp_port();
    f->cfg.tcp_port = f->port;
    run(f);
    assert_status(f->out[1], "421", "misdirected");
    assert_status(f->out[3], "200", NULL);
    assert_status(f->out[4], "200", NULL);
    assert_status(f->out[5], "421", "misdirected"); /* another port */
}

static void headers_client(fx *f)
{
    ask(f, 0, unix_conn(f->sock), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ask(f, 1, unix_conn(f->sock), "GET /nowhere%zz HTTP/1.1\r\nHost: x\r\n\r\n");
}

static void every_response_refuses_framing(void **state)
{
    fx *f = *state;
    f->client = headers_client;
    run(f);
    for (int i = 0; i < 2; i++) {
        assert_non_null(strcasestr(f->out[i], "\r\nx-frame-options: DENY\r\n"));
        assert_non_null(
            strcasestr(f->out[i], "\r\ncontent-security-policy: frame-ancestors 'none'\r\n"));
        assert_non_null(strcasestr(f->out[i], "\r\nx-content-type-options: nosniff\r\n"));
        assert_non_null(strcasestr(f->out[i], "\r\nconnection: close\r\n"));
    }
}

static void stream_client(fx *f)
{
    int fd = unix_conn(f->sock);
    send_str(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    size_t cap = 1100000, len = 0;
    char *buf = malloc(cap);
    len = read_all(fd, buf, cap, 10000);
    close(fd);
    char *body = strstr(buf, "\r\n\r\n");
    size_t hlen = body ? (size_t)(body - buf) + 4 : 0;
    f->outlen[0] = body ? len - hlen : 0;
    bool ok = body != NULL;
    for (size_t i = 0; ok && i < f->outlen[0]; i++)
        ok = buf[hlen + i] == (char)('a' + i % 26);
    f->secs[0] = ok;
    snprintf(f->out[0], sizeof f->out[0], "%.*s", (int)hlen, buf);
    free(buf);

    /* A reader that goes away mid-body: the producer is still freed. */
    fd = unix_conn(f->sock);
    send_str(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    char some[100];
    read_all(fd, some, sizeof some, 500);
    close(fd);
    usleep(300000);
}

static void streamed_bodies(void **state)
{
    fx *f = *state;
    f->client = stream_client;
    run(f);
    assert_status(f->out[0], "200", NULL);
    assert_null(strcasestr(f->out[0], "content-length"));
    assert_int_equal(f->outlen[0], 1000000);
    assert_int_equal(f->secs[0], 1);
    assert_int_equal(atomic_load(&f->stream_frees), 2);
}

/* ------------------------------------------------- out of file descriptors */

static long cpu_ticks(pid_t pid)
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
    /* fields after the command: state(3) ... utime(14) stime(15) */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2)
        return -1;
    return ut + st;
}

typedef struct child_ctx {
    uv_poll_t ctl;
    int ctl_fd;
    int first_filler, last_filler;
} child_ctx;

static void on_ctl(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    child_ctx *c = h->data;
    char b;
    if (read(c->ctl_fd, &b, 1) == 1 && b == 'f') {
        for (int fd = c->first_filler; fd <= c->last_filler; fd++)
            close(fd);
        c->first_filler = c->last_filler + 1;
    }
}

/* The child: a server at RLIMIT_NOFILE 64 with every descriptor taken. */
static void emfile_child(fx *f, int ready_fd, int ctl_fd)
{
    struct rlimit rl = {64, 64};
    setrlimit(RLIMIT_NOFILE, &rl);
    uv_loop_t loop;
    uv_loop_init(&loop);
    http_server *s = NULL;
    char msg[256];
    if (http_start(&loop, &f->cfg, &s, msg, sizeof msg) != HTTP_OK)
        _exit(3);
    child_ctx c = {.ctl_fd = ctl_fd, .first_filler = -1, .last_filler = -2};
    uv_poll_init(&loop, &c.ctl, ctl_fd);
    c.ctl.data = &c;
    uv_poll_start(&c.ctl, UV_READABLE, on_ctl);
    for (;;) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            break;
        if (c.first_filler < 0)
            c.first_filler = fd;
        c.last_filler = fd;
    }
    if (write(ready_fd, "r", 1) != 1)
        _exit(4);
    uv_run(&loop, UV_RUN_DEFAULT);
    _exit(0);
}

static void emfile_does_not_spin(void **state)
{
    fx *f = *state;
    int ready[2], ctl[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(ctl), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(ctl[1]);
        emfile_child(f, ready[1], ctl[0]);
    }
    close(ready[1]);
    close(ctl[0]);
    char b;
    assert_int_equal(read(ready[0], &b, 1), 1);

    /* The connection waits in the backlog: accept() fails with EMFILE. */
    int fd = unix_conn(f->sock);
    assert_true(fd >= 0);
    send_str(fd, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(200000);
    long t0 = cpu_ticks(pid);
    sleep(1);
    long t1 = cpu_ticks(pid);
    long hz = sysconf(_SC_CLK_TCK);
    char out[1024];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int answered_early = poll(&p, 1, 0);

    /* Descriptors free: the waiting request is served. */
    assert_int_equal(write(ctl[1], "f", 1), 1);
    read_all(fd, out, sizeof out, 3000);
    close(fd);
    kill(pid, SIGKILL); /* before any assertion can leave it running */
    int st;
    waitpid(pid, &st, 0);
    close(ready[0]);
    close(ctl[1]);
    /* Spinning on accept() would use the whole second. */
    if (t1 - t0 > hz / 5)
        fail_msg("the server used %ld of %ld ticks in a second while out of descriptors", t1 - t0,
                 hz);
    assert_int_equal(answered_early, 0);
    assert_status(out, "200", NULL);
    assert_non_null(strstr(out, "hello"));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(caps_answer_503, setup, teardown),
        cmocka_unit_test_setup_teardown(slow_requests_time_out, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_heads_get_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(host_is_checked_on_tcp, setup, teardown),
        cmocka_unit_test_setup_teardown(every_response_refuses_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(streamed_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(emfile_does_not_spin, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
