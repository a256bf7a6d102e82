/* Exception and interrupt entry stubs: build a struct trap_frame
 * (include/x86/cpu.h) and call trap_handle(). */

	.text
	.align 16
trap_common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rbx
	pushq %rbp
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	movq %rsp, %rbx            /* callee-saved: the frame */
	andq $-16, %rsp
	cld
	call trap_handle
	movq %rbx, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rbp
	popq %rbx
	popq %rdx
	popq %rcx
	popq %rax
	addq $16, %rsp             /* vector, error code */
	iretq

	.altmacro
	/* Vectors for which the CPU pushes an error code get none pushed here
	 * (SDM vol. 3, 6.15); the others push a zero so frames look alike. */
	.macro stub v
	.align 16
trap_stub_\v:
	.if !(\v == 8 || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21 || \v == 29 || \v == 30)
	pushq $0
	.endif
	pushq $\v
	jmp trap_common
	.endm

	.set vec, 0
	.rept 256
	stub %vec
	.set vec, vec + 1
	.endr

	.section .data
	.align 8
	.globl trap_stubs
trap_stubs:
	.set vec, 0
	.macro stubaddr v
	.quad trap_stub_\v
	.endm
	.rept 256
	stubaddr %vec
	.set vec, vec + 1
	.endr

	.section .note.GNU-stack, "", @progbits
