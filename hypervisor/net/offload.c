/*
 * Software checksum and TCP segmentation (see net/offload.h). Offsets are
 * the frame's; fields are big-endian as on the wire. Header layouts: IPv4
 * RFC 791 3.1, IPv6 RFC 8200 3, TCP RFC 9293 3.1, the pseudo-headers RFC
 * 9293 3.1 and RFC 8200 8.1.
 */
#include <lib/string.h>
#include <net/offload.h>

#define ETH_HLEN        14
#define ETH_P_8021Q     0x8100
#define ETH_P_IP        0x0800
#define ETH_P_IPV6      0x86dd
#define IPPROTO_TCP     6
#define IPV6_HLEN       40
#define TCP_HLEN_MIN    20
#define TCP_FIN         0x01
#define TCP_PSH         0x08
#define TCP_CWR         0x80

/* Field offsets inside their headers. */
#define IP4_TOT_LEN     2
#define IP4_ID          4
#define IP4_PROTO       9
#define IP4_CSUM        10
#define IP4_SADDR       12          /* then daddr: 8 bytes of addresses */
#define IP6_PLEN        4
#define IP6_NEXT        6
#define IP6_SADDR       8           /* then daddr: 32 bytes of addresses */
#define TCP_SEQ         4
#define TCP_DOFF        12
#define TCP_FLAGS       13
#define TCP_CSUM        16

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

uint32_t inet_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += get16(p + i);
	if (i < len)
		s += (uint32_t)p[i] << 8;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

uint16_t inet_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

bool tso_parse(struct tso *t, const uint8_t *frame, size_t len, bool ipv6, uint16_t l4,
	       uint16_t mss, size_t max_segment)
{
	uint16_t l3 = ETH_HLEN, type;
	unsigned hdr_len;

	if (len < ETH_HLEN + 4)
		return false;
	type = get16(frame + 12);
	if (type == ETH_P_8021Q) {
		l3 += 4;
		type = get16(frame + 16);
	}
	if (ipv6) {
		if (type != ETH_P_IPV6 || l4 != l3 + IPV6_HLEN || len < l4 ||
		    frame[l3] >> 4 != 6 || frame[l3 + IP6_NEXT] != IPPROTO_TCP)
			return false;
	} else {
		if (type != ETH_P_IP || len < l3 + 20u || frame[l3] >> 4 != 4 ||
		    (frame[l3] & 0xf) < 5 || l4 != l3 + 4u * (frame[l3] & 0xf) ||
		    frame[l3 + IP4_PROTO] != IPPROTO_TCP)
			return false;
	}
	if (len < (size_t)l4 + TCP_HLEN_MIN || frame[l4 + TCP_DOFF] >> 4 < 5)
		return false;
	hdr_len = l4 + 4u * (frame[l4 + TCP_DOFF] >> 4);
	if (hdr_len >= len || !mss || hdr_len + mss > max_segment)
		return false;
	*t = (struct tso){ .frame = frame, .len = len, .ipv6 = ipv6, .l3 = l3, .l4 = l4,
			   .hdr_len = (uint16_t)hdr_len, .mss = mss };
	t->segments = (unsigned)((len - hdr_len + mss - 1) / mss);
	return true;
}

/* The TCP checksum of the segment in out: pseudo-header, header, payload. */
static void tcp_csum(const struct tso *t, uint8_t *out, size_t len)
{
	uint32_t sum, tcp_len = (uint32_t)(len - t->l4);
	uint8_t tail[4];

	put16(out + t->l4 + TCP_CSUM, 0);
	if (t->ipv6) {
		sum = inet_csum_add(0, out + t->l3 + IP6_SADDR, 32);
		put32(tail, tcp_len);
		sum = inet_csum_add(sum, tail, 4);
	} else {
		sum = inet_csum_add(0, out + t->l3 + IP4_SADDR, 8);
		put16(tail, (uint16_t)tcp_len);
		sum = inet_csum_add(sum, tail, 2);
	}
	put16(tail, IPPROTO_TCP);
	sum = inet_csum_add(sum, tail, 2);
	sum = inet_csum_add(sum, out + t->l4, tcp_len);
	put16(out + t->l4 + TCP_CSUM, inet_csum_fold(sum));
}

size_t tso_segment(const struct tso *t, unsigned i, uint8_t *out)
{
	size_t off = (size_t)i * t->mss, payload = t->len - t->hdr_len - off;
	uint8_t *ip = out + t->l3, *tcp = out + t->l4;
	size_t len;

	if (payload > t->mss)
		payload = t->mss;
	len = t->hdr_len + payload;
	memcpy(out, t->frame, t->hdr_len);
	memcpy(out + t->hdr_len, t->frame + t->hdr_len + off, payload);
	if (t->ipv6) {
		put16(ip + IP6_PLEN, (uint16_t)(len - t->l3 - IPV6_HLEN));
	} else {
		put16(ip + IP4_TOT_LEN, (uint16_t)(len - t->l3));
		put16(ip + IP4_ID, (uint16_t)(get16(ip + IP4_ID) + i));
		put16(ip + IP4_CSUM, 0);
		put16(ip + IP4_CSUM, inet_csum_fold(inet_csum_add(0, ip, t->l4 - t->l3)));
	}
	put32(tcp + TCP_SEQ, get32(tcp + TCP_SEQ) + (uint32_t)off);
	if (i + 1 < t->segments)
		tcp[TCP_FLAGS] &= (uint8_t)~(TCP_FIN | TCP_PSH);
	if (i)
		tcp[TCP_FLAGS] &= (uint8_t)~TCP_CWR;
	tcp_csum(t, out, len);
	return len;
}
