/* Offsets for assembly, generated at build time into asm-offsets.h. */
#include <stddef.h>
#include <core/vm.h>
#include <x86/ap_boot.h>

#define OFFSET(sym, type, member) \
	__asm__ volatile("\n@@OFFSET " #sym " %0" : : "i"(offsetof(type, member)))

#define DEFINE(sym, value) \
	__asm__ volatile("\n@@OFFSET " #sym " %0" : : "i"(value))

void asm_offsets(void);

void asm_offsets(void)
{
	OFFSET(VCPU_RAX, struct vcpu, regs.gpr[GPR_RAX]);
	OFFSET(VCPU_RCX, struct vcpu, regs.gpr[GPR_RCX]);
	OFFSET(VCPU_RDX, struct vcpu, regs.gpr[GPR_RDX]);
	OFFSET(VCPU_RBX, struct vcpu, regs.gpr[GPR_RBX]);
	OFFSET(VCPU_RBP, struct vcpu, regs.gpr[GPR_RBP]);
	OFFSET(VCPU_RSI, struct vcpu, regs.gpr[GPR_RSI]);
	OFFSET(VCPU_RDI, struct vcpu, regs.gpr[GPR_RDI]);
	OFFSET(VCPU_R8, struct vcpu, regs.gpr[GPR_R8]);
	OFFSET(VCPU_R9, struct vcpu, regs.gpr[GPR_R9]);
	OFFSET(VCPU_R10, struct vcpu, regs.gpr[GPR_R10]);
	OFFSET(VCPU_R11, struct vcpu, regs.gpr[GPR_R11]);
	OFFSET(VCPU_R12, struct vcpu, regs.gpr[GPR_R12]);
	OFFSET(VCPU_R13, struct vcpu, regs.gpr[GPR_R13]);
	OFFSET(VCPU_R14, struct vcpu, regs.gpr[GPR_R14]);
	OFFSET(VCPU_R15, struct vcpu, regs.gpr[GPR_R15]);
	OFFSET(APB_GDT_LIMIT, struct ap_boot_data, gdt_limit);
	OFFSET(APB_TO_PM32, struct ap_boot_data, to_pm32);
	OFFSET(APB_TO_LM64, struct ap_boot_data, to_lm64);
	OFFSET(APB_CR3, struct ap_boot_data, cr3);
	OFFSET(APB_STACK, struct ap_boot_data, stack);
	OFFSET(APB_ENTRY, struct ap_boot_data, entry);
	OFFSET(APB_ARG, struct ap_boot_data, arg);
	DEFINE(APB_SIZE, sizeof(struct ap_boot_data));
}
