/*
 * virtio-blk (virtio 1.2, 5.2) over a raw disk image the loader read from
 * the ESP (`disk =` in hv.cfg) into hypervisor memory the guest cannot
 * map: requests are served by copying between that image and the guest's
 * buffers during the notification exit. Writes stay in the image, so
 * they survive a guest reboot, but not a hypervisor power-off.
 */
#include <core/page_alloc.h>
#include <core/vm.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <virtio/virtio.h>
#include <virtio/virtio_devices.h>
#include <virtio/virtio_pci.h>

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX   2
#define VIRTIO_BLK_F_RO        5
#define VIRTIO_BLK_F_FLUSH     9

/* Configuration layout (5.2.4). */
#define BLK_CFG_CAPACITY       0      /* le64, 512-byte sectors */
#define BLK_CFG_SEG_MAX        12     /* le32 */
#define BLK_CFG_SIZE           24     /* up to blk_size */

/* Requests (5.2.6). */
#define VIRTIO_BLK_T_IN        0
#define VIRTIO_BLK_T_OUT       1
#define VIRTIO_BLK_T_FLUSH     4
#define VIRTIO_BLK_T_GET_ID    8
#define VIRTIO_BLK_S_OK        0
#define VIRTIO_BLK_S_IOERR     1
#define VIRTIO_BLK_S_UNSUPP    2
#define VIRTIO_BLK_ID_BYTES    20

#define SECTOR                 512
#define BLK_QUEUE_SIZE         256
#define PCI_CLASS_STORAGE_SCSI 0x010000   /* what QEMU's virtio-blk-pci reports */

struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};
_Static_assert(sizeof(struct virtio_blk_req_hdr) == 16, "virtio 1.2, 5.2.6");

struct virtio_blk {
	struct virtio_dev vdev;
	uint8_t *image;
	uint64_t size;
	bool readonly;
	uint64_t reads, writes, flushes, errors;
	char id[VIRTIO_BLK_ID_BYTES];
};

/* The data part of a request: in [pos, pos + len) of the image? */
static bool in_image(const struct virtio_blk *b, uint64_t sector, uint64_t len)
{
	return len % SECTOR == 0 && sector <= b->size / SECTOR &&
	       len <= b->size - sector * SECTOR;
}

/* Serves one chain; returns its status byte and the data bytes written
 * into the driver's buffers. */
static uint8_t blk_request(struct virtio_blk *b, const struct virtq_elem *e, uint32_t *written)
{
	const struct guest_ram *ram = &b->vdev.ram;
	struct virtio_blk_req_hdr h;
	uint64_t len;

	*written = 0;
	if (virtq_read(ram, e, 0, &h, sizeof(h)) != sizeof(h))
		return VIRTIO_BLK_S_IOERR;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
		len = e->in_len - 1;
		if (!in_image(b, h.sector, len))
			return VIRTIO_BLK_S_IOERR;
		*written = (uint32_t)virtq_write(ram, e, 0, b->image + h.sector * SECTOR, len);
		b->reads++;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_OUT:
		len = e->out_len - sizeof(h);
		if (b->readonly || !in_image(b, h.sector, len))
			return VIRTIO_BLK_S_IOERR;
		virtq_read(ram, e, sizeof(h), b->image + h.sector * SECTOR, len);
		b->writes++;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		b->flushes++;             /* the image is memory: nothing to write back */
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		*written = (uint32_t)virtq_write(ram, e, 0, b->id,
						 e->in_len - 1 < sizeof(b->id) ? e->in_len - 1
									       : sizeof(b->id));
		return VIRTIO_BLK_S_OK;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void blk_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_blk *b = d->opaque;
	struct virtq_elem e;

	while (virtio_pop(d, q, &e)) {
		uint32_t written;
		uint8_t status;

		/* 5.2.6: a header to read, a status byte to write, at least. */
		if (e.out_len < sizeof(struct virtio_blk_req_hdr) || e.in_len < 1) {
			virtio_fail(d, "request without a header or a status byte");
			return;
		}
		status = blk_request(b, &e, &written);
		if (status != VIRTIO_BLK_S_OK)
			b->errors++;
		virtq_write(&d->ram, &e, e.in_len - 1, &status, 1);
		virtio_push(d, q, &e, written + 1);
	}
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk", .device_id = VIRTIO_ID_BLOCK, .nr_queues = 1,
	.queue_max = BLK_QUEUE_SIZE, .queue_notify = blk_notify,
};

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int virtio_blk_create(struct vm *vm)
{
	const struct hv_blob *disk = &vm->boot->disk;
	struct virtio_blk *b;
	uint64_t features = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_FLUSH;

	if (!disk->addr || !disk->size || disk->size % SECTOR)
		return -1;   /* the loader refuses such images by name */
	b = page_alloc_ptr((sizeof(*b) + PAGE_SIZE - 1) / PAGE_SIZE);
	if (!b)
		return -1;
	memset(b, 0, sizeof(*b));
	b->image = (uint8_t *)(uintptr_t)disk->addr;
	b->size = disk->size;
	b->readonly = vm->boot->devices & HV_DEV_DISK_READONLY;
	if (b->readonly)
		features |= 1ull << VIRTIO_BLK_F_RO;
	snprintf(b->id, sizeof(b->id), "kestrel-%s", vm->name);   /* NUL-padded, 5.2.6 */
	virtio_dev_init(&b->vdev, &blk_ops, b, vm, features);
	put_le(b->vdev.config + BLK_CFG_CAPACITY, b->size / SECTOR, 8);
	put_le(b->vdev.config + BLK_CFG_SEG_MAX, VIRTQ_MAX_SEGS - 2, 4);
	b->vdev.config_size = BLK_CFG_SIZE;
	return virtio_attach(vm, &b->vdev, PCI_CLASS_STORAGE_SCSI);
}
