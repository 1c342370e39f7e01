/*
 * Inside the virtual USB bus (see vbus.h): the state that its files share
 * and the calls between them. Nothing outside sim/usb includes this.
 *
 *   vbus.c          the bus: testbed, probes in and out of it, lifecycle
 *   vbus_urb.c      usbfs on a device node: descriptors, URBs, ioctls, the
 *                   protocol engine's pacing
 *   vbus_fast.c     the fast transport's side in this process
 *   vbus_hub.c      the hub, its ports and their power
 *   vbus_control.c  the control verbs (flashline-sim ctl)
 *
 * Locking: every entry point takes bus->lock; the umockdev worker thread
 * (ioctls), the fast transport's threads, the control thread and timers all
 * go through it.
 */
#ifndef FLASHLINE_SIM_USB_VBUS_INTERNAL_H
#define FLASHLINE_SIM_USB_VBUS_INTERNAL_H

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
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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
    uint64_t last_wall_ns;
    uint64_t reply_due_wall_ns; /* speed > 0: when the pending reply is on the wire, or 0 */
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
    GMainContext *timer_ctx; /* hub port timers, enumeration */
    GMainLoop *timer_loop;
    GThread *timer_thread;
    GThread *release_thread; /* delayed completions at speed > 0 (urb_release_main) */
    GCond release_cond;      /* a new delayed completion, or release_quit */
    bool release_quit;
    GCond fast_done;  /* signalled when a fast-transport thread ends */
    int fast_threads; /* fast-transport threads still running */
};

static inline uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void say(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

/* What USBDEVFS_GET_CAPABILITIES reports, on either transport. */
#define USBFS_CAPS                                                                                 \
    (USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM | \
     USBDEVFS_CAP_REAP_AFTER_DISCONNECT)

/* ---- vbus_urb.c: usbfs on a device node ----------------------------------- */

/* The probe's device, configuration, interface and endpoint descriptors
 * (the sysfs "descriptors" file); returns their length. */
size_t urb_build_descriptors(const vprobe *p, uint8_t *out);
/* Fill or drain the device node's FIFO: POLLOUT for the client exactly
 * while a URB is reapable. */
void urb_fifo_set_ready(vprobe *p, bool ready);
void vurb_free(vurb *u);
/* A URB has arrived: route it. Returns the errno for the submit ioctl. */
int urb_submit(vprobe *p, vurb *u);
/* The thread that releases delayed completions (bus->release_thread). */
gpointer urb_release_main(gpointer bus);
/* The next finished URB of this owner, or NULL with *e set (EAGAIN, or
 * ENODEV). */
vurb *urb_take_reapable(vprobe *p, int owner, int *e);
/* Drop every URB an owner (a closed fast connection) left behind. */
void urb_purge_owner(vprobe *p, int owner);
int urb_discard(vprobe *p, gulong client_addr);
/* The usbfs ioctls that carry no data we need; returns the errno. */
int urb_simple_ioctl(vprobe *p, unsigned long req);
/* umockdev's ioctl handler for a probe's device node. */
gboolean urb_on_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer user);

/* ---- vbus_fast.c: the fast transport -------------------------------------- */

/* Open the fast socket next to p's device node and serve it. */
void fast_start(vprobe *p);
/* Called with the lock held: make every fast thread of p leave. */
void fast_stop(vprobe *p);

/* ---- vbus_hub.c: the hub and its ports ------------------------------------ */

int hub_create(vbus *bus, char *err, size_t errlen);
/* Make ports up to want (at least HUB_MIN_PORTS). */
void hub_ensure_ports(vbus *bus, int want);
/* The "port" and "device" links between p and its port. */
void hub_port_links(vprobe *p, bool make);
/* Forget an enumeration pending after port power came back. */
void hub_cancel_enumeration(vprobe *p);
/* inotify: a port's disable attribute was written. */
gboolean hub_on_port_write(gint fd, GIOCondition cond, gpointer data);

/* ---- vbus.c: devices in the testbed --------------------------------------- */

/* Enumerate p: its sysfs device, device node and uevent. Returns 0, or -1
 * with a reason in err. */
int testbed_add(vprobe *p, char *err, size_t errlen);
/* p leaves the bus (uevent "remove"); its URBs are dropped. */
void testbed_remove(vprobe *p);
/* Leave and come back under a new device number (USB reset of a wedged
 * probe). */
void testbed_reenumerate(vprobe *p);
/* The probe with this serial number, or NULL. */
vprobe *testbed_find(vbus *bus, const char *serial);

#endif
