/*
 * The guest's CMOS clock on the port-I/O bus: the model is in rtc_core.c,
 * this only allocates it and feeds it the host's wall clock. No interrupt:
 * IRQ 8 is not wired, and Linux needs none to read the time at boot.
 */
#include <core/iobus.h>
#include <core/page_alloc.h>
#include <core/vm.h>
#include <devices/rtc.h>
#include <x86/host_rtc.h>

static enum io_result rtc_io_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	return rtc_port_read(opaque, off, size, val, host_rtc_now());
}

static enum io_result rtc_io_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	return rtc_port_write(opaque, off, size, val, host_rtc_now());
}

static const struct io_ops rtc_ops = { .read = rtc_io_read, .write = rtc_io_write };

int rtc_create(struct vm *vm)
{
	struct rtc_state *s = page_alloc_ptr(1);

	_Static_assert(sizeof(*s) <= PAGE_SIZE, "one page");
	if (!s)
		return -1;
	rtc_state_init(s, host_rtc_now());
	if (iobus_register(&vm->pio.bus, RTC_PORT_BASE, RTC_PORT_COUNT, &rtc_ops, s, "rtc")) {
		page_free((uint64_t)(uintptr_t)s, 1);
		return -1;
	}
	return 0;
}
