/* Emulated 16550 UART: each VM's serial line, sent to the physical serial
 * line with a "[<vm name>] " prefix, and its input from the console. */
#ifndef DEVICES_UART16550_H
#define DEVICES_UART16550_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* Registers the UART's 8 ports at `base` on the VM's port-I/O bus. */
int uart16550_create(struct vm *vm, uint16_t base);
/* Whether the receive FIFO has room: the console reads the host's serial
 * line no faster than the guest empties it (flow control). */
bool uart16550_can_accept(const struct vm *vm);
/* A byte typed on the console for this VM (dropped when the FIFO is full). */
void uart16550_input(struct vm *vm, uint8_t c);
/* Shows the unfinished line (a shell prompt) when the VM gets the input. */
void uart16550_show_partial(struct vm *vm);
/* Back to the power-on state, for a VM restart. */
void uart16550_reset(struct vm *vm);
/* Writes out a partial line still buffered (when the VM stops). */
void uart16550_flush(struct vm *vm);

#endif
