/* SPDX-License-Identifier: MIT */
/*
 * kmain: copy the start info, print the boot log, parse the command line and
 * run the selected mode. Command line: "[mode] [key=value ...]", where mode
 * is selftest (default), triple-fault, bad-insn, bench, ticker, reboot,
 * reboot-nmi, virtio-hostile (virtio_hostile.c), or one of hostile.c's attacks
 * (xsetbv-bad, xmm-probe, cr8, ...).
 * Options: bench_iters=N, bench_rounds=N, ticks=N (0: forever), period_ms=N,
 * rounds=N (hostile modes that repeat).
 */
#include <hv/hypercall.h>
#include "cpu.h"

/* Kestrel's boot-milestone port and the code for a kernel's entry
 * (hypervisor/include/devices/milestone.h, which guests do not include). */
#define MILESTONE_PORT         0x440
#define MILESTONE_KERNEL_ENTRY 0x40

#define BENCH_ITERS_DEFAULT  20000
#define BENCH_ITERS_MAX      100000000
#define BENCH_ROUNDS_DEFAULT 5
#define WORD_MAX             128

enum mode {
	MODE_SELFTEST,
	MODE_TRIPLE_FAULT,
	MODE_BAD_INSN,
	MODE_BENCH,
	MODE_TICKER,
	MODE_REBOOT,
	MODE_REBOOT_NMI,
	MODE_HOSTILE,
	MODE_VIRTIO_HOSTILE,
	MODE_INVALID,
};

struct options {
	enum mode mode;
	uint64_t  bench_iters, bench_rounds;
	uint64_t  ticks, period_ms;
	uint64_t  rounds;
	char      hostile[WORD_MAX];
};

/* key=value options: where each goes and its allowed range. */
static const struct option_desc {
	const char *key;
	size_t offset;
	uint64_t min, max;
} option_descs[] = {
	{ "bench_iters",  offsetof(struct options, bench_iters),  1, BENCH_ITERS_MAX },
	{ "bench_rounds", offsetof(struct options, bench_rounds), 1, 64 },
	{ "ticks",        offsetof(struct options, ticks),        0, 1000000 },
	{ "period_ms",    offsetof(struct options, period_ms),    1, 60000 },
	{ "rounds",       offsetof(struct options, rounds),       1, 100000 },
};

struct dt_desc {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static const char *const mode_names[] = {
	[MODE_SELFTEST]     = "selftest",
	[MODE_TRIPLE_FAULT] = "triple-fault",
	[MODE_BAD_INSN]     = "bad-insn",
	[MODE_BENCH]        = "bench",
	[MODE_TICKER]       = "ticker",
	[MODE_REBOOT]       = "reboot",
	[MODE_REBOOT_NMI]   = "reboot-nmi",
	[MODE_VIRTIO_HOSTILE] = "virtio-hostile",
};

struct boot_info boot_info;

/* Secondary vCPUs: check in for the smp check, then idle for the others. */
static void __attribute__((noreturn)) secondary_main(unsigned vcpu)
{
	smp_check_in(vcpu);
	smp_idle(vcpu);
}

/* The start info and command line live in the boot data area: copy them. */
static bool boot_info_copy(const struct hv_start_info *si)
{
	uintptr_t addr = (uintptr_t)si;
	const char *cmdline;
	size_t i = 0;

	if (addr > IDENTITY_MAP_END - sizeof(*si) || si->magic != HV_START_INFO_MAGIC) {
		kprintf("kestrel-minimal: no start info at 0x%lx\n", addr);
		return false;
	}
	boot_info.si = *si;
	boot_info.si.vm_name[HV_VM_NAME_MAX - 1] = '\0';
	cmdline = (const char *)(uintptr_t)si->cmdline_gpa;
	if (si->cmdline_gpa && si->cmdline_gpa < si->mem_size &&
	    si->cmdline_gpa < IDENTITY_MAP_END - HV_CMDLINE_MAX) {
		for (; i < HV_CMDLINE_MAX - 1 && cmdline[i]; i++)
			boot_info.cmdline[i] = cmdline[i];
	}
	boot_info.cmdline[i] = '\0';
	return true;
}

/* Copies the next blank-separated word; returns where to continue, or NULL. */
static const char *cmdline_next_word(const char *s, char *word)
{
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return NULL;
	for (; *s && *s != ' ' && *s != '\t'; s++) {
		if (n < WORD_MAX - 1)
			word[n++] = *s;
	}
	word[n] = '\0';
	return s;
}

static enum mode mode_lookup(const char *word)
{
	for (unsigned m = 0; m < ARRAY_SIZE(mode_names); m++) {
		if (mode_names[m] && !strcmp(word, mode_names[m]))
			return (enum mode)m;
	}
	for (unsigned h = 0; hostile_modes[h]; h++) {
		if (!strcmp(word, hostile_modes[h]))
			return MODE_HOSTILE;
	}
	return MODE_INVALID;
}

static void option_apply(struct options *o, const char *word)
{
	for (unsigned i = 0; i < ARRAY_SIZE(option_descs); i++) {
		const struct option_desc *d = &option_descs[i];
		size_t klen = strlen(d->key);
		uint64_t *field = (uint64_t *)((char *)o + d->offset), n;

		if (strncmp(word, d->key, klen) || word[klen] != '=')
			continue;
		if (!parse_u64(word + klen + 1, &n) || n < d->min || n > d->max)
			kprintf("cmdline: bad %s (%lu..%lu), keeping %lu\n", word, d->min, d->max,
				*field);
		else
			*field = n;
		return;
	}
	kprintf("cmdline: ignoring unknown option '%s'\n", word);
}

static struct options cmdline_parse(const char *s)
{
	struct options o = { .mode = MODE_SELFTEST, .bench_iters = BENCH_ITERS_DEFAULT,
			     .bench_rounds = BENCH_ROUNDS_DEFAULT, .period_ms = 500,
			     .rounds = 20 };
	char word[WORD_MAX];
	bool first = true;

	while ((s = cmdline_next_word(s, word))) {
		if (first && !strchr(word, '=')) {
			o.mode = mode_lookup(word);
			memcpy(o.hostile, word, sizeof(word));
			if (o.mode == MODE_INVALID)
				kprintf("FAIL: cmdline (unknown mode '%s')\n", word);
		} else {
			option_apply(&o, word);
		}
		first = false;
	}
	return o;
}

static void __attribute__((noreturn)) triple_fault_run(void)
{
	static const struct dt_desc empty_idt = { 0, 0 };

	kprintf("triple-fault: loading an empty IDT and raising #BP\n");
	asm volatile("lidt %0\n\tint3" : : "m"(empty_idt) : "memory");
	kprintf("FAIL: triple-fault did not stop the VM\n");
	hv_poweroff(1);
}

/* A virtualization instruction of the CPU's own kind: VMSAVE on AMD (the
 * hypervisor intercepts every SVM instruction), VMXOFF on Intel (always
 * exits). Kestrel handles neither, so the VM must be stopped. (INVD would
 * be vendor-neutral, but QEMU 7.2 checks it against the WBINVD intercept.) */
static void __attribute__((noreturn)) bad_insn_run(void)
{
	if (hypercall_uses_vmmcall()) {
		kprintf("bad-insn: executing VMSAVE\n");
		asm volatile("vmsave %%rax" : : "a"(0ul) : "memory");
	} else {
		kprintf("bad-insn: executing VMXOFF\n");
		asm volatile("vmxoff" ::: "cc", "memory");
	}
	kprintf("FAIL: bad-insn did not stop the VM\n");
	hv_poweroff(1);
}

/* Reboot mode: the first boot counts itself in CMOS RAM (which survives a
 * reset, as NVRAM does) and resets through the ACPI reset register; the
 * boot after that runs the self-checks. reboot-nmi resets from an NMI
 * handler with a second NMI latched (NMIs stay blocked until IRET): the
 * reset must drop it, or the new boot takes it before it has an IDT. */
#define CMOS_INDEX      0x70
#define CMOS_DATA       0x71
#define CMOS_BOOT_COUNT 0x40
#define ACPI_RESET_PORT 0xcf9

static void reset_now(void)
{
	outb(ACPI_RESET_PORT, 0x06);
	kprintf("FAIL: reboot (the reset did not happen)\n");
	hv_poweroff(1);
}

static void reset_with_nmi_latched(struct trap_frame *f)
{
	(void)f;
	apic_nmi_to_self();
	kprintf("reboot: resetting from the NMI handler, another NMI latched\n");
	reset_now();
}

static void __attribute__((noreturn)) reboot_run(bool with_nmi)
{
	uint8_t boots;

	outb(CMOS_INDEX, CMOS_BOOT_COUNT);
	boots = inb(CMOS_DATA);
	kprintf("reboot: boot %u\n", boots + 1u);
	if (boots == 0) {
		outb(CMOS_INDEX, CMOS_BOOT_COUNT);
		outb(CMOS_DATA, 1);
		if (with_nmi) {
			trap_nmi_hook = reset_with_nmi_latched;
			apic_nmi_to_self();
			kprintf("FAIL: reboot-nmi (no NMI)\n");
			hv_poweroff(1);
		}
		kprintf("reboot: resetting through the ACPI reset register\n");
		reset_now();
	}
	hv_poweroff(selftest_run());
}

static void boot_log(void)
{
	const struct hv_start_info *si = &boot_info.si;
	long khz = hypercall(HV_HC_TSC_KHZ, 0, 0, 0);

	boot_info.tsc_khz = khz > 0 ? (uint64_t)khz : 0;
	kprintf("kestrel-minimal: vm %s id %u, %u vCPU(s), %lu MiB RAM, cmdline \"%s\"\n",
		si->vm_name, si->vm_id, si->nr_vcpus, si->mem_size / MIB, boot_info.cmdline);
	kprintf("kestrel-minimal: hypervisor %s, features 0x%x, hypercall %s, TSC %lu kHz, "
		"image 0x%lx-0x%lx\n", boot_info.hv_detected ? "Kestrel" : "unknown",
		boot_info.hv_features, hypercall_insn_name(), boot_info.tsc_khz,
		(uintptr_t)_kernel_start, (uintptr_t)_kernel_end);
}

void kmain(const struct hv_start_info *si, unsigned long vcpu)
{
	struct options opts;

	if (vcpu != 0)
		secondary_main((unsigned)vcpu);
	outb(MILESTONE_PORT, MILESTONE_KERNEL_ENTRY);
	hypercall_init();
	if (!boot_info_copy(si))
		hv_poweroff(1);
	boot_log();
	opts = cmdline_parse(boot_info.cmdline);
	switch (opts.mode) {
	case MODE_SELFTEST:
		hv_poweroff(selftest_run());
	case MODE_TRIPLE_FAULT:
		triple_fault_run();
	case MODE_BAD_INSN:
		bad_insn_run();
	case MODE_BENCH:
		bench_run(opts.bench_iters, opts.bench_rounds);
	case MODE_TICKER:
		ticker_run(opts.period_ms, opts.ticks);
	case MODE_REBOOT:
		reboot_run(false);
	case MODE_REBOOT_NMI:
		reboot_run(true);
	case MODE_HOSTILE:
		hostile_run(opts.hostile, opts.rounds);
		hv_poweroff(1);
	case MODE_VIRTIO_HOSTILE:
		hv_poweroff(virtio_hostile_run());
	default:
		hv_poweroff(1);
	}
}
