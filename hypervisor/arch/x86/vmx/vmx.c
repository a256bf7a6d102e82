/*
 * Intel VMX backend (SDM vol. 3, chapters 24-29) with EPT.
 *
 * Every control is derived from the capability MSRs (vmx_caps.c). Host
 * interrupts exit the guest (external-interrupt exiting, no acknowledge on
 * exit) and stay pending until the STI after the exit. The SYSCALL MSRs and
 * KERNEL_GS_BASE are not in the VMCS; the host never uses them, so they hold
 * the running vCPU's values and are swapped only when another vCPU runs.
 */
#include <core/cpus.h>
#include <core/page_alloc.h>
#include <core/smp.h>
#include <core/vm.h>
#include <hv/hypercall.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/cpu.h>
#include <x86/cpuid_bits.h>
#include <x86/debugreg.h>
#include <x86/guest_mem.h>
#include <x86/percpu.h>
#include <x86/processor.h>
#include <x86/vendor.h>
#include "vmx_private.h"

#define X86_CR4_VMXE_BIT  (1ull << 13)

const uint32_t vmx_lazy_msrs[NR_LAZY_MSRS] = {
	MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
};

struct vmx_caps vmx_caps;
struct vmx_controls vmx_ctl;
uint64_t vmx_msr_bitmap_pa;
static uint16_t next_vpid = 1;
static unsigned preempt_shift;       /* the timer counts TSC >> this (A.6) */

/* At most this long in the guest without an exit (the scheduler's poll). */
#define PREEMPT_MS 10

static void read_caps(void)
{
	bool true_ctls;

	vmx_caps.basic = rdmsr(MSR_VMX_BASIC);
	true_ctls = vmx_caps.basic & VMX_BASIC_TRUE_CTLS;
	vmx_caps.pin = rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED : MSR_VMX_PINBASED);
	vmx_caps.proc = rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED : MSR_VMX_PROCBASED);
	vmx_caps.exit = rdmsr(true_ctls ? MSR_VMX_TRUE_EXIT : MSR_VMX_EXIT);
	vmx_caps.entry = rdmsr(true_ctls ? MSR_VMX_TRUE_ENTRY : MSR_VMX_ENTRY);
	vmx_caps.cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
	vmx_caps.cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
	vmx_caps.cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
	vmx_caps.cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
	preempt_shift = rdmsr(MSR_VMX_MISC) & 0x1f;
	if ((vmx_caps.proc >> 32) & PROC_SECONDARY) {
		vmx_caps.proc2 = rdmsr(MSR_VMX_PROCBASED2);
		if ((vmx_caps.proc2 >> 32) & (PROC2_EPT | PROC2_VPID))
			vmx_caps.ept_vpid = rdmsr(MSR_VMX_EPT_VPID_CAP);
	}
}

static bool vmx_probe(char *why, size_t len)
{
	uint64_t fc;

	if (!(cpuid(1, 0).ecx & CPUID_1_ECX_VMX)) {
		snprintf(why, len, "CPU has no VMX");
		return false;
	}
	fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if ((fc & FEATURE_CONTROL_LOCK) && !(fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX)) {
		snprintf(why, len, "VMX is disabled by the firmware "
			 "(IA32_FEATURE_CONTROL locked with VMXON outside SMX off)");
		return false;
	}
	read_caps();
	printk("kestrel: vmx: basic 0x%lx pin 0x%lx proc 0x%lx proc2 0x%lx exit 0x%lx "
	       "entry 0x%lx ept/vpid 0x%lx\n", vmx_caps.basic, vmx_caps.pin, vmx_caps.proc, vmx_caps.proc2,
	       vmx_caps.exit, vmx_caps.entry, vmx_caps.ept_vpid);
	return vmx_choose_controls(&vmx_caps, &vmx_ctl, why, len) == 0;
}

static void vmx_msr_bitmap_pass(uint8_t *bitmap, uint32_t msr)
{
	/* Read bitmaps at 0 (low MSRs) and 1024 (0xc0000000..), write bitmaps
	 * 2048 bytes further (SDM 3, 25.6.9). */
	uint32_t base = msr >= 0xc0000000 ? 1024 : 0, bit = msr & 0x1fff;

	bitmap[base + bit / 8] &= (uint8_t)~(1u << (bit % 8));
	bitmap[2048 + base + bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

/* Every EPT-derived translation, of every context (SDM 3, 29.4.3.4). */
static void vmx_invept_all(void)
{
	struct { uint64_t a, b; } desc = { 0, 0 };

	if ((vmx_caps.ept_vpid & EPT_CAP_INVEPT) && (vmx_caps.ept_vpid & EPT_CAP_INVEPT_ALL))
		__asm__ volatile("invept %0, %1" : : "m"(desc), "r"(2ull) : "cc", "memory");
}

/* Nothing cached from before VMXON may survive: invalidate every EPT and
 * VPID context (SDM 3, 29.4.3). Later only a write-watch takes rights away
 * (vmx_flush_nested), and every vCPU has its own VPID. */
static void vmx_flush_all(void)
{
	struct { uint64_t a, b; } desc = { 0, 0 };

	vmx_invept_all();
	if (vmx_ctl.vpid && (vmx_caps.ept_vpid & VPID_CAP_INVVPID) &&
	    (vmx_caps.ept_vpid & VPID_CAP_ALL))
		__asm__ volatile("invvpid %0, %1" : : "m"(desc), "r"(2ull) : "cc", "memory");
}

/* A restarted vCPU keeps its VPID: its old translations (global pages
 * included) must not survive into the new boot (review S5). */
static void vmx_flush_vpid(uint16_t vpid)
{
	struct { uint64_t vpid, la; } desc = { vpid, 0 };

	if (!vmx_ctl.vpid || !vpid || !(vmx_caps.ept_vpid & VPID_CAP_INVVPID))
		return;
	if (vmx_caps.ept_vpid & VPID_CAP_SINGLE)
		__asm__ volatile("invvpid %0, %1" : : "m"(desc), "r"(1ull) : "cc", "memory");
	else if (vmx_caps.ept_vpid & VPID_CAP_ALL)
		__asm__ volatile("invvpid %0, %1" : : "m"(desc), "r"(2ull) : "cc", "memory");
}

static int vmx_msr_bitmap_init(void)
{
	static const uint32_t passthrough[] = {
		MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR,
		MSR_CSTAR, MSR_SFMASK, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_CS + 1,
		MSR_IA32_SYSENTER_CS + 2,
	};
	uint8_t *bitmap;

	vmx_msr_bitmap_pa = page_alloc(1, 1);
	if (!vmx_msr_bitmap_pa)
		return -1;
	bitmap = (uint8_t *)(uintptr_t)vmx_msr_bitmap_pa;
	memset(bitmap, 0xff, PAGE_SIZE);
	for (unsigned i = 0; i < sizeof(passthrough) / sizeof(passthrough[0]); i++)
		vmx_msr_bitmap_pass(bitmap, passthrough[i]);
	return 0;
}

/* The first call (on the boot CPU) also builds the shared MSR bitmap. */
static int vmx_cpu_enable(void)
{
	struct pcpu *c = this_cpu();
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	bool failed;

	c->vmxon_pa = page_alloc(1, 1);
	if (!c->vmxon_pa || (!vmx_msr_bitmap_pa && vmx_msr_bitmap_init())) {
		printk("kestrel: vmx: out of memory\n");
		return -1;
	}
	/* Firmware that left it unlocked (OVMF under Bochs does) gets it set
	 * up here (SDM 3, 24.7). */
	if (!(fc & FEATURE_CONTROL_LOCK))
		wrmsr(MSR_IA32_FEATURE_CONTROL,
		      fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON_OUTSIDE_SMX);
	write_cr0((read_cr0() | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1);
	write_cr4((read_cr4() | vmx_caps.cr4_fixed0 | X86_CR4_VMXE_BIT) & vmx_caps.cr4_fixed1);
	*(uint32_t *)(uintptr_t)c->vmxon_pa = (uint32_t)vmx_caps.basic & 0x7fffffff;
	__asm__ volatile("vmxon %1; setbe %0" : "=qm"(failed) : "m"(c->vmxon_pa) : "cc", "memory");
	if (failed) {
		printk("kestrel: vmx: VMXON failed\n");
		return -1;
	}
	vmx_flush_all();
	vendor_guest_rdtscp = vmx_ctl.proc2 & PROC2_RDTSCP;
	return 0;
}

static int vmx_vm_init(struct vm *vm)
{
	vm->npt.fmt = vmx_ctl.ept_1g ? &pt_format_ept_1g : vmx_ctl.ept_2m ? &pt_format_ept
							   : &pt_format_ept_4k;
	vm->asid = 0;   /* VMX tags per vCPU (VPID), see vmx_vcpu_init */
	return 0;
}

/* All contexts, on every CPU (the others before their next entry): the
 * VM's EPTP is not kept here, and this is rare (console `watch`, destroy). */
static void vmx_flush_nested(struct vm *vm)
{
	(void)vm;
	vmx_invept_all();
	for (unsigned i = 0; i < nr_pcpus; i++)
		if (pcpus[i] != this_cpu())
			pcpus[i]->flush_nested = true;
}

/* Makes v's VMCS current on this CPU. One that was current on another CPU
 * is cleared there first (vcpu_claim, vmx_vcpu_put: SDM 3, 24.11.1), and
 * its host-state fields, which name this CPU's TSS, GDT and IDT, are
 * written again. */
void vmx_load(struct vcpu *v)
{
	struct vmx_vcpu *x = to_vmx(v);
	struct pcpu *c = this_cpu();

	vcpu_claim(v);
	if (c->vmcs_current == v)
		return;
	__asm__ volatile("vmptrld %0" : : "m"(x->vmcs_pa) : "cc", "memory");
	c->vmcs_current = v;
	if (x->host_cpu != c->id) {
		vmx_vmcs_setup_host();
		x->host_cpu = c->id;
	}
}


static int vmx_vcpu_init(struct vcpu *v)
{
	struct vmx_vcpu *x = page_alloc_ptr(1);
	uint64_t vmcs_pa = page_alloc(1, 1);

	if (!x || !vmcs_pa)
		return -1;
	x->vmcs_pa = vmcs_pa;
	/* One VPID per vCPU: no flush is needed when vCPUs take turns. */
	if (vmx_ctl.vpid && next_vpid)
		x->vpid = next_vpid++;
	v->vendor = x;
	x->host_cpu = this_cpu()->id;     /* vmx_vmcs_setup writes it */
	*(uint32_t *)(uintptr_t)vmcs_pa = (uint32_t)vmx_caps.basic & 0x7fffffff;
	__asm__ volatile("vmclear %0" : : "m"(x->vmcs_pa) : "cc", "memory");
	vmx_load(v);
	vmx_vmcs_setup(v);
	return 0;
}

static void vmx_vcpu_reset(struct vcpu *v)
{
	struct vmx_vcpu *x = to_vmx(v);
	struct pcpu *c = this_cpu();

	vcpu_claim(v);
	__asm__ volatile("vmclear %0" : : "m"(x->vmcs_pa) : "cc", "memory");
	if (c->vmcs_current == v)
		c->vmcs_current = NULL;
	if (c->vmx_lazy_owner == v)
		c->vmx_lazy_owner = NULL;
	x->host_cpu = c->id;
	for (unsigned i = 0; i < NR_LAZY_MSRS; i++)
		x->msrs[i] = 0;
	x->cr2 = 0;
	x->launched = false;
	v->flush_tlb = true;      /* on the CPU it runs on, before it runs */
	x->insn_error = 0;
	x->dbg_step = x->dbg_tf_added = false;
	vmx_load(v);
	vmx_vmcs_setup(v);
}

static void lazy_save(struct vcpu *owner)
{
	to_vmx(owner)->cr2 = read_cr2();
	for (unsigned i = 0; i < NR_LAZY_MSRS; i++)
		to_vmx(owner)->msrs[i] = rdmsr(vmx_lazy_msrs[i]);
}

/* The SYSCALL MSRs, KERNEL_GS_BASE and CR2 follow the vCPU that runs. */
static void vmx_switch_lazy_state(struct vcpu *v)
{
	struct pcpu *c = this_cpu();

	if (c->vmx_lazy_owner == v)
		return;
	if (c->vmx_lazy_owner)
		lazy_save(c->vmx_lazy_owner);
	write_cr2(to_vmx(v)->cr2);
	for (unsigned i = 0; i < NR_LAZY_MSRS; i++)
		wrmsr(vmx_lazy_msrs[i], to_vmx(v)->msrs[i]);
	c->vmx_lazy_owner = v;
}

/* On the CPU that ran v (core/cpus.c): its VMCS cleared to memory, its
 * lazily switched registers saved. The next VMPTRLD, here or elsewhere,
 * needs VMLAUNCH again. */
static void vmx_vcpu_put(struct vcpu *v)
{
	struct vmx_vcpu *x = to_vmx(v);
	struct pcpu *c = this_cpu();

	/* Active here even when another VMCS is current (a VMPTRLD leaves the
	 * previous one active): cleared either way (SDM 3, 24.11.1). */
	__asm__ volatile("vmclear %0" : : "m"(x->vmcs_pa) : "cc", "memory");
	x->launched = false;
	if (c->vmcs_current == v)
		c->vmcs_current = NULL;
	if (c->vmx_lazy_owner == v) {
		lazy_save(v);
		c->vmx_lazy_owner = NULL;
	}
}

uint64_t vmx_get_cr2(struct vcpu *v)
{
	vcpu_claim(v);
	return this_cpu()->vmx_lazy_owner == v ? read_cr2() : to_vmx(v)->cr2;
}

void vmx_set_cr2(struct vcpu *v, uint64_t cr2)
{
	vcpu_claim(v);
	if (this_cpu()->vmx_lazy_owner == v)
		write_cr2(cr2);
	else
		to_vmx(v)->cr2 = cr2;
}

/* SS.DPL is the CPL (SDM 3, 5.5); the access rights keep DPL in bits 5-6. */
static unsigned vmx_get_cpl(struct vcpu *v)
{
	vmx_load(v);
	return (vmread(VMCS_GUEST_ES_AR + 2 * VMCS_SEG_SS) >> 5) & 3;
}

static uint64_t vmx_get_rflags(struct vcpu *v)
{
	vmx_load(v);
	return vmread(VMCS_GUEST_RFLAGS);
}

static void vmx_init_events(struct vcpu *v)
{
	vmx_load(v);
	vmwrite(VMCS_ENTRY_INTR_INFO, 0);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_PENDING_DBG, 0);
	to_vmx(v)->nmi_in_handler = false;
}

/* The instruction is done here, and so are its debug traps: exit_complete_insn
 * raises the single step a TF asks for. The pending debug exceptions the exit
 * saved (SDM 3, 25.4.2) are none of this instruction's: hardware saves none
 * for an instruction's fault-like exit, but Bochs saves the traps it had
 * scheduled (TF's, before the instruction ran; a breakpoint's), and after the
 * skip they came as a #DB the guest had not caused: after a gdb step by TF, and
 * at MMIO and VMCALL after the guest's own breakpoints (chaos bit 32). */
static void vmx_skip_insn(struct vcpu *v, unsigned len)
{
	vmx_load(v);
	vmwrite(VMCS_GUEST_RIP, vmread(VMCS_GUEST_RIP) + len);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, vmread(VMCS_GUEST_INTERRUPTIBILITY) &
		~(uint64_t)(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS));
	vmwrite(VMCS_GUEST_PENDING_DBG, 0);
}

static void vmx_inject_exception(struct vcpu *v, uint8_t vector, bool has_error,
				 uint32_t error)
{
	vmx_load(v);
	if (x86_exception_is_fault(vector))
		vmwrite(VMCS_GUEST_RFLAGS, vmread(VMCS_GUEST_RFLAGS) | X86_RFLAGS_RF);
	vmwrite(VMCS_ENTRY_INTR_INFO, vector | INTR_TYPE_HW_EXCEPTION | INTR_INFO_VALID |
		(has_error ? INTR_INFO_ERROR_VALID : 0));
	if (has_error)
		vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, error);
}

/* ICEBP raises #DB as a privileged software exception: it goes back with
 * that type and its length, or the guest's handler would return to the
 * ICEBP itself (SDM 3, 26.6.1.1). */
static void vmx_reflect_exception(struct vcpu *v, const struct exit_exception *x)
{
	/* Entering the #DB handler clears DR7.GD (SDM 3, 18.2.4); the
	 * intercepted #DB has not been delivered, so the VMCS still has it set
	 * and the handler's first MOV DR would raise #DB again. */
	if (x->vector == X86_EXC_DB) {
		vmx_load(v);
		vmwrite(VMCS_GUEST_DR7, vmread(VMCS_GUEST_DR7) & ~DR7_GD);
	}
	if (!x->soft_len) {
		vmx_inject_exception(v, x->vector, x->has_error, x->error);
		return;
	}
	vmx_load(v);
	vmwrite(VMCS_ENTRY_INTR_INFO, x->vector | INTR_INFO_VALID |
		(x->vector == X86_EXC_DB ? INTR_TYPE_PRIV_SOFT_EXCEPTION : INTR_TYPE_SOFT_EXCEPTION));
	vmwrite(VMCS_ENTRY_INSN_LEN, x->soft_len);
}

static bool vmx_has_mtf(void)
{
	return (vmx_caps.proc >> 32) & PROC_MTF;
}

/* GUEST_DEBUG_* (x86/vendor.h): INT3 in the exception bitmap; a step by
 * the monitor trap flag where the CPU has it (vmx_offer_irq sets it), else
 * by a TF taken away again when the step ends. */
static void vmx_set_guest_debug(struct vcpu *v, unsigned flags)
{
	struct vmx_vcpu *x = to_vmx(v);
	bool step = flags & GUEST_DEBUG_STEP;
	uint64_t rflags;

	vmx_load(v);
	vmwrite(VMCS_EXCEPTION_BITMAP, GUEST_EXCEPTION_INTERCEPTS |
		(flags & GUEST_DEBUG_BP ? 1u << X86_EXC_BP : 0));
	rflags = vmread(VMCS_GUEST_RFLAGS);
	if (step && !x->dbg_step && !vmx_has_mtf()) {
		x->dbg_tf_added = !(rflags & X86_RFLAGS_TF);
		vmwrite(VMCS_GUEST_RFLAGS, rflags | X86_RFLAGS_TF);
	} else if (!step && x->dbg_tf_added) {
		vmwrite(VMCS_GUEST_RFLAGS, rflags & ~X86_RFLAGS_TF);
		x->dbg_tf_added = false;
	}
	x->dbg_step = step;
}

/*
 * An NMI IPI goes in when no other event does and nothing blocks it
 * (SDM 3, 26.3.1.5); else it waits for a later entry. With virtual NMIs the
 * guest's IRET ends the blocking its injection set. Without them nothing
 * ends it (NMI exiting: SDM 3, 25.3), so, as KVM does, the NMI handler is
 * taken to be over once the guest has interrupts enabled again, and the
 * blocking is cleared then; it had kept every later NMI out, and the
 * interrupt-window exits for it coming forever (a chaos-found livelock).
 *
 * With virtual NMIs only an NMI injected here blocks the next, so a vCPU
 * that reads back "blocked by NMI" without one in its handler is wrong,
 * and is unblocked: Bochs 2.7 keeps the NMI mask of the guest it ran last
 * across VM exit and entry (fixed after 2.7: Bochs bug #1456), so a vCPU
 * entered after another in its NMI handler came back blocked, and of the
 * two NMIs then pending for it one was dropped (vcpu_nmi_blocked;
 * kvm-unit-tests' "multiple nmi", the selftest nmi-pair).
 */
static void vmx_inject_nmi(struct vcpu *v)
{
	uint32_t shadow = INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS;
	uint32_t intr;

	if (!v->nmi_pending || (vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID))
		return;
	intr = (uint32_t)vmread(VMCS_GUEST_INTERRUPTIBILITY);
	if (vmx_ctl.nmi_window && (intr & INTERRUPTIBILITY_NMI) && !to_vmx(v)->nmi_in_handler) {
		intr &= ~INTERRUPTIBILITY_NMI;
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr);
	}
	if (!vmx_ctl.nmi_window && (intr & INTERRUPTIBILITY_NMI) && !(intr & shadow) &&
	    (vmread(VMCS_GUEST_RFLAGS) & X86_RFLAGS_IF)) {
		intr &= ~INTERRUPTIBILITY_NMI;
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr);
	}
	if (intr & INTERRUPTIBILITY_NMI)
		vcpu_nmi_blocked(v);
	if (intr & (shadow | INTERRUPTIBILITY_NMI))
		return;
	vmwrite(VMCS_ENTRY_INTR_INFO, X86_EXC_NMI | INTR_TYPE_NMI | INTR_INFO_VALID);
	v->nmi_pending--;
	to_vmx(v)->nmi_in_handler = vmx_ctl.nmi_window;
}

/* Deliver the highest pending interrupt if the guest can take it now, else
 * ask for an exit as soon as it can (SDM 3, 26.7.5 and 27.6). */
static void vmx_offer_irq(struct vcpu *v)
{
	uint32_t proc = vmx_ctl.proc;
	int vector = vcpu_pending_irq(v);

	/* A spinning vCPU hands the CPU to a sibling (core/sched.c). */
	if (vmx_ctl.pause_exiting && v->vm->nr_vcpus > 1)
		proc |= PROC_PAUSE_EXITING;

	/* No interrupt while a debugger steps: the step would land in its
	 * handler. It stays pending; no window exit either. */
	if (to_vmx(v)->dbg_step) {
		vmwrite(VMCS_PROC_CONTROLS, proc | (vmx_has_mtf() ? PROC_MTF : 0));
		return;
	}
	if (vector >= 0 && !(vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID)) {
		bool open = (vmread(VMCS_GUEST_RFLAGS) & X86_RFLAGS_IF) &&
			    !(vmread(VMCS_GUEST_INTERRUPTIBILITY) &
			      (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS));

		if (open) {
			vmwrite(VMCS_ENTRY_INTR_INFO, (uint32_t)vector | INTR_TYPE_EXT |
				INTR_INFO_VALID);
			vcpu_ack_irq(v, (uint8_t)vector);
			vector = vcpu_pending_irq(v);
		}
	}
	if (vector >= 0)
		proc |= PROC_INTR_WINDOW;
	/* A blocked NMI waits for its own window, or without virtual NMIs
	 * for the interrupt window (vmx_inject_nmi). */
	if (v->nmi_pending)
		proc |= vmx_ctl.nmi_window ? PROC_NMI_WINDOW : PROC_INTR_WINDOW;
	if (to_vmx(v)->nmi_in_handler)
		proc |= PROC_NMI_WINDOW;
	vmwrite(VMCS_PROC_CONTROLS, proc);
}

/* The benchmark's floor: serve the exit with nothing but a RIP update. */
static bool vmx_bench_floor(struct vcpu *v)
{
	uint32_t reason = (uint32_t)vmread(VMCS_EXIT_REASON);
	bool match = (v->bench_floor_exit == HV_BENCH_EXIT_CPUID && reason == VMX_EXIT_CPUID) ||
		     (v->bench_floor_exit == HV_BENCH_EXIT_HYPERCALL &&
		      reason == VMX_EXIT_VMCALL);

	if (!v->bench_floor_left || !match)
		return false;
	v->bench_floor_left--;
	vmwrite(VMCS_GUEST_RIP, vmread(VMCS_GUEST_RIP) + v->bench_floor_len);
	return true;
}

static void vmx_read_exit(struct vmx_vcpu *x)
{
	x->exit = (struct vmx_exit_fields){
		.reason = (uint32_t)vmread(VMCS_EXIT_REASON),
		.qualification = vmread(VMCS_EXIT_QUALIFICATION),
		.intr_info = (uint32_t)vmread(VMCS_EXIT_INTR_INFO),
		.intr_error = (uint32_t)vmread(VMCS_EXIT_INTR_ERROR),
		.insn_len = (uint32_t)vmread(VMCS_EXIT_INSN_LEN),
		.gpa = vmread(VMCS_GUEST_PHYS_ADDR),
		.idt_vectoring = (uint32_t)vmread(VMCS_IDT_VECTORING_INFO),
	};
}

/* An event whose delivery the exit interrupted is delivered again
 * (SDM 3, 28.2.4 and 29.2.1). */
static void vmx_reinject(void)
{
	uint32_t info = (uint32_t)vmread(VMCS_IDT_VECTORING_INFO);

	if (!(info & INTR_INFO_VALID))
		return;
	vmwrite(VMCS_ENTRY_INTR_INFO, info & ~(1u << 12));
	if (info & INTR_INFO_ERROR_VALID)
		vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, vmread(VMCS_IDT_VECTORING_ERROR));
	vmwrite(VMCS_ENTRY_INSN_LEN, vmread(VMCS_EXIT_INSN_LEN));
}

/* A fault in the middle of an IRET that had already ended the virtual-NMI
 * blocking: the IRET runs again after the fault, so the blocking must come
 * back first (SDM 3, 27.2.3, "NMI unblocking due to IRET"). The bit is
 * believed only with RIP still at an IRET: Bochs 2.7 clears its flag at
 * the next VM exit, not when the IRET completes, and so reports it on
 * whatever exit follows; taken as is, it blocked NMIs until some later
 * IRET (kvm-unit-tests' eventinj saw its NMI late). */
static void vmx_iret_nmi_blocking(struct vcpu *v, const struct vmx_vcpu *x)
{
	const uint32_t unblocked = 1u << 12;
	uint32_t reason = x->exit.reason & 0xffff;
	bool fault = reason == VMX_EXIT_EXCEPTION_NMI && (x->exit.intr_info & INTR_INFO_VALID) &&
		     (x->exit.intr_info & unblocked) && (x->exit.intr_info & 0xff) != X86_EXC_DF;
	struct fetched_insn f;

	/* Cheap tests first: this runs on every exit. */
	if (!vmx_ctl.nmi_window ||
	    (!fault && !(reason == VMX_EXIT_EPT_VIOLATION && (x->exit.qualification & unblocked))) ||
	    (vmread(VMCS_IDT_VECTORING_INFO) & INTR_INFO_VALID))
		return;
	if (guest_fetch_insn(v, &f) || f.insn.map != X86_MAP_1B || f.insn.opcode != 0xcf)
		return;
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, vmread(VMCS_GUEST_INTERRUPTIBILITY) |
		INTERRUPTIBILITY_NMI);
}

static void vmx_run(struct vcpu *v, struct exit_info *e)
{
	struct vmx_vcpu *x = to_vmx(v);
	int failed;

	vmx_load(v);
	vmx_switch_lazy_state(v);
	if (this_cpu()->flush_nested) {
		this_cpu()->flush_nested = false;
		vmx_invept_all();
	}
	if (v->flush_tlb) {
		v->flush_tlb = false;
		vmx_flush_vpid(x->vpid);
	}
	vmx_inject_nmi(v);
	vmx_offer_irq(v);
	/* A guest that turned paging on with EFER.LME set is in IA-32e mode
	 * now; the entry control must say so (SDM 3, 27.3.1.1). */
	vmwrite(VMCS_ENTRY_CONTROLS, vmread(VMCS_GUEST_EFER) & EFER_LMA ?
		vmx_ctl.entry | ENTRY_IA32E_MODE : vmx_ctl.entry);
	vmwrite(VMCS_GUEST_RSP, v->regs.gpr[GPR_RSP]);
	vmwrite(VMCS_TSC_OFFSET, v->vm->tsc_offset);
	/* Bochs was seen not to exit for the host timer while the guest spins
	 * with interrupts off (a Linux AP waiting for its BSP froze the whole
	 * machine): the preemption timer ends every run within PREEMPT_MS. */
	if (vmx_ctl.pin & PIN_PREEMPT_TIMER)
		vmwrite(VMCS_PREEMPT_TIMER, (ms_to_tsc(PREEMPT_MS) >> preempt_shift) ?: 1);
	guest_enter(v);
	do {
		failed = vmx_vmenter(v, x->launched);
		x->launched |= !failed;
	} while (!failed && vmx_bench_floor(v));
	/* A host interrupt that made the guest exit is taken here. */
	__asm__ volatile("sti; nop; cli" ::: "memory");
	/* Still ours until guest_exit serves another CPU's claim. */
	if (!failed)
		v->regs.gpr[GPR_RSP] = vmread(VMCS_GUEST_RSP);
	if (!guest_exit(v)) {
		*e = (struct exit_info){ .reason = EXIT_NONE };
		return;
	}
	vmx_load(v);    /* another CPU may have claimed it meanwhile */
	if (failed) {
		x->insn_error = (uint32_t)vmread(VMCS_INSN_ERROR);
		*e = (struct exit_info){ .reason = EXIT_ENTRY_FAILED, .raw = x->insn_error,
			.raw_name = vmx_insn_error_name(x->insn_error) };
		return;
	}
	vmx_read_exit(x);
	if (x->nmi_in_handler && (x->exit.reason & 0xffff) == VMX_EXIT_NMI_WINDOW) {
		x->nmi_in_handler = false;
		vcpu_nmi_done(v);
	}
	vmx_iret_nmi_blocking(v, x);
	vmx_reinject();
	vmx_decode_exit(&x->exit, e);
}

/* VM-entry interruption information and IDT-vectoring information share
 * a layout (SDM 3, 25.8.3 and 25.9.3). */
_Static_assert(INTR_TYPE_EXT >> 8 == GUEST_EVENT_EXT_INT &&
	       INTR_TYPE_NMI >> 8 == GUEST_EVENT_NMI &&
	       INTR_TYPE_HW_EXCEPTION >> 8 == GUEST_EVENT_EXCEPTION &&
	       INTR_TYPE_SOFT_INT >> 8 == GUEST_EVENT_SOFT_INT &&
	       INTR_TYPE_PRIV_SOFT_EXCEPTION >> 8 == GUEST_EVENT_PRIV_SOFT_EXC &&
	       INTR_TYPE_SOFT_EXCEPTION >> 8 == GUEST_EVENT_SOFT_EXC,
	       "interruption types are the neutral ones");
static struct guest_event event_from_vmcs(uint32_t info, uint32_t error)
{
	return (struct guest_event){
		.valid = info & INTR_INFO_VALID, .has_error = info & INTR_INFO_ERROR_VALID,
		.type = (info & INTR_TYPE_MASK) >> 8, .vector = (uint8_t)info,
		.error = info & INTR_INFO_ERROR_VALID ? error : 0,
	};
}

static void vmx_read_events(struct vcpu *v, struct guest_events *ev)
{
	uint32_t intr;

	vmx_load(v);
	intr = (uint32_t)vmread(VMCS_GUEST_INTERRUPTIBILITY);
	*ev = (struct guest_events){
		.inject = event_from_vmcs((uint32_t)vmread(VMCS_ENTRY_INTR_INFO),
					  (uint32_t)vmread(VMCS_ENTRY_EXCEPTION_ERROR)),
		.interrupted = event_from_vmcs((uint32_t)vmread(VMCS_IDT_VECTORING_INFO),
					       (uint32_t)vmread(VMCS_IDT_VECTORING_ERROR)),
		.offered_irq = -1,
		.irq_window = vmread(VMCS_PROC_CONTROLS) & PROC_INTR_WINDOW,
		.shadow = intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS),
		.nmi_blocked = intr & INTERRUPTIBILITY_NMI,
	};
}

static void vmx_dump(struct vcpu *v)
{
	struct vmx_vcpu *x = to_vmx(v);
	struct vmx_guest_state g;
	char why[200];

	vmx_load(v);
	printk("VMCS exit: reason 0x%x qualification 0x%lx intr-info 0x%x idt-vectoring 0x%lx "
	       "insn-len %u\n", x->exit.reason, x->exit.qualification, x->exit.intr_info,
	       vmread(VMCS_IDT_VECTORING_INFO), x->exit.insn_len);
	printk("  controls: pin 0x%lx proc 0x%lx proc2 0x%lx exit 0x%lx entry 0x%lx vpid %u\n",
	       vmread(VMCS_PIN_CONTROLS), vmread(VMCS_PROC_CONTROLS), vmread(VMCS_PROC_CONTROLS2),
	       vmread(VMCS_EXIT_CONTROLS), vmread(VMCS_ENTRY_CONTROLS), x->vpid);
	if (x->insn_error)
		printk("  VM-instruction error %u: %s\n", x->insn_error,
		       vmx_insn_error_name(x->insn_error) ? vmx_insn_error_name(x->insn_error) : "?");
	vmx_read_guest_state(&g);
	if ((x->exit.reason & VMX_EXIT_REASON_ENTRY_FAILURE) || x->insn_error)
		printk("  guest-state check: %s\n",
		       vmx_check_guest_state(&g, &vmx_caps, why, sizeof(why)) ?: "no rule found "
		       "broken (see the emulator's log)");
}

const struct vendor_ops vmx_vendor_ops = {
	.name = "Intel VMX",
	.probe = vmx_probe,
	.cpu_enable = vmx_cpu_enable,
	.vm_init = vmx_vm_init,
	.flush_nested = vmx_flush_nested,
	.vcpu_init = vmx_vcpu_init,
	.vcpu_reset = vmx_vcpu_reset,
	.vcpu_put = vmx_vcpu_put,
	.read_sregs = vmx_read_sregs,
	.write_sregs = vmx_write_sregs,
	.init_events = vmx_init_events,
	.read_events = vmx_read_events,
	.get_cpl = vmx_get_cpl,
	.get_rflags = vmx_get_rflags,
	.run = vmx_run,
	.skip_insn = vmx_skip_insn,
	.inject_exception = vmx_inject_exception,
	.reflect_exception = vmx_reflect_exception,
	.set_guest_debug = vmx_set_guest_debug,
	.dump = vmx_dump,
	.hypercall_feature = 0,   /* VMCALL */
};
