/* The guest's IA32_TSC_AUX in the hardware MSR, switched lazily per
 * physical CPU (see include/core/tsc.h). */
#include <stddef.h>
#include <core/tsc.h>
#include <core/vm.h>
#include <x86/cpuid_bits.h>
#include <x86/percpu.h>
#include <x86/processor.h>

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
	if (this_cpu()->aux_owner == v || !host_has_tsc_aux())
		return;
	wrmsr(MSR_TSC_AUX, v->tsc_aux);
	this_cpu()->aux_owner = v;
}

void tsc_aux_set(struct vcpu *v, uint64_t value)
{
	v->tsc_aux = value;
	if (this_cpu()->aux_owner == v)
		wrmsr(MSR_TSC_AUX, value);
}

void tsc_aux_vcpu_reset(struct vcpu *v)
{
	v->tsc_aux = 0;
	tsc_aux_put(v);
}

/* The value lives in v->tsc_aux too: forgetting is enough. */
void tsc_aux_put(struct vcpu *v)
{
	if (this_cpu()->aux_owner == v)
		this_cpu()->aux_owner = NULL;
}
