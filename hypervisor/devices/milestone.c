/*
 * The boot-milestone port on a VM's port bus (see devices/milestone.h):
 * the table is in milestone_core.c; this stamps each write with the host
 * TSC and restarts the table at every power-on.
 */
#include <core/iobus.h>
#include <core/trace.h>
#include <core/vm.h>
#include <devices/milestone.h>
#include <lib/printk.h>
#include <x86/cpu.h>
#include <x86/processor.h>

/* By vm->id (until struct vm has a pointer of its own), as the PM timer. */
static struct milestone_table tables[MAX_VMS];
static bool present[MAX_VMS];

static enum io_result milestone_io_read(void *opaque, uint64_t off, unsigned size,
					uint64_t *val)
{
	(void)opaque;
	(void)off;
	(void)size;
	*val = 0xff;
	return IO_HANDLED;
}

static enum io_result milestone_io_write(void *opaque, uint64_t off, unsigned size,
					 uint64_t val)
{
	const struct vm *vm = opaque;
	struct vcpu *v = current_vcpu();

	(void)off;
	(void)size;
	milestone_record(&tables[vm->id], (uint8_t)val, rdtsc());
	if (v && v->vm == vm)
		trace_mark(v, (uint8_t)val);
	return IO_HANDLED;
}

static const struct io_ops milestone_ops = {
	.read = milestone_io_read, .write = milestone_io_write,
};

int milestone_create(struct vm *vm)
{
	if (vm->id >= MAX_VMS)
		return -1;
	milestone_table_reset(&tables[vm->id], rdtsc());
	present[vm->id] = true;
	return iobus_register(&vm->pio.bus, MILESTONE_PORT, 1, &milestone_ops, vm, "milestone");
}

void milestone_reset(struct vm *vm)
{
	if (vm->id < MAX_VMS)
		milestone_table_reset(&tables[vm->id], rdtsc());
}

/* Milliseconds with three decimals, right-aligned in `width` columns. */
static void print_ms(uint64_t us, int width)
{
	printk("%*lu.%03lu ms", width, us / 1000, us % 1000);
}

void milestone_print(const struct vm *vm)
{
	const struct milestone_table *t = vm->id < MAX_VMS ? &tables[vm->id] : NULL;

	if (!t || !present[vm->id])
		return;
	printk("  boot milestones (port 0x%x): %u recorded, %lu dropped; started ",
	       MILESTONE_PORT, t->count, t->dropped);
	print_ms(milestone_us(t->start_tsc, rdtsc(), tsc_khz()), 0);
	printk(" ago\n");
	for (unsigned i = 0; i < t->count; i++) {
		const struct milestone *m = &t->mark[i];
		const char *name = milestone_name(m->code);

		printk("    0x%02x %-10s %-16s", m->code, milestone_stage(m->code),
		       name ? name : "-");
		print_ms(milestone_us(t->start_tsc, m->tsc, tsc_khz()), 8);
		printk("  tsc %016lx\n", m->tsc);
	}
}
