/*
 * AMD SVM backend (APM vol. 2, chapter 15) with nested paging.
 *
 * Under QEMU TCG there is no next-RIP save and no decode assist, so the
 * length of an exiting instruction is found by decoding it from guest
 * memory (svm_insn_len). Interrupts are delivered through V_IRQ.
 */
#include <core/cpus.h>
#include <core/page_alloc.h>
#include <core/smp.h>
#include <core/vm.h>
#include <devices/lapic.h>
#include <hv/hypercall.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/cpuid_bits.h>
#include <x86/debugreg.h>
#include <x86/guest_mem.h>
#include <x86/percpu.h>
#include <x86/processor.h>
#include <x86/vendor.h>
#include "vmcb.h"

#define VM_CR_SVMDIS        (1ull << 4)
#define IOPM_PAGES          3
#define MSRPM_PAGES         2

struct svm_vcpu {
	struct vmcb *vmcb;
	uint64_t vmcb_pa;
	bool irq_in_flight;        /* V_IRQ set for irq_vector, not yet taken */
	uint8_t irq_vector;
	/* The guest's NMI blocking, which SVM leaves to the hypervisor: set
	 * when an NMI is injected, cleared once the handler's IRET has run. */
	bool nmi_masked;
	bool iret_seen;            /* the IRET exited at iret_rip; runs next */
	bool nmi_singlestep;       /* TF set by us to exit right after it */
	bool nmi_tf_ours;          /* ...over a shadow: TF to be taken back */
	bool nmi_shadow_stepped;   /* that step is done: the shadow is over */
	uint64_t iret_rip;
	uint64_t nmi_step_rip;     /* the instruction it steps */
	/* A debugger's single step (GUEST_DEBUG_STEP) and whether its TF is
	 * ours alone, to be taken away afterwards. */
	bool dbg_step, dbg_tf_added;
};

void svm_vmrun(struct vcpu *v, uint64_t vmcb_pa, uint64_t host_vmcb_pa);

static uint64_t iopm_pa, msrpm_pa;
static uint32_t nr_asids, next_asid = 1;

static bool svm_probe(char *why, size_t len)
{
	if (!(cpuid(0x80000001, 0).ecx & CPUID_8_1_ECX_SVM)) {
		snprintf(why, len, "CPU has no SVM");
		return false;
	}
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		snprintf(why, len, "SVM is disabled by the firmware (VM_CR.SVMDIS)");
		return false;
	}
	if (!(cpuid(0x8000000a, 0).edx & CPUID_8_A_EDX_NP)) {
		snprintf(why, len, "SVM without nested paging is not supported");
		return false;
	}
	nr_asids = cpuid(0x8000000a, 0).ebx;
	return true;
}

/* Let the guest own the MSRs that VMLOAD/VMSAVE switch (clear both the
 * read and the write intercept bit; APM vol. 2, 15.11). */
static void msrpm_pass(uint8_t *msrpm, uint32_t msr)
{
	uint32_t base = msr < 0x2000 ? 0 : msr < 0xc0002000 ? 0x800 : 0x1000;
	uint32_t index = (msr & 0x1fff) * 2;

	msrpm[base + index / 8] &= (uint8_t)~(3u << (index % 8));
}

/* The permission maps every CPU's guests share. */
static int svm_maps_init(void)
{
	static const uint32_t passthrough[] = {
		MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR,
		MSR_CSTAR, MSR_SFMASK, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_CS + 1,
		MSR_IA32_SYSENTER_CS + 2,
	};
	uint8_t *msrpm;

	iopm_pa = page_alloc(IOPM_PAGES, 1);
	msrpm_pa = page_alloc(MSRPM_PAGES, 1);
	if (!iopm_pa || !msrpm_pa)
		return -1;
	/* Every port and every MSR exits unless listed. */
	memset((void *)(uintptr_t)iopm_pa, 0xff, IOPM_PAGES * PAGE_SIZE);
	msrpm = (uint8_t *)(uintptr_t)msrpm_pa;
	memset(msrpm, 0xff, MSRPM_PAGES * PAGE_SIZE);
	for (unsigned i = 0; i < sizeof(passthrough) / sizeof(passthrough[0]); i++)
		msrpm_pass(msrpm, passthrough[i]);
	return 0;
}

/* The first call (on the boot CPU) also builds the shared maps. */
static int svm_cpu_enable(void)
{
	struct pcpu *c = this_cpu();
	uint64_t hsave = page_alloc(1, 1);

	c->host_save_pa = page_alloc(1, 1);
	if (!hsave || !c->host_save_pa || (!iopm_pa && svm_maps_init())) {
		printk("kestrel: svm: out of memory\n");
		return -1;
	}
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, hsave);
	vendor_guest_rdtscp = true;    /* not intercepted: runs as on the host */
	/* The host's FS/GS/TR/LDTR and SYSCALL MSRs, restored after each exit. */
	__asm__ volatile("vmsave %0" : : "a"(c->host_save_pa) : "memory");
	return 0;
}

static int svm_vm_init(struct vm *vm)
{
	bool gbpages = cpuid(0x80000001, 0).edx & (1u << 26);

	/* One ASID per VM; ASID 0 belongs to the host. */
	if (next_asid >= nr_asids) {
		printk("kestrel: svm: out of ASIDs (%u)\n", nr_asids);
		return -1;
	}
	vm->asid = next_asid++;
	vm->npt.fmt = gbpages ? &pt_format_npt_1g : &pt_format_npt;
	return 0;
}

/* The VM's vCPUs share its ASID, and svm_enter flushes it for a vCPU that
 * was not the last to use it: no vCPU is. */
static void svm_flush_nested(struct vm *vm)
{
	for (unsigned i = 0; i < MAX_PCPUS; i++)
		vm->asid_owner[i] = NULL;
}

static void vmcb_init_control(struct vmcb_control *c, const struct vm *vm)
{
	c->intercept_cr = INTERCEPT_CR4_WRITE;
	c->intercept_exceptions = GUEST_EXCEPTION_INTERCEPTS;
	c->intercept_misc1 = INTERCEPT1_INTR | INTERCEPT1_NMI | INTERCEPT1_SMI |
			     INTERCEPT1_INIT | INTERCEPT1_CPUID | INTERCEPT1_INVD | INTERCEPT1_RDPMC |
			     INTERCEPT1_HLT | INTERCEPT1_INVLPGA | INTERCEPT1_IOIO_PROT |
			     INTERCEPT1_MSR_PROT | INTERCEPT1_SHUTDOWN;
	/* VMRUN must be intercepted (APM 2, 15.5.1); the rest of SVM is ours. */
	c->intercept_misc2 = INTERCEPT2_VMRUN | INTERCEPT2_VMMCALL | INTERCEPT2_VMLOAD |
			     INTERCEPT2_VMSAVE | INTERCEPT2_STGI | INTERCEPT2_CLGI |
			     INTERCEPT2_SKINIT | INTERCEPT2_MONITOR | INTERCEPT2_MWAIT |
			     INTERCEPT2_MWAIT_COND | INTERCEPT2_XSETBV | INTERCEPT2_WBINVD |
			     INTERCEPT2_RDPRU;
	c->iopm_base_pa = iopm_pa;
	c->msrpm_base_pa = msrpm_pa;
	c->asid = vm->asid;
	c->tlb_control = TLB_CONTROL_FLUSH_ALL;
	/* Physical interrupts exit (INTR intercept) and the guest's IF only
	 * masks virtual ones (APM 2, 15.21.1). */
	c->int_ctl = V_INTR_MASKING;
	c->nested_ctl = NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = vm->npt.root_pa;
}

static int svm_vcpu_init(struct vcpu *v)
{
	struct svm_vcpu *s = page_alloc_ptr(1);
	uint64_t vmcb_pa = page_alloc(1, 1);

	if (!s || !vmcb_pa)
		return -1;
	s->vmcb_pa = vmcb_pa;
	s->vmcb = (struct vmcb *)(uintptr_t)vmcb_pa;
	v->vendor = s;
	vmcb_init_control(&s->vmcb->control, v->vm);
	s->vmcb->save.dr6 = 0xffff0ff0;
	s->vmcb->save.dr7 = 0x400;
	return 0;
}

static void svm_init_events(struct vcpu *v)
{
	struct svm_vcpu *s = v->vendor;

	vcpu_claim(v);
	s->vmcb->control.event_inj = 0;
	s->vmcb->control.int_state = 0;
	s->vmcb->control.int_ctl &= ~V_IRQ;
	s->vmcb->control.intercept_misc1 &= ~INTERCEPT1_IRET;
	s->irq_in_flight = false;
	s->nmi_masked = s->iret_seen = s->nmi_singlestep = s->nmi_tf_ours = false;
	s->nmi_shadow_stepped = false;
}

static void svm_vcpu_reset(struct vcpu *v)
{
	struct svm_vcpu *s = v->vendor;

	vcpu_claim(v);
	memset(s->vmcb, 0, sizeof(*s->vmcb));
	vmcb_init_control(&s->vmcb->control, v->vm);
	s->vmcb->save.dr6 = 0xffff0ff0;
	s->vmcb->save.dr7 = 0x400;
	svm_init_events(v);
	s->dbg_step = s->dbg_tf_added = false;
}

static void seg_to_vmcb(struct vmcb_seg *d, const struct x86_segment *s)
{
	*d = (struct vmcb_seg){ s->sel, s->attr, s->limit, s->base };
}

static void seg_from_vmcb(struct x86_segment *d, const struct vmcb_seg *s)
{
	*d = (struct x86_segment){ s->selector, s->attrib, s->limit, s->base };
}

static void svm_write_sregs(struct vcpu *v, const struct guest_sregs *g)
{
	struct vmcb_save *s = &((struct svm_vcpu *)v->vendor)->vmcb->save;

	vcpu_claim(v);
	/* The VMCB's control registers are not the CPU's: VMRUN does not flush
	 * the guest's TLB when they change, as a MOV to them would. */
	if (s->cr0 != g->cr0 || s->cr3 != g->cr3 || s->cr4 != g->cr4 ||
	    (s->efer & ~EFER_SVME) != g->efer)
		((struct svm_vcpu *)v->vendor)->vmcb->control.tlb_control = TLB_CONTROL_FLUSH_ALL;
	s->rip = g->rip;
	s->rflags = g->rflags;
	s->cr0 = g->cr0;
	s->cr2 = g->cr2;
	s->cr3 = g->cr3;
	s->cr4 = g->cr4;
	s->efer = g->efer | EFER_SVME;   /* VMRUN requires it; hidden from the guest */
	seg_to_vmcb(&s->cs, &g->cs);
	seg_to_vmcb(&s->ds, &g->ds);
	seg_to_vmcb(&s->es, &g->es);
	seg_to_vmcb(&s->fs, &g->fs);
	seg_to_vmcb(&s->gs, &g->gs);
	seg_to_vmcb(&s->ss, &g->ss);
	seg_to_vmcb(&s->tr, &g->tr);
	seg_to_vmcb(&s->ldtr, &g->ldtr);
	s->gdtr = (struct vmcb_seg){ .limit = g->gdtr.limit, .base = g->gdtr.base };
	s->idtr = (struct vmcb_seg){ .limit = g->idtr.limit, .base = g->idtr.base };
	s->cpl = SEG_ATTR_DPL(g->ss.attr);
	s->g_pat = g->pat;
}

static void svm_read_sregs(struct vcpu *v, struct guest_sregs *g)
{
	const struct vmcb_save *s = &((struct svm_vcpu *)v->vendor)->vmcb->save;

	vcpu_claim(v);
	*g = (struct guest_sregs){
		.rip = s->rip, .rflags = s->rflags, .cr0 = s->cr0, .cr2 = s->cr2,
		.cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer & ~EFER_SVME, .pat = s->g_pat,
		.gdtr = { s->gdtr.base, s->gdtr.limit }, .idtr = { s->idtr.base, s->idtr.limit },
	};
	seg_from_vmcb(&g->cs, &s->cs);
	seg_from_vmcb(&g->ds, &s->ds);
	seg_from_vmcb(&g->es, &s->es);
	seg_from_vmcb(&g->fs, &s->fs);
	seg_from_vmcb(&g->gs, &s->gs);
	seg_from_vmcb(&g->ss, &s->ss);
	seg_from_vmcb(&g->tr, &s->tr);
	seg_from_vmcb(&g->ldtr, &s->ldtr);
}

/* EVENTINJ and EXITINTINFO share a layout (APM 2, 15.20 and 15.7.2). */
_Static_assert(EVENT_TYPE_INTR >> 8 == GUEST_EVENT_EXT_INT &&
	       EVENT_TYPE_NMI >> 8 == GUEST_EVENT_NMI &&
	       EVENT_TYPE_EXCEPTION >> 8 == GUEST_EVENT_EXCEPTION &&
	       EVENT_TYPE_SOFT_INT >> 8 == GUEST_EVENT_SOFT_INT,
	       "EVENTINJ types are the neutral ones");
static struct guest_event event_from_vmcb(uint64_t e)
{
	return (struct guest_event){
		.valid = e & EVENT_VALID, .has_error = e & EVENT_ERROR_VALID,
		.type = (e >> 8) & 7, .vector = (uint8_t)e, .error = (uint32_t)(e >> 32),
	};
}

static void svm_read_events(struct vcpu *v, struct guest_events *ev)
{
	const struct svm_vcpu *s = v->vendor;
	const struct vmcb_control *c = &s->vmcb->control;

	vcpu_claim(v);
	*ev = (struct guest_events){
		.inject = event_from_vmcb(c->event_inj),
		.interrupted = event_from_vmcb(c->exit_int_info),
		.offered_irq = s->irq_in_flight ? s->irq_vector : -1,
		.shadow = c->int_state & INT_STATE_SHADOW,
		.nmi_blocked = s->nmi_masked,
	};
}

static unsigned svm_get_cpl(struct vcpu *v)
{
	vcpu_claim(v);
	return ((struct svm_vcpu *)v->vendor)->vmcb->save.cpl;
}

static uint64_t svm_get_rflags(struct vcpu *v)
{
	vcpu_claim(v);
	return ((struct svm_vcpu *)v->vendor)->vmcb->save.rflags;
}

static void svm_nmi_step_done(struct svm_vcpu *s, struct vmcb *vmcb);

/* An instruction emulated under our step over a shadow (PAUSE in
 * `sti; pause`) ends the step here: its TF is ours, and must not pass for
 * the guest's own single step (exit_complete_insn). */
static void svm_skip_insn(struct vcpu *v, unsigned len)
{
	struct svm_vcpu *s = v->vendor;
	struct vmcb *vmcb = s->vmcb;

	vcpu_claim(v);
	vmcb->save.rip += len;
	vmcb->control.int_state &= ~INT_STATE_SHADOW;
	if (s->nmi_singlestep && s->nmi_tf_ours)
		svm_nmi_step_done(s, vmcb);
}

static void svm_inject_exception(struct vcpu *v, uint8_t vector, bool has_error,
				 uint32_t error)
{
	struct vmcb *vmcb = ((struct svm_vcpu *)v->vendor)->vmcb;

	vcpu_claim(v);
	if (x86_exception_is_fault(vector))
		vmcb->save.rflags |= X86_RFLAGS_RF;
	vmcb->control.event_inj = vector | EVENT_TYPE_EXCEPTION | EVENT_VALID |
		(has_error ? EVENT_ERROR_VALID | ((uint64_t)error << 32) : 0);
}

/* The VMCB's DR6 already holds an intercepted #DB's cause (APM 2, 15.12).
 * An intercepted INT3 left RIP at itself: its handler must return after it. */
static void svm_reflect_exception(struct vcpu *v, const struct exit_exception *x)
{
	vcpu_claim(v);
	((struct svm_vcpu *)v->vendor)->vmcb->save.rip += x->soft_len;
	svm_inject_exception(v, x->vector, x->has_error, x->error);
}

/* GUEST_DEBUG_* (x86/vendor.h). The step's TF is taken away when the step
 * ends, with the DR6.BS its #DB left in the VMCB (APM 2, 15.12). */
static void svm_set_guest_debug(struct vcpu *v, unsigned flags)
{
	struct svm_vcpu *s = v->vendor;
	struct vmcb *vmcb = s->vmcb;
	bool step = flags & GUEST_DEBUG_STEP;

	vcpu_claim(v);
	vmcb->control.intercept_exceptions &= ~(1u << X86_EXC_BP);
	vmcb->control.intercept_misc1 &= ~INTERCEPT1_INTN;
	if (flags & GUEST_DEBUG_BP) {
		vmcb->control.intercept_exceptions |= 1u << X86_EXC_BP;
		vmcb->control.intercept_misc1 |= INTERCEPT1_INTN;
	}
	if (step && !s->dbg_step) {
		s->dbg_tf_added = !(vmcb->save.rflags & X86_RFLAGS_TF);
		vmcb->save.rflags |= X86_RFLAGS_TF;
	} else if (!step && s->dbg_step) {
		if (s->dbg_tf_added)
			vmcb->save.rflags &= ~X86_RFLAGS_TF;
		vmcb->save.dr6 &= ~DR6_BS;
		s->dbg_tf_added = false;
	}
	s->dbg_step = step;
}

/* The INTn intercept (on only with GUEST_DEBUG_BP) leaves RIP at the
 * instruction. INT3 goes on as #BP, for the debugger to claim or give back;
 * any other INT n is delivered as the software interrupt it is, from after
 * the instruction (APM 2, 15.20: EVENTINJ type 4). */
static void svm_swint(struct vcpu *v, struct vmcb *vmcb, struct exit_info *e)
{
	struct fetched_insn f;
	const struct x86_insn *i = &f.insn;

	if (guest_fetch_insn(v, &f) || i->map != X86_MAP_1B ||
	    (i->opcode != 0xcc && i->opcode != 0xcd)) {
		e->reason = EXIT_UNHANDLED;
		return;
	}
	if (i->opcode == 0xcc) {
		e->reason = EXIT_EXCEPTION;
		e->exc = (struct exit_exception){ .vector = X86_EXC_BP, .soft_len = i->len };
		return;
	}
	vmcb->save.rip += i->len;
	vmcb->control.event_inj = (uint8_t)i->imm | EVENT_TYPE_SOFT_INT | EVENT_VALID;
}

/* No interrupt while a debugger steps: it would be taken first, and the
 * step land in its handler with TF pushed for the guest to see. An offer
 * not yet taken is withdrawn; the interrupt stays pending. */
static void svm_hold_irqs(struct svm_vcpu *s)
{
	if (!s->irq_in_flight)
		return;
	s->irq_in_flight = false;
	s->vmcb->control.int_ctl &= ~V_IRQ;
}

/*
 * NMI blocking (APM 2, 15.20; SDM 3, 6.7.1): an NMI injected through
 * EVENTINJ is taken even while the guest is still in the handler of the
 * previous one, so the blocking the CPU would keep until IRET is kept here,
 * as KVM does without vNMI. Injecting sets it and intercepts IRET; the IRET
 * exit comes before the instruction runs, so blocking ends at the next
 * entry that finds RIP moved on. When an NMI is waiting for that moment,
 * the IRET is single-stepped (TF is sampled before IRET pops RFLAGS, so
 * the guest never sees it) and the NMI goes in right after it.
 * EVENTINJ also ignores the interrupt shadow, under which a CPU holds an
 * NMI as KVM does (SDM 3, 6.8.3: STI and MOV SS may block NMIs for one
 * instruction; kvm-unit-tests' nmi-after-sti): the shadowed instruction is
 * stepped the same way first.
 */
static void svm_nmi_step_done(struct svm_vcpu *s, struct vmcb *vmcb)
{
	if (s->nmi_tf_ours)
		vmcb->save.rflags &= ~X86_RFLAGS_TF;
	s->nmi_shadow_stepped = s->nmi_tf_ours;
	s->nmi_singlestep = s->nmi_tf_ours = false;
}

/* A step of ours over a shadow, unless a TF already set (the guest's, or a
 * debugger's step) ends the shadow with a #DB exit anyway. */
static bool svm_may_step(const struct svm_vcpu *s, const struct vmcb *vmcb)
{
	return !s->dbg_step && !(vmcb->save.rflags & X86_RFLAGS_TF);
}

/*
 * The interrupt shadow an NMI waits out. QEMU's TCG leaves it out of the
 * VMCB when an interrupt exit lands right after STI (where TCG looks for
 * interrupts), so an STI byte just before RIP, with IF now set, counts as
 * one too. A wrong guess (0xfb ending another instruction) only delays the
 * NMI by the one instruction stepped. Once that step is done the shadow is
 * over whatever the byte says (`sti; jmp .` comes back to the same RIP).
 */
static bool svm_in_shadow(struct vcpu *v, const struct vmcb *vmcb)
{
	struct guest_sregs sr;
	uint8_t byte;

	if (vmcb->control.int_state & INT_STATE_SHADOW)
		return true;
	if (!(vmcb->save.rflags & X86_RFLAGS_IF))
		return false;
	svm_read_sregs(v, &sr);
	return guest_read_linear(v, &sr, guest_code_linear(&sr) - 1, &byte, 1) == 1 &&
	       byte == 0xfb;
}

static void svm_nmi_before_entry(struct vcpu *v, struct svm_vcpu *s, struct vmcb *vmcb)
{
	if (s->iret_seen && vmcb->save.rip != s->iret_rip)
		s->nmi_masked = s->iret_seen = false;
	if (!v->nmi_pending || (vmcb->control.event_inj & EVENT_VALID))
		return;
	if (s->nmi_masked)
		vcpu_nmi_blocked(v);
	if (!s->nmi_masked && (s->nmi_shadow_stepped || !svm_in_shadow(v, vmcb))) {
		if (s->nmi_singlestep)   /* the stepped instruction was emulated */
			svm_nmi_step_done(s, vmcb);
		s->nmi_shadow_stepped = false;
		vmcb->control.event_inj = X86_EXC_NMI | EVENT_TYPE_NMI | EVENT_VALID;
		v->nmi_pending--;
		s->nmi_masked = true;
		vmcb->control.intercept_misc1 |= INTERCEPT1_IRET;
	} else if (!s->nmi_singlestep && (s->nmi_masked ? s->iret_seen : svm_may_step(s, vmcb))) {
		/* IRET pops RFLAGS itself; after any other instruction our TF
		 * is taken back. */
		s->nmi_singlestep = true;
		s->nmi_tf_ours = !s->nmi_masked;
		s->nmi_step_rip = vmcb->save.rip;
		vmcb->save.rflags |= X86_RFLAGS_TF | X86_RFLAGS_RF;
	}
}

/*
 * Our step has not run its instruction yet: nothing is offered. QEMU's TCG
 * leaves the shadow out of the VMCB, so it would take an interrupt before
 * the instruction, push our TF in the frame, and the handler's IRET would
 * give the guest a single step it never asked for (nmi-pair: a #DB after the
 * PAUSE of `sti; pause; cli`, once the step had ended in the handler for the
 * NMI). Held, the interrupt comes right after the step, as under a shadow.
 */
static bool svm_nmi_step_ahead(const struct svm_vcpu *s, const struct vmcb *vmcb)
{
	return s->nmi_singlestep && vmcb->save.rip == s->nmi_step_rip;
}

/* Returns true when the exit was ours alone (the IRET, or the #DB of our
 * single step) and needs no handling beyond this. */
static bool svm_nmi_after_exit(struct vcpu *v, struct svm_vcpu *s, struct vmcb *vmcb)
{
	uint64_t code = vmcb->control.exit_code;

	if (code == SVM_EXIT_IRET) {
		vmcb->control.intercept_misc1 &= ~INTERCEPT1_IRET;
		s->iret_seen = true;
		s->iret_rip = vmcb->save.rip;
		vcpu_nmi_done(v);
		return true;
	}
	if (code != SVM_EXIT_EXCP_BASE + X86_EXC_DB || !s->nmi_singlestep)
		return false;
	svm_nmi_step_done(s, vmcb);
	/* Our step set BS; any other cause (a data breakpoint hit by the
	 * stepped instruction's memory accesses) is the guest's and is still
	 * delivered. */
	vmcb->save.dr6 &= ~DR6_BS;
	return !(vmcb->save.dr6 & (DR6_TRAP_BITS & ~DR6_BS));
}

/* Offer the highest pending interrupt through V_IRQ; the CPU delivers it
 * when the guest can take it (APM 2, 15.21.4). An offer not yet taken is
 * replaced when a higher vector arrives, so priority order holds. */
static void svm_offer_irq(struct vcpu *v, struct svm_vcpu *s)
{
	int vector = vcpu_pending_irq(v);

	/* An offer nothing requests any more is withdrawn, as a PC's INTR
	 * drops: an 8259 request the guest masked before setting IF. */
	if (s->irq_in_flight && lapic_offer_withdrawn(v, s->irq_vector)) {
		s->vmcb->control.int_ctl &= ~V_IRQ;
		s->irq_in_flight = false;
	}
	if (vector < 0 || (s->irq_in_flight && vector <= s->irq_vector))
		return;
	s->irq_in_flight = true;
	s->irq_vector = (uint8_t)vector;
	/* The CPU holds it back while the guest's V_TPR is at or above its
	 * priority class, as the APIC would (APM 2, 15.21.4). */
	s->vmcb->control.int_ctl = V_INTR_MASKING | V_IRQ |
		((uint64_t)(vector >> 4) << V_INTR_PRIO_SHIFT) |
		((uint64_t)vector << V_INTR_VECTOR_SHIFT) |
		(s->vmcb->control.int_ctl & V_TPR_MASK);
}

/*
 * EXITINTINFO (APM 2, 15.7.2). QEMU's TCG reports an external interrupt
 * whose delivery the exit cut short as an exception (type 3) with the
 * interrupt's vector; injected back as such, VMRUN fails (no exception has a
 * vector above 31, APM 2, 15.20). It is an interrupt.
 */
static uint64_t svm_exit_int_info(const struct vmcb *vmcb)
{
	uint64_t info = vmcb->control.exit_int_info;

	if ((info & EVENT_TYPE_MASK) == EVENT_TYPE_EXCEPTION && (uint8_t)info >= 32)
		info = (info & ~EVENT_TYPE_MASK) | EVENT_TYPE_INTR;
	return info;
}

/* Taken: V_IRQ cleared, or its delivery cut short by this exit (then it is
 * in EXITINTINFO, to be injected again; QEMU's TCG leaves V_IRQ set, and
 * offered as well it would come twice). */
static void svm_check_irq_taken(struct vcpu *v, struct svm_vcpu *s)
{
	uint64_t info = svm_exit_int_info(s->vmcb);
	bool cut = (info & EVENT_VALID) && (info & EVENT_TYPE_MASK) == EVENT_TYPE_INTR &&
		   (uint8_t)info == s->irq_vector;

	if (s->irq_in_flight && (!(s->vmcb->control.int_ctl & V_IRQ) || cut)) {
		s->vmcb->control.int_ctl &= ~V_IRQ;
		s->irq_in_flight = false;
		vcpu_ack_irq(v, s->irq_vector);
	}
}

/* The benchmark's floor: serve the exit with nothing but a RIP update. */
static bool svm_bench_floor(struct vcpu *v, struct vmcb *vmcb)
{
	uint64_t code = vmcb->control.exit_code;
	bool match = (v->bench_floor_exit == HV_BENCH_EXIT_CPUID && code == SVM_EXIT_CPUID) ||
		     (v->bench_floor_exit == HV_BENCH_EXIT_HYPERCALL && code == SVM_EXIT_VMMCALL);

	if (!v->bench_floor_left || !match)
		return false;
	v->bench_floor_left--;
	vmcb->save.rip += v->bench_floor_len;
	return true;
}

static bool svm_enter(struct vcpu *v, struct svm_vcpu *s)
{
	struct vmcb *vmcb = s->vmcb;
	unsigned cpu = this_cpu()->id;
	bool fresh;

	/* vCPUs of one VM share its ASID: flush when another of them ran on it
	 * last on this CPU, even with other VMs in between (review finding 5). */
	if (v->vm->asid_owner[cpu] != v || v->flush_tlb)
		vmcb->control.tlb_control = TLB_CONTROL_FLUSH_ALL;
	v->vm->asid_owner[cpu] = v;
	v->flush_tlb = false;
	vmcb->save.rax = v->regs.gpr[GPR_RAX];
	vmcb->save.rsp = v->regs.gpr[GPR_RSP];
	/* GIF = 0 holds host interrupts until after the exit; host IF = 1 makes
	 * them exit the guest. STGI then lets the pending one in. */
	guest_enter(v);
	__asm__ volatile("clgi; sti" ::: "memory");
	do
		svm_vmrun(v, s->vmcb_pa, this_cpu()->host_save_pa);
	while (svm_bench_floor(v, vmcb));
	__asm__ volatile("stgi; cli" ::: "memory");
	/* Before the lock: another CPU may reset v while this one waits for it. */
	vmcb->control.tlb_control = 0;
	v->regs.gpr[GPR_RAX] = vmcb->save.rax;
	v->regs.gpr[GPR_RSP] = vmcb->save.rsp;
	fresh = guest_exit(v);
	return fresh;
}

/* The 0f 01 group with a register ModRM: VMMCALL, XSETBV, ... */
static bool is_0f01(const struct x86_insn *i, unsigned reg, unsigned rm)
{
	return i->map == 2 && i->opcode == 0x01 && i->has_modrm && i->mod == 3 &&
	       (i->reg & 7) == reg && (i->rm & 7) == rm;
}

/* Length of the instruction at RIP, checked against what must have exited. */
static uint8_t svm_insn_len(struct vcpu *v, enum exit_reason reason, uint8_t *gpr)
{
	struct fetched_insn f;
	const struct x86_insn *i = &f.insn;
	bool ok;

	if (guest_fetch_insn(v, &f))
		return 0;
	switch (reason) {
	case EXIT_CPUID:     ok = i->map == 2 && i->opcode == 0xa2; break;
	case EXIT_HLT:       ok = i->map == 1 && i->opcode == 0xf4; break;
	case EXIT_PAUSE:     ok = i->map == 1 && i->opcode == 0x90 && i->rep; break;
	case EXIT_MSR_READ:  ok = i->map == 2 && i->opcode == 0x32; break;
	case EXIT_MSR_WRITE: ok = i->map == 2 && i->opcode == 0x30; break;
	case EXIT_HYPERCALL: ok = is_0f01(i, 3, 1); break;     /* 0f 01 d9 */
	case EXIT_XSETBV:    ok = is_0f01(i, 2, 1); break;     /* 0f 01 d1 */
	case EXIT_WBINVD:    ok = i->map == 2 && i->opcode == 0x09; break;
	case EXIT_CR_WRITE:  ok = i->map == 2 && i->opcode == 0x22 && i->reg == 4 && !i->lock;
			     *gpr = i->rm;
			     break;
	default:             ok = false;
	}
	return ok ? i->len : 0;
}

/*
 * QEMU's TCG does not load the interrupt shadow at VMRUN, which the CPU must
 * honour (APM 2, 15.21.5): an interrupt offered under STI's shadow is taken
 * one instruction early. That is harmless but before a HLT: taken before it
 * (an exit came between the STI and the HLT), the guest then halted with its
 * wake-up spent. So nothing is offered under a shadow over a HLT; the HLT's
 * exit finds the interrupt pending and does not halt (handle_hlt), and the
 * next entry offers it. Other instructions keep their early offer: in a
 * STI; PAUSE; CLI poll TCG's exits all land in the shadow (it looks for
 * interrupts where the STI ends its block), so held back there the poll
 * never saw one (the selftest's timer-busy).
 */
static bool svm_shadowed_hlt(struct vcpu *v, const struct vmcb *vmcb)
{
	struct fetched_insn f;

	if (!(vmcb->control.int_state & INT_STATE_SHADOW))
		return false;
	return !guest_fetch_insn(v, &f) && f.insn.map == 1 && f.insn.opcode == 0xf4;
}

static void svm_run(struct vcpu *v, struct exit_info *e)
{
	struct svm_vcpu *s = v->vendor;
	struct vmcb *vmcb = s->vmcb;

	/* With V_INTR_MASKING the guest's CR8 is V_TPR: the emulated APIC's
	 * TPR (which xAPIC MMIO may have changed) goes in, V_TPR comes out. */
	vmcb->control.int_ctl = (vmcb->control.int_ctl & ~V_TPR_MASK) | lapic_read_cr8(v);
	vmcb->control.tsc_offset = v->vm->tsc_offset;
	/* A spinning vCPU hands the CPU to a sibling (core/sched.c); set here,
	 * as a VM's vCPUs are counted only once all exist. No pause filter:
	 * with a count of 0 every PAUSE exits (APM 2, 15.14.4). */
	if (v->vm->nr_vcpus > 1)
		vmcb->control.intercept_misc1 |= INTERCEPT1_PAUSE;
	svm_nmi_before_entry(v, s, vmcb);
	if (s->dbg_step || svm_nmi_step_ahead(s, vmcb) || svm_shadowed_hlt(v, vmcb))
		svm_hold_irqs(s);
	else
		svm_offer_irq(v, s);
	if (!svm_enter(v, s)) {
		*e = (struct exit_info){ .reason = EXIT_NONE };
		return;
	}
	lapic_write_cr8(v, vmcb->control.int_ctl & V_TPR_MASK);
	svm_check_irq_taken(v, s);
	/* An event whose delivery the exit interrupted is delivered again
	 * (APM 2, 15.7.2); trust EXITINTINFO only with its valid bit. */
	if (vmcb->control.exit_int_info & EVENT_VALID)
		vmcb->control.event_inj = svm_exit_int_info(vmcb);
	svm_decode_exit(vmcb, e);
	if (svm_nmi_after_exit(v, s, vmcb))
		e->reason = EXIT_NONE;
	if (vmcb->control.exit_code == SVM_EXIT_SWINT)
		svm_swint(v, vmcb, e);
	switch (e->reason) {
	case EXIT_CPUID:
	case EXIT_HLT:
	case EXIT_PAUSE:
	case EXIT_MSR_READ:
	case EXIT_MSR_WRITE:
	case EXIT_HYPERCALL:
	case EXIT_XSETBV:
	case EXIT_WBINVD:
	case EXIT_CR_WRITE:
		e->insn_len = svm_insn_len(v, e->reason, &e->cr.gpr);
		break;
	default:
		break;
	}
}

/* Everything of a vCPU is in its VMCB: nothing stays in a CPU. */
static void svm_vcpu_put(struct vcpu *v)
{
	(void)v;
}

static void svm_dump(struct vcpu *v)
{
	const struct vmcb *vmcb = ((struct svm_vcpu *)v->vendor)->vmcb;
	const struct vmcb_control *c = &vmcb->control;
	const struct vmcb_save *s = &vmcb->save;

	vcpu_claim(v);
	printk("VMCB control: exitcode 0x%lx exitinfo1 0x%lx exitinfo2 0x%lx exitintinfo 0x%lx\n",
	       c->exit_code, c->exit_info_1, c->exit_info_2, c->exit_int_info);
	printk("  int_ctl 0x%lx int_state 0x%lx event_inj 0x%lx asid %u ncr3 0x%lx\n",
	       c->int_ctl, c->int_state, c->event_inj, c->asid, c->nested_cr3);
	printk("VMCB save: cs %04x/%03x/%lx ss %04x/%03x ds %04x tr %04x/%03x cpl %u efer 0x%lx\n",
	       s->cs.selector, s->cs.attrib, s->cs.base, s->ss.selector, s->ss.attrib,
	       s->ds.selector, s->tr.selector, s->tr.attrib, s->cpl, s->efer);
}

const struct vendor_ops svm_vendor_ops = {
	.name = "AMD SVM",
	.probe = svm_probe,
	.cpu_enable = svm_cpu_enable,
	.vm_init = svm_vm_init,
	.flush_nested = svm_flush_nested,
	.vcpu_init = svm_vcpu_init,
	.vcpu_reset = svm_vcpu_reset,
	.vcpu_put = svm_vcpu_put,
	.read_sregs = svm_read_sregs,
	.write_sregs = svm_write_sregs,
	.init_events = svm_init_events,
	.read_events = svm_read_events,
	.get_cpl = svm_get_cpl,
	.get_rflags = svm_get_rflags,
	.run = svm_run,
	.skip_insn = svm_skip_insn,
	.inject_exception = svm_inject_exception,
	.reflect_exception = svm_reflect_exception,
	.set_guest_debug = svm_set_guest_debug,
	.dump = svm_dump,
	.hypercall_feature = HV_FEATURE_VMMCALL,
};
