/*
 * The fast usbfs transport between libflashline-usbfast.so (in the client)
 * and sim/usb/vbus_fast.c (in flashline-sim): one SOCK_SEQPACKET socket per open
 * device node, one request and one reply message per ioctl.
 */
#ifndef FLASHLINE_SIM_USB_USBFAST_PROTO_H
#define FLASHLINE_SIM_USB_USBFAST_PROTO_H

#include <stdbool.h>
#include <stdint.h>

/* Sockets live in $UMOCKDEV_DIR/USBFAST_DIR/BBB-DDD.sock. */
#define USBFAST_DIR "flashline-usbfast"
/* Largest URB buffer carried; ST-LINK transfers are at most 64 KiB. */
#define USBFAST_MAX_DATA (256u * 1024u)

enum usbfast_op {
    USBFAST_SUBMIT = 1, /* urb, type, endpoint, len (+ data for OUT/control) */
    USBFAST_REAP,       /* reply: urb, status, actual, len + data for IN */
    USBFAST_DISCARD,    /* urb */
    USBFAST_IOCTL,      /* request; reply: value (capabilities) */
};

typedef struct usbfast_msg {
    uint32_t op;
    int32_t err; /* reply: errno, 0 for success */
    uint64_t request;
    uint64_t urb; /* the URB's address in the client: its identity */
    uint8_t type, endpoint, pad[2];
    int32_t status, actual;
    uint32_t len;   /* bytes in data[] */
    uint32_t value; /* reply value */
    uint8_t data[];
} usbfast_msg;

#endif
