/*
 * The transport-independent part of a virtio device (include/virtio/virtio.h).
 * Section numbers are those of the virtio 1.2 specification.
 */
#include <core/vm.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <virtio/virtio.h>

void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, void *opaque,
		     struct vm *vm, uint64_t features)
{
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->opaque = opaque;
	d->vm = vm;
	d->ram = (struct guest_ram){ vm_gpa_to_hva(vm, 0, vm->mem_size), vm->mem_size };
	d->device_features = features | 1ull << VIRTIO_F_VERSION_1 |
			     1ull << VIRTIO_F_INDIRECT_DESC;
	if (!(vm->boot->devices & HV_DEV_NO_EVENT_IDX))
		d->device_features |= 1ull << VIRTIO_F_EVENT_IDX;
	d->config_writable = VIRTIO_CONFIG_MAX;   /* the device type opens what it needs */
	virtio_reset(d);
	d->resets = 0;
}

bool virtio_has(const struct virtio_dev *d, unsigned feature)
{
	return (d->driver_features >> feature) & 1;
}

/* 2.4: writing 0 to the status resets the device; so does a VM restart. */
void virtio_reset(struct virtio_dev *d)
{
	d->status = 0;
	d->driver_features = 0;
	d->device_features_sel = d->driver_features_sel = 0;
	d->queue_sel = 0;
	d->isr = 0;
	d->config_msix_vector = VIRTIO_NO_VECTOR;
	d->broken[0] = '\0';
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		struct virtio_queue *q = &d->q[i];

		memset(&q->vq, 0, sizeof(q->vq));
		q->enabled = false;
		q->msix_vector = VIRTIO_NO_VECTOR;
		q->size_max = i < d->ops->nr_queues ? d->ops->queue_max : 0;
		q->vq.size = q->size_max;   /* 4.1.4.3: queue_size reads the maximum */
	}
	d->resets++;
	if (d->ops->reset)
		d->ops->reset(d);
}

/* 3.1.1: FEATURES_OK only sticks when the driver took no bit we did not
 * offer, and a virtio 1.x device wants VERSION_1 (6.1). */
void virtio_write_status(struct virtio_dev *d, uint8_t status)
{
	if (!status) {
		virtio_reset(d);
		return;
	}
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(d->status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((d->driver_features & ~d->device_features) || !virtio_has(d, VIRTIO_F_VERSION_1)))
		status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	d->status = (uint8_t)(status | (d->status & VIRTIO_STATUS_NEEDS_RESET));
}

uint32_t virtio_read_device_features(const struct virtio_dev *d)
{
	return d->device_features_sel < 2 ? (uint32_t)(d->device_features >>
						       (32 * d->device_features_sel)) : 0;
}

void virtio_write_driver_features(struct virtio_dev *d, uint32_t val)
{
	unsigned shift = 32 * d->driver_features_sel;

	/* 2.2: features are negotiated before FEATURES_OK and fixed after. */
	if (d->driver_features_sel >= 2 || (d->status & VIRTIO_STATUS_FEATURES_OK))
		return;
	d->driver_features = (d->driver_features & ~(0xffffffffull << shift)) |
			     (uint64_t)val << shift;
}

void virtio_fail(struct virtio_dev *d, const char *why)
{
	if (d->broken[0])
		return;
	strlcpy(d->broken, why, sizeof(d->broken));
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	printk("kestrel: vm %u (%s): %s needs reset: %s\n", d->vm->id, d->vm->name, d->ops->name,
	       why);
	d->isr |= VIRTIO_ISR_CONFIG;   /* 2.1.2: tell the driver */
	d->transport->interrupt(d, VIRTIO_CONFIG_IRQ);
}

void virtio_queue_enable(struct virtio_dev *d, unsigned qi)
{
	struct virtio_queue *q = &d->q[qi];
	const char *why;

	if (qi >= d->ops->nr_queues || q->enabled)
		return;
	q->vq.event_idx = virtio_has(d, VIRTIO_F_EVENT_IDX);
	q->vq.indirect = virtio_has(d, VIRTIO_F_INDIRECT_DESC);
	q->vq.last_avail = q->vq.used_idx = q->vq.signalled_used = 0;
	q->vq.signalled_valid = false;
	if (q->vq.size > q->size_max) {
		virtio_fail(d, "queue size above the maximum offered");
		return;
	}
	why = virtq_check_layout(&q->vq, &d->ram);
	if (why) {
		virtio_fail(d, why);
		return;
	}
	q->enabled = true;
}

struct virtio_queue *virtio_selected_queue(struct virtio_dev *d)
{
	return d->queue_sel < d->ops->nr_queues ? &d->q[d->queue_sel] : NULL;
}

bool virtio_running(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_STATUS_DRIVER_OK) && !d->broken[0];
}

void virtio_queue_kick(struct virtio_dev *d, unsigned qi)
{
	if (qi >= d->ops->nr_queues)
		return;
	d->q[qi].notifies++;
	if (virtio_running(d) && d->q[qi].enabled)
		d->ops->queue_notify(d, qi);
}

bool virtio_pop(struct virtio_dev *d, unsigned qi, struct virtq_elem *e)
{
	struct virtio_queue *q = &d->q[qi];
	const char *why = NULL;
	enum virtq_result r;

	if (!virtio_running(d) || !q->enabled)
		return false;
	r = virtq_pop(&q->vq, &d->ram, e, &why);
	if (r == VIRTQ_BROKEN) {
		virtio_fail(d, why);
		return false;
	}
	return r == VIRTQ_OK;
}

void virtio_push(struct virtio_dev *d, unsigned qi, const struct virtq_elem *e, uint32_t written)
{
	struct virtio_queue *q = &d->q[qi];

	virtq_push(&q->vq, &d->ram, e->head, written);
	q->chains++;
	if (virtq_should_interrupt(&q->vq, &d->ram)) {
		q->interrupts++;
		d->isr |= VIRTIO_ISR_QUEUE;
		d->transport->interrupt(d, qi);
	}
}

uint64_t virtio_config_read(const struct virtio_dev *d, uint64_t off, unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size && i < 8; i++)
		if (off + i < d->config_size)
			v |= (uint64_t)d->config[off + i] << (8 * i);
	return v;
}

void virtio_config_write(struct virtio_dev *d, uint64_t off, unsigned size, uint64_t val)
{
	if (off < d->config_writable || off + size > d->config_size || size > 8)
		return;
	for (unsigned i = 0; i < size; i++)
		d->config[off + i] = (uint8_t)(val >> (8 * i));
	if (d->ops->config_written)
		d->ops->config_written(d, (unsigned)off, size);
}
