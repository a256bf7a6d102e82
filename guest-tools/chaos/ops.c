/* SPDX-License-Identifier: MIT */
/*
 * The operations of chaos mode, one function per class. Each takes its
 * parameters from the op's own random stream (struct op), notes them in the
 * op log (op_note) before doing anything, and checks what the platform
 * documents (include/hv/hypercall.h, README "Guests and their platform").
 *
 * Deliberately excluded or defused, because they stop this VM by design
 * and the point is to run 10^6 ops (each is tested on its own elsewhere):
 *  - writes to the debug-exit port 0xf4-0xf7 (any write stops the VM);
 *  - SLP_EN in the ACPI sleep control register 0x600 (power-off), the reset
 *    value in 0xcf9 (done on purpose by the reset schedule, chaos.c), and,
 *    for a hypervisor that may emulate them one day, fast reset (0x92 bit 0)
 *    and the 8042's reset pulse (0x64);
 *  - HV_HC_POWEROFF; HV_HC_BENCH_FLOOR with a count is drained at once;
 *  - HLT with interrupts disabled (the hypervisor stops a VM whose vCPUs
 *    all do that), SVM/VMX instructions, INVD, MONITOR/MWAIT, GETSEC, and
 *    string port I/O or non-MOV MMIO instructions, which the hypervisor
 *    refuses by stopping the VM (README: "an exit without a handler stops
 *    that VM");
 *  - INIT, SIPI and SMI IPIs only ever go to the other vCPU or to APIC IDs
 *    that do not exist, never to the sender (a future INIT would reset it);
 *  - writes to our own image, stacks, page tables, the SIPI trampoline
 *    and the code buffers, and to CMOS bytes 0x70-0x7f (the reset state);
 *  - CR3 only ever points at a copy of our tables; CR0, CR4, EFER, PAT,
 *    XCR0, CR8, DR7, FS/GS base and the UART are put back after each op.
 *
 * Under QEMU TCG (the SVM backend's test platform) some guest instructions
 * hit bugs of the emulator rather than the hypervisor, so with quirks=1
 * (the default) they are left out on SVM; quirks=0 runs them:
 *  - MOV to CR4 clearing PAE in IA-32e mode is taken (no #GP);
 *  - MOV to CR4 with a bit QEMU reserves, and MOV to CR3 with a bit above
 *    the physical address width, end the guest with VMEXIT_INVALID instead
 *    of #GP (QEMU's helper_write_crN calls cpu_vmexit(SVM_EXIT_ERR));
 *  - MOV to CR8 while the hypervisor has an interrupt offered in V_IRQ
 *    aborts QEMU 7.2 ("tcg_handle_interrupt: assertion failed:
 *    (qemu_mutex_iothread_locked())"): the TPR goes through the local
 *    APIC's MMIO register instead, which the hypervisor copies to V_TPR;
 *  - MOV to CR0 clearing PG in 64-bit mode leaves IA-32e mode instead of
 *    raising #GP; bits 63:32 and NW without CD reach the VMCB: CR0 flips
 *    keep PG, PE, NW and the high half;
 *  - armed breakpoints (DR7 enable bits, also through DR5) crash QEMU with
 *    SIGSEGV (PLATFORM.md saw it with two guests; seed=1 only=8 does it
 *    with one in a few hundred ops): DR7 is written with them clear. QEMU
 *    loads DR7 at VMRUN without registering its breakpoints again, and the
 *    next MOV to DR7 frees them as the types the loaded DR7 names (README,
 *    "Emulator behaviour").
 */
#include "ops.h"

#define MSR_TSC          0x10
#define MSR_APIC_BASE    0x1b
#define MSR_TSC_ADJUST   0x3b
#define MSR_MISC_ENABLE  0x1a0
#define MSR_PAT          0x277
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_ICR   0x830
#define MSR_EFER         0xc0000080
#define MSR_FS_BASE      0xc0000100
#define MSR_GS_BASE      0xc0000101
#define MSR_KGS_BASE     0xc0000102
#define APIC_BASE_EXTD   (1ull << 10)
#define APIC_BASE_EN     (1ull << 11)
#define XAPIC            0xfee00000ull
#define APIC_BASE_ADDR   (~0xfffull & ((1ull << 52) - 1))
#define IOAPIC           0xfec00000ull
#define HOLE_RIP         0x7ff00000ull   /* RIP-relative MMIO target (a hole) */
#define TRAMPOLINE       0x7000ull       /* SIPI vector 7: cli; hlt */
#define SIPI_VECTOR      0x07
#define NOBODY_APIC_ID   0x3e            /* no vCPU has it */
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_OSXSAVE    (1ull << 18)
#define UART_IER 0x3f9
#define UART_IIR 0x3fa
#define UART_LCR 0x3fb
#define UART_MCR 0x3fc
#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
#define SNIP_SPAN  (16 * 1024)

/* Fix-ups an op asks for (struct cpu.fix is per vCPU: see fix_*). */
enum {
	FIX_CR0 = 1 << 0, FIX_CR4 = 1 << 1, FIX_CR3 = 1 << 2, FIX_CR8 = 1 << 3,
	FIX_DR7 = 1 << 4, FIX_UART = 1 << 5, FIX_FSGS = 1 << 6, FIX_XCR0 = 1 << 7,
	FIX_EFER = 1 << 8, FIX_PAT = 1 << 9, FIX_SEG = 1 << 10, FIX_APIC_TIMER = 1 << 11,
	FIX_FPU = 1 << 12, FIX_MISC = 1 << 13,
};
struct fixstate {
	uint32_t fix;
	uint64_t cr0, cr4, efer, pat, xcr0, misc;
	bool console_locked, cmos_locked;
};
static struct fixstate fixes[MAX_VCPUS];

const char *const class_names[NR_CLASSES] = {
	"pio", "mmio", "msr", "cpuid", "hypercall", "xsetbv", "cr", "dr", "exception",
	"snippet", "apic", "ipi", "ioapic", "hlt", "ram", "misc", "shadow",
};
uint64_t class_count[MAX_VCPUS][NR_CLASSES];

static struct { uint64_t lo, hi; } protect[8];
static unsigned nprotect;
static uint64_t snip_base[MAX_VCPUS];   /* 16 KiB of code buffer across a 2 MiB line */
static bool has_xsave, has_fxsr;
static uint64_t cr4_supported;
static uint64_t xcr0_boot = 1;
static volatile int cmos_lock;      /* 0, or the owner's vCPU + 1 */
static volatile uint8_t cmos_shadow_index;
volatile bool init_sent_to_other;

/* ---------------------------------------------------------------- basics */

uint64_t rnd(struct op *o)
{
	uint64_t z = (o->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t rnd_below(struct op *o, uint64_t n)
{
	return n ? rnd(o) % n : 0;
}

static bool chance(struct op *o, unsigned pct)
{
	return rnd_below(o, 100) < pct;
}

/* A "boundary" value: 0, ~0, a power of two +-1, or plain random. */
static uint64_t rnd_value(struct op *o)
{
	uint64_t r = rnd(o);

	switch (rnd_below(o, 8)) {
	case 0: return 0;
	case 1: return ~0ull;
	case 2: return 1ull << (r % 64);
	case 3: return (1ull << (r % 64)) - 1;
	case 4: return (uint32_t)r;
	case 5: return r & 0xff;
	default: return r;
	}
}

void op_note(struct op *o, unsigned sub, uint64_t a, uint64_t b, uint64_t c)
{
	o->log->sub = (uint16_t)sub;
	o->log->a = a;
	o->log->b = b;
	o->log->c = c;
	if (o->traced)
		kprintf("chaos: trace vcpu %u op %lu %s/%u a=0x%lx b=0x%lx c=0x%lx\n", o->c->id,
			o->idx, class_names[o->log->cls], sub, a, b, c);
}

static void note_vec(struct op *o, int vec)
{
	if (vec >= 0)
		o->log->vec = (int16_t)vec;
}

static bool overlaps(uint64_t a, uint64_t len, uint64_t lo, uint64_t hi)
{
	return a < hi && lo < a + len;
}

static bool is_protected(uint64_t a, uint64_t len)
{
	for (unsigned i = 0; i < nprotect; i++)
		if (overlaps(a, len, protect[i].lo, protect[i].hi))
			return true;
	return false;
}

static uint64_t mem_size(void)
{
	return boot_info.si.mem_size;
}

/* IA32_APIC_BASE, cached per vCPU (every read is an exit): each write we
 * make to it, and INIT, drop the cache. */
static uint64_t apic_base_get(void)
{
	struct cpu *c = this_cpu();
	uint64_t b = 0;

	if (!c->apic_base && rdmsr_safe(MSR_APIC_BASE, &b) < 0)
		c->apic_base = b;
	return c->apic_base;
}

static int apic_base_set(uint64_t v)
{
	int vec = wrmsr_safe(MSR_APIC_BASE, v);

	this_cpu()->apic_base = 0;
	return vec;
}

static bool x2apic_on(void)
{
	return apic_base_get() & APIC_BASE_EXTD;
}

static uint64_t read_cr0(void) { uint64_t v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static uint64_t read_cr4(void) { uint64_t v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static uint64_t read_cr3(void) { uint64_t v; asm volatile("mov %%cr3, %0" : "=r"(v)); return v; }

static int write_cr0_safe(uint64_t v)
{
	site_reset();
	asm volatile(FAULT_SITE("mov %0, %%cr0") : : "r"(v) : "memory");
	return site_vector();
}

static int write_cr4_safe(uint64_t v)
{
	site_reset();
	asm volatile(FAULT_SITE("mov %0, %%cr4") : : "r"(v) : "memory");
	return site_vector();
}

static int write_cr3_safe(uint64_t v)
{
	site_reset();
	asm volatile(FAULT_SITE("mov %0, %%cr3") : : "r"(v) : "memory");
	return site_vector();
}

static bool qemu_quirks(void)
{
	return boot_info.svm && opt.quirks;
}

static void apic_write(unsigned reg, uint64_t v);

static int write_cr8_safe(uint64_t v)
{
	if (qemu_quirks()) {            /* see the top: the TPR instead */
		if (v > 15)
			return VEC_GP;
		apic_write(0x80, v << 4);
		return -1;
	}
	site_reset();
	asm volatile(FAULT_SITE("mov %0, %%cr8") : : "r"(v) : "memory");
	return site_vector();
}

static uint64_t read_cr8(void) { uint64_t v; asm volatile("mov %%cr8, %0" : "=r"(v)); return v; }

static int xsetbv_safe(uint32_t index, uint64_t v)
{
	site_reset();
	asm volatile(FAULT_SITE("xsetbv")
		     : : "c"(index), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
	return site_vector();
}

static int xgetbv_safe(uint32_t index, uint64_t *v)
{
	uint32_t lo = 0, hi = 0;

	site_reset();
	asm volatile(FAULT_SITE("xgetbv") : "+a"(lo), "+d"(hi) : "c"(index) : "memory");
	*v = (uint64_t)hi << 32 | lo;
	return site_vector();
}

static uint32_t mmio_rd32(uint64_t a)
{
	uint32_t v;

	asm volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static void mmio_wr32(uint64_t a, uint32_t v)
{
	asm volatile("movl %0, (%1)" : : "r"(v), "r"(a) : "memory");
}

/* Local APIC register access in whichever mode it is in. */
static uint64_t apic_read(unsigned reg)
{
	uint64_t v = 0;

	if (x2apic_on()) {
		rdmsr_safe(0x800 + (reg >> 4), &v);
		return v;
	}
	return mmio_rd32(XAPIC + reg);
}

static void apic_write(unsigned reg, uint64_t v)
{
	if (x2apic_on())
		wrmsr_safe(0x800 + (reg >> 4), reg == 0x300 ? v : (uint32_t)v);
	else if (reg == 0x300) {
		mmio_wr32(XAPIC + 0x310, (uint32_t)(v >> 32));
		mmio_wr32(XAPIC + 0x300, (uint32_t)v);
	} else
		mmio_wr32(XAPIC + reg, (uint32_t)v);
}

/* INIT, SIPI and SMI go to the other vCPU (vCPU 0 -> 1 only) or nowhere
 * that exists; SIPI to the trampoline. ICR in x2APIC form (dest in 63:32)
 * or xAPIC form (dest in 63:56). */
/* 0 while the other vCPU is between INIT and its IDT (ap_restart): an NMI
 * there goes through the real-mode IVT at 0 and kills it, as on hardware. */
volatile bool others_up;

static uint64_t icr_sanitize(uint64_t icr, bool x2, unsigned vcpu)
{
	unsigned mode = (icr >> 8) & 7;
	uint64_t dest;

	if (mode == 4 && (opt.avoid & AVOID_NMI))
		return icr & ~0x700ull;                         /* NMI: a fixed IPI */
	if (mode == 4 && !others_up)
		return (icr & ~(3ull << 18)) | 1ull << 18;      /* NMI: to ourselves */
	if (mode != 2 && mode != 5 && mode != 6)
		return icr;
	dest = vcpu == 0 && boot_info.si.nr_vcpus > 1 ? 1 : NOBODY_APIC_ID;
	if (mode == 5)          /* INIT: the asserting kind (the other is a no-op) */
		icr = (icr | 1ull << 14) & ~(1ull << 15);
	if (dest == 1 && mode == 5) {
		init_sent_to_other = true;      /* op_fixup sends the SIPI */
		others_up = false;
	}
	icr &= ~((3ull << 18) | (1ull << 11) | (x2 ? 0xffffffff00000000ull : 0xff00000000000000ull));
	icr |= x2 ? dest << 32 : dest << 56;
	if (mode == 6)
		icr = (icr & ~0xffull) | SIPI_VECTOR;
	return icr;
}

/* EOI everything in service, TPR 0, software-enabled: interrupts can come. */
static void apic_quiesce(void)
{
	uint64_t base = 0;
	bool x2;

	/* A disabled APIC (APIC_BASE.EN clear) takes no interrupts and reads
	 * all-ones: enable it (disabled -> xAPIC is always allowed). */
	base = apic_base_get();
	if (base && !(base & APIC_BASE_EN))
		apic_base_set((base & ~APIC_BASE_EXTD) | APIC_BASE_EN);
	x2 = x2apic_on();

	if (x2)
		wrmsr_safe(0x808, 0);
	else
		mmio_wr32(XAPIC + 0x80, 0);
	write_cr8_safe(0);
	apic_write(0xf0, 0x1ff);
	for (unsigned i = 0; i < 64; i++) {
		bool any = false;

		for (unsigned w = 0; w < 8 && !any; w++)
			any = apic_read(0x100 + w * 0x10) != 0;
		if (!any)
			break;
		apic_write(0xb0, 0);
	}
}

static void sti_window_us(uint64_t us)
{
	uint64_t start = rdtsc(), ticks = tsc_ticks_ms(1) * us / 1000;

	asm volatile("sti" ::: "memory");
	while (rdtsc() - start < ticks)
		cpu_relax();
	asm volatile("cli" ::: "memory");
}

/* ---------------------------------------------------------------- CMOS */

static void cmos_take(void)
{
	int want = (int)this_vcpu() + 1, free_slot;

	for (;;) {
		free_slot = 0;
		if (__atomic_compare_exchange_n(&cmos_lock, &free_slot, want, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
		cpu_relax();
	}
}

static void cmos_drop(void)
{
	__atomic_store_n(&cmos_lock, 0, __ATOMIC_RELEASE);
}

/* A vCPU that INIT took mid-op comes back without its locks. */
int cmos_lock_owner(void)
{
	return cmos_lock - 1;
}

void locks_release(unsigned vcpu)
{
	int mine = (int)vcpu + 1;

	__atomic_compare_exchange_n(&cmos_lock, &mine, 0, false, __ATOMIC_RELEASE,
				    __ATOMIC_RELAXED);
	fixes[vcpu] = (struct fixstate){ 0 };
	console_release(vcpu);
}

void cmos_write(uint8_t index, uint8_t v)
{
	cmos_take();
	outb(CMOS_INDEX, index);
	cmos_shadow_index = index;
	outb(CMOS_DATA, v);
	cmos_drop();
}

uint8_t cmos_read(uint8_t index)
{
	uint8_t v;

	cmos_take();
	outb(CMOS_INDEX, index);
	cmos_shadow_index = index;
	v = inb(CMOS_DATA);
	cmos_drop();
	return v;
}

static bool cmos_reserved(uint8_t index)
{
	return (index & 0x7f) >= 0x70;
}

/* ---------------------------------------------------------------- port I/O */

static const uint16_t interesting_ports[] = {
	0x0000, 0x0020, 0x0021, 0x00a0, 0x00a1, 0x0040, 0x0041, 0x0042, 0x0043, 0x0060,
	0x0061, 0x0064, 0x0070, 0x0071, 0x0080, 0x0092, 0x00f0, 0x00f4, 0x00f5, 0x00f7,
	0x02f8, 0x03f8, 0x03f9, 0x03fa, 0x03fb, 0x03fc, 0x03fd, 0x03fe, 0x03ff, 0x0402,
	0x04d0, 0x04d1, 0x0510, 0x0511, 0x05fe, 0x0600, 0x0601, 0x0602, 0x0604, 0x0608,
	0x0609, 0x060a, 0x060b, 0x0cf8, 0x0cf9, 0x0cfa, 0x0cfc, 0x0cfe, 0xb000, 0xb004,
	0xb008, 0xfffe, 0xffff,
};

static uint64_t pio_in(uint16_t port, unsigned size)
{
	uint32_t v = 0xdeadbeef;

	if (size == 1)
		asm volatile("inb %%dx, %%al" : "+a"(v) : "d"(port));
	else if (size == 2)
		asm volatile("inw %%dx, %%ax" : "+a"(v) : "d"(port));
	else
		asm volatile("inl %%dx, %%eax" : "+a"(v) : "d"(port));
	return v;
}

static void pio_out(uint16_t port, unsigned size, uint32_t v)
{
	if (size == 1)
		asm volatile("outb %%al, %%dx" : : "a"(v), "d"(port));
	else if (size == 2)
		asm volatile("outw %%ax, %%dx" : : "a"(v), "d"(port));
	else
		asm volatile("outl %%eax, %%dx" : : "a"(v), "d"(port));
}

/* Defuses a write that would stop or reset this VM (see the top); false:
 * drop it. Works byte by byte over the ports the access covers. */
static bool pio_write_filter(uint16_t port, unsigned size, uint32_t *val)
{
	uint8_t index = cmos_shadow_index;

	for (unsigned k = 0; k < size; k++) {
		unsigned p = (port + k) & 0xffff;
		uint32_t b = (*val >> (8 * k)) & 0xff;

		if (p >= 0xf4 && p <= 0xf7)
			return false;
		if (p == 0x600)
			b &= ~0x20u;
		if (p == 0xcf9 && (b & 6) == 6)
			b &= ~4u;
		if (p == 0x92)
			b &= ~1u;
		if (p == 0x64 && b >= 0xf0)
			b |= 1;
		if (p == CMOS_INDEX) {
			if (cmos_reserved((uint8_t)b))
				b &= ~0x40u;
			index = (uint8_t)b;
		}
		if (p == CMOS_DATA && cmos_reserved(index))
			return false;
		*val = (*val & ~(0xffu << (8 * k))) | b << (8 * k);
	}
	return true;
}

static void uart_restore(void)
{
	outb(UART_LCR, 0x00);
	outb(UART_IER, 0x00);
	outb(UART_MCR, 0x00);
	outb(UART_IIR, 0x06);
	(void)inb(UART_IIR);
}

static void op_pio(struct op *o)
{
	struct fixstate *fx = &fixes[o->c->id];
	uint16_t port = chance(o, 55) ?
		(uint16_t)(interesting_ports[rnd_below(o, ARRAY_SIZE(interesting_ports))] +
			   (chance(o, 20) ? rnd_below(o, 4) : 0)) :
		(uint16_t)rnd(o);
	unsigned size = 1u << rnd_below(o, 3);
	bool write = chance(o, 50);
	uint32_t val = (uint32_t)rnd_value(o);
	bool uart = overlaps(port, size, 0x3f8, 0x400), cmos = overlaps(port, size, 0x70, 0x72);

	if (uart) {
		fx->console_locked = console_lock();
		fx->fix |= FIX_UART;
	}
	if (cmos) {
		cmos_take();
		fx->cmos_locked = true;
	}
	if (write && !pio_write_filter(port, size, &val))
		write = false;
	op_note(o, write ? 0x10 | size : size, port, val, 0);
	if (write) {
		pio_out(port, size, val);
		if (port <= CMOS_INDEX && port + size > CMOS_INDEX)
			cmos_shadow_index = (uint8_t)(val >> (8 * (CMOS_INDEX - port)));
		if (port == 0x3f8 && size == 1)
			uart_dirty = true;
	} else {
		(void)pio_in(port, size);
	}
}

/* ---------------------------------------------------------------- MMIO */

enum { T_LAPIC, T_IOAPIC, T_HOLE, T_EDGE, T_HIGH, T_RAM, T_BEYOND, NR_TARGETS };

/* Guest-physical addresses with no RAM and no device, per the README
 * ("everything else reads all-ones"), leaving room for devices that may
 * come (PCI ECAM, HPET/TPM). */
static bool is_hole(uint64_t a, unsigned size)
{
	uint64_t end = a + size;

	if (a >= mem_size() && end <= 0xe0000000ull)
		return true;
	if (a >= 0xfee01000ull && end <= 0xfff00000ull)
		return true;
	return a >= 4 * GIB && end <= (1ull << boot_info.phys_bits);
}

static uint64_t mmio_target(struct op *o, unsigned t)
{
	uint64_t mem = mem_size(), top = 1ull << boot_info.phys_bits;

	switch (t) {
	case T_LAPIC:
		return XAPIC + (chance(o, 70) ? rnd_below(o, 64) * 16 : rnd_below(o, 4096));
	case T_IOAPIC:
		return chance(o, 70) ? IOAPIC + rnd_below(o, 3) * 0x10 : IOAPIC + rnd_below(o, 8192);
	case T_HOLE:
		switch (rnd_below(o, 5)) {
		case 0: return mem + rnd_below(o, 0xe0000000ull - mem - 8);
		case 1: return 0xfee01000ull + rnd_below(o, 0xfff00000ull - 0xfee01000ull - 8);
		case 2: return 0xfed00000ull + rnd_below(o, 0x100000);   /* HPET, TPM */
		case 3: return 0xe0000000ull + rnd_below(o, 0x10000000); /* ECAM */
		default: return 0xfffffff0ull + rnd_below(o, 16);       /* the reset vector */
		}
	case T_EDGE:
		return chance(o, 50) ? mem - 1 - rnd_below(o, 16) : mem + rnd_below(o, 16);
	case T_HIGH:
		return 4 * GIB + rnd_below(o, top - 4 * GIB - 8);
	case T_RAM:
		return rnd_below(o, mem);
	default:
		return top - 8 + rnd_below(o, 64) + (chance(o, 20) ? rnd_below(o, 1ull << 50) : 0);
	}
}

static uint64_t all_ones(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* Loads: variant -> (size, what lands in RAX). */
static int mmio_load(unsigned variant, uint64_t va, uint64_t *rax, unsigned *size)
{
	uint64_t v = *rax, idx = 3;

	site_reset();
	switch (variant) {
	case 0: *size = 1; asm volatile(FAULT_SITE("movb (%1), %%al") : "+a"(v) : "D"(va) : "memory"); break;
	case 1: *size = 2; asm volatile(FAULT_SITE("movw (%1), %%ax") : "+a"(v) : "D"(va) : "memory"); break;
	case 2: *size = 4; asm volatile(FAULT_SITE("movl (%1), %%eax") : "+a"(v) : "D"(va) : "memory"); break;
	case 3: *size = 8; asm volatile(FAULT_SITE("movq (%1), %%rax") : "+a"(v) : "D"(va) : "memory"); break;
	case 4: *size = 1; asm volatile(FAULT_SITE("movzbl (%1), %%eax") : "+a"(v) : "D"(va) : "memory"); break;
	case 5: *size = 2; asm volatile(FAULT_SITE("movzwq (%1), %%rax") : "+a"(v) : "D"(va) : "memory"); break;
	case 6: *size = 1; asm volatile(FAULT_SITE("movsbq (%1), %%rax") : "+a"(v) : "D"(va) : "memory"); break;
	case 7: *size = 2; asm volatile(FAULT_SITE("movswl (%1), %%eax") : "+a"(v) : "D"(va) : "memory"); break;
	case 8: *size = 1; asm volatile(FAULT_SITE("movb (%1), %%ah") : "+a"(v) : "D"(va) : "memory"); break;
	case 9: *size = 4; asm volatile(FAULT_SITE("movl (%1,%2,4), %%eax") : "+a"(v) : "S"(va - 4 * idx), "c"(idx) : "memory"); break;
	case 10: *size = 4; asm volatile(FAULT_SITE("movl 0x10(%1), %%eax") : "+a"(v) : "D"(va - 0x10) : "memory"); break;
	case 11: *size = 8; asm volatile(FAULT_SITE("movq -0x12345678(%1), %%rax") : "+a"(v) : "D"(va + 0x12345678) : "memory"); break;
	default: *size = 4; asm volatile(FAULT_SITE("movl chaos_hole(%%rip), %%eax") : "+a"(v) : : "memory"); break;
	}
	*rax = v;
	return site_vector();
}
#define NR_LOAD_VARIANTS 13

/* The value RAX must hold after load variant `variant` read `m`. */
static uint64_t load_expect(unsigned variant, uint64_t before, uint64_t m)
{
	switch (variant) {
	case 0: return (before & ~0xffull) | (m & 0xff);
	case 1: return (before & ~0xffffull) | (m & 0xffff);
	case 2: case 9: case 10: case 12: return (uint32_t)m;
	case 3: case 11: return m;
	case 4: return m & 0xff;
	case 5: return m & 0xffff;
	case 6: return (uint64_t)(int64_t)(int8_t)m;
	case 7: return (uint32_t)(int32_t)(int16_t)m;
	default: return (before & ~0xff00ull) | ((m & 0xff) << 8);
	}
}

static int mmio_store(unsigned variant, uint64_t va, uint64_t v, unsigned *size)
{
	uint64_t idx = 2;

	site_reset();
	switch (variant) {
	case 0: *size = 1; asm volatile(FAULT_SITE("movb %%al, (%0)") : : "D"(va), "a"(v) : "memory"); break;
	case 1: *size = 2; asm volatile(FAULT_SITE("movw %%ax, (%0)") : : "D"(va), "a"(v) : "memory"); break;
	case 2: *size = 4; asm volatile(FAULT_SITE("movl %%eax, (%0)") : : "D"(va), "a"(v) : "memory"); break;
	case 3: *size = 8; asm volatile(FAULT_SITE("movq %%rax, (%0)") : : "D"(va), "a"(v) : "memory"); break;
	case 4: *size = 1; asm volatile(FAULT_SITE("movb $0x5a, (%0)") : : "D"(va) : "memory"); break;
	case 5: *size = 4; asm volatile(FAULT_SITE("movl $0x12345678, (%0)") : : "D"(va) : "memory"); break;
	case 6: *size = 8; asm volatile(FAULT_SITE("movq $-2, (%0)") : : "D"(va) : "memory"); break;
	case 7: *size = 1; asm volatile(FAULT_SITE("movb %%ah, (%0)") : : "D"(va), "a"(v) : "memory"); break;
	case 8: *size = 4; asm volatile(FAULT_SITE("movl %%eax, (%0,%1,4)") : : "S"(va - 4 * idx), "c"(idx), "a"(v) : "memory"); break;
	case 9: *size = 2; asm volatile(FAULT_SITE("movw %%ax, 0x10(%0)") : : "D"(va - 0x10), "a"(v) : "memory"); break;
	default: *size = 4; asm volatile(FAULT_SITE("movl %%eax, chaos_hole(%%rip)") : : "a"(v) : "memory"); break;
	}
	return site_vector();
}
#define NR_STORE_VARIANTS 11
#define RIP_VARIANT_LOAD  12
#define RIP_VARIANT_STORE 10

static void op_mmio(struct op *o)
{
	struct cpu *c = o->c;
	unsigned t = (unsigned)rnd_below(o, NR_TARGETS), size = 0, variant;
	bool write = chance(o, 45);
	uint64_t pa = mmio_target(o, t), va, val = rnd_value(o), before, got;
	int vec;

	variant = (unsigned)rnd_below(o, write ? NR_STORE_VARIANTS : NR_LOAD_VARIANTS);
	if (variant == (write ? RIP_VARIANT_STORE : RIP_VARIANT_LOAD)) {
		if (mem_size() > HOLE_RIP)
			variant = 2;
		else
			pa = HOLE_RIP;
	}
	/* A 4-byte write to ICR low sends an IPI to ICR high's destination,
	 * which an earlier op may have set to us: INIT, SIPI, SMI and NMI
	 * become fixed IPIs (the IPI ops use the ICR through the filter). */
	if (write && pa >= XAPIC + 0x2fc && pa < XAPIC + 0x304) {
		unsigned mode = (val >> 8) & 7;

		variant = 2;
		if (mode == 2 || mode == 4 || mode == 5 || mode == 6)
			val &= ~0x700ull;
	}
	if (write && (pa < mem_size() + 64) && (is_protected(pa, 16) || pa + 16 > mem_size()))
		write = pa >= mem_size() && !is_protected(pa, 16);
	va = pa < 4 * GIB ? pa : (uint64_t)(uintptr_t)phys_window(c->id, pa);
	op_note(o, t << 8 | (write ? 0x80 : 0) | variant, pa, val, va);
	if (write) {
		vec = mmio_store(variant, va, val, &size);
		note_vec(o, vec);
		if (vec >= 0 && !(vec == VEC_PF && pa >= (1ull << boot_info.phys_bits)))
			anomaly(o, "%u-byte store to guest-physical 0x%lx raised vector %d", size, pa,
				vec);
		return;
	}
	before = val;
	got = val;
	vec = mmio_load(variant, va, &got, &size);
	note_vec(o, vec);
	if (vec >= 0) {
		if (!(vec == VEC_PF && pa >= (1ull << boot_info.phys_bits)))
			anomaly(o, "%u-byte load from guest-physical 0x%lx raised vector %d", size, pa,
				vec);
		return;
	}
	if (pa >= (1ull << boot_info.phys_bits)) {
		/* What the walk saw, and whether a fresh one faults: a stale
		 * translation and a missing reserved-bit check look alike. */
		uint64_t cr3, cr4, pde = va >= WINDOW_VA(0) ? phys_window_pde(c->id, pa) : 0;
		int again;

		asm volatile("mov %%cr3, %0; mov %%cr4, %1" : "=r"(cr3), "=r"(cr4));
		tlb_flush_all();
		again = mmio_load(3, va, &(uint64_t){ 0 }, &size);
		anomaly(o, "load beyond the physical address width (0x%lx) did not fault (read "
			"0x%lx at 0x%lx; window PDE 0x%lx, CR3 0x%lx, CR4 0x%lx; after a full TLB "
			"flush: vector %d)", pa, got, va, pde, cr3, cr4, again);
	} else if (is_hole(pa, size) && got != load_expect(variant, before, all_ones(size)))
		anomaly(o, "%u-byte load (form %u) from unbacked 0x%lx: rax 0x%lx, expected 0x%lx",
			size, variant, pa, got, load_expect(variant, before, all_ones(size)));
}

/* ---------------------------------------------------------------- MSRs */

static const uint32_t known_msrs[] = {
	0x10, 0x1b, 0x3a, 0x3b, 0x48, 0x49, 0x8b, 0xce, 0xfe, 0x10a, 0x140, 0x174, 0x175,
	0x176, 0x179, 0x17a, 0x1a0, 0x1d9, 0x1db, 0x200, 0x201, 0x250, 0x277, 0x2ff, 0x345,
	0x38d, 0x38f, 0x480, 0x48d, 0x4d0, 0x6e0, 0x6a0, 0x6a2, 0xd90, 0xda0, 0x802, 0x803,
	0x808, 0x80a, 0x80b, 0x80d, 0x80f, 0x810, 0x817, 0x820, 0x828, 0x830, 0x832, 0x835,
	0x836, 0x837, 0x838, 0x839, 0x83e, 0x83f, 0xc0000080, 0xc0000081, 0xc0000082,
	0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103, 0xc0010000,
	0xc0010004, 0xc0010007, 0xc0010010, 0xc0010015, 0xc0010055, 0xc0010114, 0xc0010117,
	0xc0010140, 0xc0011004, 0xc0011005, 0xc001102a, 0x40000000, 0x40000001, 0x4b564d00,
	0x4b564d01,
};

static uint32_t pick_msr(struct op *o)
{
	switch (rnd_below(o, 10)) {
	case 0: case 1: case 2: case 3:
		return known_msrs[rnd_below(o, ARRAY_SIZE(known_msrs))] + (uint32_t)
		       (chance(o, 15) ? rnd_below(o, 4) : 0);
	case 4: return (uint32_t)rnd_below(o, 0x2000);
	case 5: return 0xc0000000u + (uint32_t)rnd_below(o, 0x2000);
	case 6: return 0xc0010000u + (uint32_t)rnd_below(o, 0x2000);
	case 7: return 0x800u + (uint32_t)rnd_below(o, 0x100);
	default: return (uint32_t)rnd(o);
	}
}

static void op_msr(struct op *o)
{
	struct fixstate *fx = &fixes[o->c->id];
	uint32_t msr = pick_msr(o);
	bool write = chance(o, 50);
	uint64_t old = 0, val = rnd_value(o), got = 0;
	int rv = rdmsr_safe(msr, &old), vec;

	if (!write) {
		op_note(o, 0, msr, 0, 0);
		note_vec(o, rv);
		if (rv >= 0 && rv != VEC_GP)
			anomaly(o, "RDMSR 0x%x raised vector %d", msr, rv);
		if (rv < 0 && msr == MSR_APIC_BASE && (old & ~0xfffull & ((1ull << 52) - 1)) != XAPIC)
			anomaly(o, "IA32_APIC_BASE reads 0x%lx", old);
		return;
	}
	switch (msr) {
	case MSR_TSC:
	case MSR_TSC_ADJUST:
		/* Small moves only: this VM measures its op rate with the TSC. */
		val = old + rnd_below(o, 1u << 20) - (1u << 19);
		break;
	case MSR_X2APIC_ICR:
		val = icr_sanitize(val, true, o->c->id);
		break;
	case MSR_EFER:
		fx->efer = old;
		fx->fix |= FIX_EFER;
		val = old ^ (chance(o, 70) ? 1ull << (unsigned[]){ 0, 8, 10, 11, 12, 13, 14, 15 }
					       [rnd_below(o, 8)] : val);
		if (opt.avoid & AVOID_EFER_LME)
			val = (val & ~(1ull << 8)) | (old & (1ull << 8));
		break;
	case MSR_PAT:
		fx->pat = old;
		fx->fix |= FIX_PAT;
		break;
	case MSR_MISC_ENABLE:
		fx->misc = old;
		fx->fix |= FIX_MISC;
		break;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KGS_BASE:
		fx->fix |= FIX_FSGS;
		break;
	case MSR_APIC_BASE:
		val = old ^ (chance(o, 80) ? (rnd(o) & (APIC_BASE_EXTD | APIC_BASE_EN)) : val);
		break;
	case MSR_TSC_DEADLINE:
		if (chance(o, 80))
			val = rdtsc() + rnd_below(o, tsc_ticks_ms(2));
		break;
	default:
		if (chance(o, 30) && rv < 0)
			val = old ^ (1ull << rnd_below(o, 64));
		break;
	}
	op_note(o, 1, msr, val, old);
	vec = wrmsr_safe(msr, val);
	if (msr == MSR_APIC_BASE)
		o->c->apic_base = 0;
	/* The xAPIC page moved with it (SDM 3, 10.4.5): the MSR says so, and it
	 * goes back at once, for our own MMIO accesses to it. */
	if (msr == MSR_APIC_BASE && vec < 0 && (val & APIC_BASE_ADDR) != XAPIC) {
		if (rdmsr_safe(MSR_APIC_BASE, &got) < 0 &&
		    (got & APIC_BASE_ADDR) != (val & APIC_BASE_ADDR))
			anomaly(o, "IA32_APIC_BASE <- 0x%lx reads back 0x%lx", val, got);
		apic_base_set((val & ~APIC_BASE_ADDR) | XAPIC);
	}
	note_vec(o, vec);
	if (vec >= 0 && vec != VEC_GP)
		anomaly(o, "WRMSR 0x%x <- 0x%lx raised vector %d", msr, val, vec);
	if (vec < 0 && msr == MSR_EFER && rdmsr_safe(MSR_EFER, &got) < 0 &&
	    (got & 0x901) != (val & 0x901))
		anomaly(o, "EFER reads 0x%lx after writing 0x%lx", got, val);
}

/* ---------------------------------------------------------------- CPUID */

static void op_cpuid(struct op *o)
{
	uint32_t leaf, sub = chance(o, 70) ? (uint32_t)rnd_below(o, 4) : (uint32_t)rnd(o);
	struct cpuid_regs r;

	switch (rnd_below(o, 5)) {
	case 0: leaf = (uint32_t)rnd_below(o, 0x24); break;
	case 1: leaf = 0x40000000u + (uint32_t)rnd_below(o, 0x110); break;
	case 2: leaf = 0x80000000u + (uint32_t)rnd_below(o, 0x28); break;
	case 3: leaf = chance(o, 50) ? 0x40000000u : 1; break;
	default: leaf = (uint32_t)rnd(o); break;
	}
	op_note(o, 0, leaf, sub, 0);
	r = cpuid(leaf, sub);
	o->log->c = (uint64_t)r.ebx << 32 | r.ecx;
	if (leaf == 0x40000000u && (r.ebx != HV_CPUID_SIGNATURE_EBX || r.ecx != HV_CPUID_SIGNATURE_ECX ||
				    r.edx != HV_CPUID_SIGNATURE_EDX || r.eax < 0x40000001u))
		anomaly(o, "CPUID 0x40000000: %x %x %x %x, not the Kestrel signature", r.eax, r.ebx,
			r.ecx, r.edx);
	if (leaf == 0x40000001u && (r.eax != HV_ABI_VERSION ||
				    !!(r.edx & HV_FEATURE_VMMCALL) != boot_info.svm))
		anomaly(o, "CPUID 0x40000001: eax %x edx %x", r.eax, r.edx);
	if (leaf == 1 && ((r.ebx >> 24) != o->c->id || !(r.ecx & (1u << 31)) || (r.ecx & (1u << 5))))
		anomaly(o, "CPUID 1: ebx %x ecx %x (APIC ID, hypervisor bit, VMX hidden)", r.ebx,
			r.ecx);
	if (leaf == 0x80000001u && (r.ecx & (1u << 2)))
		anomaly(o, "CPUID 0x80000001 shows SVM (ecx %x)", r.ecx);
}

/* ---------------------------------------------------------------- hypercalls */

static int hypercall_other_insn(unsigned long nr)
{
	long ret = (long)nr;

	site_reset();
	if (boot_info.svm)
		asm volatile(FAULT_SITE("vmcall") : "+a"(ret) : : "memory");
	else
		asm volatile(FAULT_SITE("vmmcall") : "+a"(ret) : : "memory");
	return site_vector();
}

static void op_hypercall(struct op *o)
{
	uint64_t nr, a1 = rnd_value(o), a2 = rnd_value(o), a3 = rnd_value(o);
	long ret, want;
	unsigned kind = (unsigned)rnd_below(o, 12);

	if (kind == 0) {
		op_note(o, 9, 0, 0, 0);
		note_vec(o, hypercall_other_insn(HV_HC_NOP));
		/* The other vendor's instruction: #UD, or (emulators) a no-op. */
		if (o->log->vec >= 0 && o->log->vec != VEC_UD)
			anomaly(o, "the other vendor's hypercall instruction raised %d", o->log->vec);
		return;
	}
	if (kind <= 6)
		nr = (uint64_t[]){ 0, 2, 3, 4, 5, 6, 7 }[rnd_below(o, 7)];
	else if (kind <= 9)
		nr = rnd_value(o);
	else
		nr = rnd_below(o, 8) | 1ull << (32 + rnd_below(o, 32));
	if (nr == HV_HC_POWEROFF)
		nr = HV_HC_NOP;
	if (nr == HV_HC_TIMER_SET) {
		switch (rnd_below(o, 4)) {
		case 0: a1 = 0; break;
		case 1: a1 = rdtsc() + rnd_below(o, tsc_ticks_ms(3)); break;
		case 2: a1 = rdtsc() - rnd_below(o, tsc_ticks_ms(3)); break;
		}
		a2 = chance(o, 80) ? rnd_below(o, 256) : a2;
	}
	if (nr == HV_HC_BENCH_FLOOR) {
		/* Defused: at most 3 exits of a kind, with the right length, then
		 * drained (they would otherwise swallow our own CPUIDs). */
		a1 = rnd_below(o, 4);
		if (chance(o, 70)) {
			a2 = chance(o, 50) ? HV_BENCH_EXIT_CPUID : HV_BENCH_EXIT_HYPERCALL;
			a3 = a2 == HV_BENCH_EXIT_CPUID ? 2 : 3;
		} else {
			a1 = 0;
		}
	}
	op_note(o, (unsigned)(nr < 16 ? nr : 15), nr, a1, a2);
	ret = hypercall(nr, a1, a2, a3);
	o->log->c = (uint64_t)ret;
	switch (nr) {
	case HV_HC_ABI_VERSION: want = HV_ABI_VERSION; break;
	case HV_HC_TIMER_SET:
		want = a1 && (a2 < 32 || a2 > 255) ? -HV_EINVAL : 0;
		break;
	case HV_HC_TSC_KHZ: want = (long)boot_info.tsc_khz; break;
	case HV_HC_BENCH_FLOOR:
		want = (a2 != HV_BENCH_EXIT_CPUID && a2 != HV_BENCH_EXIT_HYPERCALL) || !a3 || a3 > 15 ?
		       -HV_EINVAL : 0;
		if (ret == 0 && a1 && a2 == HV_BENCH_EXIT_CPUID)
			for (uint64_t i = 0; i < a1; i++)
				(void)cpuid(0, 0);
		else if (ret == 0 && a1)
			for (uint64_t i = 0; i < a1; i++)
				(void)hypercall(HV_HC_NOP, 0, 0, 0);
		break;
	case HV_HC_NOP: want = 0; break;
	default: want = -HV_ENOSYS; break;
	}
	if (ret != want)
		anomaly(o, "hypercall %lu (%lx, %lx, %lx) returned %ld, expected %ld", nr, a1, a2,
			a3, ret, want);
}

/* ---------------------------------------------------------------- XSETBV */

static void op_xsetbv(struct op *o)
{
	static const uint64_t values[] = { 1, 3, 7, 0x1f, 0xe7, 0x2e7, 0x207, 0x60003, 0, 2, 5,
					   0x23, 0x83, 1ull << 62, 1ull << 63, 0x80000003 };
	struct fixstate *fx = &fixes[o->c->id];
	uint64_t v = chance(o, 85) ? values[rnd_below(o, ARRAY_SIZE(values))] : rnd_value(o);
	uint64_t before = 0, after = 0;
	uint32_t index = chance(o, 85) ? 0 : (uint32_t)rnd_value(o);
	int vec;

	if (!has_xsave) {
		op_note(o, 0, 0, 0, 0);
		return;
	}
	xgetbv_safe(0, &before);
	fx->xcr0 = before;
	fx->fix |= FIX_XCR0;
	op_note(o, index ? 1 : 0, v, index, before);
	vec = xsetbv_safe(index, v);
	note_vec(o, vec);
	xgetbv_safe(0, &after);
	if (vec >= 0 && vec != VEC_GP && vec != VEC_UD)
		anomaly(o, "XSETBV %u, 0x%lx raised vector %d", index, v, vec);
	else if (vec < 0 && (index != 0 || after != v))
		anomaly(o, "XSETBV %u, 0x%lx succeeded but XCR0 reads 0x%lx", index, v, after);
	else if (vec >= 0 && after != before)
		anomaly(o, "XSETBV %u, 0x%lx faulted but XCR0 changed 0x%lx -> 0x%lx", index, v,
			before, after);
}

/* ---------------------------------------------------------------- control registers */

static void op_cr(struct op *o)
{
	struct fixstate *fx = &fixes[o->c->id];
	static const uint64_t cr0_bits[] = { CR0_TS, CR0_MP, CR0_EM, CR0_WP, CR0_AM, CR0_CD,
					     CR0_NW, CR0_NE, CR0_PE, CR0_PG, 1ull << 4,
					     1ull << 6, 1ull << 32, 1ull << 63 };
	unsigned which = (unsigned)rnd_below(o, 6);
	uint64_t old, val = 0, mask = 0;
	int vec;

	switch (which) {
	case 0:         /* CR0: flip a few bits, put it back */
		old = read_cr0();
		for (unsigned i = 0, n = 1 + (unsigned)rnd_below(o, 3); i < n; i++)
			mask |= cr0_bits[rnd_below(o, ARRAY_SIZE(cr0_bits))];
		if (qemu_quirks())
			mask &= ~(CR0_NW | CR0_PG | CR0_PE | 0xffffffff00000000ull);
		if (opt.avoid & AVOID_CR0_PG)
			mask &= ~CR0_PG;
		val = old ^ mask;
		fx->cr0 = old;
		fx->fix |= FIX_CR0;
		op_note(o, 0, val, old, 0);
		vec = write_cr0_safe(val);
		note_vec(o, vec);
		if (vec >= 0 && vec != VEC_GP)
			anomaly(o, "MOV CR0 <- 0x%lx raised vector %d", val, vec);
		/* #GP is required for PG=0 in IA-32e mode, PG without PE, NW
		 * without CD and bits 63:32 (SDM 3, 2.5; SDM 2, MOV CR). */
		if (vec < 0 && (!(val & CR0_PG) || !(val & CR0_PE) || (val >> 32) ||
				((val & CR0_NW) && !(val & CR0_CD))))
			anomaly(o, "MOV CR0 <- 0x%lx (from 0x%lx) did not raise #GP; CR0 now 0x%lx",
				val, old, read_cr0());
		break;
	case 1:         /* CR4: flip a bit or two */
		old = read_cr4();
		mask = 1ull << rnd_below(o, 26);
		if (chance(o, 30))
			mask |= 1ull << rnd_below(o, 64);
		if (qemu_quirks())
			mask &= cr4_supported & ~(1ull << 5);
		if (opt.avoid & AVOID_CR4_VMXE)
			mask &= ~(1ull << 13);
		val = old ^ mask;
		fx->cr4 = old;
		fx->fix |= FIX_CR4;
		op_note(o, 1, val, old, 0);
		vec = write_cr4_safe(val);
		note_vec(o, vec);
		if (vec >= 0 && vec != VEC_GP)
			anomaly(o, "MOV CR4 <- 0x%lx raised vector %d", val, vec);
		if (vec < 0 && (!(val & (1ull << 5)) || ((val ^ old) & (1ull << 12))))
			anomaly(o, "MOV CR4 <- 0x%lx (PAE off or LA57 changed in IA-32e mode) did "
				"not raise #GP", val);
		break;
	case 2:         /* CR3: a copy of our tables, with PWT/PCD, or bad bits */
		old = read_cr3();
		val = (uintptr_t)(chance(o, 50) ? alt_pml4 : boot_pml4);
		if (chance(o, 40))
			val |= rnd(o) & 0x18;
		if (chance(o, 15) && !qemu_quirks())
			val |= 1ull << (boot_info.phys_bits + rnd_below(o, 63 - boot_info.phys_bits));
		fx->fix |= FIX_CR3;
		op_note(o, 2, val, old, 0);
		vec = write_cr3_safe(val);
		note_vec(o, vec);
		if (vec >= 0 && vec != VEC_GP)
			anomaly(o, "MOV CR3 <- 0x%lx raised vector %d", val, vec);
		break;
	case 3:         /* CR2 is just a register */
		val = rnd_value(o);
		op_note(o, 3, val, 0, 0);
		asm volatile("mov %0, %%cr2" : : "r"(val));
		asm volatile("mov %%cr2, %0" : "=r"(old));
		if (old != val)
			anomaly(o, "CR2 reads 0x%lx after writing 0x%lx", old, val);
		break;
	case 4:         /* CR8: 0..15 or reserved bits */
		val = chance(o, 80) ? rnd_below(o, 16) : rnd_value(o);
		fx->fix |= FIX_CR8;
		op_note(o, 4, val, 0, 0);
		vec = write_cr8_safe(val);
		note_vec(o, vec);
		if ((val > 15) != (vec == VEC_GP) || (vec >= 0 && vec != VEC_GP))
			anomaly(o, "MOV CR8 <- 0x%lx: vector %d", val, vec);
		else if (vec < 0 && !qemu_quirks() && read_cr8() != val)
			anomaly(o, "CR8 reads 0x%lx after writing 0x%lx", read_cr8(), val);
		break;
	default: {      /* CR1, CR5-CR7, CR9-CR15 do not exist: #UD */
		static const uint8_t bad[] = { 1, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15 };
		uint8_t cr = bad[rnd_below(o, ARRAY_SIZE(bad))];

		op_note(o, 5, cr, 0, 0);
		site_reset();
		switch (cr) {
		case 1: asm volatile(FAULT_SITE(".byte 0x0f, 0x22, 0xc8") ::: "memory"); break;
		case 5: asm volatile(FAULT_SITE(".byte 0x0f, 0x22, 0xe8") ::: "memory"); break;
		case 6: asm volatile(FAULT_SITE(".byte 0x0f, 0x20, 0xf0") ::: "rax", "memory"); break;
		case 7: asm volatile(FAULT_SITE(".byte 0x0f, 0x22, 0xf8") ::: "memory"); break;
		case 9: asm volatile(FAULT_SITE(".byte 0x44, 0x0f, 0x22, 0xc8") ::: "memory"); break;
		case 10: asm volatile(FAULT_SITE(".byte 0x44, 0x0f, 0x20, 0xd0") ::: "rax", "memory"); break;
		case 11: asm volatile(FAULT_SITE(".byte 0x44, 0x0f, 0x22, 0xd8") ::: "memory"); break;
		case 12: asm volatile(FAULT_SITE(".byte 0x44, 0x0f, 0x22, 0xe0") ::: "memory"); break;
		case 13: asm volatile(FAULT_SITE(".byte 0x44, 0x0f, 0x20, 0xe8") ::: "rax", "memory"); break;
		case 14: asm volatile(FAULT_SITE(".byte 0x44, 0x0f, 0x22, 0xf0") ::: "memory"); break;
		default: asm volatile(FAULT_SITE(".byte 0x44, 0x0f, 0x22, 0xf8") ::: "memory"); break;
		}
		note_vec(o, site_vector());
		if (site_vector() != VEC_UD)
			anomaly(o, "MOV to/from CR%u: vector %d, expected #UD", cr, site_vector());
		break;
	}
	}
}

/* ---------------------------------------------------------------- debug registers */

static volatile uint64_t dr_target[4];

static int write_dr_safe(unsigned n, uint64_t v)
{
	site_reset();
	switch (n) {
	case 0: asm volatile(FAULT_SITE("mov %0, %%dr0") : : "r"(v)); break;
	case 1: asm volatile(FAULT_SITE("mov %0, %%dr1") : : "r"(v)); break;
	case 2: asm volatile(FAULT_SITE("mov %0, %%dr2") : : "r"(v)); break;
	case 3: asm volatile(FAULT_SITE("mov %0, %%dr3") : : "r"(v)); break;
	case 4: asm volatile(FAULT_SITE(".byte 0x0f, 0x23, 0xe0") : : "a"(v)); break; /* DR4 */
	case 5: asm volatile(FAULT_SITE(".byte 0x0f, 0x23, 0xe8") : : "a"(v)); break; /* DR5 */
	case 6: asm volatile(FAULT_SITE("mov %0, %%dr6") : : "r"(v)); break;
	default: asm volatile(FAULT_SITE("mov %0, %%dr7") : : "r"(v)); break;
	}
	return site_vector();
}

static int read_dr_safe(unsigned n, uint64_t *v)
{
	uint64_t x = 0;

	site_reset();
	switch (n) {
	case 0: asm volatile(FAULT_SITE("mov %%dr0, %0") : "+r"(x)); break;
	case 1: asm volatile(FAULT_SITE("mov %%dr1, %0") : "+r"(x)); break;
	case 2: asm volatile(FAULT_SITE("mov %%dr2, %0") : "+r"(x)); break;
	case 3: asm volatile(FAULT_SITE("mov %%dr3, %0") : "+r"(x)); break;
	case 4: asm volatile(FAULT_SITE(".byte 0x0f, 0x21, 0xe0") : "+a"(x)); break;
	case 5: asm volatile(FAULT_SITE(".byte 0x0f, 0x21, 0xe8") : "+a"(x)); break;
	case 6: asm volatile(FAULT_SITE("mov %%dr6, %0") : "+r"(x)); break;
	default: asm volatile(FAULT_SITE("mov %%dr7, %0") : "+r"(x)); break;
	}
	*v = x;
	return site_vector();
}

static void op_dr(struct op *o)
{
	struct fixstate *fx = &fixes[o->c->id];
	unsigned n = (unsigned)rnd_below(o, 8);
	uint64_t v = rnd_value(o), back = 0;
	int vec;

	if (n == 7) {
		/* Breakpoints on our own data and on random addresses, used and
		 * cleared at once. QEMU has crashed with data breakpoints armed in
		 * two guests (PLATFORM.md): only vCPU 0 arms them. */
		for (unsigned i = 0; i < 4; i++)
			write_dr_safe(i, chance(o, 60) ? (uint64_t)(uintptr_t)&dr_target[i] : rnd(o));
		if (o->c->id != 0 || qemu_quirks() || (opt.avoid & AVOID_DR_BP))
			v &= ~0xffull;
		if (chance(o, 80))
			v &= ~(1ull << 13) & 0xffffffffull;   /* GD and high bits: sometimes */
		if (opt.avoid & AVOID_DR7_GD)
			v &= ~(1ull << 13);
		fx->fix |= FIX_DR7;
		op_note(o, 7, v, 0, 0);
		vec = write_dr_safe(7, v);
		note_vec(o, vec);
		for (unsigned i = 0; i < 4; i++)
			dr_target[i] += i;
		if ((v >> 32) ? vec != VEC_GP : vec >= 0)
			anomaly(o, "MOV DR7 <- 0x%lx: vector %d", v, vec);
		return;
	}
	if (n == 6 && chance(o, 70))
		v &= 0xffffffffull;
	if (n == 5) {           /* DR5 is DR7 while CR4.DE is clear */
		v &= ~0xffull;
		if (opt.avoid & AVOID_DR7_GD)
			v &= ~(1ull << 13);
		fx->fix |= FIX_DR7;
	}
	op_note(o, n, v, chance(o, 50), 0);
	if (o->log->b) {
		vec = read_dr_safe(n, &back);
	} else {
		vec = write_dr_safe(n, v);
		if (vec < 0 && n < 4 && (read_dr_safe(n, &back), back != v))
			anomaly(o, "DR%u reads 0x%lx after writing 0x%lx", n, back, v);
	}
	note_vec(o, vec);
	/* DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD); DR6 high bits: #GP. */
	if (vec >= 0 && vec != VEC_GP && vec != VEC_UD && vec != VEC_DB)
		anomaly(o, "MOV DR%u: vector %d", n, vec);
}

/* ---------------------------------------------------------------- code buffer */

struct snipregs {
	uint64_t rax, rcx, rdx, rbx, rsi, rdi, r8;
};
void snip_call(uint64_t code, struct snipregs *r);

/* Copies bytes to this vCPU's buffer so that they cross a page (and
 * often the 2 MiB) boundary, adds RET and INT3 padding, runs them with
 * the given registers. Returns the vector raised, or -1. */
static int snip_run(struct op *o, const uint8_t *code, unsigned len, struct snipregs *r)
{
	struct cpu *c = o->c;
	uint64_t base = snip_base[c->id], at, boundary = base + SNIP_SPAN / 2;
	uint8_t *p;

	if (!base)
		return -2;
	switch (rnd_below(o, 4)) {
	case 0: case 1: at = boundary - 1 - rnd_below(o, len); break;   /* across 2 MiB */
	case 2: at = boundary - 4096 - 1 - rnd_below(o, len); break;      /* across 4 KiB */
	default: at = base + 64 + rnd_below(o, SNIP_SPAN - 128); break;
	}
	p = (uint8_t *)(uintptr_t)at;
	for (unsigned i = 0; i < len; i++)
		p[i] = code[i];
	p[len] = 0xc3;
	for (unsigned i = 1; i < 8; i++)
		p[len + i] = 0xcc;
	c->snip_lo = at;
	c->snip_hi = at + len + 8;
	c->snip_ret = at + len;
	site_reset();
	snip_call(at, r);
	c->snip_hi = 0;
	return site_vector();
}

static unsigned add_prefixes(struct op *o, uint8_t *buf, unsigned max, bool allow_lock)
{
	static const uint8_t legacy[] = { 0x66, 0x67, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0xf2,
					  0xf3 };
	unsigned n = chance(o, 40) ? 0 : (unsigned)rnd_below(o, chance(o, 10) ? max : 4);

	for (unsigned i = 0; i < n; i++) {
		if (allow_lock && chance(o, 3))
			buf[i] = 0xf0;
		else if (chance(o, 15))
			buf[i] = (uint8_t)(0x40 | rnd_below(o, 16));
		else
			buf[i] = legacy[rnd_below(o, ARRAY_SIZE(legacy))];
	}
	return n;
}

enum { SN_CPUID, SN_RDMSR, SN_HCALL, SN_XSETBV, SN_IN, SN_OUT, SN_CR8, SN_MOFFS, SN_MOVMEM,
       SN_INTN, SN_UD, SN_RDTSC, NR_SNIPS };

static void op_snippet(struct op *o)
{
	static const uint8_t ud_ops[][3] = {
		{ 0x06 }, { 0x07 }, { 0x0e }, { 0x16 }, { 0x17 }, { 0x1e }, { 0x1f }, { 0x27 },
		{ 0x2f }, { 0x37 }, { 0x3f }, { 0x60 }, { 0x61 }, { 0x82, 0xc0, 0x00 }, { 0xd4, 0x0a },
		{ 0xd5, 0x0a }, { 0xd6 }, { 0xce }, { 0x0f, 0x0b }, { 0x0f, 0xff, 0xc0 },
		{ 0x0f, 0xb9, 0xc0 }, { 0x0f, 0x0a }, { 0xf0, 0x90 },
	};
	static const uint8_t ud_len[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 2, 2, 1, 1, 2,
					  3, 3, 2, 2 };
	uint8_t code[32];
	unsigned kind = (unsigned)rnd_below(o, NR_SNIPS), n, npre;
	struct snipregs r = { 0 };
	bool lock = false, expect_ud = false, mandatory = false;
	int vec;
	uint64_t irqs_before = o->c->irqs, nmis_before = o->c->nmis, pa = 0;

	npre = add_prefixes(o, code, 14, kind != SN_MOVMEM && kind != SN_MOFFS && kind != SN_CR8);
	for (unsigned i = 0; i < npre; i++) {
		lock |= code[i] == 0xf0;
		mandatory |= code[i] == 0x66 || code[i] == 0xf2 || code[i] == 0xf3;
	}
	n = npre;
	switch (kind) {
	case SN_CPUID:
		code[n++] = 0x0f; code[n++] = 0xa2;
		r.rax = chance(o, 50) ? 0x40000000u : (uint32_t)rnd_below(o, 0x20);
		break;
	case SN_RDMSR:
		code[n++] = 0x0f; code[n++] = 0x32;
		r.rcx = pick_msr(o);
		break;
	case SN_HCALL:
		code[n++] = 0x0f; code[n++] = 0x01; code[n++] = boot_info.svm ? 0xd9 : 0xc1;
		r.rax = HV_HC_NOP;
		break;
	case SN_XSETBV:
		if (!has_xsave)
			return;
		code[n++] = 0x0f; code[n++] = 0x01; code[n++] = 0xd1;
		xgetbv_safe(0, &r.rax);
		break;
	case SN_IN:
		code[n++] = (uint8_t)(0xe4 | rnd_below(o, 2) | (chance(o, 50) ? 8 : 0));
		if (!(code[n - 1] & 8))
			code[n++] = (uint8_t)rnd(o);
		r.rdx = (uint16_t)rnd(o);
		break;
	case SN_OUT: {
		uint32_t v = (uint32_t)rnd(o);
		uint16_t port = chance(o, 50) ? 0x80 : (uint16_t)rnd(o);
		bool dx = chance(o, 50), wide = chance(o, 50);
		unsigned size = wide ? 4 : 1;

		for (unsigned i = 0; i < npre; i++)
			if (code[i] == 0x66 && wide)
				size = 2;
		if (!dx)
			port &= 0xff;
		/* the UART and CMOS ports would need their locks: not from here */
		if (overlaps(port, size, 0x3f8, 0x400) || overlaps(port, size, 0x70, 0x72) ||
		    !pio_write_filter(port, size, &v))
			port = 0x80;
		code[n++] = (uint8_t)(0xe6 | (wide ? 1 : 0) | (dx ? 8 : 0));
		if (!dx)
			code[n++] = (uint8_t)port;
		r.rax = v;
		r.rdx = port;
		break;
	}
	case SN_CR8:
		code[n++] = 0x44; code[n++] = 0x0f;
		code[n++] = chance(o, 50) && !qemu_quirks() ? 0x22 : 0x20;
		code[n++] = 0xc0;
		r.rax = rnd_below(o, 16);
		fixes[o->c->id].fix |= FIX_CR8;
		/* REX must come right before 0f: drop prefixes that would split it */
		break;
	case SN_MOFFS: {
		/* A0-A3 with a 64-bit (or, with 67, 32-bit) absolute address. */
		bool a32 = false;
		uint64_t target = chance(o, 50) ? mmio_target(o, T_HOLE) : XAPIC + 0x30;

		for (unsigned i = 0; i < npre; i++)
			a32 |= code[i] == 0x67;
		if (chance(o, 30))
			code[n++] = 0x48;
		code[n++] = (uint8_t)(0xa0 | (chance(o, 50) ? 1 : 0) |
				      (is_hole(target, 8) && chance(o, 50) ? 2 : 0));
		for (unsigned i = 0; i < (a32 ? 4u : 8u); i++)
			code[n++] = (uint8_t)(target >> (8 * i));
		r.rax = rnd(o);
		pa = target;
		break;
	}
	case SN_MOVMEM: {
		/* 8b/89/8a/88/c7/c6 with (%rdi) (or (%edi) under 67) */
		static const uint8_t ops[] = { 0x8b, 0x89, 0x8a, 0x88, 0xc7, 0xc6 };
		uint8_t opc = ops[rnd_below(o, ARRAY_SIZE(ops))];
		uint64_t target = chance(o, 60) ? mmio_target(o, T_HOLE) :
				  chance(o, 50) ? XAPIC + 0x30 : IOAPIC;
		bool store = opc == 0x89 || opc == 0x88 || opc == 0xc7 || opc == 0xc6;

		if (store && !is_hole(target, 8))
			opc = 0x8b;
		bool rexw = npre && (code[npre - 1] & 0xf8) == 0x48, o16 = false;

		for (unsigned i = 0; i < npre; i++)
			o16 |= code[i] == 0x66;
		if (chance(o, 40)) {
			code[n++] = (uint8_t)(0x48 | (rnd(o) & 4));
			rexw = true;
		}
		code[n++] = opc;
		code[n++] = 0x07;         /* ModRM: [rdi], reg 0 (rax or r8) */
		if (opc == 0xc7) {        /* imm16 under 66 unless REX.W, else imm32 */
			for (unsigned i = 0; i < (o16 && !rexw ? 2u : 4u); i++)
				code[n++] = (uint8_t)rnd(o);
		} else if (opc == 0xc6) {
			code[n++] = (uint8_t)rnd(o);
		}
		r.rdi = target;
		pa = target;
		break;
	}
	case SN_INTN:
		code[n++] = 0xcd;
		code[n++] = (uint8_t)rnd(o);
		break;
	case SN_UD: {
		unsigned u = (unsigned)rnd_below(o, ARRAY_SIZE(ud_len));

		for (unsigned i = 0; i < ud_len[u]; i++)
			code[n++] = ud_ops[u][i];
		expect_ud = true;
		break;
	}
	default:
		code[n++] = 0x0f; code[n++] = 0x31;
		break;
	}
	if (kind == SN_CR8 && npre) {
		/* keep REX adjacent to 0f */
		for (unsigned i = 0; i < npre; i++)
			if ((code[i] & 0xf0) == 0x40)
				code[i] = 0x3e;
	}
	op_note(o, kind, code[npre] | (uint64_t)n << 56, pa ? pa : r.rax, r.rcx | r.rdx << 32);
	{
		char *hex = o->c->snip_hex;
		unsigned k = 0;

		hex[0] = '\0';
		for (unsigned i = 0; i < n && k + 4 < sizeof(o->c->snip_hex); i++)
			k += (unsigned)ksnprintf(hex + k, sizeof(o->c->snip_hex) - k, i ? " %02x" : "%02x",
						 code[i]);
		if (o->traced)
			kprintf("chaos: trace   bytes %s\n", hex);
	}
	vec = snip_run(o, code, n, &r);
	note_vec(o, vec);
	if (vec == -2)
		return;
	/* What the CPU must do: > 15 bytes #GP; LOCK on these #UD; else run. */
	if (n > 15) {
		/* #GP, but QEMU and Bochs both decode an invalid opcode first (#UD);
		 * what matters is that it did not run */
		if (vec != VEC_GP && vec != VEC_UD)
			anomaly(o, "a %u-byte instruction (limit 15) gave vector %d, not #GP", n, vec);
		return;
	}
	if (kind == SN_INTN) {
		unsigned nv = code[n - 1];

		if (lock ? vec != VEC_UD && !qemu_quirks() :
		    nv >= 32 ? o->c->irqs == irqs_before :
		    nv == VEC_NMI ? o->c->nmis == nmis_before : vec != (int)nv)
			anomaly(o, "INT 0x%x: vector %d", nv, vec);
		return;
	}
	if (lock || expect_ud) {
		/* QEMU TCG ignores LOCK on many instructions (quirks) */
		if (vec != VEC_UD && !(lock && qemu_quirks()))
			anomaly(o, "expected #UD, got vector %d", vec);
		return;
	}
	/* 66, F2 and F3 can select another instruction in the 0f map. */
	if (mandatory && vec == VEC_UD && kind != SN_IN && kind != SN_OUT && kind != SN_MOFFS &&
	    kind != SN_MOVMEM)
		return;
	switch (kind) {
	case SN_RDMSR:
		if (vec >= 0 && vec != VEC_GP)
			anomaly(o, "RDMSR 0x%lx (with prefixes) raised vector %d", r.rcx, vec);
		break;
	case SN_MOFFS:
	case SN_MOVMEM:
		if (vec >= 0)
			anomaly(o, "MMIO MOV (with prefixes) to 0x%lx raised vector %d", pa, vec);
		break;
	case SN_CPUID:
		if (vec >= 0)
			anomaly(o, "CPUID (with prefixes) raised vector %d", vec);
		else if (o->log->b == 0x40000000u && r.rbx != HV_CPUID_SIGNATURE_EBX)
			anomaly(o, "CPUID 0x40000000 (with prefixes): ebx 0x%lx", r.rbx);
		break;
	case SN_HCALL:
		if (vec >= 0 || r.rax != 0)
			anomaly(o, "hypercall NOP (with prefixes): vector %d, rax 0x%lx", vec, r.rax);
		break;
	default:
		if (vec >= 0 && !(kind == SN_XSETBV && vec == VEC_GP))
			anomaly(o, "%s instruction (with prefixes) raised vector %d",
				kind == SN_IN ? "IN" : kind == SN_OUT ? "OUT" : kind == SN_CR8 ?
				"MOV CR8" : kind == SN_XSETBV ? "XSETBV" : "RDTSC", vec);
		break;
	}
}

/* ---------------------------------------------------------------- exceptions */

static volatile uint64_t exc_scratch;

static void op_exception(struct op *o)
{
	unsigned sub = (unsigned)rnd_below(o, 14);
	uint64_t dbs = o->c->dbs, cr0;
	int vec, want = -1;
	bool trap = false;

	op_note(o, sub, 0, 0, 0);
	site_reset();
	switch (sub) {
	case 0:
		asm volatile(FAULT_SITE_X("int3", 1, 3) ::: "memory");
		want = VEC_BP; trap = true;
		break;
	case 1:
		asm volatile(FAULT_SITE_X(".byte 0xf1", 1, 1) ::: "memory");     /* INT1 */
		want = VEC_DB; trap = true;
		break;
	case 2:
		asm volatile(FAULT_SITE_X("int $0x3", 1, 3) ::: "memory");
		want = VEC_BP; trap = true;
		break;
	case 3:
		asm volatile(FAULT_SITE("ud2") ::: "memory");
		want = VEC_UD;
		break;
	case 4: {
		uint32_t z = 0;

		asm volatile(FAULT_SITE("divl %2") : "+a"(z), "+d"(z) : "r"(z) : "memory");
		want = 0;
		break;
	}
	case 5: {
		uint64_t lo = 1ull << 63, hi = ~0ull, d = ~0ull;

		asm volatile(FAULT_SITE("idivq %2") : "+a"(lo), "+d"(hi) : "r"(d) : "memory");
		want = 0;
		break;
	}
	case 6:
		asm volatile(FAULT_SITE("movq (%0), %%rax") : : "r"(0x8000000000000000ull + rnd(o) % 4096)
			     : "rax", "memory");
		want = VEC_GP;
		break;
	case 7:
		asm volatile(FAULT_SITE("movq (%0), %%rax") : : "r"(0x0000700000000000ull) : "rax", "memory");
		want = VEC_PF;
		break;
	case 8:
		asm volatile(FAULT_SITE("movq (%%rsp,%0,1), %%rax") : : "r"(0x8000000000000000ull)
			     : "rax", "memory");
		want = 12;    /* #SS */
		break;
	case 9:         /* #NM: CR0.TS and an x87 instruction */
		cr0 = read_cr0();
		fixes[o->c->id].cr0 = cr0;
		fixes[o->c->id].fix |= FIX_CR0;
		write_cr0_safe(cr0 | CR0_TS);
		site_reset();
		asm volatile(FAULT_SITE("fnop") ::: "memory");
		want = 7;
		break;
	case 10:        /* #MF: an unmasked x87 divide by zero, taken at FWAIT */
		fixes[o->c->id].fix |= FIX_FPU;
		asm volatile("fninit; fldcw %0; fldz; fldz; fdivp" : : "m"((uint16_t){ 0x37a }));
		site_reset();
		asm volatile(FAULT_SITE("fwait") ::: "memory");
		want = 16;
		break;
	case 11:        /* #XM: an unmasked SSE divide by zero */
		if (!has_fxsr)
			return;
		fixes[o->c->id].fix |= FIX_FPU;
		asm volatile("ldmxcsr %0" : : "m"((uint32_t){ 0x1f80 & ~0x200u }));
		site_reset();
		asm volatile("xorps %%xmm1, %%xmm1; pcmpeqd %%xmm0, %%xmm0; psrld $25, %%xmm0; "
			     "pslld $23, %%xmm0\n\t" FAULT_SITE("divss %%xmm1, %%xmm0") ::: "memory");
		want = 19;
		break;
	case 12:        /* single step over a few instructions */
		asm volatile("pushfq; orq $0x100, (%%rsp); popfq; nop; nop; "
			     "pushfq; andq $~0x100, (%%rsp); popfq" ::: "memory", "cc");
		if (o->c->dbs == dbs)
			anomaly(o, "single step raised no #DB");
		return;
	default: {      /* a bad data segment selector, then the good one back */
		uint16_t sel = (uint16_t)(chance(o, 50) ? 0x18 + 8 * rnd_below(o, 8) : rnd(o));

		fixes[o->c->id].fix |= FIX_SEG;
		o->log->a = sel;
		asm volatile(FAULT_SITE("mov %0, %%ds") : : "r"(sel) : "memory");
		vec = site_vector();
		note_vec(o, vec);
		if (vec >= 0 && vec != VEC_GP && vec != 11)
			anomaly(o, "MOV DS <- 0x%x raised vector %d", sel, vec);
		return;
	}
	}
	vec = site_vector();
	note_vec(o, vec);
	/* Exceptions the CPU raises and the hypervisor only sees intercepted
	 * are checked exactly (#UD, #DB, #BP); under QEMU TCG (quirks), #SS for
	 * a non-canonical stack access comes as #GP, SSE exceptions never come,
	 * and INT1 is an invalid opcode (no WANT_ICEBP in QEMU 7.2). */
	if (qemu_quirks() && ((want == 12 && vec == VEC_GP) || (want == 19 && vec < 0) ||
			      (sub == 1 && vec == VEC_UD)))
		return;
	if (vec != want)
		anomaly(o, "expected vector %d, got %d", want, vec);
	else if (trap == o->c->site_at_insn && vec != VEC_DB)
		anomaly(o, "vector %d reported %s the instruction", vec,
			trap ? "at (not after)" : "after (not at)");
	else if (sub == 1 && o->c->site_at_insn)
		anomaly(o, "#DB of INT1 reported at the instruction: its handler would run it again");
}

/* ---------------------------------------------------------------- local APIC */

static void op_apic(struct op *o)
{
	struct fixstate *fx = &fixes[o->c->id];
	unsigned sub = (unsigned)rnd_below(o, 9);
	uint64_t v = rnd_value(o), r = 0;
	unsigned reg = (unsigned)rnd_below(o, 64) * 16;

	op_note(o, sub, reg, v, x2apic_on());
	switch (sub) {
	case 0:         /* the timer, any mode and vector */
		apic_write(0x3e0, rnd_below(o, 16));
		apic_write(0x320, (rnd_below(o, 256)) | (rnd_below(o, 4) << 17) |
				  (chance(o, 20) ? 1u << 16 : 0));
		apic_write(0x380, chance(o, 50) ? 1 + rnd_below(o, 1000) : (uint32_t)v);
		fx->fix |= FIX_APIC_TIMER;
		break;
	case 1: {       /* a periodic storm of the shortest period, taken */
		uint64_t before = o->c->irqs;

		apic_quiesce();
		apic_write(0x3e0, 0xb);
		apic_write(0x320, (1u << 17) | (32 + rnd_below(o, 224)));
		apic_write(0x380, 1);
		fx->fix |= FIX_APIC_TIMER;
		sti_window_us(300 + rnd_below(o, 1700));
		apic_write(0x320, 1u << 16);
		o->log->c = o->c->irqs - before;
		break;
	}
	case 2:         /* TSC-deadline */
		apic_quiesce();
		apic_write(0x320, (2u << 17) | (32 + rnd_below(o, 224)));
		wrmsr_safe(0x6e0, rdtsc() + rnd_below(o, tsc_ticks_ms(1)));
		fx->fix |= FIX_APIC_TIMER;
		sti_window_us(1000);
		break;
	case 3:
		apic_write(0xf0, v & 0x13ff);
		break;
	case 4:
		apic_write(0x80, v & 0xff);
		(void)apic_read(0xa0);
		break;
	case 5:
		r = apic_read(reg);
		o->log->c = r;
		break;
	case 6:         /* any register, any value (the ICR through the filter) */
		if (reg == 0x300)
			v = icr_sanitize(v, x2apic_on(), o->c->id);
		if (reg == 0x310 && !x2apic_on())
			v = 0;
		apic_write(reg, v);
		break;
	case 7:
		apic_write(0xb0, v);
		apic_write(chance(o, 50) ? 0xd0 : 0xe0, v);
		break;
	default: {      /* mode changes: x2APIC on and off, disabled, enabled */
		uint64_t base = 0;

		base = apic_base_get();
		switch (rnd_below(o, 4)) {
		case 0: base |= APIC_BASE_EXTD | APIC_BASE_EN; break;
		case 1: base &= ~APIC_BASE_EXTD; break;
		case 2: base &= ~APIC_BASE_EN; break;
		default: base |= APIC_BASE_EN; break;
		}
		o->log->b = base;
		note_vec(o, apic_base_set(base));
		break;
	}
	}
}

/* ---------------------------------------------------------------- IPIs */

void ipi_wake_all_but_self(void)
{
	apic_write(0xf0, 0x1ff);
	apic_write(0x300, (3ull << 18) | 0xf0);
}

static void op_ipi(struct op *o)
{
	bool x2 = x2apic_on();
	unsigned mode = chance(o, 60) ? 0 : (unsigned)rnd_below(o, 8);
	unsigned count = mode == 0 ? 1 + (unsigned)rnd_below(o, chance(o, 20) ? 64 : 4) : 1;
	unsigned shorthand = (unsigned)rnd_below(o, 4);
	uint64_t dest = chance(o, 50) ? rnd_below(o, 4) : chance(o, 50) ? 0xff : rnd(o) & 0xff;
	uint64_t icr = (uint64_t)mode << 8 | (uint64_t)shorthand << 18 |
		       (chance(o, 20) ? 1ull << 11 : 0) | (chance(o, 10) ? 3ull << 14 : 1ull << 14);
	uint64_t before = o->c->irqs;

	icr |= chance(o, 90) ? 16 + rnd_below(o, 240) : rnd_below(o, 16);
	icr |= x2 ? (chance(o, 20) ? rnd(o) & 0xffffffff00000000ull : dest << 32) : dest << 56;
	icr = icr_sanitize(icr, x2, o->c->id);
	op_note(o, mode, icr, count, x2);
	apic_quiesce();
	for (unsigned i = 0; i < count; i++)
		apic_write(0x300, icr);
	if (x2 && chance(o, 30))
		wrmsr_safe(0x83f, rnd_below(o, 256));
	sti_window_us(50 + rnd_below(o, 200));
	o->log->c = o->c->irqs - before;
	/* A fixed IPI to ourselves with a valid vector must have come by now. */
	if (mode == 0 && (shorthand == 1 || shorthand == 2) && (icr & 0xff) >= 32 &&
	    o->c->irqs == before)
		anomaly(o, "a fixed self-IPI (ICR 0x%lx) was not delivered", icr);
}

/* ---------------------------------------------------------------- IOAPIC */

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_wr32(IOAPIC, reg);
	mmio_wr32(IOAPIC + 0x10, v);
}

static void op_ioapic(struct op *o)
{
	struct fixstate *fx = &fixes[o->c->id];
	unsigned sub = (unsigned)rnd_below(o, 5), pin = (unsigned)rnd_below(o, 24);
	uint64_t v = rnd(o);

	op_note(o, sub, pin, v, 0);
	switch (sub) {
	case 0:         /* a redirection entry, both halves */
		ioapic_write(0x10 + 2 * pin, (uint32_t)v);
		ioapic_write(0x11 + 2 * pin, (uint32_t)(v >> 32));
		break;
	case 1:         /* registers that may not exist */
		mmio_wr32(IOAPIC, (uint32_t)rnd_below(o, 256));
		o->log->c = mmio_rd32(IOAPIC + 0x10);
		break;
	case 2:         /* the UART's line (pin 4) to us, raised by THRE */
		fx->console_locked = console_lock();
		fx->fix |= FIX_UART;
		apic_quiesce();
		ioapic_write(0x18, (uint32_t)(32 + rnd_below(o, 224)) | (chance(o, 50) ? 1u << 15 : 0));
		ioapic_write(0x19, o->c->id << 24);
		outb(UART_IER, 0x02);
		outb(UART_MCR, 0x08);
		sti_window_us(100 + rnd_below(o, 300));
		(void)inb(UART_IIR);
		uart_restore();
		ioapic_write(0x18, 1u << 16);
		break;
	case 3:         /* sizes the IOAPIC ignores */
		asm volatile("movb %%al, (%0)" : : "r"(IOAPIC), "a"(v) : "memory");
		asm volatile("movq %%rax, 0x10(%0)" : : "r"(IOAPIC), "a"(v) : "memory");
		break;
	default:
		ioapic_write(0, (uint32_t)v);
		o->log->c = (uint64_t)mmio_rd32(IOAPIC + 0x10);
		break;
	}
}

/* ---------------------------------------------------------------- HLT */

/* Sleeps with interrupts enabled until the hypervisor's one-shot timer (or
 * the local APIC's) or anything else wakes us. */
void hlt_wait(uint64_t ms_or_us, bool use_apic_timer)
{
	uint64_t ticks = tsc_ticks_ms(1) * ms_or_us / 1000;

	write_cr8_safe(0);
	if (use_apic_timer) {
		apic_quiesce();
		apic_write(0x3e0, 0xb);
		apic_write(0x320, 0xfe);
		apic_write(0x380, (uint32_t)(ms_or_us * 100));   /* 100 MHz */
	} else {
		hypercall(HV_HC_TIMER_SET, rdtsc() + ticks, 0xfe, 0);
	}
	asm volatile("sti; hlt; cli" ::: "memory");
}

static void op_hlt(struct op *o)
{
	uint64_t before = o->c->irqs, us = 100 + rnd_below(o, 2000);
	bool apic_timer = chance(o, 30);

	op_note(o, apic_timer, us, 0, 0);
	if (apic_timer)
		fixes[o->c->id].fix |= FIX_APIC_TIMER;
	hlt_wait(us, apic_timer);
	o->log->c = o->c->irqs - before;
	if (o->c->irqs == before && o->c->nmis == 0)
		anomaly(o, "HLT returned without an interrupt");
}

/* ---------------------------------------------------------------- RAM */

static void op_ram(struct op *o)
{
	uint64_t mem = mem_size(), len = 1 + rnd_below(o, chance(o, 20) ? 4096 : 64);
	uint64_t a = chance(o, 20) ? mem - len - rnd_below(o, 64) : rnd_below(o, mem - len);
	uint64_t v = rnd(o);
	unsigned sub = (unsigned)rnd_below(o, 4);

	if (a + len > mem || is_protected(a, len)) {
		op_note(o, 9, a, len, 0);
		return;
	}
	op_note(o, sub, a, len, v);
	switch (sub) {
	case 0: {
		void *p = (void *)(uintptr_t)a;

		asm volatile("rep stosb" : "+D"(p), "+c"(len) : "a"(v) : "memory");
		break;
	}
	case 1:
		if (len >= 8 && !(a & 7))
			asm volatile("lock xaddq %0, (%1)" : "+r"(v) : "r"(a) : "memory");
		break;
	case 2:
		if (len >= 4)
			asm volatile("lock cmpxchgl %1, (%2)" : "+a"(v) : "r"((uint32_t)v), "r"(a)
				     : "memory");
		break;
	default:
		*(volatile uint8_t *)(uintptr_t)a = (uint8_t)v;
		break;
	}
}

/* ---------------------------------------------------------------- misc */

static uint8_t fx_area[MAX_VCPUS][4096] __attribute__((aligned(64)));

static void op_misc(struct op *o)
{
	unsigned sub = (unsigned)rnd_below(o, 16);
	uint64_t v = rnd_value(o), x = 0;
	int vec = -1;
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) dt;

	op_note(o, sub, v, 0, 0);
	site_reset();
	switch (sub) {
	case 0: asm volatile("invlpg (%0)" : : "r"(v) : "memory"); break;
	case 1: asm volatile("wbinvd" ::: "memory"); break;
	case 2: asm volatile("clflush (%0)" : : "r"(&exc_scratch) : "memory"); break;
	case 3:
		asm volatile(FAULT_SITE("rdtscp") : "=a"(x), "=c"(v) : : "rdx", "memory");
		break;
	case 4:
		asm volatile(FAULT_SITE("rdpid %0") : "=r"(x) : : "memory");
		break;
	case 5:
		asm volatile(FAULT_SITE("rdrand %0") : "=r"(x) : : "memory", "cc");
		break;
	case 6:
		asm volatile("sgdt %0; sidt %0" : "=m"(dt) : : "memory");
		asm volatile("smsw %0; str %w0; sldt %w0" : "=r"(x) : : "memory");
		break;
	case 7: {       /* LMSW: MP/EM/TS (PE stays), put back */
		uint64_t cr0 = read_cr0();

		fixes[o->c->id].cr0 = cr0;
		fixes[o->c->id].fix |= FIX_CR0;
		asm volatile(FAULT_SITE("lmsw %w0") : : "r"((uint16_t)((v & 0xe) | 1)) : "memory");
		asm volatile("clts" ::: "memory");
		break;
	}
	case 8:
		asm volatile("swapgs; swapgs" ::: "memory");
		break;
	case 9:
		asm volatile(FAULT_SITE("xgetbv") : "=a"(x) : "c"((uint32_t)(chance(o, 50) ? 1 : v))
			     : "rdx", "memory");
		break;
	case 10:        /* RFLAGS: AC, ID, IOPL; NT then IRETQ is #GP in 64-bit mode */
		asm volatile("pushfq; orq %0, (%%rsp); popfq; pushfq; andq %1, (%%rsp); popfq"
			     : : "r"(v & 0x243000), "i"(~0x247100ll) : "memory", "cc");
		break;
	case 11:
		asm volatile(FAULT_SITE("rdpmc") : "=a"(x) : "c"((uint32_t)(chance(o, 50) ? 0 : v))
			     : "rdx", "memory");
		break;
	case 12:
		if (has_fxsr) {
			fixes[o->c->id].fix |= FIX_FPU;
			asm volatile("fxsave64 %0" : "=m"(fx_area[o->c->id]) : : "memory");
			if (chance(o, 50))
				*(uint32_t *)&fx_area[o->c->id][24] = (uint32_t)v;   /* MXCSR */
			asm volatile(FAULT_SITE("fxrstor64 %0") : : "m"(fx_area[o->c->id]) : "memory");
		}
		break;
	case 13:
		if (has_xsave) {
			uint64_t xcr0 = 0;

			fixes[o->c->id].fix |= FIX_FPU;
			xgetbv_safe(0, &xcr0);
			memset(fx_area[o->c->id], 0, sizeof(fx_area[0]));
			asm volatile(FAULT_SITE("xsave64 %0") : "+m"(fx_area[o->c->id])
				     : "a"((uint32_t)v), "d"(0) : "memory");
			if (chance(o, 50))
				fx_area[o->c->id][512 + rnd_below(o, 64)] ^= (uint8_t)rnd(o);
			asm volatile(FAULT_SITE("xrstor64 %0") : : "m"(fx_area[o->c->id]),
				     "a"((uint32_t)v), "d"(0) : "memory");
		}
		break;
	case 14: {      /* IRETQ to the next instruction, NT sometimes set */
		uint64_t nt = chance(o, 30) ? 0x4000 : 0;

		/* RSP is restored from R11 on both paths (a #GP leaves the frame). */
		asm volatile("movq %%rsp, %%r11\n\t"
			     "pushq $0x10; pushq %%r11; pushfq; orq %0, (%%rsp); pushq $0x08\n\t"
			     "leaq 3f(%%rip), %%rax; pushq %%rax\n\t"
			     FAULT_SITE("iretq") "\n3:\n\t"
			     "movq %%r11, %%rsp; pushfq; andq $~0x4000, (%%rsp); popfq"
			     : : "r"(nt) : "rax", "r11", "memory", "cc");
		break;
	}
	default:
		asm volatile("lfence; mfence; sfence; pause" ::: "memory");
		break;
	}
	vec = site_vector();
	note_vec(o, vec);
	o->log->c = x;
	if (vec >= 0 && vec != VEC_GP && vec != VEC_UD)
		anomaly(o, "misc op %u raised vector %d", sub, vec);
}

/* ---------------------------------------------------------------- interrupt shadows */

static void op_shadow(struct op *o)
{
	unsigned sub = (unsigned)rnd_below(o, 6);
	uint64_t before, rax = 0, msr_lo = 0;
	uint32_t vector = 32 + (uint32_t)rnd_below(o, 224);
	unsigned port = 0x80;

	op_note(o, sub, vector, 0, 0);
	switch (sub) {
	case 0:
		asm volatile("mov %%ss, %%bx; mov %%bx, %%ss; cpuid"
			     : "=a"(rax) : "a"(0), "c"(0) : "rbx", "rdx", "memory");
		break;
	case 1:
		rax = HV_HC_NOP;
		if (boot_info.svm)
			asm volatile("mov %%ss, %%cx; mov %%cx, %%ss; vmmcall"
				     : "+a"(rax) : : "rcx", "memory");
		else
			asm volatile("mov %%ss, %%cx; mov %%cx, %%ss; vmcall"
				     : "+a"(rax) : : "rcx", "memory");
		if (rax != 0)
			anomaly(o, "hypercall NOP in a MOV SS shadow returned 0x%lx", rax);
		break;
	case 2:
		asm volatile("mov %%ss, %%bx; mov %%bx, %%ss; rdmsr"
			     : "=a"(msr_lo) : "c"(0x10) : "rbx", "rdx", "memory");
		break;
	case 3:
		asm volatile("mov %%ss, %%bx; mov %%bx, %%ss; inb %%dx, %%al"
			     : "=a"(rax) : "d"(port) : "rbx", "memory");
		break;
	default:        /* a pending self-IPI, then STI; <exiting insn>; CLI */
		apic_quiesce();
		before = o->c->irqs;
		apic_write(0x300, (1ull << 18) | (1ull << 14) | vector);
		if (sub == 4)
			asm volatile("sti; cpuid; cli" : "=a"(rax) : "a"(0), "c"(0)
				     : "rbx", "rdx", "memory");
		else
			asm volatile("sti; outb %%al, $0x80; cli" : : "a"(0) : "memory");
		if (o->c->irqs == before) {
			/* late is not lost: take it now, then say so */
			sti_window_us(50);
			anomaly(o, "self-IPI 0x%x pending across STI; %s; CLI was not taken "
				"(taken later: %s)", vector, sub == 4 ? "CPUID" : "OUT",
				o->c->irqs != before ? "yes" : "no");
		}
		break;
	}
}

/* ---------------------------------------------------------------- driver glue */

void op_run_class(struct op *o, unsigned cls)
{
	switch (cls) {
	case C_PIO: op_pio(o); break;
	case C_MMIO: op_mmio(o); break;
	case C_MSR: op_msr(o); break;
	case C_CPUID: op_cpuid(o); break;
	case C_HCALL: op_hypercall(o); break;
	case C_XSETBV: op_xsetbv(o); break;
	case C_CR: op_cr(o); break;
	case C_DR: op_dr(o); break;
	case C_EXC: op_exception(o); break;
	case C_SNIP: op_snippet(o); break;
	case C_APIC: op_apic(o); break;
	case C_IPI: op_ipi(o); break;
	case C_IOAPIC: op_ioapic(o); break;
	case C_HLT: op_hlt(o); break;
	case C_RAM: op_ram(o); break;
	case C_MISC: op_misc(o); break;
	default: op_shadow(o); break;
	}
}

/* Puts back what the op changed (also after an op abandoned on a fault). */
void op_fixup(struct op *o, unsigned cls)
{
	struct fixstate *fx = &fixes[o->c->id];
	uint32_t f = fx->fix;

	(void)cls;
	fx->fix = 0;
	asm volatile("pushfq; andq $~0x40100, (%%rsp); popfq; cli" ::: "memory", "cc");
	if (f & FIX_SEG) {
		asm volatile("mov %0, %%ds; mov %0, %%es" : : "r"(GDT_DATA));
		asm volatile("mov %0, %%fs; mov %0, %%gs" : : "r"(0));
	}
	if (f & FIX_CR0)
		write_cr0_safe(fx->cr0);
	if (f & FIX_CR4)
		write_cr4_safe(fx->cr4);
	if (f & FIX_CR3)
		write_cr3_safe((uintptr_t)boot_pml4);
	if (f & FIX_CR8)
		write_cr8_safe(0);
	if (f & FIX_DR7) {
		write_dr_safe(7, 0x400);   /* DR7.GD: the first MOV DR raises #DB */
		write_dr_safe(7, 0x400);
	}
	if (f & FIX_XCR0)
		xsetbv_safe(0, fx->xcr0 ? fx->xcr0 : xcr0_boot);
	if (f & FIX_EFER)
		wrmsr_safe(MSR_EFER, fx->efer);
	if (f & FIX_PAT)
		wrmsr_safe(MSR_PAT, fx->pat);
	if (f & FIX_MISC)
		wrmsr_safe(MSR_MISC_ENABLE, fx->misc);
	if (f & FIX_FSGS) {
		wrmsr_safe(MSR_FS_BASE, 0);
		wrmsr_safe(MSR_GS_BASE, 0);
		wrmsr_safe(MSR_KGS_BASE, 0);
	}
	if (f & FIX_APIC_TIMER)
		apic_write(0x320, 1u << 16);
	if (f & FIX_FPU) {
		asm volatile("fninit" ::: "memory");
		if (has_fxsr)
			asm volatile("ldmxcsr %0" : : "m"((uint32_t){ 0x1f80 }));
	}
	if (f & FIX_UART)
		uart_restore();
	/* INIT went to the other vCPU: SIPI it back to its loop, as an OS
	 * would (else it waits for a SIPI that a later op may never send). */
	if (init_sent_to_other && o->c->id == 0) {
		init_sent_to_other = false;
		apic_quiesce();
		apic_write(0x300, x2apic_on() ? (1ull << 32) | 0x4600 | SIPI_VECTOR :
						(1ull << 56) | 0x4600 | SIPI_VECTOR);
	}
	if (fx->cmos_locked) {
		fx->cmos_locked = false;
		cmos_drop();
	}
	if (fx->console_locked) {
		fx->console_locked = false;
		console_unlock(true);
	}
}

/* The platform back in order: this vCPU's APIC, timer, TPR, debug
 * registers; vCPU 0 also masks the IOAPIC and resets the UART. */
void platform_sanitize(struct op *o)
{
	op_note(o, 0, 0, 0, 0);
	apic_quiesce();
	apic_write(0x320, 1u << 16);
	apic_write(0x380, 0);
	write_dr_safe(7, 0x400);
	write_cr8_safe(0);
	if (o->c->id == 0) {
		bool locked = console_lock();

		for (unsigned pin = 0; pin < 24; pin++)
			ioapic_write(0x10 + 2 * pin, 1u << 16);
		uart_restore();
		console_unlock(locked);
	}
}

/* Runs once per vCPU before its first op. */
void ops_boot(unsigned vcpu)
{
	struct cpuid_regs r = cpuid(1, 0);
	uint64_t cr4 = read_cr4();

	struct cpuid_regs r7 = cpuid(0, 0).eax >= 7 ? cpuid(7, 0) : (struct cpuid_regs){ 0 };
	uint64_t base = 0;

	/* INIT keeps the xAPIC page where it was: one that came between a
	 * move of ours and its undoing (the msr ops) leaves it moved. */
	if (rdmsr_safe(MSR_APIC_BASE, &base) < 0 && (base & APIC_BASE_ADDR) != XAPIC)
		apic_base_set((base & ~APIC_BASE_ADDR) | XAPIC);
	has_fxsr = r.edx & (1u << 24);
	has_xsave = r.ecx & (1u << 26);
	/* CR4 bits the CPU has (SDM 3, 2.5 and CPUID): the rest are reserved. */
	cr4_supported = 0x7ff | (has_xsave ? CR4_OSXSAVE : 0) |
			(r.ecx & (1u << 5) ? 1ull << 13 : 0) | (r.ecx & (1u << 6) ? 1ull << 14 : 0) |
			(r.ecx & (1u << 17) ? 1ull << 17 : 0) | (r7.ebx & 1 ? 1ull << 16 : 0) |
			(r7.ecx & (1u << 2) ? 1ull << 11 : 0) | (r7.ecx & (1u << 16) ? 1ull << 12 : 0) |
			(r7.ebx & (1u << 7) ? 1ull << 20 : 0) | (r7.ebx & (1u << 20) ? 1ull << 21 : 0) |
			(r7.ecx & (1u << 3) ? 1ull << 22 : 0);
	if (has_fxsr)
		cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (has_xsave)
		cr4 |= CR4_OSXSAVE;
	write_cr4_safe(cr4);
	if (has_xsave)
		xgetbv_safe(0, &xcr0_boot);
	if (vcpu == 0) {
		uint64_t mem = mem_size();
		size_t tlen = (size_t)(ap_tramp_end - ap_tramp_start);
		uint8_t *t = (uint8_t *)(uintptr_t)TRAMPOLINE;

		/* INIT and SIPI bring the other vCPU back to its op loop. */
		memcpy(t, ap_tramp_start, tlen);
		*(uint64_t *)(t + (ap_tramp_cr3 - ap_tramp_start)) = (uintptr_t)boot_pml4;
		*(uint64_t *)(t + (ap_tramp_entry - ap_tramp_start)) = (uintptr_t)ap_reentry;
		protect[nprotect].lo = (uintptr_t)_kernel_start;
		protect[nprotect++].hi = (uintptr_t)_kernel_end;
		protect[nprotect].lo = TRAMPOLINE;
		protect[nprotect++].hi = HV_BOOT_DATA_END;
		for (unsigned c = 0; c < boot_info.si.nr_vcpus && c < MAX_VCPUS; c++) {
			uint64_t line = (4 + 2 * c) * MIB;

			if (line - SNIP_SPAN / 2 < (uintptr_t)_kernel_end || line + SNIP_SPAN / 2 > mem)
				continue;
			snip_base[c] = line - SNIP_SPAN / 2;
		}
		if (boot_info.si.nr_vcpus) {
			unsigned first = 0, last = 0;

			for (unsigned c = 0; c < MAX_VCPUS; c++)
				if (snip_base[c])
					last = c;
			if (snip_base[first]) {
				protect[nprotect].lo = snip_base[first];
				protect[nprotect++].hi = snip_base[last] + SNIP_SPAN;
			}
		}
	}
}
