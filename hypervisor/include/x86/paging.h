/*
 * One page-table builder for every 4-level x86 format the hypervisor
 * writes: the host's own tables, AMD nested page tables, Intel EPT and the
 * initial tables of a guest. The formats differ only in how an entry is
 * encoded (struct pt_format); the walk and the large-page choice are shared.
 */
#ifndef X86_PAGING_H
#define X86_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#define PAGE_SIZE    4096ull
#define PAGE_SHIFT   12
#define SZ_2M        (1ull << 21)
#define SZ_1G        (1ull << 30)
#define PT_ENTRIES   512

/* Access rights and memory type requested for a mapping. */
#define PT_READ      (1u << 0)
#define PT_WRITE     (1u << 1)
#define PT_EXEC      (1u << 2)
#define PT_UNCACHED  (1u << 3)
#define PT_RWX       (PT_READ | PT_WRITE | PT_EXEC)

/* Levels: 1 = 4 KiB page table, 2 = 2 MiB page directory, 3 = 1 GiB PDPT,
 * 4 = PML4. */
struct pt_format {
	const char *name;
	/* Entry pointing to a next-level table at physical address pa. */
	uint64_t (*table_entry)(uint64_t pa);
	/* Leaf entry mapping pa at level 1, 2 or 3 with PT_* flags. */
	uint64_t (*leaf_entry)(uint64_t pa, unsigned level, unsigned flags);
	bool (*present)(uint64_t entry);
	bool (*is_leaf)(uint64_t entry, unsigned level);
	/* PT_* rights an entry grants (PT_UNCACHED: an uncached leaf), for
	 * views of a walk; 0 when not present. */
	unsigned (*rights)(uint64_t entry);
	uint64_t addr_mask;        /* physical-address bits of an entry */
	unsigned max_leaf_level;   /* 3 when 1 GiB pages may be used, else 2 */
};

struct pt {
	const struct pt_format *fmt;
	uint64_t root_pa;
	/* Allocates one zeroed, 4 KiB-aligned table; returns its physical
	 * address, or 0 when out of memory. */
	uint64_t (*alloc_table)(void *ctx);
	/* Where a table at physical address pa is visible to the builder. */
	void *(*to_virt)(void *ctx, uint64_t pa);
	void *ctx;
};

/* Creates the root table. 0 on success, -1 when out of memory. */
int pt_init(struct pt *pt);
/* Maps [va, va+size) to [pa, pa+size), using the largest pages the
 * alignment and the format allow. Fails (-1) on overlap with an existing
 * mapping or when out of memory. */
int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned flags);
/* Gives the 4 KiB pages of [va, va+size) the rights `flags` (PT_RWX
 * bits; a page's PT_UNCACHED is kept), splitting the large pages they lie
 * in: the rest of such a page keeps its rights (write-watch). Without
 * PT_READ a page has no rights at all (NPT cannot take read alone), yet
 * stays mapped for the builder, its walks and a later pt_protect. Fails (-1) on
 * a page not mapped or when out of memory, with the pages before it done.
 * The caller flushes the translations the CPU may hold. */
int pt_protect(struct pt *pt, uint64_t va, uint64_t size, unsigned flags);
/* Translates va; returns true and sets *pa and *level when mapped. */
bool pt_lookup(const struct pt *pt, uint64_t va, uint64_t *pa, unsigned *level);

/* One level of a recorded lookup: the entry and where it is. */
struct pt_walk_step {
	unsigned level;
	uint64_t entry_pa;
	uint64_t entry;
};

struct pt_walk {
	bool mapped;
	uint64_t pa;          /* when mapped */
	unsigned level;       /* of the leaf, when mapped */
	unsigned nr_steps;    /* the last one is the leaf or the entry not present */
	struct pt_walk_step steps[4];
};

/* pt_lookup that records each level it reads (console `walk`, gdb stub). */
bool pt_walk(const struct pt *pt, uint64_t va, struct pt_walk *w);

/* x86-64 long-mode format (SDM vol. 3, 4.5): host and guest tables. */
extern const struct pt_format pt_format_x86_64;
/* Same, with the U/S bit in every entry: AMD nested paging requires it at
 * every level (APM vol. 2, 15.25.5; observed: QEMU faults the walk). */
extern const struct pt_format pt_format_npt;
extern const struct pt_format pt_format_npt_1g;
extern const struct pt_format pt_format_x86_64_1g;
/* Intel EPT, write-back leaves; the variants limit the page size to what
 * IA32_VMX_EPT_VPID_CAP allows. */
extern const struct pt_format pt_format_ept_4k;
extern const struct pt_format pt_format_ept;
extern const struct pt_format pt_format_ept_1g;

#endif
