/* The host's 16550 UARTs: COM1 for the hypervisor console's output and
 * input, COM2 for the gdb stub. */
#ifndef X86_SERIAL_H
#define X86_SERIAL_H

#include <stdbool.h>
#include <stddef.h>

void serial_init(void);
/* Text: '\n' goes out as "\r\n". */
void serial_write(const char *s, size_t len);
/* Non-blocking: a received byte, or -1. */
int serial_getc(void);

/* COM2: whether the machine has it (then set up); bytes out as they are;
 * a received byte or -1. */
bool serial_com2_init(void);
void serial_com2_write(const char *s, size_t len);
int serial_com2_getc(void);

#endif
