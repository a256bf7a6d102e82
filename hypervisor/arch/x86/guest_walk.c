/* Guest page walks (SDM vol. 3, 4.3 32-bit, 4.4 PAE, 4.5 4/5-level paging;
 * APM vol. 2, 5.3), recorded level by level: see x86/guest_walk.h. */
#include <x86/guest_walk.h>
#include <x86/processor.h>

/* Entry bits common to every mode (SDM 3, tables 4-4..4-11, 4-15..4-20). */
#define PTE_P        (1ull << 0)
#define PTE_RW       (1ull << 1)
#define PTE_US       (1ull << 2)
#define PTE_PS       (1ull << 7)
#define PTE_XD       (1ull << 63)    /* with EFER.NXE; PAE and 4/5-level only */
#define PTE_ADDR     0x000ffffffffff000ull

struct walker {
	guest_walk_read_fn read;
	void *ctx;
	struct guest_walk *w;
};

static const char *const paging_names[] = {
	[GUEST_PAGING_NONE] = "paging off", [GUEST_PAGING_32] = "32-bit paging",
	[GUEST_PAGING_PAE] = "PAE paging", [GUEST_PAGING_4LEVEL] = "4-level paging",
	[GUEST_PAGING_5LEVEL] = "5-level paging",
};

static const char *const level_names[] = { "?", "PT", "PD", "PDPT", "PML4", "PML5" };

static const char *const status_names[] = {
	[GUEST_WALK_OK] = "mapped", [GUEST_WALK_NOT_PRESENT] = "not present",
	[GUEST_WALK_NOT_RAM] = "table not in guest RAM",
	[GUEST_WALK_NON_CANONICAL] = "not canonical",
};

const char *guest_paging_name(enum guest_paging mode)
{
	return mode <= GUEST_PAGING_5LEVEL ? paging_names[mode] : "?";
}

const char *guest_walk_level_name(unsigned level)
{
	return level <= 5 ? level_names[level] : "?";
}

const char *guest_walk_status_name(enum guest_walk_status status)
{
	return status <= GUEST_WALK_NON_CANONICAL ? status_names[status] : "?";
}

enum guest_paging guest_paging_mode(const struct guest_sregs *s)
{
	if (!(s->cr0 & X86_CR0_PG))
		return GUEST_PAGING_NONE;
	if (s->efer & EFER_LMA)
		return s->cr4 & X86_CR4_LA57 ? GUEST_PAGING_5LEVEL : GUEST_PAGING_4LEVEL;
	return s->cr4 & X86_CR4_PAE ? GUEST_PAGING_PAE : GUEST_PAGING_32;
}

/* Reads the entry of one level into a new step; false when the walk ends
 * there (entry not in RAM, or not present). */
static bool walk_step(struct walker *k, unsigned level, uint64_t gpa, unsigned size,
		      uint64_t *e)
{
	struct guest_walk *w = k->w;
	struct guest_walk_step *st = &w->steps[w->nr_steps++];

	*st = (struct guest_walk_step){ .level = (uint8_t)level, .size = (uint8_t)size,
					.entry_gpa = gpa };
	*e = 0;
	if (k->read(k->ctx, gpa, size, e)) {
		*e = 0;
		w->status = GUEST_WALK_NOT_RAM;
		return false;
	}
	if (size == 4)
		*e = (uint32_t)*e;
	st->entry = *e;
	if (!(*e & PTE_P)) {
		w->status = GUEST_WALK_NOT_PRESENT;
		return false;
	}
	return true;
}

static int walk_done(struct guest_walk *w, uint64_t gpa, unsigned shift)
{
	if (w->nr_steps)
		w->steps[w->nr_steps - 1].leaf = true;
	w->gpa = gpa;
	w->page_shift = shift;
	w->status = GUEST_WALK_OK;
	return 0;
}

/* `levels` levels of 512 8-byte entries from `table` (SDM 3, 4.4.2, 4.5.4):
 * PS makes a level-3 entry a 1 GiB page and a level-2 one a 2 MiB page. */
static int walk64(struct walker *k, uint64_t table, uint64_t la, unsigned levels)
{
	for (unsigned l = levels; l >= 1; l--) {
		unsigned shift = 12 + 9 * (l - 1);
		uint64_t e;

		if (!walk_step(k, l, (table & PTE_ADDR) + ((la >> shift) & 511) * 8, 8, &e))
			return -1;
		if (l == 1 || ((e & PTE_PS) && l <= 3)) {
			uint64_t mask = (1ull << shift) - 1;

			return walk_done(k->w, (e & PTE_ADDR & ~mask) | (la & mask), shift);
		}
		table = e;
	}
	return -1;
}

/* 32-bit paging (SDM 3, 4.3): 4 MiB pages when CR4.PSE and PDE.PS. */
static int walk32(struct walker *k, const struct guest_sregs *s, uint32_t la)
{
	uint64_t pde, pte;

	if (!walk_step(k, 2, (s->cr3 & 0xfffff000) + (la >> 22) * 4, 4, &pde))
		return -1;
	if ((pde & PTE_PS) && (s->cr4 & X86_CR4_PSE))
		/* PSE-36: PDE bits 13-20 hold physical-address bits 32-39. */
		return walk_done(k->w, (pde & 0xffc00000) | ((pde & 0x1fe000) << 19) |
				 (la & 0x3fffff), 22);
	if (!walk_step(k, 1, (pde & 0xfffff000) + ((la >> 12) & 1023) * 4, 4, &pte))
		return -1;
	return walk_done(k->w, (pte & 0xfffff000) | (la & 0xfff), 12);
}

/* Canonical: bits 63 down to the top implemented bit (47, or 56 with
 * LA57) all equal (SDM 1, 3.3.7.1; SDM 3, 4.5). */
static bool is_canonical(uint64_t la, unsigned bits)
{
	return (uint64_t)((int64_t)(la << (64 - bits)) >> (64 - bits)) == la;
}

/* Access rights of the walk (SDM 3, 4.6.1): writable and user only when
 * every level allows it; PAE PDPTEs carry neither bit (4.4.1). */
static void walk_rights(const struct guest_sregs *s, struct guest_walk *w)
{
	bool xd_used = w->mode != GUEST_PAGING_32 && (s->efer & EFER_NXE);

	w->writable = w->user = true;
	w->nx = false;
	for (unsigned i = 0; i < w->nr_steps; i++) {
		uint64_t e = w->steps[i].entry;

		if (w->mode == GUEST_PAGING_PAE && w->steps[i].level == 3)
			continue;
		w->writable &= !!(e & PTE_RW);
		w->user &= !!(e & PTE_US);
		w->nx |= xd_used && (e & PTE_XD);
	}
}

static int walk_mode(struct walker *k, const struct guest_sregs *s, uint64_t la)
{
	struct guest_walk *w = k->w;
	uint64_t pdpte;

	switch (w->mode) {
	case GUEST_PAGING_NONE:
		return walk_done(w, s->efer & EFER_LMA ? la : (uint32_t)la, 12);
	case GUEST_PAGING_32:
		return walk32(k, s, (uint32_t)la);
	case GUEST_PAGING_PAE:
		/* Four PDPTEs at CR3[31:5], then a 2-level 64-bit walk. */
		if (!walk_step(k, 3, (s->cr3 & 0xffffffe0) + ((la >> 30) & 3) * 8, 8, &pdpte))
			return -1;
		return walk64(k, pdpte, (uint32_t)la, 2);
	default: {
		unsigned levels = w->mode == GUEST_PAGING_5LEVEL ? 5 : 4;

		if (!is_canonical(la, levels == 5 ? 57 : 48)) {
			w->status = GUEST_WALK_NON_CANONICAL;
			return -1;
		}
		return walk64(k, s->cr3, la, levels);
	}
	}
}

int guest_walk(const struct guest_sregs *s, uint64_t la, guest_walk_read_fn read, void *ctx,
	       struct guest_walk *w)
{
	struct walker k = { read, ctx, w };
	int rc;

	*w = (struct guest_walk){ .mode = guest_paging_mode(s), .la = la };
	rc = walk_mode(&k, s, la);
	if (!rc)
		walk_rights(s, w);
	return rc;
}
