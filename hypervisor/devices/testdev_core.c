/* Byte lanes of the test device's scratch register (see devices/testdev.h). */
#include <devices/testdev.h>

static uint32_t lanes(unsigned off, unsigned size)
{
	uint64_t mask = size >= 4 ? 0xffffffffull : (1ull << (size * 8)) - 1;

	return (uint32_t)(mask << ((off & 3) * 8));
}

uint32_t testdev_reg_read(uint32_t reg, unsigned off, unsigned size)
{
	return (reg & lanes(off, size)) >> ((off & 3) * 8);
}

uint32_t testdev_reg_write(uint32_t reg, unsigned off, unsigned size, uint32_t val)
{
	uint32_t m = lanes(off, size);

	return (reg & ~m) | ((uint32_t)((uint64_t)val << ((off & 3) * 8)) & m);
}
