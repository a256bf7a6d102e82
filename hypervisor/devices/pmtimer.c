/*
 * The guest's ACPI PM timer on the port-I/O bus: the register is in
 * pmtimer_core.c; this computes its ticks from the TSC at each read,
 * counted from the VM's power-on.
 */
#include <core/iobus.h>
#include <core/page_alloc.h>
#include <core/vm.h>
#include <devices/acpi_tables.h>
#include <devices/pmtimer.h>
#include <devices/vclock.h>
#include <x86/cpu.h>
#include <x86/processor.h>

_Static_assert(ACPI_PM_TIMER_LEN == PMTIMER_LEN, "FADT PM_TMR_LEN");

/* TSC at power-on, by vm->id (until struct vm has a pointer of its own). */
static uint64_t pmtimer_epoch[MAX_VMS];

static enum io_result pmtimer_io_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	const struct vm *vm = opaque;
	uint64_t now = rdtsc(), epoch = pmtimer_epoch[vm->id];
	uint64_t ticks = now > epoch ? vclock_scale(now - epoch, tsc_khz() * 1000, PMTIMER_HZ) : 0;

	return pmtimer_port_read(off, size, val, ticks);
}

static enum io_result pmtimer_io_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	(void)opaque;
	(void)val;
	return pmtimer_port_write(off, size);
}

static const struct io_ops pmtimer_ops = { .read = pmtimer_io_read, .write = pmtimer_io_write };

int pmtimer_create(struct vm *vm)
{
	if (vm->id >= MAX_VMS)
		return -1;
	pmtimer_epoch[vm->id] = rdtsc();
	return iobus_register(&vm->pio.bus, ACPI_PM_TIMER_PORT, ACPI_PM_TIMER_LEN, &pmtimer_ops,
			      vm, "acpi-pm-timer");
}

void pmtimer_reset(struct vm *vm)
{
	if (vm->id < MAX_VMS)
		pmtimer_epoch[vm->id] = rdtsc();
}
