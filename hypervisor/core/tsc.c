/* The guest TSC: one offset per VM (see include/core/tsc.h). */
#include <stddef.h>
#include <core/tsc.h>
#include <core/vm.h>
#include <x86/cpuid_bits.h>

uint64_t guest_tsc(const struct vm *vm)
{
	return rdtsc() + vm->tsc_offset;
}

uint64_t tsc_guest_to_host(const struct vm *vm, uint64_t guest)
{
	uint64_t host = guest - vm->tsc_offset;

	return guest ? (host ? host : 1) : 0;
}

uint64_t tsc_host_to_guest(const struct vm *vm, uint64_t host)
{
	return host ? host + vm->tsc_offset : 0;
}

void tsc_vm_reset(struct vm *vm)
{
	vm->tsc_offset = -rdtsc();
	vm->tsc_adjust = 0;
}

/* Writing the TSC also moves TSC_ADJUST by the same amount (SDM 3, 18.17.3). */
void tsc_write(struct vm *vm, uint64_t value)
{
	uint64_t now = rdtsc();

	vm->tsc_adjust += value - (now + vm->tsc_offset);
	vm->tsc_offset = value - now;
}

/* Writing TSC_ADJUST moves the TSC by the difference. */
void tsc_adjust_write(struct vm *vm, uint64_t value)
{
	vm->tsc_offset += value - vm->tsc_adjust;
	vm->tsc_adjust = value;
}
