/* The virtual Ethernet switch: learning, flooding, unicast, no reflection,
 * address moves, a full table, link down, bad frames, counters, the
 * console listing. */
// UNIT-SOURCES: hypervisor/net/vswitch.c
#include <string.h>
#include <net/vswitch.h>
#include "unit.h"

/* What each port's receiver got. */
struct sink {
	bool full;                  /* no receive buffer: deliver says no */
	unsigned calls, frames;
	size_t bytes, last_len;
	uint8_t last[VSWITCH_FRAME_MAX];
};

static struct vswitch sw;
static struct sink sinks[VSWITCH_MAX_PORTS];
static uint8_t frame[VSWITCH_FRAME_MAX + 64];

static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };  /* mDNS */
static const uint8_t ZERO[6];
static const uint8_t MA[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0a };
static const uint8_t MB[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0b };
static const uint8_t MC[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0c };
static const uint8_t MD[6] = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x0d };

static const char meta_tag[] = "meta";   /* what send() hands the switch as meta */

static bool deliver(void *opaque, const void *f, size_t len, const void *meta)
{
	struct sink *s = opaque;

	CHECK(meta == meta_tag);
	s->calls++;
	if (s->full)
		return false;
	s->frames++;
	s->bytes += len;
	s->last_len = len;
	memcpy(s->last, f, len);
	return true;
}

/* A switch with n ports, all up, named p0, p1, ... */
static void setup(unsigned n)
{
	vswitch_init(&sw);
	memset(sinks, 0, sizeof(sinks));
	for (unsigned i = 0; i < n; i++) {
		char name[16];
		uint8_t mac[6] = { 0x52, 0x54, 0, 0, 1, (uint8_t)i };

		snprintf(name, sizeof(name), "p%u", i);
		CHECK_EQ(vswitch_port_add(&sw, name, mac, deliver, &sinks[i]), i);
		vswitch_port_up(&sw, i);
	}
}

static void mac_n(uint8_t mac[6], unsigned n)
{
	const uint8_t m[6] = { 0x02, 0, 0, 0, (uint8_t)(n >> 8), (uint8_t)n };

	memcpy(mac, m, 6);
}

static enum vswitch_verdict send(unsigned port, const uint8_t *dst, const uint8_t *src,
				 size_t len)
{
	memset(frame, 0x5a, sizeof(frame));
	memcpy(frame, dst, 6);
	memcpy(frame + 6, src, 6);
	return vswitch_send(&sw, port, frame, len, meta_tag);
}

static unsigned calls(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < VSWITCH_MAX_PORTS; i++)
		n += sinks[i].calls;
	return n;
}

static unsigned entries(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < VSWITCH_MAC_ENTRIES; i++)
		n += sw.mac[i] != 0;
	return n;
}

static void test_ports(void)
{
	uint8_t mac[6] = { 0 };

	setup(0);
	for (unsigned i = 0; i < VSWITCH_MAX_PORTS; i++)
		CHECK_EQ(vswitch_port_add(&sw, "vm", mac, deliver, &sinks[i]), i);
	CHECK_EQ(vswitch_port_add(&sw, "one-too-many", mac, deliver, NULL), -1);
	CHECK(!sw.port[3].up);                                  /* added down */
	vswitch_port_remove(&sw, 3);
	CHECK(!sw.port[3].in_use);
	CHECK_EQ(vswitch_send(&sw, 3, frame, 60, meta_tag), VSWITCH_BAD_PORT);
	CHECK_EQ(vswitch_send(&sw, VSWITCH_MAX_PORTS, frame, 60, meta_tag), VSWITCH_BAD_PORT);
	CHECK_EQ(vswitch_send(&sw, ~0u, frame, 60, meta_tag), VSWITCH_BAD_PORT);
	CHECK_EQ(vswitch_port_add(&sw, "a-name-longer-than-thirty-one-characters", mac, deliver,
				  NULL), 3);                    /* the free slot */
	CHECK_EQ(strlen(sw.port[3].name), VSWITCH_NAME_MAX - 1);
	vswitch_port_remove(&sw, 5);
	CHECK_EQ(vswitch_port_add(&sw, "no-callback", mac, NULL, NULL), -1);
	/* Out-of-range ports are ignored, not written. */
	vswitch_port_up(&sw, VSWITCH_MAX_PORTS);
	vswitch_port_down(&sw, 99);
	vswitch_port_remove(&sw, 5);
	CHECK(!sw.port[5].in_use);
}

static void test_learn_flood_unicast(void)
{
	setup(3);
	/* A (port 0) to B, not yet learned: every port but the source. */
	CHECK_EQ(send(0, MB, MA, 60), VSWITCH_FLOODED);
	CHECK_EQ(sinks[0].calls, 0);
	CHECK_EQ(sinks[1].frames, 1);
	CHECK_EQ(sinks[2].frames, 1);
	CHECK_EQ(sinks[1].last_len, 60);
	CHECK(!memcmp(sinks[1].last, frame, 60));
	CHECK_EQ(vswitch_lookup(&sw, MA), 0);
	CHECK_EQ(vswitch_lookup(&sw, MB), -1);
	/* B answers from port 1: A is known, so port 0 only. */
	CHECK_EQ(send(1, MA, MB, 64), VSWITCH_UNICAST);
	CHECK_EQ(sinks[0].frames, 1);
	CHECK_EQ(sinks[2].frames, 1);
	CHECK_EQ(vswitch_lookup(&sw, MB), 1);
	/* And now A to B is unicast too. */
	CHECK_EQ(send(0, MB, MA, 100), VSWITCH_UNICAST);
	CHECK_EQ(sinks[1].frames, 2);
	CHECK_EQ(sinks[1].last_len, 100);
	CHECK_EQ(sinks[2].frames, 1);
	CHECK_EQ(calls(), 4);
}

static void test_group_destinations(void)
{
	setup(4);
	send(1, MA, MB, 60);                   /* learn B on port 1 */
	memset(sinks, 0, sizeof(sinks));
	CHECK_EQ(send(1, BCAST, MB, 42), VSWITCH_FLOODED);
	CHECK_EQ(sinks[1].calls, 0);
	CHECK(sinks[0].frames == 1 && sinks[2].frames == 1 && sinks[3].frames == 1);
	CHECK_EQ(send(2, MCAST, MC, 42), VSWITCH_FLOODED);
	CHECK_EQ(sinks[2].calls, 1);      /* the broadcast only */
	CHECK(sinks[0].frames == 2 && sinks[1].frames == 1 && sinks[3].frames == 2);
	/* A group address is never learned, so never a unicast target. */
	CHECK_EQ(vswitch_lookup(&sw, BCAST), -1);
	CHECK_EQ(vswitch_lookup(&sw, MCAST), -1);
}

static void test_no_reflection(void)
{
	setup(3);
	/* Two stations behind port 0 (a guest bridging, say). */
	send(0, BCAST, MA, 60);
	send(0, BCAST, MD, 60);
	memset(sinks, 0, sizeof(sinks));
	CHECK_EQ(send(0, MD, MA, 60), VSWITCH_LOCAL);
	CHECK_EQ(send(0, MA, MA, 60), VSWITCH_LOCAL);      /* to itself */
	CHECK_EQ(calls(), 0);
	CHECK_EQ(sw.port[0].c.local, 2);
	CHECK_EQ(sw.port[0].c.drops, 0);
	/* A broadcast never comes back to its sender. */
	send(0, BCAST, MA, 60);
	CHECK_EQ(sinks[0].calls, 0);
}

static void test_mac_move(void)
{
	setup(3);
	send(0, BCAST, MA, 60);
	send(1, BCAST, MB, 60);
	CHECK_EQ(vswitch_lookup(&sw, MA), 0);
	/* A's VM restarted behind port 2: its first frame moves the entry. */
	send(2, BCAST, MA, 60);
	CHECK_EQ(vswitch_lookup(&sw, MA), 2);
	memset(sinks, 0, sizeof(sinks));
	CHECK_EQ(send(1, MA, MB, 60), VSWITCH_UNICAST);
	CHECK_EQ(sinks[2].frames, 1);
	CHECK_EQ(sinks[0].calls, 0);
	CHECK_EQ(entries(), 2);                 /* moved, not copied */
}

static void test_table_full(void)
{
	uint8_t m[6], dst[6];
	unsigned n = 0;

	setup(3);
	for (unsigned i = 0; i < VSWITCH_MAC_ENTRIES; i++) {
		mac_n(m, i);
		send(i % 2, BCAST, m, 60);
	}
	for (unsigned i = 0; i < VSWITCH_MAC_ENTRIES; i++) {
		mac_n(m, i);
		n += vswitch_lookup(&sw, m) == (int)(i % 2);
	}
	CHECK_EQ(n, VSWITCH_MAC_ENTRIES);
	/* 0 seen again: now 1 is the least recently seen. Being a destination
	 * does not count as seen. */
	mac_n(m, 0);
	send(0, BCAST, m, 60);
	mac_n(dst, 1);
	send(2, dst, MC, 60);           /* C learned: evicts 1 */
	CHECK_EQ(vswitch_lookup(&sw, dst), -1);
	CHECK_EQ(vswitch_lookup(&sw, m), 0);
	CHECK_EQ(vswitch_lookup(&sw, MC), 2);
	mac_n(m, 2);
	CHECK_EQ(vswitch_lookup(&sw, m), 0);
	/* 1 forgotten: a frame to it floods. */
	memset(sinks, 0, sizeof(sinks));
	CHECK_EQ(send(2, dst, MC, 60), VSWITCH_FLOODED);
	CHECK(sinks[0].frames == 1 && sinks[1].frames == 1);
	/* Next to go: 2, then 3. */
	send(2, BCAST, MD, 60);
	CHECK_EQ(vswitch_lookup(&sw, m), -1);
	CHECK_EQ(vswitch_lookup(&sw, MD), 2);
	mac_n(m, 3);
	CHECK_EQ(vswitch_lookup(&sw, m), 1);
	CHECK_EQ(entries(), VSWITCH_MAC_ENTRIES);
}

static void test_port_down(void)
{
	setup(3);
	send(1, BCAST, MB, 60);
	send(1, BCAST, MD, 60);
	send(2, BCAST, MC, 60);
	vswitch_port_down(&sw, 1);
	CHECK_EQ(vswitch_lookup(&sw, MB), -1);               /* forgotten */
	CHECK_EQ(vswitch_lookup(&sw, MD), -1);
	CHECK_EQ(vswitch_lookup(&sw, MC), 2);                /* the others stay */
	memset(sinks, 0, sizeof(sinks));
	/* To B: unknown now, flooded; port 1 is down: a drop, no callback. */
	CHECK_EQ(send(0, MB, MA, 60), VSWITCH_FLOODED);
	CHECK_EQ(sinks[1].calls, 0);
	CHECK_EQ(sinks[2].frames, 1);
	CHECK_EQ(sw.port[1].c.drops, 1);
	send(0, BCAST, MA, 60);
	CHECK_EQ(sw.port[1].c.drops, 2);
	/* A down port sends nothing and learns nothing. */
	CHECK_EQ(send(1, MA, MB, 60), VSWITCH_REFUSED);
	CHECK_EQ(sw.port[1].c.errors, 1);
	CHECK_EQ(vswitch_lookup(&sw, MB), -1);
	CHECK_EQ(sinks[0].calls, 0);
	/* Up again (driver ready): counters kept, learns from its first frame. */
	vswitch_port_up(&sw, 1);
	CHECK_EQ(sw.port[1].c.drops, 2);
	CHECK_EQ(send(1, MA, MB, 60), VSWITCH_UNICAST);
	CHECK_EQ(vswitch_lookup(&sw, MB), 1);
	CHECK_EQ(sinks[0].frames, 1);
	/* A reset (down, up) forgets too; removal as well. */
	vswitch_port_down(&sw, 1);
	vswitch_port_up(&sw, 1);
	CHECK_EQ(vswitch_lookup(&sw, MB), -1);
	vswitch_port_remove(&sw, 2);
	CHECK_EQ(vswitch_lookup(&sw, MC), -1);
	CHECK_EQ(vswitch_lookup(&sw, MA), 0);
}

static void test_no_buffer(void)
{
	setup(3);
	send(1, BCAST, MB, 60);
	sinks[1].full = true;
	memset(&sw.port[1].c, 0, sizeof(sw.port[1].c));
	CHECK_EQ(send(0, MB, MA, 60), VSWITCH_UNICAST);
	CHECK_EQ(sinks[1].calls, 1);
	CHECK_EQ(sw.port[1].c.drops, 1);
	CHECK_EQ(sw.port[1].c.to_port_frames, 0);
	CHECK_EQ(sw.port[0].c.errors, 0);
}

static void test_bad_source(void)
{
	setup(3);
	CHECK_EQ(send(0, MB, BCAST, 60), VSWITCH_REFUSED);
	CHECK_EQ(send(0, MB, MCAST, 60), VSWITCH_REFUSED);
	CHECK_EQ(send(0, MB, ZERO, 60), VSWITCH_REFUSED);
	CHECK_EQ(calls(), 0);
	CHECK_EQ(sw.port[0].c.errors, 3);
	CHECK_EQ(sw.port[0].c.from_port_frames, 3);
	CHECK_EQ(vswitch_lookup(&sw, BCAST), -1);
	CHECK_EQ(vswitch_lookup(&sw, MCAST), -1);
	CHECK_EQ(vswitch_lookup(&sw, ZERO), -1);
	CHECK_EQ(entries(), 0);
	/* A zero destination is an unknown unicast (not a free table entry). */
	send(0, BCAST, MA, 60);
	memset(sinks, 0, sizeof(sinks));
	CHECK_EQ(send(1, ZERO, MB, 60), VSWITCH_FLOODED);
	CHECK(sinks[0].frames == 1 && sinks[2].frames == 1);
}

static void test_lengths(void)
{
	setup(2);
	CHECK_EQ(vswitch_send(&sw, 0, NULL, 0, meta_tag), VSWITCH_REFUSED);
	CHECK_EQ(send(0, BCAST, MA, VSWITCH_FRAME_MIN - 1), VSWITCH_REFUSED);
	CHECK_EQ(send(0, BCAST, MA, VSWITCH_FRAME_MAX + 1), VSWITCH_REFUSED);
	CHECK_EQ(send(0, BCAST, MA, 65554), VSWITCH_REFUSED);   /* 64 KiB packet, tag, header */
	CHECK_EQ(calls(), 0);
	CHECK_EQ(vswitch_lookup(&sw, MA), -1);           /* nor learned from */
	CHECK_EQ(sw.port[0].c.errors, 4);
	CHECK_EQ(send(0, BCAST, MA, VSWITCH_FRAME_MIN), VSWITCH_FLOODED);
	CHECK_EQ(send(0, BCAST, MA, VSWITCH_FRAME_MAX), VSWITCH_FLOODED);
	CHECK_EQ(sinks[1].frames, 2);
	CHECK_EQ(sinks[1].last_len, 65553);
	CHECK_EQ(sw.port[0].c.errors, 4);
}

static void test_counters(void)
{
	const struct vswitch_counters *c0 = &sw.port[0].c, *c1 = &sw.port[1].c,
				      *c2 = &sw.port[2].c;

	setup(3);
	send(0, BCAST, MA, 100);        /* flood: 1 and 2 */
	send(1, MA, MB, 200);           /* unicast to 0 */
	send(1, MB, MB, 300);           /* local */
	send(2, MA, MCAST, 50);         /* refused */
	sinks[2].full = true;
	send(0, MC, MA, 400);           /* flood: 1, and 2 without a buffer */
	CHECK(c0->from_port_frames == 2 && c0->from_port_bytes == 500);
	CHECK(c0->to_port_frames == 1 && c0->to_port_bytes == 200);
	CHECK(c0->drops == 0 && c0->errors == 0 && c0->local == 0);
	CHECK(c1->from_port_frames == 2 && c1->from_port_bytes == 500);
	CHECK(c1->to_port_frames == 2 && c1->to_port_bytes == 500);
	CHECK(c1->drops == 0 && c1->errors == 0 && c1->local == 1);
	CHECK(c2->from_port_frames == 1 && c2->from_port_bytes == 50);
	CHECK(c2->to_port_frames == 1 && c2->to_port_bytes == 100);
	CHECK(c2->drops == 1 && c2->errors == 1 && c2->local == 0);
	for (unsigned i = 0; i < 3; i++) {
		CHECK_EQ(sw.port[i].c.to_port_frames, sinks[i].frames);
		CHECK_EQ(sw.port[i].c.to_port_bytes, sinks[i].bytes);
	}
}

static void test_format(void)
{
	char line[VSWITCH_LINE_MAX], small[20];
	const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
	unsigned pos = 0, n = 0;

	vswitch_init(&sw);
	memset(sinks, 0, sizeof(sinks));
	vswitch_port_add(&sw, "alpha", mac, deliver, &sinks[0]);
	vswitch_port_add(&sw, "gone", mac, deliver, &sinks[1]);
	vswitch_port_add(&sw, "linux", MB, deliver, &sinks[2]);
	vswitch_port_up(&sw, 0);
	vswitch_port_remove(&sw, 1);
	send(0, BCAST, MA, 60);         /* to port 2, down: a drop */
	send(0, BCAST, MA, 70);
	CHECK(vswitch_format(&sw, &pos, line, sizeof(line)));
	CHECK(!strncmp(line, "PORT NAME", 9));
	CHECK(strstr(line, "FROM-FRAMES") && strstr(line, "TO-BYTES") && strstr(line, "LOCAL"));
	CHECK(vswitch_format(&sw, &pos, line, sizeof(line)));
	CHECK_MSG(!strcmp(line, "0    alpha            52:54:00:ab:cd:ef up             2"
			  "          130           0            0        0        0        0"),
		  "%s", line);
	CHECK(vswitch_format(&sw, &pos, line, sizeof(line)));
	CHECK_MSG(!strncmp(line, "2    linux            52:54:00:00:00:0b down           0"
			   "            0           0            0        2", 72), "%s", line);
	while (vswitch_format(&sw, &pos, line, sizeof(line)))
		n++;
	CHECK_EQ(n, 0);
	CHECK(!vswitch_format(&sw, &pos, line, sizeof(line)));   /* stays done */
	pos = 2;
	CHECK(vswitch_format(&sw, &pos, small, sizeof(small)));  /* truncated, terminated */
	CHECK_EQ(strlen(small), sizeof(small) - 1);
	CHECK(!strncmp(small, "2    linux", 10));
}

int main(void)
{
	test_ports();
	test_learn_flood_unicast();
	test_group_destinations();
	test_no_reflection();
	test_mac_move();
	test_table_full();
	test_port_down();
	test_no_buffer();
	test_bad_source();
	test_lengths();
	test_counters();
	test_format();
	return unit_finish("test_vswitch");
}
