/* SPDX-License-Identifier: MIT */
/*
 * Page tables, in .bss (4-level paging, 2 MiB pages; SDM vol. 3, 4.5):
 *  - 0..4 GiB identity-mapped, as in the minimal guest;
 *  - at (4 + n) GiB a 1 GiB window for vCPU n onto any 1 GiB-aligned
 *    guest-physical region, so MMIO ops reach the whole physical space;
 *  - alt_pml4: a second root over the same directories, for CR3 writes that
 *    must leave the guest able to run.
 */
#include "chaos.h"

#define PTE_PRESENT  (1ull << 0)
#define PTE_WRITE    (1ull << 1)
#define PTE_LARGE    (1ull << 7)
#define PT_ENTRIES   512
#define IDENT_GIB    4

uint64_t boot_pml4[PT_ENTRIES] __attribute__((aligned(4096)));
uint64_t alt_pml4[PT_ENTRIES] __attribute__((aligned(4096)));
static uint64_t boot_pdpt[PT_ENTRIES] __attribute__((aligned(4096)));
static uint64_t alt_pdpt[PT_ENTRIES] __attribute__((aligned(4096)));
static uint64_t ident_pd[IDENT_GIB][PT_ENTRIES] __attribute__((aligned(4096)));
static uint64_t window_pd[MAX_VCPUS][PT_ENTRIES] __attribute__((aligned(4096)));

void paging_build(void)
{
	boot_pml4[0] = (uintptr_t)boot_pdpt | PTE_PRESENT | PTE_WRITE;
	alt_pml4[0] = (uintptr_t)alt_pdpt | PTE_PRESENT | PTE_WRITE;
	for (uint64_t gib = 0; gib < IDENT_GIB; gib++) {
		boot_pdpt[gib] = (uintptr_t)ident_pd[gib] | PTE_PRESENT | PTE_WRITE;
		for (uint64_t i = 0; i < PT_ENTRIES; i++)
			ident_pd[gib][i] = (gib << 30 | i << 21) | PTE_PRESENT | PTE_WRITE |
					   PTE_LARGE;
	}
	for (unsigned c = 0; c < MAX_VCPUS; c++)
		boot_pdpt[IDENT_GIB + c] = (uintptr_t)window_pd[c] | PTE_PRESENT | PTE_WRITE;
	for (unsigned i = 0; i < IDENT_GIB + MAX_VCPUS; i++)
		alt_pdpt[i] = boot_pdpt[i];
}

static void tlb_flush(void)
{
	uint64_t cr3;

	asm volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

/* A pointer through this vCPU's window to guest-physical pa (< 2^52). */
void *phys_window(unsigned cpu, uint64_t pa)
{
	struct cpu *c = &cpus[cpu];
	uint64_t base = pa & ~(GIB - 1) & ((1ull << 52) - 1);

	if (!c->window_valid || c->window_base != base) {
		/* Invalid while half rewritten: an INIT (another vCPU's op) may
		 * end this loop, and the vCPU comes back through ap_restart. */
		c->window_valid = false;
		asm volatile("" ::: "memory");
		for (uint64_t i = 0; i < PT_ENTRIES; i++)
			window_pd[cpu][i] = (base | i << 21) | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
		c->window_base = base;
		asm volatile("" ::: "memory");
		c->window_valid = true;
		tlb_flush();
	}
	return (void *)(WINDOW_VA(cpu) + (pa & (GIB - 1)));
}

/* For a report: the window's PDE for pa, and a flush of every translation,
 * global ones too (CR4.PGE toggled when set; SDM 3, 4.10.4.1). */
uint64_t phys_window_pde(unsigned cpu, uint64_t pa)
{
	return window_pd[cpu][(pa >> 21) & (PT_ENTRIES - 1)];
}

void tlb_flush_all(void)
{
	uint64_t cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	if (cr4 & (1ull << 7))
		asm volatile("mov %0, %%cr4; mov %1, %%cr4" : : "r"(cr4 & ~(1ull << 7)), "r"(cr4)
			     : "memory");
	else
		tlb_flush();
}
