/*
 * int vmx_vmenter(struct vcpu *v, int launched)
 *
 * Loads the guest GPRs (RSP and RIP come from the VMCS) and enters with
 * VMLAUNCH or VMRESUME. A VM exit lands at vmx_exit_stub (HOST_RIP) on the
 * stack recorded in HOST_RSP, stores the guest GPRs and returns 0. If the
 * instruction itself fails (VMfailValid/VMfailInvalid), returns 1.
 */
#include <asm-offsets.h>

#define VMCS_HOST_RSP 0x6c14

	.text
	.globl vmx_vmenter
vmx_vmenter:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi                 /* struct vcpu *, found again by the exit stub */

	movq $VMCS_HOST_RSP, %rax
	vmwrite %rsp, %rax
	jbe 2f
	testl %esi, %esi           /* flags survive the MOVs below */

	movq VCPU_RAX(%rdi), %rax
	movq VCPU_RCX(%rdi), %rcx
	movq VCPU_RDX(%rdi), %rdx
	movq VCPU_RBX(%rdi), %rbx
	movq VCPU_RBP(%rdi), %rbp
	movq VCPU_RSI(%rdi), %rsi
	movq VCPU_R8(%rdi), %r8
	movq VCPU_R9(%rdi), %r9
	movq VCPU_R10(%rdi), %r10
	movq VCPU_R11(%rdi), %r11
	movq VCPU_R12(%rdi), %r12
	movq VCPU_R13(%rdi), %r13
	movq VCPU_R14(%rdi), %r14
	movq VCPU_R15(%rdi), %r15
	movq VCPU_RDI(%rdi), %rdi
	jnz 1f
	vmlaunch
	jmp 2f
1:	vmresume
2:	/* VMfail: the guest registers were not entered; host state is on the stack. */
	popq %rdi
	movl $1, %eax
	jmp 3f

	.globl vmx_exit_stub
vmx_exit_stub:
	pushq %rdi                 /* guest RDI */
	movq 8(%rsp), %rdi         /* struct vcpu * */
	movq %rax, VCPU_RAX(%rdi)
	movq %rcx, VCPU_RCX(%rdi)
	movq %rdx, VCPU_RDX(%rdi)
	movq %rbx, VCPU_RBX(%rdi)
	movq %rbp, VCPU_RBP(%rdi)
	movq %rsi, VCPU_RSI(%rdi)
	movq %r8, VCPU_R8(%rdi)
	movq %r9, VCPU_R9(%rdi)
	movq %r10, VCPU_R10(%rdi)
	movq %r11, VCPU_R11(%rdi)
	movq %r12, VCPU_R12(%rdi)
	movq %r13, VCPU_R13(%rdi)
	movq %r14, VCPU_R14(%rdi)
	movq %r15, VCPU_R15(%rdi)
	popq %rax
	movq %rax, VCPU_RDI(%rdi)
	popq %rdi
	xorl %eax, %eax
3:	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

	.section .note.GNU-stack, "", @progbits
