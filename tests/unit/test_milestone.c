/* The boot-milestone table: it keeps the first MILESTONE_MAX marks of a
 * run and counts the rest, a power-on empties it, codes have stages by
 * range, and times convert from TSC cycles without overflow. */
// UNIT-SOURCES: hypervisor/devices/milestone_core.c
#include <string.h>
#include <devices/milestone.h>
#include "unit.h"

static void check_table(void)
{
	struct milestone_table t;

	memset(&t, 0xa5, sizeof(t));
	milestone_table_reset(&t, 1000);
	CHECK_EQ(t.count, 0);
	CHECK_EQ(t.dropped, 0);
	CHECK_EQ(t.start_tsc, 1000);
	for (unsigned i = 0; i < MILESTONE_MAX; i++)
		CHECK(milestone_record(&t, (uint8_t)i, 2000 + i));
	CHECK_EQ(t.count, MILESTONE_MAX);
	CHECK_EQ(t.mark[0].code, 0);
	CHECK_EQ(t.mark[0].tsc, 2000);
	CHECK_EQ(t.mark[MILESTONE_MAX - 1].code, MILESTONE_MAX - 1);
	CHECK_EQ(t.mark[MILESTONE_MAX - 1].tsc, 2000 + MILESTONE_MAX - 1);
	/* Full: further marks are counted, not stored, and overwrite nothing. */
	CHECK(!milestone_record(&t, MILESTONE_REACHED_INIT, 9000));
	CHECK(!milestone_record(&t, 0xff, 9001));
	CHECK_EQ(t.count, MILESTONE_MAX);
	CHECK_EQ(t.dropped, 2);
	CHECK_EQ(t.mark[MILESTONE_MAX - 1].code, MILESTONE_MAX - 1);
	/* A restart clears the table and the dropped count, and moves the clock. */
	milestone_table_reset(&t, 5000);
	CHECK_EQ(t.count, 0);
	CHECK_EQ(t.dropped, 0);
	CHECK_EQ(t.start_tsc, 5000);
	CHECK(milestone_record(&t, MILESTONE_REACHED_INIT, 6000));
	CHECK_EQ(t.count, 1);
	CHECK_EQ(t.mark[0].code, MILESTONE_REACHED_INIT);
	CHECK_EQ(t.mark[0].tsc, 6000);
}

static void check_codes(void)
{
	CHECK(!strcmp(milestone_stage(0x00), "firmware"));
	CHECK(!strcmp(milestone_stage(0x1f), "firmware"));
	CHECK(!strcmp(milestone_stage(0x20), "bootloader"));
	CHECK(!strcmp(milestone_stage(0x3f), "bootloader"));
	CHECK(!strcmp(milestone_stage(0x40), "kernel"));
	CHECK(!strcmp(milestone_stage(0x5f), "kernel"));
	CHECK(!strcmp(milestone_stage(0x60), "userspace"));
	CHECK(!strcmp(milestone_stage(0x7f), "userspace"));
	CHECK(!strcmp(milestone_stage(0x80), "custom"));
	CHECK(!strcmp(milestone_stage(0xff), "custom"));
	CHECK(!strcmp(milestone_name(MILESTONE_REACHED_INIT), "reached init"));
	CHECK(!strcmp(milestone_name(MILESTONE_KERNEL_ENTRY), "kernel entry"));
	CHECK(!strcmp(milestone_name(MILESTONE_USERSPACE_READY), "userspace ready"));
	CHECK(milestone_name(0x00) == NULL);
	CHECK(milestone_name(0x62) == NULL);
	CHECK(milestone_name(0xff) == NULL);
	/* Every named code is in the stage its name says. */
	CHECK(!strcmp(milestone_stage(MILESTONE_KERNEL_ENTRY), "kernel"));
	CHECK(!strcmp(milestone_stage(MILESTONE_REACHED_INIT), "userspace"));
}

static void check_time(void)
{
	CHECK_EQ(milestone_us(1000, 1000, 2000000), 0);
	CHECK_EQ(milestone_us(0, 2000000, 2000000), 1000);         /* 2 GHz: 1 ms */
	CHECK_EQ(milestone_us(100, 100 + 3000, 3000), 1000);       /* 3 MHz: 1 ms */
	CHECK_EQ(milestone_us(0, 2999, 3000), 999);                /* rounded down */
	CHECK_EQ(milestone_us(500, 400, 2000000), 0);              /* before the start */
	CHECK_EQ(milestone_us(0, 12345, 0), 0);                    /* no TSC frequency */
	/* A year at 4 GHz: delta * 1000 would overflow 64 bits. */
	uint64_t year = 4000000000ull * 3600 * 24 * 365;
	CHECK_EQ(milestone_us(7, 7 + year, 4000000), 3600ull * 24 * 365 * 1000000);
}

int main(void)
{
	check_table();
	check_codes();
	check_time();
	return unit_finish("test_milestone");
}
