/*
 * What a NIC's offloads do, done in software where a port cannot take
 * them: the Internet checksum (RFC 1071) and TCP segmentation of a large
 * send (the GSO frames of virtio-net's HOST_TSO4/6, virtio 1.2, 5.1.6.2)
 * into frames a receiver without GUEST_TSO4/6 can take. Pure and
 * freestanding; host-tested by tests/unit/test_offload.c.
 *
 * A TSO frame is one Ethernet frame (an optional 802.1Q tag) holding one
 * IPv4 or IPv6 packet whose TCP payload is cut into mss-byte segments. Each
 * segment gets the frame's headers with the lengths, the IPv4 identifier
 * and header checksum, the TCP sequence number and flags fixed, and a
 * complete TCP checksum, as the segmentation a NIC does (Linux's
 * tcp_gso_segment is the reference behaviour: FIN and PSH on the last
 * segment only, CWR on the first only).
 */
#ifndef NET_OFFLOAD_H
#define NET_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Adds bytes to a ones' complement sum of 16-bit big-endian words; an odd
 * trailing byte is padded with zero. Chain calls only at even offsets. */
uint32_t inet_csum_add(uint32_t sum, const uint8_t *p, size_t len);
/* The checksum of a sum: folded to 16 bits and complemented. */
uint16_t inet_csum_fold(uint32_t sum);

struct tso {
	const uint8_t *frame;
	size_t len;
	bool ipv6;
	uint16_t l3;                /* offset of the IP header: 14, or 18 after a VLAN tag */
	uint16_t l4;                /* offset of the TCP header */
	uint16_t hdr_len;           /* all headers: l4 + the TCP data offset */
	uint16_t mss;               /* payload bytes per segment */
	unsigned segments;
};

/*
 * Checks a TSO frame and fills t: an IPv4 (ihl from 5) or IPv6 (no
 * extension headers) packet carrying TCP at l4 (the driver's csum_start),
 * every header inside the frame (the IP length fields are rewritten, not
 * checked), at least one payload byte, mss from 1, and hdr_len + mss at most max_segment. Returns
 * false when the frame is not one (the frame is then refused whole).
 */
bool tso_parse(struct tso *t, const uint8_t *frame, size_t len, bool ipv6, uint16_t l4,
	       uint16_t mss, size_t max_segment);
/* Segment i (from 0 to t->segments - 1) into out, which holds at least
 * hdr_len + mss bytes; returns its length. */
size_t tso_segment(const struct tso *t, unsigned i, uint8_t *out);

#endif
