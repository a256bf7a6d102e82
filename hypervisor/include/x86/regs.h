/* Guest register state in a vendor-neutral form. */
#ifndef X86_REGS_H
#define X86_REGS_H

#include <stdint.h>

/* General-purpose registers in the x86 encoding order (ModRM reg numbers):
 * gpr[0] = RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8..15 R8..R15. */
enum { GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
       GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
       NR_GPRS };

struct guest_gprs {
	uint64_t gpr[NR_GPRS];
};

/* Segment register with the hidden part. `attr` uses the packed 12-bit
 * layout of the AMD VMCB (APM vol. 2, 15.5.1): bits 0-3 type, 4 S, 5-6 DPL,
 * 7 P, 8 AVL, 9 L, 10 D/B, 11 G. VMX converts it to its access rights. */
struct x86_segment {
	uint16_t sel;
	uint16_t attr;
	uint32_t limit;
	uint64_t base;
};

#define SEG_ATTR_P    (1u << 7)
#define SEG_ATTR_L    (1u << 9)
#define SEG_ATTR_DB   (1u << 10)
#define SEG_ATTR_G    (1u << 11)
#define SEG_ATTR_DPL(a) (((a) >> 5) & 3)

struct x86_dtable {
	uint64_t base;
	uint32_t limit;
};

/* Everything beyond the GPRs that generic code reads or sets up. */
struct guest_sregs {
	uint64_t rip, rflags;
	uint64_t cr0, cr2, cr3, cr4, efer;   /* efer as the guest sees it */
	struct x86_segment cs, ds, es, fs, gs, ss, tr, ldtr;
	struct x86_dtable gdtr, idtr;
	uint64_t pat;
};

#endif
