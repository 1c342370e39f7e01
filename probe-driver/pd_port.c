/*
 * probe-driver: power-cycling the hub port a probe is plugged into, the
 * recovery step after a USB reset (see ARCHITECTURE.md, the recovery
 * ladder). Some ST-LINK/V2 clones hang so hard that a bus reset does not
 * reach their firmware; only removing VBUS restarts them.
 *
 * Linux exposes per-port power in sysfs (Documentation/ABI/testing/
 * sysfs-bus-usb, since 4.13): every port of a hub is a directory
 * "<hub>-port<N>" under the hub's interface, with an attribute "disable";
 * writing 1 disconnects the device and turns the port's power off
 * (ClearPortFeature(PORT_POWER), USB 2.0 11.24.2.2), writing 0 turns it
 * back on, after which the device is enumerated anew. Names
 * (drivers/usb/core/usb.c usb_alloc_dev, message.c usb_set_configuration,
 * port.c usb_hub_create_port_device):
 *   device on bus 1, root port 1, hub port 3:   1-1.3
 *   its hub:                                    1-1 (interface 1-1:1.0)
 *   the port:   /sys/bus/usb/devices/1-1:1.0/1-1-port3/disable
 *   a device on root port 2 of bus 1:           1-2
 *   its hub, the root hub:                      usb1 (interface 1-0:1.0)
 *   the port:   /sys/bus/usb/devices/1-0:1.0/usb1-port2/disable
 * The device's own "port" symlink points at the same directory, but only
 * while the device is enumerated; the path is built from the port numbers
 * so that a probe that has already dropped off the bus can be recovered.
 */
#include "pd_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SYSFS_USB "/sys/bus/usb/devices"
/* How long VBUS stays off. The probe's supply must decay below its
 * power-on-reset threshold; a USB device may hold up to 10 uF on VBUS
 * (USB 2.0 7.2.4.1), which a switched-off port discharges within tens of
 * milliseconds; 500 ms leaves a wide margin without stalling the line. */
#define PORT_OFF_MS 500u
/* From power on to the probe being open again: the hub's power-good time
 * (bPwrOn2PwrGood, USB 2.0 11.23.2.1), the attach debounce (100 ms, 7.1.7.3),
 * the port reset, enumeration and the ST-LINK firmware's boot. */
#define PORT_REFIND_MS 5000u

/* The sysfs name of the device at bus/ports[0..depth-1] ("1-1.3"). */
static void device_name(uint8_t bus, const uint8_t *ports, int depth, char *out, size_t n)
{
    int off = snprintf(out, n, "%u", bus);
    for (int i = 0; i < depth && off > 0 && (size_t)off < n; i++)
        off += snprintf(out + off, n - (size_t)off, "%c%u", i ? '.' : '-', ports[i]);
}

/* The active configuration of a hub, from its sysfs attribute (1 when it
 * cannot be read: hubs have one configuration). */
static unsigned hub_config(const char *hub)
{
    char path[128], buf[16];
    snprintf(path, sizeof path, SYSFS_USB "/%s/bConfigurationValue", hub);
    unsigned cfg = 1;
    FILE *f = fopen(path, "re");
    if (f) {
        if (fgets(buf, sizeof buf, f) && sscanf(buf, "%u", &cfg) != 1)
            cfg = 1;
        fclose(f);
    }
    return cfg ? cfg : 1;
}

/* The path of the "disable" attribute of the port the probe was last seen
 * on, and the port's name for messages ("1-1-port3"). */
static void port_paths(const pd_probe *p, char *attr, size_t attrlen, char *name, size_t namelen)
{
    char hub[64], hub_if[80];
    int depth = p->port_depth;
    if (depth == 1) {
        /* The root hub: "usbB", its interface "B-0:1.0". */
        snprintf(hub, sizeof hub, "usb%u", p->port_bus);
        snprintf(hub_if, sizeof hub_if, "%u-0:1.0", p->port_bus);
    } else {
        device_name(p->port_bus, p->port_path, depth - 1, hub, sizeof hub);
        snprintf(hub_if, sizeof hub_if, "%s:%u.0", hub, hub_config(hub));
    }
    snprintf(name, namelen, "%s-port%u", hub, p->port_path[depth - 1]);
    snprintf(attr, attrlen, SYSFS_USB "/%s/%s/disable", hub_if, name);
}

/*
 * Find the probe's port without sending it anything: the kernel keeps the
 * serial string it read at enumeration in the device's "serial" attribute.
 * (Old ST-LINK/V2 firmware sends 12 raw bytes there, which do not match;
 * pd_port_power_cycle then falls back to asking the device.) On success
 * the device becomes p->dead, to be skipped while re-finding.
 */
static bool locate_by_sysfs(pd_probe *p)
{
    libusb_device **list = NULL;
    ssize_t n = libusb_get_device_list(p->ctx, &list);
    if (n < 0)
        return false;
    bool found = false;
    for (ssize_t i = 0; i < n && !found; i++) {
        struct libusb_device_descriptor d;
        uint8_t ports[7];
        if (libusb_get_device_descriptor(list[i], &d) != 0 ||
            !pd_is_stlink(d.idVendor, d.idProduct, NULL))
            continue;
        int depth = libusb_get_port_numbers(list[i], ports, (int)sizeof ports);
        if (depth <= 0)
            continue;
        char name[64], path[128], serial[64] = "";
        device_name(libusb_get_bus_number(list[i]), ports, depth, name, sizeof name);
        snprintf(path, sizeof path, SYSFS_USB "/%s/serial", name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        if (!fgets(serial, sizeof serial, f))
            serial[0] = '\0';
        fclose(f);
        serial[strcspn(serial, "\r\n")] = '\0';
        if (strcasecmp(serial, p->serial) == 0) {
            pd_note_port(p, list[i]);
            p->info.address = libusb_get_device_address(list[i]);
            p->dead = libusb_ref_device(list[i]);
            found = true;
        }
    }
    libusb_free_device_list(list, 1);
    return found;
}

/* Write "1" or "0" to the attribute, as `echo 1 > disable` does. */
static int write_attr(const char *attr, const char *value)
{
    int fd = open(attr, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int e = 0;
    if (write(fd, value, strlen(value)) != (ssize_t)strlen(value))
        e = errno ? errno : EIO;
    if (close(fd) != 0 && !e)
        e = errno;
    return e;
}

static pd_err attr_fail(pd_probe *p, const char *port, const char *attr, int e, bool on)
{
    if (e == EACCES || e == EPERM)
        return pd_fail(p, PD_E_ACCESS,
                       "cannot power-cycle hub port %s (%s: permission denied); install a udev "
                       "rule that lets the flashline group write it (deploy/), or run as root",
                       port, attr);
    return pd_fail(p, PD_E_USB, "could not switch hub port %s %s (%s: %s)%s", port,
                   on ? "on" : "off", attr, strerror(e),
                   on ? "; the port may have stayed off: write 0 to it or replug the probe" : "");
}

pd_err pd_port_power_cycle(pd_probe *p)
{
    if (!p)
        return PD_E_ARG;
    bool was_swd = p->want_swd;
    if (!p->h && !locate_by_sysfs(p) && p->port_depth == 0) {
        /* Never seen and its serial not in sysfs: ask the device (an old
         * V2's raw serial), as pd_usb_reset does. */
        pd_err e = pd_find_and_open(p);
        if (e != PD_OK)
            return e;
    }
    if (p->port_depth == 0) {
        pd_drop_handle(p);
        return pd_fail(p, PD_E_UNSUPPORTED,
                       "cannot be power-cycled: libusb does not report which hub port it is on "
                       "(no sysfs?); replug it by hand");
    }
    char attr[256], port[96];
    port_paths(p, attr, sizeof attr, port, sizeof port);

    /* Nothing is changed until we know the attribute exists and is ours to
     * write: the kernel creates it on every port of a hub that can switch
     * power per port; without it this step cannot be taken. */
    int fd = open(attr, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) {
            if (p->dead)
                libusb_unref_device(p->dead);
            p->dead = NULL;
            return pd_fail(p, PD_E_UNSUPPORTED,
                           "sits on hub port %s, whose hub cannot switch port power (no %s); use "
                           "a hub with per-port power switching, or replug the probe by hand",
                           port, attr);
        }
        if (p->dead)
            libusb_unref_device(p->dead);
        p->dead = NULL;
        return attr_fail(p, port, attr, e, false);
    }
    close(fd);

    /* The handle dies with the power; the old device may stay listed by
     * libusb until its hotplug monitor sees the removal: skip it. */
    if (p->h) {
        if (p->dead)
            libusb_unref_device(p->dead);
        p->dead = libusb_ref_device(libusb_get_device(p->h));
        pd_drop_handle(p);
    }
    p->in_swd = false;
    int e = write_attr(attr, "1");
    if (e) {
        if (p->dead)
            libusb_unref_device(p->dead);
        p->dead = NULL;
        return attr_fail(p, port, attr, e, false);
    }
    pd_sleep_ms(PORT_OFF_MS);
    e = write_attr(attr, "0");
    if (e) {
        if (p->dead)
            libusb_unref_device(p->dead);
        p->dead = NULL;
        return attr_fail(p, port, attr, e, true);
    }
    char what[128];
    snprintf(what, sizeof what, "a power cycle of hub port %s", port);
    return pd_refind(p, was_swd, PORT_REFIND_MS, what,
                     "replug it by hand; if it still does not answer, replace it");
}
