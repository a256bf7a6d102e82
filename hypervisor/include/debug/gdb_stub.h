/*
 * The gdb stub on the host's second serial port (COM2): one debugger at a
 * time, on one VM at a time (the first VM, or `monitor vm <name|id>`).
 * While gdb holds it the VM is paused (VM_PAUSED); its vCPUs are gdb's
 * threads. docs/gdb.md has the commands.
 */
#ifndef DEBUG_GDB_STUB_H
#define DEBUG_GDB_STUB_H

#include <stdbool.h>
#include <stdint.h>
#include <core/exit.h>

struct vcpu;

/* Reads what gdb sent (the scheduler's housekeeping); finds COM2 on the
 * first call and does nothing without it. */
void gdb_stub_poll(void);
/* An intercepted #BP or #DB: true when it was the stub's (a breakpoint it
 * set, its single step) and is not the guest's to see. */
bool gdb_stub_exception(struct vcpu *v, const struct exit_exception *x);
/* An emulated instruction completed: true when it was the stub's single
 * step, which ends here (the CPU raises no #DB for it). */
bool gdb_stub_step_done(struct vcpu *v);
/* An access to a range of one of gdb's watchpoints (core/watch.c) is done,
 * before its instruction completes: the VM stops and gdb hears of the
 * watchpoint at addr (the data address, guest-virtual) watching `access`
 * (WATCH_READ, WATCH_WRITE or both: Z3, Z2 or Z4). */
void gdb_stub_watch_hit(struct vcpu *v, uint64_t addr, unsigned access);

/* A fetch at one of gdb's hardware breakpoints (Z1, an execute watch of
 * gdb's, core/watch.c): the VM stops before the instruction; false when
 * no gdb is there to stop for. */
bool gdb_stub_exec_hit(struct vcpu *v);
/* GUEST_DEBUG_* (x86/vendor.h) the stub wants for v: INT3 intercepted while
 * it has breakpoints, the step of gdb's stepping vCPU. */
unsigned gdb_stub_debug_flags(const struct vcpu *v);
/* Whether gdb steps v now. */
bool gdb_stub_stepping(const struct vcpu *v);

#endif
