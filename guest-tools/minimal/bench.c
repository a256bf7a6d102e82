/* SPDX-License-Identifier: MIT */
/*
 * Exit-cost benchmark: average TSC cycles per CPUID and per hypercall, once
 * through the full hypervisor handler and once served by the backend's empty
 * loop (HV_HC_BENCH_FLOOR). In the floor phases the hypervisor only advances
 * RIP, so the loops are asm that depends on no result, and the instructions
 * have exactly the lengths passed to HV_HC_BENCH_FLOOR.
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

static void bench_report(const char *what, uint64_t iters, uint64_t full, uint64_t floor)
{
	uint64_t ratio = floor ? (full * 100 + floor / 2) / floor : 0;

	kprintf("bench: %s full=%lu floor=%lu ratio=%lu.%02lu\n", what, full / iters,
		floor / iters, ratio / 100, ratio % 100);
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

void bench_run(uint64_t iters)
{
	uint64_t full, floor;
	bool ok = true;

	kprintf("bench: iters=%lu hypercall=%s tsc_khz=%lu\n", iters,
		hypercall_insn_name(), boot_info.tsc_khz);
	full = bench_cpuid_loop(iters);
	ok &= bench_floor_arm(iters, HV_BENCH_EXIT_CPUID, CPUID_INSN_LEN);
	floor = bench_cpuid_loop(iters);
	bench_report("cpuid", iters, full, floor);

	full = bench_hypercall_loop(iters);
	ok &= bench_floor_arm(iters, HV_BENCH_EXIT_HYPERCALL, HYPERCALL_INSN_LEN);
	floor = bench_hypercall_loop(iters);
	bench_report("hypercall", iters, full, floor);

	ok &= bench_floor_drained();
	hv_poweroff(ok ? 0 : 1);
}
