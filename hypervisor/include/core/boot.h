/* Guest boot protocols: place the kernel in guest RAM and set every vCPU's
 * initial state. */
#ifndef CORE_BOOT_H
#define CORE_BOOT_H

#include <stddef.h>
#include <core/vm.h>
#include <hv/bootinfo.h>

/* 0, or -1 with the failed check in err (the VM is then not started). */
int boot_prepare(struct vm *vm, const struct hv_boot_vm *bv, char *err, size_t err_len);

#endif
