/*
 * Speculation barriers between VMs (security review S1). When the CPU runs
 * a vCPU of another VM than the one it ran last, an indirect branch
 * prediction barrier (IBPB: WRMSR IA32_PRED_CMD, bit 0) keeps the previous
 * VM's branch-target training from steering the next one, as KVM does on
 * a VMCB/VMCS switch. Only on CPUs that have it (CPUID.7.0:EDX[26] on
 * Intel, CPUID.80000008H:EBX[12] on AMD); under QEMU TCG and Bochs it is
 * absent or a no-op.
 */
#include <x86/cpuid_bits.h>
#include <x86/percpu.h>
#include <x86/processor.h>
#include <x86/spec_ctrl.h>

#define PRED_CMD_IBPB          (1ull << 0)

static bool have_ibpb;

void spec_ctrl_init(void)
{
	have_ibpb = (cpuid(0, 0).eax >= 7 && (cpuid(7, 0).edx & CPUID_7_EDX_IBRS_IBPB)) ||
		    (cpuid(0x80000000, 0).eax >= 0x80000008 &&
		     (cpuid(0x80000008, 0).ebx & CPUID_8_8_EBX_IBPB));
}

void spec_ctrl_vm_switch(const void *vm)
{
	if (vm == this_cpu()->spec_last_vm)
		return;
	this_cpu()->spec_last_vm = vm;
	if (have_ibpb)
		wrmsr(MSR_IA32_PRED_CMD, PRED_CMD_IBPB);
}
