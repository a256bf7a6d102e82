/*
 * void svm_vmrun(struct vcpu *v, uint64_t vmcb_pa, uint64_t host_vmcb_pa)
 *
 * VMRUN saves and restores only RAX, RSP and RIP of the guest (they live in
 * the VMCB) and only part of the host state (APM vol. 2, 15.5): the other
 * guest GPRs are switched here, and FS/GS/TR/LDTR and the SYSCALL MSRs with
 * VMLOAD/VMSAVE. Called with GIF = 0.
 */
#include "../guest_gprs.h"

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
	LOAD_GUEST_GPRS %rdi
	movq VCPU_RDI(%rdi), %rdi

	vmload %rax
	vmrun %rax
	vmsave %rax

	pushq %rdi                 /* guest RDI */
	movq 16(%rsp), %rdi        /* struct vcpu * */
	STORE_GUEST_GPRS %rdi
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
