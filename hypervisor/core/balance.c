/* The balancing policy (see include/core/balance.h). */
#include <core/balance.h>

#define MAX_CPUS 64

/* The vCPU of `cpu` that wants to run and may go to `to`, least run
 * (most run with `most`); -1 when there is none. */
static int mover(const struct balance_vcpu *v, unsigned n, unsigned cpu, unsigned to, bool most)
{
	int best = -1;

	for (unsigned i = 0; i < n; i++) {
		if (v[i].cpu != cpu || !v[i].wants || !(v[i].allowed >> to & 1))
			continue;
		if (best < 0 || (most ? v[i].run > v[best].run : v[i].run < v[best].run))
			best = (int)i;
	}
	return best;
}

unsigned balance_plan(const struct balance_vcpu *v, unsigned n, uint64_t online,
		      uint64_t slack, struct balance_move moves[2])
{
	unsigned load[MAX_CPUS] = { 0 }, hi = MAX_CPUS, lo = MAX_CPUS;
	int a, b;

	for (unsigned i = 0; i < n; i++)
		if (v[i].wants && v[i].cpu < MAX_CPUS)
			load[v[i].cpu]++;
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		if (!(online >> c & 1))
			continue;
		if (hi == MAX_CPUS || load[c] > load[hi])
			hi = c;
		if (lo == MAX_CPUS || load[c] < load[lo])
			lo = c;
	}
	if (hi == MAX_CPUS || hi == lo)
		return 0;
	a = mover(v, n, hi, lo, false);
	if (a < 0)
		return 0;
	if (load[hi] >= load[lo] + 2) {
		moves[0] = (struct balance_move){ (unsigned)a, lo };
		return 1;
	}
	if (load[hi] != load[lo] + 1 || !load[lo])
		return 0;
	b = mover(v, n, lo, hi, true);
	if (b < 0 || v[b].run <= v[a].run + slack)
		return 0;
	moves[0] = (struct balance_move){ (unsigned)a, lo };
	moves[1] = (struct balance_move){ (unsigned)b, hi };
	return 2;
}
