/*
 * sim/usb: the virtual USB bus. Each virtual ST-LINK appears to programs that
 * run under libumockdev-preload exactly as a real one does to libusb's Linux
 * backend: a sysfs device with descriptors, a /dev/bus/usb node, uevents on
 * plug and unplug, and usbfs ioctls (URB submit/reap/discard, claim, reset)
 * answered here and fed to the probe's protocol engine (sim/probe) in front
 * of a virtual board (sim/target).
 *
 * The process that creates a vbus must already run under the preload with no
 * UMOCKDEV_DIR of its own (vbus_new() checks); programs it starts inherit the
 * testbed through UMOCKDEV_DIR and LD_PRELOAD.
 */
#ifndef FLASHLINE_SIM_USB_VBUS_H
#define FLASHLINE_SIM_USB_VBUS_H

#include "stlink.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vbus vbus;

/*
 * The hub the probes sit on (sysfs 1-1, probe i on port i + 1, device
 * 1-1.<port>, the port at /sys/bus/usb/devices/1-1:1.0/1-1-port<port>, and
 * the device's "port" symlink to it). PPPS: per-port power switching; each
 * port has the kernel's "disable" attribute (sysfs-bus-usb): writing 1
 * removes VBUS (the probe drops off the bus and its firmware loses its
 * state), 0 restores it (the probe boots and enumerates under a new
 * address about 300 ms later). GANGED: one switch for all ports, so no
 * port can be power-cycled alone: no "disable" attribute.
 */
typedef enum vbus_hub { VBUS_HUB_PPPS, VBUS_HUB_GANGED } vbus_hub;

/* speed: board timing factor (0 = no wall-clock waiting). On failure returns
 * NULL and a message in err. */
vbus *vbus_new(double speed, uint64_t seed, vbus_hub hub, char *err, size_t errlen);
void vbus_free(vbus *bus);
/* The testbed root (what UMOCKDEV_DIR is set to). */
const char *vbus_root(const vbus *bus);

/*
 * Add a plugged-in probe of kind with a fresh board of chip. serial may be
 * NULL to derive one from the seed; on success it is copied to out_serial
 * (25 bytes). Returns 0, or -1 with a one-line reason in err.
 */
int vbus_add_probe(vbus *bus, stlink_kind kind, const char *chip, const char *serial,
                   char out_serial[25], char *err, size_t errlen);
size_t vbus_probe_count(const vbus *bus);
/* Describe probe i ("v2 stm32f103rb 37FF71064E57343625231943 /dev/bus/usb/001/003
 * port 1-1-port1"; "unplugged" or "not-enumerated" instead of the node, and
 * " (off)" after a powered-off port or " (ganged)" on a ganged hub). */
int vbus_describe(const vbus *bus, size_t i, char *out, size_t outlen);

/*
 * One control verb, as `flashline-sim ctl` sends it: "unplug SERIAL",
 * "plug SERIAL", "swap-board SERIAL [CHIP] [--save FILE]", "power SERIAL on|off",
 * "wedge SERIAL [hard]" (hard: a USB reset does not cure it and makes the
 * probe fail enumeration; only power does), "loader-fail SERIAL alternate|once|always|off",
 * "fault SERIAL firmware|watchdog|swd-locked|stale-errors|rdp1|bad-cell ADDR|
 *   ecc-single ADDR|ecc-double ADDR",
 * "timing SERIAL ADDR LEN" (the board's timing oracle, sim_board_flash_timing:
 * "ok program_ns=.. erase_ns=.. mass_ns=.. unit_bytes=.. units=.. erase_units=..
 * mode=.."), "list". Writes a one-line reply; returns 0, or -1 when the verb failed
 * (the reply says why).
 */
int vbus_control(vbus *bus, const char *line, char *reply, size_t replylen);

#endif
