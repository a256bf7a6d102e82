/*
 * Split virtqueues, the device side (virtio 1.2, 2.7): pure code over a
 * window of guest RAM, host-tested (tests/unit/test_virtq.c) and fuzzed
 * (tests/fuzz/fuzz_virtq.c), independent of the transport (PCI or MMIO)
 * and of the device.
 *
 * Everything in the rings is the guest's and may change under our feet:
 * each field is read once, into a local copy, and checked there. A queue
 * that breaks the rules (a descriptor outside guest RAM, a loop, a nested
 * indirect table, an avail index that jumps by more than the queue size,
 * ...) makes virtq_pop return VIRTQ_BROKEN with the reason; the device
 * then sets DEVICE_NEEDS_RESET (2.1.2) and touches the queue no more.
 */
#ifndef VIRTIO_VIRTQ_H
#define VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Guest-physical [0, size) as the hypervisor sees it, at `base`. */
struct guest_ram {
	uint8_t *base;
	uint64_t size;
};

#define VIRTQ_MAX_SIZE      32768u  /* queue sizes are powers of 2 up to this (2.7) */
#define VIRTQ_MAX_SEGS      128u    /* buffers per chain Kestrel accepts (seg_max + 2) */

/* struct virtq_desc (2.7.5) */
#define VIRTQ_DESC_F_NEXT      1u
#define VIRTQ_DESC_F_WRITE     2u
#define VIRTQ_DESC_F_INDIRECT  4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u   /* 2.7.7 */
#define VIRTQ_USED_F_NO_NOTIFY     1u   /* 2.7.10 */

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == 16, "virtio 1.2, 2.7.5");

/* One queue as the driver configured it through the transport. */
struct virtq {
	uint16_t size;                 /* 0: not enabled */
	bool event_idx;                /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;                 /* VIRTIO_F_INDIRECT_DESC negotiated */
	uint64_t desc, avail, used;    /* guest-physical addresses of the three parts */
	/* device state */
	uint16_t last_avail;           /* next avail ring entry to take */
	uint16_t used_idx;             /* our copy of used->idx */
	uint16_t signalled_used;       /* used->idx at the last interrupt */
	bool signalled_valid;
};

struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
};

/* A chain taken from the avail ring: device-readable segments first, then
 * device-writable ones (2.7.4.2). */
struct virtq_elem {
	uint16_t head;                 /* for virtq_push */
	uint16_t nr_out, nr_in;
	uint64_t out_len, in_len;      /* bytes readable / writable in all */
	struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

enum virtq_result { VIRTQ_EMPTY = 0, VIRTQ_OK = 1, VIRTQ_BROKEN = -1 };

/* Checks the layout the driver set (size, alignment, all three parts in
 * guest RAM) before the queue is enabled: NULL, or why not. */
const char *virtq_check_layout(const struct virtq *q, const struct guest_ram *ram);

/* Takes the next available chain into *e. VIRTQ_EMPTY when there is none;
 * VIRTQ_BROKEN with *why set when the queue breaks a rule. */
enum virtq_result virtq_pop(struct virtq *q, const struct guest_ram *ram,
			    struct virtq_elem *e, const char **why);

/* The rest take a queue whose layout virtq_check_layout accepted. */

/* Returns a chain to the driver with `written` bytes written into it. */
void virtq_push(struct virtq *q, const struct guest_ram *ram, uint16_t head, uint32_t written);

/* After pushes: does the driver want an interrupt now (NO_INTERRUPT flag,
 * or used_event with VIRTIO_F_EVENT_IDX: 2.7.7.2)? */
bool virtq_should_interrupt(struct virtq *q, const struct guest_ram *ram);

/* Asks the driver for notifications (or not) of new buffers: the
 * NO_NOTIFY flag, or avail_event with VIRTIO_F_EVENT_IDX (2.7.10). */
void virtq_set_notify(struct virtq *q, const struct guest_ram *ram, bool enable);

/* Copies up to `len` bytes from the chain's readable segments, starting
 * `off` bytes in, into buf; returns the bytes copied. */
size_t virtq_read(const struct guest_ram *ram, const struct virtq_elem *e, uint64_t off,
		  void *buf, size_t len);
/* Copies up to `len` bytes into the chain's writable segments, starting
 * `off` bytes in; returns the bytes copied. */
size_t virtq_write(const struct guest_ram *ram, const struct virtq_elem *e, uint64_t off,
		   const void *buf, size_t len);

/* 2.7.7.2: the event index has been passed between old and new. */
static inline bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

#endif
