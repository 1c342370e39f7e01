/*
 * Option bytes and readout protection (see flash.h): the engine. Each
 * family file reads its loaded options, writes a new option block and says
 * how the block is loaded (family.h, fl_opt_family); this file decides what
 * has to be written at all, because option flash wears out after a few
 * thousand cycles (DS5319 Table 29 gives 10 kcycles for the whole F103
 * flash) and a production line calls this for every unit, then loads the
 * options and checks that they took.
 */
#define _POSIX_C_SOURCE 200809L
#include "flash_internal.h"

#include <stdio.h>
#include <string.h>

#define DHCSR_KEY          0xA05F0000u
#define DHCSR_C_DEBUGEN    (1u << 0)
#define DEMCR_VC_CORERESET (1u << 0)
#define DEMCR_TRCENA       (1u << 24)

/* How long a system reset or OBL_LAUNCH may take to show on DHCSR. */
#define LOAD_WAIT_MS 2000u

static const fl_opt_family *opt_of(const fl_target *t)
{
    return &fl_family_of(t)->opt;
}

fl_err fl_opt_unlock(fl_target *t)
{
    const fl_opt_family *f = opt_of(t);
    fl_err e = fl_unlock(t);
    if (e)
        return e;
    uint32_t v = 0, lock = fl_reg(t, 0, f->lock_reg), keyr = fl_reg(t, 0, f->optkeyr);
    PD_TRY(t, pd_read32(t->probe, lock, &v));
    if (((v & f->lock_bit) != 0) == f->lock_bit_opens) /* already open */
        return FL_OK;
    PD_TRY(t, pd_write32(t->probe, keyr, f->optkeys[0]));
    PD_TRY(t, pd_write32(t->probe, keyr, f->optkeys[1]));
    PD_TRY(t, pd_read32(t->probe, lock, &v));
    if (((v & f->lock_bit) != 0) != f->lock_bit_opens)
        return fl_fail(
            t, FL_E_PROTECTED,
            "option bytes stay locked after the OPTKEYR keys (0x%08X at 0x%08X); reset the "
            "board and retry",
            v, lock);
    return FL_OK;
}

/* ---- loading the options, and coming back ------------------------------------- */

/* Halted, identified and unlocked again after the chip reset; t is
 * refreshed (fl_identify clears it). */
static fl_err reattach(fl_target *t)
{
    pd_probe *p = t->probe;
    pd_err pe = pd_halt(p);
    if (pe != PD_OK) {
        /* The reset may have dropped the debug link (OBL_LAUNCH on real L0
         * parts does): enter SWD again. */
        pe = pd_enter_swd(p);
        if (pe == PD_OK)
            pe = pd_halt(p);
    }
    if (pe != PD_OK)
        return fl_probe_fail(t, pe);
    fl_err e = fl_identify(p, t);
    return e ? e : fl_unlock(t);
}

/* Without an OBL_LAUNCH bit the option bytes load at a system reset
 * (PM0075 2.5; RM0090 3.9.10); OBL_LAUNCH reloads them and resets the chip
 * (RM0367 3.7.8, RM0351 3.7.5). Either way the core is caught at its reset vector
 * (DEMCR.VC_CORERESET) so that no firmware runs in between. */
static fl_err load_options(fl_target *t)
{
    const fl_opt_family *f = opt_of(t);
    pd_probe *p = t->probe;
    if (!f->obl_bit) {
        PD_TRY(t, pd_reset(p, true));
        return reattach(t);
    }
    /* OBL_LAUNCH is only taken with OPTLOCK clear (RM0367 3.7.8, RM0351
     * 3.7.5); the block may have been written by an earlier call that
     * never got to load it. */
    fl_err e = fl_opt_unlock(t);
    if (e)
        return e;
    uint32_t demcr = 0, dh = 0, v = 0;
    PD_TRY(t, pd_read32(p, PD_DEMCR, &demcr));
    PD_TRY(t, pd_write32(p, PD_DHCSR, DHCSR_KEY | DHCSR_C_DEBUGEN | PD_DHCSR_C_HALT));
    PD_TRY(t, pd_write32(p, PD_DEMCR, demcr | DEMCR_TRCENA | DEMCR_VC_CORERESET));
    PD_TRY(t, pd_dhcsr(p, &dh)); /* clears a stale S_RESET_ST */
    PD_TRY(t, pd_read32(p, fl_reg(t, 0, f->obl_reg), &v));
    /* The reset may cut this very write short: a target-side status is
     * fine as long as the reset shows on DHCSR. */
    pd_err pe = pd_write32(p, fl_reg(t, 0, f->obl_reg), v | f->obl_bit);
    if (pe != PD_OK && pe != PD_E_TARGET)
        return fl_probe_fail(t, pe);
    uint64_t deadline = fl_now_ms() + LOAD_WAIT_MS;
    uint32_t seen = 0;
    for (;;) {
        pe = pd_dhcsr(p, &dh);
        if (pe == PD_OK) {
            seen |= dh;
            if ((seen & PD_DHCSR_S_RST) && (dh & PD_DHCSR_S_HALT))
                break;
        } else if (pd_enter_swd(p) != PD_OK && fl_now_ms() > deadline) {
            return fl_probe_fail(t, pe);
        }
        if (fl_now_ms() > deadline)
            return fl_fail(
                t, FL_E_TIMEOUT,
                "the chip did not reset after OBL_LAUNCH (DHCSR 0x%08X); power-cycle the "
                "board to load the option bytes",
                dh);
        fl_sleep_ms(1);
    }
    PD_TRY(t, pd_write32(p, PD_DEMCR, (demcr | DEMCR_TRCENA) & ~DEMCR_VC_CORERESET));
    return reattach(t);
}

/* ---- the API -------------------------------------------------------------------- */

fl_err fl_options_read(fl_target *t, fl_options *out)
{
    fl_opt_now now;
    fl_err e = opt_of(t)->read(t, &now);
    if (e == FL_OK)
        *out = now.loaded;
    return e;
}

/* Write what differs from (level, user), then load and check. */
static fl_err change(fl_target *t, int level, uint32_t user, const char *what, const char *confirm)
{
    const fl_opt_family *f = opt_of(t);
    fl_opt_now now;
    fl_err e = f->read(t, &now);
    if (e)
        return e;
    if (now.loaded.rdp == 2 || now.block_rdp == 2)
        return fl_fail(t, FL_E_PROTECTED,
                       "%s is at RDP level 2: its option bytes can never change again",
                       t->chip->name);
    /* F4 OPTCR and L4 OPTR read back what was written even before it is
     * loaded, so ask the bus which level is in force: a debugger read of
     * main flash is refused exactly at level 1 (RM0008 4.3.1 [PM0075
     * 2.4.1], RM0090 3.7.3, RM0367 3.4.1, RM0351 3.5.1). */
    uint32_t word = 0;
    pd_err pe = pd_read32(t->probe, t->chip->line->flash_base, &word);
    if (pe != PD_OK && pe != PD_E_TARGET)
        return fl_probe_fail(t, pe);
    if (now.loaded.rdp != (pe == PD_OK ? 0 : 1))
        now.loaded.rdp = pe == PD_OK ? 0 : 1;
    bool write = now.block_rdp != level || now.block_user != user;
    bool load = write || now.loaded.rdp != level || now.loaded.user != user;
    if (!load) {
        fl_fail(t, FL_OK, "%s already in force; nothing written", what);
        return FL_OK;
    }
    if (write && f->confirm && (!confirm || strcmp(confirm, f->confirm) != 0))
        return fl_fail(t, FL_E_ARG,
                       "%s is a TrustZone part, where a wrong option byte can lock it for good: "
                       "writing %s needs \"confirm\": \"%s\" in the job's option_bytes; "
                       "nothing written",
                       t->chip->name, what, f->confirm);
    if (write && (e = f->write(t, &now, level, user)) != FL_OK)
        return e;
    if ((e = load_options(t)) != FL_OK)
        return e;
    fl_options after;
    if ((e = fl_options_read(t, &after)) != FL_OK)
        return e;
    if (after.rdp != level || after.user != user)
        return fl_fail(
            t, FL_E_VERIFY,
            "option bytes did not take: RDP level %d, user 0x%08X after loading (wanted %d, "
            "0x%08X); power-cycle the board and read them again",
            after.rdp, after.user, level, user);
    fl_fail(t, FL_OK, "%s: option bytes %s and loaded%s", what,
            write ? "written" : "already written",
            level == 0 && now.loaded.rdp == 1 ? "; main flash was mass-erased" : "");
    return FL_OK;
}

fl_err fl_options_set_rdp(fl_target *t, int level, const char *confirm)
{
    if (level == 2)
        return fl_fail(t, FL_E_ARG,
                       "RDP level 2 is permanent (debug port and option bytes locked for good); "
                       "refused, nothing written");
    if (level != 0 && level != 1)
        return fl_fail(t, FL_E_ARG, "RDP level %d does not exist; use 0 or 1", level);
    fl_options cur;
    fl_err e = fl_options_read(t, &cur);
    if (e)
        return e;
    char what[32];
    snprintf(what, sizeof what, "RDP level %d", level);
    return change(t, level, cur.user, what, confirm);
}

fl_err fl_options_write_user(fl_target *t, uint32_t user, const char *confirm)
{
    const fl_opt_family *f = opt_of(t);
    fl_options cur;
    fl_err e = fl_options_read(t, &cur);
    if (e)
        return e;
    if ((user ^ cur.user) & ~f->user_mask)
        return fl_fail(t, FL_E_ARG,
                       "user option value 0x%08X changes bits outside %s's user options (mask "
                       "0x%08X, now 0x%08X); nothing written",
                       user, t->chip->line->name, f->user_mask, cur.user);
    if (cur.rdp == 2)
        return fl_fail(t, FL_E_PROTECTED,
                       "%s is at RDP level 2: its option bytes can never change again",
                       t->chip->name);
    return change(t, cur.rdp, user, "user option bytes", confirm);
}
