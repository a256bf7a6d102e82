/* SPDX-License-Identifier: MIT */
/*
 * Victim mode: the VM next to the chaos VM. Every vCPU fills its share of
 * guest RAM (all of it but the kernel image) with an address-dependent
 * pattern once, then re-checks it forever with interrupts enabled. vCPU 0
 * prints a progress line every report_ms:
 *
 *   victim: t_ms=T checked_kib=K passes=P errors=E stray_events=S rate_mibs=R
 *
 * (K: KiB verified so far by all vCPUs, R: MiB/s over the last interval), and
 * with stop_ms=N powers off after N ms (status 1 if anything was wrong); with
 * stop_kib=N once N KiB are checked, after a line "victim: done: N KiB in T ms"
 * (a fixed amount of work: `make bench` times it on 1, 2 and 4 host CPUs). The
 * pattern must never change and nothing may interrupt the VM: it arms no
 * timer and sends no IPI, so any interrupt or exception is a stray event
 * from somewhere else.
 */
#include "chaos.h"

#define PATTERN_MUL   0x9e3779b97f4a7c15ull
#define PATTERN_SALT  0x5eedfacecafe0000ull
#define CHUNK         (256 * 1024)
#define MAX_PARTS     4
#define ERRORS_SHOWN  16

struct part {
	uint64_t start, end;
};

struct share {
	struct part parts[MAX_PARTS];
	unsigned n;
	volatile uint64_t bytes;        /* verified so far */
	volatile uint64_t passes;
};

static struct share shares[MAX_VCPUS];
static volatile uint32_t filled;
static volatile uint64_t errors;
static volatile int error_lock;

static uint64_t pattern(uint64_t addr)
{
	return addr * PATTERN_MUL + PATTERN_SALT;
}

static uint64_t opaque(uint64_t v)
{
	asm("" : "+r"(v));
	return v;
}

/* [0, mem) minus the kernel image, split into equal shares. */
static void shares_plan(unsigned n)
{
	uint64_t mem = boot_info.si.mem_size < 4 * GIB ? boot_info.si.mem_size : 4 * GIB;
	struct part all[2] = { { 0, (uintptr_t)_kernel_start }, { (uintptr_t)_kernel_end, mem } };
	uint64_t total = all[0].end - all[0].start + all[1].end - all[1].start, pos = 0;

	for (unsigned c = 0; c < n; c++) {
		uint64_t lo = (total * c / n) & ~7ull, hi = (total * (c + 1) / n) & ~7ull;

		pos = 0;
		for (unsigned r = 0; r < 2; r++) {
			uint64_t len = all[r].end - all[r].start;
			uint64_t a = lo > pos ? lo - pos : 0, b = hi - pos < len ? hi - pos : len;

			if (hi > pos && lo < pos + len && a < b)
				shares[c].parts[shares[c].n++] = (struct part){ all[r].start + a,
										 all[r].start + b };
			pos += len;
		}
	}
}

static void fill(const struct part *p)
{
	volatile uint64_t *q = (volatile uint64_t *)opaque(p->start);
	uint64_t v = pattern(p->start);

	for (uint64_t a = p->start; a < p->end; a += 8, v += 8 * PATTERN_MUL)
		*q++ = v;
}

static void report_error(uint64_t addr, uint64_t got)
{
	spin_lock(&error_lock);
	if (errors++ < ERRORS_SHOWN)
		kprintf("victim: ERROR: 0x%lx reads 0x%lx, want 0x%lx\n", addr, got,
			pattern(addr));
	spin_unlock(&error_lock);
	*(volatile uint64_t *)addr = pattern(addr);   /* report each change once */
}

/* Verifies [start, end); the caller's share gets the bytes counted. */
static void verify(uint64_t start, uint64_t end, struct share *s)
{
	const volatile uint64_t *q = (const volatile uint64_t *)opaque(start);
	uint64_t v = pattern(start);

	for (uint64_t a = start; a < end; a += 8, v += 8 * PATTERN_MUL, q++) {
		uint64_t got = *q;

		if (got != v)
			report_error(a, got);
	}
	s->bytes += end - start;
}

static uint64_t stray_events(void)
{
	uint64_t n = 0;

	for (unsigned c = 0; c < MAX_VCPUS; c++)
		n += cpus[c].irqs + cpus[c].nmis + cpus[c].dbs;
	return n;
}

static uint64_t all_bytes(void)
{
	uint64_t n = 0;

	for (unsigned c = 0; c < MAX_VCPUS; c++)
		n += shares[c].bytes;
	return n;
}

void victim_run(unsigned vcpu)
{
	unsigned n = boot_info.si.nr_vcpus;
	struct share *s = &shares[vcpu];
	uint64_t t0, last_t, last_bytes = 0, report_ticks = tsc_ticks_ms(opt.report_ms);

	if (n > MAX_VCPUS)
		n = MAX_VCPUS;
	if (vcpu >= n)
		halt_forever();
	/* The boot data area is free once every vCPU runs on our tables. */
	while (boot_vcpus_online < boot_info.si.nr_vcpus)
		cpu_relax();
	if (vcpu == 0) {
		shares_plan(n);
		__atomic_store_n(&filled, 0x80000000u, __ATOMIC_RELEASE);
	}
	while (!(__atomic_load_n(&filled, __ATOMIC_ACQUIRE) & 0x80000000u))
		cpu_relax();
	for (unsigned i = 0; i < s->n; i++)
		fill(&s->parts[i]);
	__atomic_add_fetch(&filled, 1, __ATOMIC_ACQ_REL);
	while ((__atomic_load_n(&filled, __ATOMIC_ACQUIRE) & 0xffff) < n)
		cpu_relax();
	if (vcpu == 0) {
		uint64_t total = 0;

		for (unsigned c = 0; c < n; c++)
			for (unsigned i = 0; i < shares[c].n; i++)
				total += shares[c].parts[i].end - shares[c].parts[i].start;
		kprintf("victim: %lu MiB filled by %u vCPU(s); checking it forever, "
			"a line every %lu ms\n", total / MIB, n, opt.report_ms);
	}
	t0 = last_t = rdtsc();
	asm volatile("sti" ::: "memory");
	for (;;) {
		for (unsigned i = 0; i < s->n; i++) {
			for (uint64_t a = s->parts[i].start; a < s->parts[i].end; a += CHUNK) {
				uint64_t b = s->parts[i].end - a > CHUNK ? a + CHUNK : s->parts[i].end;
				uint64_t now, bytes;

				verify(a, b, s);
				if (vcpu == 0 && opt.stop_kib && all_bytes() / 1024 >= opt.stop_kib) {
					kprintf("victim: done: %lu KiB in %lu ms: errors=%lu "
						"stray_events=%lu\n", all_bytes() / 1024,
						tsc_to_ms(rdtsc() - t0), errors, stray_events());
					hv_poweroff(errors || stray_events() ? 1 : 0);
				}
				if (vcpu != 0 || (now = rdtsc()) - last_t < report_ticks)
					continue;
				bytes = all_bytes();
				kprintf("victim: t_ms=%lu checked_kib=%lu passes=%lu errors=%lu "
					"stray_events=%lu rate_mibs=%lu\n", tsc_to_ms(now - t0),
					bytes / 1024, s->passes, errors, stray_events(),
					(bytes - last_bytes) / MIB * 1000 /
					(tsc_to_ms(now - last_t) ? tsc_to_ms(now - last_t) : 1));
				last_t = now;
				last_bytes = bytes;
				if (opt.stop_ms && tsc_to_ms(now - t0) >= opt.stop_ms) {
					kprintf("victim: stop after %lu ms: errors=%lu stray_events=%lu\n",
						tsc_to_ms(now - t0), errors, stray_events());
					hv_poweroff(errors || stray_events() ? 1 : 0);
				}
			}
		}
		s->passes++;
	}
}
