/*
 * The guest's local APICs on the hypervisor: the model is in vlapic_core.c;
 * this finds a vCPU's APIC, gives it the time (rdtsc) and the guest/host
 * TSC offset, wakes halted vCPUs, offers the 8259s' ExtINT, reports EOIs
 * to the IOAPIC and delivers IPIs, INIT and SIPI included (see
 * devices/lapic.h).
 */
#include <core/cpus.h>
#include <core/iobus.h>
#include <core/page_alloc.h>
#include <core/sched.h>
#include <core/smp.h>
#include <core/tsc.h>
#include <core/vm.h>
#include <devices/ioapic.h>
#include <devices/lapic.h>
#include <devices/vlapic_core.h>
#include <devices/vpic.h>
#include <lib/printk.h>
#include <x86/cpu.h>
#include <x86/msr_index.h>
#include <x86/processor.h>

/* struct vcpu knows its APIC by this name (core/vm.h). */
struct lapic {
	struct vlapic core;
};

static struct vlapic *apic_of(const struct vcpu *v)
{
	return v->lapic ? &v->lapic->core : NULL;
}

/* An interrupt came: a halted vCPU runs, and one in a guest elsewhere
 * exits to take it. */
static void wake(struct vcpu *v)
{
	if (v->state == VCPU_HALTED)
		v->state = VCPU_RUNNABLE;
	vcpu_kick(v);
}

/* The 8259s' INT passes through as an external interrupt: its vector
 * comes from their INTA, not from IRR, and the processor priority does
 * not hold it back (SDM 3, 10.5.1, ExtINT). */
int lapic_pending(const struct vcpu *v)
{
	int irrv = vlapic_pending(apic_of(v)), ext = vpic_extint_vector(v);

	return ext > irrv ? ext : irrv;
}

void lapic_ack(struct vcpu *v, uint8_t vector)
{
	struct vlapic *a = apic_of(v);

	if (vpic_extint_vector(v) == vector && vlapic_pending(a) != vector) {
		vpic_extint_ack(v);
		return;
	}
	vlapic_ack(a, vector);
}

bool lapic_offer_withdrawn(const struct vcpu *v, uint8_t vector)
{
	const struct vlapic *a = apic_of(v);

	return !(a && vlapic_test(a->irr, vector)) && vpic_extint_vector(v) != vector &&
	       !(v->pending_irqs[vector / 64] & (1ull << (vector % 64)));
}

void lapic_accept(struct vcpu *v, uint8_t vector, bool level)
{
	struct vlapic *a = apic_of(v);

	if (a && vlapic_accept(a, vector, level))
		wake(v);
}

/* The host timer is armed for this deadline only while it can change
 * something (see vlapic_timer_deadline). */
uint64_t lapic_timer_deadline(const struct vcpu *v)
{
	const struct vlapic *a = apic_of(v);

	return a ? vlapic_timer_deadline(a) : 0;
}

void lapic_timer_check(struct vcpu *v, uint64_t now)
{
	struct vlapic *a = apic_of(v);

	if (a && vlapic_timer_check(a, now))
		wake(v);
}

void vm_apic_deliver(struct vm *vm, uint32_t dest, bool logical, uint8_t vector,
		     bool level_triggered)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->lapic && vlapic_match_dest(apic_of(vm->vcpus[i]), dest, logical))
			lapic_accept(vm->vcpus[i], vector, level_triggered);
}

/* ---- IPIs (SDM 3, 10.6) ---- */

/* Lowest priority: of the vCPUs addressed, the one with the lowest
 * processor priority (ties: the lowest APIC ID) takes it (10.6.2.4). */
static struct vcpu *lowest_priority_target(struct vcpu *v, uint64_t icr)
{
	struct vm *vm = v->vm;
	struct vcpu *best = NULL;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *t = vm->vcpus[i];

		if (vlapic_ipi_targets(apic_of(v), icr, apic_of(t)) &&
		    (!best || vlapic_ppr(apic_of(t)) < vlapic_ppr(apic_of(best))))
			best = t;
	}
	return best;
}

static void ipi_deliver(uint64_t icr, struct vcpu *t)
{
	switch (VLAPIC_ICR_MODE(icr)) {
	case VLAPIC_MODE_FIXED:
	case VLAPIC_MODE_LOWEST:
		lapic_accept(t, VLAPIC_ICR_VECTOR(icr), false);
		break;
	case VLAPIC_MODE_NMI:
		vcpu_nmi(t);
		break;
	case VLAPIC_MODE_INIT:
		/* The level-deassert form only synchronised arbitration IDs on
		 * old APICs; it does nothing (10.6.1). */
		if ((icr & VLAPIC_ICR_LEVEL_ASSERT) || !(icr & VLAPIC_ICR_TRIGGER_LEVEL))
			vcpu_init_signal(t);
		break;
	case VLAPIC_MODE_SIPI:
		vcpu_sipi(t, VLAPIC_ICR_VECTOR(icr));
		break;
	default:
		break;
	}
}

static void send_ipi(struct vcpu *v, uint64_t icr)
{
	struct vm *vm = v->vm;

	if (VLAPIC_ICR_MODE(icr) == VLAPIC_MODE_LOWEST &&
	    VLAPIC_ICR_SHORTHAND(icr) == VLAPIC_DEST_FIELD) {
		struct vcpu *t = lowest_priority_target(v, icr);

		if (t) {
			ipi_deliver(icr, t);
			sched_ipi_sent(v, t);
		}
		return;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vlapic_ipi_targets(apic_of(v), icr, apic_of(vm->vcpus[i]))) {
			ipi_deliver(icr, vm->vcpus[i]);
			sched_ipi_sent(v, vm->vcpus[i]);
		}
}

/* What a register write left to do. */
static void lapic_act(struct vcpu *v, const struct vlapic_action *act)
{
	switch (act->kind) {
	case VLAPIC_ACT_EOI_LEVEL:
		ioapic_eoi(v->vm, act->vector);
		sched_irq_done(v);
		break;
	case VLAPIC_ACT_EOI:
		sched_irq_done(v);
		break;
	case VLAPIC_ACT_IPI:
		send_ipi(v, act->icr);
		break;
	case VLAPIC_ACT_IPI_UNEMULATED:
		printk("kestrel: vm %u (%s): IPI delivery mode %u is not emulated "
		       "(logged once)\n", v->vm->id, v->vm->name, VLAPIC_ICR_MODE(act->icr));
		break;
	case VLAPIC_ACT_ACCEPTED:
		wake(v);
		break;
	default:
		break;
	}
}

/* ---- CR8 (SDM 3, 10.8.6.1): TPR[7:4] ---- */

uint8_t lapic_read_cr8(const struct vcpu *v)
{
	return vlapic_cr8_read(apic_of(v));
}

void lapic_write_cr8(struct vcpu *v, uint8_t cr8)
{
	vlapic_cr8_write(apic_of(v), cr8);
}

bool lapic_hw_enabled(const struct vcpu *v)
{
	return vlapic_hw_enabled(apic_of(v));
}

bool lapic_get_state(const struct vcpu *v, struct lapic_state *st)
{
	const struct vlapic *a = apic_of(v);

	if (!a)
		return false;
	*st = (struct lapic_state){
		.id = v->id, .enabled = vlapic_hw_enabled(a), .x2apic = vlapic_x2apic(a),
		.sw_enabled = a->svr & VLAPIC_SVR_ENABLED, .tpr = a->tpr, .ppr = vlapic_ppr(a),
		.svr = a->svr, .isr_highest = vlapic_highest(a->isr),
		.irr_highest = vlapic_highest(a->irr), .lvt_timer = a->lvt[0],
		.timer_mode = VLAPIC_LVT_TIMER_MODE(a->lvt[0]), .timer_init = a->timer_init,
		.timer_current = vlapic_timer_current(a, rdtsc()), .timer_div = a->timer_div,
		.timer_deadline = a->timer_deadline,
	};
	return true;
}

/* Without an APIC the page is not there, like any unbacked address. */
enum io_result lapic_mmio_read(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct vlapic *a = apic_of(v);

	return a ? vlapic_mmio_read(a, gpa, size, val, rdtsc()) : IO_UNHANDLED;
}

enum io_result lapic_mmio_write(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t val)
{
	struct vlapic *a = apic_of(v);
	struct vlapic_action act;
	enum io_result r;

	if (!a)
		return IO_UNHANDLED;
	r = vlapic_mmio_write(a, gpa, size, val, rdtsc(), &act);
	lapic_act(v, &act);
	return r;
}

/* IA32_TSC_DEADLINE is in guest TSC units; the model keeps host ones. */
bool lapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val, bool *ok)
{
	struct vlapic *a = apic_of(v);

	*ok = true;
	if (msr == MSR_IA32_APIC_BASE)
		*val = a->apic_base;
	else if (msr == MSR_TSC_DEADLINE)
		*val = tsc_host_to_guest(v->vm, vlapic_tsc_deadline_read(a));
	else if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST)
		*ok = vlapic_x2apic_read(a, (msr - MSR_X2APIC_FIRST) << 4, val, rdtsc());
	else
		return false;
	return true;
}

/* IA32_APIC_BASE bits from MAXPHYADDR up are reserved (SDM 3, 10.4.4):
 * the guest's CPUID 0x80000008 is the host's; without it, 36 (SDM 3, 4.1.4). */
static unsigned guest_maxphyaddr(void)
{
	return cpuid(0x80000000, 0).eax >= 0x80000008 ? cpuid(0x80000008, 0).eax & 0xff : 36;
}

bool lapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val, bool *ok)
{
	struct vlapic *a = apic_of(v);
	struct vlapic_action act;

	*ok = true;
	if (msr == MSR_IA32_APIC_BASE) {
		*ok = !(val >> guest_maxphyaddr()) && vlapic_base_write(a, val);
	} else if (msr == MSR_TSC_DEADLINE) {
		vlapic_tsc_deadline_write(a, tsc_guest_to_host(v->vm, val));
		/* A deadline already past fires now, before the next
		 * instruction can look (kvm-unit-tests' tsc deadline timer). */
		lapic_timer_check(v, rdtsc());
	} else if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST) {
		*ok = vlapic_x2apic_write(a, (msr - MSR_X2APIC_FIRST) << 4, val, rdtsc(), &act);
		lapic_act(v, &act);
	} else {
		return false;
	}
	return true;
}

int lapic_create(struct vcpu *v)
{
	struct lapic *l = page_alloc_ptr(1);

	_Static_assert(sizeof(*l) <= PAGE_SIZE, "one page");
	if (!l)
		return -1;
	v->lapic = l;
	lapic_reset(v);
	return 0;
}

void lapic_reset(struct vcpu *v)
{
	vlapic_power_up(apic_of(v), v->id, v->id == 0, tsc_khz());
}

void lapic_init_signal(struct vcpu *v)
{
	vlapic_init_signal(apic_of(v));
}
