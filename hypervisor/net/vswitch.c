/*
 * The virtual Ethernet switch (see include/net/vswitch.h). Clause numbers
 * are those of IEEE 802.1D-2004.
 *
 * The address table is scanned linearly, twice a frame: about 0.3 us a
 * frame with all 256 entries in use (host, -O2), small beside the VM exit
 * that brings the frame in.
 */
#include <lib/printk.h>
#include <lib/string.h>
#include <net/vswitch.h>

/* An address as the table keeps it: 0 is 00:00:00:00:00:00, never a
 * valid source, so it marks free entries. */
static uint64_t mac_key(const uint8_t *mac)
{
	uint64_t k = 0;

	for (int i = 5; i >= 0; i--)
		k = k << 8 | mac[i];
	return k;
}

/* The I/G (individual/group) bit of IEEE Std 802, the first bit on the
 * wire: set in multicast and broadcast addresses, never in a station's. */
static bool mac_is_group(uint64_t key)
{
	return key & 1;
}

void vswitch_init(struct vswitch *sw)
{
	memset(sw, 0, sizeof(*sw));
}

static struct vswitch_port *port_get(struct vswitch *sw, unsigned port)
{
	if (port >= VSWITCH_MAX_PORTS || !sw->port[port].in_use)
		return NULL;
	return &sw->port[port];
}

static void forget_port(struct vswitch *sw, unsigned port)
{
	for (unsigned i = 0; i < VSWITCH_MAC_ENTRIES; i++)
		if (sw->mac[i] && sw->mac_port[i] == port)
			sw->mac[i] = 0;
}

int vswitch_port_add(struct vswitch *sw, const char *name, const uint8_t mac[6],
		     vswitch_deliver_fn deliver, void *opaque)
{
	if (!deliver)
		return -1;
	for (unsigned i = 0; i < VSWITCH_MAX_PORTS; i++) {
		struct vswitch_port *p = &sw->port[i];

		if (p->in_use)
			continue;
		memset(p, 0, sizeof(*p));
		p->in_use = true;
		p->deliver = deliver;
		p->opaque = opaque;
		memcpy(p->name, name, strnlen(name, VSWITCH_NAME_MAX - 1));
		memcpy(p->mac, mac, 6);
		return (int)i;
	}
	return -1;
}

void vswitch_port_remove(struct vswitch *sw, unsigned port)
{
	struct vswitch_port *p = port_get(sw, port);

	if (!p)
		return;
	forget_port(sw, port);
	memset(p, 0, sizeof(*p));
}

static void port_set_link(struct vswitch *sw, unsigned port, bool up)
{
	struct vswitch_port *p = port_get(sw, port);

	if (!p)
		return;
	forget_port(sw, port);
	p->up = up;
}

void vswitch_port_up(struct vswitch *sw, unsigned port)
{
	port_set_link(sw, port, true);
}

void vswitch_port_down(struct vswitch *sw, unsigned port)
{
	port_set_link(sw, port, false);
}

static int mac_find(const struct vswitch *sw, uint64_t key)
{
	for (int i = 0; i < VSWITCH_MAC_ENTRIES; i++)
		if (sw->mac[i] == key)
			return i;
	return -1;
}

/* The port a unicast address was learned on, or -1. */
static int mac_port(const struct vswitch *sw, uint64_t key)
{
	int i = key && !mac_is_group(key) ? mac_find(sw, key) : -1;

	return i < 0 ? -1 : sw->mac_port[i];
}

int vswitch_lookup(const struct vswitch *sw, const uint8_t mac[6])
{
	return mac_port(sw, mac_key(mac));
}

/* Learning (7.8): a valid source address seen on a port creates, or moves
 * to that port, its entry (a guest restarted behind another port moves
 * with its first frame). 802.1D removes entries by an aging timer (7.9.2);
 * here the table keeps them until their port goes down or, when the table
 * is full, until a new address replaces the one seen least recently. */
static void mac_learn(struct vswitch *sw, uint64_t key, unsigned port)
{
	int i = mac_find(sw, key);

	if (i < 0)
		i = mac_find(sw, 0);
	if (i < 0) {
		i = 0;
		for (int j = 1; j < VSWITCH_MAC_ENTRIES; j++)
			if (sw->mac_seen[j] < sw->mac_seen[i])
				i = j;
	}
	sw->mac[i] = key;
	sw->mac_port[i] = (uint8_t)port;
	sw->mac_seen[i] = ++sw->clock;
}

static void deliver_to(struct vswitch_port *p, const void *frame, size_t len,
		       const void *meta)
{
	if (!p->up || !p->deliver(p->opaque, frame, len, meta)) {
		p->c.drops++;
		return;
	}
	p->c.to_port_frames++;
	p->c.to_port_bytes += len;
}

/* Forwarding (7.7, 7.9): a group destination or one not in the table goes
 * to every port but the one it came from; a learned one to its port only,
 * and not at all when that is the port it came from (filtered). */
enum vswitch_verdict vswitch_send(struct vswitch *sw, unsigned port, const void *frame,
				  size_t len, const void *meta)
{
	struct vswitch_port *src = port_get(sw, port);
	uint64_t to, from;  /* read once: the frame may be the guest's */
	int dst;

	if (!src)
		return VSWITCH_BAD_PORT;
	src->c.from_port_frames++;
	src->c.from_port_bytes += len;
	if (!src->up || len < VSWITCH_FRAME_MIN || len > VSWITCH_FRAME_MAX)
		goto refuse;
	to = mac_key(frame);
	from = mac_key((const uint8_t *)frame + 6);
	if (mac_is_group(from) || !from)
		goto refuse;
	mac_learn(sw, from, port);
	dst = mac_port(sw, to);
	if (dst == (int)port) {
		src->c.local++;
		return VSWITCH_LOCAL;
	}
	if (dst >= 0) {
		deliver_to(&sw->port[dst], frame, len, meta);
		return VSWITCH_UNICAST;
	}
	for (unsigned i = 0; i < VSWITCH_MAX_PORTS; i++)
		if (i != port && sw->port[i].in_use)
			deliver_to(&sw->port[i], frame, len, meta);
	return VSWITCH_FLOODED;
refuse:
	src->c.errors++;
	return VSWITCH_REFUSED;
}

bool vswitch_format(const struct vswitch *sw, unsigned *pos, char *buf, size_t len)
{
	const struct vswitch_port *p;
	unsigned i;

	if (*pos == 0) {
		snprintf(buf, len, "%-4s %-16s %-17s %-4s %11s %12s %11s %12s %8s %8s %8s",
			 "PORT", "NAME", "MAC", "LINK", "FROM-FRAMES", "FROM-BYTES", "TO-FRAMES",
			 "TO-BYTES", "DROPS", "ERRORS", "LOCAL");
		*pos = 1;
		return true;
	}
	for (i = *pos - 1; i < VSWITCH_MAX_PORTS && !sw->port[i].in_use; i++)
		;
	if (i >= VSWITCH_MAX_PORTS)
		return false;
	p = &sw->port[i];
	snprintf(buf, len, "%-4u %-16s %02x:%02x:%02x:%02x:%02x:%02x %-4s %11lu %12lu %11lu %12lu "
		 "%8lu %8lu %8lu", i, p->name, p->mac[0], p->mac[1], p->mac[2], p->mac[3],
		 p->mac[4], p->mac[5], p->up ? "up" : "down", p->c.from_port_frames,
		 p->c.from_port_bytes, p->c.to_port_frames, p->c.to_port_bytes, p->c.drops,
		 p->c.errors, p->c.local);
	*pos = i + 2;
	return true;
}
