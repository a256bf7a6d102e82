/* Time-slicing every vCPU of every VM on the one physical CPU. */
#ifndef CORE_SCHED_H
#define CORE_SCHED_H

#include <stdbool.h>

#define SCHED_SLICE_MS        10   /* a vCPU's turn */
#define SCHED_HOUSEKEEPING_MS 10   /* console input is read at least this often */

/* Never returns. In batch mode the machine powers off once every VM has
 * stopped. */
__attribute__((noreturn)) void sched_loop(bool batch);

#endif
