/*
 * flashline probes: every ST-LINK on the machine and what hangs off it.
 * A probe whose target does not answer is still listed, with the reason:
 * on a line, "no board on fixture 3" is the most common answer.
 */
#include "cli.h"
#include "flash.h"
#include "stlink.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_PROBES 64

typedef struct probe_row {
    pd_probe_info info;
    char firmware[32];
    unsigned mv;
    bool have_target;
    fl_target t;
    char problem[256];
} probe_row;

static void look(probe_row *r)
{
    pd_probe *p = NULL;
    if (pd_create(NULL, r->info.serial, &p) != PD_OK) {
        snprintf(r->problem, sizeof r->problem, "out of memory");
        return;
    }
    if (pd_open(p) != PD_OK) {
        snprintf(r->problem, sizeof r->problem, "%s", pd_message(p));
        pd_destroy(p);
        return;
    }
    const pd_version *v = pd_get_version(p);
    if (v->msd)
        snprintf(r->firmware, sizeof r->firmware, "V%uJ%uM%u", v->stlink, v->jtag, v->msd);
    else
        snprintf(r->firmware, sizeof r->firmware, "V%uJ%uS%u", v->stlink, v->jtag, v->swim);
    if (pd_get_limits(p)->has_voltage)
        pd_target_voltage(p, &r->mv);
    /* Identify without disturbing: halt only for the reads, then let the
     * target run on as it was. */
    uint32_t dhcsr = 0;
    bool was_halted = false;
    if (pd_enter_swd(p) == PD_OK && pd_dhcsr(p, &dhcsr) == PD_OK) {
        was_halted = dhcsr & PD_DHCSR_S_HALT;
        if (pd_halt(p) == PD_OK) {
            fl_err e = fl_identify(p, &r->t);
            r->have_target = e == FL_OK;
            if (e != FL_OK)
                snprintf(r->problem, sizeof r->problem, "%s", r->t.msg);
            if (!was_halted)
                pd_run(p);
        } else {
            snprintf(r->problem, sizeof r->problem, "%s", pd_message(p));
        }
    } else {
        snprintf(r->problem, sizeof r->problem, "no target: %s", pd_message(p));
    }
    pd_close(p);
    pd_destroy(p);
}

static void print_json(const probe_row *rows, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const probe_row *r = &rows[i];
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string(pd_kind_name(r->info.kind)));
        json_object_set_new(o, "serial", json_string(r->info.serial));
        json_object_set_new(o, "bus", json_integer(r->info.bus));
        json_object_set_new(o, "address", json_integer(r->info.address));
        json_object_set_new(o, "firmware", json_string(r->firmware));
        json_object_set_new(o, "target_mv", json_integer(r->mv));
        if (r->have_target) {
            char uid[32];
            snprintf(uid, sizeof uid, "%08X%08X%08X", r->t.uid[2], r->t.uid[1], r->t.uid[0]);
            json_object_set_new(o, "chip", json_string(r->t.chip->name));
            json_object_set_new(o, "dev_id", json_integer(r->t.idcode & 0xFFF));
            json_object_set_new(o, "flash_size", json_integer(r->t.flash_size));
            json_object_set_new(o, "uid", json_string(uid));
            json_object_set_new(o, "read_protected", json_boolean(r->t.rdp));
        } else {
            json_object_set_new(o, "chip", json_null());
            json_object_set_new(o, "problem", json_string(r->problem));
        }
        json_array_append_new(arr, o);
    }
    json_dumpf(arr, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(arr);
}

static void print_table(const probe_row *rows, size_t n)
{
    bool tty = isatty(STDOUT_FILENO);
    if (tty)
        printf("%-5s %-24s %-10s %7s  %-34s %8s  %s\n", "KIND", "SERIAL", "FIRMWARE", "TARGET",
               "CHIP", "FLASH", "UID");
    for (size_t i = 0; i < n; i++) {
        const probe_row *r = &rows[i];
        char volts[16];
        snprintf(volts, sizeof volts, "%u.%02uV", r->mv / 1000, r->mv % 1000 / 10);
        if (r->have_target)
            printf(tty ? "%-5s %-24s %-10s %7s  %-34s %6uK  %08X%08X%08X\n"
                       : "%s %s %s %s %s %uK %08X%08X%08X\n",
                   pd_kind_name(r->info.kind), r->info.serial, r->firmware, volts, r->t.chip->name,
                   r->t.flash_size / 1024, r->t.uid[2], r->t.uid[1], r->t.uid[0]);
        else
            printf(tty ? "%-5s %-24s %-10s %7s  (%s)\n" : "%s %s %s %s (%s)\n",
                   pd_kind_name(r->info.kind), r->info.serial, r->firmware, volts, r->problem);
    }
}

int cmd_probes(const cli_opts *o, int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "flashline probes: takes no arguments\n");
        return CLI_USAGE;
    }
    static probe_row rows[MAX_PROBES];
    pd_probe_info infos[MAX_PROBES];
    size_t count = 0;
    char msg[256] = "";
    if (pd_enumerate(NULL, infos, MAX_PROBES, &count, msg, sizeof msg) != PD_OK) {
        fprintf(stderr, "flashline probes: %s\n", msg);
        return CLI_FAILED;
    }
    if (count > MAX_PROBES)
        count = MAX_PROBES;
    for (size_t i = 0; i < count; i++) {
        memset(&rows[i], 0, sizeof rows[i]);
        rows[i].info = infos[i];
        look(&rows[i]);
    }
    if (o->json)
        print_json(rows, count);
    else
        print_table(rows, count);
    if (count == 0) {
        if (!o->json)
            fprintf(stderr, "flashline probes: no ST-LINK found (check the cable and the udev "
                            "rules in deploy/)\n");
        return CLI_NO_PROBE;
    }
    return CLI_OK;
}
