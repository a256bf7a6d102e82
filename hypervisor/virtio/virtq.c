/*
 * Split virtqueues, the device side (see include/virtio/virtq.h).
 * Section numbers are those of the virtio 1.2 specification.
 */
#include <lib/string.h>
#include <virtio/virtq.h>

/* The guest may rewrite the rings at any time: copy a field out once and
 * keep the compiler from reading the guest's copy again. */
#define barrier() __asm__ volatile("" ::: "memory")

static bool in_ram(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
	return gpa <= ram->size && len <= ram->size - gpa;
}

/* Callers have checked the range with in_ram (directly or through
 * virtq_check_layout); the ring fields are naturally aligned there. */
static uint16_t load16(const struct guest_ram *ram, uint64_t gpa)
{
	return *(volatile const uint16_t *)(ram->base + gpa);
}

static void store16(const struct guest_ram *ram, uint64_t gpa, uint16_t v)
{
	*(volatile uint16_t *)(ram->base + gpa) = v;
}

/* Part sizes and alignments (2.7: table "Virtqueue Part Alignment"). */
static uint64_t desc_bytes(uint16_t n)  { return 16ull * n; }
static uint64_t avail_bytes(uint16_t n) { return 6 + 2ull * n; }
static uint64_t used_bytes(uint16_t n)  { return 6 + 8ull * n; }

const char *virtq_check_layout(const struct virtq *q, const struct guest_ram *ram)
{
	if (!q->size || q->size > VIRTQ_MAX_SIZE || (q->size & (q->size - 1)))
		return "queue size is not a power of 2 up to 32768";
	if ((q->desc & 15) || (q->avail & 1) || (q->used & 3))
		return "misaligned ring (descriptors 16, avail 2, used 4 bytes)";
	if (!in_ram(ram, q->desc, desc_bytes(q->size)))
		return "descriptor table outside guest RAM";
	if (!in_ram(ram, q->avail, avail_bytes(q->size)))
		return "available ring outside guest RAM";
	if (!in_ram(ram, q->used, used_bytes(q->size)))
		return "used ring outside guest RAM";
	return NULL;
}

static struct virtq_desc load_desc(const struct guest_ram *ram, uint64_t gpa)
{
	struct virtq_desc d;

	memcpy(&d, ram->base + gpa, sizeof(d));
	barrier();
	return d;
}

static const char *add_seg(struct virtq_elem *e, const struct virtq_desc *d,
			   const struct guest_ram *ram)
{
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;

	if (!in_ram(ram, d->addr, d->len))
		return "buffer outside guest RAM";
	if (!writable && e->nr_in)
		return "device-readable buffer after a device-writable one";
	if (e->nr_out + e->nr_in == VIRTQ_MAX_SEGS)
		return "chain longer than 128 buffers";
	e->seg[e->nr_out + e->nr_in] = (struct virtq_seg){ d->addr, d->len };
	if (writable) {
		e->nr_in++;
		e->in_len += d->len;
	} else {
		e->nr_out++;
		e->out_len += d->len;
	}
	return NULL;
}

/* The descriptors of an indirect table (2.7.5.3): in RAM, a whole number
 * of them, no nesting, each chain link inside the table, at most `n`
 * links in all (so a loop ends). */
static const char *walk_indirect(const struct guest_ram *ram, const struct virtq_desc *t,
				 struct virtq_elem *e)
{
	uint32_t n = t->len / 16, i = 0, steps = 0;

	if (t->flags & VIRTQ_DESC_F_NEXT)
		return "indirect descriptor with NEXT set";
	if (!t->len || (t->len & 15) || !in_ram(ram, t->addr, t->len))
		return "indirect table empty, of a partial descriptor, or outside guest RAM";
	for (;;) {
		struct virtq_desc d = load_desc(ram, t->addr + 16ull * i);
		const char *why;

		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return "nested indirect table";
		if ((why = add_seg(e, &d, ram)))
			return why;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return NULL;
		if (d.next >= n)
			return "indirect chain link past its table";
		if (++steps >= n)
			return "loop in an indirect chain";
		i = d.next;
	}
}

static const char *walk_chain(const struct virtq *q, const struct guest_ram *ram,
			      uint16_t head, struct virtq_elem *e)
{
	uint16_t i = head;
	unsigned steps = 0;

	*e = (struct virtq_elem){ .head = head };
	if (head >= q->size)
		return "avail ring names a descriptor past the table";
	for (;;) {
		struct virtq_desc d = load_desc(ram, q->desc + 16ull * i);
		const char *why;

		/* 2.7.5.3.2: direct descriptors may lead to one indirect
		 * one, which ends the chain. */
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect)
				return "indirect descriptor, not negotiated";
			return walk_indirect(ram, &d, e);
		}
		if ((why = add_seg(e, &d, ram)))
			return why;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return NULL;
		if (d.next >= q->size)
			return "chain link past the descriptor table";
		if (++steps >= q->size)
			return "loop in a descriptor chain";
		i = d.next;
	}
}

enum virtq_result virtq_pop(struct virtq *q, const struct guest_ram *ram,
			    struct virtq_elem *e, const char **why)
{
	uint16_t avail_idx, head;

	if ((*why = virtq_check_layout(q, ram)))
		return VIRTQ_BROKEN;
	avail_idx = load16(ram, q->avail + 2);
	if (avail_idx == q->last_avail)
		return VIRTQ_EMPTY;
	/* 2.7.13.3: the driver never has more than size entries outstanding. */
	if ((uint16_t)(avail_idx - q->last_avail) > q->size) {
		*why = "avail index moved by more than the queue size";
		return VIRTQ_BROKEN;
	}
	barrier();             /* the entry after the index (x86 keeps load order) */
	head = load16(ram, q->avail + 4 + 2ull * (q->last_avail % q->size));
	if ((*why = walk_chain(q, ram, head, e)))
		return VIRTQ_BROKEN;
	q->last_avail++;
	if (q->event_idx)      /* 2.7.10: kick me when you pass this one */
		store16(ram, q->used + 4 + 8ull * q->size, q->last_avail);
	return VIRTQ_OK;
}

void virtq_push(struct virtq *q, const struct guest_ram *ram, uint16_t head, uint32_t written)
{
	uint64_t slot = q->used + 4 + 8ull * (q->used_idx % q->size);
	uint32_t elem[2] = { head, written };

	memcpy(ram->base + slot, elem, sizeof(elem));
	barrier();             /* the element before the index (x86 keeps store order) */
	store16(ram, q->used + 2, ++q->used_idx);
}

bool virtq_should_interrupt(struct virtq *q, const struct guest_ram *ram)
{
	uint16_t old = q->signalled_used, now = q->used_idx;
	bool valid = q->signalled_valid;

	__asm__ volatile("mfence" ::: "memory");   /* used->idx out before the flags are read */
	q->signalled_used = now;
	q->signalled_valid = true;
	if (!q->event_idx)
		return !(load16(ram, q->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	return !valid || virtq_need_event(load16(ram, q->avail + 4 + 2ull * q->size), now, old);
}

void virtq_set_notify(struct virtq *q, const struct guest_ram *ram, bool enable)
{
	if (q->event_idx) {
		if (enable)
			store16(ram, q->used + 4 + 8ull * q->size, q->last_avail);
		return;
	}
	store16(ram, q->used, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
}

static size_t copy_segs(const struct guest_ram *ram, const struct virtq_seg *seg, unsigned n,
			uint64_t off, uint8_t *buf, size_t len, bool to_guest)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		uint64_t chunk;

		if (off >= seg[i].len) {
			off -= seg[i].len;
			continue;
		}
		chunk = seg[i].len - off;
		if (chunk > len - done)
			chunk = len - done;
		if (to_guest)
			memcpy(ram->base + seg[i].gpa + off, buf + done, chunk);
		else
			memcpy(buf + done, ram->base + seg[i].gpa + off, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

size_t virtq_read(const struct guest_ram *ram, const struct virtq_elem *e, uint64_t off,
		  void *buf, size_t len)
{
	return copy_segs(ram, e->seg, e->nr_out, off, buf, len, false);
}

size_t virtq_write(const struct guest_ram *ram, const struct virtq_elem *e, uint64_t off,
		   const void *buf, size_t len)
{
	return copy_segs(ram, e->seg + e->nr_out, e->nr_in, off, (uint8_t *)buf, len, true);
}
