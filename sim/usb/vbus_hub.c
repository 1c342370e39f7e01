/*
 * The hub the probes sit on, its ports and their power (see vbus.h and
 * docs/simulator.md "The hub and wedge hard").
 */
#define _GNU_SOURCE
#include "vbus_internal.h"

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
void hub_port_links(vprobe *p, bool make)
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
void hub_ensure_ports(vbus *bus, int want)
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
int hub_create(vbus *bus, char *err, size_t errlen)
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
    hub_ensure_ports(bus, HUB_MIN_PORTS);
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

void hub_cancel_enumeration(vprobe *p)
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
        if (testbed_add(p, err, sizeof err) != 0)
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
        hub_cancel_enumeration(p);
        testbed_remove(p);
    } else if (p->attached && !p->plugged) {
        schedule_enumeration(p);
    }
}

gboolean hub_on_port_write(gint fd, GIOCondition cond, gpointer data)
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
