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
