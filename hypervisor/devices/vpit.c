/*
 * The guest's 8254 and port 0x61 on the port-I/O bus: the model is in
 * vpit_core.c; this keeps one per VM, turns the TSC into the model's
 * 1.193182 MHz ticks (counted from the VM's power-on) and raises ISA
 * IRQ 0 when counter 0's output rises.
 */
#include <core/iobus.h>
#include <core/page_alloc.h>
#include <core/vm.h>
#include <devices/vclock.h>
#include <devices/vpic.h>
#include <devices/vpit.h>
#include <x86/cpu.h>
#include <x86/processor.h>

struct vpit {
	struct vpit_state s;
	struct vm *vm;
	uint64_t epoch;          /* TSC at power-on: tick 0 */
};

static struct vpit *vpit_of(const struct vm *vm)
{
	return vm->dev.vpit;
}

static uint64_t tsc_hz(void)
{
	return tsc_khz() * 1000;
}

static uint64_t vpit_ticks(const struct vpit *p, uint64_t tsc)
{
	return tsc > p->epoch ? vclock_scale(tsc - p->epoch, tsc_hz(), VPIT_HZ) : 0;
}

/* IRQ 0 is an edge on both controllers: one pulse per rising OUT. */
static void vpit_raise(struct vpit *p, uint64_t now_tsc)
{
	if (vpit_irq_check(&p->s, vpit_ticks(p, now_tsc))) {
		vm_isa_irq_set(p->vm, 0, true);
		vm_isa_irq_set(p->vm, 0, false);
	}
}

/* Accesses check IRQ 0 too: a guest polling the PIT gets its interrupt
 * even between the scheduler's checks. */
static enum io_result vpit_io_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct vpit *p = opaque;
	uint64_t now = rdtsc();
	enum io_result r = vpit_port_read(&p->s, off, size, val, vpit_ticks(p, now));

	vpit_raise(p, now);
	return r;
}

static enum io_result vpit_io_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct vpit *p = opaque;
	uint64_t now = rdtsc();
	enum io_result r = vpit_port_write(&p->s, off, size, val, vpit_ticks(p, now));

	vpit_raise(p, now);
	return r;
}

static enum io_result port_b_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct vpit *p = opaque;

	(void)off;
	if (size != 1)
		return IO_UNHANDLED;
	*val = vpit_port_b_read(&p->s, vpit_ticks(p, rdtsc()));
	return IO_HANDLED;
}

static enum io_result port_b_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct vpit *p = opaque;

	(void)off;
	if (size != 1)
		return IO_UNHANDLED;
	vpit_port_b_write(&p->s, (uint8_t)val, vpit_ticks(p, rdtsc()));
	return IO_HANDLED;
}

static const struct io_ops vpit_ops = { .read = vpit_io_read, .write = vpit_io_write };
static const struct io_ops port_b_ops = { .read = port_b_read, .write = port_b_write };

static void vpit_power_on(struct vpit *p, struct vm *vm)
{
	vpit_state_init(&p->s);
	p->vm = vm;
	p->epoch = rdtsc();
}

int vpit_create(struct vm *vm)
{
	struct vpit *p;

	_Static_assert(sizeof(*p) <= PAGE_SIZE, "one page");
	if (!(p = page_alloc_ptr(1)))
		return -1;
	vpit_power_on(p, vm);
	if (iobus_register(&vm->pio.bus, VPIT_PORT_BASE, VPIT_PORT_COUNT, &vpit_ops, p, "i8254") ||
	    iobus_register(&vm->pio.bus, VPIT_PORT_B, 1, &port_b_ops, p, "port-b")) {
		/* The bus may hold the first range: keep the page it points to. */
		return -1;
	}
	vm->dev.vpit = p;
	return 0;
}

void vpit_reset(struct vm *vm)
{
	struct vpit *p = vpit_of(vm);

	if (p)
		vpit_power_on(p, vm);
}

uint64_t vpit_timer_deadline(const struct vm *vm)
{
	const struct vpit *p = vpit_of(vm);
	uint64_t ticks = p ? vpit_irq_deadline(&p->s) : 0;

	return ticks ? p->epoch + vclock_scale_ceil(ticks, VPIT_HZ, tsc_hz()) : 0;
}

void vpit_timer_check(struct vm *vm, uint64_t now_tsc)
{
	struct vpit *p = vpit_of(vm);

	if (p)
		vpit_raise(p, now_tsc);
}
