/*
 * virtio-net (virtio 1.2, 5.1): one receive and one transmit queue, no
 * control queue, no multiqueue. Every NIC is a
 * port of one hypervisor-wide switch (net/vswitch.c): a frame the driver
 * transmits goes through the switch during its notification exit, straight
 * into the receive buffers of the destination VMs. Nothing is queued: a
 * receiver with no buffer free loses the frame (counted as a drop on its
 * port), as a NIC with a full ring would.
 *
 * Features offered:
 *   MAC        config `mac`: hv.cfg's `mac =`, else 52:54:00:4b:XX:YY with
 *              XX:YY the VM's number (in hv.cfg order, from 0), big-endian;
 *   STATUS     the link reads up;
 *   MRG_RXBUF  a frame longer than one receive buffer spans several, the
 *              count in the first header's num_buffers (5.1.6.3.2);
 *   CSUM       the driver may leave a TCP/UDP checksum to the device
 *              (NEEDS_CSUM): it is computed while the frame sits in our
 *              bounded copy, before the switch, so every receiver gets a
 *              complete frame whatever it negotiated;
 *   GUEST_CSUM receivers that took it get DATA_VALID on those frames, the
 *              checksum we just computed being right by construction;
 *   HOST_TSO4, HOST_TSO6  the driver may send a TCP packet of up to 64 KiB
 *              as one frame (gso_type TCPV4/6, NEEDS_CSUM, gso_size the
 *              MSS): one exit and one copy move it, where 45 MTU-sized
 *              frames would take as many of each;
 *   GUEST_TSO4, GUEST_TSO6  a receiver that took them (and GUEST_CSUM) gets
 *              such a frame whole, with the sender's header, as a NIC
 *              doing receive coalescing would hand it; any other receiver
 *              gets it cut into MTU-sized segments with their checksums
 *              complete (net/offload.c), so what a VM can receive never
 *              depends on what the sender negotiated.
 * The header is struct virtio_net_hdr with num_buffers (12 bytes: VERSION_1
 * is required by the core).
 *
 * Link state follows the VM and the driver: a port is up while its VM is
 * live and its driver has the device running (DRIVER_OK, not broken) with
 * the receive queue enabled. The core tells the device of resets (the
 * reset op: driver reset, VM restart) but not of DRIVER_OK or of a VM
 * stop, so links are brought in line on each notification and before each
 * listing; the deliver callback checks the same condition itself, so a
 * stopped VM never receives, whatever the switch believes.
 */
#include <core/page_alloc.h>
#include <core/vm.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <net/offload.h>
#include <net/vswitch.h>
#include <virtio/virtio.h>
#include <virtio/virtio_devices.h>
#include <virtio/virtio_net.h>
#include <virtio/virtio_pci.h>

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM        0
#define VIRTIO_NET_F_GUEST_CSUM  1
#define VIRTIO_NET_F_MAC         5
#define VIRTIO_NET_F_GUEST_TSO4  7
#define VIRTIO_NET_F_GUEST_TSO6  8
#define VIRTIO_NET_F_HOST_TSO4   11
#define VIRTIO_NET_F_HOST_TSO6   12
#define VIRTIO_NET_F_MRG_RXBUF   15
#define VIRTIO_NET_F_STATUS      16

/* Configuration layout (5.1.4): mac, then status; max_virtqueue_pairs
 * and later fields exist only with features not offered. */
#define NET_CFG_MAC              0
#define NET_CFG_STATUS           6      /* le16 */
#define NET_CFG_SIZE             8
#define VIRTIO_NET_S_LINK_UP     1

/* struct virtio_net_hdr (5.1.6). */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define TCP_CSUM_OFFSET             16     /* of the checksum in a TCP header */

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio 1.2, 5.1.6");

#define RX_QUEUE                 0      /* receiveq1 (5.1.2) */
#define TX_QUEUE                 1      /* transmitq1 */
#define NET_QUEUE_SIZE           256
#define PCI_CLASS_NETWORK_ETHERNET 0x020000
#define NET_MAX_NICS             MAX_VMS

struct virtio_net {
	struct virtio_dev vdev;
	int port;                      /* on net_switch; -1 before it is added */
	bool link_up;                  /* what net_switch was last told */
	uint8_t mac[6];
	/* Receive scratch: the chain that gets the header, the chain being
	 * filled, and the head and length of each chain the frame took. */
	struct virtq_elem rx_first, rx_next;
	uint16_t rx_heads[NET_QUEUE_SIZE];
	uint32_t rx_lens[NET_QUEUE_SIZE];
	/* A segment of a TSO frame on its way to this NIC. */
	uint8_t rx_segment[VSWITCH_MTU_FRAME_MAX];
	/* Transmit: the frame out of the driver's buffers, and what the switch
	 * hands each receiver about it. */
	struct net_tx {
		struct virtio_net_hdr h;   /* the driver's: gso_type NONE, TCPV4 or TCPV6 */
		bool csum_filled;          /* NEEDS_CSUM done here: the frame is complete */
		struct tso tso;            /* with a gso_type: the frame, parsed */
	} tx;
	uint8_t tx_frame[VSWITCH_FRAME_MAX];
};

/* Issue 10: with several host CPUs a lock around the switch goes here,
 * taken for every vswitch_* call and the deliveries they make. */
static struct vswitch net_switch;
static struct virtio_net *nics[NET_MAX_NICS];
static unsigned nr_nics;

static bool nic_ready(const struct virtio_net *n)
{
	const struct virtio_dev *d = &n->vdev;

	return vm_is_live(d->vm) && virtio_running(d) && d->q[RX_QUEUE].enabled;
}

static void nic_sync_link(struct virtio_net *n)
{
	bool up = nic_ready(n);

	if (n->port < 0 || up == n->link_up)
		return;
	n->link_up = up;
	if (up)
		vswitch_port_up(&net_switch, (unsigned)n->port);
	else
		vswitch_port_down(&net_switch, (unsigned)n->port);
}

static void nics_sync_links(void)
{
	for (unsigned i = 0; i < nr_nics; i++)
		nic_sync_link(nics[i]);
}

/* The frame's chains were taken and written into but not returned: put
 * them back in the avail ring's order so the next frame finds them. */
static void rx_unpop(struct virtio_net *n, uint16_t last_avail)
{
	if (virtio_running(&n->vdev))
		n->vdev.q[RX_QUEUE].vq.last_avail = last_avail;
}

/*
 * Header and frame into the receive queue: one chain, or with MRG_RXBUF as
 * many as the frame needs (each at least a header long, 5.1.6.3.2). The
 * used entries are pushed only once the whole frame is written: the guest
 * does not run meanwhile (one host CPU), so the driver never sees part of
 * a frame. False, with nothing returned, when the buffers run out.
 */
static bool net_rx(struct virtio_net *n, const uint8_t *frame, size_t len,
		   const struct virtio_net_hdr *hdr)
{
	struct virtio_dev *d = &n->vdev;
	struct virtio_net_hdr h = *hdr;
	bool mrg = virtio_has(d, VIRTIO_NET_F_MRG_RXBUF);
	uint16_t last_avail = d->q[RX_QUEUE].vq.last_avail;
	unsigned nr = 0;
	size_t done = 0;

	while (nr == 0 || done < len) {
		struct virtq_elem *e = nr ? &n->rx_next : &n->rx_first;
		uint64_t off = nr ? 0 : sizeof(h);
		size_t w;

		if (nr == NET_QUEUE_SIZE || (nr && !mrg) || !virtio_pop(d, RX_QUEUE, e)) {
			rx_unpop(n, last_avail);
			return false;
		}
		if (e->in_len < sizeof(h)) {
			virtio_fail(d, "receive buffer shorter than the virtio-net header");
			return false;
		}
		if (!mrg && e->in_len < sizeof(h) + len) {
			rx_unpop(n, last_avail);   /* too small for this frame, maybe not the next */
			return false;
		}
		w = virtq_write(&d->ram, e, off, frame + done, len - done);
		n->rx_heads[nr] = e->head;
		n->rx_lens[nr] = (uint32_t)(off + w);
		done += w;
		nr++;
	}
	h.num_buffers = (uint16_t)nr;      /* 1 without MRG_RXBUF (5.1.6.4) */
	virtq_write(&d->ram, &n->rx_first, 0, &h, sizeof(h));
	for (unsigned i = 0; i < nr; i++) {
		n->rx_next.head = n->rx_heads[i];
		virtio_push(d, RX_QUEUE, &n->rx_next, n->rx_lens[i]);
	}
	return true;
}

static bool rx_takes_gso(const struct virtio_net *n, uint8_t gso_type)
{
	const struct virtio_dev *d = &n->vdev;

	return virtio_has(d, VIRTIO_NET_F_GUEST_CSUM) &&
	       virtio_has(d, gso_type == VIRTIO_NET_HDR_GSO_TCPV6 ? VIRTIO_NET_F_GUEST_TSO6
								    : VIRTIO_NET_F_GUEST_TSO4);
}

/* A TSO frame to a receiver that cannot take it whole: segment by segment.
 * A segment that finds no buffer ends the frame (TCP will send it again);
 * the switch counts the frame as one drop. */
static bool net_rx_segments(struct virtio_net *n, const struct tso *t)
{
	struct virtio_net_hdr h = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };

	if (virtio_has(&n->vdev, VIRTIO_NET_F_GUEST_CSUM))
		h.flags = VIRTIO_NET_HDR_F_DATA_VALID;   /* tso_segment completes them */
	for (unsigned i = 0; i < t->segments; i++)
		if (!net_rx(n, n->rx_segment, tso_segment(t, i, n->rx_segment), &h))
			return false;
	return true;
}

/* The switch's deliver callback: runs in the sender's exit and writes into
 * the receiver's RAM (fine with one host CPU; issue 10's lock covers it). */
static bool net_deliver(void *opaque, const void *frame, size_t len, const void *meta)
{
	struct virtio_net *n = opaque;
	const struct net_tx *t = meta;
	struct virtio_net_hdr h = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };

	if (!nic_ready(n))
		return false;
	if (t->h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		if (!rx_takes_gso(n, t->h.gso_type))
			return net_rx_segments(n, &t->tso);
		/* Whole, the checksum still partial. Only fields tso_parse checked
		 * go to the other VM: the driver's flags and hdr_len do not. */
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.gso_type = t->h.gso_type;
		h.hdr_len = t->tso.hdr_len;
		h.gso_size = t->tso.mss;
		h.csum_start = t->tso.l4;
		h.csum_offset = TCP_CSUM_OFFSET;
	} else if (t->csum_filled && virtio_has(&n->vdev, VIRTIO_NET_F_GUEST_CSUM)) {
		h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	return net_rx(n, frame, len, &h);
}

/*
 * NEEDS_CSUM (5.1.6.2): the Internet checksum (RFC 1071) of the frame from
 * csum_start to its end, into the 16-bit field at csum_start + csum_offset,
 * which holds the pseudo-header's sum the driver left there. A result of
 * 0 is sent as 0xffff, its other form: UDP reads 0 as "no checksum".
 */
static bool csum_fill(uint8_t *f, size_t len, uint16_t start, uint16_t offset)
{
	uint16_t c;

	if (start > len || offset > len - start || len - start - offset < 2)
		return false;
	c = inet_csum_fold(inet_csum_add(0, f + start, len - start));
	if (!c)
		c = 0xffff;
	f[start + offset] = (uint8_t)(c >> 8);
	f[start + offset + 1] = (uint8_t)c;
	return true;
}

/* A chain refused before the switch saw it: counted with the switch's own
 * refusals, on the port's counters. */
static void tx_refuse(struct virtio_net *n, uint64_t len)
{
	struct vswitch_counters *c = &net_switch.port[n->port].c;

	c->from_port_frames++;
	c->from_port_bytes += len;
	c->errors++;
}

/*
 * A TSO frame (5.1.6.2): a type whose HOST_TSO feature was negotiated, no
 * ECN bit (HOST_ECN is not offered), the checksum left to us at the TCP
 * header's field, and a TCP packet we could cut into MTU-sized segments.
 */
static bool tx_tso_ok(struct virtio_net *n, size_t len)
{
	const struct virtio_dev *d = &n->vdev;
	const struct virtio_net_hdr *h = &n->tx.h;
	bool v6 = h->gso_type == VIRTIO_NET_HDR_GSO_TCPV6;

	if (!(v6 && virtio_has(d, VIRTIO_NET_F_HOST_TSO6)) &&
	    !(h->gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && virtio_has(d, VIRTIO_NET_F_HOST_TSO4)))
		return false;
	return virtio_has(d, VIRTIO_NET_F_CSUM) && (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	       h->csum_offset == TCP_CSUM_OFFSET &&
	       tso_parse(&n->tx.tso, n->tx_frame, len, v6, h->csum_start, h->gso_size,
			 VSWITCH_MTU_FRAME_MAX);
}

/* One transmit chain: header, then a frame that must fit our copy: an
 * MTU-sized one, or a TSO frame up to VSWITCH_FRAME_MAX. */
static void net_tx_one(struct virtio_net *n, const struct virtq_elem *e)
{
	struct virtio_dev *d = &n->vdev;
	struct net_tx *t = &n->tx;
	uint64_t len = e->out_len >= sizeof(t->h) ? e->out_len - sizeof(t->h) : 0;

	if (e->out_len < sizeof(t->h) || len > VSWITCH_FRAME_MAX ||
	    virtq_read(&d->ram, e, 0, &t->h, sizeof(t->h)) != sizeof(t->h)) {
		tx_refuse(n, len);
		return;
	}
	virtq_read(&d->ram, e, sizeof(t->h), n->tx_frame, len);
	t->csum_filled = false;
	if (t->h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		if (!tx_tso_ok(n, len)) {
			tx_refuse(n, len);
			return;
		}
	} else if (len > VSWITCH_MTU_FRAME_MAX) {
		tx_refuse(n, len);
		return;
	} else if ((t->h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && virtio_has(d, VIRTIO_NET_F_CSUM)) {
		if (!csum_fill(n->tx_frame, len, t->h.csum_start, t->h.csum_offset)) {
			tx_refuse(n, len);
			return;
		}
		t->csum_filled = true;
	}
	vswitch_send(&net_switch, (unsigned)n->port, n->tx_frame, len, t);
}

static void net_tx(struct virtio_net *n)
{
	struct virtq_elem e;

	nics_sync_links();   /* receivers whose driver came up since */
	while (virtio_pop(&n->vdev, TX_QUEUE, &e)) {
		net_tx_one(n, &e);
		virtio_push(&n->vdev, TX_QUEUE, &e, 0);
	}
}

static void net_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_net *n = d->opaque;

	if (q == TX_QUEUE)
		net_tx(n);
	else
		nic_sync_link(n);   /* new receive buffers: frames are only taken when they come */
}

/* Driver reset or VM restart: the link goes down until DRIVER_OK again. */
static void net_reset(struct virtio_dev *d)
{
	nic_sync_link(d->opaque);
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net", .device_id = VIRTIO_ID_NET, .nr_queues = 2,
	.queue_max = NET_QUEUE_SIZE, .queue_notify = net_notify, .reset = net_reset,
};

static void net_mac(const struct vm *vm, uint8_t mac[6])
{
	static const uint8_t prefix[4] = { 0x52, 0x54, 0x00, 0x4b };   /* locally administered */

	if (vm->boot->devices & HV_DEV_MAC_SET) {
		memcpy(mac, vm->boot->mac, 6);
		return;
	}
	memcpy(mac, prefix, sizeof(prefix));
	mac[4] = (uint8_t)(vm->id >> 8);
	mac[5] = (uint8_t)vm->id;
}

int virtio_net_create(struct vm *vm)
{
	uint64_t features = 1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
			    1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_MRG_RXBUF |
			    1ull << VIRTIO_NET_F_STATUS | 1ull << VIRTIO_NET_F_HOST_TSO4 |
			    1ull << VIRTIO_NET_F_HOST_TSO6 | 1ull << VIRTIO_NET_F_GUEST_TSO4 |
			    1ull << VIRTIO_NET_F_GUEST_TSO6;
	struct virtio_net *n;

	if (nr_nics == NET_MAX_NICS)
		return -1;
	n = page_alloc_ptr((sizeof(*n) + PAGE_SIZE - 1) / PAGE_SIZE);
	if (!n)
		return -1;
	memset(n, 0, sizeof(*n));
	n->port = -1;
	net_mac(vm, n->mac);
	if (!nr_nics)
		vswitch_init(&net_switch);
	virtio_dev_init(&n->vdev, &net_ops, n, vm, features);
	memcpy(n->vdev.config + NET_CFG_MAC, n->mac, 6);
	n->vdev.config[NET_CFG_STATUS] = VIRTIO_NET_S_LINK_UP;
	n->vdev.config_size = NET_CFG_SIZE;
	n->vdev.config_writable = NET_CFG_SIZE;   /* mac is read-only in virtio 1.x */
	n->port = vswitch_port_add(&net_switch, vm->name, n->mac, net_deliver, n);
	if (n->port < 0)
		return -1;
	if (virtio_attach(vm, &n->vdev, PCI_CLASS_NETWORK_ETHERNET)) {
		vswitch_port_remove(&net_switch, (unsigned)n->port);
		return -1;
	}
	nics[nr_nics++] = n;
	return 0;
}

void virtio_net_forget(const struct vm *vm)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < nr_nics; i++) {
		if (nics[i]->vdev.vm != vm) {
			nics[kept++] = nics[i];
			continue;
		}
		if (nics[i]->port >= 0)
			vswitch_port_remove(&net_switch, (unsigned)nics[i]->port);
	}
	nr_nics = kept;
}

void virtio_net_print(void)
{
	char line[VSWITCH_LINE_MAX];
	unsigned pos = 0;

	if (!nr_nics) {
		printk("no NICs (`net = on` in a VM section adds one)\n");
		return;
	}
	nics_sync_links();
	while (vswitch_format(&net_switch, &pos, line, sizeof(line)))
		printk("%s\n", line);
}

void virtio_net_print_vm(const struct vm *vm)
{
	for (unsigned i = 0; i < nr_nics; i++) {
		const struct virtio_net *n = nics[i];
		const struct vswitch_port *p;

		if (n->vdev.vm != vm)
			continue;
		nic_sync_link(nics[i]);
		p = &net_switch.port[n->port];
		printk("  net: port %d %s; from the VM %lu frames, %lu bytes; to the VM %lu frames, "
		       "%lu bytes; %lu drops, %lu errors\n", n->port, p->up ? "up" : "down",
		       p->c.from_port_frames, p->c.from_port_bytes, p->c.to_port_frames,
		       p->c.to_port_bytes, p->c.drops, p->c.errors);
	}
}
