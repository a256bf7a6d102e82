/*
 * CPUID feature bits Kestrel reads or filters, one place for all of them
 * (SDM vol. 2A, CPUID; APM vol. 3, appendix E). Named CPUID_<leaf>_<reg>_<bit>;
 * 8_x is leaf 0x8000000x.
 */
#ifndef X86_CPUID_BITS_H
#define X86_CPUID_BITS_H

/* Leaf 1 ECX */
#define CPUID_1_ECX_DTES64       (1u << 2)    /* 64-bit debug store */
#define CPUID_1_ECX_MONITOR      (1u << 3)
#define CPUID_1_ECX_DS_CPL       (1u << 4)
#define CPUID_1_ECX_VMX          (1u << 5)
#define CPUID_1_ECX_SMX          (1u << 6)
#define CPUID_1_ECX_TM2          (1u << 8)    /* thermal monitor MSRs */
#define CPUID_1_ECX_PDCM         (1u << 15)   /* IA32_PERF_CAPABILITIES */
#define CPUID_1_ECX_X2APIC       (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_OSXSAVE      (1u << 27)
#define CPUID_1_ECX_RDRAND       (1u << 30)
#define CPUID_1_ECX_HYPERVISOR   (1u << 31)
/* Leaf 1 EDX */
#define CPUID_1_EDX_MCE          (1u << 7)
#define CPUID_1_EDX_DS           (1u << 21)   /* debug store: IA32_DS_AREA */
#define CPUID_1_EDX_APIC         (1u << 9)
#define CPUID_1_EDX_ACPI         (1u << 22)   /* thermal monitor and clock control MSRs */
#define CPUID_1_EDX_TM           (1u << 29)
#define CPUID_1_EDX_MTRR         (1u << 12)
#define CPUID_1_EDX_MCA          (1u << 14)
#define CPUID_1_EDX_HTT          (1u << 28)
/* Leaf 0x80000001 */
#define CPUID_8_1_ECX_SVM        (1u << 2)
#define CPUID_8_1_ECX_SKINIT     (1u << 12)
#define CPUID_8_1_ECX_PERFCTR_CORE (1u << 23)
#define CPUID_8_1_ECX_PERFCTR_NB (1u << 24)
#define CPUID_8_1_ECX_PERFCTR_LLC (1u << 28)
#define CPUID_8_1_EDX_RDTSCP     (1u << 27)
#define CPUID_7_EBX_TSC_ADJUST   (1u << 1)
#define CPUID_7_ECX_RDPID        (1u << 22)
#define CPUID_7_ECX_PKS          (1u << 31)   /* supervisor keys: IA32_PKRS */
/* Leaf 7.0 EDX and 0x80000008 EBX: speculation-control MSRs (SPEC_CTRL,
 * PRED_CMD, FLUSH_CMD, ARCH_CAPABILITIES), which are not emulated. */
#define CPUID_7_EDX_SPEC_CTRL_BITS  ((1u << 26) | (1u << 27) | (1u << 28) | \
				     (1u << 29) | (1u << 31))
#define CPUID_8_8_EBX_SPEC_CTRL_BITS ((1u << 12) | (1u << 14) | (1u << 15) | \
				      (1u << 24) | (1u << 25))
#define CPUID_D_1_EAX_XSAVES     (1u << 3)
#define CPUID_6_EAX_ARAT         (1u << 2)
#define CPUID_8_7_EDX_INVARIANT_TSC (1u << 8)
#define CPUID_8_8_EBX_RDPRU      (1u << 4)    /* it would read the host's APERF/MPERF */
#define CPUID_1_ECX_XSAVE        (1u << 26)
#define CPUID_1_EDX_FXSR         (1u << 24)
#define CPUID_7_EDX_IBRS_IBPB    (1u << 26)
#define CPUID_8_8_EBX_IBPB       (1u << 12)
#define CPUID_8_A_EDX_NP         (1u << 0)    /* SVM: nested paging */

#endif
