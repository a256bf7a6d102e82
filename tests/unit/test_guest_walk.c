/* The recorded guest page walk (x86/guest_walk.c) on tables built in a host
 * buffer standing for guest RAM: every paging mode, large pages, an entry
 * not present at each level, a table outside RAM, canonical addresses, the
 * rights the levels combine to; and the nested side's recorded lookup
 * (pt_walk in x86/paging.c). */
// UNIT-SOURCES: hypervisor/arch/x86/guest_walk.c hypervisor/arch/x86/paging.c
#include <stdlib.h>
#include <string.h>
#include <x86/guest_walk.h>
#include <x86/paging.h>
#include <x86/processor.h>
#include "unit.h"

#define RAM_SIZE  (64 * 4096)
#define P         (1ull << 0)
#define RW        (1ull << 1)
#define US        (1ull << 2)
#define PS        (1ull << 7)
#define XD        (1ull << 63)

static uint8_t ram[RAM_SIZE];
static unsigned reads;

static int ram_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	(void)ctx;
	reads++;
	if (gpa >= RAM_SIZE || RAM_SIZE - gpa < size)
		return -1;
	*val = 0;
	memcpy(val, ram + gpa, size);
	return 0;
}

static void put64(uint64_t gpa, uint64_t e)
{
	memcpy(ram + gpa, &e, 8);
}

static void put32(uint64_t gpa, uint32_t e)
{
	memcpy(ram + gpa, &e, 4);
}

static struct guest_sregs regs(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer)
{
	return (struct guest_sregs){ .cr0 = cr0, .cr3 = cr3, .cr4 = cr4, .efer = efer };
}

static int walk(const struct guest_sregs *s, uint64_t la, struct guest_walk *w)
{
	return guest_walk(s, la, ram_read, NULL, w);
}

#define PG      (X86_CR0_PE | X86_CR0_PG)
#define LONG    (EFER_LME | EFER_LMA)

static void test_no_paging(void)
{
	struct guest_sregs s = regs(X86_CR0_PE, 0, 0, 0);
	struct guest_walk w;

	CHECK_EQ(walk(&s, 0x123456789ull, &w), 0);
	CHECK_EQ(w.mode, GUEST_PAGING_NONE);
	CHECK_EQ(w.gpa, 0x23456789);           /* 32 bits without LMA */
	CHECK_EQ(w.nr_steps, 0);
	CHECK_EQ(reads, 0);
	CHECK(w.writable && w.user && !w.nx);
}

/* 32-bit paging: CR3 0x1000, PD -> PT at 0x2000 for 0x00400000..,
 * a 4 MiB page with PSE-36 bits at PDE 2. */
static void test_32bit(void)
{
	struct guest_sregs s = regs(PG, 0x1000, X86_CR4_PSE, 0);
	struct guest_walk w;

	memset(ram, 0, sizeof(ram));
	put32(0x1000 + 1 * 4, 0x2000 | P | RW | US);
	put32(0x2000 + 5 * 4, 0x7000 | P | US);                    /* read-only */
	put32(0x1000 + 2 * 4, 0xc00000 | (0x12 << 13) | P | RW | PS);
	CHECK_EQ(walk(&s, 0x00405abc, &w), 0);
	CHECK_EQ(w.mode, GUEST_PAGING_32);
	CHECK_EQ(w.gpa, 0x7abc);
	CHECK_EQ(w.page_shift, 12);
	CHECK_EQ(w.nr_steps, 2);
	CHECK_EQ(w.steps[0].level, 2);
	CHECK_EQ(w.steps[0].size, 4);
	CHECK_EQ(w.steps[0].entry_gpa, 0x1004);
	CHECK_EQ(w.steps[1].entry_gpa, 0x2014);
	CHECK_EQ(w.steps[1].entry, 0x7000 | P | US);
	CHECK(!w.steps[0].leaf && w.steps[1].leaf);
	CHECK(!w.writable && w.user && !w.nx);
	/* 4 MiB page: PDE bits 13-20 are address bits 32-39 (SDM 3, table 4-4). */
	CHECK_EQ(walk(&s, 0x00812345, &w), 0);
	CHECK_EQ(w.gpa, 0x1200c12345ull);
	CHECK_EQ(w.page_shift, 22);
	CHECK(w.steps[0].leaf && w.writable && !w.user);
	/* Without CR4.PSE, PS is ignored: the PDE points to a table. */
	s.cr4 = 0;
	CHECK_EQ(walk(&s, 0x00812345, &w), -1);
	CHECK_EQ(w.status, GUEST_WALK_NOT_RAM);      /* 0xc00000 is beyond RAM */
	CHECK_EQ(w.nr_steps, 2);
	/* Not present at either level. */
	CHECK_EQ(walk(&s, 0x00c00000, &w), -1);
	CHECK_EQ(w.status, GUEST_WALK_NOT_PRESENT);
	CHECK_EQ(w.nr_steps, 1);
	CHECK_EQ(walk(&s, 0x00406000, &w), -1);
	CHECK_EQ(w.status, GUEST_WALK_NOT_PRESENT);
	CHECK_EQ(w.nr_steps, 2);
	CHECK_EQ(w.steps[1].level, 1);
	/* The 4-byte entry's upper half is not read into it. */
	put32(0x2000 + 6 * 4 + 4, 0xffffffff);
	CHECK_EQ(walk(&s, 0x00406000, &w), -1);
	CHECK_EQ(w.steps[1].entry, 0);
}

/* PAE: CR3 0x1020 (32-byte aligned PDPT), PDPTE 1 -> PD 0x3000. */
static void test_pae(void)
{
	struct guest_sregs s = regs(PG, 0x1020, X86_CR4_PAE, EFER_NXE);
	struct guest_walk w;

	memset(ram, 0, sizeof(ram));
	put64(0x1020 + 1 * 8, 0x3000 | P);          /* no RW/US in PDPTEs (4.4.1) */
	put64(0x3000 + 2 * 8, 0x4000 | P | RW | US);
	put64(0x4000 + 3 * 8, 0x9000 | P | RW | US | XD);
	put64(0x3000 + 4 * 8, 0x600000 | P | RW | PS);
	CHECK_EQ(walk(&s, 0x40403123, &w), 0);
	CHECK_EQ(w.mode, GUEST_PAGING_PAE);
	CHECK_EQ(w.gpa, 0x9123);
	CHECK_EQ(w.nr_steps, 3);
	CHECK_EQ(w.steps[0].level, 3);
	CHECK_EQ(w.steps[0].entry_gpa, 0x1028);
	CHECK_EQ(w.steps[1].entry_gpa, 0x3010);
	CHECK_EQ(w.steps[2].entry_gpa, 0x4018);
	CHECK(w.writable && w.user && w.nx);
	s.efer = 0;                                  /* XD means nothing without NXE */
	CHECK_EQ(walk(&s, 0x40403123, &w), 0);
	CHECK(!w.nx);
	/* 2 MiB page. */
	CHECK_EQ(walk(&s, 0x40812345, &w), 0);
	CHECK_EQ(w.gpa, 0x612345);
	CHECK_EQ(w.page_shift, 21);
	CHECK_EQ(w.nr_steps, 2);
	CHECK(w.steps[1].leaf && !w.user);
	/* PDPTE not present; PT entry not present. */
	CHECK_EQ(walk(&s, 0x80000000, &w), -1);
	CHECK_EQ(w.status, GUEST_WALK_NOT_PRESENT);
	CHECK_EQ(w.nr_steps, 1);
	CHECK_EQ(walk(&s, 0x40404000, &w), -1);
	CHECK_EQ(w.nr_steps, 3);
	CHECK_EQ(w.steps[2].level, 1);
}

/* 4-level: PML4 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000. */
static void build_4level(void)
{
	memset(ram, 0, sizeof(ram));
	put64(0x1000, 0x2000 | P | RW | US);
	put64(0x2000, 0x3000 | P | RW | US);
	put64(0x3000, 0x4000 | P | RW | US);
	put64(0x4000 + 1 * 8, 0x8000 | P | RW | US);
	put64(0x3000 + 1 * 8, 0xa00000 | P | RW | PS | XD);        /* 2 MiB */
	put64(0x2000 + 1 * 8, 0x80000000 | P | PS | US);          /* 1 GiB, read-only */
	put64(0x2000 + 2 * 8, 0x3f000 | P | RW | US);             /* PD in the last page */
	put64(0x2000 + 3 * 8, 0x100000 | P | RW | US);            /* PD outside RAM */
	put64(0x1000 + 256 * 8, 0x2000 | P | RW);                 /* upper half */
	put64(0x1000 + 1 * 8, 0x2000 | P | RW | US | PS);         /* PS ignored in a PML4E */
}

static void test_4level(void)
{
	struct guest_sregs s = regs(PG, 0x1000, X86_CR4_PAE, LONG | EFER_NXE);
	struct guest_walk w;

	build_4level();
	CHECK_EQ(walk(&s, 0x1abc, &w), 0);
	CHECK_EQ(w.mode, GUEST_PAGING_4LEVEL);
	CHECK_EQ(w.gpa, 0x8abc);
	CHECK_EQ(w.nr_steps, 4);
	for (unsigned i = 0; i < 4; i++) {
		CHECK_EQ(w.steps[i].level, 4 - i);
		CHECK_EQ(w.steps[i].size, 8);
		CHECK_EQ(w.steps[i].leaf, i == 3);
	}
	CHECK_EQ(w.steps[3].entry_gpa, 0x4008);
	CHECK(w.writable && w.user && !w.nx);
	/* 2 MiB and 1 GiB pages. */
	CHECK_EQ(walk(&s, 0x212345, &w), 0);
	CHECK_EQ(w.gpa, 0xa12345);
	CHECK_EQ(w.page_shift, 21);
	CHECK_EQ(w.nr_steps, 3);
	CHECK(w.nx && !w.user);
	CHECK_EQ(walk(&s, 0x7654321 + (1ull << 30), &w), 0);
	CHECK_EQ(w.gpa, 0x87654321);
	CHECK_EQ(w.page_shift, 30);
	CHECK_EQ(w.nr_steps, 2);
	CHECK(!w.writable && w.user);
	/* Not present at each level: PML4, PDPT, PD, PT. */
	static const uint64_t absent[] = { 2ull << 39, 4ull << 30, 2ull << 21, 2ull << 12 };

	for (unsigned i = 0; i < 4; i++) {
		CHECK_EQ(walk(&s, absent[i], &w), -1);
		CHECK_EQ(w.status, GUEST_WALK_NOT_PRESENT);
		CHECK_EQ(w.nr_steps, i + 1);
		CHECK_EQ(w.steps[i].level, 4 - i);
		CHECK_EQ(w.steps[i].entry, 0);
	}
	/* PS in a PML4E is not a 512 GiB page: the walk goes on (to PDPT[0]). */
	CHECK_EQ(walk(&s, (1ull << 39) + 0x1234, &w), 0);
	CHECK_EQ(w.nr_steps, 4);
	CHECK_EQ(w.gpa, 0x8000 + 0x234);
	/* A PD at the end of RAM, and one beyond it. */
	CHECK_EQ(walk(&s, (2ull << 30) + (511ull << 21), &w), -1);
	CHECK_EQ(w.status, GUEST_WALK_NOT_PRESENT);
	CHECK_EQ(w.steps[2].entry_gpa, 0x3f000 + 511 * 8);
	CHECK_EQ(walk(&s, 3ull << 30, &w), -1);
	CHECK_EQ(w.status, GUEST_WALK_NOT_RAM);
	CHECK_EQ(w.nr_steps, 3);
	CHECK_EQ(w.steps[2].entry_gpa, 0x100000);
	CHECK_EQ(w.steps[2].entry, 0);
	/* CR3 itself outside RAM. */
	s.cr3 = RAM_SIZE;
	CHECK_EQ(walk(&s, 0, &w), -1);
	CHECK_EQ(w.status, GUEST_WALK_NOT_RAM);
	CHECK_EQ(w.nr_steps, 1);
}

static void test_canonical(void)
{
	struct guest_sregs s = regs(PG, 0x1000, X86_CR4_PAE, LONG);
	struct guest_walk w;

	build_4level();
	reads = 0;
	CHECK_EQ(walk(&s, 0x0000800000000000ull, &w), -1);
	CHECK_EQ(w.status, GUEST_WALK_NON_CANONICAL);
	CHECK_EQ(w.nr_steps, 0);
	CHECK_EQ(walk(&s, 0xfff0000000001000ull, &w), -1);
	CHECK_EQ(w.status, GUEST_WALK_NON_CANONICAL);
	CHECK_EQ(reads, 0);                          /* refused before any read */
	/* The upper half: PML4 index 256, then PDPT[0] -> PD[0] -> PT[0]. */
	CHECK_EQ(walk(&s, 0xffff800000000000ull, &w), -1);
	CHECK_EQ(w.status, GUEST_WALK_NOT_PRESENT);  /* PT[0] is empty */
	CHECK_EQ(w.steps[0].entry_gpa, 0x1000 + 256 * 8);
	CHECK_EQ(walk(&s, 0xffff800000001000ull, &w), 0);
	CHECK_EQ(w.gpa, 0x8000);
	CHECK(!w.user);
	/* With LA57 the same address is canonical at 57 bits. */
	s.cr4 |= X86_CR4_LA57;
	CHECK_EQ(walk(&s, 0x0000800000000000ull, &w), -1);
	CHECK(w.status != GUEST_WALK_NON_CANONICAL);
	CHECK_EQ(walk(&s, 0x0100000000000000ull, &w), -1);
	CHECK_EQ(w.status, GUEST_WALK_NON_CANONICAL);
}

/* 5-level: PML5 0x5000 -> the 4-level tables above. */
static void test_5level(void)
{
	struct guest_sregs s = regs(PG, 0x5000, X86_CR4_PAE | X86_CR4_LA57, LONG);
	struct guest_walk w;

	build_4level();
	put64(0x5000 + 3 * 8, 0x1000 | P | RW | US);
	CHECK_EQ(walk(&s, (3ull << 48) + 0x1abc, &w), 0);
	CHECK_EQ(w.mode, GUEST_PAGING_5LEVEL);
	CHECK_EQ(w.gpa, 0x8abc);
	CHECK_EQ(w.nr_steps, 5);
	CHECK_EQ(w.steps[0].level, 5);
	CHECK_EQ(w.steps[0].entry_gpa, 0x5018);
	CHECK_EQ(walk(&s, 0x1abc, &w), -1);           /* PML5[0] not present */
	CHECK_EQ(w.nr_steps, 1);
	CHECK_EQ(w.status, GUEST_WALK_NOT_PRESENT);
}

static void test_names(void)
{
	struct guest_sregs s = regs(PG, 0, X86_CR4_PAE, 0);

	CHECK_EQ(guest_paging_mode(&s), GUEST_PAGING_PAE);
	CHECK(!strcmp(guest_paging_name(GUEST_PAGING_4LEVEL), "4-level paging"));
	CHECK(!strcmp(guest_paging_name(GUEST_PAGING_NONE), "paging off"));
	CHECK(!strcmp(guest_walk_level_name(4), "PML4"));
	CHECK(!strcmp(guest_walk_level_name(1), "PT"));
	CHECK(!strcmp(guest_walk_level_name(9), "?"));
	CHECK(!strcmp(guest_walk_status_name(GUEST_WALK_NOT_RAM), "table not in guest RAM"));
}

/* ---- the nested side: pt_walk ---- */

static uint8_t *pool;
static unsigned pool_used;

static uint64_t pool_alloc(void *ctx)
{
	(void)ctx;
	memset(pool + pool_used * PAGE_SIZE, 0, PAGE_SIZE);
	return (uint64_t)(uintptr_t)(pool + pool_used++ * PAGE_SIZE);
}

static void *pool_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa;
}

static void test_nested(const struct pt_format *fmt, unsigned rights_rwx)
{
	struct pt pt = { .fmt = fmt, .alloc_table = pool_alloc, .to_virt = pool_virt };
	struct pt_walk w;

	pool_used = 0;
	CHECK(pt_init(&pt) == 0);
	CHECK(pt_map(&pt, 0, 0x40000000, SZ_2M + 0x1000, PT_RWX) == 0);
	CHECK(pt_walk(&pt, 0x1234, &w));
	CHECK(w.mapped);
	CHECK_EQ(w.pa, 0x40001234);
	CHECK_EQ(w.level, 2);
	CHECK_EQ(w.nr_steps, 3);
	CHECK_EQ(w.steps[0].level, 4);
	CHECK_EQ(w.steps[0].entry_pa, pt.root_pa);
	CHECK_EQ(w.steps[2].level, 2);
	CHECK_EQ(fmt->rights(w.steps[2].entry), rights_rwx);
	CHECK(pt_walk(&pt, SZ_2M + 0x10, &w));
	CHECK_EQ(w.level, 1);
	CHECK_EQ(w.nr_steps, 4);
	CHECK_EQ(w.steps[3].entry_pa & 0xfff, 0);
	CHECK_EQ(w.steps[2].entry_pa & 0xfff, 8);       /* PD index 1 */
	/* Not mapped: the step that ended it is recorded, with its empty entry. */
	CHECK(!pt_walk(&pt, SZ_2M + 0x1000, &w));
	CHECK(!w.mapped);
	CHECK_EQ(w.nr_steps, 4);
	CHECK_EQ(w.steps[3].entry, 0);
	CHECK_EQ(fmt->rights(w.steps[3].entry), 0);
	CHECK(!pt_walk(&pt, SZ_1G, &w));
	CHECK_EQ(w.nr_steps, 2);
	/* Beyond the 48 bits four levels translate: not an alias of 0. */
	CHECK(!pt_walk(&pt, 1ull << 48, &w));
	CHECK_EQ(w.nr_steps, 0);
}

int main(void)
{
	pool = aligned_alloc(PAGE_SIZE, 16 * PAGE_SIZE);
	test_no_paging();
	test_32bit();
	test_pae();
	test_4level();
	test_canonical();
	test_5level();
	test_names();
	test_nested(&pt_format_npt, PT_READ | PT_WRITE | PT_EXEC);
	test_nested(&pt_format_ept, PT_READ | PT_WRITE | PT_EXEC);
	CHECK_EQ(pt_format_x86_64.rights(pt_format_x86_64.leaf_entry(0x1000, 1, PT_READ)),
		 PT_READ);
	CHECK_EQ(pt_format_ept.rights(pt_format_ept.leaf_entry(0x1000, 1, PT_READ | PT_UNCACHED)),
		 PT_READ | PT_UNCACHED);
	free(pool);
	return unit_finish("test_guest_walk");
}
