/*
 * Private to station.c, slot.c and hotplug.c: the slot shared between the
 * loop and one worker thread, the job as both see it, and the message queue
 * from the threads to the loop.
 *
 * Sharing rules (ARCHITECTURE.md "Threads"):
 *  - A job's recipe and image never change after it is created, so workers
 *    read them without locks; jobs live until the station is freed.
 *  - The fields of a slot marked "mu" are read and written under slot.mu by
 *    both sides; everything else in a slot belongs to the loop.
 *  - Threads hand messages to the loop through station_post (a mutex-guarded
 *    list and uv_async_send); nothing else is shared.
 */
#ifndef FLASHLINE_DAEMON_STATION_INTERNAL_H
#define FLASHLINE_DAEMON_STATION_INTERNAL_H

#include "station.h"
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct sjob {
    int64_t id;
    char state[16]; /* loop only: running, paused, cancelled, done */
    /* immutable after creation: */
    image *img;
    serial_spec serial;
    unit_recipe recipe;
    char chip[40], family[8];
    char **probes;
    size_t nprobes;
    int64_t count; /* -1: continuous */
    struct sjob *next;
} sjob;

typedef enum slot_msg_kind {
    SM_STATE,
    SM_PROGRESS,
    SM_ATTEMPT_BEGIN,
    SM_ATTEMPT_END,
    SM_RECOVERY,
    SM_BEGIN,    /* the worker waits for the answer */
    SM_UNIT_END, /* a begun unit is over: outcome attached */
    SM_RUN_END,  /* a run ended before any unit began */
    SM_RESET_DONE,
    SM_EXIT,   /* the worker thread is about to return */
    SM_PROBES, /* hotplug: the probes on the bus now */
} slot_msg_kind;

typedef struct slot slot;

typedef struct probe_seen {
    char serial[32];
    char kind[8];
} probe_seen;

typedef struct slot_msg {
    struct slot_msg *next;
    slot *sl;
    slot_msg_kind kind;
    int64_t at_ms;
    int n;
    bool ok;
    unit_state state;
    unit_step step;
    uint64_t done, total;
    unit_board board;
    unit_outcome *outcome; /* SM_UNIT_END, SM_RUN_END: owned by the message */
    char error[512];
    probe_seen *probes; /* SM_PROBES */
    size_t nprobes;
} slot_msg;

struct slot {
    station *st;
    char serial[32];
    char kind[8];
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* mu: */
    sjob *job;            /* the job this slot works for, or NULL */
    bool present;         /* on the bus */
    bool quit;            /* stop the worker once its unit (if any) is over */
    bool reset_requested; /* USB reset, asked by an operator */
    bool begin_asked, begin_answered, begin_ok;
    bool begin_already; /* refused: this board already has its ok unit in the job */
    int64_t begin_serial;

    /* loop only: */
    const char *state; /* docs/api.md probe states */
    bool quarantined;
    char quarantine_reason[256];
    unsigned failed_in_row;
    int64_t unit_id, attempt_id;
    sjob *unit_job;
    int progress;
    char chip[64], uid[32];
    char last_result[16];
    int64_t last_at_ms;
    int64_t units_ok, units_failed;
    bool exited;
    slot *next;
};

/* Threads -> loop. Takes ownership of m. */
void station_post(station *s, slot_msg *m);
int64_t station_now_ms(void);

/* slot.c: the worker thread. */
int slot_thread_start(slot *sl, unsigned poll_ms);

/* hotplug.c: one thread with libusb hotplug and a periodic rescan, posting
 * SM_PROBES. */
typedef struct hotplug hotplug;
int hotplug_start(station *s, unsigned period_ms, hotplug **out);
void hotplug_stop(hotplug *h);

#endif
