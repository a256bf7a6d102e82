/* Software offloads: the Internet checksum against RFC 1071's worked
 * example, and TCP segmentation of IPv4, IPv6 and VLAN-tagged TSO frames,
 * each segment checked by an independent parse (lengths, IPv4 identifier
 * and header checksum, sequence numbers, flags, TCP checksum recomputed
 * here byte by byte, the payload put back together); malformed frames are
 * refused; random frames never make tso_segment write past its bound. */
// UNIT-SOURCES: hypervisor/net/offload.c
#include <stdlib.h>
#include <string.h>
#include <net/offload.h>
#include "unit.h"

#define MTU_FRAME 1518

static uint8_t frame[65600];
static uint8_t seg[MTU_FRAME + 64];     /* the tail is a guard */
static uint8_t joined[65600];

static unsigned be16(const uint8_t *p) { return (unsigned)(p[0] << 8 | p[1]); }

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The oracle's ones' complement sum: a byte at a time, even offsets high. */
static uint32_t sum_bytes(uint32_t s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	return s;
}

static unsigned folded(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Ethernet (+ tag), IP, 32-byte TCP header (12 bytes of options), payload. */
static size_t build(bool v6, bool vlan, size_t payload, uint8_t tcp_flags, uint16_t *l4)
{
	size_t l3 = vlan ? 18 : 14, tcp, len;

	memset(frame, 0, sizeof(frame));
	memcpy(frame, "\x52\x54\x00\x4b\x00\x01\x52\x54\x00\x4b\x00\x00", 12);
	if (vlan)
		memcpy(frame + 12, "\x81\x00\x00\x05", 4);
	memcpy(frame + l3 - 2, v6 ? "\x86\xdd" : "\x08\x00", 2);
	if (v6) {
		frame[l3] = 0x60;
		frame[l3 + 6] = 6;
		frame[l3 + 7] = 64;
		for (int i = 0; i < 32; i++)
			frame[l3 + 8 + i] = (uint8_t)(0xa0 + i);
		tcp = l3 + 40;
	} else {
		frame[l3] = 0x46;                       /* ihl 6: 4 bytes of options */
		frame[l3 + 4] = 0xff;                   /* id 0xfffe: wraps */
		frame[l3 + 5] = 0xfe;
		frame[l3 + 8] = 64;
		frame[l3 + 9] = 6;
		memcpy(frame + l3 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
		memcpy(frame + l3 + 20, "\x01\x01\x01\x00", 4);
		tcp = l3 + 24;
	}
	memcpy(frame + tcp, "\x30\x39\x00\x50\xff\xff\xf0\x00\x00\x00\x00\x01", 12);
	frame[tcp + 12] = 8 << 4;
	frame[tcp + 13] = tcp_flags;
	frame[tcp + 16] = 0x12;                 /* a partial sum the segmenter replaces */
	len = tcp + 32 + payload;
	for (size_t i = tcp + 32; i < len; i++)
		frame[i] = (uint8_t)(i * 13 + 7);
	*l4 = (uint16_t)tcp;
	return len;
}

/* Every segment of a parsed frame, checked on its own and put together. */
static void check_segments(const struct tso *t, size_t payload, uint8_t tcp_flags)
{
	size_t at = 0;

	for (unsigned i = 0; i < t->segments; i++) {
		const uint8_t *ip = seg + t->l3, *tcp = seg + t->l4;
		size_t n, want = payload - at < t->mss ? payload - at : t->mss;
		uint32_t s;

		memset(seg, 0xee, sizeof(seg));
		n = tso_segment(t, i, seg);
		CHECK_EQ(n, t->hdr_len + want);
		CHECK_EQ(seg[MTU_FRAME], 0xee);
		CHECK(!memcmp(seg, frame, t->l3));                       /* Ethernet as sent */
		if (t->ipv6) {
			CHECK_EQ(be16(ip + 4), n - t->l3 - 40);
			s = sum_bytes(0, ip + 8, 32);
			s += (uint32_t)(n - t->l4) + 6;
		} else {
			CHECK_EQ(be16(ip + 2), n - t->l3);
			CHECK_EQ(be16(ip + 4), (0xfffe + i) & 0xffff);
			CHECK_EQ(folded(sum_bytes(0, ip, t->l4 - t->l3)), 0xffff);
			s = sum_bytes(0, ip + 12, 8);
			s += (uint32_t)(n - t->l4) + 6;
		}
		CHECK_EQ(folded(sum_bytes(s, tcp, n - t->l4)), 0xffff);
		CHECK_EQ(be32(tcp + 4), (uint32_t)(0xfffff000u + at));  /* wraps past 2^32 */
		CHECK_EQ(tcp[13] & 0x01, i + 1 == t->segments ? (tcp_flags & 0x01) : 0);  /* FIN */
		CHECK_EQ(tcp[13] & 0x08, i + 1 == t->segments ? (tcp_flags & 0x08) : 0);  /* PSH */
		CHECK_EQ(tcp[13] & 0x80, i == 0 ? (tcp_flags & 0x80) : 0);                /* CWR */
		CHECK_EQ(tcp[13] & 0x10, tcp_flags & 0x10);                               /* ACK */
		memcpy(joined + at, seg + t->hdr_len, n - t->hdr_len);
		at += n - t->hdr_len;
	}
	CHECK_EQ(at, payload);
	CHECK(!memcmp(joined, frame + t->hdr_len, payload));
}

static void test_checksum(void)
{
	/* RFC 1071 4.1: these bytes sum to ddf2 (folded); the checksum is its complement. */
	static const uint8_t b[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	CHECK_EQ(inet_csum_fold(inet_csum_add(0, b, 8)), 0x220d);
	CHECK_EQ(inet_csum_fold(inet_csum_add(inet_csum_add(0, b, 4), b + 4, 4)), 0x220d);
	CHECK_EQ(inet_csum_fold(inet_csum_add(0, b, 3)), (uint16_t)~(0x0001 + 0xf200));
}

static void test_segment(bool v6, bool vlan, size_t payload, uint16_t mss)
{
	struct tso t;
	uint16_t l4;
	size_t len = build(v6, vlan, payload, 0x99, &l4);   /* CWR ACK PSH FIN */

	CHECK(tso_parse(&t, frame, len, v6, l4, mss, MTU_FRAME));
	CHECK_EQ(t.hdr_len, l4 + 32);
	CHECK_EQ(t.segments, (payload + mss - 1) / mss);
	check_segments(&t, payload, 0x99);
}

static void test_refused(void)
{
	struct tso t;
	uint16_t l4;
	size_t len = build(false, false, 3000, 0x10, &l4);

	CHECK(tso_parse(&t, frame, len, false, l4, 1448, MTU_FRAME));
	CHECK(!tso_parse(&t, frame, len, true, l4, 1448, MTU_FRAME));       /* type mismatch */
	CHECK(!tso_parse(&t, frame, len, false, l4 - 4, 1448, MTU_FRAME));  /* not after ihl */
	CHECK(!tso_parse(&t, frame, len, false, l4, 0, MTU_FRAME));         /* no mss */
	CHECK(!tso_parse(&t, frame, len, false, l4, 1449, MTU_FRAME));      /* 70 + 1449 > 1518 */
	CHECK(!tso_parse(&t, frame, l4 + 32, false, l4, 1448, MTU_FRAME));  /* no payload */
	CHECK(!tso_parse(&t, frame, l4 + 19, false, l4, 1448, MTU_FRAME));  /* TCP cut short */
	CHECK(!tso_parse(&t, frame, 17, false, l4, 1448, MTU_FRAME));
	frame[14 + 9] = 17;                                                  /* UDP */
	CHECK(!tso_parse(&t, frame, len, false, l4, 1448, MTU_FRAME));
	frame[14 + 9] = 6;
	frame[l4 + 12] = 4 << 4;                                             /* doff 4 */
	CHECK(!tso_parse(&t, frame, len, false, l4, 1448, MTU_FRAME));
	frame[l4 + 12] = 15 << 4;                                            /* 60 bytes */
	CHECK(!tso_parse(&t, frame, len, false, l4, 1448, MTU_FRAME));
	CHECK(tso_parse(&t, frame, len, false, l4, 1420, MTU_FRAME));
	frame[14] = 0x56;                                                    /* version 5 */
	CHECK(!tso_parse(&t, frame, len, false, l4, 1448, MTU_FRAME));
	len = build(true, false, 3000, 0x10, &l4);
	frame[14 + 6] = 0;                                    /* a hop-by-hop header first */
	CHECK(!tso_parse(&t, frame, len, true, l4, 1448, MTU_FRAME));
}

/* Random bytes and parameters: parsed or not, a segment stays in bounds
 * and the payload comes back whole. */
static void test_random(void)
{
	unsigned ok = 0;

	srand(7);
	for (int round = 0; round < 3000; round++) {
		bool v6 = rand() & 1;
		uint16_t l4, mss = (uint16_t)(rand() % 1600);
		size_t payload = (size_t)(rand() % 9000), len;
		struct tso t;

		len = build(v6, rand() & 1, payload, (uint8_t)rand(), &l4);
		for (int k = rand() % 3; k > 0; k--)
			frame[rand() % (l4 + 32)] = (uint8_t)rand();
		if (!tso_parse(&t, frame, len, v6, (uint16_t)(l4 + (rand() % 8 == 0)), mss,
			       MTU_FRAME))
			continue;
		ok++;
		for (unsigned i = 0; i < t.segments; i++) {
			seg[MTU_FRAME] = 0xee;
			CHECK(tso_segment(&t, i, seg) <= (size_t)t.hdr_len + t.mss);
			CHECK_EQ(seg[MTU_FRAME], 0xee);
		}
	}
	CHECK_MSG(ok > 1000, "only %u random frames parsed", ok);
}

int main(void)
{
	test_checksum();
	test_segment(false, false, 64000, 1448);
	test_segment(false, true, 5000, 1444);             /* 74 bytes of headers */
	test_segment(true, false, 64000, 1428);
	test_segment(true, true, 100, 1400);               /* one segment */
	test_segment(false, false, 2897, 1448);            /* a last segment of one byte */
	test_refused();
	test_random();
	return unit_finish("test_offload");
}
