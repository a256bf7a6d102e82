/* The hypervisor's own page tables: an identity map of all physical memory
 * and the MMIO hole below 4 GiB, built with the shared builder. */
#include <core/page_alloc.h>
#include <lib/printk.h>
#include <x86/cpu.h>
#include <x86/paging.h>
#include <x86/processor.h>

#define MMIO_HOLE_START 0xc0000000ull  /* LAPIC, IOAPIC, firmware flash, PCI */
#define FOUR_GB         0x100000000ull

static uint64_t host_alloc_table(void *ctx)
{
	(void)ctx;
	return page_alloc(1, 1);
}

static void *host_to_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa;
}

void host_paging_init(uint64_t top)
{
	bool gbpages = cpuid(0x80000001, 0).edx & (1u << 26);
	struct pt pt = {
		.fmt = gbpages ? &pt_format_x86_64_1g : &pt_format_x86_64,
		.alloc_table = host_alloc_table,
		.to_virt = host_to_virt,
	};
	uint64_t end = top > FOUR_GB ? (top + SZ_1G - 1) & ~(SZ_1G - 1) : FOUR_GB;

	if (pt_init(&pt) ||
	    pt_map(&pt, 0, 0, MMIO_HOLE_START, PT_RWX) ||
	    pt_map(&pt, MMIO_HOLE_START, MMIO_HOLE_START, FOUR_GB - MMIO_HOLE_START,
		   PT_READ | PT_WRITE | PT_UNCACHED) ||
	    (end > FOUR_GB && pt_map(&pt, FOUR_GB, FOUR_GB, end - FOUR_GB, PT_RWX))) {
		printk("kestrel: cannot build the host page tables; halting\n");
		cpu_halt_forever();
	}
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr3(pt.root_pa);
}
