/* Guest register state in a vendor-neutral form. */
#ifndef X86_REGS_H
#define X86_REGS_H

#include <stdbool.h>
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

/* An event as both vendors encode it for injection (SDM 3, 25.8.3 and
 * table 25-17; APM 2, 15.20, EVENTINJ): the types SVM has use the same
 * numbers. */
enum guest_event_type {
	GUEST_EVENT_EXT_INT = 0,
	GUEST_EVENT_NMI = 2,
	GUEST_EVENT_EXCEPTION = 3,
	GUEST_EVENT_SOFT_INT = 4,
	GUEST_EVENT_PRIV_SOFT_EXC = 5,   /* ICEBP (VMX) */
	GUEST_EVENT_SOFT_EXC = 6,        /* INT3, INTO (VMX) */
};

struct guest_event {
	bool valid;
	bool has_error;
	uint8_t type;                    /* enum guest_event_type */
	uint8_t vector;
	uint32_t error;
};

/* Event state beyond the registers, for views (console `vcpu`). */
struct guest_events {
	struct guest_event inject;       /* queued for the next entry */
	struct guest_event interrupted;  /* whose delivery the last exit cut short */
	int offered_irq;                 /* SVM V_IRQ offered, not yet taken; -1 */
	bool irq_window;                 /* an exit is asked for when IF opens (VMX) */
	bool shadow;                     /* STI / MOV SS interrupt shadow */
	bool nmi_blocked;                /* inside an NMI handler, until its IRET */
};

#endif
