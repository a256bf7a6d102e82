/* What the APs' start-up code (arch/x86/ap_trampoline.S) reads from the
 * end of its page: filled in by smpboot.c for each AP in turn. */
#ifndef X86_AP_BOOT_H
#define X86_AP_BOOT_H

#define AP_SEL_CODE32 0x08
#define AP_SEL_DATA   0x10
#define AP_SEL_CODE64 0x18

#ifndef __ASSEMBLY__
#include <stdint.h>

struct far_ptr32 {
	uint32_t offset;
	uint16_t selector;
	uint16_t pad;
} __attribute__((packed));

struct ap_boot_data {
	uint64_t gdt[4];             /* null, 32-bit code, data, 64-bit code */
	uint16_t pad[3];
	uint16_t gdt_limit;          /* LGDT operand: limit, then 32-bit base */
	uint32_t gdt_base;
	struct far_ptr32 to_pm32;    /* far jump into 32-bit protected mode */
	struct far_ptr32 to_lm64;    /* and into 64-bit mode */
	uint32_t cr3;                /* the host page tables (below 4 GiB) */
	uint64_t stack;
	uint64_t entry;              /* void entry(struct pcpu *) */
	uint64_t arg;
} __attribute__((packed));
_Static_assert(sizeof(struct ap_boot_data) == 88, "ap_boot_data layout");

#endif /* __ASSEMBLY__ */
#endif
