/*
 * Which vCPUs move between physical CPUs (core/balance.c): the policy of
 * the scheduler's balancing, a pure function of the vCPUs' places, run
 * times and allowed CPUs, so the host unit tests run it
 * (tests/unit/test_balance.c).
 */
#ifndef CORE_BALANCE_H
#define CORE_BALANCE_H

#include <stdbool.h>
#include <stdint.h>

struct balance_vcpu {
	unsigned cpu;          /* where it is placed */
	uint64_t run;          /* how long it has run, any unit */
	uint64_t allowed;      /* CPUs it may run on, bit n for CPU n */
	bool wants;            /* it can run now (counts as load) */
};

struct balance_move {
	unsigned vcpu;         /* index into the array */
	unsigned to;
};

/*
 * Up to two moves, in *moves; returns how many. A CPU with at least two
 * more vCPUs that want to run than another gives it its least-run one.
 * When the counts differ by one (and the less loaded CPU has any), the
 * least-run vCPU of the busier CPU and the most-run of the other swap,
 * once their run times differ by more than `slack`: with three busy vCPUs
 * on two CPUs, the one alone would otherwise get twice the others' time.
 * Only CPUs in `online` (bit n for CPU n, n < 64) take part.
 */
unsigned balance_plan(const struct balance_vcpu *v, unsigned n, uint64_t online,
		      uint64_t slack, struct balance_move moves[2]);

#endif
