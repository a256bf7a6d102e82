/*
 * The host's wall clock. The CMOS clock (an MC146818A or a chipset clone)
 * is read once; from then on the TSC measures the time elapsed, so the
 * hypervisor never touches the chip again and guests never see it. The
 * TSC frequency comes from the 10 ms PIT calibration (time.c): its error,
 * a few hundred ppm at worst, is the drift of every guest's RTC.
 */
#include <devices/rtc.h>
#include <lib/printk.h>
#include <x86/cpu.h>
#include <x86/host_rtc.h>
#include <x86/processor.h>

#define CMOS_INDEX       0x70
#define CMOS_DATA        0x71
#define UIP_WAIT_MS      20          /* UIP lasts 244 us + at most 1984 us */
#define READ_ATTEMPTS    5
#define FALLBACK_EPOCH   946684800   /* 2000-01-01 00:00:00 */

static bool host_rtc_ready;
static int64_t host_rtc_base;        /* wall time at host_rtc_tsc */
static uint64_t host_rtc_tsc;

/* The hypervisor has no use for chipset NMIs: keep them masked (bit 7). */
static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, reg | RTC_INDEX_NMI_MASK);
	return inb(CMOS_DATA);
}

/* The registers are unreliable while an update is in progress
 * (MC146818A data sheet, "Update Cycle"). */
static void cmos_wait_uip_clear(void)
{
	uint64_t deadline = rdtsc() + tsc_khz() * UIP_WAIT_MS;

	while ((cmos_read(RTC_REG_A) & RTC_A_UIP) && rdtsc() < deadline)
		cpu_relax();
}

static void cmos_read_clock(struct rtc_clock_regs *r)
{
	r->sec = cmos_read(RTC_REG_SEC);
	r->min = cmos_read(RTC_REG_MIN);
	r->hour = cmos_read(RTC_REG_HOUR);
	r->wday = cmos_read(RTC_REG_WDAY);
	r->mday = cmos_read(RTC_REG_MDAY);
	r->mon = cmos_read(RTC_REG_MON);
	r->year = cmos_read(RTC_REG_YEAR);
	r->century = cmos_read(RTC_REG_CENTURY);
}

static bool clock_regs_equal(const struct rtc_clock_regs *a, const struct rtc_clock_regs *b)
{
	return a->sec == b->sec && a->min == b->min && a->hour == b->hour &&
	       a->mday == b->mday && a->mon == b->mon && a->year == b->year &&
	       a->century == b->century;
}

/* Two identical reads in a row, both after UIP cleared: no update
 * happened in the middle of either. */
static bool cmos_read_stable(struct rtc_clock_regs *r, uint8_t *reg_b)
{
	struct rtc_clock_regs again;

	for (int i = 0; i < READ_ATTEMPTS; i++) {
		cmos_wait_uip_clear();
		cmos_read_clock(r);
		*reg_b = cmos_read(RTC_REG_B);
		cmos_wait_uip_clear();
		cmos_read_clock(&again);
		if (clock_regs_equal(r, &again))
			return true;
	}
	return false;
}

int host_rtc_init(void)
{
	struct rtc_clock_regs r;
	struct rtc_date d;
	uint8_t reg_b = 0;
	bool ok;

	ok = cmos_read_stable(&r, &reg_b) && rtc_host_regs_to_epoch(&r, reg_b, &host_rtc_base);
	host_rtc_tsc = rdtsc();
	if (!ok) {
		printk("kestrel: host CMOS clock unreadable (B=%x, %x-%x-%x %x:%x:%x); "
		       "guest clocks start at 2000-01-01\n", reg_b, r.year, r.mon, r.mday,
		       r.hour, r.min, r.sec);
		host_rtc_base = FALLBACK_EPOCH;
	}
	host_rtc_ready = true;
	rtc_epoch_to_date(host_rtc_base, &d);
	printk("kestrel: host clock %04ld-%02u-%02u %02u:%02u:%02u\n", (long)d.year, d.mon,
	       d.mday, d.hour, d.min, d.sec);
	return ok ? 0 : -1;
}

int64_t host_rtc_now(void)
{
	uint64_t khz;

	if (!host_rtc_ready)
		host_rtc_init();
	khz = tsc_khz();
	if (!khz)
		return host_rtc_base;
	return host_rtc_base + (int64_t)((rdtsc() - host_rtc_tsc) / (khz * 1000));
}
