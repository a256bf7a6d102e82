// SPDX-License-Identifier: MIT
// FUZZ-SOURCES: hypervisor/virtio/virtq.c
// libFuzzer target for the virtqueue walker (hypervisor/virtio/virtq.c),
// the code a guest's virtio driver, or a hostile guest, feeds directly.
//
// The input is a 16-byte header (queue size exponent, feature bits, the
// three ring addresses as 16-bit page-granular offsets with a sub-page
// part, the avail index) followed by the contents of a 16 KiB guest RAM.
// Guest RAM sits between two PROT_NONE pages, so a read or write outside it
// is a SEGV report (ASan sees the rest). The device side then pops chains
// until the queue is empty or broken, reading and writing every segment
// and pushing each chain back, as a device would. Checked: every segment
// the walker accepts lies in guest RAM, readable segments come first,
// reported lengths add up, a broken queue gives a reason, and the walk
// always ends (at most 2^16 pops).
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <virtio/virtq.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE (16u << 10)
#define HDR 16

static uint8_t *guest_ram(void)
{
	static uint8_t *arena;

	if (!arena) {
		arena = mmap(NULL, RAM_SIZE + 2 * 4096, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (arena == MAP_FAILED)
			abort();
		mprotect(arena, 4096, PROT_NONE);
		mprotect(arena + 4096 + RAM_SIZE, 4096, PROT_NONE);
	}
	return arena + 4096;
}

static uint16_t u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *mem = guest_ram();
	struct guest_ram ram = { mem, RAM_SIZE };
	struct virtq q;
	struct virtq_elem e;
	static uint8_t buf[RAM_SIZE];
	const char *why;
	unsigned pops = 0;

	if (size < HDR)
		return 0;
	memset(mem, 0, RAM_SIZE);
	memcpy(mem, data + HDR, size - HDR > RAM_SIZE ? RAM_SIZE : size - HDR);
	q = (struct virtq){
		.size = (uint16_t)(1u << (data[0] % 17)),        /* 1..65536: bad sizes too */
		.event_idx = data[1] & 1, .indirect = data[1] & 2,
		.desc = u16(data + 2) | (uint64_t)(data[8] & 3) << 16,
		.avail = u16(data + 4) | (uint64_t)(data[9] & 3) << 16,
		.used = u16(data + 6) | (uint64_t)(data[10] & 3) << 16,
		.last_avail = u16(data + 11), .used_idx = u16(data + 13),
	};
	for (;;) {
		enum virtq_result r = virtq_pop(&q, &ram, &e, &why);
		uint64_t out = 0, in = 0;

		if (r == VIRTQ_BROKEN) {
			if (!why || !*why)
				abort();                       /* a broken queue names its reason */
			break;
		}
		if (r == VIRTQ_EMPTY || ++pops > 65536)
			break;
		if (e.nr_out + e.nr_in > VIRTQ_MAX_SEGS)
			abort();
		for (unsigned i = 0; i < e.nr_out + e.nr_in; i++) {
			if (e.seg[i].gpa > RAM_SIZE || e.seg[i].len > RAM_SIZE - e.seg[i].gpa)
				abort();                       /* a segment outside guest RAM */
			*(i < e.nr_out ? &out : &in) += e.seg[i].len;
		}
		if (out != e.out_len || in != e.in_len)
			abort();
		if (virtq_read(&ram, &e, data[15], buf, sizeof(buf)) >
		    (e.out_len > data[15] ? e.out_len - data[15] : 0))
			abort();
		if (virtq_write(&ram, &e, 0, buf, e.in_len > sizeof(buf) ? sizeof(buf) : e.in_len) !=
		    (e.in_len > sizeof(buf) ? sizeof(buf) : e.in_len))
			abort();
		/* The walk may have changed the rings (writes into guest RAM): the
		 * next pop must still hold, whatever they say now. */
		virtq_push(&q, &ram, e.head, (uint32_t)e.in_len);
		virtq_should_interrupt(&q, &ram);
		virtq_set_notify(&q, &ram, pops & 1);
	}
	return 0;
}
