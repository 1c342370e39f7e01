/*
 * bench_board: how fast the virtual board is.
 *  - emulated instruction rate: a 3-instruction ALU loop and a 6-instruction
 *    loop with a load and a store, run from SRAM (where flash loaders run);
 *  - one halted-core round trip as a debugger drives a flash loader: write
 *    R0-R3, SP, PC and xPSR, run to the BKPT, read R0 back.
 * Run: build/default/bench/bench_board [seconds-per-figure]
 */
#include "board.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern const unsigned char bench_loops[];
extern const size_t bench_loops_len;

#define DHCSR 0xE000EDF0u

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int check(sim_err e, const char *what)
{
    if (e != SIM_OK) {
        fprintf(stderr, "bench_board: %s: %s\n", what, sim_err_str(e));
        exit(1);
    }
    return 0;
}

/* Start the loaded program and wait for its BKPT; returns R0. */
static uint32_t call(sim_board *b, uint32_t turns, uint32_t mem)
{
    const sim_chip *c = sim_board_chip(b);
    check(sim_board_write32(b, DHCSR, 0xA05F0003u), "halt");
    check(sim_board_reg_write(b, 0, 0), "r0");
    check(sim_board_reg_write(b, 1, turns), "r1");
    check(sim_board_reg_write(b, 2, c->sram_base + 0x1000), "r2");
    check(sim_board_reg_write(b, 3, mem), "r3");
    check(sim_board_reg_write(b, 13, c->sram_base + c->sram_size), "sp");
    check(sim_board_reg_write(b, 15, c->sram_base), "pc");
    check(sim_board_reg_write(b, 16, 1u << 24), "xpsr");
    check(sim_board_write32(b, DHCSR, 0xA05F0009u), "run");
    while (!sim_board_halted(b))
        check(sim_board_advance(b, 1000000000ull), "advance");
    uint32_t r0 = 0;
    check(sim_board_reg_read(b, 0, &r0), "read r0");
    return r0;
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? atof(argv[1]) : 1.0;
    printf("%-12s %14s %14s %16s\n", "chip", "ALU Minstr/s", "mem Minstr/s", "round trip us");
    for (size_t i = 0; sim_chip_at(i); i++) {
        const sim_chip *c = sim_chip_at(i);
        sim_board *b = NULL;
        check(sim_board_create(c->name, 1, 0.0, &b), "create");
        check(sim_board_write32(b, DHCSR, 0xA05F0003u), "halt");
        check(
            sim_board_mem_write(b, c->sram_base, bench_loops, (bench_loops_len + 3) & ~3u, 4, NULL),
            "load");
        double rate[2];
        for (int mem = 0; mem < 2; mem++) {
            uint32_t turns = 50000000;
            double t0 = now_s();
            uint32_t done = call(b, turns, (uint32_t)mem);
            double dt = now_s() - t0;
            if (done != turns) {
                fprintf(stderr, "bench_board: loop ended early (%u of %u)\n", done, turns);
                return 1;
            }
            rate[mem] = (mem ? 6.0 : 3.0) * turns / dt / 1e6;
        }
        unsigned n = 0;
        double t0 = now_s(), dt = 0;
        while ((dt = now_s() - t0) < budget) {
            for (int k = 0; k < 1000; k++)
                if (call(b, 1, 0) != 1)
                    return 1;
            n += 1000;
        }
        printf("%-12s %14.1f %14.1f %16.2f\n", c->name, rate[0], rate[1], dt / n * 1e6);
        sim_board_destroy(b);
    }
    return 0;
}
