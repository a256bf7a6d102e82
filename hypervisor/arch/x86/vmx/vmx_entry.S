/*
 * int vmx_vmenter(struct vcpu *v, int launched)
 *
 * Loads the guest GPRs (RSP and RIP come from the VMCS) and enters with
 * VMLAUNCH or VMRESUME. A VM exit lands at vmx_exit_stub (HOST_RIP) on the
 * stack recorded in HOST_RSP, stores the guest GPRs and returns 0. If the
 * instruction itself fails (VMfailValid/VMfailInvalid), returns 1.
 */
#include "../guest_gprs.h"

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
	LOAD_GUEST_GPRS %rdi
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
	STORE_GUEST_GPRS %rdi
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
