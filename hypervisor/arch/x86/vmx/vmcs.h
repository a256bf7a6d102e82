/*
 * Intel VMX: VMCS field encodings (SDM vol. 3, appendix B), control bits
 * (SDM vol. 3, 24.6-24.8), capability MSRs (appendix A) and the VMREAD /
 * VMWRITE accessors.
 */
#ifndef VMX_VMCS_H
#define VMX_VMCS_H

#include <stdbool.h>
#include <stdint.h>

enum vmcs_field {
	/* 16-bit */
	VMCS_VPID                  = 0x0000,
	VMCS_GUEST_ES_SEL          = 0x0800,   /* ES, CS, SS, DS, FS, GS, LDTR, TR: +2 each */
	VMCS_HOST_ES_SEL           = 0x0c00,
	VMCS_HOST_CS_SEL           = 0x0c02,
	VMCS_HOST_SS_SEL           = 0x0c04,
	VMCS_HOST_DS_SEL           = 0x0c06,
	VMCS_HOST_FS_SEL           = 0x0c08,
	VMCS_HOST_GS_SEL           = 0x0c0a,
	VMCS_HOST_TR_SEL           = 0x0c0c,
	/* 64-bit */
	VMCS_IO_BITMAP_A           = 0x2000,
	VMCS_IO_BITMAP_B           = 0x2002,
	VMCS_MSR_BITMAP            = 0x2004,
	VMCS_TSC_OFFSET            = 0x2010,
	VMCS_EPT_POINTER           = 0x201a,
	VMCS_GUEST_PHYS_ADDR       = 0x2400,
	VMCS_LINK_POINTER          = 0x2800,
	VMCS_GUEST_DEBUGCTL        = 0x2802,
	VMCS_GUEST_PAT             = 0x2804,
	VMCS_GUEST_EFER            = 0x2806,
	VMCS_HOST_PAT              = 0x2c00,
	VMCS_HOST_EFER             = 0x2c02,
	/* 32-bit */
	VMCS_PIN_CONTROLS          = 0x4000,
	VMCS_PROC_CONTROLS         = 0x4002,
	VMCS_EXCEPTION_BITMAP      = 0x4004,
	VMCS_CR3_TARGET_COUNT      = 0x400a,
	VMCS_EXIT_CONTROLS         = 0x400c,
	VMCS_EXIT_MSR_STORE_COUNT  = 0x400e,
	VMCS_EXIT_MSR_LOAD_COUNT   = 0x4010,
	VMCS_ENTRY_CONTROLS        = 0x4012,
	VMCS_ENTRY_MSR_LOAD_COUNT  = 0x4014,
	VMCS_ENTRY_INTR_INFO       = 0x4016,
	VMCS_ENTRY_EXCEPTION_ERROR = 0x4018,
	VMCS_ENTRY_INSN_LEN        = 0x401a,
	VMCS_PROC_CONTROLS2        = 0x401e,
	VMCS_INSN_ERROR            = 0x4400,
	VMCS_EXIT_REASON           = 0x4402,
	VMCS_EXIT_INTR_INFO        = 0x4404,
	VMCS_EXIT_INTR_ERROR       = 0x4406,
	VMCS_IDT_VECTORING_INFO    = 0x4408,
	VMCS_IDT_VECTORING_ERROR   = 0x440a,
	VMCS_EXIT_INSN_LEN         = 0x440c,
	VMCS_GUEST_ES_LIMIT        = 0x4800,   /* ES .. TR: +2 each */
	VMCS_GUEST_GDTR_LIMIT      = 0x4810,
	VMCS_GUEST_IDTR_LIMIT      = 0x4812,
	VMCS_GUEST_ES_AR           = 0x4814,   /* ES .. TR: +2 each */
	VMCS_GUEST_INTERRUPTIBILITY = 0x4824,
	VMCS_GUEST_ACTIVITY        = 0x4826,
	VMCS_PREEMPT_TIMER         = 0x482e,
	VMCS_GUEST_SYSENTER_CS     = 0x482a,
	VMCS_HOST_SYSENTER_CS      = 0x4c00,
	/* natural width */
	VMCS_CR0_MASK              = 0x6000,
	VMCS_CR4_MASK              = 0x6002,
	VMCS_CR0_SHADOW            = 0x6004,
	VMCS_CR4_SHADOW            = 0x6006,
	VMCS_EXIT_QUALIFICATION    = 0x6400,
	VMCS_GUEST_CR0             = 0x6800,
	VMCS_GUEST_CR3             = 0x6802,
	VMCS_GUEST_CR4             = 0x6804,
	VMCS_GUEST_ES_BASE         = 0x6806,   /* ES .. TR: +2 each */
	VMCS_GUEST_GDTR_BASE       = 0x6816,
	VMCS_GUEST_IDTR_BASE       = 0x6818,
	VMCS_GUEST_DR7             = 0x681a,
	VMCS_GUEST_RSP             = 0x681c,
	VMCS_GUEST_RIP             = 0x681e,
	VMCS_GUEST_RFLAGS          = 0x6820,
	VMCS_GUEST_PENDING_DBG     = 0x6822,
	VMCS_GUEST_SYSENTER_ESP    = 0x6824,
	VMCS_GUEST_SYSENTER_EIP    = 0x6826,
	VMCS_HOST_CR0              = 0x6c00,
	VMCS_HOST_CR3              = 0x6c02,
	VMCS_HOST_CR4              = 0x6c04,
	VMCS_HOST_FS_BASE          = 0x6c06,
	VMCS_HOST_GS_BASE          = 0x6c08,
	VMCS_HOST_TR_BASE          = 0x6c0a,
	VMCS_HOST_GDTR_BASE        = 0x6c0c,
	VMCS_HOST_IDTR_BASE        = 0x6c0e,
	VMCS_HOST_SYSENTER_ESP     = 0x6c10,
	VMCS_HOST_SYSENTER_EIP     = 0x6c12,
	VMCS_HOST_RSP              = 0x6c14,
	VMCS_HOST_RIP              = 0x6c16,
};

/* Segment order of the guest-state segment fields. */
enum vmcs_seg { VMCS_SEG_ES, VMCS_SEG_CS, VMCS_SEG_SS, VMCS_SEG_DS, VMCS_SEG_FS,
		VMCS_SEG_GS, VMCS_SEG_LDTR, VMCS_SEG_TR };

/* Capability MSRs (SDM vol. 3, appendix A). */
#define MSR_VMX_BASIC          0x480
#define MSR_VMX_PINBASED       0x481
#define MSR_VMX_PROCBASED      0x482
#define MSR_VMX_EXIT           0x483
#define MSR_VMX_ENTRY          0x484
#define MSR_VMX_CR0_FIXED0     0x486
#define MSR_VMX_CR0_FIXED1     0x487
#define MSR_VMX_CR4_FIXED0     0x488
#define MSR_VMX_CR4_FIXED1     0x489
#define MSR_VMX_PROCBASED2     0x48b
#define MSR_VMX_EPT_VPID_CAP   0x48c
#define MSR_VMX_MISC           0x485       /* [4:0]: preemption-timer rate (A.6) */
#define MSR_VMX_TRUE_PINBASED  0x48d
#define MSR_VMX_TRUE_PROCBASED 0x48e
#define MSR_VMX_TRUE_EXIT      0x48f
#define MSR_VMX_TRUE_ENTRY     0x490

#define VMX_BASIC_TRUE_CTLS    (1ull << 55)
#define FEATURE_CONTROL_LOCK        (1ull << 0)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX (1ull << 2)

/* Pin-based controls (24.6.1) */
#define PIN_EXT_INTR_EXITING   (1u << 0)
#define PIN_NMI_EXITING        (1u << 3)
#define PIN_VIRTUAL_NMIS       (1u << 5)
#define PIN_PREEMPT_TIMER      (1u << 6)
/* Primary processor-based controls (24.6.2) */
#define PROC_INTR_WINDOW       (1u << 2)
#define PROC_TSC_OFFSETTING    (1u << 3)
#define PROC_HLT_EXITING       (1u << 7)
#define PROC_MWAIT_EXITING     (1u << 10)
#define PROC_RDPMC_EXITING     (1u << 11)
#define PROC_CR3_LOAD_EXITING  (1u << 15)
#define PROC_CR3_STORE_EXITING (1u << 16)
#define PROC_CR8_LOAD_EXITING  (1u << 19)
#define PROC_CR8_STORE_EXITING (1u << 20)
#define PROC_TPR_SHADOW        (1u << 21)
#define PROC_NMI_WINDOW        (1u << 22)
#define PROC_UNCOND_IO         (1u << 24)
#define PROC_MTF               (1u << 27)  /* monitor trap flag */
#define PROC_MSR_BITMAPS       (1u << 28)
#define PROC_MONITOR_EXITING   (1u << 29)
#define PROC_PAUSE_EXITING     (1u << 30)
#define PROC_SECONDARY         (1u << 31)
/* Secondary processor-based controls */
#define PROC2_EPT              (1u << 1)
#define PROC2_RDTSCP           (1u << 3)
#define PROC2_VPID             (1u << 5)
#define PROC2_WBINVD_EXITING   (1u << 6)
#define PROC2_UNRESTRICTED     (1u << 7)
#define PROC2_INVPCID          (1u << 12)
#define PROC2_XSAVES           (1u << 20)
/* VM-exit controls (24.7.1) */
#define EXIT_SAVE_DEBUG        (1u << 2)
#define EXIT_HOST_64BIT        (1u << 9)
#define EXIT_SAVE_PAT          (1u << 18)
#define EXIT_LOAD_PAT          (1u << 19)
#define EXIT_SAVE_EFER         (1u << 20)
#define EXIT_LOAD_EFER         (1u << 21)
/* VM-entry controls (24.8.1) */
#define ENTRY_LOAD_DEBUG       (1u << 2)
#define ENTRY_IA32E_MODE       (1u << 9)
#define ENTRY_LOAD_PAT         (1u << 14)
#define ENTRY_LOAD_EFER        (1u << 15)

/* EPT pointer: write-back paging structures, 4-level walk (25.6.11) */
#define EPTP_WB_WALK4          (6ull | (3ull << 3))

/* EPT/VPID capabilities (A.10) */
#define EPT_CAP_WALK_4         (1ull << 6)
#define EPT_CAP_WB             (1ull << 14)
#define EPT_CAP_2M             (1ull << 16)
#define EPT_CAP_1G             (1ull << 17)
#define EPT_CAP_INVEPT         (1ull << 20)
#define EPT_CAP_INVEPT_SINGLE  (1ull << 25)
#define EPT_CAP_INVEPT_ALL     (1ull << 26)
#define VPID_CAP_INVVPID       (1ull << 32)
#define VPID_CAP_SINGLE        (1ull << 41)
#define VPID_CAP_ALL           (1ull << 42)

/* Interruption information (24.8.3, 27.2.2) */
#define INTR_INFO_VALID        (1u << 31)
#define INTR_INFO_ERROR_VALID  (1u << 11)
#define INTR_TYPE_EXT          (0u << 8)
#define INTR_TYPE_NMI          (2u << 8)
#define INTR_TYPE_HW_EXCEPTION (3u << 8)
#define INTR_TYPE_SOFT_INT     (4u << 8)
#define INTR_TYPE_PRIV_SOFT_EXCEPTION (5u << 8)
#define INTR_TYPE_SOFT_EXCEPTION (6u << 8)
#define INTR_TYPE_MASK         (7u << 8)

/* Guest interruptibility (24.4.2) */
#define INTERRUPTIBILITY_STI   (1u << 0)
#define INTERRUPTIBILITY_MOVSS (1u << 1)
#define INTERRUPTIBILITY_NMI   (1u << 3)

static inline uint64_t vmread(enum vmcs_field f)
{
	uint64_t v;

	__asm__ volatile("vmread %1, %0" : "=r"(v) : "r"((uint64_t)f) : "cc");
	return v;
}

static inline void vmwrite(enum vmcs_field f, uint64_t v)
{
	__asm__ volatile("vmwrite %1, %0" : : "r"((uint64_t)f), "r"(v) : "cc", "memory");
}

#endif
