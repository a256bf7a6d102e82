/*
 * VMX pure logic: control selection from capability MSRs read off Bochs 2.7's
 * CPU models (printed by Kestrel at start-up), exit decoding, and the
 * guest-state checker that names the rule an entry failure broke.
 */
// UNIT-SOURCES: hypervisor/arch/x86/vmx/vmx_caps.c hypervisor/arch/x86/vmx/vmx_check.c hypervisor/arch/x86/vmx/vmx_exit.c
#include <string.h>
#include "../../hypervisor/arch/x86/vmx/vmcs.h"
#include "../../hypervisor/arch/x86/vmx/vmx_caps.h"
#include "../../hypervisor/arch/x86/vmx/vmx_exit.h"
#include "unit.h"

#define CR0_FIXED0 0x80000021ull   /* PE, NE, PG */
#define CR4_FIXED0 0x2000ull       /* VMXE */

struct model {
	const char *name;
	struct vmx_caps caps;
};

/* basic, pin, proc, proc2, exit, entry (TRUE_ values where basic[55] is set),
 * then fixed CR0/CR4 and IA32_VMX_EPT_VPID_CAP, as Bochs 2.7 reports them. */
#define MODEL(n, b, pin, proc, proc2, exit, entry, ept) \
	{ n, { b, pin, proc, proc2, exit, entry, CR0_FIXED0, 0xffffffff, CR4_FIXED0, 0x3727ff, ept } }

static const struct model bochs_models[] = {
	MODEL("corei7_skylake_x", 0xd810000000002bull, 0x7f00000016ull, 0xf7f9fffe04006172ull,
	      0x2177fff00000000ull, 0x7fffff00036dfbull, 0xffff000011fbull, 0xf0106334141ull),
	MODEL("corei7_haswell_4770", 0xd810000000002bull, 0x7f00000016ull, 0xf7f9fffe04006172ull,
	      0x47fff00000000ull, 0x7fffff00036dfbull, 0xffff000011fbull, 0xf0106334141ull),
	MODEL("corei7_icelake_u", 0xd8100000000004ull, 0x7f00000016ull, 0xfff9fffe04006172ull,
	      0x2977fff00000000ull, 0x7fffff00036dfbull, 0xffff000011fbull, 0xf0106334141ull),
	MODEL("tigerlake", 0x1d8100000000004ull, 0x7f00000016ull, 0xfff9fffe04006172ull,
	      0x2977fff00000000ull, 0x107fffff00036dfbull, 0x10ffff000011fbull, 0xf0106b34141ull),
};

static const struct model penryn =
	MODEL("core2_penryn_t9600", 0xd810000000002bull, 0x3f00000016ull, 0xf7f9fffe04006172ull,
	      0x4100000000ull, 0x3ffff00036dfbull, 0x3fff000011fbull, 0);

static void test_adjust(void)
{
	uint32_t missing;

	/* Must-be-one bits come in, bits that may not be one go out. */
	CHECK_EQ(vmx_adjust(0x000000ff00000016ull, 0x1, 0x80, &missing), 0x97);
	CHECK_EQ(missing, 0);
	CHECK_EQ(vmx_adjust(0x0000000f00000006ull, 0x11, 0x20, &missing), 0x7);
	CHECK_EQ(missing, 0x10);
}

static void test_bochs_models(void)
{
	for (unsigned i = 0; i < sizeof(bochs_models) / sizeof(bochs_models[0]); i++) {
		const struct model *m = &bochs_models[i];
		struct vmx_controls c;
		char why[160] = "";

		CHECK_MSG(vmx_choose_controls(&m->caps, &c, why, sizeof(why)) == 0, "%s: %s",
			  m->name, why);
		CHECK(c.pin & PIN_EXT_INTR_EXITING);
		CHECK(c.pin & PIN_NMI_EXITING);
		CHECK(c.pin & PIN_PREEMPT_TIMER);               /* every run is bounded */
		CHECK((c.pin & 0x16) == 0x16);                 /* default-1 bits kept */
		CHECK(c.proc & PROC_HLT_EXITING);
		CHECK(c.proc & PROC_UNCOND_IO);
		CHECK(c.proc & PROC_SECONDARY);
		CHECK(!(c.proc & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING)));
		CHECK(!(c.proc & PROC_INTR_WINDOW));           /* only on demand */
		/* MOV CR8 must exit: no TPR shadow, so it would reach the real
		 * APIC (security review finding 1). */
		CHECK(c.proc & PROC_CR8_LOAD_EXITING);
		CHECK(c.proc & PROC_CR8_STORE_EXITING);
		CHECK(!(c.proc & PROC_TPR_SHADOW));
		/* The guest's DR7 is saved and loaded (finding 9). */
		CHECK(c.exit & EXIT_SAVE_DEBUG);
		CHECK(c.entry & ENTRY_LOAD_DEBUG);
		CHECK(c.proc2 & PROC2_EPT);
		CHECK(c.vpid && c.unrestricted && c.ept_2m);
		CHECK(c.exit & EXIT_HOST_64BIT);
		CHECK(c.entry & ENTRY_LOAD_EFER);
		CHECK(!(c.entry & ENTRY_IA32E_MODE));          /* chosen per entry */
		/* Nothing outside the allowed 1-settings. */
		CHECK_EQ(c.proc & ~(uint32_t)(m->caps.proc >> 32), 0);
		CHECK_EQ(c.proc2 & ~(uint32_t)(m->caps.proc2 >> 32), 0);
	}
	/* Page sizes follow IA32_VMX_EPT_VPID_CAP bits 16 and 17. */
	{
		struct vmx_caps caps = bochs_models[0].caps;
		struct vmx_controls c;
		char why[160];

		vmx_choose_controls(&caps, &c, why, sizeof(why));
		CHECK(c.ept_1g && c.ept_2m);
		caps.ept_vpid &= ~(EPT_CAP_1G | EPT_CAP_2M);
		vmx_choose_controls(&caps, &c, why, sizeof(why));
		CHECK(!c.ept_1g && !c.ept_2m);
	}
	/* Virtual NMIs and NMI-window exiting: taken together or not at all,
	 * and NMI-window exiting only on demand, never in the base controls. */
	{
		struct vmx_caps caps = bochs_models[0].caps;
		struct vmx_controls c;
		char why[160];

		vmx_choose_controls(&caps, &c, why, sizeof(why));
		CHECK(c.nmi_window && (c.pin & PIN_VIRTUAL_NMIS));
		CHECK(!(c.proc & PROC_NMI_WINDOW));
		caps.pin &= ~((uint64_t)PIN_VIRTUAL_NMIS << 32);
		vmx_choose_controls(&caps, &c, why, sizeof(why));
		CHECK(!c.nmi_window && !(c.pin & PIN_VIRTUAL_NMIS));
		caps = bochs_models[0].caps;
		caps.proc &= ~((uint64_t)PROC_NMI_WINDOW << 32);
		vmx_choose_controls(&caps, &c, why, sizeof(why));
		CHECK(!c.nmi_window);
	}
}

static void test_refusals(void)
{
	struct vmx_caps caps = bochs_models[0].caps;
	struct vmx_controls c;
	char why[160] = "";

	CHECK(vmx_choose_controls(&penryn.caps, &c, why, sizeof(why)) == -1);
	CHECK_MSG(strstr(why, "EPT") != NULL, "%s", why);
	/* Without TRUE_ controls CR3 exiting is forced on. */
	caps.proc |= PROC_CR3_LOAD_EXITING;
	CHECK(vmx_choose_controls(&caps, &c, why, sizeof(why)) == -1);
	CHECK_MSG(strstr(why, "CR3") != NULL, "%s", why);
	caps = bochs_models[0].caps;
	caps.ept_vpid &= ~EPT_CAP_WB;
	CHECK(vmx_choose_controls(&caps, &c, why, sizeof(why)) == -1);
	CHECK_MSG(strstr(why, "write-back") != NULL, "%s", why);
	caps = bochs_models[0].caps;
	caps.proc2 &= ~((uint64_t)PROC2_UNRESTRICTED << 32);
	CHECK(vmx_choose_controls(&caps, &c, why, sizeof(why)) == 0);
	CHECK(!c.unrestricted);
	CHECK(vmx_insn_error_name(7) && strstr(vmx_insn_error_name(7), "control"));
	CHECK(vmx_insn_error_name(14) == NULL);
	CHECK(vmx_insn_error_name(1000) == NULL);
}

static struct exit_info decode_during(uint32_t reason, uint64_t q, uint32_t intr, uint32_t len,
				      uint64_t gpa, uint32_t idt_vectoring)
{
	struct vmx_exit_fields f = { reason, q, intr, 0x11, len, gpa, idt_vectoring };
	struct exit_info e;

	memset(&e, 0xa5, sizeof(e));
	vmx_decode_exit(&f, &e);
	return e;
}

static struct exit_info decode(uint32_t reason, uint64_t q, uint32_t intr, uint32_t len,
			       uint64_t gpa)
{
	return decode_during(reason, q, intr, len, gpa, 0);
}

static void test_exit_decoding(void)
{
	/* out dx, al to 0x3f8: size 1, out, port in bits 31:16 (table 28-5). */
	struct exit_info e = decode(VMX_EXIT_IO, 0x3f80000, 0, 1, 0);

	CHECK_EQ(e.reason, EXIT_IO);
	CHECK_EQ(e.io.port, 0x3f8);
	CHECK_EQ(e.io.size, 1);
	CHECK(!e.io.in && !e.io.string && !e.io.rep);
	CHECK_EQ(e.insn_len, 1);
	e = decode(VMX_EXIT_IO, 0x1f00000 | 0x8 | 0x10 | 0x20 | 3, 0, 2, 0);
	CHECK(e.io.in && e.io.string && e.io.rep);
	CHECK_EQ(e.io.size, 4);
	e = decode(VMX_EXIT_CPUID, 0, 0, 2, 0);
	CHECK_EQ(e.reason, EXIT_CPUID);
	CHECK_EQ(e.insn_len, 2);
	CHECK_EQ(decode(VMX_EXIT_VMCALL, 0, 0, 3, 0).reason, EXIT_HYPERCALL);
	CHECK_EQ(decode(VMX_EXIT_RDMSR, 0, 0, 2, 0).reason, EXIT_MSR_READ);
	CHECK_EQ(decode(VMX_EXIT_WRMSR, 0, 0, 2, 0).reason, EXIT_MSR_WRITE);
	CHECK_EQ(decode(VMX_EXIT_HLT, 0, 0, 1, 0).reason, EXIT_HLT);
	CHECK_EQ(decode(VMX_EXIT_TRIPLE_FAULT, 0, 0, 0, 0).reason, EXIT_SHUTDOWN);
	CHECK_EQ(decode(VMX_EXIT_EXT_INTR, 0, 0, 0, 0).reason, EXIT_INTR);
	CHECK_EQ(decode(VMX_EXIT_INTR_WINDOW, 0, 0, 0, 0).reason, EXIT_IRQ_WINDOW);
	/* EPT violation: a write, entry not present, during the final access. */
	/* An EPT violation while delivering an event (IDT-vectoring valid, #GP):
	 * no instruction to emulate (review R1). */
	e = decode_during(VMX_EXIT_EPT_VIOLATION, 0x2 | 0x80 | 0x100, 0, 0, 0xfee00000,
			  0x80000b0d);
	CHECK(e.npf.in_delivery);
	e = decode(VMX_EXIT_EPT_VIOLATION, 0x2 | 0x80 | 0x100, 0, 0, 0xfee00300);
	CHECK(!e.npf.in_delivery);
	CHECK_EQ(e.reason, EXIT_NPF);
	CHECK_EQ(e.npf.gpa, 0xfee00300);
	CHECK(e.npf.write && !e.npf.read && !e.npf.fetch && !e.npf.present && !e.npf.page_walk);
	e = decode(VMX_EXIT_EPT_VIOLATION, 0x1 | 0x8 | 0x80, 0, 0, 0x5000);
	CHECK(e.npf.read && e.npf.present && e.npf.page_walk);
	/* #UD, hardware exception, no error code. */
	e = decode(VMX_EXIT_EXCEPTION_NMI, 0, 0x80000306, 0, 0);
	CHECK_EQ(e.reason, EXIT_EXCEPTION);
	CHECK_EQ(e.exc.vector, 6);
	CHECK(!e.exc.has_error);
	e = decode(VMX_EXIT_EXCEPTION_NMI, 0, 0x80000b0d, 0, 0);   /* #GP, error code */
	CHECK(e.exc.has_error);
	CHECK_EQ(e.exc.error, 0x11);
	/* A physical NMI is the host's: the guest goes on (review R4). */
	CHECK_EQ(decode(VMX_EXIT_EXCEPTION_NMI, 0, 0x80000202, 0, 0).reason, EXIT_NONE);
	e = decode(VMX_EXIT_VMXOFF, 0, 0, 3, 0);
	CHECK_EQ(e.reason, EXIT_UNHANDLED);
	CHECK(e.raw_name && !strcmp(e.raw_name, "VMXOFF"));
	CHECK_EQ(decode(VMX_EXIT_XSETBV, 0, 0, 3, 0).reason, EXIT_XSETBV);
	/* mov %rax, %cr0: CR 0, type 0 (MOV to CR), register 0 (table 28-3). */
	e = decode(VMX_EXIT_CR_ACCESS, 0x000, 0, 3, 0);
	CHECK_EQ(e.reason, EXIT_CR_WRITE);
	CHECK_EQ(e.cr.cr, 0);
	CHECK_EQ(e.cr.gpr, 0);
	CHECK_EQ(e.insn_len, 3);
	e = decode(VMX_EXIT_CR_ACCESS, 0xb04, 0, 3, 0);          /* mov %r11, %cr4 */
	CHECK_EQ(e.cr.cr, 4);
	CHECK_EQ(e.cr.gpr, 11);
	e = decode(VMX_EXIT_CR_ACCESS, 0x318, 0, 4, 0);          /* mov %cr8, %rbx */
	CHECK_EQ(e.reason, EXIT_CR_READ);
	CHECK_EQ(e.cr.cr, 8);
	CHECK_EQ(e.cr.gpr, 3);
	e = decode(VMX_EXIT_CR_ACCESS, 0x208, 0, 4, 0);          /* mov %rdx, %cr8 */
	CHECK_EQ(e.reason, EXIT_CR_WRITE);
	CHECK_EQ(e.cr.cr, 8);
	CHECK_EQ(decode(VMX_EXIT_CR_ACCESS, 0x020, 0, 3, 0).reason, EXIT_UNHANDLED); /* CLTS */
	CHECK_EQ(decode(VMX_EXIT_CR_ACCESS, 0x030, 0, 3, 0).reason, EXIT_UNHANDLED); /* LMSW */
	/* #DB: the DR6 bits come from the qualification (B0 and BS here). */
	e = decode(VMX_EXIT_EXCEPTION_NMI, 0x4001, 0x80000301, 0, 0);
	CHECK_EQ(e.exc.vector, 1);
	CHECK_EQ(e.exc.dr6_bits, 0x4001);
	CHECK_EQ(e.exc.soft_len, 0);
	/* ICEBP: a privileged software exception (type 5) keeps its length.
	 * The BS Bochs reports with it under TF is dropped, a breakpoint kept. */
	e = decode(VMX_EXIT_EXCEPTION_NMI, 0, 0x80000501, 1, 0);
	CHECK_EQ(e.exc.soft_len, 1);
	CHECK_EQ(decode(VMX_EXIT_EXCEPTION_NMI, 0x4002, 0x80000501, 1, 0).exc.dr6_bits, 0x2);
	/* A general-detect fault: BD alone, though Bochs adds BS under TF. */
	CHECK_EQ(decode(VMX_EXIT_EXCEPTION_NMI, 0x6000, 0x80000301, 0, 0).exc.dr6_bits, 0x2000);
	/* A debugger's INT3: a software exception (type 6), its length kept;
	 * a hardware exception has none. */
	e = decode(VMX_EXIT_EXCEPTION_NMI, 0, 0x80000603, 1, 0);
	CHECK(e.reason == EXIT_EXCEPTION && e.exc.vector == 3 && e.exc.soft_len == 1);
	CHECK_EQ(decode(VMX_EXIT_EXCEPTION_NMI, 0, 0x80000306, 3, 0).exc.soft_len, 0);
	/* The monitor trap flag (a debugger's step) comes out as #DB. */
	e = decode(VMX_EXIT_MTF, 0, 0, 0, 0);
	CHECK(e.reason == EXIT_EXCEPTION && e.exc.vector == 1 && !e.exc.dr6_bits);
	CHECK(!strcmp(e.raw_name, "MONITOR_TRAP_FLAG"));
	CHECK_EQ(decode(VMX_EXIT_XSETBV, 0, 0, 3, 0).insn_len, 3);
	e = decode(VMX_EXIT_INVALID_GUEST_STATE | VMX_EXIT_REASON_ENTRY_FAILURE, 0, 0, 0, 0);
	CHECK_EQ(e.reason, EXIT_ENTRY_FAILED);
	CHECK(!strcmp(e.raw_name, "ENTRY_FAILURE_GUEST_STATE"));
	CHECK_EQ(decode(200, 0, 0, 0, 0).reason, EXIT_UNHANDLED);
	CHECK(decode(200, 0, 0, 0, 0).raw_name == NULL);
}

/* The state Kestrel's boot protocol enters guests with (core/boot.c). */
static struct vmx_guest_state boot_state(void)
{
	struct vmx_guest_state g = {
		.cr0 = 0x80050033, .cr4 = 0x20 | CR4_FIXED0, .efer = 0xd00, .rflags = 2,
		.rip = 0x100000, .dr7 = 0x400, .link_pointer = ~0ull,
		.entry_controls = ENTRY_IA32E_MODE | ENTRY_LOAD_EFER, .proc2 = PROC2_EPT,
		.gdtr_limit = 23, .gdtr_base = 0x8080, .idtr_limit = 0xffff,
	};
	const struct vmx_seg_state data = { 0x10, 0xc093, 0xffffffff, 0 };

	g.seg[VMCS_SEG_ES] = g.seg[VMCS_SEG_SS] = g.seg[VMCS_SEG_DS] = data;
	g.seg[VMCS_SEG_CS] = (struct vmx_seg_state){ 0x08, 0xa09b, 0xffffffff, 0 };
	g.seg[VMCS_SEG_FS] = g.seg[VMCS_SEG_GS] = (struct vmx_seg_state){ 0, 0x93, 0xffff, 0 };
	g.seg[VMCS_SEG_LDTR] = (struct vmx_seg_state){ 0, 0x10000, 0, 0 };
	g.seg[VMCS_SEG_TR] = (struct vmx_seg_state){ 0, 0x8b, 0x67, 0 };
	return g;
}

#define BROKEN(mutation, text)                                                   \
	do {                                                                     \
		struct vmx_guest_state g_ = boot_state();                        \
		const char *why_;                                                \
		char buf_[200];                                                  \
		mutation;                                                        \
		why_ = vmx_check_guest_state(&g_, &bochs_models[0].caps, buf_,  \
					     sizeof(buf_));                      \
		CHECK_MSG(why_ && strstr(why_, text), #mutation ": got \"%s\"",  \
			  why_ ? why_ : "(nothing)");                            \
	} while (0)

static void test_guest_state_checks(void)
{
	struct vmx_guest_state g = boot_state();
	char buf[200];

	CHECK(vmx_check_guest_state(&g, &bochs_models[0].caps, buf, sizeof(buf)) == NULL);
	BROKEN(g_.cr0 &= ~0x20ull, "CR0");                          /* NE is fixed */
	BROKEN(g_.cr4 &= ~CR4_FIXED0, "CR4");
	BROKEN(g_.entry_controls &= ~ENTRY_IA32E_MODE, "EFER");
	BROKEN(g_.cr4 &= ~0x20ull, "PAE");
	BROKEN(g_.seg[VMCS_SEG_CS].ar = 0xa093, "CS access rights");
	BROKEN(g_.seg[VMCS_SEG_CS].ar = 0xe09b, "L and D/B");
	BROKEN(g_.seg[VMCS_SEG_SS].ar = 0xc09b, "SS access rights");
	BROKEN(g_.seg[VMCS_SEG_TR].ar = 0x89, "TR");
	BROKEN(g_.seg[VMCS_SEG_TR].ar = 0x1008b, "TR");
	BROKEN(g_.seg[VMCS_SEG_LDTR].ar = 0x83, "LDTR");
	BROKEN(g_.seg[VMCS_SEG_DS].limit = 0xffff0, "DS limit");          /* G=1 needs 0xfff */
	BROKEN(g_.seg[VMCS_SEG_FS].limit = 0x100000, "FS limit");         /* G=0, > 1 MiB */
	BROKEN(g_.seg[VMCS_SEG_ES].ar = 0x40c093, "ES access rights");
	BROKEN(g_.rip = 0x0000800000000000ull, "RIP");
	BROKEN(g_.rflags = 0, "RFLAGS");
	BROKEN(g_.rflags = 0x2 | (1ull << 22), "RFLAGS");
	BROKEN(g_.interruptibility = INTERRUPTIBILITY_STI, "interruptibility");
	BROKEN(g_.activity = 7, "activity");
	BROKEN(g_.link_pointer = 0, "link pointer");
	BROKEN(g_.dr7 = 1ull << 40, "DR7");
	/* With unrestricted guest, real mode (PE = PG = 0) is fine... */
	g = boot_state();
	g.proc2 |= PROC2_UNRESTRICTED;
	g.entry_controls = ENTRY_LOAD_EFER;
	g.cr0 = 0x20;
	g.efer = 0;
	g.seg[VMCS_SEG_CS] = (struct vmx_seg_state){ 0xf000, 0x9b, 0xffff, 0xf0000 };
	g.seg[VMCS_SEG_ES] = g.seg[VMCS_SEG_SS] = g.seg[VMCS_SEG_DS] =
		(struct vmx_seg_state){ 0, 0x93, 0xffff, 0 };
	CHECK_MSG(vmx_check_guest_state(&g, &bochs_models[0].caps, buf, sizeof(buf)) == NULL,
		  "%s", buf);
	/* ...but not without it. */
	g.proc2 &= ~PROC2_UNRESTRICTED;
	CHECK(vmx_check_guest_state(&g, &bochs_models[0].caps, buf, sizeof(buf)) != NULL);
}

int main(void)
{
	test_adjust();
	test_bochs_models();
	test_refusals();
	test_exit_decoding();
	test_guest_state_checks();
	return unit_finish("test_vmx");
}
