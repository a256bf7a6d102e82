// SPDX-License-Identifier: MIT
// libFuzzer target for the hv.cfg parser (efi/config.c).
//
//   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
//         -Iinclude -Ihypervisor/include -Iefi \
//         tests/fuzz/fuzz_config.c efi/config.c -o build/fuzz_config
//   mkdir -p build/fuzz-corpus && build/fuzz_config -max_total_time=60 build/fuzz-corpus
//
// Besides the sanitizers, every result is checked against the promises in
// config.h and docs/config.md; a broken promise aborts with a message.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, unsigned vm)
{
	fprintf(stderr, "fuzz_config: %s (vm %u)\n", what, vm);
	abort();
}

static int terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static int name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= HV_VM_NAME_MAX)
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int same_name(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if ((*a | 0x20) != (*b | 0x20))
			return 0;
	return *a == *b;
}

#define KNOWN_DEVICES (HV_DEV_TESTDEV | HV_DEV_VIRTIO_RNG | HV_DEV_VIRTIO_CONSOLE | \
		       HV_DEV_VIRTIO_NET | HV_DEV_DISK_READONLY | HV_DEV_VIRTIO_MMIO | HV_DEV_MAC_SET)

/* A valid VM's device switches: disk-readonly only with a disk, a MAC only
 * with a NIC, and then a unicast, non-zero one. */
static void check_devices(const struct cfg_vm *vm, unsigned i)
{
	static const uint8_t zero[6];

	if (vm->devices & ~KNOWN_DEVICES)
		fail("unknown device bit", i);
	if ((vm->devices & HV_DEV_DISK_READONLY) && !vm->disk[0])
		fail("disk-readonly without a disk", i);
	if (!(vm->devices & HV_DEV_MAC_SET))
		return;
	if (!(vm->devices & HV_DEV_VIRTIO_NET))
		fail("mac without net", i);
	if ((vm->mac[0] & 1) || !memcmp(vm->mac, zero, sizeof(zero)))
		fail("multicast or all-zero mac accepted", i);
}

static void check_vm(const struct cfg *c, unsigned i)
{
	const struct cfg_vm *vm = &c->vms[i];

	if (!terminated(vm->name, sizeof(vm->name)) || !terminated(vm->kernel, sizeof(vm->kernel)) ||
	    !terminated(vm->initrd, sizeof(vm->initrd)) || !terminated(vm->disk, sizeof(vm->disk)) ||
	    !terminated(vm->cmdline, sizeof(vm->cmdline)) || !terminated(vm->error, sizeof(vm->error)))
		fail("unterminated string", i);
	if (i >= c->nr_vms)
		return;
	if (!name_ok(vm->name))
		fail("bad name", i);
	if (vm->valid != (vm->error[0] == '\0') || vm->valid != (vm->nr_errors == 0))
		fail("valid, error and nr_errors disagree", i);
	if (!vm->valid) {
		if (strncmp(vm->error, "fuzz.cfg:", 9) != 0)
			fail("error without file name", i);
		return;
	}
	if (vm->mem_size < CFG_MEM_MIN || vm->mem_size > CFG_MEM_MAX || vm->mem_size % CFG_MEM_ALIGN)
		fail("bad memory size", i);
	if (vm->nr_vcpus < 1 || vm->nr_vcpus > CFG_MAX_VCPUS)
		fail("bad vcpus", i);
	if (vm->boot_protocol > HV_BOOT_MULTIBOOT)
		fail("bad boot protocol", i);
	if (!vm->kernel[0] || vm->kernel[0] == '/' || strchr(vm->kernel, '\\'))
		fail("bad kernel path", i);
	if (vm->initrd[0] == '/' || strchr(vm->initrd, '\\'))
		fail("bad initrd path", i);
	if (vm->disk[0] == '/' || strchr(vm->disk, '\\'))
		fail("bad disk path", i);
	check_devices(vm, i);
	for (unsigned j = 0; j < i; j++)
		if (same_name(vm->name, c->vms[j].name))
			fail("duplicate name accepted", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cfg c;

	memset(&c, 0xa5, sizeof(c));
	config_parse((const char *)data, size, "fuzz.cfg", &c);
	if (c.nr_vms > HV_MAX_VMS || c.nr_errors > CFG_MAX_ERRORS)
		fail("count out of range", 0);
	if (c.nr_errors_dropped && c.nr_errors != CFG_MAX_ERRORS)
		fail("errors dropped while slots were free", 0);
	for (unsigned i = 0; i < CFG_MAX_ERRORS; i++)
		if (!terminated(c.errors[i], HV_ERROR_MAX) ||
		    (i < c.nr_errors && strncmp(c.errors[i], "fuzz.cfg", 8) != 0))
			fail("bad global error", i);
	for (unsigned i = 0; i < HV_MAX_VMS; i++)
		check_vm(&c, i);
	return 0;
}
