/*
 * A guest's text output on its way to the console (the UART, the virtio
 * console): whole lines behind "[<vm name>] ", so lines of different VMs
 * do not mix; the VM that has the console's input gets its partial lines
 * out at once, so a shell prompt shows before Enter. Control characters
 * show as '?' and a backspace may only take back the guest's own
 * characters, so a guest cannot forge other lines (review finding 11).
 */
#ifndef CORE_GUEST_LINE_H
#define CORE_GUEST_LINE_H

#include <stdint.h>

struct vm;

#define GUEST_LINE_MAX 256

struct guest_line {
	struct vm *vm;
	unsigned len;
	unsigned col;         /* characters of the current line on the terminal */
	char line[GUEST_LINE_MAX];
};

void guest_line_putc(struct guest_line *l, uint8_t c);
/* Writes out the unfinished line as a whole line (the VM stops). */
void guest_line_flush(struct guest_line *l);
/* Shows the unfinished line (the VM got the console's input). */
void guest_line_show_partial(struct guest_line *l);

#endif
