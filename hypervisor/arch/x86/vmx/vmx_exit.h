/* VMX exit decoding (pure, host-tested). */
#ifndef VMX_EXIT_H
#define VMX_EXIT_H

#include <stdint.h>
#include <core/exit.h>

/* Basic exit reasons (SDM vol. 3, appendix C). */
enum {
	VMX_EXIT_EXCEPTION_NMI = 0, VMX_EXIT_EXT_INTR = 1, VMX_EXIT_TRIPLE_FAULT = 2,
	VMX_EXIT_INIT = 3, VMX_EXIT_SIPI = 4, VMX_EXIT_INTR_WINDOW = 7, VMX_EXIT_NMI_WINDOW = 8,
	VMX_EXIT_CPUID = 10, VMX_EXIT_GETSEC = 11, VMX_EXIT_HLT = 12, VMX_EXIT_INVD = 13,
	VMX_EXIT_VMCALL = 18, VMX_EXIT_VMCLEAR = 19, VMX_EXIT_VMLAUNCH = 20,
	VMX_EXIT_VMPTRLD = 21, VMX_EXIT_VMPTRST = 22, VMX_EXIT_VMREAD = 23,
	VMX_EXIT_VMRESUME = 24, VMX_EXIT_VMWRITE = 25, VMX_EXIT_VMXOFF = 26,
	VMX_EXIT_VMXON = 27, VMX_EXIT_CR_ACCESS = 28, VMX_EXIT_IO = 30, VMX_EXIT_RDMSR = 31,
	VMX_EXIT_WRMSR = 32, VMX_EXIT_INVALID_GUEST_STATE = 33, VMX_EXIT_MSR_LOADING = 34,
	VMX_EXIT_MWAIT = 36, VMX_EXIT_MTF = 37, VMX_EXIT_MONITOR = 39, VMX_EXIT_MCE_DURING_ENTRY = 41,
	VMX_EXIT_EPT_VIOLATION = 48, VMX_EXIT_EPT_MISCONFIG = 49, VMX_EXIT_INVEPT = 50,
	VMX_EXIT_INVVPID = 53, VMX_EXIT_WBINVD = 54, VMX_EXIT_XSETBV = 55,
	VMX_EXIT_RDPMC = 15, VMX_EXIT_PAUSE = 40, VMX_EXIT_PREEMPT_TIMER = 52,
};
#define VMX_EXIT_REASON_ENTRY_FAILURE (1u << 31)

/* The exit fields read from the VMCS after an exit. */
struct vmx_exit_fields {
	uint32_t reason;
	uint64_t qualification;
	uint32_t intr_info, intr_error;
	uint32_t insn_len;
	uint64_t gpa;
	uint32_t idt_vectoring;       /* the event the exit interrupted (27.2.4) */
};

void vmx_decode_exit(const struct vmx_exit_fields *f, struct exit_info *e);

#endif
