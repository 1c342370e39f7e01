/*
 * Run a Thumb test program on a virtual board, as a debugger runs a flash
 * loader: halt, load the code at the start of SRAM, set R0-R3, SP and PC,
 * let the core run, and wait for it to halt on the BKPT at the end.
 */
#ifndef FLASHLINE_TESTS_SIM_THUMB_H
#define FLASHLINE_TESTS_SIM_THUMB_H

#include "board.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHCSR_ADDR       0xE000EDF0u
#define DHCSR_KEY        0xA05F0000u
#define DHCSR_C_DEBUGEN  (1u << 0)
#define DHCSR_C_HALT     (1u << 1)
#define DHCSR_C_STEP     (1u << 2)
#define DHCSR_C_MASKINTS (1u << 3)
#define DHCSR_S_REGRDY   (1u << 16)
#define DHCSR_S_HALT     (1u << 17)
#define DHCSR_S_LOCKUP   (1u << 19)
#define DHCSR_S_RESET_ST (1u << 25)

/* Halt the core through DHCSR; fails the test if it does not halt. */
void thumb_halt(sim_board *b);
/* Copy code to the start of SRAM (through the AHB-AP, as a probe does). */
void thumb_load(sim_board *b, const unsigned char *code, size_t len);
/*
 * Start the loaded program with r0-r3 and run it for at most budget_ns of
 * virtual time. masked selects C_MASKINTS. Returns true and R0 in *ret when
 * the core halted; false when it was still running (or locked up).
 */
bool thumb_run(sim_board *b, const uint32_t args[4], bool masked, uint64_t budget_ns,
               uint32_t *ret);
/* thumb_run with four arguments, interrupts masked, a 10 s budget; fails
 * the test unless the program reached its BKPT. */
uint32_t thumb_call(sim_board *b, uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3);

uint32_t rd32(sim_board *b, uint32_t addr);
void wr32(sim_board *b, uint32_t addr, uint32_t v);

#endif
