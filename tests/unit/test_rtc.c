/* The CMOS clock model: calendar arithmetic, register formats, setting the
 * guest clock, CMOS RAM and the status registers. */
// UNIT-SOURCES: hypervisor/devices/rtc_core.c
#include <string.h>
#include <time.h>
#include <devices/rtc.h>
#include "unit.h"

#define T_2024_03_09_134507  1709991907   /* a Saturday */
#define T_1999_12_31_235958  946684798

struct known_time {
	int64_t t;
	int64_t year;
	unsigned mon, mday, hour, min, sec, wday;
};

static const struct known_time known[] = {
	{ 0,              1970,  1,  1,  0,  0,  0, 4 },
	{ -1,             1969, 12, 31, 23, 59, 59, 3 },
	{ 951782400,      2000,  2, 29,  0,  0,  0, 2 },   /* 2000: leap (divisible by 400) */
	{ 4107542399,     2100,  2, 28, 23, 59, 59, 0 },   /* 2100: not leap */
	{ 4107542400,     2100,  3,  1,  0,  0,  0, 1 },
	{ -2203891200,    1900,  3,  1,  0,  0,  0, 4 },   /* 1900: not leap */
	{ 13574606400,    2400,  2, 29, 12,  0,  0, 2 },
	{ 2147483648,     2038,  1, 19,  3, 14,  8, 2 },   /* past 32-bit time_t */
	{ -62135596800,      1,  1,  1,  0,  0,  0, 1 },
	{ 253402300799,   9999, 12, 31, 23, 59, 59, 5 },
	{ T_2024_03_09_134507, 2024, 3, 9, 13, 45, 7, 6 },
};

static void test_leap_years(void)
{
	CHECK(rtc_is_leap_year(2000));
	CHECK(rtc_is_leap_year(2024));
	CHECK(rtc_is_leap_year(2400));
	CHECK(!rtc_is_leap_year(1900));
	CHECK(!rtc_is_leap_year(2100));
	CHECK(!rtc_is_leap_year(2023));
	CHECK_EQ(rtc_days_in_month(2000, 2), 29);
	CHECK_EQ(rtc_days_in_month(2100, 2), 28);
	CHECK_EQ(rtc_days_in_month(2023, 4), 30);
	CHECK_EQ(rtc_days_in_month(2023, 12), 31);
}

static void test_known_times(void)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const struct known_time *k = &known[i];
		struct rtc_date d;

		rtc_epoch_to_date(k->t, &d);
		CHECK_MSG(d.year == k->year && d.mon == k->mon && d.mday == k->mday &&
			  d.hour == k->hour && d.min == k->min && d.sec == k->sec &&
			  d.wday == k->wday, "t=%lld gave %lld-%u-%u %u:%u:%u wday %u",
			  (long long)k->t, (long long)d.year, d.mon, d.mday, d.hour, d.min,
			  d.sec, d.wday);
		CHECK_EQ(rtc_date_to_epoch(&d), k->t);
	}
}

/* Every day from 1800 to 2500 (and an odd second of it) against libc. */
static void test_against_libc(void)
{
	unsigned bad = 0;

	for (int64_t t = -5364662400 + 3723; t < 16725225600; t += 86400) {
		time_t tt = (time_t)t;
		struct tm tm;
		struct rtc_date d;

		gmtime_r(&tt, &tm);
		rtc_epoch_to_date(t, &d);
		if (d.year != tm.tm_year + 1900 || d.mon != (unsigned)tm.tm_mon + 1 ||
		    d.mday != (unsigned)tm.tm_mday || d.hour != (unsigned)tm.tm_hour ||
		    d.min != (unsigned)tm.tm_min || d.sec != (unsigned)tm.tm_sec ||
		    d.wday != (unsigned)tm.tm_wday || rtc_date_to_epoch(&d) != t)
			bad++;
	}
	CHECK_EQ(bad, 0);
}

static void test_day_carry(void)
{
	struct rtc_date d = { .year = 2100, .mon = 2, .mday = 29 };

	CHECK_EQ(rtc_date_to_epoch(&d), 4107542400);   /* 2100-02-29 is 2100-03-01 */
}

static int64_t date(int64_t y, unsigned mon, unsigned mday, unsigned h, unsigned m, unsigned s)
{
	struct rtc_date d = { .year = y, .mon = mon, .mday = mday, .hour = h, .min = m, .sec = s };

	return rtc_date_to_epoch(&d);
}

static void check_clock(struct rtc_state *s, int64_t now, const uint8_t want[8])
{
	static const uint8_t regs[8] = {
		RTC_REG_SEC, RTC_REG_MIN, RTC_REG_HOUR, RTC_REG_WDAY,
		RTC_REG_MDAY, RTC_REG_MON, RTC_REG_YEAR, RTC_REG_CENTURY,
	};

	for (int i = 0; i < 8; i++) {
		uint8_t got = rtc_reg_read(s, regs[i], now);

		CHECK_MSG(got == want[i], "reg %#x: %#x, want %#x", regs[i], got, want[i]);
	}
}

static void test_formats(void)
{
	const int64_t now = T_2024_03_09_134507;
	struct rtc_state s;

	rtc_state_init(&s, now);
	check_clock(&s, now, (const uint8_t[8]){ 0x07, 0x45, 0x13, 7, 0x09, 0x03, 0x24, 0x20 });
	check_clock(&s, now + 5, (const uint8_t[8]){ 0x12, 0x45, 0x13, 7, 0x09, 0x03, 0x24, 0x20 });
	rtc_reg_write(&s, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY, now);
	check_clock(&s, now, (const uint8_t[8]){ 7, 45, 13, 7, 9, 3, 24, 20 });
	rtc_reg_write(&s, RTC_REG_B, 0, now);                  /* BCD, 12-hour */
	check_clock(&s, now, (const uint8_t[8]){ 0x07, 0x45, 0x81, 7, 0x09, 0x03, 0x24, 0x20 });
	rtc_reg_write(&s, RTC_REG_B, RTC_B_DM_BINARY, now);    /* binary, 12-hour */
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_HOUR, now), 0x81);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_HOUR, date(2024, 3, 9, 0, 30, 0)), 12);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_HOUR, date(2024, 3, 9, 12, 30, 0)), 0x8c);
	rtc_reg_write(&s, RTC_REG_B, 0, now);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_HOUR, date(2024, 3, 9, 0, 30, 0)), 0x12);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_HOUR, date(2024, 3, 9, 12, 30, 0)), 0x92);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_HOUR, date(2024, 3, 9, 23, 0, 0)), 0x91);
	CHECK_EQ(s.offset, 0);   /* changing the format never moves the clock */
}

/* Linux's mc146818_set_time: SET, the fields, then SET cleared. */
static void set_clock(struct rtc_state *s, int64_t now, uint8_t b, const uint8_t v[8])
{
	static const uint8_t regs[8] = {
		RTC_REG_YEAR, RTC_REG_CENTURY, RTC_REG_MON, RTC_REG_MDAY,
		RTC_REG_HOUR, RTC_REG_MIN, RTC_REG_SEC, RTC_REG_WDAY,
	};

	rtc_reg_write(s, RTC_REG_B, b | RTC_B_SET, now);
	for (int i = 0; i < 8; i++)
		rtc_reg_write(s, regs[i], v[i], now);
	rtc_reg_write(s, RTC_REG_B, b, now);
}

static void test_set_clock(void)
{
	const int64_t now = T_2024_03_09_134507;
	struct rtc_state s;

	rtc_state_init(&s, now);
	/* Year, century, month, day, hour, minute, second, weekday. */
	set_clock(&s, now, RTC_B_24H, (const uint8_t[8]){ 0x99, 0x19, 0x12, 0x31, 0x23, 0x59, 0x58, 1 });
	CHECK_EQ(s.offset, T_1999_12_31_235958 - now);
	check_clock(&s, now, (const uint8_t[8]){ 0x58, 0x59, 0x23, 6, 0x31, 0x12, 0x99, 0x19 });
	/* It runs from there, over the century. */
	check_clock(&s, now + 3, (const uint8_t[8]){ 0x01, 0x00, 0x00, 7, 0x01, 0x01, 0x00, 0x20 });

	/* While SET is 1 the registers hold still and read back as written. */
	rtc_reg_write(&s, RTC_REG_B, RTC_B_24H | RTC_B_SET | RTC_B_UIE, now);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_B, now), RTC_B_24H | RTC_B_SET);   /* SET clears UIE */
	rtc_reg_write(&s, RTC_REG_MIN, 0x30, now);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_SEC, now + 10), 0x58);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_MIN, now + 10), 0x30);
	CHECK_EQ(s.offset, T_1999_12_31_235958 - now);
	rtc_reg_write(&s, RTC_REG_B, RTC_B_24H, now + 10);
	CHECK_EQ(s.offset, date(1999, 12, 31, 23, 30, 58) - (now + 10));

	/* Binary mode, 12-hour: 2100-02-28 11:15:00 PM. */
	set_clock(&s, now, RTC_B_DM_BINARY, (const uint8_t[8]){ 0, 21, 2, 28, 0x80 | 11, 15, 0, 1 });
	CHECK_EQ(s.offset, date(2100, 2, 28, 23, 15, 0) - now);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_WDAY, now), 1);   /* a Sunday */

	/* A time no clock shows is dropped; the clock keeps its offset. */
	set_clock(&s, now, RTC_B_24H, (const uint8_t[8]){ 0x24, 0x20, 0x13, 0x01, 0, 0, 0, 1 });
	CHECK_EQ(s.offset, date(2100, 2, 28, 23, 15, 0) - now);
	set_clock(&s, now, RTC_B_24H, (const uint8_t[8]){ 0x24, 0x20, 0x01, 0x01, 0x24, 0, 0, 1 });
	set_clock(&s, now, RTC_B_24H, (const uint8_t[8]){ 0x24, 0x20, 0x01, 0x1a, 0x10, 0, 0, 1 });
	CHECK_EQ(s.offset, date(2100, 2, 28, 23, 15, 0) - now);

	/* Without SET each write applies at once, one field at a time. */
	rtc_state_init(&s, now);
	rtc_reg_write(&s, RTC_REG_MIN, 0x00, now);
	CHECK_EQ(s.offset, -45 * 60);
	rtc_reg_write(&s, RTC_REG_YEAR, 0x25, now);
	CHECK_EQ(s.offset, date(2025, 3, 9, 13, 0, 7) - now);
	rtc_reg_write(&s, RTC_REG_WDAY, 3, now);   /* derived from the date */
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_WDAY, now), 1);
	rtc_reg_write(&s, RTC_REG_MON, 0x99, now); /* no such month: dropped */
	CHECK_EQ(s.offset, date(2025, 3, 9, 13, 0, 7) - now);
}

static void test_ram_and_status(void)
{
	const int64_t now = T_2024_03_09_134507;
	struct rtc_state s;
	unsigned bad = 0;

	rtc_state_init(&s, now);
	for (unsigned r = 0x0e; r < RTC_CMOS_SIZE; r++)
		if (r != RTC_REG_CENTURY)
			rtc_reg_write(&s, (uint8_t)r, (uint8_t)(r * 7 + 1), now);
	for (unsigned r = 0x0e; r < RTC_CMOS_SIZE; r++)
		if (r != RTC_REG_CENTURY && rtc_reg_read(&s, (uint8_t)r, now) != (uint8_t)(r * 7 + 1))
			bad++;
	CHECK_EQ(bad, 0);
	rtc_reg_write(&s, RTC_REG_SEC_ALARM, 0x11, now);
	rtc_reg_write(&s, RTC_REG_MIN_ALARM, 0x22, now);
	rtc_reg_write(&s, RTC_REG_HOUR_ALARM, 0xc0, now);   /* "don't care" */
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_SEC_ALARM, now), 0x11);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_MIN_ALARM, now), 0x22);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_HOUR_ALARM, now), 0xc0);
	CHECK_EQ(s.offset, 0);

	/* A: UIP reads 0 and cannot be written; the rest reads back. */
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_A, now), RTC_A_DEFAULT);
	rtc_reg_write(&s, RTC_REG_A, 0xf0, now);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_A, now), 0x70);
	rtc_reg_write(&s, RTC_REG_A, RTC_A_DEFAULT, now);
	/* B: reset default is BCD, 24-hour. */
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_B, now), RTC_B_24H);
	/* D: VRT, read-only. */
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_D, now), RTC_D_VRT);
	rtc_reg_write(&s, RTC_REG_D, 0, now);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_D, now), RTC_D_VRT);
	/* C: UF after each second boundary, cleared by reading. */
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_C, now), 0);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_C, now + 1), RTC_C_UF);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_C, now + 1), 0);
	rtc_reg_write(&s, RTC_REG_C, 0xff, now);
	rtc_reg_write(&s, RTC_REG_B, RTC_B_24H | RTC_B_UIE, now);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_C, now + 2), RTC_C_IRQF | RTC_C_UF);
	CHECK_EQ(rtc_reg_read(&s, RTC_REG_C, now + 2), 0);
}

static void test_ports(void)
{
	const int64_t now = T_2024_03_09_134507;
	struct rtc_state s;
	uint64_t v = 0;

	rtc_state_init(&s, now);
	CHECK_EQ(rtc_port_write(&s, 0, 1, RTC_INDEX_NMI_MASK | RTC_REG_A, now), IO_HANDLED);
	CHECK_EQ(rtc_port_read(&s, 1, 1, &v, now), IO_HANDLED);
	CHECK_EQ(v, RTC_A_DEFAULT);
	CHECK_EQ(rtc_port_read(&s, 0, 1, &v, now), IO_HANDLED);
	CHECK_EQ(v, 0x8a);   /* the index reads back, NMI bit included */
	rtc_port_write(&s, 0, 1, RTC_REG_YEAR, now);
	rtc_port_read(&s, 1, 1, &v, now);
	CHECK_EQ(v, 0x24);
	rtc_port_write(&s, 0, 1, 0x40, now);
	rtc_port_write(&s, 1, 1, 0x5a, now);
	CHECK_EQ(rtc_reg_read(&s, 0x40, now), 0x5a);
	/* A word at 0x70: index and data at once. */
	CHECK_EQ(rtc_port_write(&s, 0, 2, 0xa541, now), IO_HANDLED);
	CHECK_EQ(rtc_reg_read(&s, 0x41, now), 0xa5);
	CHECK_EQ(rtc_port_read(&s, 0, 2, &v, now), IO_HANDLED);
	CHECK_EQ(v, 0xa541);
	CHECK_EQ(rtc_port_read(&s, 0, 4, &v, now), IO_UNHANDLED);
	CHECK_EQ(rtc_port_read(&s, 1, 2, &v, now), IO_UNHANDLED);
	CHECK_EQ(rtc_port_write(&s, 1, 2, 0, now), IO_UNHANDLED);
	CHECK_EQ(rtc_port_write(&s, 2, 1, 0, now), IO_UNHANDLED);
}

static void test_host_decode(void)
{
	struct rtc_clock_regs r = { 0x07, 0x45, 0x13, 7, 0x09, 0x03, 0x24, 0x20 };
	int64_t t = 0;

	CHECK(rtc_host_regs_to_epoch(&r, RTC_B_24H, &t));
	CHECK_EQ(t, T_2024_03_09_134507);
	r.century = 0xff;                /* no century byte: windowed */
	CHECK(rtc_host_regs_to_epoch(&r, RTC_B_24H, &t));
	CHECK_EQ(t, T_2024_03_09_134507);
	r.year = 0x75;
	CHECK(rtc_host_regs_to_epoch(&r, RTC_B_24H, &t));
	CHECK_EQ(t, date(1975, 3, 9, 13, 45, 7));
	r = (struct rtc_clock_regs){ 7, 45, 0x80 | 1, 7, 9, 3, 24, 20 };   /* binary, 1 PM */
	CHECK(rtc_host_regs_to_epoch(&r, RTC_B_DM_BINARY, &t));
	CHECK_EQ(t, T_2024_03_09_134507);
	r = (struct rtc_clock_regs){ 0x59, 0x59, 0x23, 1, 0x29, 0x02, 0x23, 0x20 };   /* no Feb 29 */
	CHECK(!rtc_host_regs_to_epoch(&r, RTC_B_24H, &t));
	memset(&r, 0xff, sizeof(r));     /* no chip */
	CHECK(!rtc_host_regs_to_epoch(&r, RTC_B_24H, &t));
	CHECK(!rtc_host_regs_to_epoch(&r, RTC_B_24H | RTC_B_DM_BINARY, &t));
}

static void test_format_helpers(void)
{
	unsigned v = 0;

	CHECK_EQ(rtc_to_reg(59, 0), 0x59);
	CHECK_EQ(rtc_to_reg(59, RTC_B_DM_BINARY), 59);
	CHECK(rtc_from_reg(0x42, 0, &v) && v == 42);
	CHECK(rtc_from_reg(42, RTC_B_DM_BINARY, &v) && v == 42);
	CHECK(!rtc_from_reg(0x4a, 0, &v));
	CHECK(!rtc_from_reg(0xa0, 0, &v));
	CHECK(!rtc_from_reg(100, RTC_B_DM_BINARY, &v));
}

int main(void)
{
	test_leap_years();
	test_known_times();
	test_against_libc();
	test_day_carry();
	test_format_helpers();
	test_formats();
	test_set_clock();
	test_ram_and_status();
	test_ports();
	test_host_decode();
	return unit_finish("test_rtc");
}
