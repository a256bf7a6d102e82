/* SPDX-License-Identifier: MIT */
/*
 * Kestrel hypercalls (include/hv/hypercall.h): VMMCALL or VMCALL, chosen
 * once from CPUID 0x40000001 EDX.
 */
#include <hv/hypercall.h>
#include "cpu.h"

static bool hc_vmmcall;

void hypercall_init(void)
{
	struct cpuid_regs base = cpuid(HV_CPUID_LEAF_BASE, 0);

	boot_info.hv_detected = base.ebx == HV_CPUID_SIGNATURE_EBX &&
				base.ecx == HV_CPUID_SIGNATURE_ECX &&
				base.edx == HV_CPUID_SIGNATURE_EDX &&
				base.eax >= HV_CPUID_LEAF_FEATURES;
	if (boot_info.hv_detected)
		boot_info.hv_features = cpuid(HV_CPUID_LEAF_FEATURES, 0).edx;
	hc_vmmcall = boot_info.hv_features & HV_FEATURE_VMMCALL;
}

bool hypercall_uses_vmmcall(void)
{
	return hc_vmmcall;
}

const char *hypercall_insn_name(void)
{
	return hc_vmmcall ? "vmmcall" : "vmcall";
}

long hypercall(unsigned long nr, unsigned long a1, unsigned long a2, unsigned long a3)
{
	long ret = (long)nr;

	trap_fault_reset();
	if (hc_vmmcall)
		asm volatile(FAULT_SITE("vmmcall")
			     : "+a"(ret) : "D"(a1), "S"(a2), "d"(a3) : "memory");
	else
		asm volatile(FAULT_SITE("vmcall")
			     : "+a"(ret) : "D"(a1), "S"(a2), "d"(a3) : "memory");
	return trap_fault_vector() < 0 ? ret : HC_FAULTED;
}

void hv_poweroff(unsigned long status)
{
	hypercall(HV_HC_POWEROFF, status, 0, 0);
	kprintf("kestrel-minimal: HV_HC_POWEROFF returned, halting\n");
	halt_forever();
}
