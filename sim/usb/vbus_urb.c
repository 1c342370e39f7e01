/*
 * usbfs on a virtual probe's device node (see vbus_internal.h).
 *
 * How a transfer flows: libusb submits a URB with USBDEVFS_SUBMITURB; the
 * preload forwards the ioctl to umockdev's worker thread in this process,
 * where urb_on_ioctl() resolves the URB and its buffer out of the client's
 * memory. A bulk OUT URB goes to the protocol engine at once; a bulk IN URB
 * waits until the engine has a reply. A finished URB is "reapable"; the
 * device node is a FIFO kept full while nothing is reapable, so the
 * client's poll() for POLLOUT (which is what libusb waits on) wakes exactly
 * when a URB can be reaped, just as usbfs behaves. A regular-file node
 * would always poll ready and make libusb spin (libusb's Linux backend polls
 * usbfs for POLLOUT to reap URBs).
 */
#define _GNU_SOURCE
#include "vbus_internal.h"

/* ---- descriptors (USB 2.0 chapter 9; ST-LINK layout per stlink-protocol
 * sheet section 1) ---------------------------------------------------------- */

size_t urb_build_descriptors(const vprobe *p, uint8_t *out)
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

void urb_fifo_set_ready(vprobe *p, bool ready)
{
    static const char fill[FIFO_CHUNK];
    char sink[FIFO_CHUNK];
    if (p->fifo_fd < 0)
        return;
    /* Straight to the kernel: this process runs under umockdev's preload,
     * whose read()/write() wrappers take fds on testbed device nodes for
     * their own emulation, and a probe unplugged and plugged back mid-unit
     * once left a wrapped read() spinning here with the bus lock held (the
     * whole line stopped: line_e2e.sh's h743 profile). */
    if (ready && p->fifo_full) {
        if (syscall(SYS_read, p->fifo_fd, sink, sizeof sink) > 0)
            p->fifo_full = false;
    } else if (!ready && !p->fifo_full) {
        if (syscall(SYS_write, p->fifo_fd, fill, sizeof fill) == (long)sizeof fill)
            p->fifo_full = true;
    }
}

static void make_reapable(vprobe *p, vurb *u)
{
    g_queue_push_tail(&p->reapable, u);
    urb_fifo_set_ready(p, true);
}

void vurb_free(vurb *u)
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

/*
 * At speed > 0 a finished transfer becomes reapable only when the virtual
 * transfer would have ended in wall-clock time. One thread per bus releases
 * them: it sleeps until the earliest is due, on a condition variable with a
 * nanosecond deadline and a 1 us timer slack. (A GLib timer source did this
 * before, but GLib rounds a main loop's poll timeout up to whole
 * milliseconds: completions came 0.37 ms late on average and 2.5 ms at
 * worst, an unmodelled cost on every round trip that no silicon has.)
 */
static void schedule_delayed(vprobe *p)
{
    g_cond_signal(&p->bus->release_cond);
}

gpointer urb_release_main(gpointer data)
{
    vbus *bus = data;
    /* The default 50 us slack would be most of a high-speed microframe. */
    prctl(PR_SET_TIMERSLACK, 1000UL);
    g_mutex_lock(&bus->lock);
    while (!bus->release_quit) {
        uint64_t now = wall_ns(), next = UINT64_MAX;
        for (size_t i = 0; i < bus->n; i++) {
            vprobe *p = bus->probes[i];
            vurb *u;
            while ((u = g_queue_peek_head(&p->delayed)) && u->ready_wall_ns <= now)
                make_reapable(p, g_queue_pop_head(&p->delayed));
            if (u && u->ready_wall_ns < next)
                next = u->ready_wall_ns;
        }
        if (next == UINT64_MAX)
            g_cond_wait(&bus->release_cond, &bus->lock);
        else /* g_get_monotonic_time() and wall_ns() read the same clock */
            g_cond_wait_until(&bus->release_cond, &bus->lock, (gint64)(next / 1000u));
    }
    g_mutex_unlock(&bus->lock);
    return NULL;
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
            u->ready_wall_ns = p->reply_due_wall_ns ? p->reply_due_wall_ns : due_wall_ns(p, cost);
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
            urb_build_descriptors(p, all);
            n = (int)(room < 18 ? room : 18);
            memcpy(setup + 8, all, (size_t)n);
            break;
        case 2: {
            size_t total = urb_build_descriptors(p, all) - 18;
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
int urb_submit(vprobe *p, vurb *u)
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
        /* The probe works on a command from the moment its OUT arrives, not
         * from when the host gets round to asking for the reply: the host's
         * time between the two overlaps the probe's, as on a real bus. */
        p->reply_due_wall_ns =
            p->bus->speed > 0 && finished && stlink_probe_reply_pending(p->engine)
                ? due_wall_ns(p, cost)
                : 0;
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
vurb *urb_take_reapable(vprobe *p, int owner, int *e)
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
        urb_fifo_set_ready(p, false);
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
    vurb *u = urb_take_reapable(p, 0, &e);
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

void urb_purge_owner(vprobe *p, int owner)
{
    purge_queue(&p->in_wait, owner);
    purge_queue(&p->delayed, owner);
    purge_queue(&p->reapable, owner);
    if (g_queue_is_empty(&p->reapable))
        urb_fifo_set_ready(p, false);
}

int urb_discard(vprobe *p, gulong client_addr)
{
    vurb *u = take_urb(&p->in_wait, client_addr);
    if (!u)
        return EINVAL;
    u->status = -ENOENT;
    u->actual = 0;
    make_reapable(p, u);
    return 0;
}

/* The usbfs ioctls that carry no data we need; returns the errno. */
int urb_simple_ioctl(vprobe *p, unsigned long req)
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
            testbed_remove(p);
            return ENODEV;
        }
        stlink_probe_usb_reset(p->engine);
        if (p->reenumerate_on_reset) {
            /* A probe whose firmware hung comes back under a new address
             * after the reset: the old handle is dead (libusb: NOT_FOUND). */
            p->reenumerate_on_reset = false;
            testbed_reenumerate(p);
            return ENODEV;
        }
        return 0;
    default:
        return ENOTTY;
    }
}

gboolean urb_on_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer user)
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
        e = urb_submit(p, u);
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
        e = urb_discard(p, (gulong)(*(void **)arg->data));
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
        e = urb_simple_ioctl(p, req);
        break;
    }
    g_clear_error(&err);
    g_mutex_unlock(&bus->lock);
    if (e)
        ret = -1;
    umockdev_ioctl_client_complete(client, ret, e);
    return TRUE;
}
