/*
 * Emulated local APIC, one per vCPU (SDM vol. 3, chapter 10): xAPIC MMIO at
 * 0xFEE00000 or where the guest moves it, and x2APIC MSRs, timer in one-shot, periodic and TSC-deadline
 * modes, fixed IPIs, EOI with broadcast to the IOAPIC for level-triggered
 * vectors.
 */
#ifndef DEVICES_LAPIC_H
#define DEVICES_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include <core/iobus.h>

#define LAPIC_BASE 0xfee00000ull

struct vm;
struct vcpu;

int lapic_create(struct vcpu *v);
void lapic_reset(struct vcpu *v);
/* The INIT signal's effect on the APIC (core/smp.c). */
void lapic_init_signal(struct vcpu *v);
/* IA32_APIC_BASE.EN: CPUID.1:EDX.APIC follows it (10.4.3). */
bool lapic_hw_enabled(const struct vcpu *v);
/* An MMIO access by vCPU v, offered to its APIC before the VM's bus (as
 * KVM's vcpu_mmio_read does): each vCPU's xAPIC page is its own and sits
 * where its IA32_APIC_BASE says. IO_UNHANDLED when gpa is not on it. The
 * page is seen only where no RAM is mapped (an access to RAM never exits),
 * as under KVM without APIC virtualisation. */
enum io_result lapic_mmio_read(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t *val);
enum io_result lapic_mmio_write(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t val);
/* IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC MSRs: true when the MSR
 * is the APIC's (then *ok says whether the access was valid, else #GP). */
bool lapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val, bool *ok);
bool lapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val, bool *ok);

/* An interrupt arrives (IOAPIC, IPI, timer). */
void lapic_accept(struct vcpu *v, uint8_t vector, bool level);
/* Highest vector the vCPU may take now (IRR above the processor priority),
 * or -1; and its acceptance by the CPU (IRR -> ISR). */
int lapic_pending(const struct vcpu *v);
void lapic_ack(struct vcpu *v, uint8_t vector);
/* Whether a vector offered to the CPU but not yet taken is requested by
 * nothing any more: an 8259 request masked before the guest set IF (an
 * interrupt waiting in IRR, or held back by the priority, still is). */
bool lapic_offer_withdrawn(const struct vcpu *v, uint8_t vector);
/* TSC value at which the timer fires next, 0 when not armed. */
uint64_t lapic_timer_deadline(const struct vcpu *v);
/* CR8, the task-priority class (TPR[7:4]); 0-15. */
uint8_t lapic_read_cr8(const struct vcpu *v);
void lapic_write_cr8(struct vcpu *v, uint8_t cr8);
/* Fires the timer if its deadline has passed. */
void lapic_timer_check(struct vcpu *v, uint64_t now_tsc);

/* The APIC as a view shows it (console `vcpu`). */
struct lapic_state {
	uint32_t id;
	bool enabled;               /* IA32_APIC_BASE.EN */
	bool x2apic;
	bool sw_enabled;            /* SVR bit 8 */
	uint32_t tpr, ppr, svr;
	int isr_highest, irr_highest;   /* -1 when empty */
	uint32_t lvt_timer;
	unsigned timer_mode;        /* LVT timer bits 18:17: 0 one-shot, 1 periodic, 2 TSC-deadline */
	uint32_t timer_init, timer_current, timer_div;
	uint64_t timer_deadline;    /* TSC, 0 when not armed */
};
/* false when the vCPU has no APIC. */
bool lapic_get_state(const struct vcpu *v, struct lapic_state *st);

/* vm_apic_deliver, the message path the IOAPIC and MSIs use, is declared
 * with its contract in devices/ioapic.h. */

#endif
