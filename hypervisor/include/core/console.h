/* The management console on the host serial line. */
#ifndef CORE_CONSOLE_H
#define CORE_CONSOLE_H

void console_init(void);
/* Reads pending input; runs a command when a line is complete. */
void console_poll(void);
/* Prints the one-line summary of every VM (console `vms`, batch end). */
void console_print_vms(void);

#endif
