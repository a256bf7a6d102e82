/* The balancing policy (core/balance.c): moves from a CPU two ahead, swaps
 * for fairness when one ahead, `cpus =` lists and offline CPUs respected,
 * and, simulated over many periods, three busy vCPUs on two CPUs end up
 * with equal run times, which placement alone never gives. */
// UNIT-SOURCES: hypervisor/core/balance.c
#include <core/balance.h>
#include "unit.h"

#define ANY (~0ull)

static struct balance_vcpu busy(unsigned cpu, uint64_t run)
{
	return (struct balance_vcpu){ .cpu = cpu, .run = run, .allowed = ANY, .wants = true };
}

static void test_even_loads_stay(void)
{
	struct balance_vcpu v[] = { busy(0, 5), busy(1, 900) };
	struct balance_move m[2];

	CHECK_EQ(balance_plan(v, 2, 0x3, 10, m), 0);
	CHECK_EQ(balance_plan(v, 0, 0x3, 10, m), 0);
	CHECK_EQ(balance_plan(v, 2, 0x1, 10, m), 0);      /* one CPU: nowhere to go */
}

static void test_two_ahead_gives_one(void)
{
	struct balance_vcpu v[] = { busy(0, 30), busy(0, 10), busy(0, 20), busy(1, 0) };
	struct balance_move m[2];

	v[3].wants = false;                               /* halted: no load */
	CHECK_EQ(balance_plan(v, 4, 0x3, 1000, m), 1);
	CHECK_EQ(m[0].vcpu, 1);                           /* the least run */
	CHECK_EQ(m[0].to, 1);
	/* Onto the idle one of three CPUs, not the loaded one. */
	v[3].wants = true;
	v[3].cpu = 2;
	CHECK_EQ(balance_plan(v, 4, 0x7, 1000, m), 1);
	CHECK_EQ(m[0].to, 1);
	/* An offline CPU takes nothing: CPU 2 (one vCPU) does. */
	CHECK_EQ(balance_plan(v, 4, 0x5, 1000, m), 1);
	CHECK_EQ(m[0].to, 2);
}

static void test_cpus_list_is_respected(void)
{
	struct balance_vcpu v[] = { busy(0, 10), busy(0, 20), busy(0, 30) };
	struct balance_move m[2];

	v[0].allowed = 1;                                 /* cpus = 0 */
	CHECK_EQ(balance_plan(v, 3, 0x3, 1000, m), 1);
	CHECK_EQ(m[0].vcpu, 1);                           /* the least run that may go */
	v[1].allowed = v[2].allowed = 1;
	CHECK_EQ(balance_plan(v, 3, 0x3, 1000, m), 0);
}

static void test_one_ahead_swaps_when_unfair(void)
{
	struct balance_vcpu v[] = { busy(0, 100), busy(0, 120), busy(1, 300) };
	struct balance_move m[2];

	CHECK_EQ(balance_plan(v, 3, 0x3, 50, m), 2);
	CHECK_EQ(m[0].vcpu, 0);
	CHECK_EQ(m[0].to, 1);
	CHECK_EQ(m[1].vcpu, 2);
	CHECK_EQ(m[1].to, 0);
	/* Within the slack: no swap. */
	v[2].run = 140;
	CHECK_EQ(balance_plan(v, 3, 0x3, 50, m), 0);
	/* One ahead of an idle CPU: a single vCPU has nothing to gain. */
	struct balance_vcpu w[] = { busy(0, 100), busy(1, 0) };
	w[1].wants = false;
	CHECK_EQ(balance_plan(w, 2, 0x3, 50, m), 0);
}

/* Three busy vCPUs on two CPUs, 400 periods of 100 units: each CPU's time
 * split evenly among its vCPUs, the policy applied after each period. */
static void test_three_on_two_share_fairly(void)
{
	struct balance_vcpu v[] = { busy(0, 0), busy(1, 0), busy(0, 0) };
	struct balance_move m[2];
	uint64_t lo = ~0ull, hi = 0;
	unsigned moves = 0;

	for (unsigned period = 0; period < 400; period++) {
		unsigned on[2] = { 0, 0 };

		for (unsigned i = 0; i < 3; i++)
			on[v[i].cpu]++;
		for (unsigned i = 0; i < 3; i++)
			v[i].run += 100 / on[v[i].cpu];
		for (unsigned k = balance_plan(v, 3, 0x3, 100, m); k--; moves++)
			v[m[k].vcpu].cpu = m[k].to;
	}
	for (unsigned i = 0; i < 3; i++) {
		lo = v[i].run < lo ? v[i].run : lo;
		hi = v[i].run > hi ? v[i].run : hi;
	}
	/* 80000 units of CPU time in all: about 26667 each, within 2%. */
	CHECK_MSG(hi - lo <= 26667 / 50, "run times %lu..%lu", (unsigned long)lo,
		  (unsigned long)hi);
	CHECK(moves > 0);
}

int main(void)
{
	test_even_loads_stay();
	test_two_ahead_gives_one();
	test_cpus_list_is_respected();
	test_one_ahead_swaps_when_unfair();
	test_three_on_two_share_fairly();
	return unit_finish("test_balance");
}
