/* SPDX-License-Identifier: MIT */
/*
 * Entry from the Kestrel boot protocol (include/hv/start_info.h): long mode,
 * the hypervisor's identity map, RDI = start info, RSI = vCPU index, RSP = 0.
 * Every vCPU starts here at once. vCPU 0 clears .bss and builds the page
 * tables and the IDT; the others spin on boot_ready (in .data, so clearing
 * .bss cannot race with it) and only then touch .bss (their stacks).
 * Afterwards each vCPU loads our GDT, IDT and CR3, which frees the boot data
 * area, and counts itself in boot_vcpus_online.
 */
#include "kernel.h"

/* Vectors for which the CPU pushes an error code (SDM vol. 3, table 6-1). */
#define ERRCODE_VECTORS ((1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | \
			 (1 << 13) | (1 << 14) | (1 << 17) | (1 << 21) | \
			 (1 << 29) | (1 << 30))

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
	/* x86 stores are seen in order: the tables are visible before this. */
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
	pushq	$GDT_CODE			/* reload CS from our GDT */
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
 * Exception and interrupt stubs: push a dummy error code where the CPU
 * does not, then the vector, so trap_common sees one frame layout
 * (struct trap_frame in kernel.h).
 */
	.text
.macro TRAP_STUB vec
trap_stub_\vec:
	.ifeq	(ERRCODE_VECTORS >> \vec) & 1
	pushq	$0
	.endif
	pushq	$\vec
	jmp	trap_common
.endm

	.irp	vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	TRAP_STUB \vec
	.endr

	.globl	trap_stub_timer
trap_stub_timer:
	pushq	$0
	pushq	$TIMER_VECTOR
	jmp	trap_common

	.globl	trap_stub_apic
trap_stub_apic:
	pushq	$0
	pushq	$APIC_VECTOR
	jmp	trap_common

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

	.section .rodata
	.balign	8
	.globl	trap_stubs
trap_stubs:
	.irp	vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	trap_stub_\vec
	.endr

	.data
/*
 * Flat 64-bit GDT (SDM vol. 3, 3.4.5 and 5.2.1; APM vol. 2, 4.8.1-4.8.2).
 * Code: P, DPL 0, S, type execute/read accessed, L = 1, D = 0, G.
 * Data: P, DPL 0, S, type read/write accessed, D/B = 1, G.
 * The accessed bits are preset so the CPU never writes the table.
 */
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
boot_gdt_desc:
	.word	boot_gdt_end - boot_gdt - 1
	.quad	boot_gdt
	.balign	8
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
