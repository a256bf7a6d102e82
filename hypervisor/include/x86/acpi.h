/* The little of the host's ACPI tables the hypervisor needs: how to power
 * the machine off (ACPI 6.4, 4.8.3.2.1 and 7.4.2). */
#ifndef X86_ACPI_H
#define X86_ACPI_H

#include <stdbool.h>
#include <stdint.h>

/* Finds the PM1 control ports and the S5 sleep type from the RSDP the
 * firmware passed; NULL, or what is missing. */
const char *acpi_init(uint64_t rsdp);
/* The APIC IDs of the enabled CPUs in the MADT, at most `max`; 0 when
 * there is no MADT. */
unsigned acpi_host_cpus(uint64_t rsdp, uint32_t *apic_ids, unsigned max);
/* Enters S5 (soft off). Returns only if that did not work. */
void acpi_poweroff(void);
/* Powers the machine off, telling an emulator's debug-exit device whether
 * the run went well; halts if nothing works. */
__attribute__((noreturn)) void machine_poweroff(bool ok);

#endif
