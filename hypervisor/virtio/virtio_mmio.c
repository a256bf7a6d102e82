/*
 * The virtio-mmio transport, version 2 (virtio 1.2, 4.2.2): one register
 * block per device, 32-bit registers, a level-triggered interrupt line
 * that follows InterruptStatus.
 */
#include <core/iobus.h>
#include <core/page_alloc.h>
#include <core/vm.h>
#include <devices/acpi_tables.h>
#include <devices/ioapic.h>
#include <lib/string.h>
#include <virtio/virtio.h>
#include <virtio/virtio_mmio.h>

_Static_assert(VIRTIO_MMIO_BASE == ACPI_VIRTIO_MMIO_BASE &&
	       VIRTIO_MMIO_SIZE == ACPI_VIRTIO_MMIO_SIZE &&
	       VIRTIO_MMIO_GSI_BASE == ACPI_VIRTIO_MMIO_GSI0, "the DSDT must agree");

/* Register offsets (4.2.2, table "MMIO Device Register Layout"). */
#define MMIO_MAGIC_VALUE        0x000
#define MMIO_VERSION            0x004
#define MMIO_DEVICE_ID          0x008
#define MMIO_VENDOR_ID          0x00c
#define MMIO_DEVICE_FEATURES    0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES    0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL          0x030
#define MMIO_QUEUE_NUM_MAX      0x034
#define MMIO_QUEUE_NUM          0x038
#define MMIO_QUEUE_READY        0x044
#define MMIO_QUEUE_NOTIFY       0x050
#define MMIO_INTERRUPT_STATUS   0x060
#define MMIO_INTERRUPT_ACK      0x064
#define MMIO_STATUS             0x070
#define MMIO_QUEUE_DESC_LOW     0x080
#define MMIO_QUEUE_DESC_HIGH    0x084
#define MMIO_QUEUE_DRIVER_LOW   0x090
#define MMIO_QUEUE_DRIVER_HIGH  0x094
#define MMIO_QUEUE_DEVICE_LOW   0x0a0
#define MMIO_QUEUE_DEVICE_HIGH  0x0a4
#define MMIO_CONFIG_GENERATION  0x0fc
#define MMIO_CONFIG             0x100

#define MMIO_MAGIC              0x74726976u   /* "virt" */
#define MMIO_VERSION_2          2
#define MMIO_VENDOR             0x4b53544cu   /* "KSTL" */

struct virtio_mmio {
	struct virtio_dev *vdev;
	unsigned gsi;
};

static void line_update(struct virtio_mmio *m)
{
	ioapic_set_irq(m->vdev->vm, m->gsi, m->vdev->isr != 0);
}

static uint32_t reg_read(struct virtio_dev *d, uint64_t off)
{
	struct virtio_queue *q = virtio_selected_queue(d);

	switch (off) {
	case MMIO_MAGIC_VALUE: return MMIO_MAGIC;
	case MMIO_VERSION: return MMIO_VERSION_2;
	case MMIO_DEVICE_ID: return d->ops->device_id;
	case MMIO_VENDOR_ID: return MMIO_VENDOR;
	case MMIO_DEVICE_FEATURES: return virtio_read_device_features(d);
	case MMIO_QUEUE_NUM_MAX: return q ? q->size_max : 0;
	case MMIO_QUEUE_READY: return q && q->enabled;
	case MMIO_INTERRUPT_STATUS: return d->isr;
	case MMIO_STATUS: return d->status;
	case MMIO_CONFIG_GENERATION: return d->config_generation;
	default: return 0;
	}
}

static void set_half(uint64_t *a, bool high, uint32_t v)
{
	*a = high ? (*a & 0xffffffffull) | (uint64_t)v << 32 : (*a & ~0xffffffffull) | v;
}

static void reg_write(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	struct virtio_dev *d = m->vdev;
	struct virtio_queue *q = virtio_selected_queue(d);
	bool q_ok = q && !q->enabled;   /* 4.2.3.2: set up before QueueReady */

	switch (off) {
	case MMIO_DEVICE_FEATURES_SEL: d->device_features_sel = v; break;
	case MMIO_DRIVER_FEATURES: virtio_write_driver_features(d, v); break;
	case MMIO_DRIVER_FEATURES_SEL: d->driver_features_sel = v; break;
	case MMIO_QUEUE_SEL: d->queue_sel = (uint16_t)v; break;
	case MMIO_QUEUE_NUM: if (q_ok) q->vq.size = (uint16_t)v; break;
	case MMIO_QUEUE_READY: if (q_ok && v == 1) virtio_queue_enable(d, d->queue_sel); break;
	case MMIO_QUEUE_NOTIFY: virtio_queue_kick(d, v & 0xffff); break;
	case MMIO_INTERRUPT_ACK: d->isr &= (uint8_t)~v; line_update(m); break;
	case MMIO_STATUS: virtio_write_status(d, (uint8_t)v); line_update(m); break;
	case MMIO_QUEUE_DESC_LOW: case MMIO_QUEUE_DESC_HIGH:
		if (q_ok) set_half(&q->vq.desc, off & 4, v);
		break;
	case MMIO_QUEUE_DRIVER_LOW: case MMIO_QUEUE_DRIVER_HIGH:
		if (q_ok) set_half(&q->vq.avail, off & 4, v);
		break;
	case MMIO_QUEUE_DEVICE_LOW: case MMIO_QUEUE_DEVICE_HIGH:
		if (q_ok) set_half(&q->vq.used, off & 4, v);
		break;
	default: break;   /* read-only or reserved */
	}
}

/* 4.2.2.2: registers take aligned 32-bit accesses; the configuration
 * space any width. Other accesses read 0 and are dropped. */
static enum io_result mmio_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct virtio_mmio *m = opaque;

	if (off >= MMIO_CONFIG)
		*val = virtio_config_read(m->vdev, off - MMIO_CONFIG, size);
	else
		*val = size == 4 && off % 4 == 0 ? reg_read(m->vdev, off) : 0;
	return IO_HANDLED;
}

static enum io_result mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct virtio_mmio *m = opaque;

	if (off >= MMIO_CONFIG)
		virtio_config_write(m->vdev, off - MMIO_CONFIG, size, val);
	else if (size == 4 && off % 4 == 0)
		reg_write(m, off, (uint32_t)val);
	return IO_HANDLED;
}

static void interrupt(struct virtio_dev *d, unsigned q)
{
	(void)q;   /* the core set the InterruptStatus bit */
	line_update(d->transport_priv);
}

static const struct io_ops virtio_mmio_ops = { .read = mmio_read, .write = mmio_write };
static const struct virtio_transport virtio_mmio_transport = { .interrupt = interrupt };

int virtio_mmio_create(struct vm *vm, struct virtio_dev *d, unsigned slot)
{
	struct virtio_mmio *m;

	if (slot >= VIRTIO_MMIO_SLOTS)
		return -1;
	m = page_alloc_ptr(1);
	if (!m)
		return -1;
	m->vdev = d;
	m->gsi = VIRTIO_MMIO_GSI_BASE + slot;
	d->transport = &virtio_mmio_transport;
	d->transport_priv = m;
	return iobus_register(&vm->mmio.bus, VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_SIZE,
			      VIRTIO_MMIO_SIZE, &virtio_mmio_ops, m, d->ops->name);
}
