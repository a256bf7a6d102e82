/* SPDX-License-Identifier: MIT */
/*
 * kestrel-chaos: a hostile guest for the reliability tests. Boots like the
 * minimal guest (Kestrel boot protocol, guest-tools/minimal/, whose entry,
 * paging and trap approach it copies) and runs in one of two modes:
 *
 *   chaos  seeded random operations against the hypervisor (ops.c);
 *   victim fills its RAM with a pattern once and re-checks it forever,
 *          printing its progress and speed (victim.c).
 *
 * The constants at the top are shared with entry.S.
 */
#ifndef CHAOS_H
#define CHAOS_H

#define MAX_VCPUS        8
#define STACK_SHIFT      14           /* 16 KiB stack per vCPU */
#define STACK_SIZE       (1 << STACK_SHIFT)
#define GDT_CODE         0x08
#define GDT_DATA         0x10
#define IDT_ENTRIES      256
#define IDT_GATE_SIZE    16
#define STUB_SIZE        32           /* entry.S: one interrupt stub per vector */

#ifndef __ASSEMBLY__

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hv/hypercall.h>
#include <hv/start_info.h>

#define MIB              (UINT64_C(1) << 20)
#define GIB              (UINT64_C(1) << 30)
#define ARRAY_SIZE(a)    (sizeof(a) / sizeof((a)[0]))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

#define UART_BASE        0x3f8
#define UART_THR         (UART_BASE + 0)
#define UART_LSR         (UART_BASE + 5)
#define UART_LSR_THRE    (1u << 5)

#define X86_RFLAGS_TF    (1ul << 8)
#define X86_RFLAGS_IF    (1ul << 9)
#define X86_RFLAGS_RF    (1ul << 16)

#define VEC_DB           1
#define VEC_NMI          2
#define VEC_BP           3
#define VEC_OF           4
#define VEC_UD           6
#define VEC_GP           13
#define VEC_PF           14

/* Register frame built by entry.S (trap_common): keep in push order. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;  /* pushed by the CPU */
};

/* op_try() saves these; a fault anywhere in the op comes back there. */
struct jmpctx {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
};

/*
 * A fault site: one instruction that may raise an exception. trap.c
 * records the vector and resumes after it. FAULT: an exception must be
 * reported at the instruction (RIP = insn); TRAP: after it (RIP = resume,
 * INT n / INT3 / INT1); `expect` is the vector of a software interrupt,
 * -1 for any exception.
 */
#define SITE_FAULT 0
#define SITE_TRAP  1
struct fault_site {
	uint64_t insn, resume;
	int32_t  kind, expect;
};

#define FAULT_SITE_X(insn, kind, expect)                     \
	"1:\t" insn "\n2:\n\t"                              \
	".pushsection .fault_sites, \"a\"\n\t"              \
	".balign 8\n\t.quad 1b, 2b\n\t.long " #kind ", " #expect "\n\t.popsection"
#define FAULT_SITE(insn) FAULT_SITE_X(insn, 0, -1)

/* What vCPU 0 copied out of the boot data area. */
struct boot_info {
	struct hv_start_info si;
	char     cmdline[HV_CMDLINE_MAX];
	bool     hv_detected;
	bool     svm;           /* VMMCALL: the hypervisor runs on AMD SVM */
	uint32_t hv_features;
	uint64_t tsc_khz;
	unsigned phys_bits;
};
extern struct boot_info boot_info;

/* Per-vCPU state (trap.c, ops.c). */
#define OPLOG_SIZE 32
struct oplog {
	uint64_t idx;
	uint16_t cls, sub;
	int16_t  vec;           /* vector the op raised, -1 none */
	uint64_t a, b, c;
};

struct cpu {
	unsigned id;
	/* fault sites */
	volatile int site_vec;          /* vector raised at a site, -1 none */
	volatile bool site_at_insn;     /* reported at the instruction */
	volatile uint64_t site_cr2;
	/* recovery from an exception outside a site, inside an op */
	struct jmpctx recover;
	volatile bool recover_armed;
	volatile int recovered_vec;
	volatile uint64_t recovered_rip, recovered_err;
	/* the dynamic code buffer of this vCPU (ops.c) */
	uint64_t snip_lo, snip_hi, snip_ret;
	char snip_hex[64];              /* its bytes, for the anomaly report */
	/* counters */
	volatile uint64_t irqs, irq_low, nmis, dbs, eois, exc_at_sites;
	volatile uint64_t irq_by_vec[256 / 64];   /* seen-vector bitmap */
	volatile uint64_t storms, storm_rip, storm_streak, last_vec, last_rip;
	volatile uint64_t apic_base;    /* IA32_APIC_BASE as last read, 0: read it */
	uint64_t ops_done;
	uint64_t next_idx;              /* secondary vCPUs: next op of the stream */
	uint64_t reentries;             /* INIT + SIPI came back through the trampoline */
	uint64_t anomalies;
	/* op log ring */
	struct oplog log[OPLOG_SIZE];
	unsigned log_head;
	/* the 1 GiB window for guest-physical addresses above 4 GiB */
	uint64_t window_base;
	bool window_valid;
};
extern struct cpu cpus[MAX_VCPUS];

/* entry.S, kernel.ld */
extern char boot_stacks[];
extern volatile uint32_t boot_vcpus_online;
extern char _kernel_start[], _kernel_end[];
extern char trap_stubs_base[];
int op_try(struct jmpctx *c) __attribute__((returns_twice));

/* main.c: the command line, "[chaos|victim] [key=value ...]". */
void kmain(const struct hv_start_info *si, unsigned long vcpu) __attribute__((noreturn));
enum { MODE_CHAOS, MODE_VICTIM };
extern int run_mode;
struct options {
	uint64_t seed;          /* chaos: the run's seed */
	uint64_t ops;           /* chaos: ops of vCPU 0's stream (the others follow it) */
	uint64_t solo_ms;       /* chaos: sleep this long first (the victim runs alone) */
	uint64_t resets;        /* chaos: VM resets spread over the run */
	uint64_t trace_from;    /* chaos: print every op from this index on */
	uint64_t progress;      /* chaos: a progress line every N ops (0: ops / 10) */
	uint64_t skip;          /* chaos: bit mask of op classes not to run */
	uint64_t only;          /* chaos: run only this op class + 1 (0: all) */
	uint64_t burst;         /* chaos: ops of a secondary vCPU per wake-up */
	uint64_t sanitize;      /* chaos: put the platform back in order every N ops */
	uint64_t report_ms;     /* victim: a progress line every N ms */
	uint64_t quirks;        /* chaos: 1 = leave out what crashes QEMU TCG (ops.c) */
	uint64_t stop_ms;       /* victim: power off after N ms (0: never) */
	uint64_t stop_kib;      /* victim: power off once N KiB are checked (0: never) */
	uint64_t avoid;         /* chaos: AVOID_* bits, known hypervisor bugs left out */
	uint64_t pause_every_ms; /* chaos: sleep pause_ms after every N ms of ops (0: never) */
	uint64_t pause_ms;
};
extern struct options opt;

/* paging.c: identity map 0..4 GiB, a window per vCPU at (4 + vcpu) GiB,
 * and a second copy of the tables for CR3 writes. */
#define WINDOW_VA(cpu)   ((uint64_t)(4 + (cpu)) * GIB)
extern uint64_t boot_pml4[512];
extern uint64_t alt_pml4[512];
void paging_build(void);
void *phys_window(unsigned cpu, uint64_t pa);
uint64_t phys_window_pde(unsigned cpu, uint64_t pa);
void tlb_flush_all(void);

/* trap.c */
void trap_init(void);
void trap_dispatch(struct trap_frame *f);
void site_reset(void);
int site_vector(void);
void apic_eoi_if_in_service(unsigned vector);

/* lib.c */
void uart_putc(char c);
extern volatile bool uart_dirty;
int kprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
bool console_lock(void);
void console_unlock(bool locked);
void console_release(unsigned vcpu);
int console_lock_owner(void);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
bool parse_u64(const char *s, uint64_t *out);
uint64_t tsc_ticks_ms(uint64_t ms);
uint64_t tsc_to_ms(uint64_t ticks);
void spin_ms(uint64_t ms);
void halt_forever(void) __attribute__((noreturn));
long hypercall(unsigned long nr, unsigned long a1, unsigned long a2, unsigned long a3);
void hv_poweroff(unsigned long status) __attribute__((noreturn));
void spin_lock(volatile int *l);
void spin_unlock(volatile int *l);

/* victim.c, chaos.c */
void victim_run(unsigned vcpu) __attribute__((noreturn));
void chaos_run(unsigned vcpu) __attribute__((noreturn));
#define FATAL_STATUS_BOOT 4

/* Known hypervisor bugs a run can leave out (avoid=, a bit mask), so that
 * it finds the next one; each open one has a reproducer in test_chaos.py.
 * The bits of fixed bugs stay, so old reproducer command lines still parse. */
#define AVOID_DR7_GD     (1u << 0)   /* fixed: GD cleared on delivery (vmx.c) */
#define AVOID_CR4_VMXE   (1u << 1)   /* fixed: now #GP (core/exit.c) */
#define AVOID_NMI        (1u << 2)   /* fixed: virtual NMIs (vmx.c) */
#define AVOID_CR0_PG     (1u << 3)   /* fixed: now #GP (core/exit.c) */
#define AVOID_EFER_LME   (1u << 4)   /* fixed: now #GP (core/msr.c) */
#define AVOID_DR_BP      (1u << 5)   /* fixed: pending debug exceptions cleared on a skip (vmx.c) */

/* ---- single instructions ---- */
struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;

	asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
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

static inline unsigned this_vcpu(void)
{
	uintptr_t sp;

	asm("mov %%rsp, %0" : "=r"(sp));
	return (unsigned)((sp - (uintptr_t)boot_stacks) >> STACK_SHIFT);
}

static inline struct cpu *this_cpu(void)
{
	unsigned id = this_vcpu();

	return &cpus[id < MAX_VCPUS ? id : 0];
}

static inline int rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;

	site_reset();
	asm volatile(FAULT_SITE("rdmsr") : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	*val = (uint64_t)hi << 32 | lo;
	return site_vector();
}

static inline int wrmsr_safe(uint32_t msr, uint64_t val)
{
	site_reset();
	asm volatile(FAULT_SITE("wrmsr")
		     : : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
	return site_vector();
}

static inline uint64_t irq_save(void)
{
	uint64_t f;

	asm volatile("pushfq; popq %0; cli" : "=r"(f) : : "memory");
	return f;
}

static inline void irq_restore(uint64_t f)
{
	if (f & X86_RFLAGS_IF)
		asm volatile("sti" ::: "memory");
}

#endif /* !__ASSEMBLY__ */
#endif
