/* SPDX-License-Identifier: MIT */
/*
 * Our own identity map of 0..4 GiB with 2 MiB pages, in .bss, so that the
 * hypervisor's boot page tables (in the boot data area) become free RAM.
 * 4-level paging, PDEs with PS = 1 (SDM vol. 3, 4.5.4 and table 4-18;
 * APM vol. 2, 5.3.4).
 */
#include "kernel.h"

#define PTE_PRESENT  (1ull << 0)
#define PTE_WRITE    (1ull << 1)
#define PTE_LARGE    (1ull << 7)  /* PS: this PDE maps a 2 MiB page */
#define MAP_GIB      (IDENTITY_MAP_END >> 30)
#define PT_ENTRIES   512

uint64_t boot_pml4[PT_ENTRIES] __attribute__((aligned(4096)));
static uint64_t boot_pdpt[PT_ENTRIES] __attribute__((aligned(4096)));
static uint64_t boot_pd[MAP_GIB][PT_ENTRIES] __attribute__((aligned(4096)));

/* Runs on vCPU 0 before the others are released; CR3 is loaded by entry.S. */
void paging_build(void)
{
	boot_pml4[0] = (uintptr_t)boot_pdpt | PTE_PRESENT | PTE_WRITE;
	for (uint64_t gib = 0; gib < MAP_GIB; gib++) {
		boot_pdpt[gib] = (uintptr_t)boot_pd[gib] | PTE_PRESENT | PTE_WRITE;
		for (uint64_t i = 0; i < PT_ENTRIES; i++)
			boot_pd[gib][i] = (gib << 30 | i << 21) |
					  PTE_PRESENT | PTE_WRITE | PTE_LARGE;
	}
}
