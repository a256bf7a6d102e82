// SPDX-License-Identifier: MIT
// FUZZ-SOURCES: hypervisor/net/vswitch.c hypervisor/lib/printk.c
// FUZZ-OPTIONS: -max_len=512
// FUZZ-CFLAGS: -fno-sanitize-coverage=trace-cmp
// libFuzzer target for the virtual Ethernet switch (hypervisor/net/vswitch.c):
// what the guests' NICs send decides everything it does.
//
// The input is byte 0, the number of ports added first (1..16), bytes 1-2,
// which of them are up, then operations of a few bytes each:
//   op & 7 = 0..2  send: port (0..17: 16, 17 are bad), source, destination, length
//            3     port down      4  port up      5  remove the port, or add one
//            6     set which receivers have no buffer (2 bytes, a bit a port)
//            7     burst: port, count (1..256), base: that many frames from
//                  distinct source MACs, each to the one before (fills the table;
//                  at most 320 burst frames an input, to keep runs fast)
// A source or destination byte picks one of 64 unicast addresses, or the
// broadcast, a multicast or the zero address; burst addresses are others.
// The switch's table scans compare a key with each of 256 entries: traced
// comparisons (libFuzzer's trace-cmp) guide nothing here, since the harness
// picks the addresses, and cost half the run: built without them (about
// 3,600 executions a second instead of 1,700 on the same corpus).
//
// After each send the harness checks the verdict and every port's counters
// against what the switch must have done, given the table as it is after the
// send (learning comes before forwarding): nothing reaches the source port,
// a down port or a free slot; a unicast reaches exactly its learned port, a
// flood every other port once (a down one counting a drop); to_port counts
// exactly the deliveries the receivers took, drops those they refused plus
// those to down ports; refused frames are counted as errors and not learned.
// A source address is then the most recently seen; a new one takes a free
// table entry, or else the least recently seen one's. After each operation no
// table entry names a port that is down or free. At the end, the console
// listing (the hypervisor's own vsnprintf) has a header and a line per port.
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <net/vswitch.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NPORTS VSWITCH_MAX_PORTS
/* The oracle's table scans are no help in finding inputs and cost most of
 * the run time in comparison tracing: not instrumented for coverage. */
#define ORACLE __attribute__((no_sanitize("coverage")))

static struct vswitch sw;
/* Built here, sent from a copy of exactly its length. */
static uint8_t frame[VSWITCH_FRAME_MAX + 1];
static const uint8_t *sent;
static int port_id[NPORTS];
static uint16_t no_buffer;      /* receivers that refuse, a bit a port */
static unsigned sending = ~0u;  /* the source port during vswitch_send */
static size_t sent_len;
static unsigned took[NPORTS], refused[NPORTS];
static unsigned burst_budget;

static bool deliver(void *opaque, const void *f, size_t len, const void *meta)
{
	unsigned p = (unsigned)*(int *)opaque;

	if (meta != &sent_len)
		abort();                /* the sender's meta, untouched */
	if (sending >= NPORTS || p == sending || !sw.port[p].in_use || !sw.port[p].up)
		abort();                /* to the source, a down or free port, or not now */
	if (f != sent || len != sent_len)
		abort();
	if (took[p] + refused[p])
		abort();                /* twice for one frame */
	if (no_buffer >> p & 1) {
		refused[p]++;
		return false;
	}
	took[p]++;
	return true;
}

static void mac_pick(uint8_t *mac, uint8_t sel)
{
	static const uint8_t special[4][6] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 },
		{ 0 },
	};

	if (sel >= 0xf0) {
		memcpy(mac, special[sel & 3], 6);
		return;
	}
	memcpy(mac, (uint8_t[6]){ 0x02, 0, 0, 0, 0, sel & 0x3f }, 6);
}

static size_t len_pick(uint8_t sel)
{
	static const size_t edge[] = { 0, 13, 14, 1519, VSWITCH_FRAME_MAX, VSWITCH_FRAME_MAX + 1 };

	return sel < 6 ? edge[sel] : 14 + (size_t)sel * 6;  /* up to 1544 */
}

/* The table's form of an address: its bytes, the first lowest. */
ORACLE static uint64_t key_of(const uint8_t *mac)
{
	uint64_t k = 0;

	memcpy(&k, mac, 6);     /* little-endian host */
	return k;
}

/* Entries in use, and the one seen least recently (the next to go). */
ORACLE static unsigned table_use(uint64_t *oldest)
{
	unsigned n = 0;
	int o = -1;

	for (int i = 0; i < VSWITCH_MAC_ENTRIES; i++) {
		if (!sw.mac[i])
			continue;
		n++;
		if (o < 0 || sw.mac_seen[i] < sw.mac_seen[o])
			o = i;
	}
	*oldest = o < 0 ? 0 : sw.mac[o];
	return n;
}

ORACLE static int table_find(uint64_t key)
{
	for (int i = 0; i < VSWITCH_MAC_ENTRIES; i++)
		if (sw.mac[i] == key)
			return i;
	return -1;
}

/* The port an address was learned on, as vswitch_lookup says, read from the
 * table here: the harness's lookups are most of its run, and instrumented
 * they cost a traced comparison an entry. */
ORACLE static int port_of(const uint8_t *mac)
{
	int i = mac[0] & 1 ? -1 : table_find(key_of(mac));

	return i < 0 || !key_of(mac) ? -1 : sw.mac_port[i];
}

ORACLE static void check_send(unsigned port, const uint8_t *dst, const uint8_t *src, size_t len)
{
	struct vswitch_counters before[NPORTS];
	bool was_up[NPORTS], used[NPORTS];
	uint64_t clock = sw.clock;
	enum vswitch_verdict v, want;
	uint64_t oldest, ignored;
	unsigned in_use = table_use(&oldest);
	bool known = port_of(src) >= 0;
	uint8_t *copy;
	int to = -1, s;

	for (unsigned p = 0; p < NPORTS; p++) {
		before[p] = sw.port[p].c;
		was_up[p] = sw.port[p].up;
		used[p] = sw.port[p].in_use;
	}
	memcpy(frame, dst, 6);
	memcpy(frame + 6, src, 6);
	memset(took, 0, sizeof(took));
	memset(refused, 0, sizeof(refused));
	sent = copy = malloc(len + !len);
	memcpy(copy, frame, len);
	sending = port;
	sent_len = len;
	v = vswitch_send(&sw, port, copy, len, &sent_len);
	sending = ~0u;
	free(copy);

	if (port >= NPORTS || !used[port])
		want = VSWITCH_BAD_PORT;
	else if (!was_up[port] || len < VSWITCH_FRAME_MIN || len > VSWITCH_FRAME_MAX ||
		 (src[0] & 1) || !memcmp(src, (uint8_t[6]){ 0 }, 6))
		want = VSWITCH_REFUSED;
	else {
		if (port_of(src) != (int)port)
			abort();        /* not learned */
		/* A new address takes a free entry, or the least recently seen. */
		if (table_use(&ignored) != in_use + (!known && in_use < VSWITCH_MAC_ENTRIES) ||
		    (!known && in_use == VSWITCH_MAC_ENTRIES && table_find(oldest) >= 0))
			abort();
		/* ... and is now the most recently seen. */
		s = table_find(key_of(src));
		if (s < 0 || sw.clock != clock + 1 || sw.mac_seen[s] != sw.clock)
			abort();
		to = port_of(dst);
		want = to == (int)port ? VSWITCH_LOCAL
		     : to >= 0         ? VSWITCH_UNICAST : VSWITCH_FLOODED;
	}
	if (v != want)
		abort();
	if ((want == VSWITCH_BAD_PORT || want == VSWITCH_REFUSED) && sw.clock != clock)
		abort();                /* learned from a frame it refused */
	for (unsigned p = 0; p < NPORTS; p++) {
		const struct vswitch_counters *b = &before[p], *c = &sw.port[p].c;
		bool src_port = p == port && want != VSWITCH_BAD_PORT;
		bool target = (want == VSWITCH_UNICAST && (int)p == to) ||
			      (want == VSWITCH_FLOODED && used[p] && p != port);
		unsigned down_drop = target && !was_up[p];

		if (took[p] + refused[p] != (target && was_up[p]))
			abort();
		if (c->to_port_frames != b->to_port_frames + took[p] ||
		    c->to_port_bytes != b->to_port_bytes + took[p] * len ||
		    c->drops != b->drops + refused[p] + down_drop)
			abort();
		if (c->from_port_frames != b->from_port_frames + src_port ||
		    c->from_port_bytes != b->from_port_bytes + src_port * len ||
		    c->errors != b->errors + (src_port && want == VSWITCH_REFUSED) ||
		    c->local != b->local + (src_port && want == VSWITCH_LOCAL))
			abort();
	}
}

/* Learned addresses belong to ports that are in use and up. */
ORACLE static void check_table(void)
{
	for (unsigned i = 0; i < VSWITCH_MAC_ENTRIES; i++) {
		unsigned p = sw.mac_port[i];

		if (sw.mac[i] && (p >= NPORTS || !sw.port[p].in_use || !sw.port[p].up ||
				  (sw.mac[i] & 1)))
			abort();
	}
}

ORACLE static void check_format(size_t len)
{
	char line[VSWITCH_LINE_MAX];
	unsigned pos = 0, lines = 0, ports = 0;

	memset(line, 'x', sizeof(line));
	while (vswitch_format(&sw, &pos, line, len)) {
		if (memchr(line, 0, len) == NULL || ++lines > NPORTS + 1)
			abort();
	}
	for (unsigned p = 0; p < NPORTS; p++)
		ports += sw.port[p].in_use;
	if (lines != ports + 1)
		abort();
}

static void burst(unsigned port, unsigned count, unsigned base)
{
	uint8_t src[6] = { 0x02, 0, 0, 1 }, dst[6];

	for (unsigned i = 0; i < count && burst_budget; i++, burst_budget--) {
		unsigned n = (base + i) & 0x3ff;

		memcpy(dst, src, 6);
		src[4] = (uint8_t)(n >> 8);
		src[5] = (uint8_t)n;
		check_send(port, i ? dst : (const uint8_t[6]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
			   src, 60);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t own[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x00 };
	size_t i = 3;

	if (size < 3)
		return 0;
	vswitch_init(&sw);
	no_buffer = 0;
	burst_budget = 320;
	for (unsigned p = 0; p < NPORTS; p++)
		port_id[p] = (int)p;
	for (unsigned p = 0; p <= data[0] % NPORTS; p++) {
		if (vswitch_port_add(&sw, "vm", own, deliver, &port_id[p]) != (int)p)
			abort();
		if ((data[1] | data[2] << 8) >> p & 1)
			vswitch_port_up(&sw, p);
	}
	while (i < size) {
		uint8_t op = data[i++] & 7;
		const uint8_t *a = data + i;            /* the operands, when there are enough */
		uint8_t src[6], dst[6];
		int p;

		if (op <= 2 && size - i >= 4) {
			mac_pick(src, a[1]);
			mac_pick(dst, a[2]);
			check_send(a[0] % (NPORTS + 2), dst, src, len_pick(a[3]));
			i += 4;
		} else if (op == 3 && size - i >= 1) {
			vswitch_port_down(&sw, a[0] % (NPORTS + 2));
			i++;
		} else if (op == 4 && size - i >= 1) {
			vswitch_port_up(&sw, a[0] % (NPORTS + 2));
			i++;
		} else if (op == 5 && size - i >= 1) {
			p = a[0] % NPORTS;
			if (sw.port[p].in_use) {
				vswitch_port_remove(&sw, (unsigned)p);
				if (sw.port[p].in_use)
					abort();
			} else {
				for (p = 0; sw.port[p].in_use; p++)
					;       /* the first free slot is the one taken */
				if (vswitch_port_add(&sw, "new", own, deliver, &port_id[p]) != p ||
				    sw.port[p].up || sw.port[p].c.from_port_frames)
					abort();
			}
			i++;
		} else if (op == 6 && size - i >= 2) {
			no_buffer = (uint16_t)(a[0] | a[1] << 8);
			i += 2;
		} else if (op == 7 && size - i >= 3) {
			burst(a[0] % NPORTS, a[1] + 1u, a[2] * 4u);
			i += 3;
		} else {
			break;
		}
		check_table();
	}
	check_format(data[2] % VSWITCH_LINE_MAX + 1);
	return 0;
}
