/* The virtio console as the console's input side sees it (virtio/virtio_console.c). */
#ifndef VIRTIO_VIRTIO_CONSOLE_H
#define VIRTIO_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* The VM has a virtio console whose driver runs: input goes there. */
bool virtio_console_active(const struct vm *vm);
/* A receive buffer is ready for the next typed byte. */
bool virtio_console_can_accept(struct vm *vm);
void virtio_console_input(struct vm *vm, uint8_t c);
void virtio_console_show_partial(struct vm *vm);

#endif
