/* SPDX-License-Identifier: MIT */
/*
 * kmain: copy the start info, parse the command line, run the mode.
 * Command line: "[chaos|victim] [key=value ...]" (struct options, chaos.h).
 */
#include "chaos.h"

#define WORD_MAX 64

struct boot_info boot_info;
struct options opt = {
	.seed = 1, .ops = 100000, .trace_from = ~0ull, .burst = 8, .sanitize = 2048,
	.report_ms = 1000, .quirks = 1,
};
int run_mode = MODE_CHAOS;
static volatile int boot_parsed;

void hypercall_init(void);

static const struct option_desc {
	const char *key;
	uint64_t *field;
	uint64_t min, max;
} option_descs[] = {
	{ "seed",       &opt.seed,       0, ~0ull },
	{ "ops",        &opt.ops,        1, 1ull << 40 },
	{ "solo_ms",    &opt.solo_ms,    0, 600000 },
	{ "resets",     &opt.resets,     0, 1000 },
	{ "trace_from", &opt.trace_from, 0, ~0ull },
	{ "progress",   &opt.progress,   0, 1ull << 40 },
	{ "skip",       &opt.skip,       0, ~0ull },
	{ "only",       &opt.only,       0, 64 },
	{ "burst",      &opt.burst,      1, 4096 },
	{ "sanitize",   &opt.sanitize,   1, 1ull << 40 },
	{ "report_ms",  &opt.report_ms,  10, 600000 },
	{ "quirks",     &opt.quirks,     0, 1 },
	{ "stop_ms",    &opt.stop_ms,    0, 1ull << 40 },
	{ "stop_kib",   &opt.stop_kib,   0, 1ull << 40 },
	{ "avoid",      &opt.avoid,      0, ~0ull },
	{ "pause_every_ms", &opt.pause_every_ms, 0, 600000 },
	{ "pause_ms",   &opt.pause_ms,   0, 600000 },
};

static bool boot_info_copy(const struct hv_start_info *si)
{
	const char *cmdline;
	size_t i = 0;

	if ((uintptr_t)si > 4 * GIB - sizeof(*si) || si->magic != HV_START_INFO_MAGIC)
		return false;
	boot_info.si = *si;
	boot_info.si.vm_name[HV_VM_NAME_MAX - 1] = '\0';
	cmdline = (const char *)(uintptr_t)si->cmdline_gpa;
	if (si->cmdline_gpa && si->cmdline_gpa < si->mem_size &&
	    si->cmdline_gpa < 4 * GIB - HV_CMDLINE_MAX) {
		for (; i < HV_CMDLINE_MAX - 1 && cmdline[i]; i++)
			boot_info.cmdline[i] = cmdline[i];
	}
	boot_info.cmdline[i] = '\0';
	return true;
}

static const char *next_word(const char *s, char *word)
{
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return NULL;
	for (; *s && *s != ' ' && *s != '\t'; s++)
		if (n < WORD_MAX - 1)
			word[n++] = *s;
	word[n] = '\0';
	return s;
}

/* Decimal, or hexadecimal with 0x. */
static bool parse_num(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return parse_u64(s, out);
	s += 2;
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d = *s >= '0' && *s <= '9' ? (unsigned)(*s - '0') :
			     *s >= 'a' && *s <= 'f' ? (unsigned)(*s - 'a' + 10) :
			     *s >= 'A' && *s <= 'F' ? (unsigned)(*s - 'A' + 10) : 16;

		if (d > 15 || v >> 60)
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

static void option_apply(const char *word)
{
	for (unsigned i = 0; i < ARRAY_SIZE(option_descs); i++) {
		const struct option_desc *d = &option_descs[i];
		size_t klen = strlen(d->key);
		uint64_t n;

		if (strncmp(word, d->key, klen) || word[klen] != '=')
			continue;
		if (!parse_num(word + klen + 1, &n) || n < d->min || n > d->max)
			kprintf("chaos: cmdline: bad %s, keeping %lu\n", word, *d->field);
		else
			*d->field = n;
		return;
	}
	/* Kestrel appends tsc_early_khz=; anything else is worth a line. */
	if (strncmp(word, "tsc_early_khz=", 14))
		kprintf("chaos: cmdline: ignoring '%s'\n", word);
}

static void cmdline_parse(const char *s)
{
	char word[WORD_MAX];
	bool first = true;

	while ((s = next_word(s, word))) {
		if (first && !strchr(word, '=')) {
			if (!strcmp(word, "victim"))
				run_mode = MODE_VICTIM;
			else if (strcmp(word, "chaos"))
				kprintf("chaos: cmdline: unknown mode '%s', running chaos\n", word);
		} else {
			option_apply(word);
		}
		first = false;
	}
}

void kmain(const struct hv_start_info *si, unsigned long vcpu)
{
	if (vcpu != 0) {
		while (!__atomic_load_n(&boot_parsed, __ATOMIC_ACQUIRE))
			cpu_relax();
		if (run_mode == MODE_VICTIM)
			victim_run((unsigned)vcpu);
		chaos_run((unsigned)vcpu);
	}
	hypercall_init();
	if (!boot_info_copy(si)) {
		kprintf("chaos: no start info at 0x%lx\n", (uintptr_t)si);
		hv_poweroff(FATAL_STATUS_BOOT);
	}
	{
		long khz = hypercall(HV_HC_TSC_KHZ, 0, 0, 0);
		uint32_t max_ext = cpuid(0x80000000, 0).eax;

		boot_info.tsc_khz = khz > 0 ? (uint64_t)khz : 0;
		boot_info.phys_bits = max_ext >= 0x80000008 ? cpuid(0x80000008, 0).eax & 0xff : 36;
		if (boot_info.phys_bits < 32 || boot_info.phys_bits > 52)
			boot_info.phys_bits = 36;
	}
	cmdline_parse(boot_info.cmdline);
	kprintf("chaos: vm %s id %u, %u vCPU(s), %lu MiB RAM, %s, TSC %lu kHz, "
		"physical address bits %u, image 0x%lx-0x%lx, cmdline \"%s\"\n",
		boot_info.si.vm_name, boot_info.si.vm_id, boot_info.si.nr_vcpus,
		boot_info.si.mem_size / MIB, boot_info.svm ? "SVM (vmmcall)" : "VMX (vmcall)",
		boot_info.tsc_khz, boot_info.phys_bits, (uintptr_t)_kernel_start,
		(uintptr_t)_kernel_end, boot_info.cmdline);
	__atomic_store_n(&boot_parsed, 1, __ATOMIC_RELEASE);
	if (run_mode == MODE_VICTIM)
		victim_run(0);
	chaos_run(0);
}
