/* The page allocator over a fake EFI memory map: first fit, alignment,
 * the free count, and pages charged to an owner freed all at once (what
 * VM destroy relies on). Memory is mapped at a fixed low address so the
 * bitmap over [0, top) stays small; "physical" addresses are pointers. */
// UNIT-SOURCES: hypervisor/core/page_alloc.c
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <core/page_alloc.h>
#include "unit.h"

#define BASE   0x40000000ull          /* 1 GiB */
#define PAGES  4096ull                /* 16 MiB */
#define PG     4096ull

struct desc {                         /* UEFI spec 2.9, 7.2 */
	uint32_t type, pad;
	uint64_t phys, virt, pages, attr;
};

static struct desc map_descs[2];

static void setup(void)
{
	void *m = mmap((void *)BASE, PAGES * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	struct hv_memmap map = { .desc_addr = (uint64_t)(uintptr_t)map_descs,
				 .map_size = sizeof(map_descs), .desc_size = sizeof(struct desc) };

	CHECK_MSG(m == (void *)BASE, "cannot map the test memory at %#llx", BASE);
	map_descs[0] = (struct desc){ .type = 7, .phys = BASE, .pages = PAGES };
	map_descs[1] = (struct desc){ .type = 4, .phys = 0x100000, .pages = 16 };  /* boot data */
	CHECK_EQ(page_alloc_init(&map), BASE + PAGES * PG);
}

static void test_first_fit(uint64_t free0)
{
	uint64_t a = page_alloc(1, 1), b = page_alloc(3, 1), c;

	CHECK(a >= BASE && a < BASE + PAGES * PG);
	CHECK_EQ(b, a + PG);
	CHECK_EQ(page_alloc_free_pages(), free0 - 4);
	page_free(a, 1);
	CHECK_EQ(page_alloc(1, 1), a);                /* the hole is reused first */
	c = page_alloc(512, 512);                     /* 2 MiB aligned */
	CHECK_EQ(c % (512 * PG), 0);
	CHECK(c > b);
	memset((void *)(uintptr_t)c, 0xaa, PG);
	page_free(c, 512);
	CHECK_EQ(page_alloc(512, 512), c);
	CHECK_EQ(*(uint8_t *)(uintptr_t)c, 0);        /* handed out zeroed */
	page_free(c, 512);
	page_free(a, 4);
	CHECK_EQ(page_alloc_free_pages(), free0);
	CHECK_EQ(page_alloc(PAGES, 1), 0);            /* the bitmap took some */
	CHECK_EQ(page_alloc_free_pages(), free0);
}

/* Allocations charged to two owners, interleaved with the hypervisor's:
 * freeing one owner frees exactly its pages. */
static void test_owners(uint64_t free0)
{
	uint64_t hv, big;

	CHECK_EQ(page_alloc_charge(3), PAGE_OWNER_HV);
	page_alloc(2, 1);
	big = page_alloc(512, 512);
	CHECK_EQ(page_alloc_charge(4), 3);
	page_alloc(5, 1);
	page_alloc_charge(PAGE_OWNER_HV);
	hv = page_alloc(1, 1);
	page_alloc_charge(3);
	page_alloc(1, 1);
	page_alloc_charge(PAGE_OWNER_HV);
	CHECK_EQ(page_owner_pages(3), 515);
	CHECK_EQ(page_owner_pages(4), 5);
	CHECK_EQ(page_alloc_free_pages(), free0 - 521);
	CHECK_EQ(page_free_owner(3), 515);
	CHECK_EQ(page_owner_pages(3), 0);
	CHECK_EQ(page_alloc_free_pages(), free0 - 6);
	CHECK_EQ(page_free_owner(3), 0);              /* twice frees nothing */
	CHECK_EQ(page_free_owner(PAGE_OWNER_HV), 0);  /* never in bulk */
	CHECK_EQ(page_alloc(512, 512), big);          /* its RAM can be taken again */
	page_free(big, 512);
	CHECK_EQ(page_free_owner(4), 5);
	page_free(hv, 1);
	CHECK_EQ(page_alloc_free_pages(), free0);
	/* A page freed one by one is no longer charged to its owner. */
	page_alloc_charge(5);
	hv = page_alloc(1, 1);
	page_alloc_charge(PAGE_OWNER_HV);
	page_free(hv, 1);
	page_alloc(1, 1);
	CHECK_EQ(page_free_owner(5), 0);
}

int main(void)
{
	uint64_t free0;

	setup();
	free0 = page_alloc_free_pages();
	/* Less the bitmap (a bit a page) and owner bytes (a byte a page) over [0, top). */
	CHECK_EQ(free0, PAGES - ((BASE / PG + PAGES) * 9 / 8 + PG - 1) / PG);
	test_first_fit(free0);
	test_owners(free0);
	return unit_finish("test_page_alloc");
}
