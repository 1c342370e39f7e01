/*
 * libflashline-usbfast.so: a faster transport for usbfs ioctls on the
 * virtual line's device nodes, preloaded in front of libumockdev-preload.
 *
 * Why: umockdev forwards each ioctl over a socket to one worker thread and
 * reads and writes the caller's memory in further round trips; a command/
 * reply pair with an ST-LINK costs about ten of them, which caps the whole
 * line near 1,200 pairs per second. This library runs inside the client, so
 * it can read and write the URB and its buffer directly and needs exactly
 * one message exchange per ioctl, on a socket per open device handled by
 * its own thread in flashline-sim.
 *
 * Everything else stays umockdev's: sysfs, uevents, the path redirection of
 * open(). A device node without a fast socket next to it (or a launcher
 * without this library) falls back to umockdev's transport unchanged.
 * Built without sanitizers: it is loaded into programs nobody here built.
 */
#define _GNU_SOURCE
#include "usbfast_proto.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/usbdevice_fs.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FDS 64

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int fd, sock;
    pthread_mutex_t lock; /* one exchange at a time on a socket */
} table[MAX_FDS];
static int table_used;

static int (*next_open)(const char *, int, ...);
static int (*next_open64)(const char *, int, ...);
static int (*next_openat)(int, const char *, int, ...);
static int (*next_openat64)(int, const char *, int, ...);
static int (*next___open_2)(const char *, int);
static int (*next___open64_2)(const char *, int);
static int (*next_close)(int);
static int (*next_ioctl)(int, unsigned long, ...);

static void resolve_next(void)
{
    if (next_ioctl)
        return;
    next_open = dlsym(RTLD_NEXT, "open");
    next_open64 = dlsym(RTLD_NEXT, "open64");
    next_openat = dlsym(RTLD_NEXT, "openat");
    next_openat64 = dlsym(RTLD_NEXT, "openat64");
    next___open_2 = dlsym(RTLD_NEXT, "__open_2");
    next___open64_2 = dlsym(RTLD_NEXT, "__open64_2");
    next_close = dlsym(RTLD_NEXT, "close");
    next_ioctl = dlsym(RTLD_NEXT, "ioctl");
}

/* After umockdev has opened a usbfs node, connect its fast socket. */
static void attach(int fd, const char *path)
{
    unsigned bus, dev;
    const char *root = getenv("UMOCKDEV_DIR");
    if (fd < 0 || !root || sscanf(path, "/dev/bus/usb/%3u/%3u", &bus, &dev) != 2)
        return;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int n = snprintf(addr.sun_path, sizeof addr.sun_path, "%s/" USBFAST_DIR "/%03u-%03u.sock", root,
                     bus, dev);
    if (n < 0 || (size_t)n >= sizeof addr.sun_path)
        return;
    int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return;
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) {
        next_close(sock);
        return;
    }
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < MAX_FDS; i++)
        if (table[i].fd == 0) {
            table[i].fd = fd + 1; /* 0 marks a free slot */
            table[i].sock = sock;
            pthread_mutex_init(&table[i].lock, NULL);
            table_used++;
            sock = -1;
            break;
        }
    pthread_mutex_unlock(&table_lock);
    if (sock >= 0)
        next_close(sock); /* table full: umockdev's transport will do */
}

static int slot_of(int fd)
{
    int found = -1;
    pthread_mutex_lock(&table_lock);
    for (int i = 0; table_used && i < MAX_FDS; i++)
        if (table[i].fd == fd + 1) {
            found = i;
            break;
        }
    pthread_mutex_unlock(&table_lock);
    return found;
}

#define WRAP_OPEN(name, type_next)                                                                 \
    int name(const char *path, int flags, ...)                                                     \
    {                                                                                              \
        resolve_next();                                                                            \
        mode_t mode = 0;                                                                           \
        if (flags & (O_CREAT | O_TMPFILE)) {                                                       \
            va_list ap;                                                                            \
            va_start(ap, flags);                                                                   \
            mode = va_arg(ap, mode_t);                                                             \
            va_end(ap);                                                                            \
        }                                                                                          \
        int fd = type_next(path, flags, mode);                                                     \
        attach(fd, path);                                                                          \
        return fd;                                                                                 \
    }

WRAP_OPEN(open, next_open)
WRAP_OPEN(open64, next_open64)

#define WRAP_OPENAT(name, type_next)                                                               \
    int name(int dirfd, const char *path, int flags, ...)                                          \
    {                                                                                              \
        resolve_next();                                                                            \
        mode_t mode = 0;                                                                           \
        if (flags & (O_CREAT | O_TMPFILE)) {                                                       \
            va_list ap;                                                                            \
            va_start(ap, flags);                                                                   \
            mode = va_arg(ap, mode_t);                                                             \
            va_end(ap);                                                                            \
        }                                                                                          \
        int fd = type_next(dirfd, path, flags, mode);                                              \
        attach(fd, path);                                                                          \
        return fd;                                                                                 \
    }

WRAP_OPENAT(openat, next_openat)
WRAP_OPENAT(openat64, next_openat64)

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
    resolve_next();
    int fd = next___open_2(path, flags);
    attach(fd, path);
    return fd;
}

int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
    resolve_next();
    int fd = next___open64_2(path, flags);
    attach(fd, path);
    return fd;
}

int close(int fd)
{
    resolve_next();
    int i = slot_of(fd);
    if (i >= 0) {
        pthread_mutex_lock(&table_lock);
        next_close(table[i].sock);
        pthread_mutex_destroy(&table[i].lock);
        table[i].fd = 0;
        table_used--;
        pthread_mutex_unlock(&table_lock);
    }
    return next_close(fd);
}

/* One request/reply exchange. Returns the ioctl result, errno set. */
static int exchange(int i, const usbfast_msg *req, size_t reqlen, usbfast_msg *rep, size_t replen)
{
    pthread_mutex_lock(&table[i].lock);
    ssize_t n = send(table[i].sock, req, reqlen, MSG_NOSIGNAL);
    if (n == (ssize_t)reqlen)
        n = recv(table[i].sock, rep, replen, 0);
    pthread_mutex_unlock(&table[i].lock);
    if (n < (ssize_t)sizeof(usbfast_msg)) {
        errno = ENODEV; /* the launcher went away: the device is gone */
        return -1;
    }
    errno = rep->err;
    return rep->err ? -1 : 0;
}

static int fast_submit(int i, struct usbdevfs_urb *urb)
{
    size_t len = urb->buffer_length > 0 ? (size_t)urb->buffer_length : 0;
    if (len > USBFAST_MAX_DATA || (len && !urb->buffer)) {
        errno = EINVAL;
        return -1;
    }
    /* OUT data, or a control transfer's setup packet and OUT stage, goes
     * with the request; IN buffers come back with the reap. */
    bool send_data = urb->type == USBDEVFS_URB_TYPE_CONTROL || !(urb->endpoint & 0x80);
    size_t reqlen = sizeof(usbfast_msg) + (send_data ? len : 0);
    usbfast_msg *req = malloc(reqlen);
    if (!req) {
        errno = ENOMEM;
        return -1;
    }
    memset(req, 0, sizeof *req);
    req->op = USBFAST_SUBMIT;
    req->urb = (uint64_t)(uintptr_t)urb;
    req->type = urb->type;
    req->endpoint = urb->endpoint;
    req->len = (uint32_t)len;
    if (send_data && len)
        memcpy(req->data, urb->buffer, len);
    usbfast_msg rep;
    int r = exchange(i, req, reqlen, &rep, sizeof rep);
    free(req);
    return r;
}

static int fast_reap(int fd, int i, void **out, bool block)
{
    size_t replen = sizeof(usbfast_msg) + USBFAST_MAX_DATA;
    usbfast_msg *rep = malloc(replen);
    if (!rep) {
        errno = ENOMEM;
        return -1;
    }
    usbfast_msg req = {.op = USBFAST_REAP};
    int r;
    for (;;) {
        r = exchange(i, &req, sizeof req, rep, replen);
        if (r == 0 || !block || errno != EAGAIN)
            break;
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        poll(&pfd, 1, -1); /* usbfs REAPURB blocks until a URB is done */
    }
    if (r == 0) {
        struct usbdevfs_urb *urb = (struct usbdevfs_urb *)(uintptr_t)rep->urb;
        urb->status = rep->status;
        urb->actual_length = rep->actual;
        if (rep->len && urb->buffer) {
            /* control IN data lands after the 8-byte setup packet */
            size_t off = urb->type == USBDEVFS_URB_TYPE_CONTROL ? 8 : 0;
            memcpy((uint8_t *)urb->buffer + off, rep->data, rep->len);
        }
        *out = urb;
    }
    int saved = errno;
    free(rep);
    errno = saved;
    return r;
}

int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    resolve_next();
    int i = slot_of(fd);
    if (i < 0)
        return next_ioctl(fd, request, arg);
    usbfast_msg req = {.op = USBFAST_IOCTL, .request = request}, rep;
    switch (request) {
    case USBDEVFS_SUBMITURB:
        return fast_submit(i, arg);
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY:
        return fast_reap(fd, i, arg, request == USBDEVFS_REAPURB);
    case USBDEVFS_DISCARDURB:
        req.op = USBFAST_DISCARD;
        req.urb = (uint64_t)(uintptr_t)arg;
        return exchange(i, &req, sizeof req, &rep, sizeof rep);
    case USBDEVFS_GET_CAPABILITIES:
        if (exchange(i, &req, sizeof req, &rep, sizeof rep) != 0)
            return -1;
        *(uint32_t *)arg = rep.value;
        return 0;
    default:
        return exchange(i, &req, sizeof req, &rep, sizeof rep);
    }
}
