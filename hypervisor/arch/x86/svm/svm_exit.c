/*
 * SVM exit decoding: EXITCODE and EXITINFO1/2 into struct exit_info, through
 * a table indexed by exit code. Exit codes not in the table come out as
 * EXIT_UNHANDLED and stop the VM. Pure code (no hypervisor state), so the
 * host unit tests check it against hand-made VMCBs.
 */
#include <core/exit.h>
#include "vmcb.h"

typedef void svm_decoder_fn(const struct vmcb *vmcb, struct exit_info *e);

struct svm_exit_desc {
	const char *name;
	enum exit_reason reason;
	svm_decoder_fn *decode;     /* fills the reason-specific fields */
};

static void decode_ioio(const struct vmcb *vmcb, struct exit_info *e)
{
	uint64_t info = vmcb->control.exit_info_1;

	e->io.port = (uint16_t)(info >> IOIO_PORT_SHIFT);
	e->io.size = info & IOIO_SZ32 ? 4 : info & IOIO_SZ16 ? 2 : 1;
	e->io.in = info & IOIO_TYPE_IN;
	e->io.string = info & IOIO_STR;
	e->io.rep = info & IOIO_REP;
	/* EXITINFO2 is the RIP of the next instruction (APM 2, 15.10.2). */
	e->insn_len = (uint8_t)(vmcb->control.exit_info_2 - vmcb->save.rip);
}

static void decode_msr(const struct vmcb *vmcb, struct exit_info *e)
{
	e->reason = vmcb->control.exit_info_1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
}

static void decode_npf(const struct vmcb *vmcb, struct exit_info *e)
{
	uint64_t code = vmcb->control.exit_info_1;

	e->npf.gpa = vmcb->control.exit_info_2;
	e->npf.present = code & NPF_P;
	e->npf.write = code & NPF_RW;
	e->npf.fetch = code & NPF_ID;
	e->npf.read = !e->npf.write && !e->npf.fetch;
	e->npf.page_walk = code & NPF_GUEST_TABLES;
	e->npf.in_delivery = vmcb->control.exit_int_info & EVENT_VALID;
}

static void decode_exception(const struct vmcb *vmcb, struct exit_info *e)
{
	uint8_t vector = (uint8_t)(vmcb->control.exit_code - SVM_EXIT_EXCP_BASE);

	e->exc.vector = vector;
	/* Vectors that push an error code (SDM vol. 3, 6.15). */
	e->exc.has_error = vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 ||
			   vector == 21 || vector == 29 || vector == 30;
	e->exc.error = e->exc.has_error ? (uint32_t)vmcb->control.exit_info_1 : 0;
	e->exc.cr2 = vector == 14 ? vmcb->control.exit_info_2 : 0;
	/* An intercepted INT3 leaves RIP at itself, as KVM's SVM code relies
	 * on: its length is needed to give it back. */
	e->exc.soft_len = vector == 3 ? 1 : 0;
}

/* The GPR comes from the instruction (svm.c): TCG has no decode assists. */
static void decode_cr4_write(const struct vmcb *vmcb, struct exit_info *e)
{
	(void)vmcb;
	e->cr.cr = 4;
}

static const struct svm_exit_desc svm_exits[] = {
	/* CR4 checks against the guest's CPUID, not the CPU's (core/exit.c). */
	[SVM_EXIT_WRITE_CR4]      = { "WRITE_CR4", EXIT_CR_WRITE, decode_cr4_write },
	/* Every vector in GUEST_EXCEPTION_INTERCEPTS (x86/vendor.h). */
	[SVM_EXIT_EXCP_BASE + 1]  = { "#DB",      EXIT_EXCEPTION, decode_exception },
	/* Only while a debugger has breakpoints in the guest (GUEST_DEBUG_BP). */
	[SVM_EXIT_EXCP_BASE + 3]  = { "#BP",      EXIT_EXCEPTION, decode_exception },
	[SVM_EXIT_EXCP_BASE + 6]  = { "#UD",      EXIT_EXCEPTION, decode_exception },
	[SVM_EXIT_EXCP_BASE + 17] = { "#AC",      EXIT_EXCEPTION, decode_exception },
	[SVM_EXIT_EXCP_BASE + 18] = { "#MC",      EXIT_EXCEPTION, decode_exception },
	[SVM_EXIT_INTR]       = { "INTR",     EXIT_INTR,      NULL },
	/* A physical NMI, SMI or INIT is the host's, not the guest's: the NMI
	 * stays pending (GIF = 0) and reaches the host's handler after STGI;
	 * SMI and INIT need nothing. None of them stops the guest (review R4). */
	[SVM_EXIT_NMI]        = { "NMI",      EXIT_NONE,      NULL },
	[SVM_EXIT_SMI]        = { "SMI",      EXIT_NONE,      NULL },
	[SVM_EXIT_INIT]       = { "INIT",     EXIT_NONE,      NULL },
	[SVM_EXIT_VINTR]      = { "VINTR",    EXIT_IRQ_WINDOW, NULL },
	[SVM_EXIT_CPUID]      = { "CPUID",    EXIT_CPUID,     NULL },
	/* Intercepted only to see the end of an NMI handler (svm.c). */
	[SVM_EXIT_IRET]       = { "IRET",     EXIT_NONE,      NULL },
	/* INT n, intercepted with GUEST_DEBUG_BP: QEMU's TCG reports INT3 so
	 * rather than as #BP. svm.c sorts INT3 from the others. */
	[SVM_EXIT_SWINT]      = { "SWINT",    EXIT_NONE,      NULL },
	[SVM_EXIT_INVD]       = { "INVD",     EXIT_UNHANDLED, NULL },
	[SVM_EXIT_PAUSE]      = { "PAUSE",    EXIT_PAUSE,     NULL },
	[SVM_EXIT_HLT]        = { "HLT",      EXIT_HLT,       NULL },
	[SVM_EXIT_INVLPGA]    = { "INVLPGA",  EXIT_UNHANDLED, NULL },
	[SVM_EXIT_IOIO]       = { "IOIO",     EXIT_IO,        decode_ioio },
	[SVM_EXIT_MSR]        = { "MSR",      EXIT_MSR_READ,  decode_msr },
	[SVM_EXIT_SHUTDOWN]   = { "SHUTDOWN", EXIT_SHUTDOWN,  NULL },
	[SVM_EXIT_VMRUN]      = { "VMRUN",    EXIT_UNHANDLED, NULL },
	[SVM_EXIT_VMMCALL]    = { "VMMCALL",  EXIT_HYPERCALL, NULL },
	[SVM_EXIT_VMLOAD]     = { "VMLOAD",   EXIT_UNHANDLED, NULL },
	[SVM_EXIT_VMSAVE]     = { "VMSAVE",   EXIT_UNHANDLED, NULL },
	[SVM_EXIT_STGI]       = { "STGI",     EXIT_UNHANDLED, NULL },
	[SVM_EXIT_CLGI]       = { "CLGI",     EXIT_UNHANDLED, NULL },
	[SVM_EXIT_SKINIT]     = { "SKINIT",   EXIT_UNHANDLED, NULL },
	[SVM_EXIT_MONITOR]    = { "MONITOR",  EXIT_UNHANDLED, NULL },
	[SVM_EXIT_MWAIT]      = { "MWAIT",    EXIT_UNHANDLED, NULL },
	[SVM_EXIT_MWAIT_COND] = { "MWAIT_COND", EXIT_UNHANDLED, NULL },
	[SVM_EXIT_XSETBV]     = { "XSETBV",   EXIT_XSETBV,    NULL },
	[SVM_EXIT_RDPRU]      = { "RDPRU",    EXIT_UD,        NULL },
	[SVM_EXIT_RDPMC]      = { "RDPMC",    EXIT_RDPMC,     NULL },
	[SVM_EXIT_WBINVD]     = { "WBINVD",   EXIT_WBINVD,    NULL },
};

#define NR_SVM_EXITS (sizeof(svm_exits) / sizeof(svm_exits[0]))

void svm_decode_exit(const struct vmcb *vmcb, struct exit_info *e)
{
	uint64_t code = vmcb->control.exit_code;
	const struct svm_exit_desc *d = code < NR_SVM_EXITS ? &svm_exits[code] : NULL;

	*e = (struct exit_info){ .reason = EXIT_UNHANDLED, .raw = code };
	if ((uint32_t)code == SVM_EXIT_INVALID) {
		e->reason = EXIT_ENTRY_FAILED;
		e->raw_name = "VMEXIT_INVALID";
		return;
	}
	if (code == SVM_EXIT_NPF) {
		e->reason = EXIT_NPF;
		e->raw_name = "NPF";
		decode_npf(vmcb, e);
		return;
	}
	if (!d || !d->name)
		return;
	e->raw_name = d->name;
	e->reason = d->reason;
	if (d->decode)
		d->decode(vmcb, e);
}
