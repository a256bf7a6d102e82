/* The shared 4-level page-table builder and the x86-64/NPT entry formats. */
#include <stddef.h>
#include <x86/paging.h>

#define X86_PTE_P     (1ull << 0)
#define X86_PTE_RW    (1ull << 1)
#define X86_PTE_US    (1ull << 2)
#define X86_PTE_PWT   (1ull << 3)
#define X86_PTE_PCD   (1ull << 4)
#define X86_PTE_PS    (1ull << 7)
#define X86_PTE_NX    (1ull << 63)
#define X86_ADDR_MASK 0x000ffffffffff000ull
/* A leaf without rights that still maps its page (a read-watch): the
 * hardware sees it not present, the builder keeps its address and memory
 * type (bits the CPU ignores in a not-present entry: SDM 3, 4.5 and 29.3.2;
 * bit 11 is free in both formats). */
#define PT_HELD       (1ull << 11)

static unsigned level_shift(unsigned level)
{
	return PAGE_SHIFT + 9 * (level - 1);
}

static uint64_t *table_at(const struct pt *pt, uint64_t pa)
{
	return pt->to_virt(pt->ctx, pa);
}

int pt_init(struct pt *pt)
{
	pt->root_pa = pt->alloc_table(pt->ctx);
	return pt->root_pa ? 0 : -1;
}

/* Returns the level-`level` table covering va, creating tables on the way. */
static uint64_t *walk_create(struct pt *pt, uint64_t va, unsigned level)
{
	uint64_t *table = table_at(pt, pt->root_pa);

	for (unsigned l = 4; l > level; l--) {
		uint64_t *e = &table[(va >> level_shift(l)) & 511];

		if (!pt->fmt->present(*e)) {
			uint64_t pa = pt->alloc_table(pt->ctx);

			if (!pa)
				return NULL;
			*e = pt->fmt->table_entry(pa);
		} else if (pt->fmt->is_leaf(*e, l)) {
			return NULL; /* already covered by a large page */
		}
		table = table_at(pt, *e & pt->fmt->addr_mask);
	}
	return table;
}

static unsigned pick_level(const struct pt *pt, uint64_t va, uint64_t pa, uint64_t left)
{
	for (unsigned level = pt->fmt->max_leaf_level; level > 1; level--) {
		uint64_t sz = 1ull << level_shift(level);

		if (!(va & (sz - 1)) && !(pa & (sz - 1)) && left >= sz)
			return level;
	}
	return 1;
}

int pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned flags)
{
	if ((va | pa | size) & (PAGE_SIZE - 1))
		return -1;
	while (size) {
		unsigned level = pick_level(pt, va, pa, size);
		uint64_t sz = 1ull << level_shift(level);
		uint64_t *table = walk_create(pt, va, level);
		uint64_t *e;

		if (!table)
			return -1;
		e = &table[(va >> level_shift(level)) & 511];
		if (pt->fmt->present(*e))
			return -1;
		*e = pt->fmt->leaf_entry(pa, level, flags);
		va += sz;
		pa += sz;
		size -= sz;
	}
	return 0;
}

/* Replaces the large leaf *e (level > 1) by a table of 512 next-level
 * leaves that map the same memory with the same rights. */
static bool split_leaf(struct pt *pt, uint64_t *e, unsigned level)
{
	uint64_t table_pa = pt->alloc_table(pt->ctx), sub = 1ull << level_shift(level - 1);
	uint64_t base = *e & pt->fmt->addr_mask & ~((1ull << level_shift(level)) - 1);
	unsigned rights = pt->fmt->rights(*e);
	uint64_t *table;

	if (!table_pa)
		return false;
	table = table_at(pt, table_pa);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		table[i] = pt->fmt->leaf_entry(base + i * sub, level - 1, rights);
	*e = pt->fmt->table_entry(table_pa);
	return true;
}

int pt_protect(struct pt *pt, uint64_t va, uint64_t size, unsigned flags)
{
	if ((va | size) & (PAGE_SIZE - 1))
		return -1;
	for (; size; va += PAGE_SIZE, size -= PAGE_SIZE) {
		uint64_t *table = table_at(pt, pt->root_pa), *e = NULL;

		for (unsigned l = 4; l >= 1; l--) {
			e = &table[(va >> level_shift(l)) & 511];
			if (!pt->fmt->present(*e))
				return -1;
			if (l == 1)
				break;
			if (pt->fmt->is_leaf(*e, l) && !split_leaf(pt, e, l))
				return -1;
			table = table_at(pt, *e & pt->fmt->addr_mask);
		}
		*e = pt->fmt->leaf_entry(*e & pt->fmt->addr_mask, 1,
					 flags | (pt->fmt->rights(*e) & PT_UNCACHED));
	}
	return 0;
}

bool pt_walk(const struct pt *pt, uint64_t va, struct pt_walk *w)
{
	uint64_t table_pa = pt->root_pa;

	*w = (struct pt_walk){ 0 };
	/* Four levels translate 48 bits; a wider address is not mapped. */
	if (va >> (level_shift(4) + 9))
		return false;
	for (unsigned l = 4; l >= 1; l--) {
		unsigned index = (va >> level_shift(l)) & 511;
		uint64_t e = table_at(pt, table_pa)[index];
		uint64_t offset_mask = (1ull << level_shift(l)) - 1;

		w->steps[w->nr_steps++] = (struct pt_walk_step){ l, table_pa + index * 8, e };
		if (!pt->fmt->present(e))
			return false;
		if (l == 1 || pt->fmt->is_leaf(e, l)) {
			w->pa = (e & pt->fmt->addr_mask & ~offset_mask) | (va & offset_mask);
			w->level = l;
			w->mapped = true;
			return true;
		}
		table_pa = e & pt->fmt->addr_mask;
	}
	return false;
}

bool pt_lookup(const struct pt *pt, uint64_t va, uint64_t *pa, unsigned *level)
{
	struct pt_walk w;

	if (!pt_walk(pt, va, &w))
		return false;
	*pa = w.pa;
	*level = w.level;
	return true;
}

/* ---- x86-64 long-mode entries (SDM vol. 3, 4.5, tables 4-14..4-20) ---- */

static uint64_t x86_table_entry(uint64_t pa)
{
	return pa | X86_PTE_P | X86_PTE_RW;
}

static uint64_t x86_leaf_entry(uint64_t pa, unsigned level, unsigned flags)
{
	uint64_t e = pa | X86_PTE_P;

	if (flags & PT_WRITE)
		e |= X86_PTE_RW;
	if (!(flags & PT_EXEC))
		e |= X86_PTE_NX;
	if (flags & PT_UNCACHED)
		e |= X86_PTE_PCD | X86_PTE_PWT;
	if (level > 1)
		e |= X86_PTE_PS;
	if (!(flags & PT_READ))     /* no read, no rights: nothing else can say it */
		e = (e & ~(X86_PTE_P | X86_PTE_RW)) | PT_HELD;
	return e;
}

static uint64_t npt_table_entry(uint64_t pa)
{
	return x86_table_entry(pa) | X86_PTE_US;
}

static uint64_t npt_leaf_entry(uint64_t pa, unsigned level, unsigned flags)
{
	return x86_leaf_entry(pa, level, flags) | X86_PTE_US;
}

static bool x86_present(uint64_t e)
{
	return e & (X86_PTE_P | PT_HELD);
}

static bool x86_is_leaf(uint64_t e, unsigned level)
{
	return level == 1 || (e & X86_PTE_PS);
}

/* P, R/W, XD and PCD as SDM 3, tables 4-15..4-20 define them. */
static unsigned x86_rights(uint64_t e)
{
	if (!(e & X86_PTE_P))
		return e & PT_HELD && e & X86_PTE_PCD ? PT_UNCACHED : 0;
	return PT_READ | (e & X86_PTE_RW ? PT_WRITE : 0) | (e & X86_PTE_NX ? 0 : PT_EXEC) |
	       (e & X86_PTE_PCD ? PT_UNCACHED : 0);
}

#define X86_FORMAT(var, fmt_name, table, leaf, max_level) \
	const struct pt_format var = {                    \
		.name = fmt_name,                         \
		.table_entry = table,                     \
		.leaf_entry = leaf,                       \
		.present = x86_present,                   \
		.is_leaf = x86_is_leaf,                   \
		.rights = x86_rights,                     \
		.addr_mask = X86_ADDR_MASK,               \
		.max_leaf_level = max_level,              \
	}

X86_FORMAT(pt_format_x86_64, "x86-64", x86_table_entry, x86_leaf_entry, 2);
X86_FORMAT(pt_format_x86_64_1g, "x86-64/1G", x86_table_entry, x86_leaf_entry, 3);
X86_FORMAT(pt_format_npt, "NPT", npt_table_entry, npt_leaf_entry, 2);
X86_FORMAT(pt_format_npt_1g, "NPT/1G", npt_table_entry, npt_leaf_entry, 3);

/* ---- Intel EPT entries (SDM vol. 3, 29.3.2, tables 29-1..29-6) ---- */

#define EPT_R        (1ull << 0)
#define EPT_W        (1ull << 1)
#define EPT_X        (1ull << 2)
#define EPT_MT_WB    (6ull << 3)
#define EPT_MT_UC    (0ull << 3)
#define EPT_LARGE    (1ull << 7)
#define EPT_MT_MASK  (7ull << 3)

static uint64_t ept_table_entry(uint64_t pa)
{
	return pa | EPT_R | EPT_W | EPT_X;
}

static uint64_t ept_leaf_entry(uint64_t pa, unsigned level, unsigned flags)
{
	uint64_t e = pa | (flags & PT_UNCACHED ? EPT_MT_UC : EPT_MT_WB);

	if (flags & PT_READ)
		e |= EPT_R;
	if (flags & PT_WRITE)
		e |= EPT_W;
	if (flags & PT_EXEC)
		e |= EPT_X;
	if (level > 1)
		e |= EPT_LARGE;
	if (!(flags & PT_READ))     /* W without R is a misconfiguration, X alone optional */
		e = (e & ~(EPT_R | EPT_W | EPT_X)) | PT_HELD;
	return e;
}

static bool ept_present(uint64_t e)
{
	return e & (EPT_R | EPT_W | EPT_X | PT_HELD);
}

static bool ept_is_leaf(uint64_t e, unsigned level)
{
	return level == 1 || (e & EPT_LARGE);
}

/* The memory type is in leaves only (bits 5:3, table 29-6). */
static unsigned ept_rights(uint64_t e)
{
	if (!ept_present(e))
		return 0;
	if (!(e & (EPT_R | EPT_W | EPT_X)))
		return (e & EPT_MT_MASK) == EPT_MT_UC ? PT_UNCACHED : 0;
	return (e & EPT_R ? PT_READ : 0) | (e & EPT_W ? PT_WRITE : 0) |
	       (e & EPT_X ? PT_EXEC : 0) | ((e & EPT_MT_MASK) == EPT_MT_UC ? PT_UNCACHED : 0);
}

#define EPT_FORMAT(var, fmt_name, max_level)           \
	const struct pt_format var = {                 \
		.name = fmt_name,                      \
		.table_entry = ept_table_entry,        \
		.leaf_entry = ept_leaf_entry,          \
		.present = ept_present,                \
		.is_leaf = ept_is_leaf,                \
		.rights = ept_rights,                  \
		.addr_mask = X86_ADDR_MASK,            \
		.max_leaf_level = max_level,           \
	}

EPT_FORMAT(pt_format_ept_4k, "EPT/4K", 1);
EPT_FORMAT(pt_format_ept, "EPT", 2);
EPT_FORMAT(pt_format_ept_1g, "EPT/1G", 3);
