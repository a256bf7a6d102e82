/* Range lookup for the port-I/O and MMIO buses. */
#include <core/iobus.h>
#include <lib/printk.h>

int iobus_register(struct io_bus *bus, uint64_t base, uint64_t len,
		   const struct io_ops *ops, void *opaque, const char *name)
{
	if (bus->nr == IOBUS_MAX_REGIONS) {
		printk("kestrel: %s: the bus is full (%u ranges)\n", name, IOBUS_MAX_REGIONS);
		return -1;
	}
	if (!len || base + len < base)
		return -1;
	for (unsigned i = 0; i < bus->nr; i++) {
		const struct io_region *r = &bus->regions[i];

		if (base < r->base + r->len && r->base < base + len)
			return -1;
	}
	bus->regions[bus->nr++] = (struct io_region){ base, len, ops, opaque, name };
	return 0;
}

const struct io_region *iobus_find(const struct io_bus *bus, uint64_t addr, unsigned size)
{
	for (unsigned i = 0; i < bus->nr; i++) {
		const struct io_region *r = &bus->regions[i];

		/* The whole access must fall inside one device. */
		if (addr >= r->base && addr - r->base + size <= r->len)
			return r;
	}
	return 0;
}

enum io_result iobus_read(const struct io_bus *bus, uint64_t addr, unsigned size, uint64_t *val)
{
	const struct io_region *r = iobus_find(bus, addr, size);

	if (!r || !r->ops->read)
		return IO_UNHANDLED;
	return r->ops->read(r->opaque, addr - r->base, size, val);
}

enum io_result iobus_write(const struct io_bus *bus, uint64_t addr, unsigned size, uint64_t val)
{
	const struct io_region *r = iobus_find(bus, addr, size);

	if (!r || !r->ops->write)
		return IO_UNHANDLED;
	return r->ops->write(r->opaque, addr - r->base, size, val);
}
