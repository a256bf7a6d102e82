/*
 * MSR numbers, one place for all of them (SDM vol. 4; APM vol. 2,
 * appendix A). The VMX capability MSRs are the VMX backend's (vmx/vmcs.h).
 */
#ifndef X86_MSR_INDEX_H
#define X86_MSR_INDEX_H

#define MSR_IA32_TSC            0x00000010
#define MSR_IA32_APIC_BASE      0x0000001b
#define MSR_IA32_TSC_ADJUST     0x0000003b
#define MSR_IA32_FEATURE_CONTROL 0x0000003a
#define MSR_IA32_MTRRCAP        0x000000fe
#define MSR_IA32_SYSENTER_CS    0x00000174
#define MSR_IA32_MISC_ENABLE    0x000001a0
#define MSR_IA32_PAT            0x00000277
#define MSR_IA32_MTRR_DEF_TYPE  0x000002ff
#define MSR_EFER                0xc0000080
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SFMASK              0xc0000084
#define MSR_FS_BASE             0xc0000100
#define MSR_GS_BASE             0xc0000101
#define MSR_KERNEL_GS_BASE      0xc0000102
#define MSR_TSC_AUX             0xc0000103
#define MSR_VM_CR               0xc0010114
#define MSR_VM_HSAVE_PA         0xc0010117
#define MSR_IA32_PRED_CMD       0x00000049
#define MSR_IA32_BIOS_SIGN_ID   0x0000008b
#define MSR_PLATFORM_INFO       0x000000ce
#define MSR_MCG_CAP             0x00000179
#define MSR_MCG_STATUS          0x0000017a
#define MSR_MCG_CTL             0x0000017b
#define MSR_MTRR_PHYS_BASE0     0x00000200
#define MSR_MTRR_PHYS_MASK7     0x0000020f
#define MSR_MTRR_FIX_64K        0x00000250
#define MSR_MTRR_FIX_16K_80     0x00000258
#define MSR_MTRR_FIX_16K_A0     0x00000259
#define MSR_MTRR_FIX_4K_C0      0x00000268
#define MSR_MTRR_FIX_4K_F8      0x0000026f
#define MSR_MC0_CTL             0x00000400
#define MSR_TSC_DEADLINE        0x000006e0
#define MSR_X2APIC_FIRST        0x00000800
#define MSR_X2APIC_LAST         0x000008ff
#define MSR_K7_EVNTSEL0         0xc0010000   /* AMD legacy PerfEvtSel0 (APM 2, 13.3.1) */
#define MSR_K7_PERFCTR3         0xc0010007
#define MSR_AMD_SYSCFG          0xc0010010
#define MSR_AMD_INT_PENDING_MSG 0xc0010055

#endif
