/* SPDX-License-Identifier: MIT */
/*
 * Memory checks: the whole of guest RAM holds address-dependent patterns,
 * and guest-physical addresses beyond RAM read as all-ones and drop writes.
 * Accesses are plain MOVs through volatile pointers or inline asm, because
 * the hypervisor emulates unbacked accesses by decoding the instruction.
 */
#include "cpu.h"
#include "selftest.h"

#define PATTERN_MUL        0x9e3779b97f4a7c15ull  /* odd: a bijection on addresses */
#define RAM_PASSES         2
#define OUTSIDE_FIXED_ADDR 0xc0000000ull          /* typical PCI hole start */
#define OUTSIDE_POISON     0x5a5a5a5a5a5a5a5aull
#define MAX_RAM_RANGES     3                      /* two holes split [0, limit) */

struct mem_range {
	uint64_t start, end;
};

/* Hides a constant address (e.g. 0) from the optimiser. */
static uint64_t opaque(uint64_t v)
{
	asm("" : "+r"(v));
	return v;
}

/* Pass 1 is the complement of pass 0, so every bit holds both 0 and 1. */
static uint64_t ram_pattern(uint64_t addr, unsigned pass)
{
	uint64_t v = addr * PATTERN_MUL;

	return pass ? ~v : v;
}

static void ram_fill(const struct mem_range *r, unsigned pass)
{
	volatile uint64_t *p = (volatile uint64_t *)opaque(r->start);

	for (uint64_t a = r->start; a < r->end; a += 8)
		*p++ = ram_pattern(a, pass);
}

/* Returns the first address that does not hold its pattern, or r->end. */
static uint64_t ram_verify(const struct mem_range *r, unsigned pass, uint64_t *got)
{
	const volatile uint64_t *p = (const volatile uint64_t *)opaque(r->start);
	uint64_t v;

	for (uint64_t a = r->start; a < r->end; a += 8) {
		v = *p++;
		if (v != ram_pattern(a, pass)) {
			*got = v;
			return a;
		}
	}
	return r->end;
}

/* [0, limit) minus the kernel image and, if still in use, the boot data. */
static unsigned ram_ranges(struct mem_range *out, uint64_t limit, bool keep_boot_data)
{
	struct mem_range holes[2];
	unsigned nholes = 0, n = 0;
	uint64_t cur = 0;

	if (keep_boot_data)
		holes[nholes++] = (struct mem_range){ HV_BOOT_DATA_START, HV_BOOT_DATA_END };
	holes[nholes++] = (struct mem_range){ (uintptr_t)_kernel_start, (uintptr_t)_kernel_end };
	for (unsigned i = 0; i < nholes && cur < limit; i++) {
		if (holes[i].start > cur)
			out[n++] = (struct mem_range){ cur, holes[i].start < limit ? holes[i].start : limit };
		if (holes[i].end > cur)
			cur = holes[i].end;
	}
	if (cur < limit)
		out[n++] = (struct mem_range){ cur, limit };
	return n;
}

enum check_result check_ram_pattern(void)
{
	uint64_t mem = boot_info.si.mem_size, bytes = 0, bad, got = 0;
	uint64_t limit = mem < IDENTITY_MAP_END ? mem : IDENTITY_MAP_END;
	bool keep_boot_data = !smp_all_online();
	struct mem_range r[MAX_RAM_RANGES];
	unsigned n = ram_ranges(r, limit, keep_boot_data);

	for (unsigned pass = 0; pass < RAM_PASSES; pass++) {
		for (unsigned i = 0; i < n; i++)
			ram_fill(&r[i], pass);
		for (unsigned i = 0; i < n; i++) {
			bad = ram_verify(&r[i], pass, &got);
			if (bad != r[i].end)
				return check_fail("pass %u: 0x%lx reads 0x%lx, want 0x%lx",
						  pass, bad, got, ram_pattern(bad, pass));
		}
	}
	for (unsigned i = 0; i < n; i++)
		bytes += r[i].end - r[i].start;
	kprintf("ram-pattern: %lu MiB tested in %u ranges, %u passes; kernel image "
		"0x%lx-0x%lx kept%s%s\n", bytes / MIB, n, RAM_PASSES,
		(uintptr_t)_kernel_start, (uintptr_t)_kernel_end,
		keep_boot_data ? ", boot data kept (a vCPU may still use it)" : "",
		limit < mem ? ", RAM above 4 GiB not mapped" : "");
	return CHECK_PASS;
}

/* A MOV of 1, 2, 4 or 8 bytes as a fault site; returns the vector or -1. */
static int mmio_read_safe(uint64_t addr, unsigned size, uint64_t *val)
{
	uint64_t v = 0;

	trap_fault_reset();
	if (size == 1)
		asm volatile(FAULT_SITE("movb (%1), %b0") : "+a"(v) : "D"(addr) : "memory");
	else if (size == 2)
		asm volatile(FAULT_SITE("movw (%1), %w0") : "+a"(v) : "D"(addr) : "memory");
	else if (size == 4)
		asm volatile(FAULT_SITE("movl (%1), %k0") : "+a"(v) : "D"(addr) : "memory");
	else
		asm volatile(FAULT_SITE("movq (%1), %0") : "+a"(v) : "D"(addr) : "memory");
	*val = v;
	return trap_fault_vector();
}

static int mmio_write_safe(uint64_t addr, unsigned size, uint64_t v)
{
	trap_fault_reset();
	if (size == 1)
		asm volatile(FAULT_SITE("movb %b1, (%0)") : : "D"(addr), "a"(v) : "memory");
	else if (size == 2)
		asm volatile(FAULT_SITE("movw %w1, (%0)") : : "D"(addr), "a"(v) : "memory");
	else if (size == 4)
		asm volatile(FAULT_SITE("movl %k1, (%0)") : : "D"(addr), "a"(v) : "memory");
	else
		asm volatile(FAULT_SITE("movq %1, (%0)") : : "D"(addr), "a"(v) : "memory");
	return trap_fault_vector();
}

static uint64_t all_ones(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* Every size reads all-ones, before and after a write of every size. */
static enum check_result outside_probe(uint64_t addr)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	uint64_t v;

	for (unsigned round = 0; round < 2; round++) {
		for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
			if (mmio_read_safe(addr, sizes[i], &v) >= 0)
				return check_fail("%u-byte read at 0x%lx raised %s", sizes[i],
						  addr, trap_exception_name(trap_fault_vector()));
			if (v != all_ones(sizes[i]))
				return check_fail("%u-byte read at 0x%lx = 0x%lx%s", sizes[i],
						  addr, v, round ? " after writes" : "");
		}
		for (unsigned i = 0; round == 0 && i < ARRAY_SIZE(sizes); i++) {
			if (mmio_write_safe(addr, sizes[i], OUTSIDE_POISON) >= 0)
				return check_fail("%u-byte write at 0x%lx raised %s", sizes[i],
						  addr, trap_exception_name(trap_fault_vector()));
		}
	}
	return CHECK_PASS;
}

enum check_result check_outside_ram(void)
{
	uint64_t mem = boot_info.si.mem_size;
	const uint64_t addrs[] = { mem, mem + MIB - 8, OUTSIDE_FIXED_ADDR };
	enum check_result r;
	unsigned probed = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(addrs); i++) {
		if (addrs[i] < mem || addrs[i] + 8 > IDENTITY_MAP_END)
			continue;
		r = outside_probe(addrs[i]);
		if (r != CHECK_PASS)
			return r;
		probed++;
	}
	if (!probed)
		return check_skip("no address above RAM below 4 GiB");
	kprintf("outside-ram: %u addresses read all-ones, writes dropped\n", probed);
	return CHECK_PASS;
}
