/*
 * The hypervisor lock, kicks and cross-CPU calls (see include/core/cpus.h
 * and docs/smp.md). The lock is a ticket lock, so the boot CPU's console
 * gets its turn between a busy guest's exits. A CPU waiting for it runs
 * what another CPU asked of it: the asker holds the lock, so it is never
 * itself waiting for the lock, and the calls cannot deadlock.
 */
#include <core/cpus.h>
#include <core/tsc.h>
#include <core/vm.h>
#include <x86/cpu.h>
#include <x86/debugreg.h>
#include <x86/fpu.h>
#include <x86/percpu.h>
#include <x86/processor.h>
#include <x86/vendor.h>

static uint32_t next_ticket, now_serving;
static unsigned next_place;

static void serve_call(struct pcpu *me)
{
	void (*fn)(void *) = __atomic_load_n(&me->call_fn, __ATOMIC_ACQUIRE);

	if (!fn)
		return;
	fn(me->call_arg);
	__atomic_store_n(&me->call_fn, NULL, __ATOMIC_RELEASE);
}

void hv_lock(void)
{
	struct pcpu *me = this_cpu();
	uint32_t ticket = __atomic_fetch_add(&next_ticket, 1, __ATOMIC_RELAXED);

	while (__atomic_load_n(&now_serving, __ATOMIC_ACQUIRE) != ticket) {
		serve_call(me);
		cpu_relax();
	}
}

void hv_unlock(void)
{
	__atomic_store_n(&now_serving, now_serving + 1, __ATOMIC_RELEASE);
}

void cpu_kick(struct pcpu *c)
{
	if (c != this_cpu() && c->state == PCPU_ONLINE)
		lapic_send_fixed(c->apic_id, VECTOR_KICK);
}

void vcpu_kick(const struct vcpu *v)
{
	if (v->home < nr_pcpus)
		cpu_kick(pcpus[v->home]);
}

void vm_kick(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
}

void cpu_call(struct pcpu *c, void (*fn)(void *arg), void *arg)
{
	if (c == this_cpu()) {
		fn(arg);
		return;
	}
	c->call_arg = arg;
	__atomic_store_n(&c->call_fn, fn, __ATOMIC_RELEASE);
	cpu_kick(c);
	while (__atomic_load_n(&c->call_fn, __ATOMIC_ACQUIRE))
		cpu_relax();
}

/* On the CPU that holds them: the vCPU's registers back to memory. */
static void vcpu_put(void *arg)
{
	struct vcpu *v = arg;

	fpu_put(v);
	debugreg_put(v);
	tsc_aux_put(v);
	vendor->vcpu_put(v);
}

void vcpu_claim(struct vcpu *v)
{
	unsigned me = this_cpu()->id;

	if (v->loaded_on == me)
		return;
	if (v->loaded_on < nr_pcpus)
		cpu_call(pcpus[v->loaded_on], vcpu_put, v);
	v->loaded_on = me;
}

void cpus_leave_guest(const struct vm *vm)
{
	for (unsigned i = 0; i < nr_pcpus; i++) {
		struct pcpu *c = pcpus[i];
		struct vcpu *g;

		/* It cannot enter again: that takes the lock, which we hold. */
		g = c->guest;
		if (c == this_cpu() || !g || g->vm != vm)
			continue;
		cpu_kick(c);
		while (c->guest == g)
			cpu_relax();
	}
}

/* Guest mode is outside the lock: another CPU may take it meanwhile. */
void guest_enter(struct vcpu *v)
{
	struct pcpu *me = this_cpu();

	v->entry_epoch = v->epoch;
	me->guest = v;
	hv_unlock();
}

bool guest_exit(struct vcpu *v)
{
	this_cpu()->guest = NULL;
	hv_lock();
	/* Stopped meanwhile: its RAM and devices may be gone (destroy). */
	return v->epoch == v->entry_epoch && vm_is_live(v->vm);
}

int cpus_place(uint64_t mask, unsigned index)
{
	unsigned allowed[MAX_PCPUS], n = 0;

	if (!mask) {
		for (unsigned k = 0; k < nr_pcpus; k++) {
			unsigned c = next_place++ % nr_pcpus;

			if (pcpus[c]->state == PCPU_ONLINE)
				return (int)c;
		}
		return 0;
	}
	for (unsigned c = 0; c < nr_pcpus && c < 64; c++)
		if ((mask >> c & 1) && pcpus[c]->state == PCPU_ONLINE)
			allowed[n++] = c;
	return n ? (int)allowed[index % n] : -1;
}
