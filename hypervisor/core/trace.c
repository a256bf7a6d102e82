/*
 * Exit traces (include/core/trace.h): the flight recorder, a small ring of
 * the newest exits of every VM that is always on (`trace [vm]`), and
 * recordings (`trace start|stop|dump`): a ring per vCPU of the VMs and
 * reasons asked for, kept after `stop` until the next `start`, dumped in the
 * encoding of docs/tracing.md for scripts/kestrel-trace. One physical CPU
 * runs everything, so nothing here needs a lock.
 */
#include <core/page_alloc.h>
#include <core/trace.h>
#include <core/trace_ring.h>
#include <core/vm.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <x86/cpu.h>
#include <x86/processor.h>
#include <x86/guest_mem.h>
#include <x86/regs.h>
#include <x86/vendor.h>

static struct trace_record ring[TRACE_RECORDS];
static uint64_t next;    /* records written so far */
static bool flight_on = true;
bool trace_running = true;   /* the flight recorder or a recording: trace_exit has work */

/* A recording: rings indexed by VM and vCPU id, so a VM stopped, destroyed
 * and started again keeps its rings and nothing points into a VM. */
#define TRACE_RING_PAGES   16            /* 2,048 records per vCPU */
#define TRACE_RINGS_MAX    64            /* 4 MiB at most */

static struct recording {
	bool on;
	struct trace_filter filter;
	uint64_t start_tsc, stop_tsc;
	unsigned nr_rings;
	struct trace_ring *by_vcpu[MAX_VMS][MAX_VCPUS_PER_VM];
	struct trace_ring rings[TRACE_RINGS_MAX];
} rec;

static void recording_set(bool on)
{
	rec.on = on;
	trace_running = flight_on || rec.on;
}

void trace_flight_recorder(bool on)
{
	flight_on = on;
	recording_set(rec.on);
}

#if CONFIG_TRACE
static uint64_t exit_detail(const struct vcpu *v, const struct exit_info *e)
{
	switch (e->reason) {
	case EXIT_IO:        return e->io.port;
	case EXIT_NPF:       return e->npf.gpa;
	case EXIT_EXCEPTION: return e->exc.vector;
	case EXIT_MSR_READ:
	case EXIT_MSR_WRITE: return v->regs.gpr[GPR_RCX];
	default:             return v->regs.gpr[GPR_RAX];
	}
}

static uint8_t exit_flags(const struct exit_info *e)
{
	bool write = (e->reason == EXIT_IO && !e->io.in) || e->reason == EXIT_MSR_WRITE ||
		     (e->reason == EXIT_NPF && e->npf.write);

	return write ? TRACE_F_WRITE : 0;
}

static struct trace_ring *recording_ring(const struct vcpu *v, unsigned kind)
{
	if (!rec.on || v->vm->id >= MAX_VMS || v->id >= MAX_VCPUS_PER_VM ||
	    !trace_filter_match(&rec.filter, v->vm->id, kind))
		return NULL;
	return rec.by_vcpu[v->vm->id][v->id];
}

void trace_mark(struct vcpu *v, uint8_t code)
{
	struct trace_ring *r = recording_ring(v, TRACE_KIND_MARK);
	struct trace_rec *t;

	if (!r)
		return;
	t = trace_ring_push(r);
	t->tsc = rdtsc();
	t->kind = TRACE_KIND_MARK;
	t->qual = code;
	t->rip = guest_rip(v);
}

void trace_watch(struct vcpu *v, unsigned size, uint64_t value, unsigned flags)
{
	struct trace_ring *r = recording_ring(v, EXIT_NPF);    /* kept with its exit */
	struct trace_rec *t;

	if (!r)
		return;
	t = trace_ring_push(r);
	*t = (struct trace_rec){ .tsc = rdtsc(), .qual = value, .rip = guest_rip(v),
				 .cycles = size, .kind = TRACE_KIND_WATCH,
				 .flags = (uint8_t)flags };
}

struct trace_rec *trace_exit(struct vcpu *v, const struct exit_info *e)
{
	uint64_t tsc = rdtsc();
	struct trace_ring *r;
	struct trace_rec *t;

	if (flight_on)
		ring[next++ % TRACE_RECORDS] = (struct trace_record){
			.tsc = tsc, .detail = exit_detail(v, e), .raw = (uint32_t)e->raw,
			.reason = (uint8_t)e->reason, .vm = (uint8_t)v->vm->id,
			.vcpu = (uint8_t)v->id,
		};
	if (!rec.on)        /* the common case: no call into the filter */
		return NULL;
	if (!(r = recording_ring(v, e->reason)))
		return NULL;
	t = trace_ring_push(r);
	t->tsc = tsc;
	t->kind = (uint8_t)e->reason;
	t->flags = exit_flags(e);
	t->qual = exit_detail(v, e);
	t->rip = guest_rip(v);
	return t;
}

void trace_exit_close(struct trace_rec *t)
{
	uint64_t cycles = rdtsc() - t->tsc;

	t->cycles = cycles > UINT32_MAX ? UINT32_MAX : (uint32_t)cycles;
}

#endif

void trace_print(unsigned count, int vm_id)
{
	uint64_t first = next > TRACE_RECORDS ? next - TRACE_RECORDS : 0;
	unsigned shown = 0;

	if (!CONFIG_TRACE) {
		printk("error: built without the exit trace (TRACE=0)\n");
		return;
	}
	if (!flight_on) {
		printk("error: the flight recorder is off (flight-recorder = off in hv.cfg); "
		       "`trace start` records\n");
		return;
	}
	/* Walk back to find where the newest `count` matching records start. */
	uint64_t start = next;
	while (start > first && shown < count) {
		const struct trace_record *r = &ring[--start % TRACE_RECORDS];

		if (vm_id < 0 || r->vm == vm_id)
			shown++;
	}
	printk("%-16s %-3s %-4s %-12s %-6s %s\n", "TSC", "VM", "VCPU", "REASON", "CODE",
	       "DETAIL");
	for (uint64_t i = start; i < next; i++) {
		const struct trace_record *r = &ring[i % TRACE_RECORDS];

		if (vm_id >= 0 && r->vm != vm_id)
			continue;
		printk("%016lx %-3u %-4u %-12s 0x%-4x 0x%lx\n", r->tsc, r->vm, r->vcpu,
		       exit_reason_name(r->reason), r->raw, r->detail);
	}
}

static void recording_free(void)
{
	for (unsigned i = 0; i < rec.nr_rings; i++)
		page_free((uintptr_t)rec.rings[i].rec, TRACE_RING_PAGES);
	memset(rec.by_vcpu, 0, sizeof(rec.by_vcpu));
	rec.nr_rings = 0;
}

/* A ring for each vCPU the VM (or every VM) has now. */
static int recording_alloc(int vm_id)
{
	for (unsigned i = 0; i < nr_vms; i++) {
		struct vm *vm = vms[i];

		if ((vm_id >= 0 && vm->id != (unsigned)vm_id) || vm->id >= MAX_VMS)
			continue;
		for (unsigned c = 0; c < vm->nr_vcpus && c < MAX_VCPUS_PER_VM; c++) {
			struct trace_rec *buf;

			if (rec.nr_rings == TRACE_RINGS_MAX) {
				printk("error: at most %u vCPUs in one recording\n",
				       TRACE_RINGS_MAX);
				return -1;
			}
			if (!(buf = page_alloc_ptr(TRACE_RING_PAGES))) {
				printk("error: out of memory for the trace rings\n");
				return -1;
			}
			trace_ring_init(&rec.rings[rec.nr_rings], buf,
					TRACE_RING_PAGES * 4096 / sizeof(*buf));
			rec.by_vcpu[vm->id][c] = &rec.rings[rec.nr_rings++];
		}
	}
	return 0;
}

static const char *kind_name(unsigned kind)
{
	return kind == TRACE_KIND_MARK ? "mark" : kind == TRACE_KIND_WATCH ? "watch" :
	       exit_reason_name(kind);
}

static void trace_start(int argc, char **argv)
{
	const char *names[NR_EXIT_REASONS];
	struct trace_filter f = { .vm = -1 };
	struct vm *vm = argc > 0 ? vm_find(argv[0]) : NULL;
	int first = vm ? 1 : 0, bad;

	for (unsigned i = 0; i < NR_EXIT_REASONS; i++)
		names[i] = exit_reason_name(i);
	if (vm)
		f.vm = (int)vm->id;
	bad = trace_filter_reasons(&f, argv + first, argc - first, names, NR_EXIT_REASONS);
	if (bad >= 0) {
		printk("error: \"%s\" is neither a VM nor an exit reason (%s", argv[first + bad],
		       names[0]);
		for (unsigned i = 1; i < NR_EXIT_REASONS; i++)
			printk(" %s", names[i]);
		printk(")\n");
		return;
	}
	recording_set(false);
	recording_free();
	if (recording_alloc(f.vm)) {
		recording_free();
		return;
	}
	rec.filter = f;
	rec.start_tsc = rdtsc();
	rec.stop_tsc = 0;
	recording_set(true);
	printk("trace: recording %s%s%s, %u vCPUs, %lu records each\n",
	       vm ? "vm " : "every VM", vm ? vm->name : "",
	       f.reasons == ~0u ? "" : " (the reasons named)", rec.nr_rings,
	       TRACE_RING_PAGES * 4096 / sizeof(struct trace_rec));
}

static void trace_stop(void)
{
	if (!rec.on) {
		printk("error: no recording is running (`trace start`)\n");
		return;
	}
	recording_set(false);
	rec.stop_tsc = rdtsc();
	printk("trace: stopped\n");
}

static const char *vm_name_of(unsigned id)
{
	for (unsigned i = 0; i < nr_vms; i++)
		if (vms[i]->id == id)
			return vms[i]->name;
	return "?";
}

/* docs/tracing.md describes these lines. */
static void trace_dump(void)
{
	char line[96];

	if (!rec.nr_rings) {
		printk("error: nothing recorded (`trace start`)\n");
		return;
	}
	printk("kestrel-trace 1 tsc_khz=%lu start=%lx stop=%lx rings=%u%s\n", tsc_khz(),
	       rec.start_tsc, rec.on ? rdtsc() : rec.stop_tsc, rec.nr_rings,
	       rec.on ? " running" : "");
	for (unsigned vm = 0; vm < MAX_VMS; vm++) {
		for (unsigned c = 0; c < MAX_VCPUS_PER_VM; c++) {
			const struct trace_ring *r = rec.by_vcpu[vm][c];
			uint32_t n;

			if (!r)
				continue;
			n = trace_ring_count(r);
			printk("v %u %u %u %lu %s\n", vm, c, n, trace_ring_lost(r), vm_name_of(vm));
			for (uint32_t i = 0; i < n; i++) {
				const struct trace_rec *t = trace_ring_at(r, i);

				trace_rec_format(line, sizeof(line), t, kind_name(t->kind));
				printk("%s\n", line);
			}
		}
	}
	printk("end\n");
}

void trace_command(int argc, char **argv)
{
	if (!CONFIG_TRACE) {
		printk("error: built without the exit trace (TRACE=0)\n");
		return;
	}
	if (argc > 1 && !strcmp(argv[1], "start")) {
		trace_start(argc - 2, argv + 2);
	} else if (argc == 2 && !strcmp(argv[1], "stop")) {
		trace_stop();
	} else if (argc == 2 && !strcmp(argv[1], "dump")) {
		trace_dump();
	} else {
		struct vm *vm = argc > 1 ? vm_find(argv[1]) : NULL;

		if (argc > 1 && !vm) {
			printk("error: no VM \"%s\" (see `vms`)\n", argv[1]);
			return;
		}
		trace_print(32, vm ? (int)vm->id : -1);
	}
}
