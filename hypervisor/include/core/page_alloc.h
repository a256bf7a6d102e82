/* Physical page allocator over the free memory of the EFI memory map. */
#ifndef CORE_PAGE_ALLOC_H
#define CORE_PAGE_ALLOC_H

#include <stdint.h>
#include <hv/bootinfo.h>

/* Takes every EfiConventionalMemory range at or above 1 MiB. Returns the
 * highest physical address any descriptor covers (for the identity map). */
uint64_t page_alloc_init(const struct hv_memmap *map);
/* `count` zeroed, physically contiguous pages aligned to `align` pages (a
 * power of two); identity-mapped, so the address is also a pointer. 0 when
 * out of memory. */
uint64_t page_alloc(uint64_t count, uint64_t align);
void page_free(uint64_t pa, uint64_t count);
uint64_t page_alloc_free_pages(void);

static inline void *page_alloc_ptr(uint64_t count)
{
	return (void *)(uintptr_t)page_alloc(count, 1);
}

#endif
