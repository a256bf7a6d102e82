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

struct vm;
/* Whether one of gdb's hardware breakpoints (Z1) takes the execute right
 * from the guest-physical page now (core/watch.c asks, for its rights). */
bool gdb_stub_exec_watched(const struct vm *vm, uint64_t page);
/* A nested page fault: true when it was an instruction fetch from a page
 * of gdb's hardware breakpoints, and the stub dealt with it (a stop at the
 * breakpoint, or the instruction run with the right back for one step). */
bool gdb_stub_npf(struct vcpu *v, const struct exit_info *e);

#endif
