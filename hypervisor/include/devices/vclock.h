/*
 * Guest-visible clocks derived from the TSC: the 8254's 1.193182 MHz input
 * (devices/vpit.h) and the ACPI PM timer's 3.579545 MHz (devices/pmtimer.h),
 * both divided from the PC's 14.31818 MHz crystal. The device cores count
 * in their own ticks; the glue converts TSC cycles with these helpers, so
 * a guest that calibrates its TSC against them measures the frequency the
 * hypervisor measured.
 */
#ifndef DEVICES_VCLOCK_H
#define DEVICES_VCLOCK_H

#include <stdint.h>

/*
 * floor(delta * to_hz / from_hz) without a 128-bit product: whole seconds
 * and the remainder apart. Exact while from_hz * to_hz < 2^64 (a 10 GHz TSC
 * and a 14.3 MHz clock use 2^57) and the result fits in 64 bits.
 * from_hz must not be 0.
 */
static inline uint64_t vclock_scale(uint64_t delta, uint64_t from_hz, uint64_t to_hz)
{
	return delta / from_hz * to_hz + delta % from_hz * to_hz / from_hz;
}

/* The same, rounded up: the first cycle of the `to` clock at or after
 * `delta` cycles of the `from` clock, so that a deadline converted with it
 * is never early: vclock_scale(vclock_scale_ceil(t, a, b), b, a) >= t. */
static inline uint64_t vclock_scale_ceil(uint64_t delta, uint64_t from_hz, uint64_t to_hz)
{
	return delta / from_hz * to_hz + (delta % from_hz * to_hz + from_hz - 1) / from_hz;
}

#endif
