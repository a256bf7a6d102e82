/* The virtio device types a VM can have (hv.cfg: disk, net, virtio-console, rng). */
#ifndef VIRTIO_VIRTIO_DEVICES_H
#define VIRTIO_VIRTIO_DEVICES_H

struct vm;

int virtio_blk_create(struct vm *vm);
int virtio_net_create(struct vm *vm);
int virtio_console_create(struct vm *vm);
int virtio_rng_create(struct vm *vm);

#endif
