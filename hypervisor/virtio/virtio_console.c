/*
 * virtio-console (virtio 1.2, 5.3), one port and no features: the guest's
 * /dev/hvc0. Output goes to the console behind the VM's prefix like the
 * UART's; input follows the console focus and goes here instead of the
 * UART once the driver runs (core/console_io.c).
 */
#include <core/guest_line.h>
#include <core/page_alloc.h>
#include <core/vm.h>
#include <lib/string.h>
#include <virtio/virtio.h>
#include <virtio/virtio_console.h>
#include <virtio/virtio_devices.h>
#include <virtio/virtio_pci.h>

#define RX_QUEUE               0      /* receiveq of port 0 (5.3.2) */
#define TX_QUEUE               1
#define CONSOLE_QUEUE_SIZE     64
#define TX_CHUNK               128
#define PCI_CLASS_COMM_OTHER   0x078000

struct virtio_console {
	struct virtio_dev vdev;
	struct guest_line out;
	struct virtq_elem rx;          /* a receive buffer taken, not yet filled */
	bool rx_held;
	uint64_t in_bytes, out_bytes;
};

static struct virtio_console *console_of(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_virtio; i++)
		if (vm->virtio[i]->ops->device_id == VIRTIO_ID_CONSOLE)
			return vm->virtio[i]->opaque;
	return NULL;
}

static void console_tx(struct virtio_console *c)
{
	struct virtio_dev *d = &c->vdev;
	struct virtq_elem e;
	uint8_t buf[TX_CHUNK];

	while (virtio_pop(d, TX_QUEUE, &e)) {
		uint64_t off = 0;
		size_t n;

		while ((n = virtq_read(&d->ram, &e, off, buf, sizeof(buf))) > 0) {
			for (size_t i = 0; i < n; i++)
				guest_line_putc(&c->out, buf[i]);
			off += n;
		}
		c->out_bytes += off;
		virtio_push(d, TX_QUEUE, &e, 0);
	}
}

static void console_notify(struct virtio_dev *d, unsigned q)
{
	if (q == TX_QUEUE)
		console_tx(d->opaque);
	/* RX: new buffers; console_io asks for them when input arrives. */
}

static void console_reset(struct virtio_dev *d)
{
	struct virtio_console *c = d->opaque;

	guest_line_flush(&c->out);
	c->rx_held = false;
}

static const struct virtio_dev_ops console_ops = {
	.name = "virtio-console", .device_id = VIRTIO_ID_CONSOLE, .nr_queues = 2,
	.queue_max = CONSOLE_QUEUE_SIZE, .queue_notify = console_notify, .reset = console_reset,
};

bool virtio_console_active(const struct vm *vm)
{
	const struct virtio_console *c = console_of(vm);

	return c && virtio_running(&c->vdev) && c->vdev.q[RX_QUEUE].enabled;
}

bool virtio_console_can_accept(struct vm *vm)
{
	struct virtio_console *c = console_of(vm);

	if (!c || !virtio_console_active(vm))
		return false;
	if (!c->rx_held)
		c->rx_held = virtio_pop(&c->vdev, RX_QUEUE, &c->rx) && c->rx.in_len > 0;
	return c->rx_held;
}

/* One byte per receive buffer: typing is slow, and the byte reaches the
 * guest at once. */
void virtio_console_input(struct vm *vm, uint8_t ch)
{
	struct virtio_console *c = console_of(vm);

	if (!virtio_console_can_accept(vm))
		return;
	virtq_write(&c->vdev.ram, &c->rx, 0, &ch, 1);
	c->rx_held = false;
	c->in_bytes++;
	virtio_push(&c->vdev, RX_QUEUE, &c->rx, 1);
}

void virtio_console_show_partial(struct vm *vm)
{
	struct virtio_console *c = console_of(vm);

	if (c)
		guest_line_show_partial(&c->out);
}

int virtio_console_create(struct vm *vm)
{
	struct virtio_console *c = page_alloc_ptr((sizeof(*c) + PAGE_SIZE - 1) / PAGE_SIZE);

	if (!c)
		return -1;
	memset(c, 0, sizeof(*c));
	c->out.vm = vm;
	virtio_dev_init(&c->vdev, &console_ops, c, vm, 0);
	return virtio_attach(vm, &c->vdev, PCI_CLASS_COMM_OTHER);
}
