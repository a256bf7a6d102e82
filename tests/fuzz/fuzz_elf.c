// SPDX-License-Identifier: MIT
// libFuzzer target for the ELF guest-kernel checks (hypervisor/core/elf.c):
// ELF64 (Kestrel, PVH with its note) and ELF32 or ELF64 (Multiboot).
// An image elf_check() accepts must load into a guest RAM of the checked size
// without touching anything outside it (ASan watches the buffer's edges).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <core/elf.h>

#define MEM_SIZE (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	struct elf_image img;
	char err[160];
	/* An exact-size copy: any read past the image is caught. */
	uint8_t *copy = malloc(size ? size : 1);

	if (!ram)
		ram = malloc(MEM_SIZE);
	memcpy(copy, data, size);
	uint64_t note;

	if (elf_check_segments(copy, size, 0x10000, MEM_SIZE, &img, err, sizeof(err)) == 0)
		elf_find_note(copy, size, "Xen", 18, &note);
	/* Multiboot kernels: ELF32 or ELF64 (core/boot.c). */
	if (elf_check_any_class(copy, size, 0x100000, MEM_SIZE, &img, err, sizeof(err)) == 0) {
		if (img.lowest < 0x100000 || img.highest > MEM_SIZE || img.lowest >= img.highest)
			abort();
		elf_load(copy, ram);
	}
	if (elf_check(copy, size, 0x10000, MEM_SIZE, &img, err, sizeof(err)) == 0) {
		if (img.lowest < 0x10000 || img.highest > MEM_SIZE || img.lowest >= img.highest)
			abort();
		elf_load(copy, ram);
	} else if (!memchr(err, '\0', sizeof(err)) || !err[0]) {
		abort();   /* every refusal names its reason */
	}
	free(copy);
	return 0;
}
