/* SPDX-License-Identifier: MIT */
/*
 * Single-instruction wrappers. The *_safe ones are "fault sites": if the
 * instruction raises an exception, trap.c records the vector and resumes
 * right after it (the pair of labels goes into .fault_sites), so a
 * misbehaving hypervisor yields a FAIL line instead of a dead guest.
 */
#ifndef MINIMAL_CPU_H
#define MINIMAL_CPU_H

#include "kernel.h"

#define VEC_UD 6
#define VEC_GP 13

#define MSR_TSC 0x10

/* One instruction, with a fixup entry {insn, resume} for trap.c. */
#define FAULT_SITE(insn)                                   \
	"1:\t" insn "\n2:\n\t"                             \
	".pushsection .fault_sites, \"a\"\n\t"             \
	".balign 8\n\t.quad 1b, 2b\n\t.popsection"

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;

	asm volatile("cpuid"
		     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
		     : "a"(leaf), "c"(subleaf));
	return r;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "d"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "d"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	asm volatile("inw %1, %0" : "=a"(v) : "d"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "d"(port));
	return v;
}

/* Returns the exception vector it raised, or -1. */
static inline int rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;

	trap_fault_reset();
	asm volatile(FAULT_SITE("rdmsr")
		     : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	*val = (uint64_t)hi << 32 | lo;
	return trap_fault_vector();
}

static inline int wrmsr_safe(uint32_t msr, uint64_t val)
{
	trap_fault_reset();
	asm volatile(FAULT_SITE("wrmsr")
		     : : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
		     : "memory");
	return trap_fault_vector();
}

static inline int ud2_safe(void)
{
	trap_fault_reset();
	asm volatile(FAULT_SITE("ud2") ::: "memory");
	return trap_fault_vector();
}

/* The vCPU whose stack we are on (entry.S: one STACK_SIZE slot each). */
static inline unsigned this_vcpu(void)
{
	uintptr_t sp;

	asm("mov %%rsp, %0" : "=r"(sp));
	return (unsigned)((sp - (uintptr_t)boot_stacks) >> STACK_SHIFT);
}

#endif
