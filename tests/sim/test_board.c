/*
 * The virtual board's core, exercised the way a debugger and real code use
 * it: identity registers, running Thumb code, virtual time, reset and
 * halt-on-reset, interrupts masked or not, the watchdog frozen or not,
 * faults and lockup, and the SWD link conditions.
 */
#include "thumb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

extern const unsigned char prog_core[];
extern const size_t prog_core_len;

enum { OP_ADD, OP_LOOP, OP_LOAD, OP_STORE, OP_LOOP_IRQ, OP_SPIN, OP_IWDG_KICK };

#define DEMCR_ADDR 0xE000EDFCu
#define AIRCR_ADDR 0xE000ED0Cu
#define DFSR_ADDR  0xE000ED30u
#define CPUID_ADDR 0xE000ED00u
#define DCRSR_ADDR 0xE000EDF4u
#define DCRDR_ADDR 0xE000EDF8u
#define FW_TICKS   0x20000040u
#define FW_LOOP    0x20000010u

static const char *const chips[] = {"stm32f103rb", "stm32f446re", "stm32l053r8", "stm32l476rg"};

static sim_board *make(const char *chip, uint64_t seed)
{
    sim_board *b = NULL;
    assert_int_equal(sim_board_create(chip, seed, 0.0, &b), SIM_OK);
    return b;
}

static void identity_matches_the_chip(void **state)
{
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        sim_board *b = make(chips[i], 1);
        const sim_chip *c = sim_board_chip(b);
        assert_int_equal(rd32(b, c->idcode_addr) & 0xFFF, c->dev_id);
        assert_int_equal(rd32(b, c->idcode_addr) >> 16, c->rev_id);
        assert_int_equal(rd32(b, CPUID_ADDR), c->cpuid);
        uint32_t word = rd32(b, c->flash_size_reg & ~3u);
        uint16_t kib = (uint16_t)((c->flash_size_reg & 2) ? word >> 16 : word & 0xFFFF);
        assert_int_equal(kib * 1024u, c->flash_size);
        sim_board_destroy(b);
    }
}

static void uid_follows_the_seed(void **state)
{
    (void)state;
    sim_board *a = make("stm32f103rb", 7), *a2 = make("stm32f103rb", 7);
    sim_board *other = make("stm32f103rb", 8);
    const sim_chip *c = sim_board_chip(a);
    uint32_t ua[3], ua2[3], uo[3];
    for (int i = 0; i < 3; i++) {
        ua[i] = rd32(a, c->uid_addr[i]);
        ua2[i] = rd32(a2, c->uid_addr[i]);
        uo[i] = rd32(other, c->uid_addr[i]);
    }
    assert_memory_equal(ua, ua2, sizeof ua);
    assert_memory_not_equal(ua, uo, sizeof ua);
    uint32_t api[3];
    sim_board_uid(a, api);
    assert_memory_equal(ua, api, sizeof ua);
    sim_board_destroy(a);
    sim_board_destroy(a2);
    sim_board_destroy(other);
}

static void blank_board_locks_up_and_can_be_halted(void **state)
{
    (void)state;
    sim_board *b = make("stm32f446re", 1);
    /* Erased vectors: SP 0xFFFFFFFC, PC 0xFFFFFFFE -> fault while faulting,
     * within the first microsecond after power-on. */
    assert_int_equal(sim_board_advance(b, 1000), SIM_OK);
    assert_true(sim_board_locked_up(b));
    assert_true(rd32(b, DHCSR_ADDR) & DHCSR_S_LOCKUP);
    thumb_halt(b);
    assert_false(sim_board_locked_up(b));
    assert_false(rd32(b, DHCSR_ADDR) & DHCSR_S_LOCKUP);
    sim_board_destroy(b);
}

static void code_runs_on_every_chip(void **state)
{
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        sim_board *b = make(chips[i], 3);
        thumb_load(b, prog_core, prog_core_len);
        assert_int_equal(thumb_call(b, OP_ADD, 40, 2, 0), 42);
        assert_int_equal(thumb_call(b, OP_LOOP, 1000, 0, 0), 1000);
        /* A store by the core lands in SRAM, where the debugger sees it. */
        thumb_call(b, OP_STORE, 0x20001F00u, 0xC0FFEE11u, 0);
        assert_int_equal(rd32(b, 0x20001F00u), 0xC0FFEE11u);
        assert_int_equal(thumb_call(b, OP_LOAD, 0x20001F00u, 0, 0), 0xC0FFEE11u);
        /* Halted on the BKPT that ends the program, with DFSR saying so. */
        assert_true(rd32(b, DFSR_ADDR) & 2);
        sim_board_destroy(b);
    }
}

static void virtual_time_follows_instructions(void **state)
{
    (void)state;
    sim_board *b = make("stm32f103rb", 1);
    thumb_load(b, prog_core, prog_core_len);
    uint64_t t0 = sim_board_now_ns(b), i0 = sim_board_instructions(b);
    thumb_call(b, OP_LOOP, 10000, 0, 0);
    uint64_t dt1 = sim_board_now_ns(b) - t0, di1 = sim_board_instructions(b) - i0;
    t0 = sim_board_now_ns(b);
    i0 = sim_board_instructions(b);
    thumb_call(b, OP_LOOP, 20000, 0, 0);
    uint64_t dt2 = sim_board_now_ns(b) - t0, di2 = sim_board_instructions(b) - i0;
    /* 8 MHz HSI: 125 ns a cycle; the loop costs at least 4 cycles a turn. */
    assert_true(dt1 >= 10000ull * 4 * 125);
    assert_true(di2 > di1 * 19 / 10 && di2 < di1 * 21 / 10);
    assert_true(dt2 > dt1 * 19 / 10 && dt2 < dt1 * 21 / 10);
    sim_board_destroy(b);
}

static void unmapped_access_faults_for_debugger_and_core(void **state)
{
    (void)state;
    sim_board *b = make("stm32f103rb", 1);
    uint32_t v = 0, fault = 0;
    assert_int_equal(sim_board_mem_read(b, 0x60000000u, &v, 4, 4, &fault), SIM_E_BUS);
    assert_int_equal(fault, 0x60000000u);
    /* The top of the address space must not wrap into the boot alias at 0
     * (OpenOCD probes up there). */
    assert_int_equal(sim_board_mem_read(b, 0xFFFFFFFCu, &v, 4, 4, &fault), SIM_E_BUS);
    uint16_t h = 0;
    assert_int_equal(sim_board_mem_read(b, 0xFFFFFFFEu, &h, 2, 2, &fault), SIM_E_BUS);
    uint32_t w = 0x12345678u;
    assert_int_equal(sim_board_mem_write(b, 0xFFFFFFFCu, &w, 4, 4, &fault), SIM_E_BUS);
    thumb_load(b, prog_core, prog_core_len);
    const uint32_t args[4] = {OP_LOAD, 0x60000000u, 0, 0};
    uint32_t ret = 0;
    /* The core takes a bus fault; with erased vectors it locks up instead of
     * reaching the BKPT. */
    assert_false(thumb_run(b, args, true, 1000000, &ret));
    assert_true(sim_board_locked_up(b));
    assert_true(rd32(b, 0xE000ED28u) & (1u << 9));       /* CFSR.PRECISERR */
    assert_int_equal(rd32(b, 0xE000ED38u), 0x60000000u); /* BFAR */
    sim_board_destroy(b);
}

static void firmware_runs_and_reset_halts_on_vector_catch(void **state)
{
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        sim_board *b = make(chips[i], 5);
        assert_int_equal(sim_board_inject(b, SIM_FAULT_RUNNING_FIRMWARE, 0), SIM_OK);
        assert_false(sim_board_halted(b));
        uint32_t loops = rd32(b, FW_LOOP);
        assert_int_equal(sim_board_advance(b, 1000000), SIM_OK);
        assert_true(rd32(b, FW_LOOP) > loops);
        assert_true(rd32(b, FW_TICKS) > 0); /* SysTick interrupts taken */

        /* Halt on reset: DEMCR.VC_CORERESET, then SYSRESETREQ. */
        wr32(b, DHCSR_ADDR, DHCSR_KEY | DHCSR_C_DEBUGEN | DHCSR_C_HALT);
        wr32(b, DEMCR_ADDR, 1);
        rd32(b, DHCSR_ADDR); /* clear sticky bits */
        wr32(b, AIRCR_ADDR, 0x05FA0004u);
        assert_true(sim_board_halted(b));
        uint32_t dhcsr = rd32(b, DHCSR_ADDR);
        assert_true(dhcsr & DHCSR_S_HALT);
        assert_true(dhcsr & DHCSR_S_RESET_ST);
        assert_false(rd32(b, DHCSR_ADDR) & DHCSR_S_RESET_ST); /* sticky: clears on read */
        assert_true(rd32(b, DFSR_ADDR) & (1u << 3));          /* VCATCH */
        uint32_t pc = 0, reset_vector = rd32(b, 0x08000004u);
        assert_int_equal(sim_board_reg_read(b, 15, &pc), SIM_OK);
        assert_int_equal(pc, reset_vector & ~1u);
        uint32_t sp = 0;
        assert_int_equal(sim_board_reg_read(b, 13, &sp), SIM_OK);
        assert_int_equal(sp, 0x20002000u);
        /* Let it go: the firmware runs again. */
        wr32(b, DEMCR_ADDR, 0);
        wr32(b, DHCSR_ADDR, DHCSR_KEY | DHCSR_C_DEBUGEN);
        loops = rd32(b, FW_LOOP);
        sim_board_advance(b, 1000000);
        assert_true(rd32(b, FW_LOOP) != loops);
        sim_board_destroy(b);
    }
}

static void masked_interrupts_protect_a_loader(void **state)
{
    (void)state;
    sim_board *b = make("stm32f103rb", 9);
    assert_int_equal(sim_board_inject(b, SIM_FAULT_RUNNING_FIRMWARE, 0), SIM_OK);
    thumb_halt(b);
    thumb_load(b, prog_core, prog_core_len);
    uint32_t code_at_ticks = rd32(b, FW_TICKS);
    /* C_MASKINTS: no tick is taken however long the program runs. */
    const uint32_t args[4] = {OP_LOOP_IRQ, 20000, 0, 0};
    uint32_t ret = 0;
    assert_true(thumb_run(b, args, true, 1000000000ull, &ret));
    assert_int_equal(ret, 20000);
    assert_int_equal(rd32(b, FW_TICKS), code_at_ticks);

    /* Same program without C_MASKINTS: the firmware's tick handler runs and
     * writes its counter into the program's code at 0x20000040. */
    thumb_load(b, prog_core, prog_core_len);
    thumb_run(b, args, false, 100000000ull, &ret);
    assert_int_not_equal(rd32(b, FW_TICKS), code_at_ticks);
    sim_board_destroy(b);
}

static void watchdog_resets_unless_frozen(void **state)
{
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        sim_board *b = make(chips[i], 2);
        const sim_chip *c = sim_board_chip(b);
        assert_int_equal(sim_board_inject(b, SIM_FAULT_WATCHDOG, 0), SIM_OK);
        thumb_halt(b);
        rd32(b, DHCSR_ADDR);
        wr32(b, c->rcc_csr, 1u << 24); /* RMVF: clear reset flags */
        /* Halted but not frozen: the IWDG (4 * 4096 / LSI, ~0.4-0.5 s at
         * reset values) resets the chip while the debugger waits. */
        sim_board_advance(b, 1000000000ull);
        assert_true(rd32(b, c->rcc_csr) & (1u << 29)); /* IWDGRSTF */
        assert_true(rd32(b, DHCSR_ADDR) & DHCSR_S_RESET_ST);

        /* Frozen through DBGMCU while halted: no reset for seconds. */
        thumb_halt(b);
        uint32_t fz = c->dbgmcu_apb1_fz;
        wr32(b, fz, rd32(b, fz) | c->iwdg_freeze_bit);
        wr32(b, c->rcc_csr, 1u << 24);
        rd32(b, DHCSR_ADDR);
        sim_board_advance(b, 3000000000ull);
        assert_false(rd32(b, c->rcc_csr) & (1u << 29));
        assert_false(rd32(b, DHCSR_ADDR) & DHCSR_S_RESET_ST);
        assert_true(sim_board_halted(b));
        sim_board_destroy(b);
    }
}

static void refreshing_code_keeps_the_watchdog_quiet(void **state)
{
    (void)state;
    sim_board *b = make("stm32f103rb", 4);
    assert_int_equal(sim_board_inject(b, SIM_FAULT_WATCHDOG, 0), SIM_OK);
    thumb_load(b, prog_core, prog_core_len);
    wr32(b, 0x40021024u, 1u << 24);
    /* 40 refreshes ~50 ms apart = 2 s of running, far past one timeout. */
    const uint32_t args[4] = {OP_IWDG_KICK, 40, 0, 50000};
    uint32_t ret = 0;
    assert_true(thumb_run(b, args, true, 10000000000ull, &ret));
    assert_int_equal(ret, 40);
    assert_true(sim_board_now_ns(b) > 1000000000ull);
    assert_false(rd32(b, 0x40021024u) & (1u << 29));
    sim_board_destroy(b);
}

static void registers_through_dcrsr_and_single_step(void **state)
{
    (void)state;
    sim_board *b = make("stm32l476rg", 1);
    thumb_load(b, prog_core, prog_core_len);
    thumb_halt(b);
    wr32(b, DCRDR_ADDR, 0x12345678u);
    wr32(b, DCRSR_ADDR, (1u << 16) | 5); /* write R5 */
    uint32_t r5 = 0;
    assert_int_equal(sim_board_reg_read(b, 5, &r5), SIM_OK);
    assert_int_equal(r5, 0x12345678u);
    wr32(b, DCRSR_ADDR, 5); /* read R5 back through DCRDR */
    assert_true(rd32(b, DHCSR_ADDR) & DHCSR_S_REGRDY);
    assert_int_equal(rd32(b, DCRDR_ADDR), 0x12345678u);

    /* Core registers need a halted core. */
    const sim_chip *c = sim_board_chip(b);
    assert_int_equal(sim_board_reg_write(b, 15, c->sram_base), SIM_OK);
    assert_int_equal(sim_board_reg_write(b, 16, 1u << 24), SIM_OK);
    assert_int_equal(sim_board_reg_write(b, 13, c->sram_base + 0x4000), SIM_OK);
    /* Step: one instruction (the BL's first half-word pair is 4 bytes). */
    wr32(b, DHCSR_ADDR, DHCSR_KEY | DHCSR_C_DEBUGEN | DHCSR_C_STEP | DHCSR_C_MASKINTS);
    sim_board_advance(b, 10000);
    assert_true(sim_board_halted(b));
    uint32_t pc = 0;
    assert_int_equal(sim_board_reg_read(b, 15, &pc), SIM_OK);
    assert_int_not_equal(pc, c->sram_base);
    wr32(b, DHCSR_ADDR, DHCSR_KEY | DHCSR_C_DEBUGEN);
    assert_int_equal(sim_board_reg_read(b, 0, &r5), SIM_E_NOT_HALTED);
    sim_board_destroy(b);
}

static void swd_locked_needs_connect_under_reset(void **state)
{
    (void)state;
    sim_board *b = make("stm32l053r8", 6);
    assert_int_equal(sim_board_inject(b, SIM_FAULT_SWD_LOCKED, 0), SIM_OK);
    assert_int_equal(sim_board_inject(b, SIM_FAULT_RUNNING_FIRMWARE, 0), SIM_OK);
    uint32_t v = 0;
    assert_int_equal(sim_board_read32(b, DHCSR_ADDR, &v), SIM_E_NO_LINK);
    /* Connect under reset: NRST low, enable debug and vector catch, release. */
    sim_board_nrst(b, true);
    assert_int_equal(sim_board_write32(b, DHCSR_ADDR, DHCSR_KEY | DHCSR_C_DEBUGEN | DHCSR_C_HALT),
                     SIM_OK);
    assert_int_equal(sim_board_write32(b, DEMCR_ADDR, 1), SIM_OK);
    sim_board_nrst(b, false);
    assert_true(sim_board_halted(b));
    sim_board_advance(b, 1000000);
    assert_int_equal(sim_board_read32(b, 0x08000000u, &v), SIM_OK);
    assert_int_equal(v, 0x20002000u); /* the firmware's initial SP */
    sim_board_destroy(b);
}

static void no_power_no_answer(void **state)
{
    (void)state;
    sim_board *b = make("stm32f446re", 1);
    assert_int_equal(sim_board_voltage_mv(b), 3300);
    assert_int_equal(sim_board_inject(b, SIM_FAULT_NO_POWER, 0), SIM_OK);
    uint32_t v = 0;
    assert_int_equal(sim_board_read32(b, CPUID_ADDR, &v), SIM_E_NO_POWER);
    assert_int_equal(sim_board_voltage_mv(b), 0);
    sim_board_power(b, true);
    assert_int_equal(sim_board_read32(b, CPUID_ADDR, &v), SIM_OK);
    assert_int_equal(v, 0x410FC241u);
    sim_board_destroy(b);
}

static void unknown_chip_is_refused(void **state)
{
    (void)state;
    sim_board *b = (sim_board *)1;
    assert_int_equal(sim_board_create("stm32f999zz", 1, 0.0, &b), SIM_E_ARG);
    assert_null(b);
    assert_int_equal(sim_board_create("stm32f103rb", 1, -1.0, &b), SIM_E_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identity_matches_the_chip),
        cmocka_unit_test(uid_follows_the_seed),
        cmocka_unit_test(blank_board_locks_up_and_can_be_halted),
        cmocka_unit_test(code_runs_on_every_chip),
        cmocka_unit_test(virtual_time_follows_instructions),
        cmocka_unit_test(unmapped_access_faults_for_debugger_and_core),
        cmocka_unit_test(firmware_runs_and_reset_halts_on_vector_catch),
        cmocka_unit_test(masked_interrupts_protect_a_loader),
        cmocka_unit_test(watchdog_resets_unless_frozen),
        cmocka_unit_test(refreshing_code_keeps_the_watchdog_quiet),
        cmocka_unit_test(registers_through_dcrsr_and_single_step),
        cmocka_unit_test(swd_locked_needs_connect_under_reset),
        cmocka_unit_test(no_power_no_answer),
        cmocka_unit_test(unknown_chip_is_refused),
    };
    return cmocka_run_group_tests_name("sim.board", tests, NULL, NULL);
}
