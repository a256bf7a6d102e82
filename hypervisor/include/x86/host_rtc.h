/*
 * The host's wall clock: the machine's CMOS clock read once, then advanced
 * with the TSC. Guests' emulated RTCs (devices/rtc.c) run from it.
 */
#ifndef X86_HOST_RTC_H
#define X86_HOST_RTC_H

#include <stdint.h>

/* Reads the CMOS clock; needs the TSC calibrated (time_calibrate()).
 * Called by the first host_rtc_now() if nobody called it before. Returns
 * -1 when the clock could not be read: time then starts at 2000-01-01. */
int host_rtc_init(void);
/* Seconds since 1970-01-01 00:00:00 of the wall time the CMOS clock keeps
 * (UTC where Linux manages the machine, local time where Windows does). */
int64_t host_rtc_now(void);

#endif
