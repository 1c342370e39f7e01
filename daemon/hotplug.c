/*
 * Probe arrival and departure: one thread runs libusb's event handling
 * (hotplug callbacks, as libusb recommends for threaded programs) and lists
 * the ST-LINKs on the bus whenever something changed, and every period
 * besides, in case hotplug is not available. It posts the whole list; the
 * loop works out what came and went. Listing reads string descriptors, which
 * is blocking USB I/O: that is why it happens here and not on the loop.
 */
#include "station_internal.h"

#include <libusb.h>
#include <stdlib.h>
#include <string.h>

struct hotplug {
    station *st;
    libusb_context *ctx;
    libusb_hotplug_callback_handle cb;
    bool have_cb;
    unsigned period_ms;
    pthread_t thread;
    atomic_bool stop;
    atomic_bool changed;
};

static int LIBUSB_CALL on_hotplug(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event ev,
                                  void *user)
{
    (void)ctx;
    (void)dev;
    (void)ev;
    struct hotplug *h = user;
    atomic_store(&h->changed, true); /* no I/O inside a hotplug callback */
    return 0;
}

static void scan(struct hotplug *h)
{
    enum { MAX = 64 };
    pd_probe_info infos[MAX];
    size_t n = 0;
    char msg[128];
    if (pd_enumerate(h->ctx, infos, MAX, &n, msg, sizeof msg) != PD_OK)
        return;
    if (n > MAX)
        n = MAX;
    slot_msg *m = calloc(1, sizeof *m);
    probe_seen *list = calloc(n ? n : 1, sizeof *list);
    if (!m || !list) {
        free(m);
        free(list);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(list[i].serial, sizeof list[i].serial, "%s", infos[i].serial);
        snprintf(list[i].kind, sizeof list[i].kind, "%s", pd_kind_name(infos[i].kind));
    }
    m->kind = SM_PROBES;
    m->at_ms = station_now_ms();
    m->probes = list;
    m->nprobes = n;
    station_post(h->st, m);
}

static void *hotplug_main(void *arg)
{
    struct hotplug *h = arg;
    int64_t next = 0;
    while (!atomic_load(&h->stop)) {
        int64_t now = station_now_ms();
        if (atomic_exchange(&h->changed, false) || now >= next) {
            scan(h);
            next = now + h->period_ms;
        }
        struct timeval tv = {0, 100 * 1000};
        libusb_handle_events_timeout_completed(h->ctx, &tv, NULL);
    }
    return NULL;
}

int hotplug_start(station *s, unsigned period_ms, hotplug **out)
{
    struct hotplug *h = calloc(1, sizeof *h);
    if (!h)
        return -1;
    h->st = s;
    h->period_ms = period_ms ? period_ms : 1000;
    if (libusb_init(&h->ctx) != 0) {
        free(h);
        return -1;
    }
    if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG) &&
        libusb_hotplug_register_callback(
            h->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0,
            LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
            on_hotplug, h, &h->cb) == LIBUSB_SUCCESS)
        h->have_cb = true;
    if (pthread_create(&h->thread, NULL, hotplug_main, h) != 0) {
        libusb_exit(h->ctx);
        free(h);
        return -1;
    }
    *out = h;
    return 0;
}

void hotplug_stop(hotplug *h)
{
    if (!h)
        return;
    atomic_store(&h->stop, true);
    pthread_join(h->thread, NULL);
    if (h->have_cb)
        libusb_hotplug_deregister_callback(h->ctx, h->cb);
    libusb_exit(h->ctx);
    free(h);
}
