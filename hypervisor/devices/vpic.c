/*
 * The guest's 8259 pair on the port-I/O bus: the model is in vpic_core.c;
 * this keeps one per VM, routes ISA IRQs to it and to the IOAPIC, and
 * gives the master's INT to vCPU 0, the processor the PC wires it to.
 *
 * The INTA cycle happens when vCPU 0 takes the interrupt, as on a PC: its
 * local APIC offers the vector the pair would give (vpic_extint_vector,
 * an external interrupt, through lapic_pending) and acknowledges it when
 * the CPU accepts it (vpic_extint_ack, from lapic_ack). So a request the
 * guest masks, or re-initializes away, before it sets IF is never
 * delivered; an edge stays latched in IRR for when it unmasks. The local
 * APIC's LINT0 is not consulted: a guest that uses the IOAPIC masks the
 * 8259s (Linux and kvm-unit-tests do), so their output never rises.
 */
#include <core/cpus.h>
#include <core/iobus.h>
#include <core/page_alloc.h>
#include <core/vm.h>
#include <devices/acpi_tables.h>
#include <devices/ioapic.h>
#include <devices/vpic.h>

struct vpic {
	struct vpic_state s;
	struct vm *vm;
};

static struct vpic *vpic_of(const struct vm *vm)
{
	return vm->dev.vpic;
}

/* The output rose: wake vCPU 0 if it waits in HLT (the vector itself is
 * offered through its local APIC). */
static void vpic_deliver(struct vpic *p)
{
	struct vcpu *v = p->vm->nr_vcpus ? p->vm->vcpus[0] : NULL;

	if (!v || vpic_int_vector(&p->s) < 0)
		return;
	if (v->state == VCPU_HALTED)
		v->state = VCPU_RUNNABLE;
	vcpu_kick(v);
}

int vpic_extint_vector(const struct vcpu *v)
{
	const struct vpic *p = v->id == 0 ? vpic_of(v->vm) : NULL;

	return p ? vpic_int_vector(&p->s) : -1;
}

void vpic_extint_ack(struct vcpu *v)
{
	struct vpic *p = v->id == 0 ? vpic_of(v->vm) : NULL;

	if (p)
		vpic_intack(&p->s);
}

static enum io_result chip_read(struct vpic *p, unsigned chip, uint64_t off, unsigned size,
				uint64_t *val)
{
	enum io_result r = vpic_port_read(&p->s, chip, off, size, val);

	vpic_deliver(p);
	return r;
}

static enum io_result chip_write(struct vpic *p, unsigned chip, uint64_t off, unsigned size,
				 uint64_t val)
{
	enum io_result r = vpic_port_write(&p->s, chip, off, size, val);

	vpic_deliver(p);
	return r;
}

static enum io_result master_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	return chip_read(opaque, 0, off, size, val);
}

static enum io_result master_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	return chip_write(opaque, 0, off, size, val);
}

static enum io_result slave_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	return chip_read(opaque, 1, off, size, val);
}

static enum io_result slave_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	return chip_write(opaque, 1, off, size, val);
}

static enum io_result elcr_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct vpic *p = opaque;

	return vpic_elcr_read(&p->s, off, size, val);
}

static enum io_result elcr_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct vpic *p = opaque;
	enum io_result r = vpic_elcr_write(&p->s, off, size, val);

	vpic_deliver(p);
	return r;
}

static const struct io_ops master_ops = { .read = master_read, .write = master_write };
static const struct io_ops slave_ops = { .read = slave_read, .write = slave_write };
static const struct io_ops elcr_ops = { .read = elcr_read, .write = elcr_write };

int vpic_create(struct vm *vm)
{
	struct vpic *p;

	_Static_assert(sizeof(*p) <= PAGE_SIZE, "one page");
	if (!(p = page_alloc_ptr(1)))
		return -1;
	vpic_state_init(&p->s);
	p->vm = vm;
	/* On failure the bus may hold a range already: the page stays. */
	if (iobus_register(&vm->pio.bus, VPIC_MASTER_PORT, VPIC_PORT_COUNT, &master_ops, p,
			   "i8259-master") ||
	    iobus_register(&vm->pio.bus, VPIC_SLAVE_PORT, VPIC_PORT_COUNT, &slave_ops, p,
			   "i8259-slave") ||
	    iobus_register(&vm->pio.bus, VPIC_ELCR_PORT, VPIC_ELCR_COUNT, &elcr_ops, p, "elcr"))
		return -1;
	vm->dev.vpic = p;
	return 0;
}

void vpic_reset(struct vm *vm)
{
	struct vpic *p = vpic_of(vm);

	if (p)
		vpic_state_init(&p->s);
}

void vm_isa_irq_set(struct vm *vm, unsigned irq, bool level)
{
	struct vpic *p = vpic_of(vm);

	if (irq >= VPIC_IRQS)
		return;
	if (p) {
		vpic_line_set(&p->s, irq, level);
		vpic_deliver(p);
	}
	if (irq != VPIC_CASCADE_IR)   /* no device has it: ISA IRQ 2 is the cascade */
		ioapic_set_irq(vm, irq == ACPI_PIT_IRQ ? ACPI_PIT_GSI : irq, level);
}
