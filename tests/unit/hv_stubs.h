/*
 * The hypervisor's page allocator, printk and strlcpy on the host, for unit
 * tests that link hypervisor code calling them (virtio, PCI). Include it
 * in the one test file of a binary: it defines the functions.
 */
#ifndef TESTS_UNIT_HV_STUBS_H
#define TESTS_UNIT_HV_STUBS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <core/page_alloc.h>
#include <lib/printk.h>
#include <lib/string.h>

uint64_t page_alloc(uint64_t count, uint64_t align)
{
	(void)align;
	return (uint64_t)(uintptr_t)calloc(count, PAGE_SIZE);
}

void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

size_t strlcpy(char *d, const char *s, size_t n)
{
	snprintf(d, n, "%s", s);
	return strlen(s);
}

#endif
