/*
 * The ACPI PM timer without hypervisor dependencies (host-tested by
 * tests/unit/test_pmtimer.c). ACPI 6.4, 4.8.3.3 ("Power Management Timer")
 * and 5.2.9 (PM_TMR_BLK, PM_TMR_LEN, TMR_VAL_EXT): a 24-bit up-counter at
 * 3.579545 MHz that wraps to 0; the bits above the counter read as 0.
 *
 * Not modelled: TMR_STS / TMR_EN, the overflow event in the PM1 event
 * block, which the hardware-reduced FADT does not have (no SCI either).
 */
#include <devices/pmtimer.h>

uint32_t pmtimer_value(uint64_t ticks)
{
	return (uint32_t)(ticks & PMTIMER_MASK);
}

enum io_result pmtimer_port_read(uint64_t off, unsigned size, uint64_t *val, uint64_t ticks)
{
	if ((size != 1 && size != 2 && size != 4) || off % size || off + size > PMTIMER_LEN)
		return IO_UNHANDLED;
	*val = pmtimer_value(ticks) >> (off * 8);
	if (size < 4)
		*val &= (1u << (size * 8)) - 1;
	return IO_HANDLED;
}

enum io_result pmtimer_port_write(uint64_t off, unsigned size)
{
	if ((size != 1 && size != 2 && size != 4) || off % size || off + size > PMTIMER_LEN)
		return IO_UNHANDLED;
	return IO_HANDLED;
}
