/* The ACPI PM timer: 24-bit wrap, register widths, and the TSC conversion
 * behind it checked the way Linux's acpi_pm verifies the timer (monotonic
 * reads, rate within 5% of 3.579545 MHz against the PIT) and calibrates
 * its TSC against it. */
// UNIT-SOURCES: hypervisor/devices/pmtimer_core.c
#include <devices/pmtimer.h>
#include <devices/vclock.h>
#include <devices/vpit.h>
#include "unit.h"

static uint32_t rd(unsigned off, unsigned size, uint64_t ticks)
{
	uint64_t v = 0xdeadbeefdeadull;

	if (pmtimer_port_read(off, size, &v, ticks) != IO_HANDLED)
		CHECK_MSG(0, "read of %u bytes at %u refused", size, off);
	return (uint32_t)v;
}

static void test_register(void)
{
	uint64_t v;

	CHECK_EQ(pmtimer_value(0), 0);
	CHECK_EQ(pmtimer_value(0xffffff), 0xffffff);
	CHECK_EQ(pmtimer_value(0x1000000), 0);              /* wraps at 24 bits */
	CHECK_EQ(pmtimer_value(0x123456789abull), 0x6789ab);
	CHECK_EQ(rd(0, 4, 0xfedcba98ull), 0xdcba98);       /* bits 31:24 read 0 */
	CHECK_EQ(rd(0, 2, 0xdcba98), 0xba98);
	CHECK_EQ(rd(2, 2, 0xdcba98), 0x00dc);
	CHECK_EQ(rd(0, 1, 0xdcba98), 0x98);
	CHECK_EQ(rd(1, 1, 0xdcba98), 0xba);
	CHECK_EQ(rd(2, 1, 0xdcba98), 0xdc);
	CHECK_EQ(rd(3, 1, 0xdcba98), 0x00);
	CHECK_EQ(pmtimer_port_read(1, 2, &v, 0), IO_UNHANDLED);   /* unaligned */
	CHECK_EQ(pmtimer_port_read(2, 4, &v, 0), IO_UNHANDLED);
	CHECK_EQ(pmtimer_port_read(0, 8, &v, 0), IO_UNHANDLED);
	CHECK_EQ(pmtimer_port_read(4, 1, &v, 0), IO_UNHANDLED);
	CHECK_EQ(pmtimer_port_write(0, 4), IO_HANDLED);
	CHECK_EQ(pmtimer_port_write(3, 2), IO_UNHANDLED);
}

/* Ticks the glue computes for a TSC delta. */
static uint64_t ticks_at(uint64_t tsc, uint64_t tsc_hz)
{
	return vclock_scale(tsc, tsc_hz, PMTIMER_HZ);
}

/* init_acpi_pm_clocksource: reads must move forward (or wrap below
 * 0xfff), and over a 30 ms PIT count (mach_countup polls OUT2) the timer
 * must advance by PMTMR_TICKS_PER_SEC * 30 ms within 5%. Reads here come
 * every 20 us of TSC, the cost of an exit under QEMU TCG. */
static void test_linux_checks(void)
{
	static const uint64_t tsc_hzs[] = { 1000000000ull, 2444984000ull, 3600000001ull };

	for (unsigned i = 0; i < sizeof(tsc_hzs) / sizeof(tsc_hzs[0]); i++) {
		uint64_t hz = tsc_hzs[i], step = hz / 50000, tsc = hz * 4;   /* wraps at ~4.7 s */
		uint32_t prev = pmtimer_value(ticks_at(tsc, hz)), backwards = 0;
		const uint32_t latch = (VPIT_HZ * 30 + 500) / 1000;
		uint64_t pit_end, t0, delta;

		for (unsigned n = 0; n < 200000; n++) {
			uint32_t cur = pmtimer_value(ticks_at(tsc += step, hz));

			backwards += cur < prev && cur >= 0xfff;
			prev = cur;
		}
		CHECK_EQ(backwards, 0);
		/* The rate check: from the MSB write to OUT2 rising. */
		t0 = tsc;
		pit_end = vclock_scale_ceil(vclock_scale(t0, hz, VPIT_HZ) + 1 + latch, VPIT_HZ, hz);
		while (tsc < pit_end)
			tsc += step;
		delta = (pmtimer_value(ticks_at(tsc, hz)) - pmtimer_value(ticks_at(t0, hz))) & PMTIMER_MASK;
		CHECK_MSG(delta * 20 >= PMTIMER_HZ * 3 / 100 * 19 && delta * 20 <= PMTIMER_HZ * 3 / 100 * 21,
			  "tsc %llu Hz: %llu ticks in 30 ms", (unsigned long long)hz,
			  (unsigned long long)delta);
		/* calc_pmtimer_ref: TSC kHz = delta_tsc / (pm ticks / 3579.545). */
		delta = ticks_at(t0 + hz / 10, hz) - ticks_at(t0, hz);
		CHECK_MSG(delta >= PMTIMER_HZ / 10 - 1 && delta <= PMTIMER_HZ / 10 + 1,
			  "%llu ticks in 100 ms", (unsigned long long)delta);
	}
}

int main(void)
{
	test_register();
	test_linux_checks();
	return unit_finish("test_pmtimer");
}
