/*
 * Pure VMX logic, host-tested: choosing controls from the capability MSRs
 * and checking guest state the way VM entry does, so that an entry failure
 * can name the check (the CPU only says "invalid guest state").
 */
#ifndef VMX_CAPS_H
#define VMX_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The capability MSRs, as read (the TRUE_ ones already substituted where
 * IA32_VMX_BASIC[55] says they exist). */
struct vmx_caps {
	uint64_t basic, pin, proc, proc2, exit, entry;
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1, ept_vpid;
};

struct vmx_controls {
	uint32_t pin, proc, proc2, exit, entry;
	bool vpid, unrestricted, ept_2m, ept_1g;
	bool nmi_window;      /* virtual NMIs, and NMI-window exiting to set when wanted */
	bool pause_exiting;   /* PAUSE exiting, set in VMs of several vCPUs */
};

/*
 * A control word from its capability MSR: bits 31:0 are the allowed
 * 0-settings (1 = must be 1), bits 63:32 the allowed 1-settings (SDM 3,
 * A.3). Returns `required | optional | must-be-one`, limited to what may be
 * 1; *missing gets the required bits the CPU cannot set.
 */
uint32_t vmx_adjust(uint64_t cap, uint32_t required, uint32_t optional, uint32_t *missing);

/* The controls Kestrel runs guests with. 0, or -1 with the reason in why. */
int vmx_choose_controls(const struct vmx_caps *caps, struct vmx_controls *out,
			char *why, size_t len);

/* Text of a VM-instruction error number (SDM 3, 31.4), or NULL. */
const char *vmx_insn_error_name(uint32_t error);

struct vmx_seg_state {
	uint16_t sel;
	uint32_t ar;      /* access rights (24.4.1): bit 16 = unusable */
	uint32_t limit;
	uint64_t base;
};

/* What the VM-entry guest-state checks (SDM 3, 27.3.1) look at. */
struct vmx_guest_state {
	uint64_t cr0, cr4, efer, rflags, rip, dr7, link_pointer;
	uint32_t entry_controls, proc2;
	uint32_t activity, interruptibility;
	struct vmx_seg_state seg[8];   /* ES, CS, SS, DS, FS, GS, LDTR, TR */
	uint32_t gdtr_limit, idtr_limit;
	uint64_t gdtr_base, idtr_base;
};

/* The first guest-state check that fails, as a sentence naming the field
 * and the SDM section; NULL when none of the checked rules fails. */
const char *vmx_check_guest_state(const struct vmx_guest_state *g, const struct vmx_caps *caps,
				  char *buf, size_t len);

#endif
