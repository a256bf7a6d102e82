/*
 * VMX exit decoding: exit reason and qualification into struct exit_info,
 * through a table indexed by the basic exit reason. Reasons not in the
 * table come out as EXIT_UNHANDLED and stop the VM.
 */
#include <stddef.h>
#include <x86/debugreg.h>
#include "vmcs.h"
#include "vmx_exit.h"

typedef void vmx_decoder_fn(const struct vmx_exit_fields *f, struct exit_info *e);

struct vmx_exit_desc {
	const char *name;
	enum exit_reason reason;
	vmx_decoder_fn *decode;
	bool has_insn_len;    /* the exit is caused by an instruction (27.2.5) */
};

/* Exit qualification for I/O instructions (SDM 3, table 28-5). */
static void decode_io(const struct vmx_exit_fields *f, struct exit_info *e)
{
	uint64_t q = f->qualification;

	e->io.size = (uint8_t)((q & 7) + 1);
	e->io.in = q & (1u << 3);
	e->io.string = q & (1u << 4);
	e->io.rep = q & (1u << 5);
	e->io.port = (uint16_t)(q >> 16);
}

/* Exit qualification for EPT violations (SDM 3, table 28-7). */
static void decode_ept_violation(const struct vmx_exit_fields *f, struct exit_info *e)
{
	uint64_t q = f->qualification;

	e->npf.gpa = f->gpa;
	e->npf.read = q & (1u << 0);
	e->npf.write = q & (1u << 1);
	e->npf.fetch = q & (1u << 2);
	e->npf.present = q & (7u << 3);
	/* Bit 7: linear address valid; bit 8 clear then = during the walk. */
	e->npf.page_walk = (q & (1u << 7)) && !(q & (1u << 8));
	e->npf.in_delivery = f->idt_vectoring & INTR_INFO_VALID;
}

/* Control-register accesses (SDM 3, table 28-3): MOV to CR0 (the guest/host
 * mask) and MOV to or from CR8 are trapped; CLTS and LMSW are unexpected. */
#define CR_ACCESS_MOV_TO   0
#define CR_ACCESS_MOV_FROM 1

static void decode_cr_access(const struct vmx_exit_fields *f, struct exit_info *e)
{
	uint64_t q = f->qualification;
	unsigned type = (q >> 4) & 3;

	e->cr.cr = q & 0xf;
	e->cr.gpr = (q >> 8) & 0xf;
	if (type == CR_ACCESS_MOV_FROM)
		e->reason = EXIT_CR_READ;
	else if (type != CR_ACCESS_MOV_TO)
		e->reason = EXIT_UNHANDLED;
}

static void decode_exception(const struct vmx_exit_fields *f, struct exit_info *e)
{
	uint32_t type = f->intr_info & INTR_TYPE_MASK;

	e->exc.vector = (uint8_t)f->intr_info;
	e->exc.has_error = f->intr_info & INTR_INFO_ERROR_VALID;
	e->exc.error = e->exc.has_error ? f->intr_error : 0;
	e->exc.cr2 = e->exc.vector == 14 ? f->qualification : 0;
	/* #DB: the qualification has the DR6 bits the exit kept out of DR6
	 * (SDM 3, table 28-1). Bochs adds BS whenever TF is set: to ICEBP's
	 * #DB, which takes the place of the step, and to a general-detect
	 * fault, raised before its instruction ran (one in a MOV SS shadow
	 * ends the step the shadow deferred). Neither is a single step, and
	 * hardware reports none (kvm-unit-tests' debug). */
	e->exc.dr6_bits = e->exc.vector == 1 ? f->qualification & DR6_TRAP_BITS : 0;
	if (type == INTR_TYPE_PRIV_SOFT_EXCEPTION || (e->exc.dr6_bits & DR6_BD))
		e->exc.dr6_bits &= ~DR6_BS;
	/* ICEBP, and INT3 (intercepted only for a debugger): their lengths. */
	if (type == INTR_TYPE_PRIV_SOFT_EXCEPTION || type == INTR_TYPE_SOFT_EXCEPTION)
		e->exc.soft_len = (uint8_t)f->insn_len;
	/* A physical NMI arrives here too (pin-based NMI exiting): it is the
	 * host's, and the guest goes on (review R4). */
	if (type == INTR_TYPE_NMI) {
		e->reason = EXIT_NONE;
		e->raw_name = "NMI";
	}
}

/* The monitor trap flag is set only for a debugger's single step
 * (GUEST_DEBUG_STEP): its exit (SDM 3, 26.5.2) goes to it as the #DB a
 * step with TF would raise. */
static void decode_mtf(const struct vmx_exit_fields *f, struct exit_info *e)
{
	(void)f;
	e->exc = (struct exit_exception){ .vector = 1 };
}

static const struct vmx_exit_desc vmx_exits[] = {
	[VMX_EXIT_EXCEPTION_NMI]  = { "EXCEPTION", EXIT_EXCEPTION, decode_exception, false },
	[VMX_EXIT_EXT_INTR]       = { "EXTERNAL_INTERRUPT", EXIT_INTR, NULL, false },
	[VMX_EXIT_PREEMPT_TIMER]  = { "PREEMPTION_TIMER", EXIT_INTR, NULL, false },
	[VMX_EXIT_TRIPLE_FAULT]   = { "TRIPLE_FAULT", EXIT_SHUTDOWN, NULL, false },
	[VMX_EXIT_INIT]           = { "INIT", EXIT_UNHANDLED, NULL, false },
	[VMX_EXIT_SIPI]           = { "SIPI", EXIT_UNHANDLED, NULL, false },
	[VMX_EXIT_INTR_WINDOW]    = { "INTERRUPT_WINDOW", EXIT_IRQ_WINDOW, NULL, false },
	[VMX_EXIT_NMI_WINDOW]     = { "NMI_WINDOW", EXIT_IRQ_WINDOW, NULL, false },
	[VMX_EXIT_CPUID]          = { "CPUID", EXIT_CPUID, NULL, true },
	[VMX_EXIT_GETSEC]         = { "GETSEC", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_HLT]            = { "HLT", EXIT_HLT, NULL, true },
	[VMX_EXIT_INVD]           = { "INVD", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_VMCALL]         = { "VMCALL", EXIT_HYPERCALL, NULL, true },
	[VMX_EXIT_VMCLEAR]        = { "VMCLEAR", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_VMLAUNCH]       = { "VMLAUNCH", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_VMPTRLD]        = { "VMPTRLD", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_VMPTRST]        = { "VMPTRST", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_VMREAD]         = { "VMREAD", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_VMRESUME]       = { "VMRESUME", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_VMWRITE]        = { "VMWRITE", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_VMXOFF]         = { "VMXOFF", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_VMXON]          = { "VMXON", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_CR_ACCESS]      = { "CR_ACCESS", EXIT_CR_WRITE, decode_cr_access, true },
	[VMX_EXIT_IO]             = { "IO", EXIT_IO, decode_io, true },
	[VMX_EXIT_RDMSR]          = { "RDMSR", EXIT_MSR_READ, NULL, true },
	[VMX_EXIT_WRMSR]          = { "WRMSR", EXIT_MSR_WRITE, NULL, true },
	[VMX_EXIT_MWAIT]          = { "MWAIT", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_MONITOR]        = { "MONITOR", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_MTF]            = { "MONITOR_TRAP_FLAG", EXIT_EXCEPTION, decode_mtf, false },
	[VMX_EXIT_EPT_VIOLATION]  = { "EPT_VIOLATION", EXIT_NPF, decode_ept_violation, false },
	[VMX_EXIT_EPT_MISCONFIG]  = { "EPT_MISCONFIG", EXIT_UNHANDLED, NULL, false },
	[VMX_EXIT_INVEPT]         = { "INVEPT", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_INVVPID]        = { "INVVPID", EXIT_UNHANDLED, NULL, true },
	[VMX_EXIT_XSETBV]         = { "XSETBV", EXIT_XSETBV, NULL, true },
	[VMX_EXIT_WBINVD]         = { "WBINVD", EXIT_WBINVD, NULL, true },
	[VMX_EXIT_RDPMC]          = { "RDPMC", EXIT_RDPMC, NULL, true },
	[VMX_EXIT_PAUSE]          = { "PAUSE", EXIT_PAUSE, NULL, true },
};

#define NR_VMX_EXITS (sizeof(vmx_exits) / sizeof(vmx_exits[0]))

static const char *entry_failure_name(uint32_t basic)
{
	switch (basic) {
	case VMX_EXIT_INVALID_GUEST_STATE: return "ENTRY_FAILURE_GUEST_STATE";
	case VMX_EXIT_MSR_LOADING:         return "ENTRY_FAILURE_MSR_LOADING";
	case VMX_EXIT_MCE_DURING_ENTRY:    return "ENTRY_FAILURE_MACHINE_CHECK";
	default:                           return "ENTRY_FAILURE";
	}
}

void vmx_decode_exit(const struct vmx_exit_fields *f, struct exit_info *e)
{
	uint32_t basic = f->reason & 0xffff;
	const struct vmx_exit_desc *d = basic < NR_VMX_EXITS ? &vmx_exits[basic] : NULL;

	*e = (struct exit_info){ .reason = EXIT_UNHANDLED, .raw = f->reason };
	if (f->reason & VMX_EXIT_REASON_ENTRY_FAILURE) {
		e->reason = EXIT_ENTRY_FAILED;
		e->raw_name = entry_failure_name(basic);
		return;
	}
	if (!d || !d->name)
		return;
	e->raw_name = d->name;
	e->reason = d->reason;
	if (d->has_insn_len)
		e->insn_len = (uint8_t)f->insn_len;
	if (d->decode)
		d->decode(f, e);
}
