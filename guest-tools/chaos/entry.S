/* SPDX-License-Identifier: MIT */
/*
 * Entry from the Kestrel boot protocol (include/hv/start_info.h), as in the
 * minimal guest: every vCPU starts here at once; vCPU 0 clears .bss and
 * builds the page tables and the IDT while the others spin on boot_ready.
 *
 * Differences from the minimal guest: one interrupt stub for each of the
 * 256 vectors, and each stub decides at run time whether the CPU pushed an
 * error code (so INT n to an exception vector that has one, or an external
 * interrupt on such a vector, keeps the frame layout); and op_try(), a
 * setjmp through which trap.c brings an op that faulted outside a fault
 * site back to its start.
 */
#include "chaos.h"

	.section .text.entry, "ax"
	.globl	_start
	.type	_start, @function
_start:
	cli
	cld
	mov	%rdi, %r12			/* start info, for kmain */
	mov	%rsi, %r13			/* vCPU index */
	test	%rsi, %rsi
	jnz	.Lwait_boot

	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	shr	$3, %rcx
	xor	%eax, %eax
	rep stosq
	lea	boot_stacks + STACK_SIZE(%rip), %rsp
	call	paging_build
	call	trap_init
	movl	$1, boot_ready(%rip)
	jmp	.Lload_tables

.Lwait_boot:
	pause
	cmpl	$0, boot_ready(%rip)
	je	.Lwait_boot

.Lload_tables:
	lgdt	boot_gdt_desc(%rip)
	lidt	boot_idt_desc(%rip)
	lea	boot_pml4(%rip), %rax
	mov	%rax, %cr3
	lock incl boot_vcpus_online(%rip)
	cmp	$MAX_VCPUS, %r13
	jae	.Lpark

	lea	1(%r13), %rax			/* stack top: slot (vcpu + 1) */
	shl	$STACK_SHIFT, %rax
	lea	boot_stacks(%rip), %rsp
	add	%rax, %rsp
	mov	$GDT_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	pushq	$GDT_CODE
	lea	.Lnew_cs(%rip), %rax
	push	%rax
	lretq
.Lnew_cs:
	mov	%r12, %rdi
	mov	%r13, %rsi
	xor	%ebp, %ebp
	call	kmain
.Lpark:
	cli
	hlt
	jmp	.Lpark
	.size	_start, . - _start

/*
 * 256 stubs of STUB_SIZE bytes each (trap.c: handler = base + 32 * vector).
 * Without an error code the CPU's frame is RIP, CS, ...; with one it is
 * ERR, RIP, CS. Our CS is always GDT_CODE and no RIP of ours is that
 * small, so 8(%rsp) == GDT_CODE means "no error code": push a dummy.
 */
	.text
	.balign	STUB_SIZE
	.globl	trap_stubs_base
trap_stubs_base:
	.set	vec, 0
	.rept	IDT_ENTRIES
	.balign	STUB_SIZE
	cmpq	$GDT_CODE, 8(%rsp)
	jne	1f
	pushq	$0
1:	pushq	$vec
	jmp	trap_common
	.set	vec, vec + 1
	.endr

/* The CPU aligned RSP to 16 before its 5-word frame; 2 + 15 words keep it. */
trap_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	cld
	call	trap_dispatch
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp			/* vector, error code */
	iretq

/* int op_try(struct jmpctx *c): 0 now; 1 when trap.c comes back here. */
	.globl	op_try
	.type	op_try, @function
op_try:
	mov	%rbx, 0(%rdi)
	mov	%rbp, 8(%rdi)
	mov	%r12, 16(%rdi)
	mov	%r13, 24(%rdi)
	mov	%r14, 32(%rdi)
	mov	%r15, 40(%rdi)
	lea	8(%rsp), %rax
	mov	%rax, 48(%rdi)
	mov	(%rsp), %rax
	mov	%rax, 56(%rdi)
	xor	%eax, %eax
	ret
	.size	op_try, . - op_try

/*
 * void snip_call(uint64_t code, struct snipregs *r): runs generated code
 * (ops.c) with RAX, RCX, RDX, RBX, RSI, RDI, R8 from *r and stores them
 * back. The code ends in RET; trap.c sends a faulting one to that RET.
 */
	.globl	snip_call
	.type	snip_call, @function
snip_call:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsi, %r12
	mov	%rdi, %r13
	mov	0(%r12), %rax
	mov	8(%r12), %rcx
	mov	16(%r12), %rdx
	mov	24(%r12), %rbx
	mov	32(%r12), %rsi
	mov	40(%r12), %rdi
	mov	48(%r12), %r8
	call	*%r13
	mov	%rax, 0(%r12)
	mov	%rcx, 8(%r12)
	mov	%rdx, 16(%r12)
	mov	%rbx, 24(%r12)
	mov	%rsi, 32(%r12)
	mov	%rdi, 40(%r12)
	mov	%r8, 48(%r12)
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret
	.size	snip_call, . - snip_call

/*
 * The SIPI trampoline (copied to TRAMPOLINE_PA, SIPI vector 7 by ops.c):
 * a vCPU that got INIT and SIPI starts here in real mode, goes to long
 * mode on our page tables (tramp_cr3) and continues in ap_reentry.
 */
#define TRAMPOLINE_PA 0x7000
#define T(label) (TRAMPOLINE_PA + (label) - ap_tramp_start)
	.section .rodata
	.balign	16
	.globl	ap_tramp_start, ap_tramp_end, ap_tramp_cr3, ap_tramp_entry
	.code16
ap_tramp_start:
	cli
	cld
	mov	%cs, %ax
	mov	%ax, %ds
	lgdtl	(tramp_gdt_desc - ap_tramp_start)
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$0x18, $T(.Ltramp32)
	.code32
.Ltramp32:
	mov	$0x20, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%cr4, %eax
	or	$0x20, %eax			/* PAE */
	mov	%eax, %cr4
	mov	T(ap_tramp_cr3), %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx		/* EFER: LME, NXE */
	rdmsr
	or	$0x900, %eax
	wrmsr
	mov	$0x80010033, %eax		/* PG WP NE ET MP PE */
	mov	%eax, %cr0
	ljmp	$0x08, $T(.Ltramp64)
	.code64
.Ltramp64:
	mov	T(ap_tramp_entry), %rax
	jmp	*%rax
	.balign	8
tramp_gdt:
	.quad	0
	.quad	0x00af9b000000ffff		/* 0x08 64-bit code */
	.quad	0x00cf93000000ffff		/* 0x10 data */
	.quad	0x00cf9b000000ffff		/* 0x18 32-bit code */
	.quad	0x00cf93000000ffff		/* 0x20 data */
tramp_gdt_end:
tramp_gdt_desc:
	.word	tramp_gdt_end - tramp_gdt - 1
	.long	T(tramp_gdt)
	.balign	8
ap_tramp_cr3:
	.quad	0
ap_tramp_entry:
	.quad	0
ap_tramp_end:

	.text
/* Long mode after the trampoline: our GDT, IDT and stack, then C. */
	.globl	ap_reentry
ap_reentry:
	lgdt	boot_gdt_desc(%rip)
	lidt	boot_idt_desc(%rip)
	mov	$1, %eax
	cpuid
	shr	$24, %ebx			/* initial APIC ID = vCPU index */
	mov	%rbx, %r13
	cmp	$MAX_VCPUS, %r13
	jae	.Lpark
	lea	1(%r13), %rax
	shl	$STACK_SHIFT, %rax
	lea	boot_stacks(%rip), %rsp
	add	%rax, %rsp
	mov	$GDT_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	pushq	$GDT_CODE
	lea	.Lap_cs(%rip), %rax
	push	%rax
	lretq
.Lap_cs:
	mov	%r13, %rdi
	xor	%ebp, %ebp
	call	ap_restart
	jmp	.Lpark

/* A guest-physical hole for RIP-relative MMIO forms (ops.c). */
	.globl	chaos_hole
	.set	chaos_hole, 0x7ff00000

	.data
/* Flat 64-bit GDT, as the minimal guest's (accessed bits preset). */
	.balign	16
boot_gdt:
	.quad	0
.Lgdt_code:
	.quad	0x00af9b000000ffff
.Lgdt_data:
	.quad	0x00cf93000000ffff
boot_gdt_end:
	.if	(.Lgdt_code - boot_gdt != GDT_CODE) || (.Lgdt_data - boot_gdt != GDT_DATA)
	.error	"GDT layout does not match GDT_CODE/GDT_DATA"
	.endif

	.balign	8
	.globl	boot_gdt_desc
boot_gdt_desc:
	.word	boot_gdt_end - boot_gdt - 1
	.quad	boot_gdt
	.balign	8
	.globl	boot_idt_desc
boot_idt_desc:
	.word	IDT_ENTRIES * IDT_GATE_SIZE - 1
	.quad	idt_table

	.balign	4
boot_ready:
	.long	0
	.globl	boot_vcpus_online
boot_vcpus_online:
	.long	0

	.bss
	.balign	4096
	.globl	boot_stacks
boot_stacks:
	.skip	MAX_VCPUS * STACK_SIZE

	.section .note.GNU-stack, "", @progbits
