/*
 * Assembly macros shared by the SVM and VMX entry stubs: moving the guest's
 * general-purpose registers between the CPU and struct vcpu (offsets from
 * asm-offsets.h). RAX, RSP and RDI are each backend's business: VMRUN keeps
 * RAX and RSP in the VMCB, and RDI holds the vcpu pointer until last.
 */
#ifndef X86_GUEST_GPRS_H
#define X86_GUEST_GPRS_H

#include <asm-offsets.h>

/* Load RCX, RDX, RBX, RBP, RSI, R8-R15 from the vcpu at \base. */
.macro LOAD_GUEST_GPRS base
	movq VCPU_RCX(\base), %rcx
	movq VCPU_RDX(\base), %rdx
	movq VCPU_RBX(\base), %rbx
	movq VCPU_RBP(\base), %rbp
	movq VCPU_RSI(\base), %rsi
	movq VCPU_R8(\base), %r8
	movq VCPU_R9(\base), %r9
	movq VCPU_R10(\base), %r10
	movq VCPU_R11(\base), %r11
	movq VCPU_R12(\base), %r12
	movq VCPU_R13(\base), %r13
	movq VCPU_R14(\base), %r14
	movq VCPU_R15(\base), %r15
.endm

/* Store the same registers into the vcpu at \base. */
.macro STORE_GUEST_GPRS base
	movq %rcx, VCPU_RCX(\base)
	movq %rdx, VCPU_RDX(\base)
	movq %rbx, VCPU_RBX(\base)
	movq %rbp, VCPU_RBP(\base)
	movq %rsi, VCPU_RSI(\base)
	movq %r8, VCPU_R8(\base)
	movq %r9, VCPU_R9(\base)
	movq %r10, VCPU_R10(\base)
	movq %r11, VCPU_R11(\base)
	movq %r12, VCPU_R12(\base)
	movq %r13, VCPU_R13(\base)
	movq %r14, VCPU_R14(\base)
	movq %r15, VCPU_R15(\base)
.endm

#endif
