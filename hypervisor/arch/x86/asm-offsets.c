/* Offsets for assembly, generated at build time into asm-offsets.h. */
#include <stddef.h>
#include <core/vm.h>

#define OFFSET(sym, type, member) \
	__asm__ volatile("\n@@OFFSET " #sym " %0" : : "i"(offsetof(type, member)))

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
}
