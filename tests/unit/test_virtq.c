/* Split virtqueues, device side: chains, indirect tables, the used ring,
 * notification suppression, and each hostile-queue rule refused by name. */
// UNIT-SOURCES: hypervisor/virtio/virtq.c
#include <stdlib.h>
#include <string.h>
#include <virtio/virtq.h>
#include "unit.h"

#define RAM   (1u << 20)
#define QSZ   8
#define DESC  0x1000
#define AVAIL 0x2000
#define USED  0x3000

static uint8_t *mem;
static struct guest_ram ram;
static uint16_t avail_idx;

static struct virtq fresh(void)
{
	memset(mem, 0, RAM);
	avail_idx = 0;
	return (struct virtq){ .size = QSZ, .desc = DESC, .avail = AVAIL, .used = USED,
			       .indirect = true };
}

static void desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };

	memcpy(mem + table + 16 * i, &d, sizeof(d));
}

static void offer(uint16_t head)
{
	memcpy(mem + AVAIL + 4 + 2 * (avail_idx % QSZ), &head, 2);
	avail_idx++;
	memcpy(mem + AVAIL + 2, &avail_idx, 2);
}

static uint16_t rd16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, mem + gpa, 2);
	return v;
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, mem + gpa, 4);
	return v;
}

#define BROKEN(q, text)                                                          \
	do {                                                                     \
		struct virtq_elem e_;                                            \
		const char *why_ = NULL;                                         \
		CHECK_EQ(virtq_pop(&(q), &ram, &e_, &why_), VIRTQ_BROKEN);       \
		CHECK_MSG(why_ && strstr(why_, text), "got \"%s\"", why_ ? why_ : "(null)"); \
	} while (0)

static void test_chain_and_used(void)
{
	struct virtq q = fresh();
	struct virtq_elem e;
	const char *why;
	char buf[16] = { 0 };

	CHECK(virtq_check_layout(&q, &ram) == NULL);
	CHECK_EQ(virtq_pop(&q, &ram, &e, &why), VIRTQ_EMPTY);
	memcpy(mem + 0x8000, "hello, ", 7);
	memcpy(mem + 0x9000, "world", 5);
	desc(DESC, 3, 0x8000, 7, VIRTQ_DESC_F_NEXT, 5);
	desc(DESC, 5, 0x9000, 5, VIRTQ_DESC_F_NEXT, 1);
	desc(DESC, 1, 0xa000, 100, VIRTQ_DESC_F_WRITE, 0);
	offer(3);
	CHECK_EQ(virtq_pop(&q, &ram, &e, &why), VIRTQ_OK);
	CHECK_EQ(e.head, 3);
	CHECK_EQ(e.nr_out, 2);
	CHECK_EQ(e.nr_in, 1);
	CHECK_EQ(e.out_len, 12);
	CHECK_EQ(e.in_len, 100);
	CHECK_EQ(virtq_read(&ram, &e, 0, buf, sizeof(buf)), 12);
	CHECK(!memcmp(buf, "hello, world", 12));
	CHECK_EQ(virtq_read(&ram, &e, 5, buf, 4), 4);            /* across segments */
	CHECK(!memcmp(buf, ", wo", 4));
	CHECK_EQ(virtq_write(&ram, &e, 98, "xyz", 3), 2);       /* clipped at the end */
	CHECK(!memcmp(mem + 0xa000 + 98, "xy", 2));
	CHECK_EQ(virtq_pop(&q, &ram, &e, &why), VIRTQ_EMPTY);
	virtq_push(&q, &ram, 3, 42);
	CHECK_EQ(rd16(USED + 2), 1);                             /* used->idx */
	CHECK_EQ(rd32(USED + 4), 3);                             /* id */
	CHECK_EQ(rd32(USED + 8), 42);                            /* len */
	/* The indexes wrap at 2^16, the ring at the queue size. */
	q = fresh();
	q.last_avail = q.used_idx = 0xffff;
	avail_idx = 0xffff;
	desc(DESC, 0, 0x8000, 1, 0, 0);
	offer(0);
	CHECK_EQ(virtq_pop(&q, &ram, &e, &why), VIRTQ_OK);
	CHECK_EQ(q.last_avail, 0);
	virtq_push(&q, &ram, 0, 1);
	CHECK_EQ(rd16(USED + 2), 0);
	CHECK_EQ(rd32(USED + 4 + 8 * (0xffff % QSZ)), 0);
}

static void test_indirect(void)
{
	struct virtq q = fresh();
	struct virtq_elem e;
	const char *why;

	desc(0x4000, 0, 0x8000, 16, VIRTQ_DESC_F_NEXT, 2);
	desc(0x4000, 2, 0x9000, 1, VIRTQ_DESC_F_WRITE, 0);
	desc(DESC, 0, 0x4000, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	CHECK_EQ(virtq_pop(&q, &ram, &e, &why), VIRTQ_OK);
	CHECK_EQ(e.nr_out, 1);
	CHECK_EQ(e.nr_in, 1);
	CHECK_EQ(e.seg[1].gpa, 0x9000);
	/* 2.7.5.3.2: direct descriptors, then one indirect one. */
	q = fresh();
	desc(DESC, 0, 0x8000, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(DESC, 1, 0x4000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	desc(0x4000, 0, 0x9000, 8, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	CHECK_EQ(virtq_pop(&q, &ram, &e, &why), VIRTQ_OK);
	CHECK_EQ(e.nr_out, 1);
	CHECK_EQ(e.nr_in, 1);
	CHECK_EQ(e.out_len, 16);
	CHECK_EQ(e.seg[1].gpa, 0x9000);
	q = fresh();
	q.indirect = false;
	desc(DESC, 0, 0x4000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	BROKEN(q, "not negotiated");
}

/* Issue 9, item 4: each hostile queue is refused with its reason. */
static void test_hostile(void)
{
	struct virtq q;

	q = fresh(); q.size = 6;                           BROKEN(q, "power of 2");
	q = fresh(); q.used = USED + 2;                    BROKEN(q, "misaligned");
	q = fresh(); q.desc = RAM - 16;                    BROKEN(q, "descriptor table outside");
	q = fresh(); q.used = RAM - 8;                     BROKEN(q, "used ring outside");
	q = fresh(); q.avail = ~0ull - 1;                  BROKEN(q, "available ring outside");
	q = fresh(); offer(QSZ);                           BROKEN(q, "past the table");
	q = fresh(); desc(DESC, 0, RAM - 4, 8, 0, 0); offer(0);
	BROKEN(q, "outside guest RAM");                    /* crosses the end of RAM */
	q = fresh(); desc(DESC, 0, 0xfee00000, 4, 0, 0); offer(0);
	BROKEN(q, "outside guest RAM");                    /* a device window */
	q = fresh(); desc(DESC, 0, ~0ull - 2, 8, 0, 0); offer(0);
	BROKEN(q, "outside guest RAM");                    /* wraps around */
	q = fresh(); desc(DESC, 0, 0x8000, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(DESC, 1, 0x8000, 8, VIRTQ_DESC_F_NEXT, 0); offer(0);
	BROKEN(q, "loop");
	q = fresh(); desc(DESC, 0, 0x8000, 8, VIRTQ_DESC_F_NEXT, 0); offer(0);
	BROKEN(q, "loop");                                 /* a descriptor naming itself */
	q = fresh(); desc(DESC, 0, 0x8000, 8, VIRTQ_DESC_F_NEXT, QSZ); offer(0);
	BROKEN(q, "past the descriptor table");
	q = fresh(); desc(DESC, 0, 0x8000, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(DESC, 1, 0x8000, 8, 0, 0); offer(0);
	BROKEN(q, "readable buffer after a device-writable");
	q = fresh(); desc(DESC, 0, 0x4000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	desc(0x4000, 0, 0x5000, 16, VIRTQ_DESC_F_INDIRECT, 0); offer(0);
	BROKEN(q, "nested indirect");
	q = fresh(); desc(DESC, 0, 0x4000, 24, VIRTQ_DESC_F_INDIRECT, 0); offer(0);
	BROKEN(q, "partial descriptor");
	q = fresh(); desc(DESC, 0, 0x4000, 0, VIRTQ_DESC_F_INDIRECT, 0); offer(0);
	BROKEN(q, "empty");
	q = fresh(); desc(DESC, 0, RAM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0); offer(0);
	BROKEN(q, "outside guest RAM");
	q = fresh(); desc(DESC, 0, 0x4000, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	offer(0);
	BROKEN(q, "indirect descriptor with NEXT");
	q = fresh(); desc(DESC, 0, 0x4000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	desc(0x4000, 0, 0x8000, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(0x4000, 1, 0x8000, 8, VIRTQ_DESC_F_NEXT, 0); offer(0);
	BROKEN(q, "loop in an indirect chain");
	q = fresh(); desc(DESC, 0, 0x4000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	desc(0x4000, 0, 0x8000, 8, VIRTQ_DESC_F_NEXT, 2); offer(0);
	BROKEN(q, "past its table");
	q = fresh(); desc(DESC, 0, 0x8000, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(DESC, 1, 0x4000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	desc(0x4000, 0, 0x9000, 8, 0, 0); offer(0);        /* readable after writable */
	BROKEN(q, "device-readable buffer after a device-writable one");
	q = fresh(); avail_idx = QSZ + 1; offer(0);          /* index jumps by QSZ + 2 */
	BROKEN(q, "more than the queue size");
	/* A chain longer than VIRTQ_MAX_SEGS, through an indirect table. */
	q = fresh();
	for (unsigned i = 0; i < VIRTQ_MAX_SEGS + 1; i++)
		desc(0x10000, i, 0x8000, 1, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	desc(0x10000, VIRTQ_MAX_SEGS, 0x8000, 1, 0, 0);
	desc(DESC, 0, 0x10000, 16 * (VIRTQ_MAX_SEGS + 1), VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	BROKEN(q, "longer than 128");
}

static void test_notification(void)
{
	struct virtq q = fresh();
	uint16_t used_event;

	/* Without EVENT_IDX: the NO_INTERRUPT and NO_NOTIFY flags. */
	virtq_push(&q, &ram, 0, 0);
	CHECK(virtq_should_interrupt(&q, &ram));
	mem[AVAIL] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtq_push(&q, &ram, 0, 0);
	CHECK(!virtq_should_interrupt(&q, &ram));
	virtq_set_notify(&q, &ram, false);
	CHECK_EQ(rd16(USED), VIRTQ_USED_F_NO_NOTIFY);
	virtq_set_notify(&q, &ram, true);
	CHECK_EQ(rd16(USED), 0);
	/* With EVENT_IDX: interrupt only when used_event is passed. */
	q = fresh();
	q.event_idx = true;
	used_event = 1;                        /* "interrupt me after entry 1 is used" */
	memcpy(mem + AVAIL + 4 + 2 * QSZ, &used_event, 2);
	virtq_push(&q, &ram, 0, 0);
	CHECK(virtq_should_interrupt(&q, &ram));   /* the first always goes */
	virtq_push(&q, &ram, 0, 0);                /* used idx 1 -> 2: passes 1 */
	CHECK(virtq_should_interrupt(&q, &ram));
	virtq_push(&q, &ram, 0, 0);                /* 2 -> 3: not asked for */
	CHECK(!virtq_should_interrupt(&q, &ram));
	CHECK(virtq_need_event(5, 6, 5));
	CHECK(!virtq_need_event(6, 6, 5));
	CHECK(virtq_need_event(0xffff, 0, 0xfffe));    /* across the wrap */
	/* Each pop publishes avail_event = the next entry it will take. */
	desc(DESC, 0, 0x8000, 1, 0, 0);
	offer(0);
	{
		struct virtq_elem e;
		const char *why;

		CHECK_EQ(virtq_pop(&q, &ram, &e, &why), VIRTQ_OK);
		CHECK_EQ(rd16(USED + 4 + 8 * QSZ), 1);
	}
}

int main(void)
{
	mem = calloc(1, RAM);
	ram = (struct guest_ram){ mem, RAM };
	test_chain_and_used();
	test_indirect();
	test_hostile();
	test_notification();
	free(mem);
	return unit_finish("test_virtq");
}
