/*
 * The AMD Virtual Machine Control Block (APM vol. 2, appendix B, "Layout of
 * VMCB"): control area at 0x000, state-save area at 0x400.
 */
#ifndef SVM_VMCB_H
#define SVM_VMCB_H

#include <stddef.h>
#include <stdint.h>

struct vmcb_seg {
	uint16_t selector;
	uint16_t attrib;
	uint32_t limit;
	uint64_t base;
} __attribute__((packed));

struct vmcb_control {
	uint32_t intercept_cr;          /* 0x000: reads 0-15, writes 16-31 */
	uint32_t intercept_dr;          /* 0x004 */
	uint32_t intercept_exceptions;  /* 0x008 */
	uint32_t intercept_misc1;       /* 0x00c: INTERCEPT1_* */
	uint32_t intercept_misc2;       /* 0x010: INTERCEPT2_* */
	uint32_t intercept_misc3;       /* 0x014 */
	uint8_t  reserved_0x018[0x03c - 0x018];
	uint16_t pause_filter_threshold;/* 0x03c */
	uint16_t pause_filter_count;    /* 0x03e */
	uint64_t iopm_base_pa;          /* 0x040 */
	uint64_t msrpm_base_pa;         /* 0x048 */
	uint64_t tsc_offset;            /* 0x050 */
	uint32_t asid;                  /* 0x058 */
	uint8_t  tlb_control;           /* 0x05c */
	uint8_t  reserved_0x05d[3];
	uint64_t int_ctl;               /* 0x060: V_TPR, V_IRQ, V_INTR_* */
	uint64_t int_state;             /* 0x068: bit 0 interrupt shadow */
	uint64_t exit_code;             /* 0x070 */
	uint64_t exit_info_1;           /* 0x078 */
	uint64_t exit_info_2;           /* 0x080 */
	uint64_t exit_int_info;         /* 0x088 */
	uint64_t nested_ctl;            /* 0x090: bit 0 NP_ENABLE */
	uint64_t avic_vapic_bar;        /* 0x098 */
	uint64_t ghcb_pa;               /* 0x0a0 */
	uint64_t event_inj;             /* 0x0a8 */
	uint64_t nested_cr3;            /* 0x0b0 */
	uint64_t virt_ext;              /* 0x0b8 */
	uint32_t clean_bits;            /* 0x0c0 */
	uint32_t reserved_0x0c4;
	uint64_t next_rip;              /* 0x0c8: only with NRIPS */
	uint8_t  insn_len;              /* 0x0d0: only with decode assists */
	uint8_t  insn_bytes[15];        /* 0x0d1 */
	uint8_t  reserved_0x0e0[0x400 - 0x0e0];
} __attribute__((packed));

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs;   /* 0x400.. */
	struct vmcb_seg gdtr, ldtr, idtr, tr;     /* 0x460.. */
	uint8_t  reserved_0x4a0[0x4cb - 0x4a0];
	uint8_t  cpl;                   /* 0x4cb */
	uint32_t reserved_0x4cc;
	uint64_t efer;                  /* 0x4d0 */
	uint8_t  reserved_0x4d8[0x548 - 0x4d8];
	uint64_t cr4;                   /* 0x548 */
	uint64_t cr3;                   /* 0x550 */
	uint64_t cr0;                   /* 0x558 */
	uint64_t dr7;                   /* 0x560 */
	uint64_t dr6;                   /* 0x568 */
	uint64_t rflags;                /* 0x570 */
	uint64_t rip;                   /* 0x578 */
	uint8_t  reserved_0x580[0x5d8 - 0x580];
	uint64_t rsp;                   /* 0x5d8 */
	uint64_t s_cet, ssp, isst_addr; /* 0x5e0 */
	uint64_t rax;                   /* 0x5f8 */
	uint64_t star;                  /* 0x600 */
	uint64_t lstar;                 /* 0x608 */
	uint64_t cstar;                 /* 0x610 */
	uint64_t sfmask;                /* 0x618 */
	uint64_t kernel_gs_base;        /* 0x620 */
	uint64_t sysenter_cs;           /* 0x628 */
	uint64_t sysenter_esp;          /* 0x630 */
	uint64_t sysenter_eip;          /* 0x638 */
	uint64_t cr2;                   /* 0x640 */
	uint8_t  reserved_0x648[0x668 - 0x648];
	uint64_t g_pat;                 /* 0x668 */
	uint64_t dbgctl;                /* 0x670 */
	uint64_t br_from, br_to;        /* 0x678 */
	uint64_t last_excp_from, last_excp_to; /* 0x688 */
	uint8_t  reserved_0x698[0x1000 - 0x698];
} __attribute__((packed));

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
} __attribute__((packed));

_Static_assert(sizeof(struct vmcb) == 4096, "VMCB is one page");
_Static_assert(offsetof(struct vmcb, control.iopm_base_pa) == 0x040, "IOPM_BASE_PA");
_Static_assert(offsetof(struct vmcb, control.int_ctl) == 0x060, "V_INTR");
_Static_assert(offsetof(struct vmcb, control.exit_code) == 0x070, "EXITCODE");
_Static_assert(offsetof(struct vmcb, control.nested_ctl) == 0x090, "NP_ENABLE");
_Static_assert(offsetof(struct vmcb, control.event_inj) == 0x0a8, "EVENTINJ");
_Static_assert(offsetof(struct vmcb, control.nested_cr3) == 0x0b0, "N_CR3");
_Static_assert(offsetof(struct vmcb, control.next_rip) == 0x0c8, "nRIP");
_Static_assert(offsetof(struct vmcb, save.cs) == 0x410, "CS");
_Static_assert(offsetof(struct vmcb, save.tr) == 0x490, "TR");
_Static_assert(offsetof(struct vmcb, save.cpl) == 0x4cb, "CPL");
_Static_assert(offsetof(struct vmcb, save.efer) == 0x4d0, "EFER");
_Static_assert(offsetof(struct vmcb, save.cr4) == 0x548, "CR4");
_Static_assert(offsetof(struct vmcb, save.rip) == 0x578, "RIP");
_Static_assert(offsetof(struct vmcb, save.rsp) == 0x5d8, "RSP");
_Static_assert(offsetof(struct vmcb, save.rax) == 0x5f8, "RAX");
_Static_assert(offsetof(struct vmcb, save.cr2) == 0x640, "CR2");
_Static_assert(offsetof(struct vmcb, save.g_pat) == 0x668, "G_PAT");

/* intercept_misc1 (VMCB offset 0x00c) */
#define INTERCEPT_CR4_WRITE   (1u << (16 + 4))   /* intercept_cr */
#define INTERCEPT1_INTR       (1u << 0)
#define INTERCEPT1_NMI        (1u << 1)
#define INTERCEPT1_SMI        (1u << 2)
#define INTERCEPT1_INIT       (1u << 3)
#define INTERCEPT1_VINTR      (1u << 4)
#define INTERCEPT1_RDPMC      (1u << 15)
#define INTERCEPT1_CPUID      (1u << 18)
#define INTERCEPT1_IRET       (1u << 20)
#define INTERCEPT1_INTN       (1u << 21)
#define INTERCEPT1_INVD       (1u << 22)
#define INTERCEPT1_PAUSE      (1u << 23)
#define INTERCEPT1_HLT        (1u << 24)
#define INTERCEPT1_INVLPGA    (1u << 26)
#define INTERCEPT1_IOIO_PROT  (1u << 27)
#define INTERCEPT1_MSR_PROT   (1u << 28)
#define INTERCEPT1_SHUTDOWN   (1u << 31)
/* intercept_misc2 (VMCB offset 0x010) */
#define INTERCEPT2_VMRUN      (1u << 0)
#define INTERCEPT2_VMMCALL    (1u << 1)
#define INTERCEPT2_VMLOAD     (1u << 2)
#define INTERCEPT2_VMSAVE     (1u << 3)
#define INTERCEPT2_STGI       (1u << 4)
#define INTERCEPT2_CLGI       (1u << 5)
#define INTERCEPT2_SKINIT     (1u << 6)
#define INTERCEPT2_WBINVD     (1u << 9)
#define INTERCEPT2_MONITOR    (1u << 10)
#define INTERCEPT2_MWAIT      (1u << 11)
#define INTERCEPT2_MWAIT_COND (1u << 12)
#define INTERCEPT2_XSETBV     (1u << 13)
#define INTERCEPT2_RDPRU      (1u << 14)

/* int_ctl (VMCB offset 0x060, APM vol. 2, 15.21) */
#define V_TPR_MASK            0xfull
#define V_IRQ                 (1ull << 8)
#define V_INTR_PRIO_SHIFT     16
#define V_IGN_TPR             (1ull << 20)
#define V_INTR_MASKING        (1ull << 24)
#define V_INTR_VECTOR_SHIFT   32

#define INT_STATE_SHADOW      (1ull << 0)
#define NESTED_CTL_NP_ENABLE  (1ull << 0)
#define TLB_CONTROL_FLUSH_ALL 1

/* EVENTINJ / EXITINTINFO (APM vol. 2, 15.20) */
#define EVENT_VALID           (1ull << 31)
#define EVENT_ERROR_VALID     (1ull << 11)
#define EVENT_TYPE_MASK       (7ull << 8)
#define EVENT_TYPE_INTR       (0ull << 8)
#define EVENT_TYPE_NMI        (2ull << 8)
#define EVENT_TYPE_EXCEPTION  (3ull << 8)
#define EVENT_TYPE_SOFT_INT   (4ull << 8)

/* Exit codes (APM vol. 2, appendix C). */
#define SVM_EXIT_WRITE_CR4    0x014
#define SVM_EXIT_EXCP_BASE    0x040
#define SVM_EXIT_INTR         0x060
#define SVM_EXIT_NMI          0x061
#define SVM_EXIT_SMI          0x062
#define SVM_EXIT_INIT         0x063
#define SVM_EXIT_VINTR        0x064
#define SVM_EXIT_CPUID        0x072
#define SVM_EXIT_IRET         0x074
#define SVM_EXIT_SWINT        0x075
#define SVM_EXIT_INVD         0x076
#define SVM_EXIT_PAUSE        0x077
#define SVM_EXIT_HLT          0x078
#define SVM_EXIT_INVLPGA      0x07a
#define SVM_EXIT_IOIO         0x07b
#define SVM_EXIT_MSR          0x07c
#define SVM_EXIT_SHUTDOWN     0x07f
#define SVM_EXIT_VMRUN        0x080
#define SVM_EXIT_VMMCALL      0x081
#define SVM_EXIT_VMLOAD       0x082
#define SVM_EXIT_VMSAVE       0x083
#define SVM_EXIT_STGI         0x084
#define SVM_EXIT_CLGI         0x085
#define SVM_EXIT_SKINIT       0x086
#define SVM_EXIT_MONITOR      0x08a
#define SVM_EXIT_MWAIT        0x08b
#define SVM_EXIT_MWAIT_COND   0x08c
#define SVM_EXIT_XSETBV       0x08d
#define SVM_EXIT_RDPRU        0x08e
#define SVM_EXIT_RDPMC        0x06f
#define SVM_EXIT_WBINVD       0x089
#define SVM_EXIT_NPF          0x400
#define SVM_EXIT_INVALID      0xffffffffu   /* compare the low 32 bits */

/* IOIO EXITINFO1 (APM vol. 2, 15.10.2) */
#define IOIO_TYPE_IN          (1u << 0)
#define IOIO_STR              (1u << 2)
#define IOIO_REP              (1u << 3)
#define IOIO_SZ8              (1u << 4)
#define IOIO_SZ16             (1u << 5)
#define IOIO_SZ32             (1u << 6)
#define IOIO_PORT_SHIFT       16

/* #NPF EXITINFO1 (APM vol. 2, 15.25.6) */
#define NPF_P                 (1ull << 0)
#define NPF_RW                (1ull << 1)
#define NPF_ID                (1ull << 4)
#define NPF_GUEST_PAGE        (1ull << 32)   /* fault on the final guest-physical access */
#define NPF_GUEST_TABLES      (1ull << 33)   /* fault during the guest's table walk */

/* Decodes the VMCB's exit fields into the generic form; instruction
 * lengths are not filled in (they need guest memory). Pure: host-tested. */
struct exit_info;
void svm_decode_exit(const struct vmcb *vmcb, struct exit_info *e);

#endif
