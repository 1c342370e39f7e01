/*
 * The virtual USB bus on umockdev (see vbus.h): the testbed, probes entering
 * and leaving it, and the bus's life. The URB engine, the fast transport,
 * the hub and the control verbs have files of their own (vbus_internal.h
 * lists them).
 */
#define _GNU_SOURCE
#include "vbus_internal.h"

/* ---- devices in the testbed ------------------------------------------------- */

static void drop_urbs(vprobe *p)
{
    vurb *u;
    while ((u = g_queue_pop_head(&p->in_wait)))
        vurb_free(u);
    while ((u = g_queue_pop_head(&p->delayed)))
        vurb_free(u);
    while ((u = g_queue_pop_head(&p->reapable)))
        vurb_free(u);
}

int testbed_add(vprobe *p, char *err, size_t errlen)
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
    urb_fifo_set_ready(p, false);

    p->handler = umockdev_ioctl_base_new();
    g_signal_connect(p->handler, "handle-ioctl", G_CALLBACK(urb_on_ioctl), p);
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
    size_t n = urb_build_descriptors(p, desc);
    umockdev_testbed_set_attribute_binary(bus->tb, p->syspath, "descriptors", desc, (gssize)n);

    p->plugged = true;
    hub_port_links(p, true);
    fast_start(p);
    umockdev_testbed_uevent(bus->tb, p->syspath, "add");
    return 0;
}

void testbed_remove(vprobe *p)
{
    vbus *bus = p->bus;
    if (!p->plugged)
        return;
    p->plugged = false;
    fast_stop(p);
    hub_port_links(p, false);
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

void testbed_reenumerate(vprobe *p)
{
    char err[128];
    testbed_remove(p);
    if (testbed_add(p, err, sizeof err) != 0)
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
    g_cond_init(&bus->release_cond);
    bus->release_thread = g_thread_new("vbus-release", urb_release_main, bus);
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
        g_source_set_callback(bus->inotify_src, G_SOURCE_FUNC(hub_on_port_write), bus, NULL);
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
        hub_cancel_enumeration(bus->probes[i]);
        testbed_remove(bus->probes[i]);
    }
    while (bus->fast_threads > 0) /* connection threads see their shutdown */
        g_cond_wait(&bus->fast_done, &bus->lock);
    g_mutex_unlock(&bus->lock);
    /* The testbed's ioctl thread may still be delivering a client's last
     * ioctl to urb_on_ioctl, which reads the probe: end it before the probes go
     * (ASan saw urb_on_ioctl read a freed probe when a client was still
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
    bus->release_quit = true;
    g_cond_signal(&bus->release_cond);
    g_mutex_unlock(&bus->lock);
    g_thread_join(bus->release_thread);
    g_main_loop_quit(bus->timer_loop);
    g_thread_join(bus->timer_thread);
    g_main_loop_unref(bus->timer_loop);
    g_main_context_unref(bus->timer_ctx);
    if (bus->inotify_fd >= 0)
        close(bus->inotify_fd);
    g_free(bus->hub_syspath);
    g_free(bus->hub_if_syspath);
    g_cond_clear(&bus->fast_done);
    g_cond_clear(&bus->release_cond);
    g_free(bus->root);
    g_mutex_clear(&bus->lock);
    g_free(bus);
}

const char *vbus_root(const vbus *bus)
{
    return bus->root;
}

vprobe *testbed_find(vbus *bus, const char *serial)
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
        char known[4096];
        sim_chip_known(known, sizeof known);
        say(err, errlen, "unknown chip '%s' (x: any pin-count letter: %s)", chip, known);
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
    } else if (testbed_find(bus, serial)) {
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
        hub_ensure_ports(bus, p->port);
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
            if (!p->engine || (powered && testbed_add(p, err, errlen) != 0)) {
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
