/* SPDX-License-Identifier: MIT */
/*
 * Exit-cost benchmark: average TSC cycles per CPUID and per hypercall, once
 * through the full hypervisor handler and once served by the backend's empty
 * loop (HV_HC_BENCH_FLOOR). In the floor phases the hypervisor only advances
 * RIP, so the loops are asm that depends on no result, and the instructions
 * have exactly the lengths passed to HV_HC_BENCH_FLOOR.
 *
 * Emulators are noisy, so the measurement runs in rounds, each timing the
 * full path and then the floor back to back; the report gives the median
 * of each over the rounds.
 */
#include <hv/hypercall.h>
#include "cpu.h"

#define CPUID_INSN_LEN      2  /* 0f a2 */
#define HYPERCALL_INSN_LEN  3  /* 0f 01 d9 (VMMCALL) or 0f 01 c1 (VMCALL) */

/* Total TSC cycles of `iters` (>= 1) CPUIDs of the hypervisor leaf. */
static uint64_t bench_cpuid_loop(uint64_t iters)
{
	uint64_t t0 = rdtsc();

	asm volatile("1:\n\t"
		     "movl %[leaf], %%eax\n\t"
		     "cpuid\n\t"
		     "dec %[n]\n\t"
		     "jnz 1b"
		     : [n] "+r"(iters)
		     : [leaf] "i"(HV_CPUID_LEAF_BASE)
		     : "rax", "rbx", "rcx", "rdx", "memory");
	return rdtsc() - t0;
}

/* Total TSC cycles of `iters` (>= 1) HV_HC_NOP hypercalls. */
static uint64_t bench_hypercall_loop(uint64_t iters)
{
	bool vmmcall = hypercall_uses_vmmcall();
	uint64_t t0 = rdtsc();

	if (vmmcall)
		asm volatile("1:\n\t"
			     "movl %[nr], %%eax\n\t"
			     "vmmcall\n\t"
			     "dec %[n]\n\t"
			     "jnz 1b"
			     : [n] "+r"(iters) : [nr] "i"(HV_HC_NOP) : "rax", "memory");
	else
		asm volatile("1:\n\t"
			     "movl %[nr], %%eax\n\t"
			     "vmcall\n\t"
			     "dec %[n]\n\t"
			     "jnz 1b"
			     : [n] "+r"(iters) : [nr] "i"(HV_HC_NOP) : "rax", "memory");
	return rdtsc() - t0;
}

#define MAX_ROUNDS 64

static uint64_t median(uint64_t *v, unsigned n)
{
	/* Insertion sort: n is at most MAX_ROUNDS. */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

static void bench_report(const char *what, uint64_t *full, uint64_t *floor, unsigned rounds)
{
	uint64_t f = median(full, rounds), fl = median(floor, rounds);
	uint64_t ratio = fl ? (f * 100 + fl / 2) / fl : 0;

	kprintf("bench: %s full=%lu floor=%lu ratio=%lu.%02lu\n", what, f, fl, ratio / 100,
		ratio % 100);
}

static bool bench_floor_arm(uint64_t iters, unsigned kind, unsigned len)
{
	long r = hypercall(HV_HC_BENCH_FLOOR, iters, kind, len);

	if (r != 0)
		kprintf("FAIL: bench (HV_HC_BENCH_FLOOR kind %u returned %ld)\n", kind, r);
	return r == 0;
}

/* After a floor phase the exits must be handled in full again. */
static bool bench_floor_drained(void)
{
	bool cpuid_ok = cpuid(HV_CPUID_LEAF_BASE, 0).ebx == HV_CPUID_SIGNATURE_EBX;
	bool hc_ok = hypercall(HV_HC_NOP, 0, 0, 0) == 0;

	if (!cpuid_ok || !hc_ok)
		kprintf("FAIL: bench (the floor served more exits than asked: %s%s)\n",
			cpuid_ok ? "" : "cpuid ", hc_ok ? "" : "hypercall");
	return cpuid_ok && hc_ok;
}

void bench_run(uint64_t iters, uint64_t rounds)
{
	uint64_t cpuid_full[MAX_ROUNDS], cpuid_floor[MAX_ROUNDS];
	uint64_t hc_full[MAX_ROUNDS], hc_floor[MAX_ROUNDS];
	uint64_t per_round;
	bool ok = true;

	rounds = rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
	per_round = iters / rounds ? iters / rounds : 1;
	kprintf("bench: iters=%lu rounds=%lu hypercall=%s tsc_khz=%lu\n", per_round * rounds,
		rounds, hypercall_insn_name(), boot_info.tsc_khz);
	for (unsigned r = 0; r < rounds && ok; r++) {
		cpuid_full[r] = bench_cpuid_loop(per_round) / per_round;
		ok &= bench_floor_arm(per_round, HV_BENCH_EXIT_CPUID, CPUID_INSN_LEN);
		cpuid_floor[r] = bench_cpuid_loop(per_round) / per_round;
		hc_full[r] = bench_hypercall_loop(per_round) / per_round;
		ok &= bench_floor_arm(per_round, HV_BENCH_EXIT_HYPERCALL, HYPERCALL_INSN_LEN);
		hc_floor[r] = bench_hypercall_loop(per_round) / per_round;
	}
	if (ok) {
		bench_report("cpuid", cpuid_full, cpuid_floor, (unsigned)rounds);
		bench_report("hypercall", hc_full, hc_floor, (unsigned)rounds);
	}
	ok &= bench_floor_drained();
	hv_poweroff(ok ? 0 : 1);
}
