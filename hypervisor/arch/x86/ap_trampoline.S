/*
 * Where an application processor starts after INIT-SIPI-SIPI: in real mode
 * at the start of a page below 1 MiB (smpboot.c copies this code there).
 * It goes to protected mode, turns on PAE, long mode and paging with the
 * hypervisor's page tables (SDM 3, 9.8.5), and jumps to the C entry on the
 * stack smpboot.c gave it. Only offsets within the page are used until the
 * base is known: EBX holds the page's linear address from then on.
 */
#include <asm-offsets.h>
#include <x86/ap_boot.h>

#define DATA(field) (ap_trampoline_data - ap_trampoline + field)
#define CR0_PE      0x00000001
#define CR0_PG      0x80000000
#define CR4_PAE     0x00000020
#define MSR_EFER    0xc0000080
#define EFER_LME_NXE 0x00000900

	.text
	.code16
	.globl ap_trampoline, ap_trampoline_pm32, ap_trampoline_lm64
	.globl ap_trampoline_data, ap_trampoline_end
ap_trampoline:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	xorl %ebx, %ebx
	movw %ax, %bx
	shll $4, %ebx
	lgdtl DATA(APB_GDT_LIMIT)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl *DATA(APB_TO_PM32)

	.code32
ap_trampoline_pm32:
	movl $AP_SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl DATA(APB_CR3)(%ebx), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME_NXE, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmpl *DATA(APB_TO_LM64)(%ebx)

	.code64
ap_trampoline_lm64:
	movl %ebx, %ebx            /* bits 63:32 are undefined after compatibility mode */
	movq DATA(APB_STACK)(%rbx), %rsp
	movq DATA(APB_ARG)(%rbx), %rdi
	jmpq *DATA(APB_ENTRY)(%rbx)

	.balign 16
ap_trampoline_data:
	.skip APB_SIZE
ap_trampoline_end:

	.section .note.GNU-stack, "", @progbits
