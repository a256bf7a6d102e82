/*
 * Generic exit dispatch: one handler per exit reason, looked up in a table.
 * An exit without a handler stops its VM with a dump; nothing is skipped
 * silently.
 */
#include <core/handlers.h>
#include <core/sched.h>
#include <core/trace.h>
#include <core/watch.h>
#include <debug/gdb_stub.h>
#include <devices/lapic.h>
#include <lib/printk.h>
#include <stdarg.h>
#include <x86/debugreg.h>
#include <x86/fpu.h>
#include <x86/processor.h>
#include <x86/vendor.h>

typedef void exit_handler_fn(struct vcpu *v, struct exit_info *e);

static const char *const reason_names[NR_EXIT_REASONS] = {
	[EXIT_NONE] = "none", [EXIT_CPUID] = "cpuid", [EXIT_IO] = "io",
	[EXIT_MSR_READ] = "msr-read", [EXIT_MSR_WRITE] = "msr-write", [EXIT_HLT] = "hlt",
	[EXIT_HYPERCALL] = "hypercall", [EXIT_XSETBV] = "xsetbv", [EXIT_CR_WRITE] = "cr-write",
	[EXIT_CR_READ] = "cr-read", [EXIT_WBINVD] = "wbinvd", [EXIT_RDPMC] = "rdpmc",
	[EXIT_PAUSE] = "pause",
	[EXIT_UD] = "ud", [EXIT_NPF] = "npf", [EXIT_INTR] = "interrupt",
	[EXIT_IRQ_WINDOW] = "irq-window", [EXIT_EXCEPTION] = "exception",
	[EXIT_SHUTDOWN] = "shutdown", [EXIT_ENTRY_FAILED] = "entry-failed",
	[EXIT_UNHANDLED] = "unhandled",
};

const char *exit_reason_name(enum exit_reason r)
{
	return r < NR_EXIT_REASONS ? reason_names[r] : "?";
}

void exit_stop_vm(struct vcpu *v, const struct exit_info *e, const char *fmt, ...)
{
	char why[VM_STOP_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (e->reason == EXIT_UNHANDLED)
		printk("kestrel: vm %u (%s) vcpu %u: %s\n", v->vm->id, v->vm->name, v->id, why);
	else
		printk("kestrel: vm %u (%s) vcpu %u: %s (exit 0x%lx %s)\n", v->vm->id,
		       v->vm->name, v->id, why, e->raw, e->raw_name ? e->raw_name : "");
	vendor->dump(v);
	vcpu_print_regs(v);
	vm_stop(v->vm, false, "%s", why);
}

/* An emulated instruction has completed: with RFLAGS.TF set, the
 * single-step trap it raises on hardware is due now (SDM 3, 18.3.1.4),
 * or a debugger stepping the guest would step over it unseen. */
void exit_complete_insn(struct vcpu *v, unsigned len)
{
	vendor->skip_insn(v, len);
	/* Ours, not the guest's: a step over an execute-watched instruction
	 * (tested here first: every emulated instruction passes), or gdb's. */
	if ((v->exec_step.on && watch_step_done(v)) || gdb_stub_step_done(v))
		return;
	if (vendor->get_rflags(v) & X86_RFLAGS_TF) {
		debugreg_set_dr6(v, debugreg_get_dr6(v) | DR6_BS);
		vendor->inject_exception(v, X86_EXC_DB, false, 0);
	}
}

bool exit_skip_insn(struct vcpu *v, const struct exit_info *e)
{
	if (!e->insn_len) {
		exit_stop_vm(v, e, "cannot decode the instruction that caused a %s exit",
			     exit_reason_name(e->reason));
		return false;
	}
	exit_complete_insn(v, e->insn_len);
	return true;
}

static void handle_nothing(struct vcpu *v, struct exit_info *e)
{
	(void)v;
	(void)e;
}

static bool vm_all_parked(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->state != VCPU_PARKED && vm->vcpus[i]->state != VCPU_WAIT_SIPI)
			return false;
	return true;
}

/* HLT yields the rest of the slice. With interrupts disabled nothing can
 * wake the vCPU, so it is parked for good (the VM may still run others);
 * once every vCPU is (or waits for a start-up IPI nobody can send), the VM
 * is dead and is stopped (review R3: a panicked guest must not keep batch
 * mode waiting). */
static void handle_hlt(struct vcpu *v, struct exit_info *e)
{
	uint64_t rflags;

	if (!exit_skip_insn(v, e))
		return;
	rflags = vendor->get_rflags(v);
	if (v->nmi_pending || (vcpu_pending_irq(v) >= 0 && (rflags & X86_RFLAGS_IF)))
		return;
	v->state = rflags & X86_RFLAGS_IF ? VCPU_HALTED : VCPU_PARKED;
	if (vm_all_parked(v->vm))
		vm_stop(v->vm, false, "every vCPU halted with interrupts disabled");
}

/* XSETBV: #GP outside ring 0 (real CPUs check CPL before the exit, Bochs
 * after it) and for values the CPU would refuse (SDM 2B, XSETBV). */
static void handle_xsetbv(struct vcpu *v, struct exit_info *e)
{
	const uint64_t *g = v->regs.gpr;
	uint64_t value = (uint32_t)g[GPR_RAX] | (g[GPR_RDX] << 32);

	if (vendor->get_cpl(v) != 0 || !fpu_set_xcr0(v, (uint32_t)g[GPR_RCX], value)) {
		vendor->inject_exception(v, X86_EXC_GP, true, 0);
		return;
	}
	exit_skip_insn(v, e);
}

/* MOV to CR0 that the backend had to trap (VMX keeps CR0.NE set under the
 * guest). Paging on with EFER.LME set enters IA-32e mode, paging off leaves
 * it (SDM 3, 9.8.5), but only from compatibility mode: clearing PG in
 * 64-bit mode raises #GP (SDM 2, MOV to CR0), as do the invalid values. */
static void handle_cr0_write(struct vcpu *v, struct exit_info *e, uint64_t val)
{
	struct guest_sregs s;

	vendor->read_sregs(v, &s);
	if ((val >> 32) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
	    ((val & X86_CR0_NW) && !(val & X86_CR0_CD)) ||
	    (!(val & X86_CR0_PG) && (s.efer & EFER_LMA) && (s.cs.attr & SEG_ATTR_L))) {
		vendor->inject_exception(v, X86_EXC_GP, true, 0);
		return;
	}
	s.cr0 = val | X86_CR0_ET;
	if ((val & X86_CR0_PG) && (s.efer & EFER_LME))
		s.efer |= EFER_LMA;
	else if (!(val & X86_CR0_PG))
		s.efer &= ~EFER_LMA;
	vendor->write_sregs(v, &s);
	exit_skip_insn(v, e);
}

/* The CR4 bits of the features the guest's CPUID offers; the others are
 * reserved to it (SDM 3, 2.5; APM 2, 3.1.3), whatever the host has. */
static uint64_t cr4_allowed(struct vcpu *v)
{
	struct cpuid_regs l1 = cpuid_guest(v, 1, 0), l7 = cpuid_guest(v, 7, 0);
	uint64_t ok = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE |
		      X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR |
		      X86_CR4_OSXMMEXCPT;
	static const struct { uint8_t reg, bit; uint64_t cr4; } by_cpuid[] = {
		{ 0, 17, X86_CR4_PCIDE },   { 0, 26, X86_CR4_OSXSAVE },  /* leaf 1 ECX */
		{ 1, 0, X86_CR4_FSGSBASE }, { 1, 7, X86_CR4_SMEP },      /* leaf 7 EBX */
		{ 1, 20, X86_CR4_SMAP },
		{ 2, 2, X86_CR4_UMIP },     { 2, 3, X86_CR4_PKE },       /* leaf 7 ECX */
		{ 2, 7, X86_CR4_CET },      { 2, 16, X86_CR4_LA57 },
		{ 2, 31, X86_CR4_PKS },
	};
	const uint32_t regs[] = { l1.ecx, l7.ebx, l7.ecx };

	for (unsigned i = 0; i < sizeof(by_cpuid) / sizeof(by_cpuid[0]); i++)
		if (regs[by_cpuid[i].reg] >> by_cpuid[i].bit & 1)
			ok |= by_cpuid[i].cr4;
	return ok;
}

/* MOV to CR4, as SDM 2 (MOV) and APM 3 (MOV CRn) fault it: reserved bits;
 * in IA-32e mode clearing PAE or changing LA57; PCIDE set outside IA-32e
 * mode or with CR3[11:0] not zero; CET with CR0.WP clear. SVM traps every
 * write (its MOV CR4 checks only the host CPU's features), VMX only the
 * VMXE bit, which is never offered. */
static void handle_cr4_write(struct vcpu *v, struct exit_info *e, uint64_t val)
{
	struct guest_sregs s;
	bool lma;

	vendor->read_sregs(v, &s);
	lma = s.efer & EFER_LMA;
	if ((val & ~cr4_allowed(v)) ||
	    (lma && (!(val & X86_CR4_PAE) || ((val ^ s.cr4) & X86_CR4_LA57))) ||
	    ((val & X86_CR4_PCIDE) && !(s.cr4 & X86_CR4_PCIDE) && (!lma || (s.cr3 & 0xfff))) ||
	    ((val & X86_CR4_CET) && !(s.cr0 & X86_CR0_WP))) {
		vendor->inject_exception(v, X86_EXC_GP, true, 0);
		return;
	}
	s.cr4 = val;
	vendor->write_sregs(v, &s);
	exit_skip_insn(v, e);
}

/* CR8 is the local APIC's TPR[7:4] (SDM 3, 10.8.6.1); bits 63:4 are
 * reserved (#GP). VMX traps it, or the guest would write the physical
 * APIC's TPR and mask the host's own timer (security review finding 1). */
static void handle_cr_write(struct vcpu *v, struct exit_info *e)
{
	uint64_t val = v->regs.gpr[e->cr.gpr];

	if (e->cr.cr == 0) {
		handle_cr0_write(v, e, val);
		return;
	}
	if (e->cr.cr == 4) {
		handle_cr4_write(v, e, val);
		return;
	}
	if (e->cr.cr != 8) {
		exit_stop_vm(v, e, "MOV to CR%u is not emulated", e->cr.cr);
		return;
	}
	if (val >> 4) {
		vendor->inject_exception(v, X86_EXC_GP, true, 0);
		return;
	}
	lapic_write_cr8(v, (uint8_t)val);
	exit_skip_insn(v, e);
}

static void handle_cr_read(struct vcpu *v, struct exit_info *e)
{
	if (e->cr.cr != 8) {
		exit_stop_vm(v, e, "MOV from CR%u is not emulated", e->cr.cr);
		return;
	}
	if (exit_skip_insn(v, e))
		v->regs.gpr[e->cr.gpr] = lapic_read_cr8(v);
}

/* WBINVD would flush every other VM's cache lines on the shared CPU (a
 * noisy neighbour, review S4). Guest memory is write-back and no device
 * does DMA, so there is nothing to write back for the guest: skip it. */
static void handle_wbinvd(struct vcpu *v, struct exit_info *e)
{
	exit_skip_insn(v, e);
}

/* A vCPU spinning with PAUSE waits for another vCPU of its VM (a lock's
 * holder, an answer to its IPI), which on the one physical CPU may not be
 * running: let one run (core/sched.c). */
static void handle_pause(struct vcpu *v, struct exit_info *e)
{
	if (exit_skip_insn(v, e))
		sched_pause_spin(v);
}

/* No PMU is advertised (docs/cpu-model.md), so every counter index is
 * invalid: #GP (SDM 2B, RDPMC). Left alone, RDPMC would read whatever the
 * firmware left counting on the physical CPU. */
static void handle_rdpmc(struct vcpu *v, struct exit_info *e)
{
	(void)e;
	vendor->inject_exception(v, X86_EXC_GP, true, 0);
}

/* An instruction CPUID does not advertise to the guest (RDPRU, which would
 * read the host's APERF/MPERF): #UD, as on a CPU without it. */
static void handle_ud(struct vcpu *v, struct exit_info *e)
{
	(void)e;
	vendor->inject_exception(v, X86_EXC_UD, false, 0);
}

/* Exceptions are intercepted only to observe them: give them back, unless
 * they are the gdb stub's (its INT3s and single steps). A #DB that VMX
 * intercepted has not updated DR6 yet (SDM 3, 28.1): do it as its
 * delivery would have, BD and BS staying set if software set them. */
static void handle_exception(struct vcpu *v, struct exit_info *e)
{
	if (e->exc.vector < 32)
		v->stats.exceptions[e->exc.vector]++;
	if (e->exc.vector == X86_EXC_DB && watch_step_done(v))
		return;
	if ((e->exc.vector == X86_EXC_BP || e->exc.vector == X86_EXC_DB) &&
	    gdb_stub_exception(v, &e->exc))
		return;
	if (e->exc.vector == X86_EXC_DB && e->exc.dr6_bits)
		debugreg_set_dr6(v, (debugreg_get_dr6(v) & ~DR6_B0_B3) | e->exc.dr6_bits);
	vendor->reflect_exception(v, &e->exc);
}

static void handle_shutdown(struct vcpu *v, struct exit_info *e)
{
	exit_stop_vm(v, e, "triple fault (shutdown)");
}

static void handle_entry_failed(struct vcpu *v, struct exit_info *e)
{
	exit_stop_vm(v, e, "the CPU refused the guest state on entry");
}

static void handle_unhandled(struct vcpu *v, struct exit_info *e)
{
	exit_stop_vm(v, e, "unhandled exit 0x%lx (%s)", e->raw,
		     e->raw_name ? e->raw_name : "unknown");
}

static exit_handler_fn *const exit_handlers[NR_EXIT_REASONS] = {
	[EXIT_NONE]         = handle_nothing,
	[EXIT_CPUID]        = handle_cpuid,
	[EXIT_IO]           = handle_io,
	[EXIT_MSR_READ]     = handle_msr_read,
	[EXIT_MSR_WRITE]    = handle_msr_write,
	[EXIT_HLT]          = handle_hlt,
	[EXIT_HYPERCALL]    = handle_hypercall,
	[EXIT_XSETBV]       = handle_xsetbv,
	[EXIT_CR_WRITE]     = handle_cr_write,
	[EXIT_CR_READ]      = handle_cr_read,
	[EXIT_WBINVD]       = handle_wbinvd,
	[EXIT_RDPMC]        = handle_rdpmc,
	[EXIT_PAUSE]        = handle_pause,
	[EXIT_UD]           = handle_ud,
	[EXIT_NPF]          = handle_npf,
	[EXIT_INTR]         = handle_nothing,    /* taken by the host after the exit */
	[EXIT_IRQ_WINDOW]   = handle_nothing,    /* the backend injects on entry */
	[EXIT_EXCEPTION]    = handle_exception,
	[EXIT_SHUTDOWN]     = handle_shutdown,
	[EXIT_ENTRY_FAILED] = handle_entry_failed,
	[EXIT_UNHANDLED]    = handle_unhandled,
};

/* Out of line, so that without a trace the dispatcher stays a tail call
 * with no frame of its own (make bench, "trace"). */
static void __attribute__((noinline)) dispatch_traced(struct vcpu *v, struct exit_info *e,
						      exit_handler_fn *fn)
{
	struct trace_rec *t = trace_exit(v, e);

	fn(v, e);
	trace_exit_done(t);
}

void exit_dispatch(struct vcpu *v, struct exit_info *e)
{
	exit_handler_fn *fn = e->reason < NR_EXIT_REASONS ? exit_handlers[e->reason] : NULL;

	v->stats.total++;
	if (e->reason < NR_EXIT_REASONS)
		v->stats.exits[e->reason]++;
	if (!fn)
		fn = handle_unhandled;
	if (trace_active())
		dispatch_traced(v, e, fn);
	else
		fn(v, e);
}
