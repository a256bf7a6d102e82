/* virtio-net NICs and the switch joining them, for the console (virtio/virtio_net.c). */
#ifndef VIRTIO_VIRTIO_NET_H
#define VIRTIO_VIRTIO_NET_H

struct vm;

/* Console `net`: the switch's ports and their counters. */
void virtio_net_print(void);
/* One line with the counters of the VM's switch port; nothing without a
 * NIC (`stats <vm>`, batch end). */
void virtio_net_print_vm(const struct vm *vm);
/* The VM's NIC leaves the switch and the NIC list (VM destroy frees it). */
void virtio_net_forget(const struct vm *vm);

#endif
