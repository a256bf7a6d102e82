/* Validation and loading of ELF64 guest kernels (pure: no hypervisor state,
 * so the host unit tests and fuzzers exercise exactly this code). */
#ifndef CORE_ELF_H
#define CORE_ELF_H

#include <stddef.h>
#include <stdint.h>

struct elf_image {
	uint64_t entry;
	uint64_t lowest, highest;    /* guest-physical span of the PT_LOAD segments */
};

/* Checks that `img` is an ELF64 x86-64 executable whose PT_LOAD segments lie
 * in guest RAM [min_paddr, mem_size) and whose entry point is inside one of
 * them. On failure returns -1 and writes the failed check to err. */
int elf_check(const void *img, size_t size, uint64_t min_paddr, uint64_t mem_size,
	      struct elf_image *out, char *err, size_t err_len);
/* The same checks, also accepting an i386 ELF32 executable (Multiboot). */
int elf_check_any_class(const void *img, size_t size, uint64_t min_paddr, uint64_t mem_size,
			struct elf_image *out, char *err, size_t err_len);
/* The same checks for an image entered elsewhere than e_entry (PVH: the
 * entry comes from a note), so the entry point is not checked. */
int elf_check_segments(const void *img, size_t size, uint64_t min_paddr, uint64_t mem_size,
		       struct elf_image *out, char *err, size_t err_len);
/* -1 (and the segment in err) when a PT_LOAD segment of a checked image
 * overlaps guest-physical [lo, hi): a hole in the guest's memory map. */
int elf_check_hole(const void *img, uint64_t lo, uint64_t hi, char *err, size_t err_len);
/* The 32- or 64-bit value of the ELF note (name, type) in a checked image;
 * -1 when there is none. */
int elf_find_note(const void *img, size_t size, const char *name, uint32_t type,
		  uint64_t *value);

/* Copies the segments of a checked image into guest RAM at `ram` and zeroes
 * the part of each segment beyond its file size. */
void elf_load(const void *img, void *ram);

#endif
