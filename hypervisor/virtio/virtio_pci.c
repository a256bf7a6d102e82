/*
 * The virtio-pci modern transport (virtio 1.2, 4.1): a non-transitional
 * PCI function whose vendor capabilities point into one memory BAR (also
 * reachable from configuration space through the PCI configuration access
 * capability, 4.1.4.9), with MSI-X and an INTx fallback.
 *
 * BAR 0 (16 KiB):
 *   0x0000  common configuration (4.1.4.3)
 *   0x1000  ISR status (4.1.4.5)
 *   0x2000  device configuration (4.1.4.6)
 *   0x3000  notifications: queue q at 0x3000 + 4q (4.1.4.4)
 *   0x3800  MSI-X table, 0x3c00 its PBA
 */
#include <stddef.h>
#include <core/page_alloc.h>
#include <core/vm.h>
#include <lib/string.h>
#include <pci/pci.h>
#include <virtio/virtio.h>
#include <virtio/virtio_pci.h>

#define VIRTIO_PCI_VENDOR      0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040          /* + device ID (4.1.2.1) */
#define VIRTIO_PCI_REVISION    1               /* non-transitional */

#define BAR_SIZE               0x4000
#define COMMON_OFF             0x0000
#define ISR_OFF                0x1000
#define DEVICE_OFF             0x2000
#define NOTIFY_OFF             0x3000
#define NOTIFY_MULTIPLIER      4
#define MSIX_TABLE_OFF         0x3800
#define MSIX_PBA_OFF           0x3c00
#define REGION_SIZE            0x1000

/* struct virtio_pci_cap (4.1.4) and its cfg_type values. */
#define VIRTIO_PCI_CAP_COMMON_CFG  1
#define VIRTIO_PCI_CAP_NOTIFY_CFG  2
#define VIRTIO_PCI_CAP_ISR_CFG     3
#define VIRTIO_PCI_CAP_DEVICE_CFG  4
#define VIRTIO_PCI_CAP_PCI_CFG     5

struct virtio_pci_cap {
	uint8_t cap_vndr, cap_next, cap_len, cfg_type;
	uint8_t bar, id, padding[2];
	uint32_t offset, length;
	union {                           /* the 4 bytes after the 16 common ones */
		uint32_t notify_off_multiplier;   /* notify capability (4.1.4.4) */
		uint8_t pci_cfg_data[4];          /* PCI_CFG capability (4.1.4.9) */
	};
};
_Static_assert(sizeof(struct virtio_pci_cap) == 20, "virtio 1.2, 4.1.4, 4.1.4.4, 4.1.4.9");
_Static_assert(offsetof(struct virtio_pci_cap, bar) == 4 &&
	       offsetof(struct virtio_pci_cap, offset) == 8 &&
	       offsetof(struct virtio_pci_cap, length) == 12 &&
	       offsetof(struct virtio_pci_cap, pci_cfg_data) == 16, "virtio 1.2, 4.1.4");

/* The driver-writable fields of the PCI_CFG capability (4.1.4.9). */
#define CFG_CAP_BAR    offsetof(struct virtio_pci_cap, bar)
#define CFG_CAP_OFFSET offsetof(struct virtio_pci_cap, offset)
#define CFG_CAP_LENGTH offsetof(struct virtio_pci_cap, length)
#define CFG_CAP_DATA   offsetof(struct virtio_pci_cap, pci_cfg_data)
#define VIRTIO_PCI_REGIONS 4              /* common, ISR, notify, device */

/* Common configuration offsets (4.1.4.3). */
#define CC_DEVICE_FEATURE_SELECT   0x00
#define CC_DEVICE_FEATURE          0x04
#define CC_DRIVER_FEATURE_SELECT   0x08
#define CC_DRIVER_FEATURE          0x0c
#define CC_CONFIG_MSIX_VECTOR      0x10
#define CC_NUM_QUEUES              0x12
#define CC_DEVICE_STATUS           0x14
#define CC_CONFIG_GENERATION       0x15
#define CC_QUEUE_SELECT            0x16
#define CC_QUEUE_SIZE              0x18
#define CC_QUEUE_MSIX_VECTOR       0x1a
#define CC_QUEUE_ENABLE            0x1c
#define CC_QUEUE_NOTIFY_OFF        0x1e
#define CC_QUEUE_DESC              0x20
#define CC_QUEUE_DRIVER            0x28
#define CC_QUEUE_DEVICE            0x30
#define CC_SIZE                    0x38

struct virtio_pci {
	struct pci_dev pci;
	struct virtio_dev *vdev;
	uint8_t cfg_cap;                  /* the PCI_CFG capability's offset */
	unsigned nr_regions;              /* what the other capabilities describe */
	struct { uint32_t off, len; } region[VIRTIO_PCI_REGIONS];
};

static void put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get(const uint8_t *p, unsigned n)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

/* The common configuration as the driver sees it now. */
static void common_image(struct virtio_dev *d, uint8_t img[CC_SIZE])
{
	struct virtio_queue *q = virtio_selected_queue(d);

	memset(img, 0, CC_SIZE);
	put(img + CC_DEVICE_FEATURE_SELECT, d->device_features_sel, 4);
	put(img + CC_DEVICE_FEATURE, virtio_read_device_features(d), 4);
	put(img + CC_DRIVER_FEATURE_SELECT, d->driver_features_sel, 4);
	put(img + CC_DRIVER_FEATURE, d->driver_features_sel < 2 ?
	    d->driver_features >> (32 * d->driver_features_sel) : 0, 4);
	put(img + CC_CONFIG_MSIX_VECTOR, d->config_msix_vector, 2);
	put(img + CC_NUM_QUEUES, d->ops->nr_queues, 2);
	img[CC_DEVICE_STATUS] = d->status;
	img[CC_CONFIG_GENERATION] = d->config_generation;
	put(img + CC_QUEUE_SELECT, d->queue_sel, 2);
	if (!q)
		return;   /* 4.1.4.3.1: queue_size 0 means no such queue */
	put(img + CC_QUEUE_SIZE, q->vq.size, 2);
	put(img + CC_QUEUE_MSIX_VECTOR, q->msix_vector, 2);
	put(img + CC_QUEUE_ENABLE, q->enabled, 2);
	put(img + CC_QUEUE_NOTIFY_OFF, d->queue_sel, 2);
	put(img + CC_QUEUE_DESC, q->vq.desc, 8);
	put(img + CC_QUEUE_DRIVER, q->vq.avail, 8);
	put(img + CC_QUEUE_DEVICE, q->vq.used, 8);
}

/* 4.1.5.1.2: a vector the function does not have reads back NO_VECTOR. */
static uint16_t msix_vector(const struct virtio_pci *vp, uint64_t val)
{
	return val < vp->pci.msix_vectors ? (uint16_t)val : VIRTIO_NO_VECTOR;
}

/* A 64-bit queue address, written whole or in 32-bit halves. */
static void set_addr(uint64_t *a, uint64_t off, unsigned size, uint64_t val)
{
	if (size == 8)
		*a = val;
	else if (size == 4)
		*a = off % 8 ? (*a & 0xffffffffull) | val << 32 : (*a & ~0xffffffffull) | val;
}

static void common_write(struct virtio_pci *vp, uint64_t off, unsigned size, uint64_t val)
{
	struct virtio_dev *d = vp->vdev;
	struct virtio_queue *q = virtio_selected_queue(d);
	/* 4.1.4.3.2: queue fields are written only before the queue is on. */
	bool q_ok = q && !q->enabled;

	switch (off) {
	case CC_DEVICE_FEATURE_SELECT: d->device_features_sel = (uint32_t)val; break;
	case CC_DRIVER_FEATURE_SELECT: d->driver_features_sel = (uint32_t)val; break;
	case CC_DRIVER_FEATURE: virtio_write_driver_features(d, (uint32_t)val); break;
	case CC_CONFIG_MSIX_VECTOR: d->config_msix_vector = msix_vector(vp, val); break;
	case CC_DEVICE_STATUS:
		virtio_write_status(d, (uint8_t)val);
		if (!d->status)
			pci_intx_set(&vp->pci, false);
		break;
	case CC_QUEUE_SELECT: d->queue_sel = (uint16_t)val; break;
	case CC_QUEUE_SIZE:
		if (q_ok)
			q->vq.size = (uint16_t)val;
		break;
	case CC_QUEUE_MSIX_VECTOR:
		if (q)
			q->msix_vector = msix_vector(vp, val);
		break;
	case CC_QUEUE_ENABLE:
		if (q_ok && val == 1)
			virtio_queue_enable(d, d->queue_sel);
		break;
	case CC_QUEUE_DESC: case CC_QUEUE_DESC + 4:
		if (q_ok)
			set_addr(&q->vq.desc, off, size, val);
		break;
	case CC_QUEUE_DRIVER: case CC_QUEUE_DRIVER + 4:
		if (q_ok)
			set_addr(&q->vq.avail, off, size, val);
		break;
	case CC_QUEUE_DEVICE: case CC_QUEUE_DEVICE + 4:
		if (q_ok)
			set_addr(&q->vq.used, off, size, val);
		break;
	default:
		break;   /* read-only fields */
	}
}

static enum io_result bar_read(struct pci_dev *pd, unsigned bar, uint64_t off, unsigned size,
			       uint64_t *val)
{
	struct virtio_pci *vp = pd->opaque;
	struct virtio_dev *d = vp->vdev;
	uint8_t img[CC_SIZE];

	(void)bar;
	*val = 0;
	if (off < COMMON_OFF + CC_SIZE) {
		common_image(d, img);
		for (unsigned i = 0; i < size && off + i < CC_SIZE; i++)
			*val |= (uint64_t)img[off + i] << (8 * i);
	} else if (off == ISR_OFF) {             /* 4.1.4.5.1: reading clears it */
		*val = d->isr;
		d->isr = 0;
		pci_intx_set(pd, false);
	} else if (off >= DEVICE_OFF && off < DEVICE_OFF + REGION_SIZE) {
		*val = virtio_config_read(d, off - DEVICE_OFF, size);
	}
	return IO_HANDLED;
}

static enum io_result bar_write(struct pci_dev *pd, unsigned bar, uint64_t off, unsigned size,
				uint64_t val)
{
	struct virtio_pci *vp = pd->opaque;

	(void)bar;
	if (off < COMMON_OFF + CC_SIZE)
		common_write(vp, off, size, val);
	else if (off >= DEVICE_OFF && off < DEVICE_OFF + REGION_SIZE)
		virtio_config_write(vp->vdev, off - DEVICE_OFF, size, val);
	else if (off >= NOTIFY_OFF && off < NOTIFY_OFF + REGION_SIZE / 2 &&
		 (off - NOTIFY_OFF) % NOTIFY_MULTIPLIER == 0)
		virtio_queue_kick(vp->vdev, (unsigned)(off - NOTIFY_OFF) / NOTIFY_MULTIPLIER);
	return IO_HANDLED;
}

/* 4.1.5.2-4.1.5.4: with MSI-X on, the vector mapped to the event (none:
 * no interrupt); without, the ISR bit the core set and INTx. */
static void interrupt(struct virtio_dev *d, unsigned q)
{
	struct virtio_pci *vp = d->transport_priv;
	uint16_t vec = q == VIRTIO_CONFIG_IRQ ? d->config_msix_vector : d->q[q].msix_vector;

	if (pci_msix_enabled(&vp->pci)) {
		if (vec != VIRTIO_NO_VECTOR)
			pci_msix_notify(&vp->pci, vec);
		return;
	}
	pci_intx_set(&vp->pci, true);
}

/* ------------------------------------- PCI configuration access (4.1.4.9) */

/*
 * Where pci_cfg_data reaches now: *len bytes of BAR 0 at *off, or false.
 * 4.1.4.9.1 tells the device what to do for the accesses 4.1.4.9.2 lets
 * the driver make: cap.length 1, 2 or 4, cap.offset a multiple of it, and
 * the bytes they name inside a region another virtio capability describes
 * (so never the MSI-X table, nor a hole of the BAR). For any other
 * cap.bar (BAR 0 is the only one), length or offset it says nothing:
 * Kestrel then reads zeroes into pci_cfg_data and drops the write, so the
 * device is left as it was. Memory decoding need not be on (firmware uses
 * the window before it places the BAR).
 */
static bool cfg_window(const struct virtio_pci *vp, uint32_t *off, unsigned *len)
{
	const uint8_t *c = vp->pci.cfg + vp->cfg_cap;
	uint32_t l = get(c + CFG_CAP_LENGTH, 4);

	*off = get(c + CFG_CAP_OFFSET, 4);
	*len = (unsigned)l;
	if (c[CFG_CAP_BAR] != 0 || (l != 1 && l != 2 && l != 4) || *off % l)
		return false;
	for (unsigned i = 0; i < vp->nr_regions; i++)
		if (*off >= vp->region[i].off &&
		    (uint64_t)*off + l <= (uint64_t)vp->region[i].off + vp->region[i].len)
			return true;
	return false;
}

static bool touches_cfg_data(const struct virtio_pci *vp, unsigned off, unsigned size)
{
	unsigned data = vp->cfg_cap + CFG_CAP_DATA;

	return off < data + 4 && data < off + size;
}

/* A driver read of pci_cfg_data: first the BAR read it stands for, as the
 * BAR would serve it (an ISR read clears the ISR). */
static void cfg_reading(struct pci_dev *pd, unsigned off, unsigned size)
{
	struct virtio_pci *vp = pd->opaque;
	uint8_t *data = pd->cfg + vp->cfg_cap + CFG_CAP_DATA;
	uint64_t val;
	uint32_t at;
	unsigned len;

	if (!touches_cfg_data(vp, off, size))
		return;
	if (!cfg_window(vp, &at, &len)) {
		memset(data, 0, 4);
		return;
	}
	bar_read(pd, 0, at, len, &val);
	put(data, val, len);                  /* the first cap.length bytes */
}

/* A driver write into pci_cfg_data (already stored there): the BAR write
 * of its first cap.length bytes. */
static void cfg_written(struct pci_dev *pd, unsigned off, unsigned size)
{
	struct virtio_pci *vp = pd->opaque;
	uint32_t at;
	unsigned len;

	if (touches_cfg_data(vp, off, size) && cfg_window(vp, &at, &len))
		bar_write(pd, 0, at, len, get(pd->cfg + vp->cfg_cap + CFG_CAP_DATA, len));
}

/* The capability starts with cap.bar, cap.offset and cap.length 0: a
 * window to nothing until the driver aims it. */
static int add_cfg_window(struct virtio_pci *vp)
{
	struct virtio_pci_cap c = { .cap_len = sizeof(c), .cfg_type = VIRTIO_PCI_CAP_PCI_CFG };
	uint8_t at = pci_add_cap(&vp->pci, PCI_CAP_ID_VNDR, &c, c.cap_len);

	if (!at)
		return -1;
	vp->cfg_cap = at;
	vp->pci.wmask[at + CFG_CAP_BAR] = 0xff;
	memset(vp->pci.wmask + at + CFG_CAP_OFFSET, 0xff, 4);
	memset(vp->pci.wmask + at + CFG_CAP_LENGTH, 0xff, 4);
	memset(vp->pci.wmask + at + CFG_CAP_DATA, 0xff, 4);
	return 0;
}

static const struct pci_dev_ops virtio_pci_ops = {
	.bar_read = bar_read, .bar_write = bar_write,
	.cfg_reading = cfg_reading, .cfg_written = cfg_written,
};
static const struct virtio_transport virtio_pci_transport = { .interrupt = interrupt };

static int add_region(struct virtio_pci *vp, uint8_t type, uint32_t off, uint32_t len)
{
	struct pci_dev *pd = &vp->pci;
	struct virtio_pci_cap c = {
		.cap_len = 16, .cfg_type = type, .bar = 0, .offset = off, .length = len,
	};

	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
		c.cap_len = sizeof(c);
		c.notify_off_multiplier = NOTIFY_MULTIPLIER;
	}
	if (vp->nr_regions == VIRTIO_PCI_REGIONS || !pci_add_cap(pd, PCI_CAP_ID_VNDR, &c, c.cap_len))
		return -1;
	vp->region[vp->nr_regions].off = off;
	vp->region[vp->nr_regions++].len = len;
	return 0;
}

int virtio_pci_create(struct vm *vm, struct virtio_dev *d, uint32_t class_code)
{
	struct virtio_pci *vp = page_alloc_ptr((sizeof(*vp) + PAGE_SIZE - 1) / PAGE_SIZE);
	struct pci_dev *pd;

	if (!vp)
		return -1;
	memset(vp, 0, sizeof(*vp));
	pd = &vp->pci;
	vp->vdev = d;
	d->transport = &virtio_pci_transport;
	d->transport_priv = vp;
	pci_dev_init(pd, VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BASE + d->ops->device_id,
		     VIRTIO_PCI_REVISION, class_code, VIRTIO_PCI_VENDOR,
		     VIRTIO_PCI_DEVICE_BASE + d->ops->device_id);
	pd->ops = &virtio_pci_ops;
	pd->opaque = vp;
	pd->name = d->ops->name;
	pd->cfg[PCI_INTERRUPT_PIN] = 1;          /* INTA# */
	pd->bar_size[0] = BAR_SIZE;               /* placed by pci_plug */
	pci_dev_set_bar(pd, 0, false, BAR_SIZE, 0);
	/* The window last: the other capabilities keep the offsets they had. */
	if (add_region(vp, VIRTIO_PCI_CAP_COMMON_CFG, COMMON_OFF, CC_SIZE) ||
	    add_region(vp, VIRTIO_PCI_CAP_ISR_CFG, ISR_OFF, 4) ||
	    add_region(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY_OFF,
		       NOTIFY_MULTIPLIER * d->ops->nr_queues) ||
	    (d->config_size && add_region(vp, VIRTIO_PCI_CAP_DEVICE_CFG, DEVICE_OFF,
					  d->config_size)) ||
	    pci_add_msix(pd, d->ops->nr_queues + 1u, 0, MSIX_TABLE_OFF, MSIX_PBA_OFF) ||
	    add_cfg_window(vp))
		return -1;
	return pci_plug(vm, pd);
}
