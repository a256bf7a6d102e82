/* Exit recordings: a ring keeps the newest records in order and counts the
 * overwritten ones, the filter selects by VM and reason (milestones always
 * pass for the VM), reason names parse with the first unknown word
 * reported, and dump lines carry every field in hex. */
// UNIT-SOURCES: hypervisor/core/trace_ring.c
#include <stdlib.h>
#include <string.h>
#include <core/trace_ring.h>
#include "unit.h"

static void check_ring(void)
{
	struct trace_rec buf[8];
	struct trace_ring r;

	memset(buf, 0xa5, sizeof(buf));
	trace_ring_init(&r, buf, 8);
	CHECK_EQ(trace_ring_count(&r), 0);
	CHECK_EQ(trace_ring_lost(&r), 0);
	for (unsigned i = 0; i < 5; i++) {
		struct trace_rec *t = trace_ring_push(&r);

		CHECK_EQ(t->cycles, 0);     /* a fresh slot is cleared */
		CHECK_EQ(t->rip, 0);
		t->tsc = 100 + i;
	}
	CHECK_EQ(trace_ring_count(&r), 5);
	CHECK_EQ(trace_ring_at(&r, 0)->tsc, 100);
	CHECK_EQ(trace_ring_at(&r, 4)->tsc, 104);
	/* 20 records into 8 slots: the last 8 kept, oldest first, 12 lost. */
	for (unsigned i = 5; i < 20; i++)
		trace_ring_push(&r)->tsc = 100 + i;
	CHECK_EQ(trace_ring_count(&r), 8);
	CHECK_EQ(trace_ring_lost(&r), 12);
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(trace_ring_at(&r, i)->tsc, 112 + i);
	/* Exactly full: nothing lost yet. */
	trace_ring_init(&r, buf, 8);
	for (unsigned i = 0; i < 8; i++)
		trace_ring_push(&r)->tsc = i;
	CHECK_EQ(trace_ring_count(&r), 8);
	CHECK_EQ(trace_ring_lost(&r), 0);
	CHECK_EQ(trace_ring_at(&r, 0)->tsc, 0);
	CHECK_EQ(trace_ring_at(&r, 7)->tsc, 7);
}

static const char *const names[] = { "none", "cpuid", "io", "msr-read", "msr-write", "hlt" };

static void check_filter(void)
{
	struct trace_filter f = { .vm = -1 };
	char *all[] = { NULL };
	char *some[] = { "io", "msr-write" };
	char *bad[] = { "io", "bogus", "hlt" };

	CHECK_EQ(trace_filter_reasons(&f, all, 0, names, 6), -1);
	CHECK_EQ(f.reasons, ~0u);
	CHECK(trace_filter_match(&f, 0, 5));
	CHECK(trace_filter_match(&f, 63, 1));
	CHECK_EQ(trace_filter_reasons(&f, some, 2, names, 6), -1);
	CHECK_EQ(f.reasons, (1u << 2) | (1u << 4));
	CHECK(trace_filter_match(&f, 3, 2));
	CHECK(trace_filter_match(&f, 3, 4));
	CHECK(!trace_filter_match(&f, 3, 3));
	CHECK(!trace_filter_match(&f, 3, 200));   /* no reason past the mask */
	CHECK(trace_filter_match(&f, 3, TRACE_KIND_MARK));
	CHECK_EQ(trace_filter_reasons(&f, bad, 3, names, 6), 1);
	f.vm = 2;
	CHECK_EQ(trace_filter_reasons(&f, all, 0, names, 6), -1);
	CHECK(trace_filter_match(&f, 2, 1));
	CHECK(!trace_filter_match(&f, 3, 1));
	CHECK(!trace_filter_match(&f, 3, TRACE_KIND_MARK));
	CHECK(trace_filter_match(&f, 2, TRACE_KIND_MARK));
}

static void check_format(void)
{
	struct trace_rec t = {
		.tsc = 0x123456789abcdef0, .qual = 0x3f8, .rip = 0xffffffff81000000,
		.cycles = 0xffffffff, .kind = 2, .flags = TRACE_F_WRITE,
	};
	char line[96], kind[16];
	unsigned long long tsc, qual, rip;
	unsigned cycles, flags;

	CHECK_EQ(trace_rec_format(line, sizeof(line), &t, "io"), strlen(line));
	CHECK_MSG(!strcmp(line, "r 123456789abcdef0 ffffffff io 1 3f8 ffffffff81000000"), "%s",
		  line);
	CHECK_EQ(sscanf(line, "r %llx %x %15s %x %llx %llx", &tsc, &cycles, kind, &flags, &qual,
			&rip), 6);
	CHECK_EQ(tsc, t.tsc);
	CHECK_EQ(rip, t.rip);
	/* The longest record fits the glue's 96-byte line. */
	t.qual = ~0ull;
	CHECK(trace_rec_format(line, sizeof(line), &t, "entry-failed") < 96);
}

int main(void)
{
	check_ring();
	check_filter();
	check_format();
	return unit_finish("test_trace_ring");
}
