/*
 * Port-I/O and MMIO buses of a VM. Devices register the ranges they
 * decode; exit handlers only look ranges up here, they never name a port.
 */
#ifndef CORE_IOBUS_H
#define CORE_IOBUS_H

#include <stdbool.h>
#include <stdint.h>

enum io_result {
	IO_HANDLED,
	IO_UNHANDLED,   /* no device: reads return all-ones, writes are dropped */
	IO_ERROR,       /* the device refused the access: stops the VM */
};

/* Offsets are relative to the start of the registered range. */
struct io_ops {
	enum io_result (*read)(void *opaque, uint64_t offset, unsigned size, uint64_t *val);
	enum io_result (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t val);
};

struct io_region {
	uint64_t base, len;
	const struct io_ops *ops;
	void *opaque;
	const char *name;
};

#define IOBUS_MAX_REGIONS 32

struct io_bus {
	unsigned nr;
	struct io_region regions[IOBUS_MAX_REGIONS];
};

struct pio_bus { struct io_bus bus; };
struct mmio_bus { struct io_bus bus; };

/* -1 when the range overlaps another or the bus is full. */
int iobus_register(struct io_bus *bus, uint64_t base, uint64_t len,
		   const struct io_ops *ops, void *opaque, const char *name);
const struct io_region *iobus_find(const struct io_bus *bus, uint64_t addr, unsigned size);
enum io_result iobus_read(const struct io_bus *bus, uint64_t addr, unsigned size, uint64_t *val);
enum io_result iobus_write(const struct io_bus *bus, uint64_t addr, unsigned size, uint64_t val);

#endif
