/* SPDX-License-Identifier: MIT */
/*
 * kestrel-minimal: the project's smallest 64-bit guest kernel.
 *
 * The constants at the top are shared with entry.S; everything else is C.
 */
#ifndef MINIMAL_KERNEL_H
#define MINIMAL_KERNEL_H

#define MAX_VCPUS        8            /* vCPUs above this are parked in entry.S */
#define STACK_SHIFT      14           /* 16 KiB stack per vCPU */
#define STACK_SIZE       (1 << STACK_SHIFT)
#define GDT_CODE         0x08         /* same selectors as the boot protocol */
#define GDT_DATA         0x10
#define NR_EXCEPTIONS    32
#define TIMER_VECTOR     0x40
#define APIC_VECTOR      0x41   /* the emulated local APIC's timer (apic.c) */
#define IDT_ENTRIES      256
#define IDT_GATE_SIZE    16

#ifndef __ASSEMBLY__

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hv/start_info.h>

#define IDENTITY_MAP_END (UINT64_C(4) << 30) /* paging.c maps 0..4 GiB */
#define MIB              (UINT64_C(1) << 20)

#define ARRAY_SIZE(a)    (sizeof(a) / sizeof((a)[0]))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* COM1, a 16550 (PC16550D datasheet, table II: register addresses). */
#define UART_BASE        0x3f8
#define UART_THR         (UART_BASE + 0)
#define UART_LSR         (UART_BASE + 5)
#define UART_SCR         (UART_BASE + 7)
#define UART_LSR_THRE    (1u << 5)    /* transmitter holding register empty */

/* What vCPU 0 copied out of the boot data area (free RAM afterwards). */
struct boot_info {
	struct hv_start_info si;
	char     cmdline[HV_CMDLINE_MAX];
	bool     hv_detected;   /* CPUID 0x40000000 carries the Kestrel signature */
	uint32_t hv_features;   /* CPUID 0x40000001 EDX */
	uint64_t tsc_khz;       /* HV_HC_TSC_KHZ, 0 when unknown */
};
extern struct boot_info boot_info;

/* Register frame built by entry.S (trap_common): keep in push order. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;  /* pushed by the CPU */
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "entry.S pushes 22 words");

/* Symbols from entry.S and kernel.ld. */
extern char boot_stacks[];
extern volatile uint32_t boot_vcpus_online;
extern char _kernel_start[], _kernel_end[];

/* main.c */
void kmain(const struct hv_start_info *si, unsigned long vcpu) __attribute__((noreturn));

/* paging.c */
extern uint64_t boot_pml4[512];
void paging_build(void);

/* trap.c */
void trap_init(void);
void trap_dispatch(struct trap_frame *f);
void trap_fault_reset(void);
int trap_fault_vector(void);
/* trap.c: called for an NMI (vector 2), with its frame (the hook may move
 * the RIP it returns to), when set; else an NMI is fatal. */
extern void (*volatile trap_nmi_hook)(struct trap_frame *f);
const char *trap_exception_name(int vector);
/* apic.c: the APIC timer interrupt (counts it and sends the EOI). */
void apic_interrupt(void);
uint32_t apic_hit_count(void);
void apic_nmi_to(uint32_t apic_id);
void apic_interrupt_to(uint32_t apic_id);
void apic_nmi_to_self(void);
/* trap.c: #DB is expected (a trap: the guest goes on after the instruction,
 * with RFLAGS.TF cleared); each one is counted with the DR6 it left. */
void trap_db_expect(bool on);
uint32_t trap_db_count(void);
uint64_t trap_db_dr6(void);
void timer_reset(void);
uint32_t timer_hit_count(void);
/* selftest.c: arm the hypervisor's one-shot timer (clears the hit count),
 * and wait for it with interrupts enabled, in HLT or busy. */
long timer_arm(uint64_t deadline, uint32_t vector);
bool timer_wait(uint64_t limit, bool use_hlt);
uint64_t timer_hit_tsc(void);

/* hypercall.c: hypercall() is fault-safe; HC_FAULTED means it raised an
 * exception (see trap_fault_vector()). */
#define HC_FAULTED (-0x7fff0000L)
void hypercall_init(void);
bool hypercall_uses_vmmcall(void);
const char *hypercall_insn_name(void);
long hypercall(unsigned long nr, unsigned long a1, unsigned long a2, unsigned long a3);
void hv_poweroff(unsigned long status) __attribute__((noreturn));

/* lib.c */
void uart_putc(char c);
int kprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
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
void halt_forever(void) __attribute__((noreturn));

/* hostile.c: the security review's attacks, by mode name (NULL-ended). */
extern const char *const hostile_modes[];
void hostile_run(const char *mode, uint64_t rounds);
/* virtio_hostile.c: a malicious driver of the VM's virtio-rng; prints the
 * selftest summary and returns the number of failed checks. */
unsigned virtio_hostile_run(void);

/* selftest.c, bench.c */
unsigned selftest_run(void);
void smp_check_in(unsigned vcpu);
bool smp_all_online(void);
/* selftest.c: where vCPUs 1.. wait after checking in (halted between checks). */
void __attribute__((noreturn)) smp_idle(unsigned vcpu);
void bench_run(uint64_t iters, uint64_t rounds) __attribute__((noreturn));
/* ticker.c: print "tick N" every period_ms (timer + HLT); 0 ticks = forever. */
void ticker_run(uint64_t period_ms, uint64_t ticks) __attribute__((noreturn));

#endif /* !__ASSEMBLY__ */
#endif
