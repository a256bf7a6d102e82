/* The kvm-unit-tests test device on a VM's buses (see devices/testdev.h). */
#include <core/iobus.h>
#include <core/page_alloc.h>
#include <core/vm.h>
#include <devices/testdev.h>
#include <devices/vpic.h>
#include <lib/string.h>

struct testdev {
	struct vm *vm;
	uint32_t reg;
	uint8_t iomem[TESTDEV_IOMEM_SIZE];
};

static enum io_result read_ones(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	(void)opaque;
	(void)off;
	*val = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
	return IO_HANDLED;
}

static enum io_result reg_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	*val = testdev_reg_read(((struct testdev *)opaque)->reg, (unsigned)off, size);
	return IO_HANDLED;
}

static enum io_result reg_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct testdev *t = opaque;

	t->reg = testdev_reg_write(t->reg, (unsigned)off, size, (uint32_t)val);
	return IO_HANDLED;
}

static enum io_result flush_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	(void)opaque;
	(void)off;
	(void)size;
	(void)val;
	return IO_HANDLED;
}

/* The lines take byte writes; QEMU splits a wider one into bytes, each
 * setting the line at its own port, and so does this. */
static enum io_result irq_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct testdev *t = opaque;

	for (unsigned i = 0; i < size; i++)
		if (off + i < 16)
			vm_isa_irq_set(t->vm, (unsigned)(off + i), (val >> (8 * i)) & 0xff);
	return IO_HANDLED;
}

static enum io_result iomem_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	*val = 0;
	memcpy(val, ((struct testdev *)opaque)->iomem + off, size);
	return IO_HANDLED;
}

static enum io_result iomem_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	memcpy(((struct testdev *)opaque)->iomem + off, &val, size);
	return IO_HANDLED;
}

static const struct io_ops reg_ops = { .read = reg_read, .write = reg_write };
static const struct io_ops flush_ops = { .read = read_ones, .write = flush_write };
static const struct io_ops irq_ops = { .read = read_ones, .write = irq_write };
static const struct io_ops iomem_ops = { .read = iomem_read, .write = iomem_write };

int testdev_create(struct vm *vm)
{
	struct testdev *t = page_alloc_ptr((sizeof(*t) + PAGE_SIZE - 1) / PAGE_SIZE);

	if (!t)
		return -1;
	t->vm = vm;
	vm->dev.testdev = t;
	return iobus_register(&vm->pio.bus, TESTDEV_REG_PORT, 4, &reg_ops, t, "testdev") ||
	       iobus_register(&vm->pio.bus, TESTDEV_FLUSH_PORT, 4, &flush_ops, t,
			      "testdev-flush") ||
	       iobus_register(&vm->pio.bus, TESTDEV_REG_BYTE_PORT, 4, &reg_ops, t,
			      "testdev-byte") ||
	       iobus_register(&vm->pio.bus, TESTDEV_IRQ_PORT, TESTDEV_IRQ_LINES, &irq_ops, t,
			      "testdev-irq") ||
	       iobus_register(&vm->mmio.bus, TESTDEV_IOMEM_BASE, TESTDEV_IOMEM_SIZE, &iomem_ops,
			      t, "testdev-iomem");
}

void testdev_reset(struct vm *vm)
{
	struct testdev *t = vm->dev.testdev;

	if (t) {
		t->reg = 0;
		memset(t->iomem, 0, sizeof(t->iomem));
	}
}
