/* The shared page-table builder: large-page choice, lookups, overlap and
 * out-of-memory handling, and the NPT format's U/S requirement. */
// UNIT-SOURCES: hypervisor/arch/x86/paging.c
#include <stdlib.h>
#include <string.h>
#include <x86/paging.h>
#include "unit.h"

#define POOL_PAGES 64

struct pool {
	uint8_t *mem;
	unsigned used, limit;
};

/* Tables come from an aligned pool; "physical" addresses are the pointers. */
static uint64_t pool_alloc(void *ctx)
{
	struct pool *p = ctx;
	uint8_t *page;

	if (p->used == p->limit)
		return 0;
	page = p->mem + (p->used++) * PAGE_SIZE;
	memset(page, 0, PAGE_SIZE);
	return (uint64_t)(uintptr_t)page;
}

static void *pool_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa;
}

static struct pt make_pt(struct pool *p, const struct pt_format *fmt, unsigned limit)
{
	p->used = 0;
	p->limit = limit;
	return (struct pt){ .fmt = fmt, .alloc_table = pool_alloc, .to_virt = pool_virt, .ctx = p };
}

static void test_large_pages(struct pool *p)
{
	struct pt pt = make_pt(p, &pt_format_npt_1g, POOL_PAGES);
	uint64_t pa;
	unsigned level;

	CHECK(pt_init(&pt) == 0);
	/* 2 GiB at a 1 GiB-aligned host address: two 1 GiB pages. */
	CHECK(pt_map(&pt, 0, 0x40000000, 2 * SZ_1G, PT_RWX) == 0);
	CHECK(pt_lookup(&pt, 0x12345678, &pa, &level));
	CHECK_EQ(pa, 0x40000000 + 0x12345678);
	CHECK_EQ(level, 3);
	CHECK_EQ(p->used, 2);   /* PML4 + PDPT only */
	/* Misaligned host address: 2 MiB pages, then 4 KiB at the tail. */
	CHECK(pt_map(&pt, 4 * SZ_1G, 0x200000, SZ_2M + 0x3000, PT_RWX) == 0);
	CHECK(pt_lookup(&pt, 4 * SZ_1G + 0x1234, &pa, &level));
	CHECK_EQ(pa, 0x201234);
	CHECK_EQ(level, 2);
	CHECK(pt_lookup(&pt, 4 * SZ_1G + SZ_2M + 0x2fff, &pa, &level));
	CHECK_EQ(pa, 0x200000 + SZ_2M + 0x2fff);
	CHECK_EQ(level, 1);
	CHECK(!pt_lookup(&pt, 4 * SZ_1G + SZ_2M + 0x3000, &pa, &level));
	CHECK(!pt_lookup(&pt, 3 * SZ_1G, &pa, &level));
}

static void test_no_1g_format(struct pool *p)
{
	struct pt pt = make_pt(p, &pt_format_npt, POOL_PAGES);
	uint64_t pa;
	unsigned level;

	CHECK(pt_init(&pt) == 0);
	CHECK(pt_map(&pt, 0, 0, SZ_1G, PT_RWX) == 0);
	CHECK(pt_lookup(&pt, SZ_1G - 1, &pa, &level));
	CHECK_EQ(level, 2);
	CHECK_EQ(pa, SZ_1G - 1);
}

static void test_errors(struct pool *p)
{
	struct pt pt = make_pt(p, &pt_format_x86_64, POOL_PAGES);

	CHECK(pt_init(&pt) == 0);
	CHECK(pt_map(&pt, 0x1000, 0x1000, 0x800, PT_RWX) == -1);     /* not page-sized */
	CHECK(pt_map(&pt, 0, 0, SZ_2M, PT_RWX) == 0);
	CHECK(pt_map(&pt, 0x1000, 0x5000, 0x1000, PT_RWX) == -1);    /* inside a large page */
	CHECK(pt_map(&pt, 0, 0, SZ_2M, PT_RWX) == -1);               /* same range again */
	pt = make_pt(p, &pt_format_x86_64, 3);
	CHECK(pt_init(&pt) == 0);
	CHECK(pt_map(&pt, 0, 0, 0x1000, PT_RWX) == -1);              /* needs 4 tables */
}

static void test_entry_bits(struct pool *p)
{
	struct pt pt = make_pt(p, &pt_format_npt, POOL_PAGES);
	uint64_t *pml4, *pdpt, *pd;

	CHECK(pt_init(&pt) == 0);
	CHECK(pt_map(&pt, 0, 0x400000, SZ_2M, PT_READ | PT_WRITE) == 0);
	pml4 = (uint64_t *)(uintptr_t)pt.root_pa;
	pdpt = (uint64_t *)(uintptr_t)(pml4[0] & 0x000ffffffffff000ull);
	pd = (uint64_t *)(uintptr_t)(pdpt[0] & 0x000ffffffffff000ull);
	/* NPT: U/S at every level (APM 2, 15.25.5), PS on the leaf, NX when
	 * not executable. */
	CHECK_EQ(pml4[0] & 7, 7);
	CHECK_EQ(pdpt[0] & 7, 7);
	CHECK_EQ(pd[0], 0x400000ull | 0x87 | (1ull << 63));
	CHECK_EQ(pt_format_x86_64.leaf_entry(0x1000, 1, PT_RWX | PT_UNCACHED), 0x101bull);
}

/* Write-watch: one 4 KiB page inside a 1 GiB and a 2 MiB page loses its
 * write right; its neighbours, and the rest of the large pages, keep
 * theirs and their addresses; giving it back restores the entry. */
static void test_protect(struct pool *p, const struct pt_format *fmt)
{
	struct pt pt = make_pt(p, fmt, POOL_PAGES);
	uint64_t page = SZ_1G + 5 * SZ_2M + 7 * PAGE_SIZE, pa;
	struct pt_walk w;
	unsigned level, used;

	CHECK(pt_init(&pt) == 0);
	CHECK(pt_map(&pt, 0, 0x80000000, 2 * SZ_1G, PT_RWX) == 0);
	used = p->used;
	CHECK(pt_protect(&pt, page, PAGE_SIZE, PT_READ | PT_EXEC) == 0);
	CHECK(pt_walk(&pt, page, &w));
	CHECK_EQ(w.level, 1);
	CHECK_EQ(w.pa, 0x80000000 + page);
	CHECK_EQ(fmt->rights(w.steps[w.nr_steps - 1].entry), PT_READ | PT_EXEC);
	/* 1 GiB split into 2 MiB pages, the one holding the page into 4 KiB. */
	CHECK_EQ(p->used, used + (fmt->max_leaf_level == 3 ? 2 : 1));
	for (int d = -1; d <= 1; d += 2) {
		CHECK(pt_walk(&pt, page + d * PAGE_SIZE, &w));
		CHECK_EQ(w.pa, 0x80000000 + page + d * PAGE_SIZE);
		CHECK_EQ(fmt->rights(w.steps[w.nr_steps - 1].entry), PT_RWX);
	}
	CHECK(pt_lookup(&pt, SZ_1G + 9 * SZ_2M + 0x1234, &pa, &level));
	CHECK_EQ(pa, 0x80000000 + SZ_1G + 9 * SZ_2M + 0x1234);
	CHECK_EQ(level, 2);
	CHECK(pt_lookup(&pt, 0x1234, &pa, &level));        /* the other 1 GiB: untouched */
	CHECK_EQ(level, fmt->max_leaf_level);
	/* Again, and back: no more tables, the same rights as before. */
	used = p->used;
	CHECK(pt_protect(&pt, page, 2 * PAGE_SIZE, PT_READ | PT_EXEC) == 0);
	CHECK(pt_protect(&pt, page, 2 * PAGE_SIZE, PT_RWX) == 0);
	CHECK_EQ(p->used, used);
	CHECK(pt_walk(&pt, page + PAGE_SIZE, &w));
	CHECK_EQ(fmt->rights(w.steps[w.nr_steps - 1].entry), PT_RWX);
	CHECK_EQ(w.pa, 0x80000000 + page + PAGE_SIZE);
	/* Read-watch: no rights, not present to the CPU (P = 0 for NPT, R = W =
	 * X = 0 for EPT: bits 2:0 of either), still mapped for the builder;
	 * given its rights back, the same address, and an uncached page stays
	 * uncached through it. */
	CHECK(pt_protect(&pt, page, PAGE_SIZE, 0) == 0);
	CHECK(pt_walk(&pt, page, &w));
	CHECK_EQ(w.pa, 0x80000000 + page);
	CHECK_EQ(w.steps[w.nr_steps - 1].entry & 7, fmt == &pt_format_npt ||
		 fmt == &pt_format_npt_1g ? 4 : 0);     /* NPT: U/S stays, P is 0 */
	CHECK_EQ(fmt->rights(w.steps[w.nr_steps - 1].entry), 0);
	CHECK(pt_map(&pt, page, 0, PAGE_SIZE, PT_RWX) == -1);        /* still taken */
	CHECK(pt_protect(&pt, page, PAGE_SIZE, PT_RWX) == 0);
	CHECK(pt_walk(&pt, page, &w));
	CHECK_EQ(w.pa, 0x80000000 + page);
	CHECK_EQ(fmt->rights(w.steps[w.nr_steps - 1].entry), PT_RWX);
	CHECK_EQ(fmt->rights(fmt->leaf_entry(0x5000, 1, PT_UNCACHED)), PT_UNCACHED);
	CHECK_EQ(fmt->rights(fmt->leaf_entry(0x5000, 1, PT_WRITE | PT_EXEC)), 0);
	/* Not mapped, misaligned, and out of tables for a split. */
	CHECK(pt_protect(&pt, 4 * SZ_1G, PAGE_SIZE, PT_READ) == -1);
	CHECK(pt_protect(&pt, page + 8, PAGE_SIZE, PT_READ) == -1);
	p->limit = p->used;
	CHECK(pt_protect(&pt, 0x3000, PAGE_SIZE, PT_READ) == -1);
	CHECK(pt_lookup(&pt, 0x3000, &pa, &level));        /* still mapped as before */
	CHECK_EQ(pa, 0x80003000);
}

int main(void)
{
	struct pool p = { .mem = aligned_alloc(PAGE_SIZE, POOL_PAGES * PAGE_SIZE) };

	test_large_pages(&p);
	test_no_1g_format(&p);
	test_errors(&p);
	test_entry_bits(&p);
	test_protect(&p, &pt_format_npt_1g);
	test_protect(&p, &pt_format_npt);
	test_protect(&p, &pt_format_ept_1g);
	free(p.mem);
	return unit_finish("test_paging");
}
