/* INIT, SIPI and NMI delivery to vCPUs (see include/core/smp.h). */
#include <core/cpus.h>
#include <core/sched.h>
#include <core/smp.h>
#include <core/tsc.h>
#include <core/vm.h>
#include <devices/lapic.h>
#include <lib/string.h>
#include <x86/fpu.h>
#include <x86/processor.h>
#include <x86/vendor.h>

#define SEG_REAL_CODE  0x9b    /* present, code, readable, accessed */
#define SEG_REAL_DATA  0x93    /* present, data, writable, accessed */
#define SEG_LDT        0x82
/* TR after INIT: a busy 32-bit TSS, as KVM sets it. VMX requires a busy
 * TSS type, and a 16-bit one makes Bochs refuse the guest's later switch
 * to long mode (#GP on the CR0.PG write: its APs triple-faulted). */
#define SEG_TSS_BUSY32 0x8b
#define CR0_INIT       (X86_CR0_CD | X86_CR0_NW | X86_CR0_ET)

void vcpu_drop_events(struct vcpu *v)
{
	v->epoch++;      /* an exit it took before is void now */
	memset(v->pending_irqs, 0, sizeof(v->pending_irqs));
	v->timer_deadline = 0;
	v->nmi_pending = 0;
	/* A benchmark floor left from before (INIT cut its drain short)
	 * would swallow the new context's exits (test_chaos [svm], seed 1). */
	v->bench_floor_left = 0;
}

/* An event the backend was injecting when INIT came would otherwise be
 * delivered at the first entry after SIPI, in real mode through the IVT:
 * chaos's second vCPU, lent the CPU by IPIs and so often cut off in an
 * event's delivery, reached its SIPI trampoline with CS 0 and
 * triple-faulted (test_chaos beside [svm], 4 of 5 runs). */
void vcpu_init_signal(struct vcpu *v)
{
	vcpu_claim(v);
	vcpu_drop_events(v);
	vendor->init_events(v);
	lapic_init_signal(v);
	v->state = VCPU_WAIT_SIPI;
	vcpu_kick(v);
}

/* The register state after INIT with CS:IP from the start-up vector
 * (SDM 3, table 9-1); the FPU and MSRs keep their values. */
void vcpu_sipi(struct vcpu *v, uint8_t vector)
{
	const struct x86_segment data = { .attr = SEG_REAL_DATA, .limit = 0xffff };
	struct guest_sregs s = {
		.rip = 0, .rflags = X86_RFLAGS_FIXED, .cr0 = CR0_INIT,
		.cs = { .sel = (uint16_t)(vector << 8), .base = (uint64_t)vector << 12,
			.attr = SEG_REAL_CODE, .limit = 0xffff },
		.ds = data, .es = data, .fs = data, .gs = data, .ss = data,
		.tr = { .attr = SEG_TSS_BUSY32, .limit = 0xffff },
		.ldtr = { .attr = SEG_LDT, .limit = 0xffff },
		.gdtr = { .limit = 0xffff }, .idtr = { .limit = 0xffff },
		.pat = 0x0007040600070406ull,
	};

	if (v->state != VCPU_WAIT_SIPI)
		return;
	vendor->write_sregs(v, &s);
	memset(&v->regs, 0, sizeof(v->regs));
	v->regs.gpr[GPR_RDX] = cpuid(1, 0).eax;    /* processor signature */
	v->state = VCPU_RUNNABLE;
	vcpu_kick(v);
}

void vcpu_nmi(struct vcpu *v)
{
	if (v->nmi_pending < 2)
		v->nmi_pending++;
	if (v->state == VCPU_HALTED || v->state == VCPU_PARKED)
		v->state = VCPU_RUNNABLE;
	vcpu_kick(v);
}

void vcpu_nmi_blocked(struct vcpu *v)
{
	if (v->nmi_pending > 1)
		v->nmi_pending = 1;
}

/* An NMI IPI's sender may be waiting for the answer (core/sched.c). */
void vcpu_nmi_done(struct vcpu *v)
{
	sched_irq_done(v);
}
