/* Transports a virtio device attaches through (virtio 1.2, 4.1 and 4.2). */
#ifndef VIRTIO_VIRTIO_PCI_H
#define VIRTIO_VIRTIO_PCI_H

#include <stdint.h>

struct vm;
struct virtio_dev;

/* A virtio-pci modern function for d on the VM's PCI bus. */
int virtio_pci_create(struct vm *vm, struct virtio_dev *d, uint32_t class_code);

/* Attaches d through the VM's configured transport (`transport =` in
 * hv.cfg: PCI, or virtio-mmio) and lists it for resets and the console. */
int virtio_attach(struct vm *vm, struct virtio_dev *d, uint32_t pci_class);
/* Every attached device back to its power-on state (VM restart). */
void virtio_reset_all(struct vm *vm);
/* Prints each device's status and queue counters (console `devices`). */
void virtio_print(struct vm *vm);

#endif
