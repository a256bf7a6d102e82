/* The host's local APIC in xAPIC mode (SDM vol. 3, 10.4 and 10.5.4): the
 * periodic timer that drives the scheduler. The L1 CPU under QEMU TCG has
 * no x2APIC and no TSC-deadline mode, so this is the portable choice. */
#include <x86/cpu.h>
#include <x86/percpu.h>
#include <x86/processor.h>

#define APIC_BASE_ENABLE  (1ull << 11)
#define APIC_ID           0x020
#define APIC_EOI          0x0b0
#define APIC_SVR          0x0f0
#define APIC_ICR_LO       0x300
#define APIC_ICR_HI       0x310
#define APIC_LVT_TIMER    0x320
#define APIC_TIMER_INIT   0x380
#define APIC_TIMER_CUR    0x390
#define APIC_TIMER_DIV    0x3e0
#define APIC_SVR_ENABLE   (1u << 8)
#define LVT_MASKED        (1u << 16)
#define TIMER_DIV_16      0x3
/* ICR (SDM 3, 10.6.1): delivery mode, level, and the busy bit. */
#define ICR_INIT          (5u << 8)
#define ICR_STARTUP       (6u << 8)
#define ICR_FIXED         (0u << 8)
#define ICR_ASSERT        (1u << 14)
#define ICR_LEVEL         (1u << 15)
#define ICR_BUSY          (1u << 12)

static volatile uint32_t *lapic;

static uint32_t lapic_read(unsigned reg)
{
	return lapic[reg / 4];
}

static void lapic_write(unsigned reg, uint32_t v)
{
	lapic[reg / 4] = v;
}

void lapic_init(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);

	wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_ENABLE);
	lapic = (volatile uint32_t *)(uintptr_t)(base & ~0xfffull);
	this_cpu()->apic_id = lapic_read(APIC_ID) >> 24;
	lapic_write(APIC_SVR, APIC_SVR_ENABLE | VECTOR_SPURIOUS);
	lapic_write(APIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(APIC_LVT_TIMER, LVT_MASKED);
	if (this_cpu()->id)
		return;
	/* Mask the legacy PICs: all our interrupts come through the LAPIC. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

static void icr_send(uint32_t apic_id, uint32_t lo)
{
	while (lapic_read(APIC_ICR_LO) & ICR_BUSY)
		cpu_relax();
	lapic_write(APIC_ICR_HI, apic_id << 24);
	lapic_write(APIC_ICR_LO, lo);
	while (lapic_read(APIC_ICR_LO) & ICR_BUSY)
		cpu_relax();
}

void lapic_send_init(uint32_t apic_id)
{
	icr_send(apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
}

void lapic_send_startup(uint32_t apic_id, uint8_t vector)
{
	icr_send(apic_id, ICR_STARTUP | ICR_ASSERT | vector);
}

void lapic_send_fixed(uint32_t apic_id, uint8_t vector)
{
	icr_send(apic_id, ICR_FIXED | ICR_ASSERT | vector);
}

void lapic_eoi(void)
{
	lapic_write(APIC_EOI, 0);
}

void lapic_timer_start_oneshot_max(void)
{
	lapic_write(APIC_LVT_TIMER, LVT_MASKED);
	lapic_write(APIC_TIMER_INIT, 0xffffffffu);
}

uint32_t lapic_timer_count(void)
{
	return lapic_read(APIC_TIMER_CUR);
}

/* One-shot interrupt at (about) TSC value `deadline`; re-arming replaces
 * the previous one (SDM 3, 10.5.4: writing the initial count restarts). */
void lapic_timer_arm(uint64_t deadline)
{
	uint64_t now = rdtsc(), delta = deadline > now ? deadline - now : 0;
	uint64_t count = delta * lapic_ticks_per_ms() / (tsc_khz() ? tsc_khz() : 1);

	if (count > 0xffffffffu)
		count = 0xffffffffu;
	lapic_write(APIC_LVT_TIMER, VECTOR_TIMER);
	lapic_write(APIC_TIMER_INIT, count ? (uint32_t)count : 1);
}
