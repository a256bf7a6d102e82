/*
 * Power controls of a VM:
 *  - ACPI sleep control register (ACPI 6.4, 4.8.3.7): SLP_EN with the S5
 *    sleep type powers the VM off; the status register reads 0;
 *  - ACPI reset register (4.8.3.6) at 0xcf9, which shares its dword with
 *    the PCI configuration address register: the PCI host bridge
 *    (pci/pci_host.c) decodes the port and calls power_reset_control();
 *  - the debug-exit port at 0xf4 in QEMU's isa-debug-exit convention: a
 *    write stops the VM with the written value as its status.
 */
#include <core/iobus.h>
#include <core/vm.h>
#include <devices/acpi_tables.h>
#include <devices/power.h>

#define SLP_EN          (1u << 5)
#define SLP_TYP(v)      (((v) >> 2) & 7)

static enum io_result read_zero(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	(void)opaque;
	(void)off;
	(void)size;
	*val = 0;
	return IO_HANDLED;
}

static enum io_result sleep_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct vm *vm = opaque;

	(void)size;
	if (off == 0 && (val & SLP_EN) && SLP_TYP(val) == ACPI_S5_SLP_TYP)
		vm_stop(vm, true, "powered off by the guest (ACPI S5)");
	return IO_HANDLED;   /* status writes (clearing WAK_STS) need nothing */
}

void power_reset_control(struct vm *vm, uint8_t val)
{
	if ((val & ACPI_RESET_VALUE) == ACPI_RESET_VALUE)
		vm->reset_requested = true;   /* done by the scheduler, outside the exit */
}

static enum io_result debug_exit_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct vm *vm = opaque;

	(void)off;
	vm->exit_status = (int)(val & (size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1));
	vm_stop(vm, vm->exit_status == 0, "debug-exit port: status %d", vm->exit_status);
	return IO_HANDLED;
}

static const struct io_ops sleep_ops = { .read = read_zero, .write = sleep_write };
static const struct io_ops debug_exit_ops = { .read = read_zero, .write = debug_exit_write };

int power_create(struct vm *vm)
{
	return iobus_register(&vm->pio.bus, ACPI_SLEEP_CONTROL_PORT, 2, &sleep_ops, vm,
			      "acpi-sleep") ||
	       iobus_register(&vm->pio.bus, DEBUG_EXIT_PORT, 4, &debug_exit_ops, vm,
			      "debug-exit");
}
