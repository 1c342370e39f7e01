/*
 * The virtual USB bus on umockdev (see vbus.h).
 *
 * How a transfer flows: libusb submits a URB with USBDEVFS_SUBMITURB; the
 * preload forwards the ioctl to umockdev's worker thread in this process,
 * where on_ioctl() resolves the URB and its buffer out of the client's
 * memory. A bulk OUT URB goes to the protocol engine at once; a bulk IN URB
 * waits until the engine has a reply. A finished URB is "reapable"; the
 * device node is a FIFO kept full while nothing is reapable, so the
 * client's poll() for POLLOUT (which is what libusb waits on) wakes exactly
 * when a URB can be reaped, just as usbfs behaves. A regular-file node
 * would always poll ready and make libusb spin (libusb's Linux backend polls
 * usbfs for POLLOUT to reap URBs).
 *
 * Locking: every entry point takes bus->lock; the umockdev worker thread
 * (ioctls), the control thread and timers all go through it.
 */
#define _GNU_SOURCE
#include "vbus.h"

#include "board.h"
#include "usbfast_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <linux/usbdevice_fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <umockdev.h>
#include <unistd.h>

#define MAX_PROBES 32
#define FIFO_CHUNK 4096
/* The hub every probe hangs off: the first device on the root hub's port 1,
 * so its sysfs name is "1-1", its interface "1-1:1.0" and its ports
 * "1-1-portN" (kernel drivers/usb/core/port.c names them "%s-port%d" after
 * the hub device). Probe i sits on port i + 1. */
#define HUB_NAME      "1-1"
#define HUB_MIN_PORTS 4
/* From a port's power coming back to the probe being enumerated: the hub's
 * bPwrOn2PwrGood (USB 2.0 11.23.2.1, 100 ms here), the attach debounce
 * TATTDB (7.1.7.3, 100 ms), the port reset and the ST-LINK firmware's own
 * boot. Real probes take longer, not shorter. */
#define PORT_ON_ENUM_MS 300

/* umockdev_ioctl_data_resolve() returns a new reference (Vala "owned"), on
 * top of the one the parent keeps in its children: every resolve is
 * matched by an unref here. */
typedef struct vurb {
    gulong client_addr; /* where the URB lives in the client: its identity */
    int owner;          /* fast transport: the connection that submitted it (0: umockdev) */
    uint8_t type, endpoint;
    int status, actual; /* the completion, as usbfs reports it */
    size_t len;         /* buffer length */
    uint8_t *data;      /* the buffer: umockdev's copy, or our own */
    bool own_data;
    uint64_t ready_wall_ns; /* when a finished IN URB may be reaped (speed > 0) */
    /* umockdev transport only */
    UMockdevIoctlData *urb; /* the struct usbdevfs_urb, resolved (our ref) */
    UMockdevIoctlData *buf; /* its buffer, resolved (our ref; may be NULL) */
} vurb;

typedef struct vprobe {
    struct vbus *bus;
    stlink_kind kind;
    char serial[25];
    char chip[24];
    stlink_probe *engine;
    sim_board *board;
    uint64_t board_seed;
    uint64_t swaps; /* boards swapped onto this fixture so far */
    bool plugged;   /* enumerated: in the testbed */
    bool attached;  /* its cable is in the hub (unplug/plug) */
    bool reenumerate_on_reset;
    int port;          /* hub port, 1-based */
    GSource *enum_src; /* enumeration pending after port power came back */
    int devnum;
    char name[16];    /* sysfs name, "1-3" */
    char *syspath;    /* as umockdev returned it */
    char devnode[64]; /* /dev/bus/usb/001/003 */
    int fifo_fd;      /* our end of the device node */
    bool fifo_full;
    UMockdevIoctlBase *handler;
    GQueue in_wait;  /* IN URBs waiting for a reply */
    GQueue delayed;  /* finished IN URBs whose reply is still "on the wire" */
    GQueue reapable; /* finished URBs */
    GSource *delay_src;
    uint64_t last_wall_ns;
    uint64_t wall_origin_ns, virt_origin_ns; /* speed > 0: where the two clocks met */
    int fast_listen;                         /* the fast transport's socket, or -1 */
    GThread *fast_accept;                    /* its accept thread */
    GSList *fast_conns;                      /* open connections (int fds) */
} vprobe;

/* One downstream port of the hub (see HUB_NAME). */
typedef struct vport {
    bool powered;
    int wd; /* inotify watch on its disable attribute, or -1 */
} vport;

struct vbus {
    GMutex lock;
    vbus_hub hub;
    char *hub_syspath;    /* the hub device, as umockdev returned it */
    char *hub_if_syspath; /* its interface 1-1:1.0, the parent of the ports */
    int nports;
    vport ports[MAX_PROBES];
    int inotify_fd; /* writes to the ports' disable attributes (ppps), or -1 */
    GSource *inotify_src;
    UMockdevTestbed *tb;
    char *root;
    double speed;
    uint64_t seed;
    int next_devnum;
    size_t n;
    vprobe *probes[MAX_PROBES];
    GMainContext *timer_ctx; /* delayed completions at speed > 0 */
    GMainLoop *timer_loop;
    GThread *timer_thread;
    GCond fast_done;  /* signalled when a fast-transport thread ends */
    int fast_threads; /* fast-transport threads still running */
};

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void say(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

/* ---- descriptors (USB 2.0 chapter 9; ST-LINK layout per stlink-protocol
 * sheet section 1) ---------------------------------------------------------- */

static size_t build_descriptors(const vprobe *p, uint8_t *out)
{
    uint16_t pid = stlink_probe_pid(p->engine);
    uint16_t mps = stlink_probe_max_packet(p->engine);
    uint8_t ep_out = stlink_probe_ep_out(p->engine);
    uint8_t ep_trace = stlink_probe_ep_trace(p->engine);
    const uint8_t dev[18] = {18,   1,          0x00,     0x02, 0,    0, 0, 64, 0x83,
                             0x04, pid & 0xFF, pid >> 8, 0x00, 0x01, 1, 2, 3,  1};
    uint8_t cfg[9 + 9 + 3 * 7] = {
        9, 2, sizeof cfg, 0, 1,          1,        0,    0x80, 50, /* configuration 1, 100 mA */
        9, 4, 0,          0, 3,          0xFF,     0xFF, 0xFF, 4,  /* interface 0: vendor class */
        7, 5, 0x81,       2, mps & 0xFF, mps >> 8, 0,              /* replies */
        7, 5, ep_out,     2, mps & 0xFF, mps >> 8, 0,              /* commands */
        7, 5, ep_trace,   2, mps & 0xFF, mps >> 8, 0,              /* trace (SWO) */
    };
    memcpy(out, dev, sizeof dev);
    memcpy(out + sizeof dev, cfg, sizeof cfg);
    return sizeof dev + sizeof cfg;
}

/* String descriptor idx into out (max len); returns its length or -1. */
static int string_descriptor(const vprobe *p, unsigned idx, uint8_t *out, size_t max)
{
    uint8_t d[64];
    size_t n = 0;
    if (idx == 0) {
        d[0] = 4, d[1] = 3, d[2] = 0x09, d[3] = 0x04; /* English (US) */
        n = 4;
    } else if (idx == 3 && p->kind == STLINK_V2) {
        /* Old ST-LINK/V2 firmware sends the 12 raw serial bytes as UTF-16
         * code units (bLength 26); st-info and OpenOCD print them as hex. */
        d[0] = 26, d[1] = 3;
        for (int i = 0; i < 12; i++) {
            unsigned v = 0;
            sscanf(p->serial + 2 * i, "%2x", &v);
            d[2 + 2 * i] = (uint8_t)v;
            d[3 + 2 * i] = 0;
        }
        n = 26;
    } else {
        const char *s = idx == 1   ? "STMicroelectronics"
                        : idx == 2 ? (p->kind == STLINK_V3 ? "STLINK-V3" : "STM32 STLink")
                        : idx == 3 ? p->serial
                        : idx == 4 ? "ST-Link Debug"
                                   : NULL;
        if (!s)
            return -1;
        size_t len = strlen(s);
        d[0] = (uint8_t)(2 + 2 * len), d[1] = 3;
        for (size_t i = 0; i < len; i++)
            d[2 + 2 * i] = (uint8_t)s[i], d[3 + 2 * i] = 0;
        n = 2 + 2 * len;
    }
    if (n > max)
        n = max;
    memcpy(out, d, n);
    return (int)n;
}

/* ---- readiness ------------------------------------------------------------ */

static void fifo_set_ready(vprobe *p, bool ready)
{
    static const char fill[FIFO_CHUNK];
    char sink[FIFO_CHUNK];
    if (p->fifo_fd < 0)
        return;
    if (ready && p->fifo_full) {
        if (read(p->fifo_fd, sink, sizeof sink) > 0)
            p->fifo_full = false;
    } else if (!ready && !p->fifo_full) {
        if (write(p->fifo_fd, fill, sizeof fill) == (ssize_t)sizeof fill)
            p->fifo_full = true;
    }
}

static void make_reapable(vprobe *p, vurb *u)
{
    g_queue_push_tail(&p->reapable, u);
    fifo_set_ready(p, true);
}

static void vurb_free(vurb *u)
{
    if (u->own_data)
        g_free(u->data);
    if (u->buf)
        g_object_unref(u->buf);
    if (u->urb)
        g_object_unref(u->urb);
    g_free(u);
}

/* ---- the engine side -------------------------------------------------------- */

/*
 * Keep the board's clock with the host's. At speed s > 0 a board's virtual
 * time must never fall behind wall time / s: USB replies, scheduling and
 * the host's own sleeps (st-flash waits 10 ms between polls of a running
 * loader) all take wall time during which a real target runs on. So before
 * each command the board is advanced to where the wall clock says it should
 * be. At speed 0 (no waiting on our side) only the host's think time
 * between a reply and its next command counts, one for one, since the
 * host's sleeps are real.
 */
static void catch_up(vprobe *p)
{
    uint64_t now = wall_ns();
    double speed = p->bus->speed;
    if (speed > 0) {
        uint64_t cur = sim_board_now_ns(p->board);
        if (!p->wall_origin_ns) {
            p->wall_origin_ns = now;
            p->virt_origin_ns = cur;
            return;
        }
        double want = (double)p->virt_origin_ns + (double)(now - p->wall_origin_ns) / speed;
        if (want > (double)cur) {
            double ns = want - (double)cur;
            if (ns > 5e9) { /* a long pause: let 5 s pass, then start counting again */
                ns = 5e9;
                p->wall_origin_ns = now;
                p->virt_origin_ns = cur + (uint64_t)ns;
            }
            stlink_probe_idle(p->engine, (uint64_t)ns);
        }
        return;
    }
    if (p->last_wall_ns && now > p->last_wall_ns) {
        double ns = (double)(now - p->last_wall_ns);
        if (ns > 5e9)
            ns = 5e9;
        stlink_probe_idle(p->engine, (uint64_t)ns);
    }
    p->last_wall_ns = 0;
}

static void schedule_delayed(vprobe *p);

/*
 * When a transfer that ends a command may complete in wall time: after its
 * own time on the wire (cost), and never before the wall clock reaches the
 * board's virtual time. The board can end a command ahead of the host's
 * clock: a core stalled on busy flash jumps to the end of the operation,
 * past the point catch_up() asked for. Without this the host would see
 * the results of a flash operation before it could have finished, and a
 * stub that waits by stalling would program faster than the silicon.
 */
static uint64_t due_wall_ns(const vprobe *p, uint64_t cost)
{
    double speed = p->bus->speed;
    uint64_t due = wall_ns() + (uint64_t)((double)cost * speed);
    if (p->board && p->wall_origin_ns) {
        double ahead = (double)sim_board_now_ns(p->board) - (double)p->virt_origin_ns;
        double at = (double)p->wall_origin_ns + ahead * speed;
        if (at > (double)due)
            due = (uint64_t)at;
    }
    return due;
}

/* At speed > 0 a reply becomes reapable only when the virtual transfer
 * would have finished in wall-clock time. */
static gboolean release_delayed(gpointer data)
{
    vprobe *p = data;
    g_mutex_lock(&p->bus->lock);
    if (g_source_is_destroyed(g_main_current_source())) {
        /* dropped by an unplug while we waited for the lock */
        g_mutex_unlock(&p->bus->lock);
        return G_SOURCE_REMOVE;
    }
    g_source_unref(p->delay_src);
    p->delay_src = NULL;
    uint64_t now = wall_ns();
    vurb *u;
    while ((u = g_queue_peek_head(&p->delayed)) && u->ready_wall_ns <= now)
        make_reapable(p, g_queue_pop_head(&p->delayed));
    schedule_delayed(p);
    g_mutex_unlock(&p->bus->lock);
    return G_SOURCE_REMOVE;
}

static gboolean dispatch_ready(GSource *s, GSourceFunc cb, gpointer data)
{
    (void)s;
    return cb(data);
}

static GSourceFuncs ready_funcs = {NULL, NULL, dispatch_ready, NULL, NULL, NULL};

static void schedule_delayed(vprobe *p)
{
    vurb *u = g_queue_peek_head(&p->delayed);
    if (!u || p->delay_src)
        return;
    /* g_get_monotonic_time() and wall_ns() read the same clock. */
    p->delay_src = g_source_new(&ready_funcs, sizeof(GSource));
    g_source_set_callback(p->delay_src, release_delayed, p, NULL);
    g_source_set_ready_time(p->delay_src, (gint64)(u->ready_wall_ns / 1000));
    g_source_attach(p->delay_src, p->bus->timer_ctx);
}

/* Hand the engine's pending reply to the oldest waiting IN URB. */
static void serve_in(vprobe *p)
{
    while (!g_queue_is_empty(&p->in_wait) && stlink_probe_reply_pending(p->engine)) {
        vurb *u = g_queue_pop_head(&p->in_wait);
        int n = stlink_probe_in(p->engine, u->data, u->data ? u->len : 0);
        u->actual = n > 0 ? n : 0;
        u->status = 0;
        uint64_t cost = stlink_probe_last_cost_ns(p->engine);
        if (p->bus->speed > 0 && cost > 0) {
            u->ready_wall_ns = due_wall_ns(p, cost);
            g_queue_push_tail(&p->delayed, u);
            schedule_delayed(p);
        } else {
            make_reapable(p, u);
        }
    }
}

static void handle_control(vprobe *p, vurb *u)
{
    u->status = -EPIPE; /* stall unless understood */
    u->actual = 0;
    if (!u->data || u->len < 8)
        return;
    uint8_t *setup = u->data;
    uint8_t type = setup[0], req = setup[1];
    unsigned value = setup[2] | setup[3] << 8;
    unsigned length = setup[6] | setup[7] << 8;
    size_t room = u->len - 8;
    if (length < room)
        room = length;
    if (type == 0x80 && req == 6) { /* GET_DESCRIPTOR */
        uint8_t all[18 + 39];
        int n = -1;
        switch (value >> 8) {
        case 1:
            build_descriptors(p, all);
            n = (int)(room < 18 ? room : 18);
            memcpy(setup + 8, all, (size_t)n);
            break;
        case 2: {
            size_t total = build_descriptors(p, all) - 18;
            n = (int)(room < total ? room : total);
            memcpy(setup + 8, all + 18, (size_t)n);
            break;
        }
        case 3:
            n = string_descriptor(p, value & 0xFF, setup + 8, room);
            break;
        }
        if (n >= 0) {
            u->status = 0;
            u->actual = n;
        }
    } else if (type == 0x80 && req == 0 && room >= 2) { /* GET_STATUS */
        setup[8] = 0, setup[9] = 0;
        u->status = 0;
        u->actual = 2;
    } else if ((type & 0x80) == 0 && length == 0) {
        u->status = 0; /* SET_* with no data: accept */
    }
}

/* A URB has arrived: route it. Returns the errno for the submit ioctl. */
static int submit(vprobe *p, vurb *u)
{
    u->status = 0;
    u->actual = 0;
    if (u->type == USBDEVFS_URB_TYPE_CONTROL) {
        if (stlink_probe_hard_wedged(p->engine)) {
            /* Firmware hung with interrupts masked serves EP0 no more than
             * its other endpoints: the request pends until the host's
             * timeout discards it. */
            g_queue_push_tail(&p->in_wait, u);
            return 0;
        }
        handle_control(p, u);
        make_reapable(p, u);
        return 0;
    }
    if (u->type != USBDEVFS_URB_TYPE_BULK)
        return EINVAL;
    if (u->endpoint == stlink_probe_ep_out(p->engine)) {
        catch_up(p);
        size_t len = u->data ? u->len : 0;
        if (stlink_probe_out(p->engine, u->data, len) == 0) {
            u->actual = (int)len;
        } else {
            /* A wedged probe NAKs forever: the host's transfer times out
             * and is discarded by the host. */
            g_queue_push_tail(&p->in_wait, u);
            return 0;
        }
        uint64_t cost = stlink_probe_last_cost_ns(p->engine);
        bool finished = stlink_probe_data_due(p->engine) == 0; /* not a header awaiting data */
        if (p->bus->speed > 0 && finished && !stlink_probe_reply_pending(p->engine) && cost) {
            /* A command without a reply (a memory write): its time on the
             * wire is paid by holding the OUT transfer, or the board would
             * run ahead of the wall clock by it (a 32 KiB write at 1.8 MHz
             * is a quarter of a second). */
            u->ready_wall_ns = due_wall_ns(p, cost);
            g_queue_push_tail(&p->delayed, u);
            schedule_delayed(p);
            return 0;
        }
        make_reapable(p, u);
        serve_in(p);
        return 0;
    }
    if (u->endpoint == 0x81) {
        g_queue_push_tail(&p->in_wait, u);
        serve_in(p);
        return 0;
    }
    if (u->endpoint & 0x80) {
        g_queue_push_tail(&p->in_wait, u); /* trace endpoint: no data */
        return 0;
    }
    return EINVAL;
}

static vurb *take_urb(GQueue *q, gulong client_addr)
{
    for (GList *l = q->head; l; l = l->next) {
        vurb *u = l->data;
        if (u->client_addr == client_addr) {
            g_queue_delete_link(q, l);
            return u;
        }
    }
    return NULL;
}

/* The next finished URB of this owner, or NULL with *e set (EAGAIN, or
 * ENODEV). URBs belong to the open file that submitted them, as in usbfs:
 * another process never reaps them. */
static vurb *take_reapable(vprobe *p, int owner, int *e)
{
    vurb *u = NULL;
    for (GList *l = p->reapable.head; l; l = l->next)
        if (((vurb *)l->data)->owner == owner) {
            u = l->data;
            g_queue_delete_link(&p->reapable, l);
            break;
        }
    if (!u) {
        *e = p->plugged ? EAGAIN : ENODEV;
        return NULL;
    }
    if (g_queue_is_empty(&p->reapable))
        fifo_set_ready(p, false);
    if (u->endpoint == 0x81)
        p->last_wall_ns = wall_ns(); /* the host has its reply: think time starts */
    return u;
}

/* umockdev transport: point the client's URB pointer at the finished URB
 * and let umockdev write the URB and its buffer back. */
static int reap(vprobe *p, UMockdevIoctlClient *client, UMockdevIoctlData *arg, bool *done)
{
    *done = false;
    int e = 0;
    vurb *u = take_reapable(p, 0, &e);
    if (!u)
        return e;
    struct usbdevfs_urb *urb = (struct usbdevfs_urb *)u->urb->data;
    urb->status = u->status;
    urb->actual_length = u->actual;
    GError *err = NULL;
    UMockdevIoctlData *slot = umockdev_ioctl_data_resolve(arg, 0, sizeof(void *), &err);
    if (!slot) {
        g_clear_error(&err);
        vurb_free(u);
        return EFAULT;
    }
    umockdev_ioctl_data_set_ptr(slot, 0, u->urb);
    umockdev_ioctl_client_complete(client, 0, 0);
    g_object_unref(slot);
    vurb_free(u);
    *done = true;
    return 0;
}

static void purge_queue(GQueue *q, int owner)
{
    for (GList *l = q->head; l;) {
        GList *next = l->next;
        vurb *u = l->data;
        if (u->owner == owner) {
            g_queue_delete_link(q, l);
            vurb_free(u);
        }
        l = next;
    }
}

static void purge_owner(vprobe *p, int owner)
{
    purge_queue(&p->in_wait, owner);
    purge_queue(&p->delayed, owner);
    purge_queue(&p->reapable, owner);
    if (g_queue_is_empty(&p->reapable))
        fifo_set_ready(p, false);
}

static int discard(vprobe *p, gulong client_addr)
{
    vurb *u = take_urb(&p->in_wait, client_addr);
    if (!u)
        return EINVAL;
    u->status = -ENOENT;
    u->actual = 0;
    make_reapable(p, u);
    return 0;
}

#define USBFS_CAPS                                                                                 \
    (USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM | \
     USBDEVFS_CAP_REAP_AFTER_DISCONNECT)

static void reenumerate(vprobe *p);
static void remove_from_testbed(vprobe *p);

/* The usbfs ioctls that carry no data we need; returns the errno. */
static int simple_ioctl(vprobe *p, unsigned long req)
{
    switch (req) {
    case USBDEVFS_GETDRIVER:
    case USBDEVFS_IOCTL:
        return ENODATA; /* no kernel driver bound to the debug interface */
    case USBDEVFS_SETCONFIGURATION:
    case USBDEVFS_CLAIMINTERFACE:
    case USBDEVFS_RELEASEINTERFACE:
    case USBDEVFS_SETINTERFACE:
    case USBDEVFS_CLEAR_HALT:
    case USBDEVFS_RESETEP:
    case USBDEVFS_DISCONNECT_CLAIM:
        return 0;
    case USBDEVFS_RESET:
        if (stlink_probe_hard_wedged(p->engine)) {
            /* After the bus reset the device is at address 0 and must answer
             * on EP0 within 10 ms (USB 2.0 9.2.6.3); hung firmware never
             * re-arms it, so re-enumeration fails and the kernel gives the
             * device up ("unable to enumerate USB device"): it is gone
             * until its power is removed. */
            p->reenumerate_on_reset = false;
            remove_from_testbed(p);
            return ENODEV;
        }
        stlink_probe_usb_reset(p->engine);
        if (p->reenumerate_on_reset) {
            /* A probe whose firmware hung comes back under a new address
             * after the reset: the old handle is dead (libusb: NOT_FOUND). */
            p->reenumerate_on_reset = false;
            reenumerate(p);
            return ENODEV;
        }
        return 0;
    default:
        return ENOTTY;
    }
}

static gboolean on_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer user)
{
    (void)base;
    vprobe *p = user;
    vbus *bus = p->bus;
    gulong req = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    GError *err = NULL;
    int ret = 0, e = 0;

    g_mutex_lock(&bus->lock);
    if (!p->plugged) {
        g_mutex_unlock(&bus->lock);
        umockdev_ioctl_client_complete(client, -1, ENODEV);
        return TRUE;
    }
    switch (req) {
    case USBDEVFS_SUBMITURB: {
        UMockdevIoctlData *ud =
            umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), &err);
        if (!ud) {
            e = EFAULT;
            break;
        }
        struct usbdevfs_urb *urb = (struct usbdevfs_urb *)ud->data;
        vurb *u = g_new0(vurb, 1);
        u->urb = ud;
        u->client_addr = ud->client_addr;
        u->type = urb->type;
        u->endpoint = urb->endpoint;
        if (urb->buffer_length > 0 && urb->buffer_length <= (1 << 20)) {
            u->buf = umockdev_ioctl_data_resolve(ud, offsetof(struct usbdevfs_urb, buffer),
                                                 (size_t)urb->buffer_length, &err);
            if (u->buf) {
                u->data = u->buf->data;
                u->len = (size_t)urb->buffer_length;
            }
        }
        if (urb->buffer_length > 0 && !u->buf) {
            vurb_free(u);
            e = EFAULT;
            break;
        }
        e = submit(p, u);
        if (e)
            vurb_free(u);
        break;
    }
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY: {
        bool done = false;
        e = reap(p, client, arg, &done);
        if (done) {
            g_mutex_unlock(&bus->lock);
            return TRUE;
        }
        break;
    }
    case USBDEVFS_DISCARDURB:
        /* The argument is the URB's address in the client. */
        e = discard(p, (gulong)(*(void **)arg->data));
        break;
    case USBDEVFS_GET_CAPABILITIES: {
        UMockdevIoctlData *caps = umockdev_ioctl_data_resolve(arg, 0, sizeof(uint32_t), &err);
        if (!caps) {
            e = EFAULT;
            break;
        }
        uint32_t v = USBFS_CAPS;
        memcpy(caps->data, &v, sizeof v);
        g_object_unref(caps);
        break;
    }
    default:
        e = simple_ioctl(p, req);
        break;
    }
    g_clear_error(&err);
    g_mutex_unlock(&bus->lock);
    if (e)
        ret = -1;
    umockdev_ioctl_client_complete(client, ret, e);
    return TRUE;
}

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
        rep->err = submit(p, u);
        if (rep->err)
            vurb_free(u);
        break;
    }
    case USBFAST_REAP: {
        int e = 0;
        vurb *u = take_reapable(p, owner, &e);
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
        rep->err = discard(p, (gulong)req->urb);
        break;
    case USBFAST_IOCTL:
        if (req->request == USBDEVFS_GET_CAPABILITIES)
            rep->value = USBFS_CAPS;
        else
            rep->err = simple_ioctl(p, (unsigned long)req->request);
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
    purge_owner(p, c->fd);
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

static void fast_start(vprobe *p)
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
static void fast_stop(vprobe *p)
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

/* ---- the hub and its ports ------------------------------------------------------ */

/* A port's directory in the testbed (absolute path; g_free it). */
static char *port_dir(const vbus *bus, int port)
{
    return g_strdup_printf("%s%s/" HUB_NAME "-port%d", bus->root, bus->hub_if_syspath, port);
}

/*
 * The links the kernel makes between a device and the hub port it sits on
 * (drivers/usb/core/hub.c usb_new_device): "port" in the device's directory
 * (what Documentation/ABI/testing/sysfs-bus-usb calls
 * /sys/bus/usb/devices/.../port) and "device" in the port's.
 */
static void port_links(vprobe *p, bool make)
{
    vbus *bus = p->bus;
    char *dir = port_dir(bus, p->port);
    char *in_port = g_build_filename(dir, "device", NULL);
    char *in_dev = g_strdup_printf("%s%s/port", bus->root, p->syspath);
    if (make) {
        char *to_port = g_strdup_printf("../" HUB_NAME ":1.0/" HUB_NAME "-port%d", p->port);
        char *to_dev = g_strdup_printf("../../%s", p->name);
        if (symlink(to_port, in_dev) != 0 || symlink(to_dev, in_port) != 0)
            g_warning("flashline-sim: cannot link %s to its hub port: %s", p->name,
                      strerror(errno));
        g_free(to_port);
        g_free(to_dev);
    } else {
        unlink(in_port);
        unlink(in_dev);
    }
    g_free(in_port);
    g_free(in_dev);
    g_free(dir);
}

/*
 * Make ports up to want (at least HUB_MIN_PORTS). With per-port power
 * switching each has the kernel's disable attribute (Linux 4.13+,
 * Documentation/ABI/testing/sysfs-bus-usb ".../(hub interface)/portX/
 * disable": "1" powers the port off, "0" back on; it reads "0\n" or
 * "1\n"); a write is noticed through inotify.
 */
static void ensure_ports(vbus *bus, int want)
{
    if (want < HUB_MIN_PORTS)
        want = HUB_MIN_PORTS;
    if (want > MAX_PROBES)
        want = MAX_PROBES;
    for (int i = bus->nports; i < want; i++) {
        vport *vp = &bus->ports[i];
        vp->powered = true;
        vp->wd = -1;
        char *dir = port_dir(bus, i + 1);
        g_mkdir_with_parents(dir, 0755);
        if (bus->inotify_fd >= 0) {
            char *attr = g_build_filename(dir, "disable", NULL);
            int fd = open(attr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0 || write(fd, "0\n", 2) != 2)
                g_warning("flashline-sim: cannot create %s: %s", attr, strerror(errno));
            if (fd >= 0)
                close(fd);
            vp->wd = inotify_add_watch(bus->inotify_fd, attr, IN_MODIFY | IN_CLOSE_WRITE);
            g_free(attr);
        }
        g_free(dir);
    }
    if (want > bus->nports) {
        bus->nports = want;
        char maxchild[16];
        snprintf(maxchild, sizeof maxchild, "%d\n", want);
        umockdev_testbed_set_attribute(bus->tb, bus->hub_syspath, "maxchild", maxchild);
    }
}

/*
 * The hub: a high-speed USB 2.0 hub on root port 1 (address 2). PPPS: a
 * Microchip USB2514B (0424:2514), which switches each port's VBUS; ganged:
 * a Terminus FE1.1s (1a40:0101), which cannot switch one port alone
 * (wHubCharacteristics logical power switching mode, USB 2.0 11.23.2.1).
 * Descriptors: USB 2.0 9.6 and 11.23.1 (class 9, one interrupt IN endpoint).
 */
static int hub_create(vbus *bus, char *err, size_t errlen)
{
    bool ppps = bus->hub == VBUS_HUB_PPPS;
    uint16_t vid = ppps ? 0x0424 : 0x1A40, pid = ppps ? 0x2514 : 0x0101;
    uint8_t desc[18 + 9 + 9 + 7] = {
        18,         1,        0x00, 0x02, 9, 0, 1,  64,   vid & 0xFF, vid >> 8,
        pid & 0xFF, pid >> 8, 0x00, 0x01, 0, 0, 0,  1,       /* device: hub class, single TT */
        9,          2,        25,   0,    1, 1, 0,  0xE0, 1, /* configuration 1, self-powered */
        9,          4,        0,    0,    1, 9, 0,  0,    0, /* interface 0: hub */
        7,          5,        0x81, 3,    1, 0, 12,          /* status change endpoint */
    };
    char product[16], uevent_product[24];
    snprintf(product, sizeof product, "%04x\n", pid);
    snprintf(uevent_product, sizeof uevent_product, "%x/%x/100", vid, pid);
    char vendor[16];
    snprintf(vendor, sizeof vendor, "%04x\n", vid);
    bus->next_devnum = 3;
    bus->hub_syspath = umockdev_testbed_add_device(
        bus->tb, "usb", HUB_NAME, NULL, "busnum", "1\n", "devnum", "2\n", "idVendor", vendor,
        "idProduct", product, "speed", "480\n", "bDeviceClass", "09\n", "bConfigurationValue",
        "1\n", "bNumConfigurations", "1\n", "devpath", "1\n", "dev", "189:1\n", NULL, "DEVNAME",
        "/dev/bus/usb/001/002", "DEVTYPE", "usb_device", "DRIVER", "usb", "PRODUCT", uevent_product,
        "TYPE", "9/0/1", "BUSNUM", "001", "DEVNUM", "002", "MAJOR", "189", "MINOR", "1", NULL);
    if (!bus->hub_syspath) {
        say(err, errlen, "umockdev refused to add the hub");
        return -1;
    }
    umockdev_testbed_set_attribute_binary(bus->tb, bus->hub_syspath, "descriptors", desc,
                                          (gssize)sizeof desc);
    bus->hub_if_syspath = umockdev_testbed_add_device(
        bus->tb, "usb", HUB_NAME ":1.0", bus->hub_syspath, "bInterfaceNumber", "00\n",
        "bAlternateSetting", " 0\n", "bNumEndpoints", "01\n", "bInterfaceClass", "09\n",
        "bInterfaceSubClass", "00\n", "bInterfaceProtocol", "00\n", NULL, "DEVTYPE",
        "usb_interface", "DRIVER", "hub", "PRODUCT", uevent_product, "INTERFACE", "9/0/0", NULL);
    if (!bus->hub_if_syspath) {
        say(err, errlen, "umockdev refused to add the hub's interface");
        return -1;
    }
    ensure_ports(bus, HUB_MIN_PORTS);
    return 0;
}

static vprobe *probe_on_port(vbus *bus, int port)
{
    for (size_t i = 0; i < bus->n; i++)
        if (bus->probes[i]->port == port)
            return bus->probes[i];
    return NULL;
}

/* kstrtobool(), which the kernel's disable_store() parses with: 1/y/t or
 * "on" is true, 0/n/f or "off" false; anything else -1 (-EINVAL there). */
static int parse_bool(const char *s)
{
    switch (s[0]) {
    case '1':
    case 'y':
    case 'Y':
    case 't':
    case 'T':
        return 1;
    case '0':
    case 'n':
    case 'N':
    case 'f':
    case 'F':
        return 0;
    case 'o':
    case 'O':
        return s[1] == 'n' || s[1] == 'N' ? 1 : s[1] == 'f' || s[1] == 'F' ? 0 : -1;
    default:
        return -1;
    }
}

static int add_to_testbed(vprobe *p, char *err, size_t errlen);

static void cancel_enumeration(vprobe *p)
{
    if (!p->enum_src)
        return;
    g_source_destroy(p->enum_src);
    g_source_unref(p->enum_src);
    p->enum_src = NULL;
}

/* Power came back to the port a while ago: the probe boots from scratch and
 * enumerates under a new address. */
static gboolean enumerate_after_power(gpointer data)
{
    vprobe *p = data;
    g_mutex_lock(&p->bus->lock);
    if (g_source_is_destroyed(g_main_current_source())) {
        g_mutex_unlock(&p->bus->lock);
        return G_SOURCE_REMOVE;
    }
    g_source_unref(p->enum_src);
    p->enum_src = NULL;
    if (p->attached && !p->plugged && p->bus->ports[p->port - 1].powered) {
        char err[128];
        stlink_probe_power_on(p->engine);
        if (add_to_testbed(p, err, sizeof err) != 0)
            g_warning("flashline-sim: %s did not enumerate after power-on: %s", p->serial, err);
    }
    g_mutex_unlock(&p->bus->lock);
    return G_SOURCE_REMOVE;
}

static void schedule_enumeration(vprobe *p)
{
    if (p->enum_src)
        return;
    p->enum_src = g_timeout_source_new(PORT_ON_ENUM_MS);
    g_source_set_callback(p->enum_src, enumerate_after_power, p, NULL);
    g_source_attach(p->enum_src, p->bus->timer_ctx);
}

/* Act on what the port's disable attribute says now. */
static void port_apply(vbus *bus, int port)
{
    vport *vp = &bus->ports[port - 1];
    char *dir = port_dir(bus, port);
    char *attr = g_build_filename(dir, "disable", NULL);
    gchar *text = NULL;
    int off = -1;
    if (g_file_get_contents(attr, &text, NULL, NULL))
        off = parse_bool(text);
    g_free(text);
    g_free(attr);
    g_free(dir);
    /* An unparsable value (or the empty file between O_TRUNC and write):
     * the kernel refuses it and changes nothing. */
    if (off < 0 || (off == 1) == !vp->powered)
        return;
    vprobe *p = probe_on_port(bus, port);
    vp->powered = !off;
    if (!p)
        return;
    if (off) {
        /* VBUS is gone: the probe drops off the bus as if unplugged, and
         * everything its firmware held in RAM is lost with it. */
        cancel_enumeration(p);
        remove_from_testbed(p);
    } else if (p->attached && !p->plugged) {
        schedule_enumeration(p);
    }
}

static gboolean on_port_write(gint fd, GIOCondition cond, gpointer data)
{
    (void)cond;
    vbus *bus = data;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    g_mutex_lock(&bus->lock);
    if (g_source_is_destroyed(g_main_current_source())) {
        g_mutex_unlock(&bus->lock);
        return G_SOURCE_REMOVE;
    }
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        const struct inotify_event *ev;
        for (char *at = buf; at < buf + n; at += sizeof *ev + ev->len) {
            ev = (const struct inotify_event *)at;
            for (int i = 0; i < bus->nports; i++)
                if (bus->ports[i].wd == ev->wd)
                    port_apply(bus, i + 1);
        }
    }
    g_mutex_unlock(&bus->lock);
    return G_SOURCE_CONTINUE;
}

/* ---- devices in the testbed ------------------------------------------------- */

static void drop_urbs(vprobe *p)
{
    vurb *u;
    if (p->delay_src) {
        g_source_destroy(p->delay_src);
        g_source_unref(p->delay_src);
        p->delay_src = NULL;
    }
    while ((u = g_queue_pop_head(&p->in_wait)))
        vurb_free(u);
    while ((u = g_queue_pop_head(&p->delayed)))
        vurb_free(u);
    while ((u = g_queue_pop_head(&p->reapable)))
        vurb_free(u);
}

static int add_to_testbed(vprobe *p, char *err, size_t errlen)
{
    vbus *bus = p->bus;
    p->devnum = bus->next_devnum++;
    if (bus->next_devnum > 127)
        bus->next_devnum = 3; /* 1 is the root hub, 2 our hub */
    /* The sysfs name is the port path, not the address: it stays the same
     * across re-enumerations on the same port (1-1.3 = bus 1, root port 1,
     * hub port 3). */
    snprintf(p->name, sizeof p->name, HUB_NAME ".%d", p->port);
    snprintf(p->devnode, sizeof p->devnode, "/dev/bus/usb/001/%03d", p->devnum);
    /* sysfs attributes end in a newline, as the kernel writes them
     * (libusb warns otherwise); uevent properties do not. */
    char devnum[16], devnum_nl[16], dev[24], product[16], serial_nl[32];
    snprintf(devnum, sizeof devnum, "%d", p->devnum);
    snprintf(devnum_nl, sizeof devnum_nl, "%d\n", p->devnum);
    snprintf(dev, sizeof dev, "189:%d\n", p->devnum - 1);
    snprintf(product, sizeof product, "%04x\n", stlink_probe_pid(p->engine));
    snprintf(serial_nl, sizeof serial_nl, "%s\n", p->serial);
    const char *speed = p->kind == STLINK_V3 ? "480\n" : "12\n";
    char uevent_product[24], minor[16], devpath[16];
    snprintf(devpath, sizeof devpath, "1.%d\n", p->port);
    snprintf(uevent_product, sizeof uevent_product, "483/%x/100", stlink_probe_pid(p->engine));
    snprintf(minor, sizeof minor, "%d", p->devnum - 1);
    /* The device node, a FIFO whose readiness we control (add_device makes
     * no node of its own), and its ioctl handler come first: a host that
     * polls sysfs for the probe after a reset must never find a device
     * whose node does not answer yet (udev hands out only usable nodes). */
    char *node = g_build_filename(bus->root, p->devnode, NULL);
    char *dir = g_path_get_dirname(node);
    g_mkdir_with_parents(dir, 0755);
    g_free(dir);
    unlink(node);
    if (mkfifo(node, 0666) != 0) {
        say(err, errlen, "cannot make device node %s: %s", node, strerror(errno));
        g_free(node);
        return -1;
    }
    p->fifo_fd = open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    g_free(node);
    if (p->fifo_fd < 0) {
        say(err, errlen, "cannot open device node: %s", strerror(errno));
        return -1;
    }
    fcntl(p->fifo_fd, F_SETPIPE_SZ, FIFO_CHUNK);
    p->fifo_full = false;
    fifo_set_ready(p, false);

    p->handler = umockdev_ioctl_base_new();
    g_signal_connect(p->handler, "handle-ioctl", G_CALLBACK(on_ioctl), p);
    GError *gerr = NULL;
    if (!umockdev_testbed_attach_ioctl(bus->tb, p->devnode, p->handler, &gerr)) {
        say(err, errlen, "cannot attach ioctl handler: %s", gerr ? gerr->message : "?");
        g_clear_error(&gerr);
        return -1;
    }
    p->syspath = umockdev_testbed_add_device(
        bus->tb, "usb", p->name, bus->hub_syspath, "busnum", "1\n", "devnum", devnum_nl, "idVendor",
        "0483\n", "idProduct", product, "serial", serial_nl, "speed", speed, "bConfigurationValue",
        "1\n", "bNumConfigurations", "1\n", "dev", dev, "devpath", devpath, NULL, "DEVNAME",
        p->devnode, "DEVTYPE", "usb_device", "DRIVER", "usb", "PRODUCT", uevent_product, "BUSNUM",
        "001", "DEVNUM", devnum, "MAJOR", "189", "MINOR", minor, "ID_SERIAL_SHORT", p->serial,
        NULL);
    if (!p->syspath) {
        say(err, errlen, "umockdev refused to add probe %s", p->serial);
        return -1;
    }
    uint8_t desc[64];
    size_t n = build_descriptors(p, desc);
    umockdev_testbed_set_attribute_binary(bus->tb, p->syspath, "descriptors", desc, (gssize)n);

    p->plugged = true;
    port_links(p, true);
    fast_start(p);
    umockdev_testbed_uevent(bus->tb, p->syspath, "add");
    return 0;
}

static void remove_from_testbed(vprobe *p)
{
    vbus *bus = p->bus;
    if (!p->plugged)
        return;
    p->plugged = false;
    fast_stop(p);
    port_links(p, false);
    umockdev_testbed_uevent(bus->tb, p->syspath, "remove");
    GError *gerr = NULL;
    umockdev_testbed_detach_ioctl(bus->tb, p->devnode, &gerr);
    g_clear_error(&gerr);
    umockdev_testbed_remove_device(bus->tb, p->syspath);
    g_clear_pointer(&p->syspath, g_free);
    g_clear_object(&p->handler);
    if (p->fifo_fd >= 0)
        close(p->fifo_fd);
    p->fifo_fd = -1;
    drop_urbs(p);
}

static void reenumerate(vprobe *p)
{
    char err[128];
    remove_from_testbed(p);
    if (add_to_testbed(p, err, sizeof err) != 0)
        g_warning("flashline-sim: re-enumeration of %s failed: %s", p->serial, err);
}

/* ---- the bus ------------------------------------------------------------------ */

static gpointer timer_main(gpointer data)
{
    vbus *bus = data;
    g_main_context_push_thread_default(bus->timer_ctx);
    g_main_loop_run(bus->timer_loop);
    g_main_context_pop_thread_default(bus->timer_ctx);
    return NULL;
}

vbus *vbus_new(double speed, uint64_t seed, vbus_hub hub, char *err, size_t errlen)
{
    const char *pre = getenv("LD_PRELOAD");
    if (!pre || !strstr(pre, "libumockdev-preload")) {
        say(err, errlen, "the virtual bus needs LD_PRELOAD=libumockdev-preload.so.0");
        return NULL;
    }
    vbus *bus = g_new0(vbus, 1);
    g_mutex_init(&bus->lock);
    bus->speed = speed;
    bus->seed = seed;
    bus->hub = hub;
    bus->inotify_fd = -1;
    bus->tb = umockdev_testbed_new();
    if (!bus->tb) {
        say(err, errlen, "umockdev could not create a testbed");
        g_free(bus);
        return NULL;
    }
    bus->root = umockdev_testbed_get_root_dir(bus->tb);
    char *fast_dir = g_build_filename(bus->root, USBFAST_DIR, NULL);
    g_mkdir_with_parents(fast_dir, 0755);
    g_free(fast_dir);
    g_cond_init(&bus->fast_done);
    bus->timer_ctx = g_main_context_new();
    bus->timer_loop = g_main_loop_new(bus->timer_ctx, FALSE);
    if (hub == VBUS_HUB_PPPS) {
        bus->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (bus->inotify_fd < 0) {
            say(err, errlen, "inotify_init1: %s", strerror(errno));
            bus->timer_thread = g_thread_new("vbus-timers", timer_main, bus);
            vbus_free(bus);
            return NULL;
        }
        bus->inotify_src = g_unix_fd_source_new(bus->inotify_fd, G_IO_IN);
        g_source_set_callback(bus->inotify_src, G_SOURCE_FUNC(on_port_write), bus, NULL);
        g_source_attach(bus->inotify_src, bus->timer_ctx);
    }
    bus->timer_thread = g_thread_new("vbus-timers", timer_main, bus);
    g_mutex_lock(&bus->lock);
    int rc = hub_create(bus, err, errlen);
    g_mutex_unlock(&bus->lock);
    if (rc != 0) {
        vbus_free(bus);
        return NULL;
    }
    return bus;
}

void vbus_free(vbus *bus)
{
    if (!bus)
        return;
    g_mutex_lock(&bus->lock);
    if (bus->inotify_src) {
        g_source_destroy(bus->inotify_src);
        g_clear_pointer(&bus->inotify_src, g_source_unref);
    }
    for (size_t i = 0; i < bus->n; i++) {
        cancel_enumeration(bus->probes[i]);
        remove_from_testbed(bus->probes[i]);
    }
    while (bus->fast_threads > 0) /* connection threads see their shutdown */
        g_cond_wait(&bus->fast_done, &bus->lock);
    g_mutex_unlock(&bus->lock);
    /* The testbed's ioctl thread may still be delivering a client's last
     * ioctl to on_ioctl, which reads the probe: end it before the probes go
     * (ASan saw on_ioctl read a freed probe when a client was still
     * connected at exit). */
    g_object_unref(bus->tb);
    g_mutex_lock(&bus->lock);
    for (size_t i = 0; i < bus->n; i++) {
        vprobe *p = bus->probes[i];
        stlink_probe_free(p->engine);
        sim_board_destroy(p->board);
        g_free(p);
    }
    bus->n = 0;
    g_mutex_unlock(&bus->lock);
    g_main_loop_quit(bus->timer_loop);
    g_thread_join(bus->timer_thread);
    g_main_loop_unref(bus->timer_loop);
    g_main_context_unref(bus->timer_ctx);
    if (bus->inotify_fd >= 0)
        close(bus->inotify_fd);
    g_free(bus->hub_syspath);
    g_free(bus->hub_if_syspath);
    g_cond_clear(&bus->fast_done);
    g_free(bus->root);
    g_mutex_clear(&bus->lock);
    g_free(bus);
}

const char *vbus_root(const vbus *bus)
{
    return bus->root;
}

static vprobe *find(vbus *bus, const char *serial)
{
    for (size_t i = 0; i < bus->n; i++)
        if (g_ascii_strcasecmp(bus->probes[i]->serial, serial) == 0)
            return bus->probes[i];
    return NULL;
}

static bool valid_serial(const char *s)
{
    if (strlen(s) != 24)
        return false;
    for (const char *c = s; *c; c++)
        if (!g_ascii_isxdigit(*c))
            return false;
    return true;
}

int vbus_add_probe(vbus *bus, stlink_kind kind, const char *chip, const char *serial,
                   char out_serial[25], char *err, size_t errlen)
{
    if (!sim_chip_find(chip)) {
        say(err, errlen, "unknown chip '%s' (stm32f103rb, stm32f446re, stm32l053r8, stm32l476rg)",
            chip);
        return -1;
    }
    g_mutex_lock(&bus->lock);
    int rc = -1;
    char gen[25];
    if (!serial) {
        /* ST's serials are 12 bytes of UID-like data; make them unique per
         * seed and position so a line is reproducible. */
        uint64_t x = bus->seed * 0x9E3779B97F4A7C15ull + bus->n + 1;
        snprintf(gen, sizeof gen, "%08X%08X%08X", 0x0670FF00u | (unsigned)(bus->n & 0xFF),
                 (unsigned)(x >> 32) | 0x30000000u, (unsigned)x);
        serial = gen;
    }
    if (bus->n >= MAX_PROBES) {
        say(err, errlen, "too many probes (at most %d)", MAX_PROBES);
    } else if (!valid_serial(serial)) {
        say(err, errlen, "serial '%s' is not 24 hex digits", serial);
    } else if (find(bus, serial)) {
        say(err, errlen, "duplicate serial %s", serial);
    } else {
        vprobe *p = g_new0(vprobe, 1);
        p->bus = bus;
        p->kind = kind;
        p->fifo_fd = -1;
        p->fast_listen = -1;
        for (int i = 0; i < 24; i++)
            p->serial[i] = g_ascii_toupper(serial[i]);
        g_strlcpy(p->chip, chip, sizeof p->chip);
        p->board_seed = bus->seed * 1000003u + bus->n;
        p->port = (int)bus->n + 1;
        p->attached = true;
        ensure_ports(bus, p->port);
        g_queue_init(&p->in_wait);
        g_queue_init(&p->delayed);
        g_queue_init(&p->reapable);
        if (sim_board_create(chip, p->board_seed, 0.0, &p->board) != SIM_OK) {
            say(err, errlen, "cannot create board %s", chip);
            g_free(p);
        } else {
            p->engine = stlink_probe_new(kind, p->serial, p->board);
            /* A port powered off before its probe was added: the cable is
             * in, nothing enumerates until the port is powered. */
            bool powered = bus->ports[p->port - 1].powered;
            if (!p->engine || (powered && add_to_testbed(p, err, errlen) != 0)) {
                if (p->engine)
                    stlink_probe_free(p->engine);
                sim_board_destroy(p->board);
                g_free(p);
            } else {
                bus->probes[bus->n++] = p;
                if (out_serial)
                    memcpy(out_serial, p->serial, 25);
                rc = 0;
            }
        }
    }
    g_mutex_unlock(&bus->lock);
    return rc;
}

size_t vbus_probe_count(const vbus *bus)
{
    return bus->n;
}

static const char *kind_name(stlink_kind k)
{
    return k == STLINK_V2 ? "v2" : k == STLINK_V2_1 ? "v2-1" : "v3";
}

int vbus_describe(const vbus *bus, size_t i, char *out, size_t outlen)
{
    if (i >= bus->n)
        return -1;
    const vprobe *p = bus->probes[i];
    const char *where = p->plugged    ? p->devnode
                        : p->attached ? "not-enumerated" /* port off, or failed enumeration */
                                      : "unplugged";
    const char *port = bus->hub == VBUS_HUB_GANGED       ? " (ganged)"
                       : bus->ports[p->port - 1].powered ? ""
                                                         : " (off)";
    say(out, outlen, "%s %s %s %s port " HUB_NAME "-port%d%s", kind_name(p->kind), p->chip,
        p->serial, where, p->port, port);
    return 0;
}

/* ---- control verbs -------------------------------------------------------------- */

/* A fault by its control-verb name; false for an unknown name. */
static bool fault_by_name(const char *name, sim_fault *out)
{
    static const struct {
        const char *name;
        sim_fault fault;
    } faults[] = {
        {"firmware", SIM_FAULT_RUNNING_FIRMWARE},
        {"watchdog", SIM_FAULT_WATCHDOG},
        {"swd-locked", SIM_FAULT_SWD_LOCKED},
        {"stale-errors", SIM_FAULT_STALE_FLASH_ERRORS},
        {"rdp1", SIM_FAULT_RDP1},
        {"bad-cell", SIM_FAULT_BAD_CELL},
    };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        if (strcmp(name, faults[i].name) == 0) {
            *out = faults[i].fault;
            return true;
        }
    }
    return false;
}

static int fault_verb(vprobe *p, char **argv, int argc, char *reply, size_t n)
{
    if (argc < 3) {
        say(reply, n,
            "usage: fault SERIAL firmware|watchdog|swd-locked|stale-errors|rdp1|"
            "bad-cell ADDR");
        return -1;
    }
    sim_fault fault;
    if (!fault_by_name(argv[2], &fault)) {
        say(reply, n, "unknown fault '%s'", argv[2]);
        return -1;
    }
    uint32_t arg = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 0;
    if (sim_board_inject(p->board, fault, arg) != SIM_OK) {
        say(reply, n, "fault %s refused (bad argument?)", argv[2]);
        return -1;
    }
    say(reply, n, "ok %s %s", p->serial, argv[2]);
    return 0;
}

int vbus_control(vbus *bus, const char *line, char *reply, size_t n)
{
    gchar **argv = NULL;
    gint argc = 0;
    int rc = -1;
    if (!g_shell_parse_argv(line, &argc, &argv, NULL) || argc < 1) {
        say(reply, n, "empty or malformed command");
        g_strfreev(argv);
        return -1;
    }
    g_mutex_lock(&bus->lock);
    const char *verb = argv[0];
    vprobe *p = argc > 1 ? find(bus, argv[1]) : NULL;
    if (strcmp(verb, "list") == 0) {
        size_t off = 0;
        reply[0] = 0;
        for (size_t i = 0; i < bus->n && off + 1 < n; i++) {
            char d[160];
            vbus_describe(bus, i, d, sizeof d);
            off += (size_t)snprintf(reply + off, n - off, "%s%s", i ? "; " : "", d);
        }
        rc = 0;
    } else if (argc < 2) {
        say(reply, n, "%s: missing SERIAL", verb);
    } else if (!p) {
        say(reply, n, "%s: no probe with serial %s", verb, argv[1]);
    } else if (strcmp(verb, "unplug") == 0) {
        p->attached = false;
        cancel_enumeration(p);
        remove_from_testbed(p);
        say(reply, n, "ok unplugged %s", p->serial);
        rc = 0;
    } else if (strcmp(verb, "plug") == 0) {
        /* Also a replug of a probe that is in but off the bus (it failed
         * enumeration after a hard hang): pulling the cable powered it off. */
        if (p->plugged) {
            say(reply, n, "plug: %s is already plugged in", p->serial);
        } else if (!bus->ports[p->port - 1].powered) {
            p->attached = true;
            say(reply, n, "ok plugged %s into " HUB_NAME "-port%d, which is powered off", p->serial,
                p->port);
            rc = 0;
        } else {
            p->attached = true;
            cancel_enumeration(p);
            stlink_probe_power_on(p->engine);
            rc = add_to_testbed(p, reply, n);
            if (rc == 0)
                say(reply, n, "ok plugged %s at %s", p->serial, p->devnode);
        }
    } else if (strcmp(verb, "swap-board") == 0) {
        /* Every board of the line has its own seed, so its own UID, as
         * real silicon does: the fixture's first seed plus a large odd step
         * per swap never meets another fixture's sequence. */
        /* swap-board SERIAL [CHIP] [--save FILE] [--fault NAME]: FILE gets
         * the removed board's main flash, read on the bench (not through any
         * probe), so tests can check what a programmer really left on each
         * board. NAME (a fault without argument) is the new board's own
         * trouble, there before the probe can see the board: injected after
         * the swap, a probe quick enough would meet a board that changes
         * (firmware flashed, power cycled) in the middle of its unit. */
        const char *chip = p->chip, *save = NULL, *fault_name = NULL;
        sim_fault fault = SIM_FAULT_RUNNING_FIRMWARE;
        bool bad = false;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--save") == 0 && i + 1 < argc)
                save = argv[++i];
            else if (strcmp(argv[i], "--fault") == 0 && i + 1 < argc)
                fault_name = argv[++i];
            else if (argv[i][0] != '-' && i == 2)
                chip = argv[i];
            else
                bad = true;
        }
        sim_board *nb = NULL;
        if (bad) {
            say(reply, n, "usage: swap-board SERIAL [CHIP] [--save FILE] [--fault NAME]");
        } else if (fault_name && !fault_by_name(fault_name, &fault)) {
            say(reply, n, "swap-board: unknown fault '%s'", fault_name);
        } else if (sim_board_create(chip, p->board_seed + ++p->swaps * 0x9E3779B97F4A7C15ull, 0.0,
                                    &nb) != SIM_OK) {
            say(reply, n, "swap-board: unknown chip '%s'", chip);
        } else if (fault_name && sim_board_inject(nb, fault, 0) != SIM_OK) {
            sim_board_destroy(nb);
            say(reply, n, "swap-board: fault %s needs an argument; use the fault verb", fault_name);
        } else {
            sim_board *old = p->board;
            uint32_t uid[3];
            sim_board_uid(old, uid);
            bool saved = true;
            if (save) {
                FILE *f = fopen(save, "wb");
                const sim_chip *c = sim_board_chip(old);
                saved = f && fwrite(sim_board_flash(old), 1, c->flash_size, f) == c->flash_size;
                if (f && fclose(f) != 0)
                    saved = false;
            }
            stlink_probe_attach(p->engine, nb);
            p->board = nb;
            p->wall_origin_ns = 0; /* a new board starts its own clock */
            sim_board_destroy(old);
            g_strlcpy(p->chip, chip, sizeof p->chip);
            if (saved) {
                say(reply, n, "ok %s now has a fresh %s; the old board was UID %08X%08X%08X",
                    p->serial, chip, uid[2], uid[1], uid[0]);
                rc = 0;
            } else {
                say(reply, n, "swap-board: swapped, but cannot write %s: %s", save,
                    strerror(errno));
            }
        }
    } else if (strcmp(verb, "power") == 0) {
        if (argc < 3 || (strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0)) {
            say(reply, n, "usage: power SERIAL on|off");
        } else {
            sim_board_power(p->board, strcmp(argv[2], "on") == 0);
            say(reply, n, "ok %s power %s", p->serial, argv[2]);
            rc = 0;
        }
    } else if (strcmp(verb, "wedge") == 0) {
        if (argc > 3 || (argc == 3 && strcmp(argv[2], "hard") != 0)) {
            say(reply, n, "usage: wedge SERIAL [hard]");
        } else if (argc == 3) {
            /* Cured only by removing power (unplug/plug or the hub port). */
            stlink_probe_wedge_hard(p->engine);
            say(reply, n, "ok %s wedged hard", p->serial);
            rc = 0;
        } else {
            stlink_probe_wedge(p->engine);
            p->reenumerate_on_reset = true;
            say(reply, n, "ok %s wedged", p->serial);
            rc = 0;
        }
    } else if (strcmp(verb, "loader-fail") == 0) {
        static const char *const modes[] = {"off", "once", "alternate", "always"};
        static const stlink_loader_fail values[] = {LOADER_FAIL_NONE, LOADER_FAIL_ONCE,
                                                    LOADER_FAIL_ALTERNATE, LOADER_FAIL_ALWAYS};
        say(reply, n, "usage: loader-fail SERIAL off|once|alternate|always");
        for (int i = 0; argc > 2 && i < 4; i++)
            if (strcmp(argv[2], modes[i]) == 0) {
                stlink_probe_loader_fail(p->engine, values[i]);
                say(reply, n, "ok %s loader-fail %s", p->serial, modes[i]);
                rc = 0;
            }
    } else if (strcmp(verb, "fault") == 0) {
        rc = fault_verb(p, argv, argc, reply, n);
    } else {
        say(reply, n,
            "unknown verb '%s' (unplug, plug, swap-board, power, wedge, loader-fail, "
            "fault, list)",
            verb);
    }
    g_mutex_unlock(&bus->lock);
    g_strfreev(argv);
    return rc;
}
