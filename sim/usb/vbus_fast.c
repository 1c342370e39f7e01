/*
 * The fast transport's side in this process (see fastpath/usbfast.c for
 * the client side): one socket per device node, one thread per connection,
 * each request served through the same URB engine as umockdev's ioctls.
 */
#define _GNU_SOURCE
#include "vbus_internal.h"

/* ---- the fast transport (see fastpath/usbfast.c) ----------------------------- */

typedef struct fconn {
    vprobe *p;
    int fd;
} fconn;

/* One request; fills the reply and returns its length. */
static size_t fast_request(vprobe *p, int owner, const usbfast_msg *req, size_t reqlen,
                           usbfast_msg *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->op = req->op;
    if (!p->plugged) {
        rep->err = ENODEV;
        return sizeof *rep;
    }
    switch (req->op) {
    case USBFAST_SUBMIT: {
        size_t carried = reqlen - sizeof *req;
        if (req->len > USBFAST_MAX_DATA || (carried && carried != req->len)) {
            rep->err = EINVAL;
            break;
        }
        vurb *u = g_new0(vurb, 1);
        u->client_addr = (gulong)req->urb;
        u->owner = owner;
        u->type = req->type;
        u->endpoint = req->endpoint;
        u->len = req->len;
        u->data = u->len ? g_malloc0(u->len) : NULL;
        u->own_data = true;
        if (carried)
            memcpy(u->data, req->data, carried);
        rep->err = urb_submit(p, u);
        if (rep->err)
            vurb_free(u);
        break;
    }
    case USBFAST_REAP: {
        int e = 0;
        vurb *u = urb_take_reapable(p, owner, &e);
        if (!u) {
            rep->err = e;
            break;
        }
        rep->urb = u->client_addr;
        rep->status = u->status;
        rep->actual = u->actual;
        const uint8_t *from = NULL;
        if (u->type == USBDEVFS_URB_TYPE_CONTROL && u->len >= 8 && (u->data[0] & 0x80))
            from = u->data + 8;
        else if (u->type != USBDEVFS_URB_TYPE_CONTROL && (u->endpoint & 0x80))
            from = u->data;
        if (from && u->actual > 0) {
            rep->len = (uint32_t)u->actual;
            memcpy(rep->data, from, rep->len);
        }
        vurb_free(u);
        break;
    }
    case USBFAST_DISCARD:
        rep->err = urb_discard(p, (gulong)req->urb);
        break;
    case USBFAST_IOCTL:
        if (req->request == USBDEVFS_GET_CAPABILITIES)
            rep->value = USBFS_CAPS;
        else
            rep->err = urb_simple_ioctl(p, (unsigned long)req->request);
        break;
    default:
        rep->err = EINVAL;
        break;
    }
    return sizeof *rep + rep->len;
}

static void fast_thread_done(vbus *bus)
{
    g_mutex_lock(&bus->lock);
    bus->fast_threads--;
    g_cond_broadcast(&bus->fast_done);
    g_mutex_unlock(&bus->lock);
}

static gpointer fast_conn_main(gpointer data)
{
    fconn *c = data;
    vprobe *p = c->p;
    vbus *bus = p->bus;
    size_t cap = sizeof(usbfast_msg) + USBFAST_MAX_DATA;
    usbfast_msg *req = g_malloc(cap), *rep = g_malloc(cap);
    for (;;) {
        ssize_t n = recv(c->fd, req, cap, 0);
        if (n < (ssize_t)sizeof *req)
            break; /* closed by the client, or shut down by an unplug */
        g_mutex_lock(&bus->lock);
        size_t len = fast_request(p, c->fd, req, (size_t)n, rep);
        g_mutex_unlock(&bus->lock);
        if (send(c->fd, rep, len, MSG_NOSIGNAL) != (ssize_t)len)
            break;
    }
    g_mutex_lock(&bus->lock);
    p->fast_conns = g_slist_remove(p->fast_conns, GINT_TO_POINTER(c->fd));
    /* The kernel kills a closed file's URBs (a process that died with
     * transfers pending, kill -9): their replies must never reach the next
     * process to open the device. */
    urb_purge_owner(p, c->fd);
    g_mutex_unlock(&bus->lock);
    close(c->fd);
    g_free(req);
    g_free(rep);
    g_free(c);
    fast_thread_done(bus);
    return NULL;
}

static gpointer fast_accept_main(gpointer data)
{
    vprobe *p = data;
    vbus *bus = p->bus;
    int lfd = p->fast_listen;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break; /* shut down by an unplug */
        }
        int sz = (int)(sizeof(usbfast_msg) + USBFAST_MAX_DATA) * 2;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
        fconn *c = g_new0(fconn, 1);
        c->p = p;
        c->fd = fd;
        g_mutex_lock(&bus->lock);
        p->fast_conns = g_slist_prepend(p->fast_conns, GINT_TO_POINTER(fd));
        bus->fast_threads++;
        g_mutex_unlock(&bus->lock);
        g_thread_unref(g_thread_new("vbus-fast", fast_conn_main, c));
    }
    fast_thread_done(bus);
    return NULL;
}

void fast_start(vprobe *p)
{
    vbus *bus = p->bus;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int n = snprintf(addr.sun_path, sizeof addr.sun_path, "%s/" USBFAST_DIR "/001-%03d.sock",
                     bus->root, p->devnum);
    p->fast_listen = -1;
    if (n < 0 || (size_t)n >= sizeof addr.sun_path)
        return; /* path too long: umockdev's transport still works */
    unlink(addr.sun_path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 8) != 0) {
        if (fd >= 0)
            close(fd);
        return;
    }
    int sz = (int)(sizeof(usbfast_msg) + USBFAST_MAX_DATA) * 2;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    p->fast_listen = fd;
    bus->fast_threads++;
    p->fast_accept = g_thread_new("vbus-accept", fast_accept_main, p);
}

/* Called with the lock held: make every fast thread of p leave. */
void fast_stop(vprobe *p)
{
    if (p->fast_listen < 0)
        return;
    char path[sizeof((struct sockaddr_un *)0)->sun_path];
    snprintf(path, sizeof path, "%s/" USBFAST_DIR "/001-%03d.sock", p->bus->root, p->devnum);
    unlink(path);
    shutdown(p->fast_listen, SHUT_RDWR);
    for (GSList *l = p->fast_conns; l; l = l->next)
        shutdown(GPOINTER_TO_INT(l->data), SHUT_RDWR);
    /* The accept thread closes nothing; close its socket once it is gone. */
    GThread *t = p->fast_accept;
    int lfd = p->fast_listen;
    p->fast_accept = NULL;
    p->fast_listen = -1;
    g_mutex_unlock(&p->bus->lock);
    g_thread_join(t);
    g_mutex_lock(&p->bus->lock);
    close(lfd);
}
