/* The guest TSC: one offset per VM (see include/core/tsc.h). */
#include <stddef.h>
#include <core/tsc.h>
#include <core/vm.h>
#include <x86/cpuid_bits.h>


static struct vcpu *aux_owner;

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

static bool host_has_tsc_aux(void)
{
	static int known = -1;

	if (known < 0)
		known = (cpuid(0x80000001, 0).edx & CPUID_8_1_EDX_RDTSCP) ||
			(cpuid(7, 0).ecx & CPUID_7_ECX_RDPID);
	return known;
}

void tsc_aux_switch_to(struct vcpu *v)
{
	if (aux_owner == v || !host_has_tsc_aux())
		return;
	wrmsr(MSR_TSC_AUX, v->tsc_aux);
	aux_owner = v;
}

void tsc_aux_set(struct vcpu *v, uint64_t value)
{
	v->tsc_aux = value;
	if (aux_owner == v)
		wrmsr(MSR_TSC_AUX, value);
}

void tsc_aux_vcpu_reset(struct vcpu *v)
{
	v->tsc_aux = 0;
	if (aux_owner == v)
		aux_owner = NULL;
}
