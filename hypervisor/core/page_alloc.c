/*
 * Physical page allocator: a bitmap over [0, top of free memory), one bit
 * per 4 KiB page, set = in use. First fit; the hypervisor allocates rarely
 * (at VM creation), so simplicity wins over speed, but a scan skips whole
 * used bytes and starts at the lowest page that may be free: 64 VMs
 * allocate thousands of pages after a gigabyte of guest RAM.
 *
 * Beside the bitmap, one byte per page names who the page is charged to
 * (the hypervisor, or a VM): what a VM's creation allocates is charged to
 * it, and destroying the VM frees it all at once, without every device
 * needing a free function (core/vm.c).
 */
#include <core/page_alloc.h>
#include <lib/printk.h>
#include <lib/string.h>
#include <stdbool.h>
#include <x86/paging.h>

/* UEFI spec 2.9, 7.2: EFI_MEMORY_TYPE. */
#define EFI_CONVENTIONAL_MEMORY 7
#define LOW_LIMIT (1ull << 20)   /* keep real-mode memory untouched */
#define REALMODE_LIMIT 0x9f000ull

struct efi_memory_descriptor {
	uint32_t type;
	uint32_t pad;
	uint64_t phys_start;
	uint64_t virt_start;
	uint64_t nr_pages;
	uint64_t attribute;
};

static uint8_t *bitmap, *owners;
static uint64_t nr_pages_total, nr_free;
static uint64_t low_free;            /* every page below it is in use */
static uint8_t charge_to = PAGE_OWNER_HV;
static uint64_t realmode_page;       /* for the APs' start-up code */

static const struct efi_memory_descriptor *desc_at(const struct hv_memmap *map, uint64_t i)
{
	return (const void *)(uintptr_t)(map->desc_addr + i * map->desc_size);
}

static bool page_used(uint64_t pfn)
{
	return bitmap[pfn / 8] & (1u << (pfn % 8));
}

static void mark(uint64_t pfn, uint64_t count, bool used)
{
	for (uint64_t p = pfn; p < pfn + count; p++) {
		if (page_used(p) == used)
			continue;
		bitmap[p / 8] ^= (uint8_t)(1u << (p % 8));
		nr_free += used ? -1ull : 1;
		owners[p] = used ? charge_to : PAGE_OWNER_HV;
	}
	if (!used && pfn < low_free)
		low_free = pfn;
}

static bool usable(const struct efi_memory_descriptor *d)
{
	return d->type == EFI_CONVENTIONAL_MEMORY &&
	       d->phys_start + d->nr_pages * PAGE_SIZE > LOW_LIMIT;
}

/* The highest free page below the EBDA (0x9f000): a SIPI vector names a
 * page below 1 MiB, which page_alloc never hands out. */
static uint64_t find_realmode_page(const struct hv_memmap *map)
{
	uint64_t n = map->map_size / map->desc_size, best = 0;

	for (uint64_t i = 0; i < n; i++) {
		const struct efi_memory_descriptor *d = desc_at(map, i);
		uint64_t end = d->phys_start + d->nr_pages * PAGE_SIZE;

		if (end > REALMODE_LIMIT)
			end = REALMODE_LIMIT;
		if (d->type == EFI_CONVENTIONAL_MEMORY && d->phys_start >= PAGE_SIZE &&
		    end > d->phys_start && end - PAGE_SIZE > best)
			best = end - PAGE_SIZE;
	}
	return best;
}

uint64_t page_alloc_realmode(void)
{
	return realmode_page;
}

uint64_t page_alloc_init(const struct hv_memmap *map)
{
	uint64_t n = map->map_size / map->desc_size, top_free = 0, top_any = 0;
	uint64_t bitmap_bytes;

	for (uint64_t i = 0; i < n; i++) {
		const struct efi_memory_descriptor *d = desc_at(map, i);
		uint64_t end = d->phys_start + d->nr_pages * PAGE_SIZE;

		if (end > top_any)
			top_any = end;
		if (usable(d) && end > top_free)
			top_free = end;
	}
	realmode_page = find_realmode_page(map);
	nr_pages_total = top_free / PAGE_SIZE;
	/* The bitmap, then the owner bytes. */
	bitmap_bytes = (nr_pages_total + 7) / 8 + nr_pages_total;
	/* They live in the first free range big enough. */
	for (uint64_t i = 0; i < n && !bitmap; i++) {
		const struct efi_memory_descriptor *d = desc_at(map, i);

		if (usable(d) && d->phys_start >= LOW_LIMIT &&
		    d->nr_pages * PAGE_SIZE >= bitmap_bytes)
			bitmap = (uint8_t *)(uintptr_t)d->phys_start;
	}
	if (!bitmap)
		return top_any;
	owners = bitmap + (nr_pages_total + 7) / 8;
	memset(bitmap, 0xff, bitmap_bytes);
	memset(owners, PAGE_OWNER_HV, nr_pages_total);
	low_free = nr_pages_total;
	for (uint64_t i = 0; i < n; i++) {
		const struct efi_memory_descriptor *d = desc_at(map, i);
		uint64_t start = d->phys_start < LOW_LIMIT ? LOW_LIMIT : d->phys_start;
		uint64_t end = d->phys_start + d->nr_pages * PAGE_SIZE;

		if (usable(d))
			mark(start / PAGE_SIZE, (end - start) / PAGE_SIZE, false);
	}
	mark((uintptr_t)bitmap / PAGE_SIZE, (bitmap_bytes + PAGE_SIZE - 1) / PAGE_SIZE, true);
	return top_any;
}

/* First page at or after p that may start a free run: whole used bytes skipped. */
static uint64_t skip_used(uint64_t p)
{
	while (p < nr_pages_total && p % 8 == 0 && bitmap[p / 8] == 0xff)
		p += 8;
	return p;
}

static uint64_t find_run(uint64_t count, uint64_t align)
{
	uint64_t run = 0;

	for (uint64_t p = low_free; p < nr_pages_total; p++) {
		if (run == 0) {
			p = skip_used(p);
			if (p >= nr_pages_total)
				break;
			if (p & (align - 1))
				continue;
		}
		if (page_used(p)) {
			run = 0;
			continue;
		}
		if (++run == count)
			return p + 1 - count;
	}
	return nr_pages_total;
}

uint64_t page_alloc(uint64_t count, uint64_t align)
{
	uint64_t first;

	if (!bitmap || !count)
		return 0;
	first = find_run(count, align);
	if (first >= nr_pages_total)
		return 0;
	mark(first, count, true);
	if (first == low_free)
		low_free = skip_used(first + count);
	memset((void *)(uintptr_t)(first * PAGE_SIZE), 0, count * PAGE_SIZE);
	return first * PAGE_SIZE;
}

void page_free(uint64_t pa, uint64_t count)
{
	mark(pa / PAGE_SIZE, count, false);
}

uint8_t page_alloc_charge(uint8_t owner)
{
	uint8_t before = charge_to;

	charge_to = owner;
	return before;
}

uint64_t page_free_owner(uint8_t owner)
{
	uint64_t freed = 0;

	if (owner == PAGE_OWNER_HV || !bitmap)
		return 0;
	for (uint64_t p = 0; p < nr_pages_total; p++)
		if (owners[p] == owner && page_used(p)) {
			mark(p, 1, false);
			freed++;
		}
	return freed;
}

uint64_t page_owner_pages(uint8_t owner)
{
	uint64_t n = 0;

	for (uint64_t p = 0; bitmap && p < nr_pages_total; p++)
		n += owners[p] == owner && page_used(p);
	return n;
}

uint64_t page_alloc_free_pages(void)
{
	return nr_free;
}
