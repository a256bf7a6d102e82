/*
 * void svm_vmrun(struct vcpu *v, uint64_t vmcb_pa, uint64_t host_vmcb_pa)
 *
 * VMRUN saves and restores only RAX, RSP and RIP of the guest (they live in
 * the VMCB) and only part of the host state (APM vol. 2, 15.5): the other
 * guest GPRs are switched here, and FS/GS/TR/LDTR and the SYSCALL MSRs with
 * VMLOAD/VMSAVE. Called with GIF = 0.
 */
#include <asm-offsets.h>

	.text
	.globl svm_vmrun
svm_vmrun:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi                 /* struct vcpu * */
	pushq %rdx                 /* host VMCB (VMSAVE area) */

	movq %rsi, %rax            /* guest VMCB */
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

	vmload %rax
	vmrun %rax
	vmsave %rax

	pushq %rdi                 /* guest RDI */
	movq 16(%rsp), %rdi        /* struct vcpu * */
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

	popq %rax                  /* host VMCB */
	vmload %rax
	popq %rdi
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

	.section .note.GNU-stack, "", @progbits
