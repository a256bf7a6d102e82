/* SPDX-License-Identifier: MIT */
/*
 * Modes that attack the hypervisor or the VMs next to this one, one per
 * finding of the security review (the integration tests run each beside a
 * victim VM). Each prints PASS/FAIL lines and powers off with the number of
 * failures, or, for the modes meant to be stopped, misbehaves until it is.
 */
#include "cpu.h"

#define X86_CR4_OSFXSR   (1ul << 9)
#define X86_CR4_OSXSAVE  (1ul << 18)
#define ACPI_RESET_PORT  0xcf9
#define UART_MCR         (UART_BASE + 4)
#define UART_MCR_LOOP    0x10
#define UART_FIFO_BYTES  16
#define SLICE_SPAN_MS    25      /* longer than one scheduler slice */

static unsigned failures;

static void check(bool ok, const char *name, const char *detail)
{
	if (ok) {
		kprintf("PASS: %s\n", name);
		return;
	}
	failures++;
	kprintf("FAIL: %s (%s)\n", name, detail);
}

static void spin_ms(uint64_t ms)
{
	uint64_t until = rdtsc() + tsc_ticks_ms(ms);

	while (rdtsc() < until)
		cpu_relax();
}

static void cr4_set(uint64_t bits)
{
	uint64_t cr4;

	asm volatile("mov %%cr4, %0" : "=r"(cr4));
	asm volatile("mov %0, %%cr4" : : "r"(cr4 | bits));
}

/* ---- XSETBV (finding 3) ---- */

static int xsetbv_safe(uint64_t v)
{
	trap_fault_reset();
	asm volatile(FAULT_SITE("xsetbv")
		     : : "c"(0), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
	return trap_fault_vector();
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/* Values hardware refuses (SDM 1, 13.3): AVX-512 without AVX or partial,
 * MPX halves, AMX halves, AVX without SSE, no x87. Each must be #GP in
 * the guest, not a #GP in the hypervisor. */
static void __attribute__((noreturn)) xsetbv_bad_run(void)
{
	static const uint64_t bad[] = { 0x23, 0xe1, 0xe3, 0x67, 0x0b, 0x13, 0x20003, 0x40003,
					0x5, 0x0, 1ul << 62 };
	char detail[64];

	cr4_set(X86_CR4_OSXSAVE);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		int vec = xsetbv_safe(bad[i]);

		ksnprintf(detail, sizeof(detail), "XCR0 0x%lx: vector %d, XCR0 now 0x%lx", bad[i], vec,
			  xgetbv0());
		check(vec == VEC_GP && xgetbv0() == 1, "xsetbv-refused", detail);
	}
	ksnprintf(detail, sizeof(detail), "XCR0 3: vector %d", xsetbv_safe(3));
	check(xgetbv0() == 3, "xsetbv-sse", detail);
	hv_poweroff(failures);
}

/* ---- SIMD registers across VM switches (finding 4) ---- */

static void xmm_load(const uint64_t *p)
{
	asm volatile("movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\t"
		     "movdqu 32(%0), %%xmm2\n\tmovdqu 48(%0), %%xmm3\n\t"
		     "movdqu 64(%0), %%xmm8\n\tmovdqu 80(%0), %%xmm15\n\t"
		     "ldmxcsr 96(%0)" : : "r"(p) : "memory");
}

static void xmm_store(uint64_t *p)
{
	asm volatile("movdqu %%xmm0, 0(%0)\n\tmovdqu %%xmm1, 16(%0)\n\t"
		     "movdqu %%xmm2, 32(%0)\n\tmovdqu %%xmm3, 48(%0)\n\t"
		     "movdqu %%xmm8, 64(%0)\n\tmovdqu %%xmm15, 80(%0)\n\t"
		     "stmxcsr 96(%0)" : : "r"(p) : "memory");
}

#define XMM_WORDS 13      /* six registers and MXCSR (low half of the last) */

/* Two VMs in this mode, each with its own pattern in XMM registers and
 * MXCSR, XCR0 left at its power-on value (x87 only): each must find its
 * own values after the other ran, never the other's. */
static void __attribute__((noreturn)) xmm_probe_run(unsigned rounds)
{
	uint64_t mine[XMM_WORDS], seen[XMM_WORDS];
	unsigned bad = 0;
	char detail[96] = "";

	cr4_set(X86_CR4_OSFXSR);
	for (unsigned i = 0; i < XMM_WORDS - 1; i++)
		mine[i] = 0x5eed000000000000ul | (uint64_t)boot_info.si.vm_id << 32 | i;
	mine[XMM_WORDS - 1] = 0x1f80 | (boot_info.si.vm_id & 1 ? 0x6000 : 0x2000);  /* RC */
	for (unsigned r = 0; r < rounds; r++) {
		xmm_load(mine);
		spin_ms(SLICE_SPAN_MS);
		xmm_store(seen);
		seen[XMM_WORDS - 1] &= 0xffffffff;
		if (!bad && memcmp(mine, seen, sizeof(mine))) {
			bad++;
			ksnprintf(detail, sizeof(detail), "round %u: xmm0 0x%lx mxcsr 0x%lx, "
				  "expected 0x%lx 0x%lx", r, seen[0], seen[XMM_WORDS - 1], mine[0],
				  mine[XMM_WORDS - 1]);
		}
	}
	check(!bad, "xmm-kept-across-switches", detail);
	hv_poweroff(failures);
}

/* ---- CR8 (finding 1) ---- */

/* CR8 = 15 masks every interrupt class: on VMX without CR8 exiting it
 * would go to the physical APIC and stop the host's timer. The VM next to
 * this one must still finish, and CR8 must read back as written. */
static void __attribute__((noreturn)) cr8_run(void)
{
	uint64_t until = rdtsc() + tsc_ticks_ms(300), cr8 = 0;
	bool kept = true;

	asm volatile("mov %0, %%cr8" : : "r"(15ul));
	while (rdtsc() < until && kept) {
		asm volatile("mov %%cr8, %0" : "=r"(cr8));
		kept = cr8 == 15;
	}
	asm volatile("mov %0, %%cr8" : : "r"(0ul));
	check(kept, "cr8-kept", "CR8 changed under the guest");
	asm volatile("mov %%cr8, %0" : "=r"(cr8));
	check(cr8 == 0, "cr8-cleared", "CR8 did not read back 0");
	hv_poweroff(failures);
}

/* ---- debug registers (findings 2 and 9) ---- */

static void dr_write(unsigned n, uint64_t v)
{
	switch (n) {
	case 0: asm volatile("mov %0, %%dr0" : : "r"(v)); break;
	case 1: asm volatile("mov %0, %%dr1" : : "r"(v)); break;
	case 2: asm volatile("mov %0, %%dr2" : : "r"(v)); break;
	default: asm volatile("mov %0, %%dr3" : : "r"(v)); break;
	}
}

static uint64_t dr_read(unsigned n)
{
	uint64_t v;

	switch (n) {
	case 0: asm volatile("mov %%dr0, %0" : "=r"(v)); break;
	case 1: asm volatile("mov %%dr1, %0" : "=r"(v)); break;
	case 2: asm volatile("mov %%dr2, %0" : "=r"(v)); break;
	default: asm volatile("mov %%dr3, %0" : "=r"(v)); break;
	}
	return v;
}

static volatile uint32_t watched;

#define DR7_RESET        0x400ul
#define DR7_L0_WRITE4    (1ul | (1ul << 16) | (3ul << 18))  /* L0, R/W0 = write, LEN0 = 4 */

static void dr7_write(uint64_t v)
{
	asm volatile("mov %0, %%dr7" : : "r"(v));
}

/* A data breakpoint's #DB sets B0 and leaves the BS software set: only
 * B0-B3 are cleared by the processor (SDM 3, 18.2.3; kvm-unit-tests'
 * debug), now that #DB is intercepted. */
static void data_breakpoint_checks(void)
{
	uint64_t dr6_bs = 0xffff0ff0ul | (1ul << 14);
	char detail[64];

	trap_db_expect(true);
	dr_write(0, (uintptr_t)&watched);
	asm volatile("mov %0, %%dr6" : : "r"(dr6_bs));
	dr7_write(DR7_L0_WRITE4);
	watched = 1;
	dr7_write(DR7_RESET);
	ksnprintf(detail, sizeof(detail), "%u #DB, DR6 0x%lx", trap_db_count(), trap_db_dr6());
	check(trap_db_count() == 1 && (trap_db_dr6() & 1), "db-data-breakpoint", detail);
	check(trap_db_dr6() == (dr6_bs | 1), "db-dr6-bs-kept", detail);
	trap_db_expect(false);
}

static void single_step_check(void)
{
	char detail[64];

	trap_db_expect(true);
	asm volatile("pushf; orq $0x100, (%%rsp); popf; nop" ::: "memory", "cc");
	ksnprintf(detail, sizeof(detail), "%u #DB, DR6 0x%lx", trap_db_count(), trap_db_dr6());
	check(trap_db_count() >= 1 && (trap_db_dr6() & (1ul << 14)), "db-single-step", detail);
	trap_db_expect(false);
}

/* The bystander stores to `watched` all through its spins: at the same
 * linear address the armed VM's breakpoint watches. */
static void spin_storing_ms(uint64_t ms)
{
	uint64_t until = rdtsc() + tsc_ticks_ms(ms);

	while (rdtsc() < until)
		watched++;
}

/*
 * Two VMs in these modes write their own DR0-DR3 and must find them after
 * the other ran (they are switched per vCPU, not shared). The armed one
 * ("debug-regs") keeps a write breakpoint on `watched` in DR0/DR7 all
 * through, and takes it at the end; the bystander ("debug-regs-bystander")
 * has the same DR0 but never enables it, and stores to `watched` all
 * through without a #DB: DR7 is each VM's own too.
 *
 * Only one of the two writes DR7: QEMU 7.2's TCG loads DR7 at VMRUN and
 * #VMEXIT without re-registering its breakpoints, so the next MOV to DR7
 * removes the breakpoint another guest armed as the type its own DR7
 * names, and a data watchpoint freed as an instruction breakpoint crashes
 * QEMU (SIGSEGV in cpu_breakpoint_remove_by_ref).
 */
static void __attribute__((noreturn)) debug_regs_run(unsigned rounds, bool armed)
{
	uint64_t base = 0x7e57000000ul | (uint64_t)boot_info.si.vm_id << 12;
	char detail[80] = "";
	bool kept = true;

	if (armed)
		data_breakpoint_checks();
	single_step_check();
	trap_db_expect(true);
	dr_write(0, (uintptr_t)&watched);
	if (armed)
		dr7_write(DR7_L0_WRITE4);
	for (unsigned r = 0; r < rounds && kept; r++) {
		for (unsigned n = 1; n < 4; n++)
			dr_write(n, base + n * 8);
		if (armed)
			spin_ms(SLICE_SPAN_MS);
		else
			spin_storing_ms(SLICE_SPAN_MS);
		for (unsigned n = 0; n < 4 && kept; n++) {
			uint64_t want = n ? base + n * 8 : (uintptr_t)&watched;

			kept = dr_read(n) == want;
			if (!kept)
				ksnprintf(detail, sizeof(detail), "round %u: DR%u = 0x%lx, wrote 0x%lx",
					  r, n, dr_read(n), want);
		}
	}
	check(kept, "debug-regs-kept-across-switches", detail);
	if (armed) {
		watched = 2;
		dr7_write(DR7_RESET);
		ksnprintf(detail, sizeof(detail), "%u #DB, DR6 0x%lx", trap_db_count(),
			  trap_db_dr6());
		check(trap_db_count() == 1 && (trap_db_dr6() & 1), "db-armed-across-switches",
		      detail);
	} else {
		ksnprintf(detail, sizeof(detail), "%u #DB in %u stores", trap_db_count(), watched);
		check(trap_db_count() == 0, "db-neighbour-dr7-not-taken", detail);
	}
	trap_db_expect(false);
	hv_poweroff(failures);
}

/* ---- APIC timer storm (finding 6) ---- */

#define APIC_MMIO        0xfee00000ul
#define STORM_MS         1000
#define MIN_PERIOD_US    200     /* the hypervisor's floor for periodic timers */

static void xapic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(APIC_MMIO + reg) = v;
}

/* A periodic timer of one count at divide-by-1 (a few TSC cycles), taken
 * with interrupts on in a busy loop: the hypervisor must hold it to its
 * floor, so this VM gets at most one interrupt per 200 us of wall time
 * (before the floor, one per VM entry: tens of thousands a second), and
 * its neighbours keep running. */
static void __attribute__((noreturn)) timer_storm_run(void)
{
	uint64_t until = rdtsc() + tsc_ticks_ms(STORM_MS);
	uint32_t hits, limit = STORM_MS * 1000 / MIN_PERIOD_US * 3 / 2;
	char detail[64];

	xapic_write(0x0f0, 0x1ff);                      /* SVR: enabled */
	xapic_write(0x3e0, 0xb);                        /* divide by 1 */
	xapic_write(0x320, (1u << 17) | APIC_VECTOR);   /* periodic */
	xapic_write(0x380, 1);                          /* initial count 1 */
	while (rdtsc() < until)     /* STI's shadow covers the first NOP only */
		asm volatile("sti; nop; pause; pause; cli" ::: "memory");
	xapic_write(0x320, 1u << 16);                   /* masked */
	hits = apic_hit_count();
	ksnprintf(detail, sizeof(detail), "%u interrupts in %u ms, at most %u expected", hits,
		  STORM_MS, limit);
	kprintf("timer-storm: %u interrupts in %u ms\n", hits, STORM_MS);
	check(hits > 0 && hits <= limit, "timer-period-floor", detail);
	hv_poweroff(failures);
}

/* ---- resets, console (findings 7, 8, 11) ---- */

/* Resets the VM as soon as it starts, forever: the hypervisor stops it. */
static void __attribute__((noreturn)) reset_storm_run(void)
{
	outb(ACPI_RESET_PORT, 0x06);
	kprintf("FAIL: reset-storm (the reset did not happen)\n");
	hv_poweroff(1);
}

/* UART loopback with a full receive FIFO, then idle with interrupts on:
 * the operator must still be able to leave this VM's console. */
static void __attribute__((noreturn)) uart_loop_fill_run(void)
{
	kprintf("uart-loop-fill: filling the receive FIFO in loopback\n");
	outb(UART_MCR, UART_MCR_LOOP);
	for (unsigned i = 0; i < UART_FIFO_BYTES + 4; i++)
		outb(UART_THR, 'x');
	for (;;)
		asm volatile("sti; hlt" ::: "memory");
}

/* Backspaces that would erase the "[name] " prefix, then a forged line. */
static void __attribute__((noreturn)) spoof_run(void)
{
	kprintf("\b\b\b\b\b\b\b\b\b\bkestrel: forged by the guest\n");
	kprintf("ok\b\bkept\n");
	hv_poweroff(0);
}

/* ---- faults that must stop only this VM (docs/containment.md) ---- */

/* A string instruction on the local APIC's page: not an MMIO access the
 * hypervisor emulates, so it stops the VM, naming the instruction. */
static void __attribute__((noreturn)) mmio_string_run(void)
{
	uint32_t buf[4] = { 0 };

	kprintf("mmio-string: rep movsd from the local APIC page\n");
	asm volatile("rep movsl" : : "S"(0xfee00000ul), "D"(buf), "c"(4ul) : "memory");
	kprintf("FAIL: mmio-string (the VM was not stopped)\n");
	hv_poweroff(1);
}

/* The IDT in unbacked guest-physical space: delivering #BP faults in the
 * nested page tables, and there is no instruction to emulate. */
static void __attribute__((noreturn)) idt_unbacked_run(void)
{
	static const struct { uint16_t limit; uint64_t base; } __attribute__((packed))
		idt = { 0xfff, 0xd0000000ul };

	kprintf("idt-unbacked: IDT at 0xd0000000, then int3\n");
	asm volatile("lidt %0; int3" : : "m"(idt) : "memory");
	kprintf("FAIL: idt-unbacked (the VM was not stopped)\n");
	hv_poweroff(1);
}

/* Interrupts off and HLT on the only vCPU: nothing can ever wake it. */
static void __attribute__((noreturn)) cli_hlt_run(void)
{
	kprintf("cli-hlt: halting with interrupts disabled\n");
	halt_forever();
}

/* MWAIT exits (it would idle the physical CPU) and is not emulated. */
static void __attribute__((noreturn)) mwait_run(void)
{
	kprintf("mwait: executing MONITOR\n");
	asm volatile("monitor" : : "a"(0x100000ul), "c"(0), "d"(0) : "memory");
	kprintf("FAIL: mwait (the VM was not stopped)\n");
	hv_poweroff(1);
}

const char *const hostile_modes[] = {
	"xsetbv-bad", "xmm-probe", "cr8", "debug-regs", "debug-regs-bystander", "timer-storm",
	"reset-storm", "uart-loop-fill", "spoof", "mmio-string", "idt-unbacked", "cli-hlt",
	"mwait", NULL,
};

void hostile_run(const char *mode, uint64_t rounds)
{
	if (!strcmp(mode, "xsetbv-bad"))
		xsetbv_bad_run();
	if (!strcmp(mode, "xmm-probe"))
		xmm_probe_run((unsigned)rounds);
	if (!strcmp(mode, "cr8"))
		cr8_run();
	if (!strcmp(mode, "debug-regs"))
		debug_regs_run((unsigned)rounds, true);
	if (!strcmp(mode, "debug-regs-bystander"))
		debug_regs_run((unsigned)rounds, false);
	if (!strcmp(mode, "timer-storm"))
		timer_storm_run();
	if (!strcmp(mode, "reset-storm"))
		reset_storm_run();
	if (!strcmp(mode, "uart-loop-fill"))
		uart_loop_fill_run();
	if (!strcmp(mode, "spoof"))
		spoof_run();
	if (!strcmp(mode, "mmio-string"))
		mmio_string_run();
	if (!strcmp(mode, "idt-unbacked"))
		idt_unbacked_run();
	if (!strcmp(mode, "cli-hlt"))
		cli_hlt_run();
	if (!strcmp(mode, "mwait"))
		mwait_run();
}
