/*
 * The virtual PC every VM gets, as one table of device types
 * (core/platform.c): what each VM gets, and in which order the devices are
 * created and reset. vm.c walks it; it names no device itself.
 */
#ifndef CORE_PLATFORM_H
#define CORE_PLATFORM_H

#include <stdbool.h>

struct vm;
struct hv_boot_vm;

struct vdev_type {
	const char *name;
	/* Whether a VM booted from bv has the device (NULL: every VM). */
	bool (*wanted)(const struct hv_boot_vm *bv);
	int (*create)(struct vm *vm);
	/* Back to the power-on state when the guest resets (NULL: nothing
	 * to do, e.g. a clock that keeps running). */
	void (*reset)(struct vm *vm);
};

/* Creates the VM's devices in table order; on failure names the device. */
int platform_create(struct vm *vm, const char **failed);
void platform_reset(struct vm *vm);

#endif
