/* TSC and LAPIC-timer frequencies, measured against PIT channel 2 (which
 * QEMU and Bochs both emulate) over a 10 ms gate. */
#include <lib/printk.h>
#include <x86/cpu.h>
#include <x86/processor.h>

#define PIT_HZ          1193182u
#define PIT_CH2         0x42
#define PIT_MODE        0x43
#define PIT_GATE        0x61     /* bit 0 gate, bit 1 speaker, bit 5 OUT2 */
#define CALIBRATE_MS    10

static uint64_t tsc_khz_value;
static uint32_t lapic_per_ms;

void time_calibrate(void)
{
	uint16_t count = PIT_HZ * CALIBRATE_MS / 1000;
	uint64_t tsc0, tsc1;
	uint32_t apic0, apic1;

	outb(PIT_GATE, (inb(PIT_GATE) & ~0x02) | 0x01);
	outb(PIT_MODE, 0xb0);    /* channel 2, lobyte/hibyte, mode 0 */
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8);
	lapic_timer_start_oneshot_max();
	tsc0 = rdtsc();
	apic0 = lapic_timer_count();
	/* Mode 0: OUT2 goes high when the count reaches zero. */
	while (!(inb(PIT_GATE) & 0x20))
		cpu_relax();
	tsc1 = rdtsc();
	apic1 = lapic_timer_count();
	tsc_khz_value = (tsc1 - tsc0) / CALIBRATE_MS;
	lapic_per_ms = (apic0 - apic1) / CALIBRATE_MS;
	printk("kestrel: TSC %lu kHz, LAPIC timer %u ticks/ms\n", tsc_khz_value, lapic_per_ms);
}

uint64_t tsc_khz(void)
{
	return tsc_khz_value;
}

uint32_t lapic_ticks_per_ms(void)
{
	return lapic_per_ms;
}
