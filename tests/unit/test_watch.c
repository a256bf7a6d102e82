/* Write-watch ranges: adding up to the limit, refusing empty, oversized and
 * wrapping ranges, finding a range by its start, which range an access
 * touches (its first and last byte, and the bytes just outside), which
 * pages hold a range, and a removed range touching nothing. */
// UNIT-SOURCES: hypervisor/core/watch_core.c
#include <string.h>
#include <core/watch.h>
#include "unit.h"

static void check_add_remove(void)
{
	struct watch_set s;

	memset(&s, 0, sizeof(s));
	CHECK_EQ(watch_set_add(&s, 0x1000, 0), -2);
	CHECK_EQ(watch_set_add(&s, 0x1000, WATCH_MAX_LEN + 1), -2);
	CHECK_EQ(watch_set_add(&s, ~0ull - 3, 8), -2);
	for (int i = 0; i < WATCH_MAX; i++)
		CHECK_EQ(watch_set_add(&s, 0x10000 * (i + 1), 8), i);
	CHECK_EQ(watch_set_add(&s, 0x90000, 8), -1);
	CHECK_EQ(watch_set_find(&s, 0x20000), 1);
	CHECK_EQ(watch_set_find(&s, 0x20001), -1);
	watch_set_remove(&s, 1);
	CHECK_EQ(watch_set_find(&s, 0x20000), -1);
	CHECK_EQ(watch_set_add(&s, 0x90000, WATCH_MAX_LEN), 1);   /* the freed slot */
	watch_set_remove(&s, WATCH_MAX);                         /* out of range: nothing */
	CHECK_EQ(watch_set_find(&s, 0x90000), 1);
}

static void check_hits(void)
{
	struct watch_set s;

	memset(&s, 0, sizeof(s));
	CHECK_EQ(watch_set_add(&s, 0x5ffc, 8), 0);       /* crosses a page boundary */
	CHECK_EQ(watch_set_add(&s, 0x8000, 1), 1);
	CHECK_EQ(watch_set_hit(&s, 0x5ff8, 4), -1);      /* ends just before */
	CHECK_EQ(watch_set_hit(&s, 0x5ff8, 8), 0);       /* its last bytes overlap */
	CHECK_EQ(watch_set_hit(&s, 0x6003, 1), 0);       /* the range's last byte */
	CHECK_EQ(watch_set_hit(&s, 0x6004, 8), -1);      /* just after */
	CHECK_EQ(watch_set_hit(&s, 0x8000, 1), 1);
	CHECK_EQ(watch_set_hit(&s, 0x7fff, 1), -1);
	CHECK_EQ(watch_set_hit(&s, 0x7ff8, 16), 1);
	CHECK(watch_set_covers_page(&s, 0x5000));
	CHECK(watch_set_covers_page(&s, 0x6abc));
	CHECK(!watch_set_covers_page(&s, 0x7000));
	CHECK(watch_set_covers_page(&s, 0x8000));
	watch_set_remove(&s, 0);
	CHECK_EQ(watch_set_hit(&s, 0x6000, 4), -1);
	CHECK(!watch_set_covers_page(&s, 0x5000));
	CHECK(!watch_set_covers_page(&s, 0x6000));
}

int main(void)
{
	check_add_remove();
	check_hits();
	return unit_finish("test_watch");
}
