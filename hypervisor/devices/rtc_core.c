/*
 * The MC146818A model without any hypervisor dependency (host-tested by
 * tests/unit/test_rtc.c): calendar arithmetic, the register formats of
 * register B, and the register file. Register layout and bits: Motorola
 * MC146818A data sheet, "Address Map", "Time, Calendar and Alarm Data
 * Modes" and "Register A" to "Register D".
 *
 * What is not modelled: interrupts (IRQ 8 is not wired, so PIE/AIE/UIE
 * only read back, and PF and AF never set), the alarm (its registers are
 * plain RAM), daylight saving (DSE reads back, no effect), the divider
 * chain (DV bits read back; the clock runs whatever they hold) and the
 * update cycle itself: UIP always reads 0, as a real chip shows it outside
 * the ~2 ms around each update, so "wait for UIP clear" loops (Linux's
 * mc146818_avoid_UIP) return at once. The clock has one-second resolution.
 */
#include <devices/rtc.h>

#define SECS_PER_DAY   86400
#define DAYS_PER_400Y  146097     /* 400 Gregorian years, exactly */
#define EPOCH_YEAR     1970
#define EPOCH_WDAY     4          /* 1970-01-01 was a Thursday */

/* Floor division and modulo: times before 1970 are negative. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

bool rtc_is_leap_year(int64_t year)
{
	return floor_mod(year, 4) == 0 && (floor_mod(year, 100) != 0 || floor_mod(year, 400) == 0);
}

unsigned rtc_days_in_month(int64_t year, unsigned mon)
{
	static const uint8_t days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (mon == 2 && rtc_is_leap_year(year))
		return 29;
	return days[(mon - 1) % 12];
}

/* Leap years in (0, y] (negative for y < 0, consistently). */
static int64_t leaps_through(int64_t y)
{
	return floor_div(y, 4) - floor_div(y, 100) + floor_div(y, 400);
}

/* Days from 1970-01-01 to January 1 of `year`. */
static int64_t days_before_year(int64_t year)
{
	return 365 * (year - EPOCH_YEAR) + leaps_through(year - 1) - leaps_through(EPOCH_YEAR - 1);
}

void rtc_epoch_to_date(int64_t t, struct rtc_date *d)
{
	int64_t days = floor_div(t, SECS_PER_DAY);
	int64_t secs = t - days * SECS_PER_DAY;
	int64_t cycles = floor_div(days, DAYS_PER_400Y);
	int64_t year = EPOCH_YEAR + 400 * cycles + (days - cycles * DAYS_PER_400Y) / 365;
	int64_t yday;
	unsigned mon = 1;

	/* The estimate counts 365-day years, so it is at most two too high. */
	while (days_before_year(year) > days)
		year--;
	yday = days - days_before_year(year);
	while (yday >= rtc_days_in_month(year, mon))
		yday -= rtc_days_in_month(year, mon++);
	d->year = year;
	d->mon = mon;
	d->mday = (unsigned)yday + 1;
	d->hour = (unsigned)(secs / 3600);
	d->min = (unsigned)(secs / 60 % 60);
	d->sec = (unsigned)(secs % 60);
	d->wday = (unsigned)floor_mod(days + EPOCH_WDAY, 7);
}

int64_t rtc_date_to_epoch(const struct rtc_date *d)
{
	int64_t days = days_before_year(d->year);

	for (unsigned m = 1; m < d->mon && m <= 12; m++)
		days += rtc_days_in_month(d->year, m);
	days += (int64_t)d->mday - 1;
	return days * SECS_PER_DAY + d->hour * 3600 + d->min * 60 + d->sec;
}

uint8_t rtc_to_reg(unsigned v, uint8_t reg_b)
{
	v %= 100;
	if (reg_b & RTC_B_DM_BINARY)
		return (uint8_t)v;
	return (uint8_t)((v / 10) << 4 | v % 10);
}

bool rtc_from_reg(uint8_t raw, uint8_t reg_b, unsigned *v)
{
	if (reg_b & RTC_B_DM_BINARY) {
		*v = raw;
		return raw <= 99;
	}
	*v = (raw >> 4) * 10 + (raw & 0x0f);
	return (raw >> 4) <= 9 && (raw & 0x0f) <= 9;
}

/* 12-hour mode: 12 AM is midnight, 12 PM noon, bit 7 set after noon
 * (data sheet, "Time, Calendar and Alarm Data Modes"). */
static uint8_t rtc_hour_to_reg(unsigned hour, uint8_t reg_b)
{
	unsigned h12 = hour % 12 ? hour % 12 : 12;

	if (reg_b & RTC_B_24H)
		return rtc_to_reg(hour, reg_b);
	return rtc_to_reg(h12, reg_b) | (hour >= 12 ? RTC_HOUR_PM : 0);
}

static bool rtc_hour_from_reg(uint8_t raw, uint8_t reg_b, unsigned *hour)
{
	unsigned h;

	if (reg_b & RTC_B_24H)
		return rtc_from_reg(raw, reg_b, hour) && *hour <= 23;
	if (!rtc_from_reg(raw & ~RTC_HOUR_PM, reg_b, &h) || h < 1 || h > 12)
		return false;
	*hour = h % 12 + (raw & RTC_HOUR_PM ? 12 : 0);
	return true;
}

void rtc_regs_encode(const struct rtc_date *d, uint8_t reg_b, struct rtc_clock_regs *r)
{
	int64_t year = floor_mod(d->year, 10000);

	r->sec = rtc_to_reg(d->sec, reg_b);
	r->min = rtc_to_reg(d->min, reg_b);
	r->hour = rtc_hour_to_reg(d->hour, reg_b);
	r->wday = rtc_to_reg(d->wday + 1, reg_b);
	r->mday = rtc_to_reg(d->mday, reg_b);
	r->mon = rtc_to_reg(d->mon, reg_b);
	r->year = rtc_to_reg((unsigned)(year % 100), reg_b);
	r->century = rtc_to_reg((unsigned)(year / 100), reg_b);
}

bool rtc_regs_decode(const struct rtc_clock_regs *r, uint8_t reg_b, struct rtc_date *d)
{
	unsigned year, century;

	if (!rtc_from_reg(r->sec, reg_b, &d->sec) || d->sec > 59 ||
	    !rtc_from_reg(r->min, reg_b, &d->min) || d->min > 59 ||
	    !rtc_hour_from_reg(r->hour, reg_b, &d->hour) ||
	    !rtc_from_reg(r->mday, reg_b, &d->mday) || d->mday < 1 || d->mday > 31 ||
	    !rtc_from_reg(r->mon, reg_b, &d->mon) || d->mon < 1 || d->mon > 12 ||
	    !rtc_from_reg(r->year, reg_b, &year) ||
	    !rtc_from_reg(r->century, reg_b, &century))
		return false;
	d->year = century * 100 + year;
	d->wday = 0;
	return true;
}

bool rtc_host_regs_to_epoch(const struct rtc_clock_regs *r, uint8_t reg_b, int64_t *t)
{
	struct rtc_clock_regs fixed = *r;
	struct rtc_date d;
	unsigned century, year;

	if (!rtc_from_reg(r->century, reg_b, &century) || century < 19 || century > 29) {
		if (!rtc_from_reg(r->year, reg_b, &year))
			return false;
		fixed.century = rtc_to_reg(year >= 70 ? 19 : 20, reg_b);
	}
	if (!rtc_regs_decode(&fixed, reg_b, &d) || d.mday > rtc_days_in_month(d.year, d.mon))
		return false;
	*t = rtc_date_to_epoch(&d);
	return true;
}

/* ---------------------------------------------------------------- device */

void rtc_state_init(struct rtc_state *s, int64_t now)
{
	*s = (struct rtc_state){ .last_c_read = now };
	s->ram[RTC_REG_A] = RTC_A_DEFAULT;
	s->ram[RTC_REG_B] = RTC_B_DEFAULT;
}

/* The byte of `r` behind a clock register, or NULL. */
static uint8_t *rtc_clock_field(struct rtc_clock_regs *r, uint8_t reg)
{
	switch (reg) {
	case RTC_REG_SEC:     return &r->sec;
	case RTC_REG_MIN:     return &r->min;
	case RTC_REG_HOUR:    return &r->hour;
	case RTC_REG_WDAY:    return &r->wday;
	case RTC_REG_MDAY:    return &r->mday;
	case RTC_REG_MON:     return &r->mon;
	case RTC_REG_YEAR:    return &r->year;
	case RTC_REG_CENTURY: return &r->century;
	default:              return 0;
	}
}

static void rtc_clock_now(const struct rtc_state *s, int64_t now, uint8_t reg_b,
			  struct rtc_clock_regs *r)
{
	struct rtc_date d;

	rtc_epoch_to_date(now + s->offset, &d);
	rtc_regs_encode(&d, reg_b, r);
}

/* The guest set its clock to `r`: only the offset changes. A time no clock
 * can show is dropped, the clock keeps running. */
static void rtc_clock_commit(struct rtc_state *s, const struct rtc_clock_regs *r, int64_t now)
{
	struct rtc_date d;

	if (rtc_regs_decode(r, s->ram[RTC_REG_B], &d))
		s->offset = rtc_date_to_epoch(&d) - now;
}

/* Register C: UF says an update cycle (a second boundary) passed since the
 * last read; polling guests use it to find the start of a second. */
static uint8_t rtc_read_c(struct rtc_state *s, int64_t now)
{
	uint8_t c = 0;

	if (!(s->ram[RTC_REG_B] & RTC_B_SET) && now != s->last_c_read)
		c |= RTC_C_UF;
	if ((c & RTC_C_UF) && (s->ram[RTC_REG_B] & RTC_B_UIE))
		c |= RTC_C_IRQF;   /* the flag only: no interrupt is raised */
	s->last_c_read = now;
	return c;
}

uint8_t rtc_reg_read(struct rtc_state *s, uint8_t reg, int64_t now)
{
	struct rtc_clock_regs r;
	uint8_t *field;

	reg &= RTC_CMOS_SIZE - 1;
	if (s->ram[RTC_REG_B] & RTC_B_SET)
		r = s->latch;     /* frozen while the guest sets the clock */
	else
		rtc_clock_now(s, now, s->ram[RTC_REG_B], &r);
	field = rtc_clock_field(&r, reg);
	if (field)
		return *field;
	switch (reg) {
	case RTC_REG_A: return s->ram[RTC_REG_A] & ~RTC_A_UIP;
	case RTC_REG_C: return rtc_read_c(s, now);
	case RTC_REG_D: return RTC_D_VRT;
	default:        return s->ram[reg];
	}
}

/* SET going to 1 freezes the clock registers, going to 0 starts the clock
 * from what was written meanwhile, read in the format B then selects.
 * Setting SET clears UIE ("Register B ($0B)", SET and UIE). */
static void rtc_write_b(struct rtc_state *s, uint8_t val, int64_t now)
{
	uint8_t old = s->ram[RTC_REG_B];

	if (val & RTC_B_SET)
		val &= ~RTC_B_UIE;
	s->ram[RTC_REG_B] = val;
	if (!(old & RTC_B_SET) && (val & RTC_B_SET))
		rtc_clock_now(s, now, val, &s->latch);
	else if ((old & RTC_B_SET) && !(val & RTC_B_SET))
		rtc_clock_commit(s, &s->latch, now);
}

/* Without SET each write takes effect at once: the running clock with one
 * field replaced. The day of week is derived from the date, so writing it
 * has no lasting effect. */
static void rtc_write_clock(struct rtc_state *s, uint8_t reg, uint8_t val, int64_t now)
{
	struct rtc_clock_regs r;

	if (s->ram[RTC_REG_B] & RTC_B_SET) {
		*rtc_clock_field(&s->latch, reg) = val;
		return;
	}
	rtc_clock_now(s, now, s->ram[RTC_REG_B], &r);
	*rtc_clock_field(&r, reg) = val;
	rtc_clock_commit(s, &r, now);
}

void rtc_reg_write(struct rtc_state *s, uint8_t reg, uint8_t val, int64_t now)
{
	struct rtc_clock_regs probe;

	reg &= RTC_CMOS_SIZE - 1;
	if (rtc_clock_field(&probe, reg)) {
		rtc_write_clock(s, reg, val, now);
		return;
	}
	switch (reg) {
	case RTC_REG_A: s->ram[RTC_REG_A] = val & ~RTC_A_UIP; break;
	case RTC_REG_B: rtc_write_b(s, val, now); break;
	case RTC_REG_C:
	case RTC_REG_D: break;   /* read-only */
	default:        s->ram[reg] = val; break;
	}
}

enum io_result rtc_port_read(struct rtc_state *s, uint64_t off, unsigned size,
			     uint64_t *val, int64_t now)
{
	if (size == 1 && off == 0)
		*val = s->index;   /* write-only on most chipsets; the last index here */
	else if (size == 1 && off == 1)
		*val = rtc_reg_read(s, s->index, now);
	else if (size == 2 && off == 0)
		*val = s->index | (uint64_t)rtc_reg_read(s, s->index, now) << 8;
	else
		return IO_UNHANDLED;
	return IO_HANDLED;
}

/* The NMI mask bit is kept (it reads back) but masks nothing: this
 * platform raises no NMI from the chipset. */
enum io_result rtc_port_write(struct rtc_state *s, uint64_t off, unsigned size,
			      uint64_t val, int64_t now)
{
	if (size == 1 && off == 0) {
		s->index = (uint8_t)val;
	} else if (size == 1 && off == 1) {
		rtc_reg_write(s, s->index, (uint8_t)val, now);
	} else if (size == 2 && off == 0) {
		s->index = (uint8_t)val;
		rtc_reg_write(s, s->index, (uint8_t)(val >> 8), now);
	} else {
		return IO_UNHANDLED;
	}
	return IO_HANDLED;
}
