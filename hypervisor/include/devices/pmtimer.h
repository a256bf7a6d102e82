/*
 * The ACPI power-management timer (ACPI 6.4, 4.8.3.3): a free-running
 * 24-bit counter at 3.579545 MHz, read as a 32-bit I/O register at the
 * FADT's PM_TMR_BLK / X_PM_TMR_BLK (ACPI_PM_TIMER_PORT). Linux uses it as
 * the acpi_pm clocksource and as the reference for its TSC calibration.
 *
 * Two halves: a pure core (devices/pmtimer_core.c, host-tested) that
 * serves the register given the timer's tick count, and the glue
 * (devices/pmtimer.c) that derives the ticks from the TSC on every read.
 */
#ifndef DEVICES_PMTIMER_H
#define DEVICES_PMTIMER_H

#include <stdint.h>
#include <core/iobus.h>

struct vm;

#define PMTIMER_HZ          3579545u   /* 14.31818 MHz / 4 */
#define PMTIMER_LEN         4          /* PM_TMR_LEN */
#define PMTIMER_MASK        0xffffffu  /* 24 bits: the FADT leaves TMR_VAL_EXT clear */

/* The register's value `ticks` ticks after power-on. */
uint32_t pmtimer_value(uint64_t ticks);
/* A read of the register block, `off` relative to its base: the whole
 * register, or any aligned part of it. Writes do nothing (the register is
 * read-only) but are the timer's, so not counted as unclaimed. */
enum io_result pmtimer_port_read(uint64_t off, unsigned size, uint64_t *val, uint64_t ticks);
enum io_result pmtimer_port_write(uint64_t off, unsigned size);

/* Registers the timer at ACPI_PM_TIMER_PORT; it counts from 0 at creation. */
int pmtimer_create(struct vm *vm);
/* Back to 0, as at power-on. */
void pmtimer_reset(struct vm *vm);

#endif
