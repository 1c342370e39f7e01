/*
 * The control verbs of a running line (flashline-sim ctl; see vbus.h).
 */
#define _GNU_SOURCE
#include "vbus_internal.h"

/* ---- control verbs -------------------------------------------------------------- */

/* A fault by its control-verb name; false for an unknown name. */
static bool fault_by_name(const char *name, sim_fault *out)
{
    static const struct {
        const char *name;
        sim_fault fault;
    } faults[] = {
        {"firmware", SIM_FAULT_RUNNING_FIRMWARE},
        {"watchdog", SIM_FAULT_WATCHDOG},
        {"swd-locked", SIM_FAULT_SWD_LOCKED},
        {"stale-errors", SIM_FAULT_STALE_FLASH_ERRORS},
        {"rdp1", SIM_FAULT_RDP1},
        {"bad-cell", SIM_FAULT_BAD_CELL},
        {"ecc-single", SIM_FAULT_ECC_SINGLE},
        {"ecc-double", SIM_FAULT_ECC_DOUBLE},
    };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        if (strcmp(name, faults[i].name) == 0) {
            *out = faults[i].fault;
            return true;
        }
    }
    return false;
}

static int fault_verb(vprobe *p, char **argv, int argc, char *reply, size_t n)
{
    if (argc < 3) {
        say(reply, n,
            "usage: fault SERIAL firmware|watchdog|swd-locked|stale-errors|rdp1|"
            "bad-cell ADDR|ecc-single ADDR|ecc-double ADDR");
        return -1;
    }
    sim_fault fault;
    if (!fault_by_name(argv[2], &fault)) {
        say(reply, n, "unknown fault '%s'", argv[2]);
        return -1;
    }
    uint32_t arg = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 0;
    if (sim_board_inject(p->board, fault, arg) != SIM_OK) {
        say(reply, n, "fault %s refused (bad argument?)", argv[2]);
        return -1;
    }
    say(reply, n, "ok %s %s", p->serial, argv[2]);
    return 0;
}

/* timing SERIAL ADDR LEN: the board's timing oracle for main flash
 * [ADDR, ADDR + LEN) (sim_board_flash_timing), one line of key=value. */
static int timing_verb(vprobe *p, char **argv, int argc, char *reply, size_t n)
{
    char *end1 = NULL, *end2 = NULL;
    unsigned long addr = argc == 4 ? strtoul(argv[2], &end1, 0) : 0;
    unsigned long len = argc == 4 ? strtoul(argv[3], &end2, 0) : 0;
    if (argc != 4 || !end1 || *end1 || !end2 || *end2 || addr > UINT32_MAX || len > UINT32_MAX) {
        say(reply, n, "usage: timing SERIAL ADDR LEN");
        return -1;
    }
    sim_flash_timing t;
    if (sim_board_flash_timing(p->board, (uint32_t)addr, (uint32_t)len, &t) != SIM_OK) {
        say(reply, n, "timing: 0x%08lX+%lu is not inside main flash", addr, len);
        return -1;
    }
    say(reply, n,
        "ok program_ns=%llu erase_ns=%llu mass_ns=%llu unit_bytes=%u units=%u erase_units=%u "
        "mode=%s",
        (unsigned long long)t.program_ns, (unsigned long long)t.erase_ns,
        (unsigned long long)t.mass_ns, t.unit_bytes, t.units, t.erase_units, t.mode);
    return 0;
}

int vbus_control(vbus *bus, const char *line, char *reply, size_t n)
{
    gchar **argv = NULL;
    gint argc = 0;
    int rc = -1;
    if (!g_shell_parse_argv(line, &argc, &argv, NULL) || argc < 1) {
        say(reply, n, "empty or malformed command");
        g_strfreev(argv);
        return -1;
    }
    g_mutex_lock(&bus->lock);
    const char *verb = argv[0];
    vprobe *p = argc > 1 ? testbed_find(bus, argv[1]) : NULL;
    if (strcmp(verb, "list") == 0) {
        size_t off = 0;
        reply[0] = 0;
        for (size_t i = 0; i < bus->n && off + 1 < n; i++) {
            char d[160];
            vbus_describe(bus, i, d, sizeof d);
            off += (size_t)snprintf(reply + off, n - off, "%s%s", i ? "; " : "", d);
        }
        rc = 0;
    } else if (argc < 2) {
        say(reply, n, "%s: missing SERIAL", verb);
    } else if (!p) {
        say(reply, n, "%s: no probe with serial %s", verb, argv[1]);
    } else if (strcmp(verb, "unplug") == 0) {
        p->attached = false;
        hub_cancel_enumeration(p);
        testbed_remove(p);
        say(reply, n, "ok unplugged %s", p->serial);
        rc = 0;
    } else if (strcmp(verb, "plug") == 0) {
        /* Also a replug of a probe that is in but off the bus (it failed
         * enumeration after a hard hang): pulling the cable powered it off. */
        if (p->plugged) {
            say(reply, n, "plug: %s is already plugged in", p->serial);
        } else if (!bus->ports[p->port - 1].powered) {
            p->attached = true;
            say(reply, n, "ok plugged %s into " HUB_NAME "-port%d, which is powered off", p->serial,
                p->port);
            rc = 0;
        } else {
            p->attached = true;
            hub_cancel_enumeration(p);
            stlink_probe_power_on(p->engine);
            rc = testbed_add(p, reply, n);
            if (rc == 0)
                say(reply, n, "ok plugged %s at %s", p->serial, p->devnode);
        }
    } else if (strcmp(verb, "swap-board") == 0) {
        /* Every board of the line has its own seed, so its own UID, as
         * real silicon does: the fixture's first seed plus a large odd step
         * per swap never meets another fixture's sequence. */
        /* swap-board SERIAL [CHIP] [--save FILE] [--fault NAME]: FILE gets
         * the removed board's main flash, read on the bench (not through any
         * probe), so tests can check what a programmer really left on each
         * board. NAME (a fault without argument) is the new board's own
         * trouble, there before the probe can see the board: injected after
         * the swap, a probe quick enough would meet a board that changes
         * (firmware flashed, power cycled) in the middle of its unit. */
        const char *chip = p->chip, *save = NULL, *fault_name = NULL;
        sim_fault fault = SIM_FAULT_RUNNING_FIRMWARE;
        bool bad = false;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--save") == 0 && i + 1 < argc)
                save = argv[++i];
            else if (strcmp(argv[i], "--fault") == 0 && i + 1 < argc)
                fault_name = argv[++i];
            else if (argv[i][0] != '-' && i == 2)
                chip = argv[i];
            else
                bad = true;
        }
        sim_board *nb = NULL;
        if (bad) {
            say(reply, n, "usage: swap-board SERIAL [CHIP] [--save FILE] [--fault NAME]");
        } else if (fault_name && !fault_by_name(fault_name, &fault)) {
            say(reply, n, "swap-board: unknown fault '%s'", fault_name);
        } else if (sim_board_create(chip, p->board_seed + ++p->swaps * 0x9E3779B97F4A7C15ull, 0.0,
                                    &nb) != SIM_OK) {
            say(reply, n, "swap-board: unknown chip '%s'", chip);
        } else if (fault_name && sim_board_inject(nb, fault, 0) != SIM_OK) {
            sim_board_destroy(nb);
            say(reply, n, "swap-board: fault %s needs an argument; use the fault verb", fault_name);
        } else {
            sim_board *old = p->board;
            uint32_t uid[3];
            sim_board_uid(old, uid);
            bool saved = true;
            if (save) {
                FILE *f = fopen(save, "wb");
                const sim_chip *c = sim_board_chip(old);
                saved = f && fwrite(sim_board_flash(old), 1, c->flash_size, f) == c->flash_size;
                if (f && fclose(f) != 0)
                    saved = false;
            }
            stlink_probe_attach(p->engine, nb);
            p->board = nb;
            p->wall_origin_ns = 0; /* a new board starts its own clock */
            sim_board_destroy(old);
            g_strlcpy(p->chip, chip, sizeof p->chip);
            if (saved) {
                say(reply, n, "ok %s now has a fresh %s; the old board was UID %08X%08X%08X",
                    p->serial, chip, uid[2], uid[1], uid[0]);
                rc = 0;
            } else {
                say(reply, n, "swap-board: swapped, but cannot write %s: %s", save,
                    strerror(errno));
            }
        }
    } else if (strcmp(verb, "power") == 0) {
        if (argc < 3 || (strcmp(argv[2], "on") != 0 && strcmp(argv[2], "off") != 0)) {
            say(reply, n, "usage: power SERIAL on|off");
        } else {
            sim_board_power(p->board, strcmp(argv[2], "on") == 0);
            say(reply, n, "ok %s power %s", p->serial, argv[2]);
            rc = 0;
        }
    } else if (strcmp(verb, "wedge") == 0) {
        if (argc > 3 || (argc == 3 && strcmp(argv[2], "hard") != 0)) {
            say(reply, n, "usage: wedge SERIAL [hard]");
        } else if (argc == 3) {
            /* Cured only by removing power (unplug/plug or the hub port). */
            stlink_probe_wedge_hard(p->engine);
            say(reply, n, "ok %s wedged hard", p->serial);
            rc = 0;
        } else {
            stlink_probe_wedge(p->engine);
            p->reenumerate_on_reset = true;
            say(reply, n, "ok %s wedged", p->serial);
            rc = 0;
        }
    } else if (strcmp(verb, "loader-fail") == 0) {
        static const char *const modes[] = {"off", "once", "alternate", "always"};
        static const stlink_loader_fail values[] = {LOADER_FAIL_NONE, LOADER_FAIL_ONCE,
                                                    LOADER_FAIL_ALTERNATE, LOADER_FAIL_ALWAYS};
        say(reply, n, "usage: loader-fail SERIAL off|once|alternate|always");
        for (int i = 0; argc > 2 && i < 4; i++)
            if (strcmp(argv[2], modes[i]) == 0) {
                stlink_probe_loader_fail(p->engine, values[i]);
                say(reply, n, "ok %s loader-fail %s", p->serial, modes[i]);
                rc = 0;
            }
    } else if (strcmp(verb, "fault") == 0) {
        rc = fault_verb(p, argv, argc, reply, n);
    } else if (strcmp(verb, "timing") == 0) {
        rc = timing_verb(p, argv, argc, reply, n);
    } else {
        say(reply, n,
            "unknown verb '%s' (unplug, plug, swap-board, power, wedge, loader-fail, "
            "fault, timing, list)",
            verb);
    }
    g_mutex_unlock(&bus->lock);
    g_strfreev(argv);
    return rc;
}
