/* SPDX-License-Identifier: MIT */
/*
 * Self-check framework: each check returns PASS, or FAIL/SKIP through
 * check_fail()/check_skip(), which keep the short reason for the result line.
 */
#ifndef MINIMAL_SELFTEST_H
#define MINIMAL_SELFTEST_H

#include "kernel.h"

enum check_result {
	CHECK_PASS,
	CHECK_FAIL,
	CHECK_SKIP,
};

enum check_result check_fail(const char *fmt, ...) PRINTF_LIKE(1, 2);
enum check_result check_skip(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* apic.c */
enum check_result check_lapic_oneshot(void);
enum check_result check_lapic_periodic(void);
enum check_result check_lapic_relocate(void);
enum check_result check_x2apic_tsc_deadline(void);

/* memtest.c */
enum check_result check_outside_ram(void);
enum check_result check_ram_pattern(void);

#endif
