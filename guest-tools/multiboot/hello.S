/*
 * A tiny Multiboot (v1) ELF32 kernel of the kind built for QEMU's -kernel:
 * it checks the boot magic, prints its command line and the memory size
 * from the Multiboot information on COM1, and leaves through the
 * isa-debug-exit port 0xf4 with status 0 (or 1 on a bad magic). The same
 * image runs under QEMU directly and under Kestrel (`boot = multiboot`).
 */
#define MB_MAGIC   0x1badb002
#define MB_FLAGS   0x00000003          /* page-align modules, memory info */
#define COM1       0x3f8
#define DEBUG_EXIT 0xf4

	.code32
	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.globl start
start:
	mov $stack_top, %esp
	cmp $0x2badb002, %eax
	jne bad_magic
	mov %ebx, %edi                     /* struct multiboot_info */
	mov $msg_hello, %esi
	call puts
	testl $4, (%edi)                   /* MBI_CMDLINE */
	jz 1f
	mov 16(%edi), %esi
	call puts
1:	mov $msg_mem, %esi
	call puts
	mov 8(%edi), %eax                  /* mem_upper, KiB */
	call puthex
	mov $msg_end, %esi
	call puts
	xor %eax, %eax
	jmp leave

bad_magic:
	mov $msg_bad, %esi
	call puts
	mov $1, %eax
leave:
	mov $DEBUG_EXIT, %dx
	outl %eax, %dx
	cli
2:	hlt
	jmp 2b

/* putc(al): wait for THR empty (LSR bit 5), then send. */
putc:
	push %edx
	push %eax
	mov $COM1 + 5, %dx
3:	inb %dx, %al
	test $0x20, %al
	jz 3b
	pop %eax
	mov $COM1, %dx
	outb %al, %dx
	pop %edx
	ret

/* puts(esi): NUL-terminated string. */
puts:
	lodsb
	test %al, %al
	jz 4f
	call putc
	jmp puts
4:	ret

/* puthex(eax): eight hex digits. */
puthex:
	mov $8, %ecx
5:	rol $4, %eax
	push %eax
	and $0xf, %al
	add $'0', %al
	cmp $'9', %al
	jbe 6f
	add $7, %al
6:	call putc
	pop %eax
	loop 5b
	ret

	.section .rodata
msg_hello: .asciz "multiboot-hello: magic ok, cmdline \""
msg_mem:   .asciz "\", mem_upper 0x"
msg_end:   .asciz " KiB\n"
msg_bad:   .asciz "multiboot-hello: bad boot magic\n"

	.bss
	.align 16
	.space 4096
stack_top:

	.section .note.GNU-stack, "", @progbits
