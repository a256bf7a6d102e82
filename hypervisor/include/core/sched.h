/* Time-slicing every vCPU of every VM on the one physical CPU. */
#ifndef CORE_SCHED_H
#define CORE_SCHED_H

#include <stdbool.h>

#define SCHED_TICK_HZ      1000
#define SCHED_SLICE_TICKS  10     /* 10 ms per slice */

/* Never returns. In batch mode the machine powers off once every VM has
 * stopped. */
__attribute__((noreturn)) void sched_loop(bool batch);

#endif
