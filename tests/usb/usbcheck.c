/*
 * usbcheck: a small libusb program that looks at the virtual bus the way the
 * probe driver will, used by the USB tests and benchmarks:
 *
 *   usbcheck list                       every ST-LINK: bus, address, serial
 *   usbcheck hotplug SERIAL CTL         sees unplug and plug of SERIAL
 *   usbcheck wedge SERIAL CTL           a wedged probe times out until a
 *                                       USB reset, then answers again
 *   usbcheck roundtrips SECONDS         command/reply pairs per second on
 *                                       every probe at once (one thread each)
 *
 * CTL is the line's control socket; the tool drives it with flashline-sim
 * ctl (found next to usbcheck's build tree through $FLASHLINE_SIM).
 */
#define _GNU_SOURCE
#include <libusb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ST_VID 0x0483

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool is_stlink(const struct libusb_device_descriptor *d)
{
    return d->idVendor == ST_VID &&
           (d->idProduct == 0x3748 || d->idProduct == 0x374B || d->idProduct == 0x374F);
}

/* Serial as st-info prints it: ASCII, or hex of the old V2 raw form. */
static int read_serial(libusb_device_handle *h, char out[25])
{
    unsigned char d[64];
    int n = libusb_get_string_descriptor(h, 3, 0x0409, d, sizeof d);
    if (n == 50) {
        for (int i = 0; i < 24; i++)
            out[i] = (char)d[2 + 2 * i];
    } else if (n == 26) {
        for (int i = 0; i < 12; i++)
            snprintf(out + 2 * i, 3, "%02X", d[2 + 2 * i]);
    } else {
        return -1;
    }
    out[24] = 0;
    return 0;
}

static libusb_device_handle *open_serial(libusb_context *ctx, const char *serial, uint8_t *ep_out)
{
    libusb_device **list;
    ssize_t n = libusb_get_device_list(ctx, &list);
    libusb_device_handle *found = NULL;
    for (ssize_t i = 0; i < n && !found; i++) {
        struct libusb_device_descriptor d;
        libusb_device_handle *h;
        char s[25];
        if (libusb_get_device_descriptor(list[i], &d) || !is_stlink(&d) || libusb_open(list[i], &h))
            continue;
        if (read_serial(h, s) == 0 && strcmp(s, serial) == 0 && libusb_claim_interface(h, 0) == 0) {
            found = h;
            *ep_out = d.idProduct == 0x3748 ? 0x02 : 0x01;
        } else {
            libusb_close(h);
        }
    }
    libusb_free_device_list(list, 1);
    return found;
}

/* One GET_VERSION round trip; returns the libusb error of the first failure. */
static int version(libusb_device_handle *h, uint8_t ep_out, unsigned timeout_ms)
{
    unsigned char cmd[16] = {0xF1}, reply[6];
    int got = 0;
    int r = libusb_bulk_transfer(h, ep_out, cmd, sizeof cmd, &got, timeout_ms);
    if (r == 0)
        r = libusb_bulk_transfer(h, 0x81, reply, sizeof reply, &got, timeout_ms);
    if (r == 0 && got != 6)
        r = LIBUSB_ERROR_IO;
    return r;
}

static int ctl(const char *sock, const char *verb, const char *serial)
{
    const char *sim = getenv("FLASHLINE_SIM");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s ctl --control %s %s %s >/dev/null", sim ? sim : "flashline-sim",
             sock, verb, serial);
    return system(cmd);
}

static int list_main(libusb_context *ctx)
{
    libusb_device **list;
    ssize_t n = libusb_get_device_list(ctx, &list);
    for (ssize_t i = 0; i < n; i++) {
        struct libusb_device_descriptor d;
        libusb_device_handle *h;
        char s[25] = "?";
        if (libusb_get_device_descriptor(list[i], &d) || !is_stlink(&d))
            continue;
        if (libusb_open(list[i], &h) == 0) {
            read_serial(h, s);
            libusb_close(h);
        }
        printf("%03u:%03u %04x:%04x %s\n", libusb_get_bus_number(list[i]),
               libusb_get_device_address(list[i]), d.idVendor, d.idProduct, s);
    }
    libusb_free_device_list(list, 1);
    return 0;
}

static int arrived, left;

static int LIBUSB_CALL on_hotplug(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event ev,
                                  void *user)
{
    (void)ctx, (void)dev, (void)user;
    if (ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED)
        arrived++;
    else
        left++;
    return 0;
}

static bool wait_for(libusb_context *ctx, int *counter, int want, double seconds)
{
    double end = now_s() + seconds;
    struct timeval tv = {0, 100000};
    while (*counter < want && now_s() < end)
        libusb_handle_events_timeout_completed(ctx, &tv, NULL);
    return *counter >= want;
}

static int hotplug_main(libusb_context *ctx, const char *serial, const char *sock)
{
    libusb_hotplug_callback_handle cb;
    if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) ||
        libusb_hotplug_register_callback(
            ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0, ST_VID,
            LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, on_hotplug, NULL, &cb)) {
        fprintf(stderr, "usbcheck: hotplug not available\n");
        return 1;
    }
    arrived = left = 0;
    if (ctl(sock, "unplug", serial) != 0 || !wait_for(ctx, &left, 1, 5)) {
        fprintf(stderr, "usbcheck: no DEVICE_LEFT after unplug\n");
        return 1;
    }
    if (ctl(sock, "plug", serial) != 0 || !wait_for(ctx, &arrived, 1, 5)) {
        fprintf(stderr, "usbcheck: no DEVICE_ARRIVED after plug\n");
        return 1;
    }
    uint8_t ep;
    libusb_device_handle *h = open_serial(ctx, serial, &ep);
    if (!h || version(h, ep, 1000) != 0) {
        fprintf(stderr, "usbcheck: probe does not answer after replug\n");
        return 1;
    }
    libusb_close(h);
    printf("hotplug ok: left %d arrived %d\n", left, arrived);
    return 0;
}

static int wedge_main(libusb_context *ctx, const char *serial, const char *sock)
{
    uint8_t ep;
    libusb_device_handle *h = open_serial(ctx, serial, &ep);
    if (!h || version(h, ep, 1000) != 0) {
        fprintf(stderr, "usbcheck: probe %s does not answer\n", serial);
        return 1;
    }
    uint8_t addr_before = libusb_get_device_address(libusb_get_device(h));
    ctl(sock, "wedge", serial);
    int r = version(h, ep, 300);
    if (r != LIBUSB_ERROR_TIMEOUT) {
        fprintf(stderr, "usbcheck: wedged probe gave %s, not a timeout\n", libusb_error_name(r));
        return 1;
    }
    if (version(h, ep, 300) != LIBUSB_ERROR_TIMEOUT) {
        fprintf(stderr, "usbcheck: wedged probe answered without a reset\n");
        return 1;
    }
    r = libusb_reset_device(h);
    if (r == 0) {
        if (version(h, ep, 1000) != 0) {
            fprintf(stderr, "usbcheck: no answer after reset\n");
            return 1;
        }
        printf("wedge ok: answered after reset at the same address %u\n", addr_before);
    } else if (r == LIBUSB_ERROR_NOT_FOUND) {
        libusb_close(h);
        h = NULL;
        for (int i = 0; i < 50 && !h; i++) {
            usleep(20000);
            h = open_serial(ctx, serial, &ep);
        }
        if (!h || version(h, ep, 1000) != 0) {
            fprintf(stderr, "usbcheck: could not find %s again after reset\n", serial);
            return 1;
        }
        printf("wedge ok: re-enumerated from address %u to %u\n", addr_before,
               libusb_get_device_address(libusb_get_device(h)));
    } else {
        fprintf(stderr, "usbcheck: reset failed: %s\n", libusb_error_name(r));
        return 1;
    }
    libusb_close(h);
    return 0;
}

typedef struct worker {
    libusb_device_handle *h;
    uint8_t ep;
    double seconds;
    long done;
    int err;
    uint16_t pid;
} worker;

static void *pump(void *arg)
{
    worker *w = arg;
    double end = now_s() + w->seconds;
    while (now_s() < end) {
        w->err = version(w->h, w->ep, 1000);
        if (w->err)
            return NULL;
        w->done++;
    }
    return NULL;
}

/* libusb's event handling for the sync calls of several threads. */
static int roundtrips_main(libusb_context *ctx, double seconds)
{
    libusb_device **list;
    ssize_t n = libusb_get_device_list(ctx, &list);
    worker w[32];
    int nw = 0;
    for (ssize_t i = 0; i < n && nw < 32; i++) {
        struct libusb_device_descriptor d;
        if (libusb_get_device_descriptor(list[i], &d) || !is_stlink(&d) ||
            libusb_open(list[i], &w[nw].h) || libusb_claim_interface(w[nw].h, 0))
            continue;
        w[nw].ep = d.idProduct == 0x3748 ? 0x02 : 0x01;
        w[nw].pid = d.idProduct;
        w[nw].seconds = seconds;
        w[nw].done = 0;
        w[nw].err = 0;
        nw++;
    }
    libusb_free_device_list(list, 1);
    pthread_t t[32];
    for (int i = 0; i < nw; i++)
        pthread_create(&t[i], NULL, pump, &w[i]);
    long total = 0;
    int failed = 0;
    for (int i = 0; i < nw; i++) {
        pthread_join(t[i], NULL);
        total += w[i].done;
        failed |= w[i].err != 0;
        printf("probe %d (pid %04x): %.0f round trips/s\n", i, w[i].pid, w[i].done / seconds);
        libusb_close(w[i].h);
    }
    printf("%d probes busy: %.0f round trips/s in total, %.0f per probe\n", nw, total / seconds,
           nw ? total / seconds / nw : 0.0);
    return failed;
}

int main(int argc, char **argv)
{
    libusb_context *ctx;
    if (argc < 2 || libusb_init(&ctx) != 0) {
        fprintf(stderr, "usage: usbcheck list|hotplug SERIAL CTL|wedge SERIAL CTL|roundtrips S\n");
        return 2;
    }
    int rc = 2;
    if (strcmp(argv[1], "list") == 0)
        rc = list_main(ctx);
    else if (strcmp(argv[1], "hotplug") == 0 && argc == 4)
        rc = hotplug_main(ctx, argv[2], argv[3]);
    else if (strcmp(argv[1], "wedge") == 0 && argc == 4)
        rc = wedge_main(ctx, argv[2], argv[3]);
    else if (strcmp(argv[1], "roundtrips") == 0 && argc == 3)
        rc = roundtrips_main(ctx, atof(argv[2]));
    else
        fprintf(stderr, "usbcheck: bad arguments\n");
    libusb_exit(ctx);
    return rc;
}
