/*
 * A virtio 1.x device, independent of its transport (virtio 1.2, 2 and 3):
 * feature negotiation, device status and reset, the queues the driver
 * set up, interrupts. A device type (virtio-blk, -rng, ...) supplies a
 * struct virtio_dev_ops; a transport (virtio-pci, virtio-mmio) maps its
 * registers onto the fields here and supplies the interrupt path.
 *
 * A device that meets a broken queue sets DEVICE_NEEDS_RESET (2.1.2),
 * logs why, and serves no queue until the driver resets it: nothing a
 * driver writes can make it touch memory outside its VM's RAM.
 */
#ifndef VIRTIO_VIRTIO_H
#define VIRTIO_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>
#include <virtio/virtq.h>

struct vm;

/* Device status (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE  1u
#define VIRTIO_STATUS_DRIVER       2u
#define VIRTIO_STATUS_DRIVER_OK    4u
#define VIRTIO_STATUS_FEATURES_OK  8u
#define VIRTIO_STATUS_NEEDS_RESET  0x40u
#define VIRTIO_STATUS_FAILED       0x80u

/* Reserved feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC     28
#define VIRTIO_F_EVENT_IDX         29
#define VIRTIO_F_VERSION_1         32

/* Device IDs (5). */
#define VIRTIO_ID_NET              1
#define VIRTIO_ID_BLOCK            2
#define VIRTIO_ID_CONSOLE          3
#define VIRTIO_ID_RNG              4

#define VIRTIO_MAX_QUEUES          4
#define VIRTIO_NO_VECTOR           0xffffu   /* 4.1.5.1.2 */

/* ISR status (4.1.4.5, 4.2.2 InterruptStatus). */
#define VIRTIO_ISR_QUEUE           1u
#define VIRTIO_ISR_CONFIG          2u

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;          /* "virtio-blk", ... */
	uint16_t device_id;        /* VIRTIO_ID_* */
	uint16_t nr_queues;
	uint16_t queue_max;        /* largest queue size offered (power of 2) */
	/* The driver notified queue q; called only while DRIVER_OK and not
	 * broken. */
	void (*queue_notify)(struct virtio_dev *d, unsigned q);
	/* Device-specific state back to power-on (the driver wrote status 0). */
	void (*reset)(struct virtio_dev *d);
	/* A driver write into the device configuration (optional; the bytes
	 * are already in d->config). */
	void (*config_written)(struct virtio_dev *d, unsigned off, unsigned size);
};

struct virtio_transport {
	/* Signals queue q's used-buffer notification (q < nr_queues), or a
	 * configuration change (q == VIRTIO_CONFIG_IRQ). */
	void (*interrupt)(struct virtio_dev *d, unsigned q);
};
#define VIRTIO_CONFIG_IRQ          0xffffu

struct virtio_queue {
	struct virtq vq;
	uint16_t size_max;
	bool enabled;
	uint16_t msix_vector;
	uint64_t chains, notifies, interrupts;   /* for the console's `devices` */
};

#define VIRTIO_CONFIG_MAX          64

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	const struct virtio_transport *transport;
	void *opaque;              /* the device type's state */
	void *transport_priv;
	struct vm *vm;
	struct guest_ram ram;

	uint64_t device_features;  /* what we offer, VERSION_1 included */
	uint64_t driver_features;  /* what the driver accepted */
	uint32_t device_features_sel, driver_features_sel;
	uint8_t status;
	uint8_t config_generation;
	uint16_t queue_sel;
	uint16_t config_msix_vector;
	uint8_t isr;               /* VIRTIO_ISR_*, cleared by reading it */
	struct virtio_queue q[VIRTIO_MAX_QUEUES];

	uint8_t config[VIRTIO_CONFIG_MAX];   /* device configuration layout */
	uint32_t config_size;
	uint32_t config_writable;  /* bytes from this offset on take writes */

	char broken[96];           /* why NEEDS_RESET was set; "" when not */
	unsigned resets;
};

/* `features`: the device type's bits (VERSION_1, INDIRECT_DESC and
 * EVENT_IDX are added). */
void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, void *opaque,
		     struct vm *vm, uint64_t features);
bool virtio_has(const struct virtio_dev *d, unsigned feature);

/* ---- for transports */
void virtio_reset(struct virtio_dev *d);
void virtio_write_status(struct virtio_dev *d, uint8_t status);
uint32_t virtio_read_device_features(const struct virtio_dev *d);   /* the _sel word */
void virtio_write_driver_features(struct virtio_dev *d, uint32_t val);
/* The driver enabled queue_sel: checks its layout first. */
void virtio_queue_enable(struct virtio_dev *d, unsigned q);
void virtio_queue_kick(struct virtio_dev *d, unsigned q);
/* The queue queue_sel names, or NULL past the last (its registers read 0). */
struct virtio_queue *virtio_selected_queue(struct virtio_dev *d);
/* Device configuration, little-endian (2.5): reads past the end give 0. */
uint64_t virtio_config_read(const struct virtio_dev *d, uint64_t off, unsigned size);
void virtio_config_write(struct virtio_dev *d, uint64_t off, unsigned size, uint64_t val);

/* ---- for device types */
bool virtio_running(const struct virtio_dev *d);
/* The next chain of queue q: false when empty, or when the queue broke
 * (the device is then marked NEEDS_RESET). */
bool virtio_pop(struct virtio_dev *d, unsigned q, struct virtq_elem *e);
/* Returns a chain; interrupts the driver if it wants one. */
void virtio_push(struct virtio_dev *d, unsigned q, const struct virtq_elem *e, uint32_t written);
/* Sets DEVICE_NEEDS_RESET with the reason and tells the driver. */
void virtio_fail(struct virtio_dev *d, const char *why);

#endif
