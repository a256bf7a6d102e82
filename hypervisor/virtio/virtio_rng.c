/*
 * virtio-rng (virtio 1.2, 5.4): one queue of device-writable buffers the
 * device fills with random bytes from the CPU's RDRAND (Intel SDM vol. 1,
 * 7.3.17; AMD APM vol. 3), which is conditioned and reseeded in hardware.
 */
#include <core/page_alloc.h>
#include <core/vm.h>
#include <lib/printk.h>
#include <virtio/virtio.h>
#include <virtio/virtio_devices.h>
#include <virtio/virtio_pci.h>
#include <x86/cpuid_bits.h>
#include <x86/processor.h>

#define RNG_QUEUE_SIZE   64
#define RNG_CHAIN_MAX    4096          /* bytes served per request */
#define PCI_CLASS_OTHER  0x00ff00
#define RDRAND_RETRIES   10            /* Intel's DRNG guide: retry up to 10 times */

struct virtio_rng {
	struct virtio_dev vdev;
	uint64_t bytes;
};

static bool rdrand64(uint64_t *v)
{
	for (int i = 0; i < RDRAND_RETRIES; i++) {
		bool ok;

		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) :: "cc");
		if (ok)
			return true;
	}
	return false;
}

static void rng_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_rng *r = d->opaque;
	struct virtq_elem e;

	while (virtio_pop(d, q, &e)) {
		uint64_t want = e.in_len < RNG_CHAIN_MAX ? e.in_len : RNG_CHAIN_MAX, done = 0, v;

		while (done < want && rdrand64(&v))
			done += virtq_write(&d->ram, &e, done, &v,
					    want - done < sizeof(v) ? want - done : sizeof(v));
		r->bytes += done;
		virtio_push(d, q, &e, (uint32_t)done);   /* 0 bytes: the RNG failed */
	}
}

static const struct virtio_dev_ops rng_ops = {
	.name = "virtio-rng", .device_id = VIRTIO_ID_RNG, .nr_queues = 1,
	.queue_max = RNG_QUEUE_SIZE, .queue_notify = rng_notify,
};

int virtio_rng_create(struct vm *vm)
{
	struct virtio_rng *r;

	if (!(cpuid(1, 0).ecx & CPUID_1_ECX_RDRAND)) {
		printk("kestrel: vm %u (%s): rng = on, but this CPU has no RDRAND\n", vm->id,
		       vm->name);
		return -1;
	}
	r = page_alloc_ptr((sizeof(*r) + PAGE_SIZE - 1) / PAGE_SIZE);
	if (!r)
		return -1;
	virtio_dev_init(&r->vdev, &rng_ops, r, vm, 0);
	return virtio_attach(vm, &r->vdev, PCI_CLASS_OTHER);
}
