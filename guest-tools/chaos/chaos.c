/* SPDX-License-Identifier: MIT */
/*
 * Chaos mode: the driver. vCPU 0 runs ops 0..ops-1 of its stream; every
 * other vCPU runs bursts of its own stream and sleeps in between (it is the
 * target of vCPU 0's IPIs and INITs, and races it on the shared devices).
 * Op i of vCPU n draws its random numbers from (seed, n, i) alone, so
 * `seed=S` replays a run, `trace_from=I` prints every op from I on (the
 * last line before a crash names it), and `skip=`/`only=` narrow it down.
 *
 * Output (every line starts with "chaos: "):
 *   chaos: solo window N ms ...        before the first op (fresh boot)
 *   chaos: start seed=S ops=N ...      the first op
 *   chaos: progress op=I/N ...         every `progress` ops
 *   chaos: pause K / chaos: resume K   pause_every_ms=P pause_ms=Q: the VM sleeps
 *                                      Q ms after every P ms of ops (the victim's
 *                                      solo speed, measured all along the run)
 *   chaos: ANOMALY K: ...              something the platform must not do,
 *   chaos:   log vcpu V op I ...       with the last ops of that vCPU
 *   chaos: reset R/T at op I           `resets=T` spreads T VM resets
 *   chaos: done seed=S ops=N ...       then power-off, status 0 if no anomaly
 *
 * Resets go through the ACPI reset register; the run goes on from CMOS
 * bytes 0x70-0x7f (which survive a reset). Each boot runs at least
 * RESET_MIN_MS first: the hypervisor stops a VM after more than 10 resets
 * within 10 s.
 */
#include "ops.h"

#define CMOS_MAGIC        0xc4
#define RESET_MIN_MS      1200
#define STUCK_MS          5000
#define MAX_REPORTS       40
#define LOG_SHOWN         8
#define SECONDARY_SLEEP_US 3000

static const unsigned class_weight[NR_CLASSES] = {
	[C_PIO] = 14, [C_MMIO] = 16, [C_MSR] = 12, [C_CPUID] = 5, [C_HCALL] = 6,
	[C_XSETBV] = 3, [C_CR] = 5, [C_DR] = 4, [C_EXC] = 7, [C_SNIP] = 10, [C_APIC] = 6,
	[C_IPI] = 4, [C_IOAPIC] = 3, [C_HLT] = 1, [C_RAM] = 3, [C_MISC] = 4, [C_SHADOW] = 2,
};

static volatile int started, done, pausing;
static uint64_t paused_ms, pauses, active_since;
static volatile uint32_t done_acks;
static volatile uint64_t anomalies_total;
static uint64_t boot_tsc, run_tsc, first_idx, resets_done, ms_before;

static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *cls_name(unsigned cls)
{
	return cls < NR_CLASSES ? class_names[cls] : "sanitize";
}

static void oplog_dump(struct cpu *c, unsigned n)
{
	for (unsigned k = n; k > 0; k--) {
		const struct oplog *l = &c->log[(c->log_head - k) % OPLOG_SIZE];

		if (c->log_head < k)
			continue;
		kprintf("chaos:   log vcpu %u op %lu %s/%u a=0x%lx b=0x%lx c=0x%lx vec=%d\n", c->id,
			l->idx, cls_name(l->cls), l->sub, l->a, l->b, l->c, l->vec);
	}
}

static void report(struct cpu *c, uint64_t idx, unsigned cls, unsigned sub, const char *msg)
{
	uint64_t n = __atomic_add_fetch(&anomalies_total, 1, __ATOMIC_SEQ_CST);
	bool locked;

	c->anomalies++;
	if (n > MAX_REPORTS) {
		if (n == MAX_REPORTS + 1)
			kprintf("chaos: further anomalies are only counted\n");
		return;
	}
	locked = console_lock();
	kprintf("chaos: ANOMALY %lu: vcpu %u op %lu (%s/%u): %s\n", n, c->id, idx, cls_name(cls),
		sub, msg);
	oplog_dump(c, LOG_SHOWN);
	console_unlock(locked);
}

void anomaly(struct op *o, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	int n;

	va_start(ap, fmt);
	n = kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->log->cls == C_SNIP && n > 0 && (size_t)n < sizeof(msg))
		ksnprintf(msg + n, sizeof(msg) - (size_t)n, " [bytes %s]", o->c->snip_hex);
	report(o->c, o->idx, o->log->cls, o->log->sub, msg);
}

static unsigned __attribute__((noinline)) pick_class(struct op *o)
{
	unsigned total = 0;

	if (opt.only)
		return (unsigned)(opt.only - 1) % NR_CLASSES;
	for (unsigned i = 0; i < NR_CLASSES; i++)
		total += class_weight[i];
	for (unsigned tries = 0; tries < 64; tries++) {
		unsigned r = (unsigned)rnd_below(o, total), cls = 0;

		while (r >= class_weight[cls])
			r -= class_weight[cls++];
		if (!(opt.skip & (1ull << cls)))
			return cls;
	}
	return C_CPUID;
}

/* One op (cls == NR_CLASSES: the sanitize step) with its fault recovery. */
static void run_one(struct cpu *c, uint64_t idx, bool sanitize)
{
	struct op o = { .idx = idx, .c = c };
	unsigned cls;

	o.rng = mix(opt.seed ^ mix((uint64_t)c->id << 56 ^ idx ^ (sanitize ? 1ull << 55 : 0)));
	cls = sanitize ? NR_CLASSES : pick_class(&o);
	o.log = &c->log[c->log_head++ % OPLOG_SIZE];
	*o.log = (struct oplog){ .idx = idx, .cls = (uint16_t)cls, .vec = -1 };
	o.traced = idx >= opt.trace_from;
	c->recover_armed = true;
	if (op_try(&c->recover) == 0) {
		if (sanitize)
			platform_sanitize(&o);
		else
			op_run_class(&o, cls);
	} else {
		char msg[200];

		ksnprintf(msg, sizeof(msg), "exception vector %d outside a fault site, at rip "
			  "0x%lx, error 0x%lx, cr2 0x%lx", c->recovered_vec, c->recovered_rip,
			  c->recovered_err, c->site_cr2);
		o.log->vec = (int16_t)c->recovered_vec;
		report(c, idx, cls, o.log->sub, msg);
	}
	c->recover_armed = false;
	op_fixup(&o, cls);
	if (!sanitize) {
		c->ops_done++;
		class_count[c->id][cls]++;
	}
}

/* ---------------------------------------------------------------- watchdog */

static struct { uint64_t ops, since; bool reported; } watched[MAX_VCPUS];

/* A vCPU whose op count stands still for STUCK_MS is reported once; if it
 * is still stuck STUCK_MS later, the run ends here (status 2), so that a
 * hang shows as a failed run rather than a timeout. */
static void watch_others(struct cpu *self)
{
	uint64_t now = rdtsc();

	for (unsigned v = 0; v < boot_info.si.nr_vcpus && v < MAX_VCPUS; v++) {
		struct cpu *t = &cpus[v];

		if (v == self->id || (done_acks & (1u << v)))
			continue;
		/* The msr class moves this VM's TSC by up to 10 ms either way:
		 * a window that began after `now` starts again rather than
		 * wrapping to "stuck for ever". */
		if (t->ops_done != watched[v].ops || !watched[v].since || now < watched[v].since) {
			watched[v].ops = t->ops_done;
			watched[v].since = now;
			continue;
		}
		if (watched[v].reported && now - watched[v].since > tsc_ticks_ms(2 * STUCK_MS)) {
			kprintf("chaos: giving up: vCPU %u is still stuck\n", v);
			hv_poweroff(2);
		}
		if (!watched[v].reported && now - watched[v].since > tsc_ticks_ms(STUCK_MS)) {
			char msg[200];
			const struct oplog *l = &t->log[(t->log_head - 1) % OPLOG_SIZE];

			watched[v].reported = true;
			ksnprintf(msg, sizeof(msg), "vCPU %u made no progress for %u ms (in or after "
				  "its op %lu, %s; %lu interrupts, the last vector 0x%lx at rip 0x%lx; "
				  "lock owners: console %d, cmos %d)", v, STUCK_MS, l->idx,
				  cls_name(l->cls), t->irqs, t->last_vec, t->last_rip,
				  console_lock_owner(), cmos_lock_owner());
			report(self, l->idx, l->cls, l->sub, msg);
			oplog_dump(t, LOG_SHOWN);
		}
	}
}

/* ---------------------------------------------------------------- reset schedule */

static uint64_t cmos_get(uint8_t index, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)cmos_read((uint8_t)(index + i)) << (8 * i);
	return v;
}

static void cmos_put(uint8_t index, unsigned bytes, uint64_t v)
{
	for (unsigned i = 0; i < bytes; i++)
		cmos_write((uint8_t)(index + i), (uint8_t)(v >> (8 * i)));
}

static bool state_resume(void)
{
	if (cmos_get(0x70, 1) != CMOS_MAGIC || cmos_get(0x77, 1) != (opt.seed & 0xff) ||
	    cmos_get(0x7e, 1) != (opt.ops & 0xff))
		return false;
	resets_done = cmos_get(0x71, 1);
	first_idx = cmos_get(0x72, 5);
	anomalies_total = cmos_get(0x78, 2);
	ms_before = cmos_get(0x7a, 4);
	return first_idx < opt.ops;
}

static void __attribute__((noreturn)) reset_now(uint64_t idx)
{
	while (tsc_to_ms(rdtsc() - boot_tsc) < RESET_MIN_MS)
		hlt_wait(10000, false);
	cmos_put(0x71, 1, resets_done + 1);
	cmos_put(0x72, 5, idx);
	cmos_put(0x77, 1, opt.seed & 0xff);
	cmos_put(0x78, 2, anomalies_total);
	cmos_put(0x7a, 4, ms_before + tsc_to_ms(rdtsc() - run_tsc));
	cmos_put(0x7e, 1, opt.ops & 0xff);
	cmos_put(0x70, 1, CMOS_MAGIC);
	kprintf("chaos: reset %lu/%lu at op %lu (ACPI reset register)\n", resets_done + 1,
		opt.resets, idx);
	outb(0xcf9, 0x06);
	for (;;)        /* the reset comes at the end of this slice */
		cpu_relax();
}

/* ---------------------------------------------------------------- vCPUs */

static uint64_t others_ops(void)
{
	uint64_t n = 0;

	for (unsigned v = 1; v < MAX_VCPUS; v++)
		n += cpus[v].ops_done;
	return n;
}

static void totals(uint64_t *irqs, uint64_t *low, uint64_t *nmis, uint64_t *dbs,
		   uint64_t *sites, uint64_t *eois, uint64_t *storms)
{
	*irqs = *low = *nmis = *dbs = *sites = *eois = *storms = 0;
	for (unsigned v = 0; v < MAX_VCPUS; v++) {
		*storms += cpus[v].storms;
		*irqs += cpus[v].irqs;
		*low += cpus[v].irq_low;
		*nmis += cpus[v].nmis;
		*dbs += cpus[v].dbs;
		*sites += cpus[v].exc_at_sites;
		*eois += cpus[v].eois;
	}
}

static uint64_t reinits(void)
{
	uint64_t n = 0;

	for (unsigned v = 1; v < MAX_VCPUS; v++)
		n += cpus[v].reentries;
	return n;
}

static void progress(uint64_t idx)
{
	uint64_t ms = tsc_to_ms(rdtsc() - run_tsc), irqs, low, nmis, dbs, sites, eois, storms;

	totals(&irqs, &low, &nmis, &dbs, &sites, &eois, &storms);
	kprintf("chaos: progress op=%lu/%lu others=%lu ms=%lu rate=%lu anomalies=%lu irqs=%lu "
		"exc=%lu dbs=%lu\n", idx, opt.ops, others_ops(), ms,
		(idx - first_idx) * 1000 / (ms ? ms : 1), anomalies_total, irqs, sites, dbs);
}

static void __attribute__((noreturn)) finish(struct cpu *c)
{
	unsigned n = boot_info.si.nr_vcpus < MAX_VCPUS ? boot_info.si.nr_vcpus : MAX_VCPUS;
	uint64_t start = rdtsc(), ms, irqs, low, nmis, dbs, sites, eois, storms;
	char line[400];
	unsigned k = 0;

	done = 1;
	for (unsigned v = 1; v < n; v++) {
		while (!(done_acks & (1u << v)) && rdtsc() - start < tsc_ticks_ms(2000))
			hlt_wait(1000, false);
		if (done_acks & (1u << v))
			continue;
		report(c, opt.ops, NR_CLASSES, 0, "a secondary vCPU did not finish");
	}
	ms = ms_before + tsc_to_ms(rdtsc() - run_tsc);
	totals(&irqs, &low, &nmis, &dbs, &sites, &eois, &storms);
	kprintf("chaos: done seed=%lu ops=%lu others=%lu ms=%lu paused_ms=%lu rate=%lu "
		"anomalies=%lu resets=%lu reinits=%lu\n", opt.seed, opt.ops, others_ops(), ms,
		paused_ms, (opt.ops - first_idx) * 1000 /
		(ms - ms_before - paused_ms ? ms - ms_before - paused_ms : 1),
		anomalies_total, resets_done, reinits());
	for (unsigned cls = 0; cls < NR_CLASSES; cls++) {
		uint64_t sum = 0;

		for (unsigned v = 0; v < MAX_VCPUS; v++)
			sum += class_count[v][cls];
		k += (unsigned)ksnprintf(line + k, sizeof(line) - k, " %s=%lu", class_names[cls], sum);
	}
	kprintf("chaos: classes (this boot):%s\n", line);
	kprintf("chaos: events: interrupts=%lu (below 32: %lu) nmis=%lu debug=%lu "
		"exceptions-at-sites=%lu eois=%lu storms-broken=%lu\n", irqs, low, nmis, dbs, sites,
		eois, storms);
	cmos_put(0x70, 1, 0);
	hv_poweroff(anomalies_total ? 1 : 0);
}

/* Every vCPU of this VM sleeps pause_ms: the victim runs alone. */
static void pause_now(void)
{
	uint64_t start = rdtsc();

	pausing = 1;
	kprintf("chaos: pause %lu\n", ++pauses);
	while (tsc_to_ms(rdtsc() - start) < opt.pause_ms)
		hlt_wait(20000, false);
	paused_ms += tsc_to_ms(rdtsc() - start);
	kprintf("chaos: resume %lu\n", pauses);
	for (unsigned v = 0; v < MAX_VCPUS; v++)
		watched[v].since = 0;
	pausing = 0;
	active_since = rdtsc();
}

static void __attribute__((noreturn)) primary(struct cpu *c)
{
	uint64_t every, reset_at = ~0ull, seg;

	boot_tsc = rdtsc();
	if (opt.resets && state_resume()) {
		kprintf("chaos: boot after reset %lu/%lu: resuming at op %lu\n", resets_done,
			opt.resets, first_idx);
	} else {
		resets_done = first_idx = ms_before = anomalies_total = 0;
		cmos_put(0x70, 1, 0);
		if (opt.solo_ms) {
			kprintf("chaos: solo window %lu ms (this VM sleeps: the victim runs alone)\n",
				opt.solo_ms);
			while (tsc_to_ms(rdtsc() - boot_tsc) < opt.solo_ms)
				hlt_wait(20000, false);
		}
	}
	kprintf("chaos: start seed=%lu ops=%lu from=%lu vcpus=%u resets=%lu\n", opt.seed, opt.ops,
		first_idx, boot_info.si.nr_vcpus, opt.resets);
	run_tsc = active_since = rdtsc();
	__atomic_store_n(&started, 1, __ATOMIC_RELEASE);
	every = opt.progress ? opt.progress : (opt.ops / 10 ? opt.ops / 10 : 1);
	seg = opt.ops / (opt.resets + 1);
	if (resets_done < opt.resets && seg)
		reset_at = seg * (resets_done + 1);
	for (uint64_t idx = first_idx; idx < opt.ops; idx++) {
		if (idx == reset_at)
			reset_now(idx);
		if (idx % opt.sanitize == 0 && idx)
			run_one(c, idx, true);
		run_one(c, idx, false);
		if ((idx + 1) % every == 0)
			progress(idx + 1);
		if ((idx & 1023) == 0)
			watch_others(c);
		if ((idx & 15) == 0 && opt.pause_every_ms &&
		    tsc_to_ms(rdtsc() - active_since) >= opt.pause_every_ms)
			pause_now();
	}
	finish(c);
}

static void __attribute__((noreturn)) secondary(struct cpu *c)
{
	uint64_t idx;
	struct op o = { .c = c, .rng = mix(opt.seed ^ c->id ^ c->reentries << 32) };

	while (!__atomic_load_n(&started, __ATOMIC_ACQUIRE))
		hlt_wait(20000, false);
	others_up = true;
	if (!c->next_idx)
		c->next_idx = resets_done << 40;
	idx = c->next_idx;
	while (!done) {
		for (uint64_t k = 0; k < opt.burst && !done && !pausing; k++, idx++) {
			if (idx % opt.sanitize == 0 && idx)
				run_one(c, idx, true);
			run_one(c, idx, false);
			c->next_idx = idx + 1;
		}
		if (!pausing)
			watch_others(c);
		hlt_wait(pausing ? 20000 : 500 + rnd_below(&o, SECONDARY_SLEEP_US), false);
	}
	__atomic_or_fetch(&done_acks, 1u << c->id, __ATOMIC_SEQ_CST);
	for (;;)
		asm volatile("sti; hlt; cli" ::: "memory");
}

/* A secondary vCPU after INIT and SIPI (entry.S: trampoline, ap_reentry):
 * it goes on with its stream. Its op in flight is lost with its stack. */
void ap_restart(unsigned vcpu);
void ap_restart(unsigned vcpu)
{
	struct cpu *c = &cpus[vcpu < MAX_VCPUS ? vcpu : 0];

	if (vcpu == 0 || vcpu >= MAX_VCPUS || run_mode != MODE_CHAOS)
		halt_forever();
	c->recover_armed = false;
	c->snip_hi = 0;
	c->apic_base = 0;       /* INIT reset the local APIC */
	c->window_valid = false; /* its PDEs may be half rewritten */
	c->reentries++;
	c->next_idx++;          /* skip the op INIT interrupted */
	others_up = true;
	locks_release(vcpu);
	ops_boot(vcpu);
	secondary(c);
}

void chaos_run(unsigned vcpu)
{
	if (vcpu >= MAX_VCPUS || vcpu >= boot_info.si.nr_vcpus)
		halt_forever();
	ops_boot(vcpu);
	if (vcpu == 0)
		primary(&cpus[0]);
	secondary(&cpus[vcpu]);
}
