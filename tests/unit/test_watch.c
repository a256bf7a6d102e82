/* Watch ranges: adding up to the limit, refusing empty, oversized and
 * wrapping ranges, finding a range by its owner, tag and length, which
 * ranges an access touches (its first and last byte, and the bytes just
 * outside; all of the overlapping ones), which pages hold a range, and a
 * removed range touching nothing. */
// UNIT-SOURCES: hypervisor/core/watch_core.c
#include <string.h>
#include <core/watch.h>
#include "unit.h"

static void check_add_remove(void)
{
	struct watch_set s;

	memset(&s, 0, sizeof(s));
	CHECK_EQ(watch_set_add(&s, 0x1000, 0, WATCH_WRITE, WATCH_CONSOLE, 0x1000), -2);
	CHECK_EQ(watch_set_add(&s, 0x1000, WATCH_MAX_LEN + 1, WATCH_WRITE, WATCH_CONSOLE, 0x1000), -2);
	CHECK_EQ(watch_set_add(&s, ~0ull - 3, 8, WATCH_WRITE, WATCH_CONSOLE, 0), -2);
	for (int i = 0; i < WATCH_MAX; i++)
		CHECK_EQ(watch_set_add(&s, 0x10000 * (i + 1), 8, WATCH_WRITE, WATCH_CONSOLE, 0x10000 * (i + 1)), i);
	CHECK_EQ(watch_set_add(&s, 0x90000, 8, WATCH_WRITE, WATCH_GDB, 0x90000), -1);
	CHECK_EQ(watch_set_find(&s, WATCH_CONSOLE, 0x20000, 0, 0), 1);
	CHECK_EQ(watch_set_find(&s, WATCH_CONSOLE, 0x20001, 0, 0), -1);
	watch_set_remove(&s, 1);
	CHECK_EQ(watch_set_find(&s, WATCH_CONSOLE, 0x20000, 0, 0), -1);
	/* The freed slot. */
	CHECK_EQ(watch_set_add(&s, 0x90000, WATCH_MAX_LEN, WATCH_WRITE, WATCH_CONSOLE, 0x90000), 1);
	watch_set_remove(&s, WATCH_MAX);                         /* out of range: nothing */
	CHECK_EQ(watch_set_find(&s, WATCH_CONSOLE, 0x90000, 0, 0), 1);
}

static void check_hits(void)
{
	struct watch_set s;

	memset(&s, 0, sizeof(s));
	/* The first crosses a page boundary. */
	CHECK_EQ(watch_set_add(&s, 0x5ffc, 8, WATCH_WRITE, WATCH_CONSOLE, 0x5ffc), 0);
	CHECK_EQ(watch_set_add(&s, 0x8000, 1, WATCH_WRITE, WATCH_CONSOLE, 0x8000), 1);
	CHECK_EQ(watch_set_hit(&s, 0x5ff8, 4), -1);      /* ends just before */
	CHECK_EQ(watch_set_hit(&s, 0x5ff8, 8), 0);       /* its last bytes overlap */
	CHECK_EQ(watch_set_hit(&s, 0x6003, 1), 0);       /* the range's last byte */
	CHECK_EQ(watch_set_hit(&s, 0x6004, 8), -1);      /* just after */
	CHECK_EQ(watch_set_hit(&s, 0x8000, 1), 1);
	CHECK_EQ(watch_set_hit(&s, 0x7fff, 1), -1);
	CHECK_EQ(watch_set_hit(&s, 0x7ff8, 16), 1);
	CHECK_EQ(watch_set_page_access(&s, 0x5000), WATCH_WRITE);
	CHECK(watch_set_page_access(&s, 0x6abc));
	CHECK(!watch_set_page_access(&s, 0x7000));
	CHECK(watch_set_page_access(&s, 0x8000));
	watch_set_remove(&s, 0);
	CHECK_EQ(watch_set_hit(&s, 0x6000, 4), -1);
	CHECK(!watch_set_page_access(&s, 0x5000));
	CHECK(!watch_set_page_access(&s, 0x6000));
}

/* gdb's watches beside the console's: found by gdb's tag (its guest-virtual
 * address) and length, never by the console's gpa; an access touching two
 * ranges hits both. */
static void check_owners(void)
{
	struct watch_set s;

	memset(&s, 0, sizeof(s));
	CHECK_EQ(watch_set_add(&s, 0x3000, 8, WATCH_WRITE, WATCH_CONSOLE, 0x3000), 0);
	CHECK_EQ(watch_set_add(&s, 0x3004, 4, WATCH_WRITE, WATCH_GDB, 0xffff800000003004ull), 1);
	CHECK_EQ(watch_set_add(&s, 0x3004, 2, WATCH_WRITE, WATCH_GDB, 0xffff800000003004ull), 2);
	CHECK_EQ(s.w[1].owner, WATCH_GDB);
	CHECK_EQ(s.w[1].tag, 0xffff800000003004ull);
	CHECK_EQ(watch_set_find(&s, WATCH_GDB, 0x3004, 0, 0), -1);          /* a gpa, not gdb's */
	CHECK_EQ(watch_set_find(&s, WATCH_CONSOLE, 0x3004, 0, 0), -1);
	CHECK_EQ(watch_set_find(&s, WATCH_GDB, 0xffff800000003000ull, 0, 0), -1);
	CHECK_EQ(watch_set_find(&s, WATCH_GDB, 0xffff800000003004ull, 2, 0), 2);
	CHECK_EQ(watch_set_find(&s, WATCH_GDB, 0xffff800000003004ull, 4, 0), 1);
	CHECK_EQ(watch_set_find(&s, WATCH_GDB, 0xffff800000003004ull, 8, 0), -1);
	CHECK_EQ(watch_set_find(&s, WATCH_CONSOLE, 0x3000, 0, 0), 0);
	CHECK_EQ(watch_set_hits(&s, 0x3000, 4, WATCH_ACCESS), 1u);                     /* below gdb's */
	CHECK_EQ(watch_set_hits(&s, 0x3004, 1, WATCH_ACCESS), 7u);                     /* all three */
	CHECK_EQ(watch_set_hits(&s, 0x3006, 2, WATCH_ACCESS), 3u);                     /* past the 2-byte one */
	CHECK_EQ(watch_set_hits(&s, 0x3008, 8, WATCH_ACCESS), 0u);
	CHECK_EQ(watch_set_hit(&s, 0x3006, 2), 0);
	watch_set_remove(&s, 0);
	CHECK_EQ(watch_set_hit(&s, 0x3006, 2), 1);
	CHECK_EQ(watch_set_hits(&s, 0x3000, 4, WATCH_ACCESS), 0u);
}

/* Read-, write- and read-and-write watches: an access of one kind hits the
 * ranges that watch it; a page's access is what its ranges watch together;
 * gdb's watchpoints of the same address and length but another kind are
 * told apart; no kind, or an unknown one, is refused. */
static void check_access(void)
{
	struct watch_set s;

	memset(&s, 0, sizeof(s));
	CHECK_EQ(watch_set_add(&s, 0x3000, 8, 0, WATCH_CONSOLE, 0x3000), -2);
	CHECK_EQ(watch_set_add(&s, 0x3000, 8, 8, WATCH_CONSOLE, 0x3000), -2);
	CHECK_EQ(watch_set_add(&s, 0x3000, 8, WATCH_READ, WATCH_CONSOLE, 0x3000), 0);
	CHECK_EQ(watch_set_add(&s, 0x3004, 4, WATCH_WRITE, WATCH_GDB, 0xa004), 1);
	CHECK_EQ(watch_set_add(&s, 0x3004, 4, WATCH_ACCESS, WATCH_GDB, 0xa004), 2);
	CHECK_EQ(watch_set_add(&s, 0x5000, 4, WATCH_WRITE, WATCH_CONSOLE, 0x5000), 3);
	CHECK_EQ(watch_set_hits(&s, 0x3000, 8, WATCH_READ), 5u);
	CHECK_EQ(watch_set_hits(&s, 0x3000, 8, WATCH_WRITE), 6u);
	CHECK_EQ(watch_set_hits(&s, 0x3000, 4, WATCH_WRITE), 0u);        /* below gdb's */
	CHECK_EQ(watch_set_hits(&s, 0x3000, 4, WATCH_READ), 1u);
	CHECK_EQ(watch_set_page_access(&s, 0x3000), WATCH_ACCESS);
	CHECK_EQ(watch_set_page_access(&s, 0x5fff), WATCH_WRITE);
	CHECK_EQ(watch_set_page_access(&s, 0x4000), 0u);
	CHECK_EQ(watch_set_find(&s, WATCH_GDB, 0xa004, 4, WATCH_ACCESS), 2);
	CHECK_EQ(watch_set_find(&s, WATCH_GDB, 0xa004, 4, WATCH_WRITE), 1);
	CHECK_EQ(watch_set_find(&s, WATCH_GDB, 0xa004, 4, WATCH_READ), -1);
	watch_set_remove(&s, 0);
	CHECK_EQ(watch_set_page_access(&s, 0x3000), WATCH_ACCESS);       /* gdb's awatch */
	watch_set_remove(&s, 2);
	CHECK_EQ(watch_set_page_access(&s, 0x3000), WATCH_WRITE);
}

/* Execute watches: hit by an execution only, part of their page's access;
 * the first read-or-write range a give-up ends (watch_set_hit) is never
 * one of them. */
static void check_exec(void)
{
	struct watch_set s;

	memset(&s, 0, sizeof(s));
	CHECK_EQ(watch_set_add(&s, 0x7010, 1, WATCH_EXEC, WATCH_GDB, 0x7010), 0);
	CHECK_EQ(watch_set_add(&s, 0x7000, 16, WATCH_EXEC | WATCH_WRITE, WATCH_CONSOLE, 0x7000), 1);
	CHECK_EQ(watch_set_hits(&s, 0x7010, 1, WATCH_EXEC), 1u);
	CHECK_EQ(watch_set_hits(&s, 0x700f, 1, WATCH_EXEC), 2u);
	CHECK_EQ(watch_set_hits(&s, 0x7010, 1, WATCH_ACCESS), 0u);
	CHECK_EQ(watch_set_hits(&s, 0x7008, 8, WATCH_WRITE), 2u);
	CHECK_EQ(watch_set_page_access(&s, 0x7000), WATCH_EXEC | WATCH_WRITE);
	CHECK_EQ(watch_set_hit(&s, 0x7010, 1), -1);
	CHECK_EQ(watch_set_hit(&s, 0x7000, 4), 1);
	CHECK_EQ(watch_set_find(&s, WATCH_GDB, 0x7010, 1, WATCH_EXEC), 0);
	watch_set_remove(&s, 1);
	CHECK_EQ(watch_set_page_access(&s, 0x7fff), WATCH_EXEC);
}

int main(void)
{
	check_add_remove();
	check_hits();
	check_owners();
	check_access();
	check_exec();
	return unit_finish("test_watch");
}
