/* Formatted output to the hypervisor's serial line. */
#ifndef LIB_PRINTK_H
#define LIB_PRINTK_H

#include <stdarg.h>
#include <stddef.h>

/* Supports %s %c %d %i %u %x %X %p %%, flags '-' '0', width, precision for
 * %s, and the l/ll/z length modifiers. Returns the length it wanted. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Output sink: set once at start-up (the host UART). */
void printk_set_sink(void (*write)(const char *s, size_t len));
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintk(const char *fmt, va_list ap);
void printk_write(const char *s, size_t len);

#endif
