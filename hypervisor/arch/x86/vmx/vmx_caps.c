/* Control selection and VM-instruction error names (pure; see vmx_caps.h). */
#include <lib/printk.h>
#include <lib/string.h>
#include "vmcs.h"
#include "vmx_caps.h"

uint32_t vmx_adjust(uint64_t cap, uint32_t required, uint32_t optional, uint32_t *missing)
{
	uint32_t must_be_one = (uint32_t)cap, may_be_one = (uint32_t)(cap >> 32);

	*missing = required & ~may_be_one;
	return (required | optional | must_be_one) & may_be_one;
}

/* Names of the controls Kestrel cannot do without, for the refusal. */
static const char *required_name(const char *word, uint32_t bit)
{
	static const struct { const char *word; uint32_t bit; const char *name; } names[] = {
		{ "pin-based", PIN_EXT_INTR_EXITING, "external-interrupt exiting" },
		{ "pin-based", PIN_NMI_EXITING, "NMI exiting" },
		{ "processor-based", PROC_HLT_EXITING, "HLT exiting" },
		{ "processor-based", PROC_UNCOND_IO, "unconditional I/O exiting" },
		{ "processor-based", PROC_MSR_BITMAPS, "MSR bitmaps" },
		{ "processor-based", PROC_SECONDARY, "secondary controls" },
		{ "processor-based", PROC_CR8_LOAD_EXITING, "CR8-load exiting" },
		{ "processor-based", PROC_TSC_OFFSETTING, "TSC offsetting" },
		{ "processor-based", PROC_RDPMC_EXITING, "RDPMC exiting" },
		{ "processor-based", PROC_CR8_STORE_EXITING, "CR8-store exiting" },
		{ "secondary", PROC2_EPT, "EPT (extended page tables)" },
		{ "VM-exit", EXIT_HOST_64BIT, "64-bit host" },
		{ "VM-exit", EXIT_SAVE_EFER, "saving IA32_EFER" },
		{ "VM-exit", EXIT_LOAD_EFER, "loading host IA32_EFER" },
		{ "VM-exit", EXIT_SAVE_DEBUG, "saving debug controls" },
		{ "VM-entry", ENTRY_LOAD_DEBUG, "loading debug controls" },
		{ "VM-entry", ENTRY_LOAD_EFER, "loading guest IA32_EFER" },
	};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].bit == bit && !strcmp(names[i].word, word))
			return names[i].name;
	return "a required control";
}

struct control_word {
	const char *name;
	uint64_t cap;
	uint32_t required, optional;
	uint32_t *out;
};

static int adjust_all(const struct control_word *w, unsigned n, char *why, size_t len)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t missing;

		*w[i].out = vmx_adjust(w[i].cap, w[i].required, w[i].optional, &missing);
		if (missing) {
			uint32_t bit = missing & -missing;

			snprintf(why, len, "the CPU lacks %s (%s control 0x%x)",
				 required_name(w[i].name, bit), w[i].name, bit);
			return -1;
		}
	}
	return 0;
}

int vmx_choose_controls(const struct vmx_caps *caps, struct vmx_controls *c,
			char *why, size_t len)
{
	const struct control_word words[] = {
		/* The preemption timer bounds every guest run even where a host
		 * interrupt would not force an exit (Bochs, guest IF = 0). */
		/* Virtual NMIs: the guest's IRET ends its NMI blocking, which
		 * NMI exiting alone keeps forever (SDM 3, 25.3). */
		{ "pin-based", caps->pin, PIN_EXT_INTR_EXITING | PIN_NMI_EXITING,
		  PIN_PREEMPT_TIMER | PIN_VIRTUAL_NMIS, &c->pin },
		/* CR8 exits: without them (and no TPR shadow) MOV CR8 writes
		 * the physical APIC's TPR (SDM 3, 26.3; review finding 1). */
		{ "processor-based", caps->proc,
		  PROC_HLT_EXITING | PROC_UNCOND_IO | PROC_MSR_BITMAPS | PROC_SECONDARY |
		  PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING | PROC_TSC_OFFSETTING |
		  PROC_RDPMC_EXITING,
		  PROC_MWAIT_EXITING | PROC_MONITOR_EXITING | PROC_NMI_WINDOW |
		  PROC_PAUSE_EXITING, &c->proc },
		{ "secondary", caps->proc2, PROC2_EPT,
		  PROC2_VPID | PROC2_UNRESTRICTED | PROC2_INVPCID | PROC2_RDTSCP |
		  PROC2_WBINVD_EXITING, &c->proc2 },
		/* Debug controls: the guest's DR7 and DEBUGCTL live in the VMCS. */
		{ "VM-exit", caps->exit,
		  EXIT_HOST_64BIT | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_DEBUG,
		  EXIT_SAVE_PAT | EXIT_LOAD_PAT, &c->exit },
		{ "VM-entry", caps->entry, ENTRY_LOAD_EFER | ENTRY_LOAD_DEBUG,
		  ENTRY_LOAD_PAT | ENTRY_IA32E_MODE,
		  &c->entry },
	};

	*c = (struct vmx_controls){ 0 };
	if (adjust_all(words, sizeof(words) / sizeof(words[0]), why, len))
		return -1;
	/* Nested paging makes CR3 exits pointless; a CPU that forces them
	 * (no TRUE_ controls) is not supported. */
	if (c->proc & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING)) {
		snprintf(why, len, "the CPU forces CR3-load/store exiting");
		return -1;
	}
	if (!(caps->ept_vpid & EPT_CAP_WALK_4) || !(caps->ept_vpid & EPT_CAP_WB)) {
		snprintf(why, len, "EPT lacks 4-level walks or write-back tables");
		return -1;
	}
	/* NMI-window exiting needs virtual NMIs (SDM 3, 27.2.1.1), and is
	 * set per entry, only while an NMI waits. */
	c->nmi_window = (c->proc & PROC_NMI_WINDOW) && (c->pin & PIN_VIRTUAL_NMIS);
	c->proc &= ~PROC_NMI_WINDOW;
	/* PAUSE exiting is set per VM: only where a sibling could run. */
	c->pause_exiting = c->proc & PROC_PAUSE_EXITING;
	c->proc &= ~PROC_PAUSE_EXITING;
	/* IA-32e mode is chosen per entry from the guest's EFER.LMA. */
	c->entry &= ~ENTRY_IA32E_MODE;
	c->vpid = c->proc2 & PROC2_VPID;
	c->unrestricted = c->proc2 & PROC2_UNRESTRICTED;
	c->ept_2m = caps->ept_vpid & EPT_CAP_2M;
	c->ept_1g = caps->ept_vpid & EPT_CAP_1G;
	return 0;
}

static const char *const insn_errors[] = {
	[1] = "VMCALL executed in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "invalid operand to INVEPT/INVVPID",
};

const char *vmx_insn_error_name(uint32_t error)
{
	return error < sizeof(insn_errors) / sizeof(insn_errors[0]) ? insn_errors[error] : NULL;
}
