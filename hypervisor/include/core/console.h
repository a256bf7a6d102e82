/* The management console on the host serial line. */
#ifndef CORE_CONSOLE_H
#define CORE_CONSOLE_H

#include <stddef.h>

void console_init(void);
/* printk's output sink once the core runs: keeps the prompt tidy. */
void console_sink(const char *s, size_t len);
/* Reads pending input; runs a command when a line is complete. */
void console_poll(void);
/* Prints the one-line summary of every VM (console `vms`, batch end). */
void console_print_vms(void);

#endif
