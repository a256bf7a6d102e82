/* Lazily switched guest DR0-DR3 and DR6 (see include/x86/debugreg.h). */
#include <stddef.h>
#include <core/vm.h>
#include <x86/debugreg.h>
#include <x86/percpu.h>

#define DEFINE_DR_ACCESSORS(n)                                              \
	static inline uint64_t read_dr##n(void)                             \
	{                                                                   \
		uint64_t v;                                                 \
		__asm__ volatile("mov %%dr" #n ", %0" : "=r"(v));           \
		return v;                                                   \
	}                                                                   \
	static inline void write_dr##n(uint64_t v)                          \
	{                                                                   \
		__asm__ volatile("mov %0, %%dr" #n : : "r"(v));             \
	}
DEFINE_DR_ACCESSORS(0)
DEFINE_DR_ACCESSORS(1)
DEFINE_DR_ACCESSORS(2)
DEFINE_DR_ACCESSORS(3)
DEFINE_DR_ACCESSORS(6)


void debugreg_vcpu_reset(struct vcpu *v)
{
	for (unsigned i = 0; i < 4; i++)
		v->dr[i] = 0;
	v->dr6 = DR6_INIT;
	if (this_cpu()->dr_owner == v)
		this_cpu()->dr_owner = NULL;    /* reload on the next switch */
}

static void save(struct vcpu *owner)
{
	owner->dr[0] = read_dr0();
	owner->dr[1] = read_dr1();
	owner->dr[2] = read_dr2();
	owner->dr[3] = read_dr3();
	owner->dr6 = read_dr6();
}

void debugreg_switch_to(struct vcpu *v)
{
	struct pcpu *c = this_cpu();

	if (c->dr_owner == v)
		return;
	if (c->dr_owner)
		save(c->dr_owner);
	write_dr0(v->dr[0]);
	write_dr1(v->dr[1]);
	write_dr2(v->dr[2]);
	write_dr3(v->dr[3]);
	write_dr6(v->dr6);
	c->dr_owner = v;
}

void debugreg_put(struct vcpu *v)
{
	if (this_cpu()->dr_owner != v)
		return;
	save(v);
	this_cpu()->dr_owner = NULL;
}

uint64_t debugreg_get_dr6(struct vcpu *v)
{
	return this_cpu()->dr_owner == v ? read_dr6() : v->dr6;
}

void debugreg_set_dr6(struct vcpu *v, uint64_t dr6)
{
	if (this_cpu()->dr_owner == v)
		write_dr6(dr6);
	else
		v->dr6 = dr6;
}
