/* SPDX-License-Identifier: MIT */
/*
 * Ticker mode: a long-running guest for console and scheduling tests. It
 * sleeps in HLT between ticks of the hypervisor's one-shot timer and prints
 * "tick N" each period, so a paused VM visibly stops ticking.
 */
#include <hv/hypercall.h>
#include "cpu.h"

#define TICK_VECTOR 0x40

/* The tick count in memory, for the console's `watch` and gdb's watchpoints
 * (test_watch.py, test_gdb.py): written, then read, once a tick. */
volatile uint64_t ticker_count;

void ticker_run(uint64_t period_ms, uint64_t ticks)
{
	uint64_t next = rdtsc();

	kprintf("ticker: every %lu ms, %lu ticks (0 = forever)\n", period_ms, ticks);
	for (uint64_t n = 1; ticks == 0 || n <= ticks; n++) {
		next += tsc_ticks_ms(period_ms);
		if (timer_arm(next, TICK_VECTOR) != 0) {
			kprintf("FAIL: ticker (timer hypercall refused)\n");
			hv_poweroff(1);
		}
		/* No limit: a paused VM may come back long after the deadline;
		 * the timer then fires at once and the next period starts now. */
		timer_wait(~0ull, true);
		if (rdtsc() > next + tsc_ticks_ms(period_ms))
			next = rdtsc();
		ticker_count = n;
		kprintf("tick %lu\n", ticker_count);     /* one MOV store, one MOV load */
	}
	hv_poweroff(0);
}
