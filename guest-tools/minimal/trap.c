/* SPDX-License-Identifier: MIT */
/*
 * IDT, exception dispatch, expected exceptions (fault sites, see cpu.h) and
 * the timer interrupt.
 */
#include "cpu.h"

#define GATE_INTERRUPT 0x8e     /* P, DPL 0, 64-bit interrupt gate: IF cleared */
#define TRAP_FATAL_STATUS 255   /* power-off status after an unexpected exception */

/* 64-bit IDT gate (SDM vol. 3, 6.14.1, figure 6-8; APM vol. 2, 4.8.4). */
struct idt_gate {
	uint16_t offset_lo;     /* 0x0 */
	uint16_t selector;      /* 0x2 */
	uint8_t  ist;           /* 0x4 */
	uint8_t  type_attr;     /* 0x5 */
	uint16_t offset_mid;    /* 0x6 */
	uint32_t offset_hi;     /* 0x8 */
	uint32_t reserved_0xc;  /* 0xc */
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == IDT_GATE_SIZE, "IDT gate is 16 bytes");

struct fault_site {
	uint64_t insn;          /* address of the instruction that may fault */
	uint64_t resume;        /* where to continue if it does */
};

struct idt_gate idt_table[IDT_ENTRIES] __attribute__((aligned(4096)));

extern const uint64_t trap_stubs[NR_EXCEPTIONS];
extern char trap_stub_timer[];
extern char trap_stub_apic[];
extern const struct fault_site __fault_sites_start[], __fault_sites_end[];

static volatile int fault_vectors[MAX_VCPUS];
static volatile uint32_t timer_hits;
static volatile uint64_t timer_tsc;
static volatile int fatal_entered;
static volatile bool db_expected;
static volatile uint32_t db_count;
static volatile uint64_t db_dr6;
void (*volatile trap_nmi_hook)(struct trap_frame *f);

void trap_db_expect(bool on)
{
	db_expected = on;
	db_count = 0;
	db_dr6 = 0;
}

uint32_t trap_db_count(void)
{
	return db_count;
}

uint64_t trap_db_dr6(void)
{
	return db_dr6;
}

static void idt_set(unsigned vector, uint64_t handler)
{
	struct idt_gate *g = &idt_table[vector];

	g->offset_lo = handler & 0xffff;
	g->selector = GDT_CODE;
	g->ist = 0;
	g->type_attr = GATE_INTERRUPT;
	g->offset_mid = (handler >> 16) & 0xffff;
	g->offset_hi = handler >> 32;
	g->reserved_0xc = 0;
}

/* Runs on vCPU 0 before the others are released; entry.S loads IDTR. */
void trap_init(void)
{
	for (unsigned v = 0; v < NR_EXCEPTIONS; v++)
		idt_set(v, trap_stubs[v]);
	idt_set(TIMER_VECTOR, (uintptr_t)trap_stub_timer);
	idt_set(APIC_VECTOR, (uintptr_t)trap_stub_apic);
}

static unsigned fault_slot(void)
{
	unsigned cpu = this_vcpu();

	return cpu < MAX_VCPUS ? cpu : 0;
}

void trap_fault_reset(void)
{
	fault_vectors[fault_slot()] = -1;
}

/* The vector raised since trap_fault_reset() at a fault site, or -1. */
int trap_fault_vector(void)
{
	return fault_vectors[fault_slot()];
}

const char *trap_exception_name(int vector)
{
	static const char *const names[] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "#CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	};

	if (vector >= 0 && vector < (int)ARRAY_SIZE(names))
		return names[vector];
	return vector == TIMER_VECTOR ? "timer" : "vector";
}

void timer_reset(void)
{
	timer_hits = 0;
	timer_tsc = 0;
}

uint32_t timer_hit_count(void)
{
	return timer_hits;
}

/* TSC when the timer interrupt last arrived. */
uint64_t timer_hit_tsc(void)
{
	return timer_tsc;
}

static const struct fault_site *fault_site_find(uint64_t rip)
{
	for (const struct fault_site *s = __fault_sites_start; s < __fault_sites_end; s++)
		if (s->insn == rip)
			return s;
	return NULL;
}

static void __attribute__((noreturn)) trap_fatal(const struct trap_frame *f)
{
	uint64_t cr2;

	if (__atomic_exchange_n(&fatal_entered, 1, __ATOMIC_SEQ_CST))
		halt_forever();         /* a fault while reporting one */
	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	kprintf("FAIL: unexpected-exception (%s, vector %lu, on vCPU %u at rip 0x%lx, "
		"error 0x%lx, cr2 0x%lx)\n", trap_exception_name((int)f->vector),
		f->vector, this_vcpu(), f->rip, f->error_code, cr2);
	kprintf("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n",
		f->rax, f->rbx, f->rcx, f->rdx);
	kprintf("  rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n",
		f->rsi, f->rdi, f->rbp, f->rsp);
	kprintf("  rflags %lx cs %lx ss %lx\n", f->rflags, f->cs, f->ss);
	hv_poweroff(TRAP_FATAL_STATUS);
}

void trap_dispatch(struct trap_frame *f)
{
	const struct fault_site *site;

	if (f->vector == TIMER_VECTOR) {
		timer_tsc = rdtsc();
		timer_hits++;
		return;
	}
	if (f->vector == APIC_VECTOR) {
		apic_interrupt();
		return;
	}
	if (f->vector == 2 && trap_nmi_hook) {
		trap_nmi_hook(f);
		return;
	}
	if (f->vector == 1 && db_expected) {
		uint64_t dr6;

		asm volatile("mov %%dr6, %0" : "=r"(dr6));
		db_dr6 = dr6;
		db_count++;
		asm volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ul));
		f->rflags &= ~(1ul << 8);     /* TF */
		return;
	}
	site = f->vector < NR_EXCEPTIONS ? fault_site_find(f->rip) : NULL;
	if (!site)
		trap_fatal(f);
	fault_vectors[fault_slot()] = (int)f->vector;
	f->rip = site->resume;
}
