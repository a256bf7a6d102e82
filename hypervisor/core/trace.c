/* The exit trace ring (include/core/trace.h). One physical CPU runs
 * everything, so the ring needs no locking. */
#include <core/trace.h>
#include <core/vm.h>
#include <lib/printk.h>
#include <x86/processor.h>

static struct trace_record ring[TRACE_RECORDS];
static uint64_t next;    /* records written so far */

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

void trace_exit(const struct vcpu *v, const struct exit_info *e)
{
	ring[next++ % TRACE_RECORDS] = (struct trace_record){
		.tsc = rdtsc(), .detail = exit_detail(v, e), .raw = (uint32_t)e->raw,
		.reason = (uint8_t)e->reason, .vm = (uint8_t)v->vm->id, .vcpu = (uint8_t)v->id,
	};
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
