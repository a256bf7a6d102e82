/* virtio-net between two VMs through the switch, on the host: mergeable
 * receive buffers (a frame over 16 chains, num_buffers), the checksum the
 * device fills in (VIRTIO_NET_F_CSUM) and the DATA_VALID flag it reports,
 * a frame waiting for enough buffers, an over-long frame refused, a stopped
 * VM and a reset device receiving nothing; a TSO frame (HOST_TSO4) handed
 * whole to a receiver with GUEST_TSO4 and in segments to one without, and
 * refused from a driver that did not negotiate it. The transport is a stub. */
// UNIT-SOURCES: hypervisor/virtio/virtio_net.c hypervisor/virtio/virtio.c hypervisor/virtio/virtq.c hypervisor/net/vswitch.c hypervisor/net/offload.c
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <core/page_alloc.h>
#include <core/vm.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <virtio/virtio.h>
#include <virtio/virtio_pci.h>
#include <virtio/virtio_devices.h>
#include <virtio/virtio_net.h>
#include "hv_stubs.h"
#include "unit.h"

/* What virtio_net.c and virtio.c use from the rest of the hypervisor,
 * besides hv_stubs.h. */
bool vm_is_live(const struct vm *vm)
{
	return vm->state == VM_RUNNING || vm->state == VM_PAUSED;
}

void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa > vm->mem_size || vm->mem_size - gpa < len)
		return NULL;
	return (void *)(uintptr_t)(vm->ram_hpa + gpa);
}

static unsigned irqs;

static void interrupt(struct virtio_dev *d, unsigned q)
{
	(void)d;
	(void)q;
	irqs++;
}

static const struct virtio_transport transport = { .interrupt = interrupt };

int virtio_attach(struct vm *vm, struct virtio_dev *d, uint32_t pci_class)
{
	(void)pci_class;
	d->transport = &transport;
	vm->virtio[vm->nr_virtio++] = d;
	return 0;
}

#define RAM     (4u << 20)
#define QS      256
#define DESC    0x1000
#define AVAIL   0x2000
#define USED    0x3000
#define RX      0
#define TX      1
#define RX_BUFS 0x100000      /* receive buffer i at RX_BUFS + 0x100 * i: 60 + 40 bytes */
#define TX_HDR  0x200000
#define HDR     12            /* struct virtio_net_hdr with VERSION_1 */
#define FRAME   1514

/* Feature bits (virtio 1.2, 5.1.3): CSUM, GUEST_CSUM, MAC, MRG_RXBUF, STATUS. */
#define FEATURES (1ull << VIRTIO_F_VERSION_1 | 1u << 0 | 1u << 1 | 1u << 5 | 1u << 15 | \
		  1u << 16)

static struct vm vms_[2];
static struct hv_boot_vm boot[2];
static uint16_t avail_idx[2][2];

static uint8_t *mem(int v) { return (uint8_t *)(uintptr_t)vms_[v].ram_hpa; }
static uint64_t qbase(int q) { return q * 0x10000ull; }
static struct virtio_dev *dev(int v) { return vms_[v].virtio[0]; }

/* The driver's side of 3.1.1, both queues at fixed places. */
static void driver_up_with(int v, uint64_t features)
{
	struct virtio_dev *d = dev(v);

	virtio_write_status(d, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_write_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	for (unsigned sel = 0; sel < 2; sel++) {
		d->driver_features_sel = sel;
		virtio_write_driver_features(d, (uint32_t)(features >> (32 * sel)));
	}
	virtio_write_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			       VIRTIO_STATUS_FEATURES_OK);
	CHECK(d->status & VIRTIO_STATUS_FEATURES_OK);
	for (int q = 0; q < 2; q++) {
		d->q[q].vq.size = QS;
		d->q[q].vq.desc = qbase(q) + DESC;
		d->q[q].vq.avail = qbase(q) + AVAIL;
		d->q[q].vq.used = qbase(q) + USED;
		virtio_queue_enable(d, q);
		CHECK(d->q[q].enabled);
	}
	virtio_write_status(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static void driver_up(int v)
{
	driver_up_with(v, FEATURES);
}

/* Device reset, rings cleared, the driver up again with other features. */
static void renegotiate(int v, uint64_t features)
{
	virtio_write_status(dev(v), 0);
	for (int q = 0; q < 2; q++) {
		memset(mem(v) + qbase(q), 0, 0x10000);
		avail_idx[v][q] = 0;
	}
	driver_up_with(v, features);
}

static void desc(int v, int q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };

	memcpy(mem(v) + qbase(q) + DESC + 16 * i, &d, sizeof(d));
}

static void offer(int v, int q, uint16_t head)
{
	memcpy(mem(v) + qbase(q) + AVAIL + 4 + 2 * (avail_idx[v][q] % QS), &head, 2);
	avail_idx[v][q]++;
	memcpy(mem(v) + qbase(q) + AVAIL + 2, &avail_idx[v][q], 2);
}

static uint16_t used_idx(int v, int q)
{
	uint16_t x;

	memcpy(&x, mem(v) + qbase(q) + USED + 2, 2);
	return x;
}

static void used(int v, int q, unsigned i, uint32_t *id, uint32_t *len)
{
	memcpy(id, mem(v) + qbase(q) + USED + 4 + 8 * i, 4);
	memcpy(len, mem(v) + qbase(q) + USED + 8 + 8 * i, 4);
}

/* Receive buffer i of vm 1: two device-writable parts, 60 + 40 bytes. */
static void rx_buffer(unsigned i)
{
	desc(1, RX, 2 * i, RX_BUFS + i * 0x100, 60, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
	     (uint16_t)(2 * i + 1));
	desc(1, RX, 2 * i + 1, RX_BUFS + i * 0x100 + 60, 40, VIRTQ_DESC_F_WRITE, 0);
	offer(1, RX, (uint16_t)(2 * i));
}

static void send(void)
{
	offer(0, TX, 0);
	virtio_queue_kick(dev(0), TX);
}

/* Feature bits GUEST_TSO4 (7) and HOST_TSO4 (11); gso_type TCPV4 (5.1.6). */
#define GUEST_TSO4 (1ull << 7)
#define HOST_TSO4  (1ull << 11)
#define TSO_HDR    54          /* Ethernet, IPv4 (ihl 5), TCP (doff 5) */
#define TSO_MSS    1448
#define TSO_DATA   3000        /* payload: segments of 1448, 1448, 104 */

/* vm 0 sends one TSO frame to vm 1 (NEEDS_CSUM at the TCP checksum). */
static void send_tso(uint8_t gso_type)
{
	/* Flags with DATA_VALID too and an hdr_len of 200: neither is passed on. */
	uint8_t h[HDR] = { 3, gso_type, 200, 0, TSO_MSS & 0xff, TSO_MSS >> 8, 34, 0, 16 };
	uint8_t *f = mem(0) + TX_HDR + 0x1000;

	memset(f, 0, TSO_HDR);
	memcpy(f, "\x52\x54\x00\x4b\x00\x01\x52\x54\x00\x4b\x00\x00\x08\x00\x45", 15);
	f[14 + 9] = 6;                                           /* TCP */
	f[34 + 12] = 5 << 4;
	for (int i = 0; i < TSO_DATA; i++)
		f[TSO_HDR + i] = (uint8_t)(i * 5 + 1);
	memcpy(mem(0) + TX_HDR, h, HDR);
	desc(0, TX, 0, TX_HDR, HDR, VIRTQ_DESC_F_NEXT, 1);
	desc(0, TX, 1, TX_HDR + 0x1000, TSO_HDR + TSO_DATA, 0, 0);
	send();
}

/* The frames vm 1 received since used entry `from`, put back together:
 * returns how many, their headers' gso_type and flags OR-ed in *gso and
 * *flags, the payloads after TSO_HDR joined in out. */
static unsigned received(uint16_t from, uint8_t *gso, uint8_t *flags, uint8_t *out,
			 size_t *out_len)
{
	uint8_t frame_buf[HDR + TSO_HDR + TSO_DATA];
	unsigned frames = 0;
	uint16_t to = used_idx(1, RX);

	*gso = *flags = 0;
	*out_len = 0;
	while (from != to) {
		uint32_t id, len;
		size_t got = 0;
		unsigned nbuf;

		used(1, RX, from, &id, &len);
		nbuf = mem(1)[RX_BUFS + id / 2 * 0x100 + 10];
		for (unsigned b = 0; b < nbuf && from != to; b++, from++) {
			used(1, RX, from, &id, &len);
			if (got + len <= sizeof(frame_buf))
				memcpy(frame_buf + got, mem(1) + RX_BUFS + id / 2 * 0x100, len);
			got += len;
		}
		*gso |= frame_buf[1];
		*flags |= frame_buf[0];
		if (got > HDR + TSO_HDR && got <= sizeof(frame_buf)) {
			memcpy(out + *out_len, frame_buf + HDR + TSO_HDR, got - HDR - TSO_HDR);
			*out_len += got - HDR - TSO_HDR;
		}
		frames++;
	}
	return frames;
}

static void test_tso(void)
{
	uint8_t gso, flags, out[TSO_DATA];
	size_t out_len;
	uint16_t from;
	bool same = true;

	renegotiate(0, FEATURES | HOST_TSO4);
	renegotiate(1, FEATURES | GUEST_TSO4);
	for (unsigned i = 0; i < 100; i++)
		rx_buffer(i);
	/* To a receiver with GUEST_TSO4: one frame, the sender's header. */
	send_tso(1);
	CHECK_EQ(received(0, &gso, &flags, out, &out_len), 1);
	CHECK_EQ(gso, 1);
	CHECK_EQ(flags, 1);                              /* NEEDS_CSUM alone */
	CHECK_EQ(mem(1)[RX_BUFS + 2], TSO_HDR);          /* hdr_len: the parsed one */
	CHECK_EQ(mem(1)[RX_BUFS + 4] | mem(1)[RX_BUFS + 5] << 8, TSO_MSS);
	CHECK_EQ(out_len, TSO_DATA);
	/* Without it: three segments, checksums done (DATA_VALID), same payload. */
	renegotiate(1, FEATURES);
	for (unsigned i = 0; i < 100; i++)
		rx_buffer(i);
	send_tso(1);
	CHECK_EQ(received(0, &gso, &flags, out, &out_len), 3);
	CHECK_EQ(gso, 0);
	CHECK_EQ(flags, 2);
	CHECK_EQ(out_len, TSO_DATA);
	for (int i = 0; i < TSO_DATA && out_len == TSO_DATA; i++)
		if (out[i] != (uint8_t)(i * 5 + 1))
			same = false;
	CHECK_MSG(same, "segments' payload differs from the TSO frame's");
	/* ECN (0x80) is not offered, nor TCPV6 to this driver; and a driver
	 * without HOST_TSO4 may not send TCPV4: refused, nothing arrives. */
	from = used_idx(1, RX);
	send_tso(0x81);
	send_tso(4);
	renegotiate(0, FEATURES);
	send_tso(1);
	CHECK_EQ(used_idx(1, RX), from);
	CHECK_EQ(used_idx(0, TX), 1);
	CHECK(!(dev(0)->status & VIRTIO_STATUS_NEEDS_RESET));
}

int main(void)
{
	uint8_t frame[FRAME], out[2 * FRAME];
	/* NEEDS_CSUM: the checksum over [34, end) goes at 34 + 6 (a UDP header's). */
	static const uint8_t hdr[HDR] = { 1, 0, 0, 0, 0, 0, 34, 0, 6, 0, 0, 0 };
	uint32_t sum = 0, id, len;
	size_t got = 0;
	unsigned n;
	bool same = true;

	for (int v = 0; v < 2; v++) {
		vms_[v].id = (unsigned)v;
		snprintf(vms_[v].name, sizeof(vms_[v].name), "vm%d", v);
		vms_[v].mem_size = RAM;
		vms_[v].ram_hpa = (uint64_t)(uintptr_t)calloc(1, RAM);
		vms_[v].boot = &boot[v];
		boot[v].devices = HV_DEV_VIRTIO_NET;
		vms_[v].state = VM_RUNNING;
		CHECK_EQ(virtio_net_create(&vms_[v]), 0);
	}
	driver_up(0);
	driver_up(1);

	/* vm 1 posts 30 buffers of 100 bytes; vm 0 sends a broadcast of 1514 bytes in
	 * three parts (header, 1000, 514) and leaves the checksum to the device. */
	for (unsigned i = 0; i < 30; i++)
		rx_buffer(i);
	for (int i = 0; i < FRAME; i++)
		frame[i] = (uint8_t)(i * 7);
	memcpy(frame, "\xff\xff\xff\xff\xff\xff\x52\x54\x00\x4b\x00\x00", 12);
	frame[40] = 0x12;                  /* the pseudo-header sum the driver puts there */
	frame[41] = 0x34;
	memcpy(mem(0) + TX_HDR, hdr, HDR);
	memcpy(mem(0) + TX_HDR + 0x100, frame, 1000);
	memcpy(mem(0) + TX_HDR + 0x800, frame + 1000, FRAME - 1000);
	desc(0, TX, 0, TX_HDR, HDR, VIRTQ_DESC_F_NEXT, 1);
	desc(0, TX, 1, TX_HDR + 0x100, 1000, VIRTQ_DESC_F_NEXT, 2);
	desc(0, TX, 2, TX_HDR + 0x800, FRAME - 1000, 0, 0);
	send();
	CHECK_EQ(used_idx(0, TX), 1);

	/* 12 + 1514 bytes over 100-byte buffers: 16 of them, in order. */
	n = used_idx(1, RX);
	CHECK_EQ(n, 16);
	for (unsigned i = 0; i < n && i < 16; i++) {
		used(1, RX, i, &id, &len);
		CHECK_EQ(id, 2 * i);
		memcpy(out + got, mem(1) + RX_BUFS + i * 0x100, len);
		got += len;
	}
	CHECK_EQ(got, HDR + FRAME);
	CHECK_EQ(out[0], 2);                          /* VIRTIO_NET_HDR_F_DATA_VALID */
	CHECK_EQ(out[10] | out[11] << 8, 16);         /* num_buffers */
	/* The ones' complement sum over [34, end) plus the pseudo-header is 0xffff. */
	for (int i = 34; i + 1 < FRAME; i += 2)
		sum += (uint32_t)(out[HDR + i] << 8 | out[HDR + i + 1]);
	sum += 0x1234;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	CHECK_EQ(sum, 0xffff);
	for (int i = 0; i < FRAME; i++)
		if (i != 40 && i != 41 && out[HDR + i] != frame[i])
			same = false;
	CHECK_MSG(same, "frame bytes changed besides the checksum");
	CHECK(irqs > 0);

	/* 14 buffers left: the next frame does not fit, is dropped, and leaves them. */
	send();
	CHECK_EQ(used_idx(1, RX), 16);
	CHECK_EQ(dev(1)->q[RX].vq.last_avail, 16);
	/* Two more make 16: the frame after that arrives. */
	rx_buffer(30);
	rx_buffer(31);
	send();
	CHECK_EQ(used_idx(1, RX), 32);

	/* A frame over 1518 bytes is refused and handed back; the device keeps working. */
	desc(0, TX, 2, TX_HDR + 0x800, 600, 0, 0);
	send();
	CHECK_EQ(used_idx(0, TX), 4);
	CHECK(!(dev(0)->status & VIRTIO_STATUS_NEEDS_RESET));
	CHECK_EQ(used_idx(1, RX), 32);

	/* A stopped VM receives nothing. */
	for (unsigned i = 32; i < 48; i++)
		rx_buffer(i);
	vms_[1].state = VM_STOPPED;
	desc(0, TX, 2, TX_HDR + 0x800, FRAME - 1000, 0, 0);
	send();
	CHECK_EQ(used_idx(1, RX), 32);
	/* Running again, it does; after its driver resets the device, it does not. */
	vms_[1].state = VM_RUNNING;
	send();
	CHECK_EQ(used_idx(1, RX), 48);
	virtio_write_status(dev(1), 0);
	send();
	CHECK_EQ(used_idx(1, RX), 48);
	CHECK_EQ(used_idx(0, TX), 7);
	vms_[1].state = VM_RUNNING;
	test_tso();
	virtio_net_print();
	return unit_finish("test_virtio_net");
}
