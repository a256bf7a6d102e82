/* x86 registers, bits and instruction wrappers used by the host side. */
#ifndef X86_PROCESSOR_H
#define X86_PROCESSOR_H

#include <stdbool.h>
#include <stdint.h>

/* Control register bits (SDM vol. 3, 2.5). */
#define X86_CR0_PE   (1ull << 0)
#define X86_CR0_MP   (1ull << 1)
#define X86_CR0_ET   (1ull << 4)
#define X86_CR0_NE   (1ull << 5)
#define X86_CR0_WP   (1ull << 16)
#define X86_CR0_NW   (1ull << 29)
#define X86_CR0_CD   (1ull << 30)
#define X86_CR0_PG   (1ull << 31)
/* CR4 (SDM 3, 2.5; APM 2, 3.1.3) */
#define X86_CR4_VME  (1ull << 0)
#define X86_CR4_PVI  (1ull << 1)
#define X86_CR4_TSD  (1ull << 2)
#define X86_CR4_DE   (1ull << 3)
#define X86_CR4_PSE  (1ull << 4)
#define X86_CR4_PAE  (1ull << 5)
#define X86_CR4_MCE  (1ull << 6)
#define X86_CR4_PGE  (1ull << 7)
#define X86_CR4_PCE  (1ull << 8)
#define X86_CR4_OSFXSR (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_CR4_UMIP (1ull << 11)
#define X86_CR4_LA57 (1ull << 12)
#define X86_CR4_VMXE (1ull << 13)
#define X86_CR4_FSGSBASE (1ull << 16)
#define X86_CR4_PCIDE (1ull << 17)
#define X86_CR4_OSXSAVE (1ull << 18)
#define X86_CR4_SMEP (1ull << 20)
#define X86_CR4_SMAP (1ull << 21)
#define X86_CR4_PKE  (1ull << 22)
#define X86_CR4_CET  (1ull << 23)
#define X86_CR4_PKS  (1ull << 24)

#define X86_RFLAGS_IF (1ull << 9)
#define X86_RFLAGS_TF (1ull << 8)
#define X86_RFLAGS_RF (1ull << 16)
#define X86_RFLAGS_VM (1ull << 17)
#define X86_RFLAGS_FIXED (1ull << 1)

#include <x86/msr_index.h>

#define EFER_SCE   (1ull << 0)
#define EFER_LME   (1ull << 8)
#define EFER_LMA   (1ull << 10)
#define EFER_NXE   (1ull << 11)
#define EFER_SVME  (1ull << 12)

/* Exception vectors (SDM vol. 3, 6.15). */
enum {
	X86_EXC_DE = 0, X86_EXC_DB = 1, X86_EXC_NMI = 2, X86_EXC_BP = 3,
	X86_EXC_OF = 4, X86_EXC_BR = 5, X86_EXC_UD = 6, X86_EXC_NM = 7,
	X86_EXC_DF = 8, X86_EXC_TS = 10, X86_EXC_NP = 11, X86_EXC_SS = 12,
	X86_EXC_GP = 13, X86_EXC_PF = 14, X86_EXC_MF = 16, X86_EXC_AC = 17,
	X86_EXC_MC = 18, X86_EXC_XM = 19,
};

/* Fault-class exceptions (SDM 3, table 6-1; #DB is a fault or a trap and
 * left out). Their delivery sets RF in the RFLAGS image it pushes, so an
 * instruction breakpoint does not fire again on the restart (SDM 3,
 * 17.3.1.1); an injected event has it set by the hypervisor, as KVM does. */
static inline bool x86_exception_is_fault(unsigned vector)
{
	return vector < 32 && ((1u << vector) & 0x003b7ce1u);
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

#define DEFINE_CR_ACCESSORS(n)                                            \
	static inline uint64_t read_cr##n(void)                           \
	{                                                                 \
		uint64_t v;                                               \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));         \
		return v;                                                 \
	}                                                                 \
	static inline void write_cr##n(uint64_t v)                        \
	{                                                                 \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); \
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)

static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline void write_cr2(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr2" : : "r"(v) : "memory");
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline void irq_disable(void)
{
	__asm__ volatile("cli" ::: "memory");
}

static inline void irq_enable(void)
{
	__asm__ volatile("sti" ::: "memory");
}

/* Wait for an interrupt with interrupts enabled only for the wait itself. */
static inline void cpu_idle(void)
{
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

static inline __attribute__((noreturn)) void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif
