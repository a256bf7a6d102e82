/* The hypervisor's own GDT, TSS and IDT, and the trap handler. Each CPU
 * has its own GDT and TSS (in its struct pcpu); they share one IDT. */
#include <core/page_alloc.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/cpu.h>
#include <x86/paging.h>
#include <x86/percpu.h>
#include <x86/processor.h>

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate (SDM vol. 3, 6.14.1)");

struct dt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

#define IST_STACK_PAGES 2
#define IST_FATAL 1   /* #DF, NMI, #MC run on their own stack */

static struct idt_gate idt[256];

/* Stub table from entry.S: one entry per vector. */
extern const uint64_t trap_stubs[256];

struct pcpu *pcpu_alloc(unsigned id)
{
	uint64_t stack = page_alloc(HV_STACK_PAGES, HV_STACK_PAGES);
	uint64_t ist = page_alloc(IST_STACK_PAGES, 1);
	struct pcpu *c;

	if (!stack || !ist) {
		if (stack)
			page_free(stack, HV_STACK_PAGES);
		if (ist)
			page_free(ist, IST_STACK_PAGES);
		return NULL;
	}
	c = (struct pcpu *)(uintptr_t)(stack + HV_STACK_SIZE - sizeof(struct pcpu));
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->ist_stack_top = ist + IST_STACK_PAGES * PAGE_SIZE;
	return c;
}

static void gdt_init(uint64_t *gdt, const struct tss64 *tss)
{
	uint64_t base = (uintptr_t)tss, limit = sizeof(*tss) - 1;

	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull;   /* 64-bit code, DPL 0 */
	gdt[2] = 0x00cf93000000ffffull;   /* data, DPL 0 */
	/* 64-bit available TSS, 16-byte descriptor (SDM vol. 3, 8.2.3). */
	gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		 ((limit >> 16) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[4] = base >> 32;
}

static void idt_set(unsigned vector, uint64_t handler, uint8_t ist)
{
	idt[vector] = (struct idt_gate){
		.offset_lo = handler & 0xffff,
		.selector = HOST_CS,
		.ist = ist,
		.type_attr = 0x8e,             /* present, DPL 0, interrupt gate */
		.offset_mid = (handler >> 16) & 0xffff,
		.offset_hi = handler >> 32,
	};
}

/* The boot CPU fills the shared IDT first; every CPU loads its own GDT
 * and TSS. */
void cpu_tables_init(void)
{
	struct pcpu *c = this_cpu();
	struct dt_ptr gdtr = { sizeof(c->gdt) - 1, (uintptr_t)c->gdt };
	struct dt_ptr idtr = { sizeof(idt) - 1, (uintptr_t)idt };

	c->tss.ist[IST_FATAL - 1] = c->ist_stack_top;
	c->tss.iomap_base = sizeof(c->tss);
	gdt_init(c->gdt, &c->tss);
	for (unsigned v = 0; c->id == 0 && v < 256; v++) {
		bool fatal = v == X86_EXC_DF || v == X86_EXC_NMI || v == X86_EXC_MC;

		idt_set(v, trap_stubs[v], fatal ? IST_FATAL : 0);
	}
	__asm__ volatile(
		"lgdt %0\n\t"
		"pushq %2\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movl %3, %%eax\n\t"
		"movl %%eax, %%ds\n\t"
		"movl %%eax, %%es\n\t"
		"movl %%eax, %%ss\n\t"
		"xorl %%eax, %%eax\n\t"
		"movl %%eax, %%fs\n\t"
		"movl %%eax, %%gs\n\t"
		"movw %4, %%ax\n\t"
		"ltr %%ax\n\t"
		"lidt %1\n\t"
		: : "m"(gdtr), "m"(idtr), "i"((uint64_t)HOST_CS), "i"(HOST_DS), "i"(HOST_TSS)
		: "rax", "memory");
}

static const char *const exception_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound", "#UD invalid opcode", "#NM no FPU", "#DF double fault", "coprocessor",
	"#TS invalid TSS", "#NP not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved", "#MF x87", "#AC alignment", "#MC machine check",
	"#XM SIMD", "#VE", "#CP",
};

static void trap_dump(const struct trap_frame *f)
{
	const char *name = f->vector < 32 ? exception_names[f->vector] : NULL;

	printk("\n*** hypervisor exception %lu (%s), error 0x%lx ***\n", f->vector,
	       name ? name : "?", f->error);
	printk("RIP %016lx CS %04lx RFLAGS %016lx RSP %016lx SS %04lx\n",
	       f->rip, f->cs, f->rflags, f->rsp, f->ss);
	printk("RAX %016lx RBX %016lx RCX %016lx RDX %016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	printk("RSI %016lx RDI %016lx RBP %016lx R8  %016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
	printk("R9  %016lx R10 %016lx R11 %016lx R12 %016lx\n", f->r9, f->r10, f->r11, f->r12);
	printk("R13 %016lx R14 %016lx R15 %016lx CR2 %016lx\n", f->r13, f->r14, f->r15,
	       read_cr2());
	printk("CR0 %016lx CR3 %016lx CR4 %016lx\n", read_cr0(), read_cr3(), read_cr4());
}

uint64_t cpu_tss_base(void)
{
	return (uintptr_t)&this_cpu()->tss;
}

volatile uint64_t nmi_count;

void trap_handle(struct trap_frame *f)
{
	if (f->vector == VECTOR_TIMER) {
		this_cpu()->timer_ticks++;
		lapic_eoi();
		return;
	}
	if (f->vector == VECTOR_KICK) {   /* its work is done where it interrupted */
		lapic_eoi();
		return;
	}
	if (f->vector == VECTOR_SPURIOUS)
		return;
	/* A physical NMI (a watchdog, or one held over from a guest's exit)
	 * is counted, not fatal. */
	if (f->vector == X86_EXC_NMI) {
		nmi_count++;
		return;
	}
	/* An exception in the hypervisor itself is a bug: report and stop. */
	trap_dump(f);
	printk("kestrel: halted\n");
	cpu_halt_forever();
}
