/*
 * The device-type table (include/core/platform.h), after Jailhouse's
 * units: creating or restarting a VM walks one list, so a restart cannot
 * miss a device that creation added.
 */
#include <core/platform.h>
#include <core/vm.h>
#include <devices/acpi_tables.h>
#include <devices/ioapic.h>
#include <devices/milestone.h>
#include <devices/pmtimer.h>
#include <devices/power.h>
#include <devices/rtc.h>
#include <devices/testdev.h>
#include <devices/uart16550.h>
#include <devices/vpic.h>
#include <devices/vpit.h>
#include <pci/pci.h>
#include <virtio/virtio_devices.h>
#include <virtio/virtio_pci.h>

static int com1_create(struct vm *vm)
{
	return uart16550_create(vm, ACPI_UART_PORT);
}

static bool want_testdev(const struct hv_boot_vm *bv) { return bv->devices & HV_DEV_TESTDEV; }
static bool want_blk(const struct hv_boot_vm *bv)     { return bv->disk.addr != 0; }
static bool want_net(const struct hv_boot_vm *bv)     { return bv->devices & HV_DEV_VIRTIO_NET; }
static bool want_rng(const struct hv_boot_vm *bv)     { return bv->devices & HV_DEV_VIRTIO_RNG; }
static bool want_console(const struct hv_boot_vm *bv)
{
	return bv->devices & HV_DEV_VIRTIO_CONSOLE;
}

/* Order: the interrupt controllers before what raises interrupts, the PCI
 * host bridge before the functions on it. The UART is reset by vm.c
 * first, so the restart message follows the guest's last line. */
static const struct vdev_type platform[] = {
	{ "uart16550", NULL, com1_create, NULL },
	{ "ioapic", NULL, ioapic_create, ioapic_reset },
	{ "8259 pair", NULL, vpic_create, vpic_reset },
	{ "8254 PIT", NULL, vpit_create, vpit_reset },
	{ "CMOS RTC", NULL, rtc_create, NULL },
	{ "PM timer", NULL, pmtimer_create, pmtimer_reset },
	{ "power controls", NULL, power_create, NULL },
	{ "boot milestones", NULL, milestone_create, milestone_reset },
	{ "testdev", want_testdev, testdev_create, testdev_reset },
	{ "PCI host bridge", NULL, pci_host_create, pci_host_reset },
	{ "virtio-blk", want_blk, virtio_blk_create, NULL },
	{ "virtio-net", want_net, virtio_net_create, NULL },
	{ "virtio-console", want_console, virtio_console_create, NULL },
	{ "virtio-rng", want_rng, virtio_rng_create, NULL },
	{ "virtio reset", NULL, NULL, virtio_reset_all },
};

int platform_create(struct vm *vm, const char **failed)
{
	for (unsigned i = 0; i < sizeof(platform) / sizeof(platform[0]); i++) {
		const struct vdev_type *t = &platform[i];

		if (!t->create || (t->wanted && !t->wanted(vm->boot)))
			continue;
		if (t->create(vm)) {
			*failed = t->name;
			return -1;
		}
	}
	return 0;
}

void platform_reset(struct vm *vm)
{
	for (unsigned i = 0; i < sizeof(platform) / sizeof(platform[0]); i++) {
		const struct vdev_type *t = &platform[i];

		if (t->reset && (!t->wanted || t->wanted(vm->boot)))
			t->reset(vm);
	}
}
