/* SPDX-License-Identifier: MIT */
/*
 * IDT and event dispatch. Every vector has a gate (entry.S). An event is:
 *  - an exception at a fault site (chaos.h): recorded, resumed after it;
 *  - an exception in this vCPU's dynamic code buffer (ops.c snippets):
 *    recorded, resumed at the buffer's RET;
 *  - #DB from a breakpoint or single step: counted, execution goes on;
 *  - NMI, or an interrupt (vector >= 32, or any vector arriving with
 *    interrupts enabled, as the 8259 may send): counted, EOI sent if the
 *    local APIC has it in service;
 *  - anything else is unexpected: inside an op it is an anomaly and the op
 *    is abandoned (back to its op_try()); outside one it is fatal.
 */
#include "chaos.h"

#define GATE_INTERRUPT   0x8e
#define MSR_APIC_BASE    0x1b
#define APIC_BASE_EXTD   (1ull << 10)
#define XAPIC_MMIO       0xfee00000ul
#define DR6_INIT         0xffff0ff0ul
#define FATAL_STATUS     3

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t  ist;
	uint8_t  type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved_0xc;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == IDT_GATE_SIZE, "IDT gate is 16 bytes");

struct idt_gate idt_table[IDT_ENTRIES] __attribute__((aligned(4096)));
struct cpu cpus[MAX_VCPUS];

extern const struct fault_site __fault_sites_start[], __fault_sites_end[];
static volatile int fatal_entered;

void trap_init(void)
{
	for (unsigned v = 0; v < IDT_ENTRIES; v++) {
		uint64_t h = (uintptr_t)trap_stubs_base + (uint64_t)v * STUB_SIZE;
		struct idt_gate *g = &idt_table[v];

		g->offset_lo = h & 0xffff;
		g->selector = GDT_CODE;
		g->ist = 0;
		g->type_attr = GATE_INTERRUPT;
		g->offset_mid = (h >> 16) & 0xffff;
		g->offset_hi = h >> 32;
		g->reserved_0xc = 0;
	}
	for (unsigned i = 0; i < MAX_VCPUS; i++) {
		cpus[i].id = i;
		cpus[i].site_vec = -1;
	}
}

void site_reset(void)
{
	struct cpu *c = this_cpu();

	c->site_vec = -1;
	c->site_at_insn = false;
}

int site_vector(void)
{
	return this_cpu()->site_vec;
}

/* A software interrupt's site is found by its resume address first. */
static const struct fault_site *site_find(uint64_t rip, unsigned vec, bool *at_insn)
{
	const struct fault_site *by_insn = NULL, *by_resume = NULL;

	for (const struct fault_site *s = __fault_sites_start; s < __fault_sites_end; s++) {
		if (s->resume == rip && s->expect == (int)vec) {
			*at_insn = false;
			return s;
		}
		if (s->insn == rip && !by_insn)
			by_insn = s;
		if (s->resume == rip && !by_resume)
			by_resume = s;
	}
	*at_insn = by_insn != NULL;
	return by_insn ? by_insn : by_resume;
}

static uint32_t mmio_read32(uint64_t addr)
{
	uint32_t v;

	asm volatile("movl (%1), %0" : "=r"(v) : "r"(addr) : "memory");
	return v;
}

static void mmio_write32(uint64_t addr, uint32_t v)
{
	asm volatile("movl %0, (%1)" : : "r"(v), "r"(addr) : "memory");
}

/* EOI only what the local APIC has in service: an interrupt from the
 * hypervisor's one-shot timer hypercall never is. */
void apic_eoi_if_in_service(unsigned vector)
{
	struct cpu *c = this_cpu();
	uint64_t base = 0, isr = 0;

	if (!c->apic_base && rdmsr_safe(MSR_APIC_BASE, (uint64_t *)&c->apic_base) >= 0)
		return;
	base = c->apic_base;
	if (base & APIC_BASE_EXTD) {
		if (rdmsr_safe(0x810 + vector / 32, &isr) < 0 && ((isr >> (vector % 32)) & 1) &&
		    wrmsr_safe(0x80b, 0) < 0)
			c->eois++;
		return;
	}
	if ((mmio_read32(XAPIC_MMIO + 0x100 + (vector / 32) * 16) >> (vector % 32)) & 1) {
		mmio_write32(XAPIC_MMIO + 0xb0, 0);
		c->eois++;
	}
}

static void clear_dr6(void)
{
	asm volatile("mov %0, %%dr6" : : "r"(DR6_INIT));
}

static void __attribute__((noreturn)) trap_fatal(const struct trap_frame *f)
{
	uint64_t cr2;

	if (__atomic_exchange_n(&fatal_entered, 1, __ATOMIC_SEQ_CST))
		halt_forever();
	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	kprintf("chaos: FATAL: unexpected exception vector %lu on vCPU %u at rip 0x%lx, "
		"error 0x%lx, cr2 0x%lx, rflags 0x%lx (outside any op)\n", f->vector, this_vcpu(),
		f->rip, f->error_code, cr2, f->rflags);
	hv_poweroff(FATAL_STATUS);
}

/*
 * An interrupt that comes back at once after each EOI (a level-triggered
 * line nobody acknowledges, a timer faster than its handler under
 * emulation) would never let the interrupted code run one instruction
 * again: after STORM_STREAK in a row at the same RIP, return there with
 * interrupts disabled (counted as a storm), as an OS masks such a source.
 */
#define STORM_STREAK 256

static void interrupt(struct trap_frame *f, struct cpu *c, unsigned vec)
{
	int sv = c->site_vec;
	bool at = c->site_at_insn;
	uint64_t cr2 = c->site_cr2;

	if (f->rip == c->storm_rip) {
		if (++c->storm_streak >= STORM_STREAK) {
			c->storm_streak = 0;
			c->storms++;
			f->rflags &= ~X86_RFLAGS_IF;
		}
	} else {
		c->storm_rip = f->rip;
		c->storm_streak = 0;
	}
	c->irqs++;
	c->last_vec = vec;
	c->last_rip = f->rip;
	if (vec < 32)
		c->irq_low++;
	c->irq_by_vec[vec / 64] |= 1ull << (vec % 64);
	apic_eoi_if_in_service(vec);
	c->site_vec = sv;           /* the interrupted op's own site state */
	c->site_at_insn = at;
	c->site_cr2 = cr2;
}

void trap_dispatch(struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	unsigned vec = (unsigned)f->vector;
	bool was_if = f->rflags & X86_RFLAGS_IF;
	const struct fault_site *s;
	bool at_insn = false;

	s = site_find(f->rip, vec, &at_insn);
	if (s && (vec < 32 || (s->expect == (int)vec && !at_insn)) &&
	    !(vec == VEC_NMI && s->expect != VEC_NMI)) {
		c->site_vec = (int)vec;
		c->site_at_insn = at_insn;
		if (vec == VEC_PF) {
			uint64_t cr2;

			asm volatile("mov %%cr2, %0" : "=r"(cr2));
			c->site_cr2 = cr2;
		}
		if (vec == VEC_DB)
			clear_dr6();
		c->exc_at_sites++;
		f->rip = s->resume;
		f->rflags &= ~X86_RFLAGS_TF;
		return;
	}
	if (c->snip_hi && f->rip >= c->snip_lo && f->rip < c->snip_hi && vec < 32 &&
	    vec != VEC_NMI && !was_if) {
		c->site_vec = (int)vec;
		c->site_at_insn = true;
		if (vec == VEC_DB)
			clear_dr6();
		c->exc_at_sites++;
		f->rip = c->snip_ret;
		f->rflags &= ~X86_RFLAGS_TF;
		return;
	}
	if (vec == VEC_DB) {
		c->dbs++;
		clear_dr6();
		f->rflags = (f->rflags & ~X86_RFLAGS_TF) | X86_RFLAGS_RF;
		return;
	}
	if (vec == VEC_NMI) {
		c->nmis++;
		return;
	}
	/* With interrupts enabled any vector can be an external interrupt:
	 * the guest's 8259 (programmed by chaos ops) may use 0-31. Ops only
	 * enable interrupts around code that cannot fault. */
	if (vec >= 32 || was_if) {
		interrupt(f, c, vec);
		return;
	}
	if (c->recover_armed) {
		uint64_t cr2;

		asm volatile("mov %%cr2, %0" : "=r"(cr2));
		c->recover_armed = false;
		c->recovered_vec = (int)vec;
		c->recovered_rip = f->rip;
		c->recovered_err = f->error_code;
		c->site_cr2 = cr2;
		f->rbx = c->recover.rbx;
		f->rbp = c->recover.rbp;
		f->r12 = c->recover.r12;
		f->r13 = c->recover.r13;
		f->r14 = c->recover.r14;
		f->r15 = c->recover.r15;
		f->rsp = c->recover.rsp;
		f->rip = c->recover.rip;
		f->rax = 1;
		f->rflags = 0x2;
		f->cs = GDT_CODE;
		f->ss = GDT_DATA;
		return;
	}
	trap_fatal(f);
}
