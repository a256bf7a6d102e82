/*
 * The guest page walk, recorded level by level (SDM vol. 3, chapter 4;
 * APM vol. 2, 5.3). One walker serves instruction fetch and emulation
 * (x86/guest_mem.c), the console's `mem` and `walk` views and the gdb stub.
 * It is a pure function of the guest's registers and of a callback that
 * reads table entries, so the host unit tests run it on tables in a buffer.
 *
 * Simplifications, as before the walk was recorded: no reserved-bit and
 * no access-right checks (the rights are reported, not enforced), no
 * protection keys, PS ignored in PML5Es, PML4Es and PAE PDPTEs.
 */
#ifndef X86_GUEST_WALK_H
#define X86_GUEST_WALK_H

#include <stdbool.h>
#include <stdint.h>
#include <x86/regs.h>

enum guest_paging {
	GUEST_PAGING_NONE,     /* CR0.PG = 0: linear = physical */
	GUEST_PAGING_32,       /* 2 levels of 4-byte entries, 4 MiB pages with PSE */
	GUEST_PAGING_PAE,      /* 4 PDPTEs, then 2 levels of 8-byte entries */
	GUEST_PAGING_4LEVEL,
	GUEST_PAGING_5LEVEL,   /* CR4.LA57 */
};

enum guest_walk_status {
	GUEST_WALK_OK,
	GUEST_WALK_NOT_PRESENT,   /* the last step's entry has P = 0 */
	GUEST_WALK_NOT_RAM,       /* the last step's entry is not in guest RAM */
	GUEST_WALK_NON_CANONICAL, /* no step: the address is not canonical */
};

#define GUEST_WALK_MAX_STEPS 5

struct guest_walk_step {
	uint8_t level;       /* 5 PML5, 4 PML4, 3 PDPT, 2 PD, 1 PT */
	uint8_t size;        /* entry size: 4 or 8 bytes */
	bool leaf;           /* maps the page (a PT entry, or PS = 1) */
	uint64_t entry_gpa;  /* where the entry is */
	uint64_t entry;      /* its value; 0 when it could not be read */
};

struct guest_walk {
	enum guest_paging mode;
	enum guest_walk_status status;
	uint64_t la;
	uint64_t gpa;            /* with GUEST_WALK_OK */
	unsigned page_shift;     /* with GUEST_WALK_OK: 12, 21, 22 or 30 */
	/* With GUEST_WALK_OK, the rights the levels combine to (SDM 3, 4.6):
	 * RW and U/S of every level, XD of any level when EFER.NXE is set. */
	bool writable, user, nx;
	unsigned nr_steps;
	struct guest_walk_step steps[GUEST_WALK_MAX_STEPS];
};

/* Reads `size` (4 or 8) bytes of guest-physical memory at gpa into *val;
 * 0, or -1 when they are not all guest RAM. */
typedef int (*guest_walk_read_fn)(void *ctx, uint64_t gpa, unsigned size, uint64_t *val);

/* Walks la through the paging mode CR0/CR3/CR4/EFER of s select; fills *w
 * and returns 0 when mapped, -1 otherwise (w->status says why). */
int guest_walk(const struct guest_sregs *s, uint64_t la, guest_walk_read_fn read, void *ctx,
	       struct guest_walk *w);
enum guest_paging guest_paging_mode(const struct guest_sregs *s);
/* "4-level paging", "paging off", ...; a level's table ("PML4", "PDPT", ...); a status. */
const char *guest_paging_name(enum guest_paging mode);
const char *guest_walk_level_name(unsigned level);
const char *guest_walk_status_name(enum guest_walk_status status);

#endif
