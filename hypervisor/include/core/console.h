/* The management console on the host serial line. */
#ifndef CORE_CONSOLE_H
#define CORE_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

struct vm;

void console_init(void);
/* printk's output sink once the core runs: keeps the prompt tidy. */
void console_sink(const char *s, size_t len);
/* Reads pending input; runs a command when a line is complete. */
void console_poll(void);
/* A guest's serial output: a whole line (end_of_line) or the part of one
 * that is ready; "[<vm name>] " starts each line. */
void console_guest_output(struct vm *vm, const char *s, size_t len, bool end_of_line);
/* Whether the console's input goes to this VM's UART. */
bool console_has_focus(const struct vm *vm);
/* Runs one command line (console.c). */
void console_run(char *cmdline);
/* Exits by reason and unbacked accesses of one VM (`stats`, batch end). */
void console_print_stats(const struct vm *vm);
/* Prints the one-line summary of every VM (console `vms`, batch end). */
void console_print_vms(void);

#endif
