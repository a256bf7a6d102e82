/* SPDX-License-Identifier: MIT */
/*
 * Kestrel hypercall ABI, shared by the hypervisor and its guests.
 *
 * Discovery (CPUID, executed by the guest):
 *   leaf 0x40000000: EAX = highest hypervisor leaf (>= 0x40000001),
 *                    EBX:ECX:EDX = "KestrelHV\0\0\0" (HV_CPUID_SIGNATURE_*).
 *   leaf 0x40000001: EAX = HV_ABI_VERSION, EDX = HV_FEATURE_* flags.
 *
 * Calling convention:
 *   instruction  VMMCALL (0f 01 d9) when HV_FEATURE_VMMCALL is set, else
 *                VMCALL (0f 01 c1). Only CPL 0 may call; other callers get
 *                HV_EPERM.
 *   RAX = call number, RDI, RSI, RDX = arguments 1..3.
 *   RAX = result on return (negative values are HV_E* errors). All other
 *   general-purpose registers are preserved.
 */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

#define HV_CPUID_LEAF_BASE      0x40000000u
#define HV_CPUID_LEAF_FEATURES  0x40000001u
/* "KestrelHV\0\0\0" as EBX, ECX, EDX (little-endian). */
#define HV_CPUID_SIGNATURE_EBX  0x7473654bu /* "Kest" */
#define HV_CPUID_SIGNATURE_ECX  0x486c6572u /* "relH" */
#define HV_CPUID_SIGNATURE_EDX  0x00000056u /* "V\0\0\0" */

#define HV_ABI_VERSION          1u

/* CPUID 0x40000001 EDX */
#define HV_FEATURE_VMMCALL      (1u << 0) /* use VMMCALL, not VMCALL */
#define HV_FEATURE_TIMER        (1u << 1) /* HV_HC_TIMER_SET is available */

/* Call numbers (RAX). */
#define HV_HC_ABI_VERSION  0 /* -> HV_ABI_VERSION */
#define HV_HC_POWEROFF     1 /* arg1 = exit status (0 = success); does not return */
#define HV_HC_TIMER_SET    2 /* arg1 = TSC deadline (0 cancels), arg2 = vector
                              * (32..255) -> 0. One-shot, per vCPU: the calling
                              * vCPU gets the vector as an external interrupt
                              * once the guest TSC reaches the deadline (within
                              * a host timer tick, 1 ms), whether it is running
                              * or halted; it stays pending while the guest has
                              * interrupts disabled. Arming again replaces the
                              * old deadline. No acknowledgement is needed. */
#define HV_HC_TSC_KHZ      3 /* -> guest TSC frequency in kHz */
#define HV_HC_BENCH_FLOOR  4 /* arg1 = count, arg2 = HV_BENCH_EXIT_*, arg3 =
                              * instruction length (1..15): serve the calling
                              * vCPU's next `count` exits of that kind from the
                              * backend's empty loop (only RIP advances; no
                              * register changes), to measure the exit round-trip
                              * floor -> 0. A new call replaces what is left. */
#define HV_HC_NOP          5 /* full dispatch, no work -> 0 */

#define HV_BENCH_EXIT_CPUID     1
#define HV_BENCH_EXIT_HYPERCALL 2

/*
 * The platform every Kestrel VM sees (what the minimal guest checks):
 *   - guest-physical 0..mem_size is RAM; every other address reads all-ones
 *     and drops writes (each access is counted); port I/O that no device
 *     claims behaves the same;
 *   - a 16550 UART at port 0x3f8 (transmit; output goes to the host's
 *     serial line, one line at a time, prefixed with "[<vm name>] ");
 *   - MSRs the hypervisor does not implement raise #GP;
 *   - CPUID.1:EBX[31:24] (initial APIC ID) is the vCPU index, at most
 *     HV_MAX_VCPUS vCPUs.
 */
#define HV_MAX_VCPUS 8

/* Errors (negated in RAX). */
#define HV_EPERM   1
#define HV_EINVAL  22
#define HV_ENOSYS  38

#endif
