/*
 * CMOS real-time clock, MC146818A compatible, at ports 0x70 (index; bit 7
 * masks NMI) and 0x71 (data): the clock Linux reads at boot to set its
 * wall time (mach_get_cmos_time, rtc_cmos), and 128 bytes of CMOS RAM.
 *
 * Two halves: a pure core (devices/rtc_core.c, host-tested) that models
 * the registers given the current time in seconds, and the bus glue
 * (devices/rtc.c) that feeds it the host clock (x86/host_rtc.h). The
 * calendar and register-format helpers below are shared with the host
 * side, which decodes the machine's own MC146818.
 */
#ifndef DEVICES_RTC_H
#define DEVICES_RTC_H

#include <stdbool.h>
#include <stdint.h>
#include <core/iobus.h>

struct vm;

#define RTC_PORT_BASE   0x70
#define RTC_PORT_COUNT  2
#define RTC_CMOS_SIZE   128
#define RTC_INDEX_NMI_MASK 0x80   /* bit 7 of port 0x70 */

/* Register indexes (MC146818A data sheet, "Address Map"). 0x32 is not in
 * the chip: it is the PC/AT century byte, the one the ACPI FADT CENTURY
 * field names. */
enum {
	RTC_REG_SEC        = 0x00,
	RTC_REG_SEC_ALARM  = 0x01,
	RTC_REG_MIN        = 0x02,
	RTC_REG_MIN_ALARM  = 0x03,
	RTC_REG_HOUR       = 0x04,
	RTC_REG_HOUR_ALARM = 0x05,
	RTC_REG_WDAY       = 0x06,   /* 1-7, Sunday = 1 */
	RTC_REG_MDAY       = 0x07,
	RTC_REG_MON        = 0x08,
	RTC_REG_YEAR       = 0x09,
	RTC_REG_A          = 0x0a,
	RTC_REG_B          = 0x0b,
	RTC_REG_C          = 0x0c,
	RTC_REG_D          = 0x0d,
	RTC_REG_CENTURY    = 0x32,
};

/* Register A (data sheet, "Register A ($0A)"). */
#define RTC_A_UIP        0x80    /* update in progress, read-only */
#define RTC_A_DEFAULT    0x26    /* DV = 010 (32.768 kHz), RS = 0110 (1024 Hz) */
/* Register B ("Register B ($0B)"). */
#define RTC_B_SET        0x80    /* updates inhibited while the clock is set */
#define RTC_B_PIE        0x40
#define RTC_B_AIE        0x20
#define RTC_B_UIE        0x10
#define RTC_B_SQWE       0x08
#define RTC_B_DM_BINARY  0x04    /* 1: binary, 0: BCD */
#define RTC_B_24H        0x02    /* 1: 24-hour, 0: 12-hour with bit 7 = PM */
#define RTC_B_DSE        0x01
#define RTC_B_DEFAULT    RTC_B_24H
/* Register C ("Register C ($0C)"): flags, cleared by reading. */
#define RTC_C_IRQF       0x80
#define RTC_C_PF         0x40
#define RTC_C_AF         0x20
#define RTC_C_UF         0x10
/* Register D ("Register D ($0D)"). */
#define RTC_D_VRT        0x80    /* valid RAM and time */
#define RTC_HOUR_PM      0x80    /* in 12-hour mode */

/* A proleptic Gregorian date and time of day. */
struct rtc_date {
	int64_t year;        /* e.g. 2024 */
	unsigned mon;        /* 1-12 */
	unsigned mday;       /* 1-31 */
	unsigned hour;       /* 0-23 */
	unsigned min, sec;
	unsigned wday;       /* 0 = Sunday; ignored by rtc_date_to_epoch */
};

/* The clock registers as the chip shows them, in register B's format. */
struct rtc_clock_regs {
	uint8_t sec, min, hour, wday, mday, mon, year, century;
};

bool rtc_is_leap_year(int64_t year);
/* `mon` 1-12. */
unsigned rtc_days_in_month(int64_t year, unsigned mon);
/* Seconds since 1970-01-01 00:00:00 (negative before) to the calendar. */
void rtc_epoch_to_date(int64_t t, struct rtc_date *d);
/* The reverse; `mon` must be 1-12, a day past the month's end carries into
 * the next month (February 30 is March 1 or 2). */
int64_t rtc_date_to_epoch(const struct rtc_date *d);

/* A value 0-99 as a register holds it, BCD or binary per register B. */
uint8_t rtc_to_reg(unsigned v, uint8_t reg_b);
/* The reverse; false for a digit above 9 or a binary value above 99. */
bool rtc_from_reg(uint8_t raw, uint8_t reg_b, unsigned *v);
void rtc_regs_encode(const struct rtc_date *d, uint8_t reg_b, struct rtc_clock_regs *r);
/* False for a time no clock shows (bad BCD digit, month 13, hour 24...);
 * the day of week is ignored: it is derived from the date. */
bool rtc_regs_decode(const struct rtc_clock_regs *r, uint8_t reg_b, struct rtc_date *d);
/* Decodes a real machine's clock: when the century byte is implausible
 * (not 19-29) the century is taken from the year, 70-99 being 19xx and
 * 00-69 20xx, as Linux does. */
bool rtc_host_regs_to_epoch(const struct rtc_clock_regs *r, uint8_t reg_b, int64_t *t);

/*
 * The device. `now` arguments are the host clock in seconds since the
 * epoch; the guest's clock is now + offset, so a guest setting its clock
 * never touches the host's.
 */
struct rtc_state {
	int64_t offset;              /* guest clock minus host clock, seconds */
	int64_t last_c_read;         /* host second of the last read of register C */
	uint8_t index;               /* last write to port 0x70, NMI bit included */
	struct rtc_clock_regs latch; /* the clock registers while SET is 1 */
	uint8_t ram[RTC_CMOS_SIZE];  /* A, B, alarms and plain CMOS RAM */
};

void rtc_state_init(struct rtc_state *s, int64_t now);
/* One register, `reg` 0x00-0x7f. */
uint8_t rtc_reg_read(struct rtc_state *s, uint8_t reg, int64_t now);
void rtc_reg_write(struct rtc_state *s, uint8_t reg, uint8_t val, int64_t now);
/* Accesses to the two ports, `off` relative to 0x70: bytes at either, or a
 * word at 0x70 (index in the low byte, data in the high byte). */
enum io_result rtc_port_read(struct rtc_state *s, uint64_t off, unsigned size,
			     uint64_t *val, int64_t now);
enum io_result rtc_port_write(struct rtc_state *s, uint64_t off, unsigned size,
			      uint64_t val, int64_t now);

/* Registers the clock at ports 0x70-0x71 of the VM's port-I/O bus. */
int rtc_create(struct vm *vm);

#endif
