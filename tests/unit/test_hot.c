/* Top-N counters: exact while the keys fit, and a heavy key is found and
 * never under-counted in a stream of many light ones. */
// UNIT-SOURCES: hypervisor/core/hot.c
#include <core/hot.h>
#include "unit.h"

int main(void)
{
	struct hot_table t = { 0 };
	struct hot_entry top[HOT_ENTRIES];
	unsigned n;

	CHECK_EQ(hot_top(&t, top, 4), 0);
	for (unsigned i = 0; i < 100; i++)
		hot_count(&t, 0x3f8);
	for (unsigned i = 0; i < 30; i++)
		hot_count(&t, 0x70);
	hot_count(&t, 0x71);
	n = hot_top(&t, top, 4);
	CHECK_EQ(n, 3);
	CHECK_EQ(top[0].key, 0x3f8);
	CHECK_EQ(top[0].count, 100);
	CHECK_EQ(top[1].key, 0x70);
	CHECK_EQ(top[1].count, 30);
	CHECK_EQ(top[2].key, 0x71);

	/* 5000 distinct light keys around one heavy key (2000 of 7000). */
	t = (struct hot_table){ 0 };
	for (unsigned i = 0; i < 5000; i++) {
		hot_count(&t, 0x10000 + i);
		if (i % 5 < 2)
			hot_count(&t, 0x42);
	}
	n = hot_top(&t, top, 1);
	CHECK_EQ(n, 1);
	CHECK_EQ(top[0].key, 0x42);
	CHECK(top[0].count >= 2000);
	CHECK(top[0].count <= 2000 + 7000 / HOT_ENTRIES);
	return unit_finish("test_hot");
}
