/* The VM's power controls: ACPI sleep control/status and reset registers
 * (hardware-reduced ACPI, see acpi_tables.h) and a debug-exit port. */
#ifndef DEVICES_POWER_H
#define DEVICES_POWER_H

struct vm;

#define DEBUG_EXIT_PORT 0xf4   /* QEMU isa-debug-exit convention */

#include <stdint.h>

int power_create(struct vm *vm);
/* A byte written to the reset control port (ACPI_RESET_PORT). */
void power_reset_control(struct vm *vm, uint8_t val);

#endif
