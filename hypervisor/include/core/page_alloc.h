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
/* One free page below 640 KiB, outside the allocator (0: none); the APs
 * start there (x86/percpu.h). */
uint64_t page_alloc_realmode(void);
void page_free(uint64_t pa, uint64_t count);
uint64_t page_alloc_free_pages(void);

/* Who allocated pages are charged to: the hypervisor (never freed in bulk)
 * or a VM, by an owner number of its own (core/vm.c: 1 + its id). */
#define PAGE_OWNER_HV 0
/* Charges what page_alloc hands out from now on to `owner`; returns the
 * owner charged before, to put back. */
uint8_t page_alloc_charge(uint8_t owner);
/* Frees every page charged to `owner` (not PAGE_OWNER_HV); the count. */
uint64_t page_free_owner(uint8_t owner);
/* Pages in use charged to `owner`. */
uint64_t page_owner_pages(uint8_t owner);

static inline void *page_alloc_ptr(uint64_t count)
{
	return (void *)(uintptr_t)page_alloc(count, 1);
}

#endif
