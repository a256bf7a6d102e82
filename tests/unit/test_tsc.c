/* The guest TSC model: one offset per VM, writes to IA32_TSC and
 * IA32_TSC_ADJUST moving each other as SDM 3, 18.17.3 says, deadlines
 * converted between guest and host TSC. Runs on the host's real TSC. */
// UNIT-SOURCES: hypervisor/core/tsc.c
#include <string.h>
#include <core/tsc.h>
#include <core/vm.h>
#include "unit.h"

/* Host-side stand-in: this test does not switch TSC_AUX. */
#define SLACK 50000000ull    /* 50 M cycles between two reads is plenty */

static bool near(uint64_t a, uint64_t b)
{
	return a - b < SLACK || b - a < SLACK;
}

int main(void)
{
	static struct vm vm;
	uint64_t t;

	tsc_vm_reset(&vm);
	CHECK_MSG(guest_tsc(&vm) < SLACK, "a new VM's TSC starts near 0: %llu",
		  (unsigned long long)guest_tsc(&vm));
	CHECK_EQ(vm.tsc_adjust, 0);

	/* WRMSR TSC: the TSC jumps there, TSC_ADJUST by the same amount. */
	t = guest_tsc(&vm);
	tsc_write(&vm, 100000000000ull);
	CHECK(near(guest_tsc(&vm), 100000000000ull));
	CHECK(near(vm.tsc_adjust, 100000000000ull - t));
	tsc_write(&vm, 0);
	CHECK(guest_tsc(&vm) < SLACK);
	CHECK(near(vm.tsc_adjust, -t));

	/* WRMSR TSC_ADJUST: the TSC moves by the change, the value reads back. */
	tsc_adjust_write(&vm, 0);
	t = guest_tsc(&vm);
	tsc_adjust_write(&vm, 1ull << 40);
	CHECK_EQ(vm.tsc_adjust, 1ull << 40);
	CHECK(near(guest_tsc(&vm), t + (1ull << 40)));
	tsc_adjust_write(&vm, 0);
	CHECK(near(guest_tsc(&vm), t));

	/* Deadlines: round trip, and 0 (not armed) stays 0 both ways. */
	t = 123456789;
	CHECK_EQ(tsc_host_to_guest(&vm, tsc_guest_to_host(&vm, t)), t);
	CHECK_EQ(tsc_guest_to_host(&vm, 0), 0);
	CHECK_EQ(tsc_host_to_guest(&vm, 0), 0);
	/* A guest value that maps to host 0 must not read as "not armed". */
	CHECK(tsc_guest_to_host(&vm, vm.tsc_offset) != 0);
	return unit_finish("test_tsc");
}
