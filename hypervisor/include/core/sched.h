/* Time-slicing the vCPUs on each physical CPU, and moving them between CPUs
 * so that each gets its share. */
#ifndef CORE_SCHED_H
#define CORE_SCHED_H

#include <stdbool.h>

#define SCHED_SLICE_MS        10   /* a vCPU's turn */
#define SCHED_HOUSEKEEPING_MS 10   /* console input is read at least this often */
/* An IPI's target runs in the sender's slice until SCHED_HANDOFF_US after it
 * handled the IPI, or SCHED_HANDOFF_MAX_US without handling it; a PAUSE
 * spinner's sibling SCHED_HANDOFF_US (core/sched.c, hand-off). */
#define SCHED_HANDOFF_US      200
#define SCHED_HANDOFF_MAX_US  2000
#define SCHED_BALANCE_MS      100  /* the boot CPU evens out the CPUs' loads this often */

struct vcpu;

/* `from` sent `to` an IPI: lend `to` the rest of the slice for a while
 * (core/sched.c, hand-off). */
void sched_ipi_sent(const struct vcpu *from, struct vcpu *to);
/* `v` spins with PAUSE: lend the next vCPU of its VM that can run the rest of
 * the slice for a while, as for an IPI. */
void sched_pause_spin(const struct vcpu *v);
/* `v` is done with an interrupt (EOI, or the IRET ending an NMI): if it runs
 * on an IPI's loan, the loan ends SCHED_HANDOFF_US from now. */
void sched_irq_done(const struct vcpu *v);

/* Never returns. In batch mode the machine powers off once every VM has
 * stopped. */
__attribute__((noreturn)) void sched_loop(bool batch);

#endif
