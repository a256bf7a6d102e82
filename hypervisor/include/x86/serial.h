/* The host's 16550 UART (COM1): hypervisor console output and input. */
#ifndef X86_SERIAL_H
#define X86_SERIAL_H

#include <stdbool.h>
#include <stddef.h>

void serial_init(void);
void serial_write(const char *s, size_t len);
/* Non-blocking: a received byte, or -1. */
int serial_getc(void);

#endif
