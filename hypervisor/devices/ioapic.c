/*
 * The guest's IOAPIC on the MMIO bus: the model is in ioapic_core.c; this
 * allocates it, finds it from a VM, and logs what the guest asked for but
 * the model does not do.
 */
#include <core/iobus.h>
#include <core/page_alloc.h>
#include <core/vm.h>
#include <devices/ioapic.h>
#include <lib/printk.h>

static struct ioapic_state *ioapic_of(const struct vm *vm)
{
	return vm->dev.ioapic;
}

static void ioapic_log_unsupported(struct ioapic_state *s)
{
	static const char *const names[8] = {
		"fixed", "lowest priority", "SMI", "reserved (3)",
		"NMI", "INIT", "reserved (6)", "ExtINT",
	};

	for (unsigned mode = 0; mode < 8 && s->unsupported_new; mode++) {
		if (!(s->unsupported_new & (1u << mode)))
			continue;
		s->unsupported_new &= (uint8_t)~(1u << mode);
		printk("kestrel: vm %u (%s): IOAPIC delivery mode %s unsupported, "
		       "interrupt dropped (logged once)\n", s->vm->id, s->vm->name, names[mode]);
	}
}

static enum io_result ioapic_io_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	return ioapic_mmio_read(opaque, off, size, val);
}

static enum io_result ioapic_io_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	enum io_result r = ioapic_mmio_write(opaque, off, size, val);

	ioapic_log_unsupported(opaque);
	return r;
}

static const struct io_ops ioapic_ops = { .read = ioapic_io_read, .write = ioapic_io_write };

int ioapic_create(struct vm *vm)
{
	struct ioapic_state *s;

	_Static_assert(sizeof(*s) <= PAGE_SIZE, "one page");
	if (!(s = page_alloc_ptr(1)))
		return -1;
	ioapic_state_init(s, vm);
	if (iobus_register(&vm->mmio.bus, IOAPIC_BASE, IOAPIC_MMIO_SIZE, &ioapic_ops, s, "ioapic")) {
		page_free((uint64_t)(uintptr_t)s, 1);
		return -1;
	}
	vm->dev.ioapic = s;
	return 0;
}

void ioapic_reset(struct vm *vm)
{
	struct ioapic_state *s = ioapic_of(vm);

	if (s)
		ioapic_state_init(s, vm);
}

void ioapic_set_irq(struct vm *vm, unsigned pin, bool level)
{
	struct ioapic_state *s = ioapic_of(vm);

	if (!s)
		return;
	ioapic_pin_set(s, pin, level);
	ioapic_log_unsupported(s);
}

void ioapic_eoi(struct vm *vm, uint8_t vector)
{
	struct ioapic_state *s = ioapic_of(vm);

	if (!s)
		return;
	ioapic_vector_eoi(s, vector);
	ioapic_log_unsupported(s);
}
