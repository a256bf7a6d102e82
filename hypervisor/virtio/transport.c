/* Attaching virtio devices through the VM's transport (include/virtio/virtio_pci.h). */
#include <core/vm.h>
#include <lib/printk.h>
#include <virtio/virtio.h>
#include <virtio/virtio_mmio.h>
#include <virtio/virtio_pci.h>

int virtio_attach(struct vm *vm, struct virtio_dev *d, uint32_t pci_class)
{
	int r;

	if (vm->nr_virtio == VM_MAX_VIRTIO)
		return -1;
	if (vm->boot->devices & HV_DEV_VIRTIO_MMIO)
		r = virtio_mmio_create(vm, d, vm->nr_virtio);
	else
		r = virtio_pci_create(vm, d, pci_class);
	if (!r)
		vm->virtio[vm->nr_virtio++] = d;
	return r;
}

void virtio_reset_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_virtio; i++) {
		virtio_reset(vm->virtio[i]);
		vm->virtio[i]->resets = 0;
	}
}

static const char *const status_bits[8] = {
	"ack", "driver", "driver-ok", "features-ok", "?", "?", "NEEDS-RESET", "FAILED",
};

/* Console `devices`: status, features and queue counters of each device. */
void virtio_print(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_virtio; i++) {
		const struct virtio_dev *d = vm->virtio[i];

		printk("  %s (%s): status", d->ops->name,
		       vm->boot->devices & HV_DEV_VIRTIO_MMIO ? "mmio" : "pci");
		if (!d->status)
			printk(" reset");
		for (unsigned b = 0; b < 8; b++)
			if (d->status & (1u << b))
				printk(" %s", status_bits[b]);
		printk(", features 0x%lx, resets %u\n", d->driver_features, d->resets);
		if (d->broken[0])
			printk("    needs reset: %s\n", d->broken);
		for (unsigned q = 0; q < d->ops->nr_queues; q++)
			printk("    queue %u: size %u %s, chains %lu, notifies %lu, interrupts %lu\n",
			       q, d->q[q].vq.size, d->q[q].enabled ? "on" : "off", d->q[q].chains,
			       d->q[q].notifies, d->q[q].interrupts);
	}
}
