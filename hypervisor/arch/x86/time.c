/* TSC and LAPIC-timer frequencies, measured against PIT channel 2 (which
 * QEMU and Bochs both emulate) over a 10 ms gate. */
#include <lib/printk.h>
#include <x86/cpu.h>
#include <x86/processor.h>

#define PIT_HZ          1193182u
#define PIT_CH2         0x42
#define PIT_MODE        0x43
#define PIT_GATE        0x61     /* bit 0 gate, bit 1 speaker, bit 5 OUT2 */
#define CALIBRATE_MS    20
#define CALIBRATE_RUNS  5

static uint64_t tsc_khz_value;
static uint32_t lapic_per_ms;

struct sample {
	uint64_t tsc_khz;
	uint32_t lapic_per_ms;
};

static struct sample calibrate_once(void)
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
	return (struct sample){ (tsc1 - tsc0) / CALIBRATE_MS, (apic0 - apic1) / CALIBRATE_MS };
}

/* An emulator's thread can lose the CPU in the middle of a measurement.
 * It then notices the end of the PIT count late and the sample comes out
 * too high; noticing the start late is a far smaller window. So the lowest
 * of several samples is the best estimate. */
void time_calibrate(void)
{
	struct sample s[CALIBRATE_RUNS];

	for (unsigned i = 0; i < CALIBRATE_RUNS; i++) {
		s[i] = calibrate_once();
		for (unsigned j = i; j > 0 && s[j - 1].tsc_khz > s[j].tsc_khz; j--) {
			struct sample t = s[j];

			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	}
	tsc_khz_value = s[0].tsc_khz;
	lapic_per_ms = s[0].lapic_per_ms;
	printk("kestrel: TSC %lu kHz, LAPIC timer %u ticks/ms (lowest of %u, TSC %lu..%lu kHz)\n",
	       tsc_khz_value, lapic_per_ms, CALIBRATE_RUNS, s[0].tsc_khz,
	       s[CALIBRATE_RUNS - 1].tsc_khz);
}

uint64_t tsc_khz(void)
{
	return tsc_khz_value;
}

uint32_t lapic_ticks_per_ms(void)
{
	return lapic_per_ms;
}
