/* SPDX-License-Identifier: MIT */
/*
 * Self-checks of the emulated local APIC (SDM vol. 3, chapter 10): the
 * timer in one-shot and periodic mode through the xAPIC MMIO page, then
 * x2APIC mode (MSRs) with the TSC-deadline timer. Every interrupt is
 * acknowledged with an EOI, as a real kernel does.
 */
#include "cpu.h"
#include "selftest.h"

#define APIC_MMIO        0xfee00000ul
#define REG_ID           0x020
#define REG_VERSION      0x030
#define REG_EOI          0x0b0
#define REG_SVR          0x0f0
#define REG_ICR_LO       0x300
#define REG_ICR_HI       0x310
#define ICR_NMI          (4u << 8)      /* delivery mode NMI (SDM 3, 10.6.1) */
#define REG_LVT_TIMER    0x320
#define REG_TIMER_INIT   0x380
#define REG_TIMER_CUR    0x390
#define REG_TIMER_DIV    0x3e0
#define LVT_MASKED       (1u << 16)
#define LVT_PERIODIC     (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
#define MSR_APIC_BASE    0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define APIC_BASE_EXTD   (1ull << 10)
#define CPUID_1_ECX_X2APIC       (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define WAIT_LIMIT_MS    2000

static bool x2apic;
static volatile uint32_t apic_hits;
static volatile uint64_t apic_hit_tsc;

static void apic_write(unsigned reg, uint32_t v)
{
	if (x2apic)
		wrmsr_safe(0x800 + (reg >> 4), v);
	else
		*(volatile uint32_t *)(APIC_MMIO + reg) = v;
}

static uint32_t apic_read(unsigned reg)
{
	uint64_t v = 0;

	if (!x2apic)
		return *(volatile uint32_t *)(APIC_MMIO + reg);
	rdmsr_safe(0x800 + (reg >> 4), &v);
	return (uint32_t)v;
}

/* From the interrupt handler (trap.c). */
void apic_interrupt(void)
{
	apic_hit_tsc = rdtsc();
	apic_hits++;
	apic_write(REG_EOI, 0);
}

uint32_t apic_hit_count(void)
{
	return apic_hits;
}

/* Waits with interrupts on until `hits` interrupts came, or the limit. */
static bool apic_wait(uint32_t hits)
{
	uint64_t limit = rdtsc() + tsc_ticks_ms(WAIT_LIMIT_MS);

	while (apic_hits < hits && rdtsc() < limit)
		asm volatile("sti; hlt; cli" ::: "memory");
	return apic_hits >= hits;
}

/* At least one interrupt window, however late the host ran us: an
 * interrupt already pending is taken here, not in the next quiet spell. */
static void apic_quiet(unsigned ms)
{
	uint64_t until = rdtsc() + tsc_ticks_ms(ms);

	do
		asm volatile("sti; pause; cli" ::: "memory");
	while (rdtsc() < until);
}

/* An IPI through the xAPIC page (x2APIC has no ICR_HI): physical
 * destination, as the self shorthand does not carry NMIs. */
static void apic_ipi(uint32_t apic_id, uint32_t icr_lo)
{
	apic_write(REG_SVR, 0x1ff);
	apic_write(REG_ICR_HI, apic_id << 24);
	apic_write(REG_ICR_LO, icr_lo);
}

void apic_nmi_to(uint32_t apic_id)
{
	apic_ipi(apic_id, ICR_NMI);
}

/* A fixed interrupt on APIC_VECTOR: apic_interrupt counts it. */
void apic_interrupt_to(uint32_t apic_id)
{
	apic_ipi(apic_id, APIC_VECTOR);
}

/* This vCPU is APIC ID 0 in the VMs that use it (one vCPU). */
void apic_nmi_to_self(void)
{
	apic_nmi_to(0);
}

enum check_result check_lapic_oneshot(void)
{
	uint32_t first, second;

	apic_write(REG_SVR, 0x1ff);                /* enabled, spurious vector 0xff */
	apic_write(REG_TIMER_DIV, 0xb);            /* divide by 1 */
	apic_write(REG_LVT_TIMER, APIC_VECTOR);
	/* The count-down is read with the longest count (43 s at 100 MHz):
	 * other VMs' slices between the write and the reads must not let it
	 * expire. Its first read is at most a second of counts (10^8 at the
	 * fastest rate) below it: the hypervisor's arithmetic once overflowed
	 * for such counts. Writing the initial count again restarts it (10.5.4). */
	apic_hits = 0;
	apic_write(REG_TIMER_INIT, 0xffffffffu);
	first = apic_read(REG_TIMER_CUR);
	second = apic_read(REG_TIMER_CUR);
	if (first < 0xffffffffu - 100000000u || second > first)
		return check_fail("current count does not count down from 0xffffffff (%u, then %u)",
				  first, second);
	apic_write(REG_TIMER_INIT, 2000000);
	if (apic_read(REG_TIMER_CUR) > 2000000)
		return check_fail("current count %u above the initial count 2000000",
				  apic_read(REG_TIMER_CUR));
	if (!apic_wait(1))
		return check_fail("no timer interrupt within %u ms", WAIT_LIMIT_MS);
	apic_quiet(30);
	if (apic_hits != 1)
		return check_fail("one-shot fired %u times", apic_hits);
	if (apic_read(REG_TIMER_CUR) != 0)
		return check_fail("current count %u after expiry", apic_read(REG_TIMER_CUR));
	return CHECK_PASS;
}

enum check_result check_lapic_periodic(void)
{
	uint32_t hits;

	apic_hits = 0;
	apic_write(REG_LVT_TIMER, APIC_VECTOR | LVT_PERIODIC);
	apic_write(REG_TIMER_INIT, 300000);
	if (!apic_wait(3))
		return check_fail("only %u periodic interrupts in %u ms", apic_hits, WAIT_LIMIT_MS);
	apic_write(REG_LVT_TIMER, APIC_VECTOR | LVT_PERIODIC | LVT_MASKED);
	apic_quiet(10);          /* one already in flight may still land */
	hits = apic_hits;
	apic_quiet(30);
	apic_write(REG_TIMER_INIT, 0);
	if (apic_hits != hits)
		return check_fail("masked timer still fired (%u -> %u)", hits, apic_hits);
	return CHECK_PASS;
}

/* The xAPIC page moves with IA32_APIC_BASE (SDM 3, 10.4.5), to the address
 * kvm-unit-tests' apic test uses; the old page is then unbacked (reads all
 * ones). Moved back before the x2APIC check. */
#define APIC_MOVED 0xfed40000ul
enum check_result check_lapic_relocate(void)
{
	uint64_t base = 0;
	uint32_t version = apic_read(REG_VERSION), moved, old;

	if (rdmsr_safe(MSR_APIC_BASE, &base) >= 0)
		return check_fail("IA32_APIC_BASE unreadable");
	if (wrmsr_safe(MSR_APIC_BASE, (base & 0xfff) | APIC_MOVED) >= 0)
		return check_fail("IA32_APIC_BASE refused the address 0x%lx", APIC_MOVED);
	moved = *(volatile uint32_t *)(APIC_MOVED + REG_VERSION);
	old = apic_read(REG_VERSION);
	wrmsr_safe(MSR_APIC_BASE, base);
	if (moved != version || old != 0xffffffffu)
		return check_fail("after the move: version 0x%x at 0x%lx (want 0x%x), 0x%x at "
				  "the old page (want 0xffffffff)", moved, APIC_MOVED, version, old);
	if (apic_read(REG_VERSION) != version)
		return check_fail("moved back: version 0x%x", apic_read(REG_VERSION));
	return CHECK_PASS;
}

/* Last of the APIC checks: there is no way back from x2APIC mode short of
 * disabling the APIC (SDM 3, 10.12.5). */
enum check_result check_x2apic_tsc_deadline(void)
{
	uint32_t ecx = cpuid(1, 0).ecx;
	uint64_t base = 0, deadline;

	if (!(ecx & CPUID_1_ECX_X2APIC) || !(ecx & CPUID_1_ECX_TSC_DEADLINE))
		return check_skip("no x2APIC or TSC-deadline in CPUID");
	if (rdmsr_safe(MSR_APIC_BASE, &base) >= 0)
		return check_fail("IA32_APIC_BASE unreadable");
	/* Address bits from MAXPHYADDR up are reserved (SDM 3, 10.4.4). */
	if (wrmsr_safe(MSR_APIC_BASE, base | 1ull << (cpuid(0x80000008, 0).eax & 0xff)) != VEC_GP)
		return check_fail("IA32_APIC_BASE took an address bit above MAXPHYADDR");
	if (wrmsr_safe(MSR_APIC_BASE, base | APIC_BASE_EXTD) >= 0)
		return check_fail("IA32_APIC_BASE refused x2APIC mode");
	x2apic = true;
	if (apic_read(REG_ID) != 0 || (apic_read(REG_VERSION) & 0xff) != 0x14)
		return check_fail("x2APIC ID %u / version 0x%x", apic_read(REG_ID),
				  apic_read(REG_VERSION));
	apic_hits = 0;
	apic_write(REG_LVT_TIMER, APIC_VECTOR | LVT_TSC_DEADLINE);
	deadline = rdtsc() + tsc_ticks_ms(10);
	wrmsr_safe(MSR_TSC_DEADLINE, deadline);
	if (!apic_wait(1))
		return check_fail("no TSC-deadline interrupt within %u ms", WAIT_LIMIT_MS);
	if (apic_hit_tsc < deadline)
		return check_fail("fired %lu TSC ticks before the deadline", deadline - apic_hit_tsc);
	/* A deadline already past fires at once (SDM 3, 10.5.4.1): taken right
	 * after the WRMSR, with interrupts enabled. */
	apic_hits = 0;
	deadline = rdtsc() - 1;
	asm volatile("sti; wrmsr; nop; cli" : : "c"(MSR_TSC_DEADLINE), "a"((uint32_t)deadline),
		     "d"((uint32_t)(deadline >> 32)) : "memory");
	if (apic_hits != 1)
		return check_fail("a deadline already past: %u interrupts right after the WRMSR",
				  apic_hits);
	return CHECK_PASS;
}
